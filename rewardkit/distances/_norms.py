"""Norms (L1, L2, L∞, weighted) and the standardisation s(R) = c(R) / n(c(R))."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import ConfigError

__all__ = ["NormSpec", "lp_norm", "norm_spec", "standardise", "weighted_norm"]

WEIGHT_MODES = ("plain", "array", "transition", "authors", "coverage")


class NormSpec(NamedTuple):
    """The static part of a norm: order ``p`` (1, 2, inf or "none") and weighting.

    Attributes:
      p: ``1``, ``2``, ``inf`` (any p ≥ 1 works) or ``"none"`` (n ≡ 1).
      mode: ``"plain"``, ``"array"`` (user weights), ``"transition"``
        (D(s,a)·T(s,a,s') with D uniform), ``"authors"`` ((Σ T|x|^p)^{1/p} as in
        [STARC-code] ``norm.py``) or ``"coverage"`` (Pearson coverages).
    """

    p: Any
    mode: str


def norm_spec(p: Any, weights: Any, name: str = "norm") -> NormSpec:
    """Parses ``norm=``/``weights=`` arguments into a :class:`NormSpec`.

    Example:
      >>> norm_spec(2, None), norm_spec("inf", "authors")
      (NormSpec(p=2.0, mode='plain'), NormSpec(p=inf, mode='authors'))
    """
    if isinstance(p, str) and p == "none":
        pp: Any = "none"
    else:
        try:
            pp = float(p) if not (isinstance(p, str) and p == "inf") else np.inf
        except (TypeError, ValueError):
            raise ConfigError(
                f"`{name}` must be 1, 2, inf (or another p >= 1) or 'none'; got {p!r}."
            ) from None
        if not pp >= 1:
            raise ConfigError(f"`{name}` must be a p >= 1; got {p!r}.")
    if weights is None:
        mode = "plain"
    elif isinstance(weights, str):
        if weights not in ("transition", "authors"):
            raise ConfigError(
                f"`weights` must be None, an array, 'transition' or 'authors'; got "
                f"{weights!r}."
            )
        mode = weights
    else:
        mode = "array"
    return NormSpec(pp, mode)


def resolve_weights(
    spec: NormSpec, weights: Any, layout: str, t: Any, shape: tuple[int, ...], dt: Any
) -> tuple[jax.Array, jax.Array]:
    """``(w, w_inf)``: finite-p weights and the ∞-norm multipliers for a layout."""
    ones = jnp.ones(shape, dt)
    s, a = shape[0], shape[1]
    if spec.mode == "plain":
        return ones, ones
    if spec.mode in ("array", "coverage"):
        w = jnp.asarray(weights, dt)
        if tuple(w.shape) != tuple(shape):
            raise ConfigError(
                f"`weights` must have the canonical output's shape {shape} "
                f"(layout {layout!r}); got {tuple(w.shape)}."
            )
        return w, (w > 0).astype(dt)
    t = jnp.asarray(t, dt)
    if spec.mode == "transition":
        if layout == "sa":
            return ones / (s * a), ones
        return t / (s * a), (t > 0).astype(dt)
    # "authors": (Σ T |x|^p)^{1/p}; weighted ∞ = max |x|·T.
    if layout == "sa":
        return ones, jnp.max(t, axis=-1)
    return t, t


def weighted_norm(x: jax.Array, p: Any, w: jax.Array, w_inf: jax.Array) -> jax.Array:
    """(Σ w|x|^p)^{1/p}, or max |x|·w_inf for p = ∞, or 1 for "none" (traceable).

    Args:
      x: the array.
      p: 1, 2, ``inf``, another p ≥ 1, or ``"none"``.
      w: finite-p weights (shape of ``x``).
      w_inf: ∞-norm multipliers (shape of ``x``); a ``DistState`` holds both.

    Returns:
      ``[]`` the norm.

    Example:
      >>> x = jnp.float32([3, -4])
      >>> float(weighted_norm(x, np.inf, jnp.ones(2), jnp.float32([1, 0.5])))
      3.0
    """
    if p == "none":
        return jnp.ones((), x.dtype)
    ax = jnp.abs(x)
    if p == np.inf:
        return jnp.max(ax * w_inf)
    if p == 2:
        return jnp.sqrt(jnp.sum(w * ax * ax))
    if p == 1:
        return jnp.sum(w * ax)
    return jnp.sum(w * ax**p) ** (1.0 / p)


def lp_norm(x: Any, ord: Any = 2, weights: Any = None) -> jax.Array:
    """The (weighted) L_p norm of an array: (Σ w·|x|^p)^{1/p}; max over w > 0 at ∞.

    Args:
      x: any array.
      ord: p ≥ 1 or ``inf``.
      weights: non-negative weights broadcastable to ``x``; ones if None.

    Returns:
      ``[]`` the norm.

    Example:
      >>> float(lp_norm(np.float32([3, -4]))), float(lp_norm([3.0, -4.0], 1))
      (5.0, 7.0)
      >>> float(lp_norm(np.float32([3, -4]), np.inf, weights=[1, 0]))
      3.0
    """
    spec = norm_spec(ord, None)
    xj = jnp.asarray(x)
    w = (
        jnp.ones_like(xj)
        if weights is None
        else jnp.broadcast_to(jnp.asarray(weights), xj.shape)
    )
    w = jnp.asarray(w, xj.dtype)
    return weighted_norm(xj, spec.p, w, (w > 0).astype(xj.dtype))


def default_rtol(dtype: Any) -> float:
    """1e-10 for float64, 1e-5 otherwise ([spec] §2.1)."""
    return 1e-10 if jnp.dtype(dtype) == jnp.float64 else 1e-5


def standardise(
    value: jax.Array,
    bound: jax.Array,
    p: Any,
    w: jax.Array,
    w_inf: jax.Array,
    rtol: Any = None,
    center: bool = False,
) -> tuple[jax.Array, jax.Array]:
    """s(R) = c / n(c), or 0 when c is trivial: n(c) ≤ rtol·n(b).

    The relative test with the rounding bound b keeps rounding noise of trivial
    rewards (constants, shaping, redistribution) from being normalised into a
    random direction. The double ``where`` keeps gradients finite.

    Args:
      value: the canonical reward c(R).
      bound: its rounding bound b (same shape).
      p: the norm order (or "none": then c is returned unscaled).
      w: the finite-p weights.
      w_inf: the ∞-norm multipliers.
      rtol: the relative zero threshold; 1e-10 (float64) or 1e-5 (float32) if None.
      center: subtract the w-weighted mean first (Pearson distances).

    Returns:
      ``(s, trivial)``.

    Example:
      >>> s, triv = standardise(jnp.float32([3, 4]), jnp.float32([3, 4]), 2,
      ...     jnp.ones(2), jnp.ones(2))
      >>> s.tolist(), bool(triv)
      ([0.6000000238418579, 0.800000011920929], False)
    """
    rtol = default_rtol(value.dtype) if rtol is None else rtol
    if center:
        value = value - jnp.sum(w * value) / jnp.sum(w)
    q = 2 if p == "none" else p
    n = weighted_norm(value, q, w, w_inf)
    nb = weighted_norm(bound, q, w, w_inf)
    ok = n > rtol * nb
    trivial = n <= rtol * nb  # False for NaN input, which then propagates
    keep = ok | jnp.isnan(n)
    if p == "none":
        return jnp.where(keep, value, 0.0).astype(value.dtype), trivial
    s = jnp.where(keep, value / jnp.where(ok, n, 1.0), 0.0)
    s = jnp.where(jnp.isnan(n), jnp.nan, s).astype(value.dtype)
    return s, trivial
