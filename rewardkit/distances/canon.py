r"""Canonicalisations: linear maps removing shaping (and, for STARC, redistribution).

A :class:`Canonicaliser` is an optax-style pair of pure functions: ``init(mdp)``
does the per-MDP work once (the inverse of (I − γP_π), the MIN Cholesky factor,
D_S and D_A) and ``apply(state, R)`` canonicalises one reward, ``[S, A, S]`` or
compact ``[S, A]``, returning :class:`CanonOut` ``(value, bound)``; ``bound`` is the
elementwise magnitude of the summed terms, used by the relative zero test.
``jax.vmap(apply, in_axes=(None, 0))`` shares one factorisation over many rewards;
:func:`apply_batch` solves all of them as one multi-column solve.

With Φ-levelling A_Φ(s, a) = r̄(s, a) + γ(TΦ)(s, a) − Φ(s):

* :func:`val`: A_Φ with Φ = V^π_R ([STARC] Prop. 2). STARC-valid.
* :func:`minimal_l2`: A_Φ with Φ minimising a weighted L2 norm (projection onto
  W⊥). STARC-valid.
* :func:`epic`, :func:`dard`: [EPIC] and [DARD]; remove shaping but **not**
  S'-redistribution (not STARC canonicalisations).
* :func:`value_potential`: R − V^π(s) + γV^π(s'), the authors' "VALPotential"
  (not STARC: keeps redistribution); for reproducing their Figure 1 only.
* :func:`identity`: no canonicalisation (baseline).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from rewardkit.core import ConfigError, check_choice
from rewardkit.distances._rewards import HI, expected, mask_absorbing, to_sas

__all__ = [
    "CanonOut",
    "CanonState",
    "Canonicaliser",
    "apply_batch",
    "dard",
    "epic",
    "identity",
    "minimal_l2",
    "val",
    "value_potential",
]


class CanonOut(NamedTuple):
    """A canonicalised reward and its rounding bound.

    Attributes:
      value: ``[S, A]`` (VAL, MIN "transition") or ``[S, A, S]`` (the others).
      bound: same shape: the absolute magnitude of the terms that were summed.
    """

    value: jax.Array
    bound: jax.Array


class CanonState(NamedTuple):
    """Per-MDP precomputation of a canonicaliser (unused fields are None).

    Attributes:
      transitions: ``[S, A, S]`` T (None for EPIC built from γ alone).
      gamma: ``[]`` γ.
      absorbing: ``[S]`` bool or None.
      policy: ``[S, A]`` π (VAL, ValuePotential).
      inverse: ``[S, S]`` (I − γP_π)⁻¹ (VAL, ValuePotential), built once from
        an LU factorisation: every later solve is one matrix product, which
        batches over rewards and is ~20x faster than two triangular solves at
        S = 1024 on a CPU (LAPACK's trsv is memory-bound and single-threaded).
      chol: Cholesky factor of MᵀDM (MIN).
      design_weights: ``[S, A]`` D of MIN.
      state_dist: ``[S]`` D_S (EPIC).
      action_dist: ``[A]`` D_A (EPIC, DARD).
      model: ``[S, A, S]`` T̂ of DARD.
    """

    transitions: Any = None
    gamma: Any = None
    absorbing: Any = None
    policy: Any = None
    inverse: Any = None
    chol: Any = None
    design_weights: Any = None
    state_dist: Any = None
    action_dist: Any = None
    model: Any = None


class CanonSpec(NamedTuple):
    """The static (hashable) part of a canonicaliser."""

    kind: str
    min_kind: str = "transition"


_STARC_KINDS = ("val", "minimal_l2")
_COMPACT = {"val", "minimal_l2/transition"}


class Canonicaliser(NamedTuple):
    """An optax-style canonicalisation: ``init(mdp) -> state``, ``apply(state, R)``.

    Attributes:
      init: ``(TabularMDP) -> CanonState``, traceable and vmappable over MDPs.
      apply: ``(CanonState, R) -> CanonOut`` for one ``[S,A,S]`` or ``[S,A]`` R.
      name: a short name (``"val"``, ``"epic"``, ...).
      is_starc: whether it satisfies [STARC] Def. 1 (VAL and MIN).
      output_layout: ``"sa"`` or ``"sas"``, the layout of ``apply``'s value.
      spec: the static configuration (used to cache compiled functions).
      opts: the array options (policy, weights, distributions, model).
    """

    init: Callable[[Any], CanonState]
    apply: Callable[[CanonState, Any], CanonOut]
    name: str
    is_starc: bool
    output_layout: str
    spec: CanonSpec
    opts: dict


def output_layout(spec: CanonSpec) -> str:
    """``"sa"`` for VAL and T-weighted MIN, else ``"sas"``."""
    key = spec.kind if spec.kind != "minimal_l2" else f"minimal_l2/{spec.min_kind}"
    return "sa" if key in _COMPACT else "sas"


def working_transitions(mdp: Any) -> jax.Array:
    """T in JAX's working dtype, rows renormalised after the cast."""
    t = jnp.asarray(mdp.transitions)
    if not jnp.issubdtype(t.dtype, jnp.floating):
        t = t.astype(jnp.float32)
    return t / jnp.sum(t, axis=-1, keepdims=True)


def _dist_or_uniform(d: Any, n: int, dtype: Any) -> jax.Array:
    return jnp.full((n,), 1.0 / n, dtype) if d is None else jnp.asarray(d, dtype)


def init_state(spec: CanonSpec, opts: dict, mdp: Any) -> CanonState:
    """Builds the per-MDP state (traceable)."""
    if spec.kind == "epic" and mdp.transitions is None:  # from γ alone (γ = 1 ok)
        g = jnp.asarray(mdp.gamma)
        ds = jnp.asarray(opts.get("state_dist", mdp.state_dist), g.dtype)
        da = jnp.asarray(opts.get("action_dist", mdp.action_dist), g.dtype)
        return CanonState(gamma=g, state_dist=ds, action_dist=da)
    t = working_transitions(mdp)
    dt = t.dtype
    s, a, _ = t.shape
    g = jnp.asarray(mdp.gamma, dt)
    base = CanonState(transitions=t, gamma=g, absorbing=mdp.absorbing)
    if spec.kind in ("val", "value_potential"):
        pi = opts.get("policy")
        pi = jnp.full((s, a), 1.0 / a, dt) if pi is None else jnp.asarray(pi, dt)
        _check_shape("policy", pi, (s, a))
        p_pi = jnp.einsum("sa,sat->st", pi, t, precision=HI)
        eye = jnp.eye(s, dtype=dt)
        inverse = jsl.lu_solve(jsl.lu_factor(eye - g * p_pi), eye)
        return base._replace(policy=pi, inverse=inverse)
    if spec.kind == "minimal_l2":
        flat = t.reshape(s * a, s)
        design = g * flat - jnp.repeat(jnp.eye(s, dtype=dt), a, axis=0)
        if spec.min_kind == "flat":
            d = 1.0 / jnp.sum(t * t, axis=-1)
        else:
            w = opts.get("weights")
            d = jnp.full((s, a), 1.0 / (s * a), dt) if w is None else jnp.asarray(w, dt)
            _check_shape("weights", d, (s, a))
        # Episode ends: Φ(s⊥) = 0 (the equivalences keep the zero self-loop).
        dead = _dead(mdp.absorbing, s, dt)
        design = design * (1.0 - dead)[None, :]
        gram = design.T @ (d.reshape(-1, 1) * design) + jnp.diag(dead)
        chol = jsl.cho_factor(gram, lower=True)[0]
        return base._replace(chol=chol, design_weights=d)
    if spec.kind == "epic":
        ds = opts.get("state_dist", mdp.state_dist)
        da = opts.get("action_dist", mdp.action_dist)
        ds, da = _dist_or_uniform(ds, s, dt), _dist_or_uniform(da, a, dt)
        _check_shape("state_dist", ds, (s,))
        _check_shape("action_dist", da, (a,))
        return base._replace(state_dist=ds, action_dist=da)
    if spec.kind == "dard":
        da = _dist_or_uniform(opts.get("action_dist", mdp.action_dist), a, dt)
        _check_shape("action_dist", da, (a,))
        model = opts.get("model")
        model = t if model is None else jnp.asarray(model, dt)
        _check_shape("model", model, (s, a, s))
        return base._replace(action_dist=da, model=model)
    return base  # identity


def next_state_mean(t: jax.Array, v: jax.Array) -> jax.Array:
    """Σ_s' T(s, a, s') v_k(s') for ``[K, S]`` v: ``[K, S, A]``.

    One matrix product with T as the left operand, in its stored layout (an
    einsum with v first makes XLA:CPU transpose the whole ``[S, A, S]`` T first).
    """
    s, a, _ = t.shape
    out = jax.lax.dot_general(
        t.reshape(s * a, s), v, (((1,), (1,)), ((), ())), precision=HI
    )
    return out.T.reshape(v.shape[0], s, a)


def solve_policy(state: CanonState, r_pi: jax.Array) -> jax.Array:
    """V = (I − γP_π)⁻¹ r_π for ``[..., S]`` right-hand sides (a VAL state)."""
    return jnp.einsum("st,...t->...s", state.inverse, r_pi, precision=HI)


def _dead(absorbing: Any, s: int, dt: Any) -> jax.Array:
    if absorbing is None:
        return jnp.zeros(s, dt)
    return jnp.asarray(absorbing).astype(dt)


def _check_shape(name: str, x: Any, shape: tuple[int, ...]) -> None:
    if tuple(x.shape) != shape:
        raise ConfigError(f"`{name}` must have shape {shape}; got {tuple(x.shape)}.")


def apply_batch(spec: CanonSpec, state: CanonState, rewards: Any) -> CanonOut:
    """Canonicalises ``[K, S, A(, S)]`` rewards with one multi-column solve.

    Args:
      spec: the canonicaliser's ``spec``.
      state: its ``init`` state.
      rewards: ``[K, S, A, S]`` or ``[K, S, A]`` (one layout for the batch).

    Returns:
      :class:`CanonOut` with a leading K axis.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> c = val()
      >>> st = c.init(make_mdp(np.full((2, 2, 2), 0.5), 0.9))
      >>> out = apply_batch(c.spec, st, np.float32([[[1, 0], [0, 0]]] * 3))
      >>> out.value.shape, out.value[0].round(3).tolist()
      ((3, 2, 2), [[0.5, -0.5], [0.0, 0.0]])
    """
    r = jnp.asarray(rewards)
    if r.ndim not in (3, 4):
        raise ConfigError(
            f"`rewards` must have shape [K, S, A] or [K, S, A, S]; got {r.shape}."
        )
    dt = state.gamma.dtype
    r = r.astype(dt)
    kind, g = spec.kind, state.gamma
    if kind != "val" and kind != "minimal_l2":  # these two need only r̄
        mask = functools.partial(mask_absorbing, absorbing=state.absorbing)
        r = jax.vmap(mask)(r)
    if kind in ("val", "minimal_l2", "value_potential"):
        t = state.transitions
        ab = state.absorbing if kind != "value_potential" else None  # masked above
        rbar, tabs = jax.vmap(expected, (0, None, None))(r, t, ab)  # [K, S, A]
        if kind == "minimal_l2":
            d = state.design_weights
            s, a = rbar.shape[1:]
            flat = t.reshape(s * a, s)
            dr = (d * rbar).reshape(-1, s * a)  # [K, SA]
            # −Mᵀ D r̄ with M = γ T_flat − E.
            rhs = -(g * jnp.einsum("ks,st->kt", dr, flat, precision=HI))
            rhs = rhs + jnp.sum(dr.reshape(-1, s, a), axis=-1)
            rhs = rhs * (1.0 - _dead(state.absorbing, s, dt))
            phi = jsl.cho_solve((state.chol, True), rhs.T).T
        else:
            r_pi = jnp.sum(state.policy * rbar, axis=-1)
            phi = solve_policy(state, r_pi)  # V^π, [K, S]
        if kind == "value_potential":
            full = jax.vmap(to_sas, (0, None))(r, t.shape[0])
            value = full - phi[:, :, None, None] + g * phi[:, None, None, :]
            bound = (
                jnp.abs(full)
                + jnp.abs(phi)[:, :, None, None]
                + g * jnp.abs(phi)[:, None, None, :]
            )
            return CanonOut(value, bound)
        k = phi.shape[0]
        tphi = next_state_mean(t, jnp.concatenate([phi, jnp.abs(phi)]))
        tphi, tabs_phi = tphi[:k], tphi[k:]
        value = rbar + g * tphi - phi[:, :, None]
        bound = tabs + g * tabs_phi + jnp.abs(phi)[:, :, None]
        if kind == "minimal_l2" and spec.min_kind == "flat":
            scale = t / jnp.sum(t * t, axis=-1, keepdims=True)
            return CanonOut(value[..., None] * scale, bound[..., None] * scale)
        return CanonOut(value, bound)
    s = r.shape[1]
    full = jax.vmap(to_sas, (0, None))(r, s)
    big = (2.0 + 2.0 * g) * jnp.max(jnp.abs(full), axis=(1, 2, 3))
    bound = jnp.broadcast_to(big[:, None, None, None], full.shape)
    if kind == "identity":
        return CanonOut(full, bound)
    if kind == "epic":
        ds, da = state.state_dist, state.action_dist
        m = jnp.einsum("kxay,a,y->kx", full, da, ds, precision=HI)
        mbar = m @ ds
        value = (
            full
            + g * m[:, None, None, :]
            - m[:, :, None, None]
            - g * mbar[:, None, None, None]
        )
        return CanonOut(value, bound)
    # DARD: u(x) = Σ_a D_A r̄(x, a); K = Σ_a D_A T_a R_a T_aᵀ (O(A S³)).
    model, da = state.model, state.action_dist
    rbar = jnp.einsum("sat,ksat->ksa", model, full, precision=HI)
    u = rbar @ da
    x = jnp.einsum("sax,kxay->ksay", model, full, precision=HI)
    kmat = jnp.einsum("a,ksay,tay->kst", da, x, model, precision=HI)
    value = (
        full + g * u[:, None, None, :] - u[:, :, None, None] - g * kmat[:, :, None, :]
    )
    return CanonOut(value, bound)


def apply_one(spec: CanonSpec, state: CanonState, reward: Any) -> CanonOut:
    """Canonicalises one reward (``[S, A, S]`` or ``[S, A]``)."""
    r = jnp.asarray(reward)
    if r.ndim not in (2, 3):
        raise ConfigError(
            f"reward must have shape [S, A] or [S, A, S]; got {r.shape}. Use "
            "jax.vmap or apply_batch for batches."
        )
    return jax.tree.map(lambda x: x[0], apply_batch(spec, state, r[None]))


def _check_policy(policy: Any) -> Any:
    if policy is None or isinstance(policy, jax.core.Tracer):
        return policy
    p = np.asarray(policy, np.float64)
    if p.ndim != 2 or np.any(p < 0) or not np.allclose(p.sum(-1), 1.0, atol=1e-6):
        raise ConfigError(
            "`policy` must be an [S, A] array of action probabilities with rows "
            f"summing to 1; got shape {p.shape}."
        )
    return policy


def _check_positive(name: str, w: Any, allow_zero: bool = False) -> Any:
    if w is None or isinstance(w, jax.core.Tracer):
        return w
    arr = np.asarray(w, np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ConfigError(f"`{name}` must be finite and non-negative.")
    if not allow_zero and np.any(arr <= 0):
        raise ConfigError(
            f"`{name}` must be strictly positive; {int(np.sum(arr <= 0))} entries "
            "are zero (pass allow_degenerate_weights=True where offered)."
        )
    return w


def _check_distribution(name: str, d: Any) -> Any:
    if d is None or isinstance(d, jax.core.Tracer):
        return d
    _check_positive(name, d)
    total = float(np.sum(np.asarray(d, np.float64)))
    if not np.isclose(total, 1.0, atol=1e-6):
        raise ConfigError(f"`{name}` must sum to 1; it sums to {total!r}.")
    return d


def make(spec: CanonSpec, opts: dict) -> Canonicaliser:
    """Assembles a :class:`Canonicaliser` from its static spec and array options."""
    return Canonicaliser(
        init=functools.partial(init_state, spec, opts),
        apply=functools.partial(apply_one, spec),
        name=spec.kind if spec.kind != "minimal_l2" else f"minimal_l2_{spec.min_kind}",
        is_starc=spec.kind in _STARC_KINDS,
        output_layout=output_layout(spec),
        spec=spec,
        opts=opts,
    )


def val(policy: Any = None) -> Canonicaliser:
    r"""VAL, value-adjusted levelling: VAL_π(R)(s, a) = A^π_R(s, a).

    .. math:: \mathrm{VAL}_\pi(R)(s,a) = \mathbb{E}_{S'\sim T(s,a)}
       [R(s,a,S') - V^\pi_R(s) + \gamma V^\pi_R(S')]

    The output is constant in s', stored compact ``[S, A]``; Σ_a π(a|s)·VAL = 0.
    (I − γP_π) is factorised (and inverted) once in ``init``.

    Args:
      policy: ``[S, A]`` π (any fixed policy, also deterministic); uniform if None.

    Returns:
      The canonicaliser.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> c = val()
      >>> st = c.init(make_mdp(np.full((2, 2, 2), 0.5), 0.9))
      >>> c.apply(st, np.float32([[1, 0], [0, 0]])).value.round(3).tolist()
      [[0.5, -0.5], [0.0, 0.0]]

    References:
      Skalse et al. (2024). STARC: A General Framework For Quantifying
      Differences Between Reward Functions. ICLR. Prop. 2.
    """
    return make(CanonSpec("val"), {"policy": _check_policy(policy)})


def minimal_l2(kind: str = "transition", weights: Any = None) -> Canonicaliser:
    r"""MIN: the L2-minimal equivalent reward (orthogonal projection onto W⊥).

    ``kind="transition"``: the norm Σ D(s,a) Σ_s' T X², giving A_Φ* with
    Φ* = argmin Σ D·A_Φ² (solved by one Cholesky factor of MᵀDM, M = γT − E),
    output ``[S, A]``, D uniform 1/(SA) unless ``weights``. ``kind="flat"``: the
    plain L2 over (s, a, s'), output T·A_Φ*/‖T(s,a,·)‖² ``[S, A, S]`` (zero on
    impossible transitions). Offered for L2 only: under L1/L∞ the minimiser is
    not unique or not linear. ‖MIN(R)‖ ≤ ‖VAL(R)‖ in its norm.

    Args:
      kind: ``"transition"`` or ``"flat"``.
      weights: ``[S, A]`` strictly positive D (``"transition"`` only).

    Returns:
      The canonicaliser.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> c = minimal_l2()
      >>> st = c.init(make_mdp(np.full((2, 2, 2), 0.5), 0.9))
      >>> c.apply(st, np.float32([[1, 0], [0, 0]])).value.round(3).tolist()
      [[0.5, -0.5], [0.0, 0.0]]
    """
    check_choice("kind", kind, ("transition", "flat"))
    if kind == "flat" and weights is not None:
        raise ConfigError("`weights` applies to kind='transition' only.")
    return make(
        CanonSpec("minimal_l2", kind), {"weights": _check_positive("weights", weights)}
    )


def epic(state_dist: Any = None, action_dist: Any = None) -> Canonicaliser:
    r"""EPIC's canonically shaped reward ([EPIC] §4).

    .. math:: C(R)(s,a,s') = R(s,a,s') + \mathbb{E}[\gamma R(s',A,S') - R(s,A,S')
       - \gamma R(S,A,S')],\ S, S' \sim D_S,\ A \sim D_A

    Removes shaping; ignores T and reads R on impossible transitions; **not**
    invariant to S'-redistribution, so not a STARC canonicalisation.

    Args:
      state_dist: ``[S]`` D_S; the MDP's, else uniform, if None.
      action_dist: ``[A]`` D_A; the MDP's, else uniform, if None.

    Returns:
      The canonicaliser (output ``[S, A, S]``).

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> c = epic()
      >>> st = c.init(make_mdp(np.full((2, 1, 2), 0.5), 0.5))
      >>> float(jnp.abs(c.apply(st, np.ones((2, 1, 2))).value).max())
      0.0
    """
    opts = {}
    if state_dist is not None:
        opts["state_dist"] = _check_distribution("state_dist", state_dist)
    if action_dist is not None:
        opts["action_dist"] = _check_distribution("action_dist", action_dist)
    return make(CanonSpec("epic"), opts)


def dard(action_dist: Any = None, model: Any = None) -> Canonicaliser:
    r"""DARD's dynamics-aware canonicalisation ([DARD]).

    .. math:: C_T(R)(s,a,s') = R + \mathbb{E}[\gamma R(s',A,S'') - R(s,A,S')
       - \gamma R(S',A,S'')],\ S' \sim T(s,A),\ S'' \sim T(s',A)

    Closed form R + γu(s') − u(s) − γK(s, s'), u = Σ_a D_A r̄, K = Σ_a D_A
    T_a R_a T_aᵀ, at O(A·S³) per reward. Removes shaping; **not**
    redistribution-invariant (the raw R term survives).

    Args:
      action_dist: ``[A]`` D_A; the MDP's, else uniform, if None.
      model: ``[S, A, S]`` T̂ to use instead of the MDP's T (a learned model).

    Returns:
      The canonicaliser (output ``[S, A, S]``).

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> c = dard()
      >>> st = c.init(make_mdp(np.full((2, 1, 2), 0.5), 0.5))
      >>> float(jnp.abs(c.apply(st, np.ones((2, 1, 2))).value).max())
      0.0
    """
    opts: dict[str, Any] = {}
    if action_dist is not None:
        opts["action_dist"] = _check_distribution("action_dist", action_dist)
    if model is not None:
        opts["model"] = model
    return make(CanonSpec("dard"), opts)


def value_potential(policy: Any = None) -> Canonicaliser:
    """The authors' "VALPotential": R − V^π_R(s) + γV^π_R(s') (not STARC-valid).

    It removes shaping but **not** S'-redistribution; ``canon="val"`` never
    resolves to it. Ship-only for reproducing [STARC] Figure 1.

    Args:
      policy: ``[S, A]`` π; uniform if None.

    Returns:
      The canonicaliser (output ``[S, A, S]``).

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> c = value_potential()
      >>> st = c.init(make_mdp(np.full((2, 1, 2), 0.5), 0.5))
      >>> c.apply(st, np.ones((2, 1, 2))).value.round(3).tolist()
      [[[0.0, 0.0]], [[0.0, 0.0]]]
    """
    return make(CanonSpec("value_potential"), {"policy": _check_policy(policy)})


def identity() -> Canonicaliser:
    """No canonicalisation: C(R) = R broadcast to ``[S, A, S]`` (baseline).

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> c = identity()
      >>> st = c.init(make_mdp(np.full((2, 1, 2), 0.5), 0.5))
      >>> c.apply(st, np.float32([[1], [2]])).value[1].tolist()
      [[2.0, 2.0]]
    """
    return make(CanonSpec("identity"), {})


CANONS = {
    "val": val,
    "minimal_l2": minimal_l2,
    "epic": epic,
    "dard": dard,
    "value_potential": value_potential,
    "identity": identity,
    "none": identity,
}
