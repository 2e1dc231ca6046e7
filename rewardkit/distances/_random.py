"""The STARC protocol's random reward generator and reward interpolation."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from rewardkit.core import check_positive_int

__all__ = ["interpolate", "random_reward"]


def _sparse_threshold(n_states: int) -> float:
    if n_states < 50:
        return 3.0
    if n_states < 100:
        return 3.5
    return 3.8


def random_reward(
    key: jax.Array,
    n_states: int,
    n_actions: int,
    gamma: Any,
    dtype: Any = jnp.float32,
) -> jax.Array:
    """A random ``[S, A, S]`` reward by [STARC] App. G.1 (``src/env/reward.py``).

    Start from X ~ N(0, 1), then independently: with probability 0.2 make it sparse
    (keep entries above 3 for S < 50, 3.5 for S < 100, else 3.8; zero the rest);
    with 0.7 multiply by 10·U(0, 1); with 0.3 add 10·U(0, 1); with 0.5 add
    potential shaping γΦ(s') − Φ(s) with Φ = N(0, 1)^S·10·U(0, 1) + U(0, 1).
    Deterministic in ``key`` and ``vmap``-able (also over ``gamma``).

    Args:
      key: PRNG key.
      n_states: S.
      n_actions: A.
      gamma: γ of the shaping term.
      dtype: the float dtype.

    Returns:
      ``[S, A, S]`` reward.

    Example:
      >>> r = random_reward(jax.random.key(0), 4, 2, 0.9)
      >>> r.shape, bool(jnp.all(jnp.isfinite(r)))
      ((4, 2, 4), True)
    """
    s = check_positive_int("n_states", n_states)
    a = check_positive_int("n_actions", n_actions)
    return _random_reward(key, s, a, gamma, jnp.dtype(dtype))


@functools.partial(jax.jit, static_argnums=(1, 2, 4))
def _random_reward(key, s, a, gamma, dtype):
    k = jax.random.split(key, 10)
    x = jax.random.normal(k[0], (s, a, s), dtype)
    u = jax.random.uniform(k[1], (4,), dtype)
    sparse = jnp.where(x > _sparse_threshold(s), x, 0.0)
    x = jnp.where(u[0] < 0.2, sparse, x)
    x = jnp.where(u[1] < 0.7, x * 10 * jax.random.uniform(k[2], (), dtype), x)
    x = jnp.where(u[2] < 0.3, x + 10 * jax.random.uniform(k[3], (), dtype), x)
    phi = jax.random.normal(k[4], (s,), dtype) * 10 * jax.random.uniform(
        k[5], (), dtype
    ) + jax.random.uniform(k[6], (), dtype)
    shaped = x + gamma * phi[None, None, :] - phi[:, None, None]
    return jnp.where(u[3] < 0.5, shaped, x).astype(dtype)


def interpolate(R1: Any, R2: Any, n_steps: int = 16) -> jax.Array:
    """R_k = R1 + (k / n)(R2 − R1) for k = 1..n (the STARC protocol's pairs).

    Args:
      R1: reward.
      R2: reward of the same shape.
      n_steps: n.

    Returns:
      ``[n, *R1.shape]``; the last entry is R2.

    Example:
      >>> interpolate(jnp.zeros(2), jnp.ones(2), 4)[:, 0].tolist()
      [0.25, 0.5, 0.75, 1.0]
    """
    n = check_positive_int("n_steps", n_steps)
    r1, r2 = jnp.asarray(R1), jnp.asarray(R2)
    w = (jnp.arange(1, n + 1, dtype=r1.dtype) / n).reshape((n,) + (1,) * r1.ndim)
    return r1[None] + w * (r2 - r1)[None]
