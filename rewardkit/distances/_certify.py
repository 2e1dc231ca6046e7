"""Certify that a (shaped) reward is equivalent to another: same policy ordering."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import ConfigError
from rewardkit.distances import canon as _canon
from rewardkit.distances._norms import standardise, weighted_norm
from rewardkit.distances._rewards import check_reward, expected
from rewardkit.distances._starc import _cast_mdp, _check_mdp, _resolve_canon

__all__ = ["EquivalenceCertificate", "certify_equivalent"]


class EquivalenceCertificate(NamedTuple):
    """The verdict of :func:`certify_equivalent` (NumPy values).

    Attributes:
      equivalent: whether the rewards order all policies identically (up to the
        tolerance): ``distance ≤ atol·κ`` (and ``|scale − 1| ≤ atol·κ`` when
        scaling is not allowed); the trivial flags decide first.
      distance: STARC distance with L2/L2 (in [0, 2]).
      kappa: κ = max n(b)/n(c) over the two rewards (≥ 1), the cancellation ratio
        that scales the tolerance.
      scale: α̂ = n(c(R'))/n(c(R)).
      residual: n(c(R') − α̂c(R))/n(b).
      potential: ``[S]`` Φ̂ = V^π_R − V^π_{R'}/α̂ (VAL only; NaN otherwise): the
        potential that shaping added, up to the constant and scaling.
      trivial: ``(bool, bool)``, c(R) ≈ 0 and c(R') ≈ 0.
      tolerance: the threshold atol·κ used.
    """

    equivalent: bool
    distance: float
    kappa: float
    scale: float
    residual: float
    potential: np.ndarray
    trivial: tuple
    tolerance: float


@functools.lru_cache(maxsize=64)
def _certify_fn(spec: Any, rtol: float) -> Any:
    def run(opts, mdp, r1, r2):
        st = _canon.init_state(spec, opts, mdp)
        out = _canon.apply_batch(spec, st, jnp.stack([r1, r2]))
        dt = out.value.dtype
        w = jnp.ones(out.value.shape[1:], dt)

        def one(c, b):
            s, triv = standardise(c, b, 2, w, w, rtol)
            return s, triv, weighted_norm(c, 2, w, w), weighted_norm(b, 2, w, w)

        s, triv, n, nb = jax.vmap(one)(out.value, out.bound)
        dist = weighted_norm(s[0] - s[1], 2, w, w)
        kappa = jnp.max(nb / jnp.where(triv, 1.0, jnp.maximum(n, 1e-300)))
        kappa = jnp.maximum(kappa, 1.0)
        alpha = n[1] / jnp.where(n[0] > 0, n[0], 1.0)
        resid = weighted_norm(out.value[1] - alpha * out.value[0], 2, w, w)
        resid = resid / jnp.maximum(jnp.max(nb), 1e-300)
        if spec.kind == "val":
            t = st.transitions
            vs = []
            for r in (r1, r2):
                rb = expected(r, t, st.absorbing)[0]
                r_pi = jnp.sum(st.policy * rb, axis=-1)
                vs.append(_canon.solve_policy(st, r_pi))
            phi = vs[0] - vs[1] / jnp.where(alpha > 0, alpha, 1.0)
        else:
            phi = jnp.full((t_states(mdp),), jnp.nan, dt)
        return dist, kappa, alpha, resid, phi, triv

    return jax.jit(run)


def t_states(mdp: Any) -> int:
    return int(jnp.shape(mdp.transitions)[0])


def certify_equivalent(
    R: Any,
    R_candidate: Any,
    mdp: Any,
    *,
    canon: Any = "val",
    policy: Any = None,
    allow_scaling: bool = True,
    atol: Any = None,
    x64: bool = True,
    layout: Any = None,
) -> EquivalenceCertificate:
    """Certifies that ``R_candidate`` orders every policy as ``R`` does.

    Two rewards induce the same policy ordering iff they differ by potential
    shaping, S'-redistribution and positive scaling ([STARC]); equivalently their
    STARC distance is 0. Rounding makes d of equivalent rewards grow with the
    magnitudes that cancelled in c, so the test is ``d ≤ atol·κ`` with κ the
    cancellation ratio (tolerance scaling with the reward and potential sizes,
    not absolute). Runs in float64 (``jax.enable_x64``) unless ``x64=False``.

    Episode ends must be absorbing states of ``mdp``
    (:func:`~rewardkit.distances.from_tabular_model` keeps a model's terminals);
    their self-loop pays 0, so shaping must use Φ(terminal) = 0 to be certified.
    γ = 1 cannot be certified (a TabularMDP has γ < 1). Time-varying potentials
    and look-ahead advice are not stationary rewards: certify them on an augmented
    MDP (time or the previous action in the state).

    Args:
      R: the original reward, ``[S, A, S]`` or ``[S, A]``.
      R_candidate: the candidate (e.g. ``rk.shaping.shape_tabular(R, Φ, γ, term)``).
      mdp: the MDP.
      canon: ``"val"`` (default) or another STARC canonicalisation
        (``"minimal_l2"``, ``"minimal_l2_flat"``).
      policy: π of VAL.
      allow_scaling: accept R' = αR (α > 0); if False, also require α̂ ≈ 1.
      atol: tolerance factor; 1e-9 (float64) or 1e-5 (float32) if None.
      x64: compute in float64.
      layout: ``"sas"``/``"sa"`` when ambiguous.

    Returns:
      :class:`EquivalenceCertificate` with NumPy values.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> rng = np.random.default_rng(0)
      >>> mdp = make_mdp(rng.dirichlet(np.ones(3), size=(3, 2)), 0.9)
      >>> r = rng.normal(size=(3, 2, 3))
      >>> phi = np.array([1.0, -2.0, 0.5])
      >>> shaped = r + 0.9 * phi[None, None, :] - phi[:, None, None]
      >>> cert = certify_equivalent(r, shaped, mdp)
      >>> cert.equivalent, cert.potential.round(6).tolist()
      (True, [1.0, -2.0, 0.5])
      >>> certify_equivalent(r, -r, mdp).equivalent
      False
    """
    _check_mdp(mdp)
    c = _resolve_canon(canon, policy)
    if not c.is_starc:
        raise ConfigError(
            f"`canon` must be a STARC canonicalisation (val, minimal_l2) to certify "
            f"equivalence; got {c.name!r}."
        )
    dt = jnp.float64 if x64 else jnp.float32
    with jax.enable_x64(x64):
        m = _cast_mdp(mdp, dt)
        s, a = m.transitions.shape[:2]
        r1, l1 = check_reward("R", R, s, a, layout)
        r2, l2 = check_reward("R_candidate", R_candidate, s, a, layout)
        if r1.ndim != (3 if l1 == "sas" else 2) or r2.ndim != (3 if l2 == "sas" else 2):
            raise ConfigError("certify_equivalent takes one reward each, no batches.")
        if l1 != l2:
            r1 = r1[..., None] * np.ones(s) if l1 == "sa" else r1
            r2 = r2[..., None] * np.ones(s) if l2 == "sa" else r2
        tol = (1e-9 if x64 else 1e-5) if atol is None else float(atol)
        rtol = 1e-10 if x64 else 1e-5
        opts = jax.tree.map(
            lambda x: jnp.asarray(np.asarray(x, np.float64), dt), c.opts
        )
        out = _certify_fn(c.spec, rtol)(
            opts, m, jnp.asarray(r1, dt), jnp.asarray(r2, dt)
        )
        dist, kappa, alpha, resid, phi, triv = jax.tree.map(np.asarray, out)
    t1, t2 = bool(triv[0]), bool(triv[1])
    thr = tol * float(kappa)
    if t1 or t2:
        equivalent = t1 and t2
    else:
        equivalent = float(dist) <= thr
        if not allow_scaling:
            equivalent = equivalent and abs(float(alpha) - 1.0) <= thr
    return EquivalenceCertificate(
        equivalent=bool(equivalent),
        distance=float(dist),
        kappa=float(kappa),
        scale=float(alpha),
        residual=float(resid),
        potential=phi,
        trivial=(t1, t2),
        tolerance=thr,
    )
