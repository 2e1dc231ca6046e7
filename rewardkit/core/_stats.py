"""Running mean and variance as a pure pytree (parallel update of Chan et al.)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["RunningStats", "init_running_stats", "update_running_stats"]


class RunningStats(NamedTuple):
    """Per-feature running moments, merged by :func:`update_running_stats`.

    Attributes:
      mean: ``[*shape]`` float32, per-feature mean.
      var: ``[*shape]`` float32, per-feature (population) variance.
      count: ``[]`` float32; a float cannot overflow.
    """

    mean: jax.Array
    var: jax.Array
    count: jax.Array


def init_running_stats(
    shape: tuple[int, ...] = (), *, count: float = 1e-4
) -> RunningStats:
    """Fresh statistics: mean 0, variance 1, count 1e-4 (Gymnasium, CleanRL).

    Example:
      >>> s = init_running_stats((3,))
      >>> s.mean.shape, float(s.count) == float(jnp.float32(1e-4))
      ((3,), True)
    """
    return RunningStats(
        jnp.zeros(shape, jnp.float32),
        jnp.ones(shape, jnp.float32),
        jnp.asarray(count, jnp.float32),
    )


def update_running_stats(stats: RunningStats, x: Any) -> RunningStats:
    """Folds the moments of a batch ``x[..., *shape]`` into the statistics.

    Uses the parallel formula of Chan, Golub and LeVeque (1979), as Gymnasium's
    ``update_mean_var_count_from_moments``: folding a batch in parts equals folding
    it at once, up to rounding.

    Args:
      stats: the current statistics.
      x: a batch whose trailing axes match ``stats.mean.shape``.

    Returns:
      The updated statistics.

    Example:
      >>> s = update_running_stats(init_running_stats(), jnp.array([1.0, 3.0]))
      >>> round(float(s.mean), 3), round(float(s.var), 3)
      (2.0, 1.0)
    """
    x = jnp.asarray(x, jnp.float32)
    feature_ndim = stats.mean.ndim
    batch_axes = tuple(range(x.ndim - feature_ndim))
    batch_mean = jnp.mean(x, axis=batch_axes)
    batch_var = jnp.var(x, axis=batch_axes)
    batch_count = jnp.asarray(x.size // stats.mean.size, jnp.float32)
    delta = batch_mean - stats.mean
    total = stats.count + batch_count
    mean = stats.mean + delta * batch_count / total
    m2 = (
        stats.var * stats.count
        + batch_var * batch_count
        + jnp.square(delta) * stats.count * batch_count / total
    )
    return RunningStats(mean, m2 / total, total)
