"""Observation and reward normalisation, and the coefficient schedule (spec §2.1-2.3).

Pure functions shared by every bonus. Statistics are ``rk.core.RunningStats``;
``compute`` folds batches into the live statistics and normalises with the
snapshot that ``update`` refreshes (the snapshot rule), so scoring a rollout in one
call or step by step gives the same bonuses.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from rewardkit.core import RunningStats

__all__ = [
    "OBS_NORMS",
    "REWARD_NORMS",
    "beta",
    "masked_update",
    "normalize_obs",
    "normalize_reward",
]

OBS_NORMS = ("rms", "scale", "none")
REWARD_NORMS = ("return_std", "reward_std", "minmax", "minmax_batch", "none")
REWARD_EPS = 1e-8


def masked_update(stats: RunningStats, x: Any, mask: Any) -> RunningStats:
    """Folds the entries of ``x`` where ``mask`` holds into running statistics.

    The parallel formula of ``rk.core.update_running_stats`` (Chan et al., 1979)
    with a per-sample mask; an all-False mask leaves the statistics unchanged.

    Args:
      stats: statistics with feature shape ``F``.
      x: ``[*B, *F]`` samples.
      mask: ``[*B]`` bool.

    Returns:
      The updated statistics.

    Example:
      >>> from rewardkit.core import init_running_stats
      >>> s = masked_update(init_running_stats(), jnp.array([1.0, 3.0, 99.0]),
      ...     jnp.array([True, True, False]))
      >>> round(float(s.mean), 3), round(float(s.var), 3)
      (2.0, 1.0)
    """
    x = jnp.asarray(x, jnp.float32)
    f = stats.mean.ndim
    w = jnp.asarray(mask, jnp.float32).reshape(mask.shape + (1,) * f)
    axes = tuple(range(x.ndim - f))
    n = jnp.sum(jnp.asarray(mask, jnp.float32))
    safe = jnp.maximum(n, 1.0)
    mean_b = jnp.sum(w * x, axis=axes) / safe
    var_b = jnp.sum(w * jnp.square(x - mean_b), axis=axes) / safe
    delta = mean_b - stats.mean
    total = stats.count + n
    mean = stats.mean + delta * n / total
    m2 = (
        stats.var * stats.count
        + var_b * n
        + jnp.square(delta) * stats.count * n / total
    )
    new = RunningStats(mean, m2 / total, total)
    return jax.tree.map(lambda a, b: jnp.where(n > 0, a, b), new, stats)


def normalize_obs(
    x: Any, snapshot: RunningStats, mode: str, *, eps: float, clip: float
) -> jax.Array:
    """Normalises observations ``[*B, *obs_shape]`` to float32.

    ``"rms"``: clip((x − μ)/sqrt(σ² + eps), −clip, clip); ``"scale"``: x/255;
    ``"none"``: a float32 cast.

    Example:
      >>> from rewardkit.core import init_running_stats
      >>> snap = init_running_stats((2,))
      >>> normalize_obs(jnp.array([[3.0, -9.0]]), snap, "rms", eps=0.0, clip=5.0).tolist()
      [[3.0, -5.0]]
    """
    x = jnp.asarray(x, jnp.float32)
    if mode == "rms":
        z = (x - snapshot.mean) / jnp.sqrt(snapshot.var + eps)
        return jnp.clip(z, -clip, clip)
    if mode == "scale":
        return x / 255.0
    return x


def beta(beta0: jax.Array, kappa: jax.Array, t: jax.Array) -> jax.Array:
    """The coefficient β_t = β0 (1 − κ)^t.

    Example:
      >>> round(float(beta(jnp.float32(1.0), jnp.float32(0.5), jnp.float32(2.0))), 4)
      0.25
    """
    return beta0 * jnp.power(1.0 - kappa, t)


def normalize_reward(
    raw: jax.Array,
    use: jax.Array,
    *,
    mode: str,
    filter_mode: str,
    gamma: float,
    rew_stats: RunningStats,
    rew_snapshot: RunningStats,
    rew_range: jax.Array,
    rew_range_snapshot: jax.Array,
    ret_filter: jax.Array,
) -> tuple[jax.Array, RunningStats, jax.Array, jax.Array]:
    """Normalises raw bonuses ``[T, N]`` per spec §2.2, advancing per-step state.

    ``"return_std"`` divides by the snapshot std of the discounted intrinsic return
    R ← γR + r (per env, never reset at episode ends); ``"reward_std"`` by the
    snapshot std of the raw bonus (no mean subtraction); ``"minmax"`` rescales with
    the previous rollout's min and max; ``"minmax_batch"`` with the current
    batch's; ``"none"`` leaves it. With ``filter_mode="replace"`` the filtered
    return replaces the bonus before scaling (the anchor's behaviour). Only
    entries where ``use`` holds advance the filter and the statistics.

    Returns:
      ``(normalised [T, N], rew_stats, rew_range, ret_filter)``.

    Example:
      >>> from rewardkit.core import init_running_stats
      >>> s = init_running_stats()
      >>> out, *_ = normalize_reward(jnp.ones((2, 1)), jnp.ones((2, 1), bool),
      ...     mode="none", filter_mode="scale", gamma=0.99, rew_stats=s,
      ...     rew_snapshot=s, rew_range=jnp.zeros(2), rew_range_snapshot=jnp.zeros(2),
      ...     ret_filter=jnp.zeros(1))
      >>> out.tolist()
      [[1.0], [1.0]]
    """
    need_filter = mode == "return_std" or filter_mode == "replace"
    rets = raw
    if need_filter:

        def step(r_prev, xs):
            r_t, u_t = xs
            r_new = jnp.where(u_t, gamma * r_prev + r_t, r_prev)
            return r_new, r_new

        ret_filter, rets = jax.lax.scan(step, ret_filter, (raw, use))
    value = rets if filter_mode == "replace" else raw
    if mode in ("return_std", "reward_std"):
        src = rets if mode == "return_std" else value
        rew_stats = masked_update(rew_stats, src, use)
        out = value / jnp.sqrt(rew_snapshot.var + REWARD_EPS)
    elif mode == "minmax":
        lo = jnp.min(jnp.where(use, value, jnp.inf))
        hi = jnp.max(jnp.where(use, value, -jnp.inf))
        rew_range = jnp.stack(
            [jnp.minimum(rew_range[0], lo), jnp.maximum(rew_range[1], hi)]
        )
        m, big_m = rew_range_snapshot[0], rew_range_snapshot[1]
        out = (value - m) / (big_m - m + REWARD_EPS)
    elif mode == "minmax_batch":
        lo = jnp.min(jnp.where(use, value, jnp.inf))
        hi = jnp.max(jnp.where(use, value, -jnp.inf))
        any_use = jnp.any(use)
        lo, hi = jnp.where(any_use, lo, 0.0), jnp.where(any_use, hi, 1.0)
        out = (value - lo) / (hi - lo + REWARD_EPS)
    else:
        out = value
    return out, rew_stats, rew_range, ret_filter
