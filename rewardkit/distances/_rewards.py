"""Reward layouts: inference, validation, broadcasting and expectations over s'."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import ConfigError, check_choice

__all__ = ["infer_layout", "state_reward"]

HI = jax.lax.Precision.HIGHEST
LAYOUTS = ("sas", "sa")


def infer_layout(reward: Any, n_states: int, n_actions: int, layout: Any = None) -> str:
    """The layout of a reward array: ``"sas"`` (``[..., S, A, S]``) or ``"sa"``.

    Args:
      reward: an array whose trailing dims are ``(S, A, S)`` or ``(S, A)``.
      n_states: S.
      n_actions: A.
      layout: ``"sas"``, ``"sa"`` or None (infer; required when ambiguous, i.e.
        when A = S and the array has three or more dims).

    Returns:
      ``"sas"`` or ``"sa"``.

    Raises:
      ConfigError: on a shape matching neither, or an ambiguous one.

    Example:
      >>> infer_layout(np.zeros((7, 3, 2)), 3, 2), infer_layout(np.zeros((3, 2)), 3, 2)
      ('sa', 'sa')
      >>> infer_layout(np.zeros((3, 2, 3)), 3, 2)
      'sas'
    """
    shape = tuple(np.shape(reward))
    sas, sa = (n_states, n_actions, n_states), (n_states, n_actions)
    if layout is not None:
        check_choice("layout", layout, LAYOUTS)
        want = sas if layout == "sas" else sa
        if shape[len(shape) - len(want) :] != want:
            raise ConfigError(
                f"reward with layout={layout!r} must have trailing dims {want}; "
                f"got shape {shape}."
            )
        return layout
    is_sas = len(shape) >= 3 and shape[-3:] == sas
    is_sa = len(shape) >= 2 and shape[-2:] == sa
    if is_sas and is_sa:
        raise ConfigError(
            f"reward shape {shape} is ambiguous with A = S = {n_states}: pass "
            "layout='sas' or layout='sa'."
        )
    if not (is_sas or is_sa):
        raise ConfigError(
            f"reward must have trailing dims (S, A, S) = {sas} or (S, A) = {sa} "
            f"matching the MDP; got shape {shape}."
        )
    return "sas" if is_sas else "sa"


def check_reward(
    name: str, reward: Any, n_states: int, n_actions: int, layout: Any = None
) -> tuple[np.ndarray, str]:
    """Eager host validation: finite values and a known layout."""
    if callable(reward) and not hasattr(reward, "shape"):
        raise TypeError(
            f"`{name}` must be an array; callables go to the sample-based "
            "estimators (rewardkit.distances.sampled_*)."
        )
    try:
        arr = np.asarray(reward)
    except Exception as e:  # ragged lists
        raise ConfigError(f"`{name}` must be array-like; got {type(reward)}.") from e
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ConfigError(f"`{name}` must be a real array; got dtype {arr.dtype}.")
    try:
        lay = infer_layout(arr, n_states, n_actions, layout)
    except ConfigError as e:
        raise ConfigError(f"`{name}`: {e}") from None
    if not np.all(np.isfinite(arr)):
        raise ConfigError(
            f"`{name}` must be finite; got {int(np.sum(~np.isfinite(arr)))} NaN or "
            "inf entries."
        )
    return arr, lay


def mask_absorbing(r: jax.Array, absorbing: Any) -> jax.Array:
    """Zeros the self-loop reward of absorbing states (every reward compared)."""
    if absorbing is None:
        return r
    ab = jnp.asarray(absorbing)
    if r.ndim == 2:
        return jnp.where(ab[:, None], 0.0, r).astype(r.dtype)
    s = r.shape[0]
    loop = ab[:, None, None] & (jnp.arange(s)[:, None, None] == jnp.arange(s))
    return jnp.where(loop, 0.0, r).astype(r.dtype)


def to_sas(r: jax.Array, n_states: int) -> jax.Array:
    """Broadcasts a compact ``[S, A]`` reward over s'."""
    if r.ndim == 3:
        return r
    return jnp.broadcast_to(r[:, :, None], (*r.shape, n_states))


def self_loops(x: jax.Array) -> jax.Array:
    """``x[s, a, s]`` as ``[S, A]``, by strided slices (a gather is ~20x slower here).

    Example:
      >>> x = jnp.arange(2 * 3 * 2).reshape(2, 3, 2)
      >>> self_loops(x).tolist() == [[x[s, a, s] for a in range(3)] for s in range(2)]
      True
    """
    s, a, _ = x.shape
    flat = x.reshape(-1)  # x[s, a, s] sits at s·(A·S + 1) + a·S
    return jnp.stack([flat[i * s :: a * s + 1][:s] for i in range(a)], axis=1)


def expected(
    r: jax.Array, t: jax.Array, absorbing: Any = None
) -> tuple[jax.Array, jax.Array]:
    """``(r̄, T|R|)`` of one reward: Σ_s' T R and Σ_s' T |R| (compact: R and |R|).

    With ``absorbing``, the result equals that of :func:`mask_absorbing`'s reward
    (the self-loop reward of absorbing states is zero) without building the masked
    ``[S, A, S]`` copy: the self-loop terms are subtracted afterwards.
    """
    if r.ndim == 2:
        r = mask_absorbing(r, absorbing)
        return r, jnp.abs(r)
    r = jnp.broadcast_to(r, t.shape)  # e.g. [S, A, 1]; self_loops needs [S, A, S]
    # One variadic reduction (not dots, not two sums): a single pass over T and
    # R, which dominates the cost at large S, with no [S, A, S] temporary. (A
    # full-size mask in front of it made XLA:CPU pick a ~20x slower fusion.)
    tr = t * r
    zero = jnp.zeros((), tr.dtype)
    rbar, tabs = jax.lax.reduce(
        (tr, jnp.abs(tr)),
        (zero, zero),
        lambda x, y: (x[0] + y[0], x[1] + y[1]),
        (tr.ndim - 1,),
    )
    if absorbing is None:
        return rbar, tabs
    loop = self_loops(t) * self_loops(r)  # [S, A]: T(s, a, s) R(s, a, s)
    ab = jnp.asarray(absorbing)[:, None]
    return (
        jnp.where(ab, rbar - loop, rbar),
        jnp.where(ab, tabs - jnp.abs(loop), tabs),
    )


def state_reward(r: Any, n_actions: int, on: str = "entry") -> jax.Array:
    """A state reward r(s) as an ``[S, A, S]`` reward.

    Args:
      r: ``[S]`` state rewards.
      n_actions: A.
      on: ``"entry"`` (paid on entering s': R = r(s')) or ``"exit"`` (R = r(s)).

    Returns:
      ``[S, A, S]`` reward.

    Example:
      >>> state_reward(np.float32([1, 2]), 1)[0, 0].tolist()
      [1.0, 2.0]
      >>> state_reward(np.float32([1, 2]), 1, on="exit")[0, 0].tolist()
      [1.0, 1.0]
    """
    check_choice("on", on, ("entry", "exit"))
    v = jnp.asarray(r)
    s = v.shape[-1]
    if on == "entry":
        return jnp.broadcast_to(v[None, None, :], (s, n_actions, s))
    return jnp.broadcast_to(v[:, None, None], (s, n_actions, s))
