"""Planning for distance workloads: cached evaluation, optimal policies, regret.

Exact planning is :mod:`rewardkit.core`'s one planner; this module adds only what
distance studies need on top: the (I − γP_π)⁻¹ cached in a VAL ``init`` state (many
rewards, one factorisation), policy iteration, returns and normalised regret. All
functions are pure and ``jit``/``vmap``-able (MDPs and rewards as pytrees).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from rewardkit.core import TabularModel, check_choice, q_values, value_iteration
from rewardkit.distances import canon as _canon
from rewardkit.distances._rewards import HI, expected, mask_absorbing

__all__ = [
    "Regret",
    "cached_advantages",
    "cached_policy_evaluation",
    "cached_q_values",
    "optimal_policy",
    "policy_matrix",
    "regret",
    "returns",
    "returns_mc",
]


def policy_matrix(policy: Any, n_actions: int, dtype: Any = jnp.float32) -> jax.Array:
    """``[S, A]`` probabilities from int actions ``[S]`` or probabilities ``[S, A]``.

    Example:
      >>> policy_matrix(jnp.array([1, 0]), 2).tolist()
      [[0.0, 1.0], [1.0, 0.0]]
    """
    p = jnp.asarray(policy)
    if jnp.issubdtype(p.dtype, jnp.integer):
        return jax.nn.one_hot(p, n_actions, dtype=dtype)
    return p.astype(dtype)


def _rbar(reward: Any, mdp: Any) -> jax.Array:
    t = _canon.working_transitions(mdp)
    return expected(jnp.asarray(reward, t.dtype), t, mdp.absorbing)[0]


def cached_policy_evaluation(
    R: Any, mdp: Any, policy: Any = None, state: Any = None
) -> jax.Array:
    """V^π_R: one matrix product with ``state``'s cached (I − γP_π)⁻¹ (or one LU solve).

    The cached form of :func:`rewardkit.core.policy_evaluation` (same values).

    Args:
      R: ``[S, A, S]`` or ``[S, A]`` reward.
      mdp: the :class:`~rewardkit.distances.TabularMDP`.
      policy: ``[S, A]`` probabilities or ``[S]`` int actions; uniform if None
        (ignored when ``state`` is given).
      state: ``canon.val(policy).init(mdp)``, or None to factorise now.

    Returns:
      ``[S]`` V^π.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> mdp = make_mdp(np.full((2, 1, 2), 0.5), 0.5)
      >>> cached_policy_evaluation(np.float32([[1], [1]]), mdp).tolist()
      [2.0, 2.0]
    """
    t = _canon.working_transitions(mdp)
    if state is None:  # one reward: one LU solve, not a whole inverse
        s, a = t.shape[:2]
        pi = (
            jnp.full((s, a), 1.0 / a, t.dtype)
            if policy is None
            else policy_matrix(policy, a, t.dtype)
        )
        return _evaluate(_rbar(R, mdp), mdp, pi)
    r_pi = jnp.sum(state.policy * _rbar(R, mdp), axis=-1)
    return _canon.solve_policy(state, r_pi)


def cached_q_values(
    R: Any, mdp: Any, policy: Any = None, state: Any = None
) -> jax.Array:
    """Q^π_R = r̄ + γ T V^π_R, reusing the cached factor.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> mdp = make_mdp(np.full((2, 1, 2), 0.5), 0.5)
      >>> cached_q_values(np.float32([[1], [1]]), mdp).tolist()
      [[2.0], [2.0]]
    """
    v = cached_policy_evaluation(R, mdp, policy, state)
    t = _canon.working_transitions(mdp)
    return _rbar(R, mdp) + jnp.asarray(mdp.gamma, t.dtype) * jnp.einsum(
        "sat,t->sa", t, v, precision=HI
    )


def cached_advantages(
    R: Any, mdp: Any, policy: Any = None, state: Any = None
) -> jax.Array:
    """A^π_R = Q^π_R − V^π_R (= VAL_π(R)).

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> mdp = make_mdp(np.full((2, 2, 2), 0.5), 0.5)
      >>> cached_advantages(np.float32([[1, 0], [0, 0]]), mdp).tolist()
      [[0.5, -0.5], [0.0, 0.0]]
    """
    v = cached_policy_evaluation(R, mdp, policy, state)
    return cached_q_values(R, mdp, policy, state) - v[:, None]


def _model(mdp: Any, R: Any) -> TabularModel:
    t = _canon.working_transitions(mdp)
    s = t.shape[0]
    term = jnp.zeros(s, bool) if mdp.absorbing is None else jnp.asarray(mdp.absorbing)
    r = mask_absorbing(jnp.asarray(R, t.dtype), mdp.absorbing)
    mu0 = jnp.asarray(mdp.initial, t.dtype)
    return TabularModel(t, r, term, jnp.zeros(s, jnp.uint32), mu0)


def _evaluate(rbar: jax.Array, mdp: Any, pi: jax.Array) -> jax.Array:
    t = _canon.working_transitions(mdp)
    p = jnp.einsum("sa,sat->st", pi, t, precision=HI)
    a = jnp.eye(t.shape[0], dtype=t.dtype) - jnp.asarray(mdp.gamma, t.dtype) * p
    # LU + triangular solves: batches well under nested vmaps (the generic
    # jnp.linalg.solve compiled pathologically slowly there on CPU).
    return jsl.lu_solve(jsl.lu_factor(a), jnp.sum(pi * rbar, axis=-1))


def optimal_policy(
    R: Any,
    mdp: Any,
    *,
    method: str = "value_iteration",
    tol: Any = None,
    max_iters: int = 10_000,
) -> tuple[jax.Array, jax.Array]:
    """A deterministic optimal policy and its values.

    ``"value_iteration"`` runs :func:`rewardkit.core.value_iteration` and takes the
    greedy actions of :func:`rewardkit.core.q_values`; its default ``tol``
    1e-5/√S (sup-norm change) stops no earlier than [STARC-code]'s rule (L2 change
    < 1e-5). ``"policy_iteration"`` is exact: solves for V^π, improves greedily,
    keeping the current action unless another beats it by more than
    ``tol·max|Q|`` (no cycling on ties), and stops when stable.

    Args:
      R: ``[S, A, S]`` or ``[S, A]`` reward.
      mdp: the MDP.
      method: ``"value_iteration"`` or ``"policy_iteration"``.
      tol: stopping/tie tolerance (see above; 1e-10 relative for PI if None).
      max_iters: iteration cap.

    Returns:
      ``(actions [S] int32, V [S])`` (V: VI's values, or V^π for PI).

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> t = np.zeros((2, 2, 2)); t[:, 0, 0] = 1; t[:, 1, 1] = 1
      >>> mdp = make_mdp(t, 0.5)
      >>> r = np.float32([[0, 1], [0, 1]])
      >>> a, v = optimal_policy(r, mdp)
      >>> a.tolist(), v.round(3).tolist()
      ([1, 1], [2.0, 2.0])
    """
    check_choice("method", method, ("value_iteration", "policy_iteration"))
    t = _canon.working_transitions(mdp)
    s, a, _ = t.shape
    if method == "value_iteration":
        model = _model(mdp, R)
        tl = 1e-5 / float(s) ** 0.5 if tol is None else tol
        g = jnp.asarray(mdp.gamma, t.dtype)
        v = value_iteration(model, g, tol=tl, max_iters=max_iters)
        q = q_values(model, g, v)
        return jnp.argmax(q, axis=-1).astype(jnp.int32), v
    rbar = _rbar(R, mdp)
    tl = 1e-10 if tol is None else tol

    def greedy(act):
        v = _evaluate(rbar, mdp, jax.nn.one_hot(act, a, dtype=t.dtype))
        q = rbar + jnp.asarray(mdp.gamma, t.dtype) * jnp.einsum(
            "sat,t->sa", t, v, precision=HI
        )
        best = jnp.argmax(q, axis=-1).astype(jnp.int32)
        cur = jnp.take_along_axis(q, act[:, None], axis=-1)[:, 0]
        scale = jnp.maximum(1.0, jnp.max(jnp.abs(q)))
        keep = cur >= jnp.max(q, axis=-1) - tl * scale
        return jnp.where(keep, act, best), v

    def cond(c):
        _, _, changed, i = c
        return changed & (i < max_iters)

    def body(c):
        act, _, _, i = c
        new, v = greedy(act)
        return new, v, jnp.any(new != act), i + 1

    act0 = jnp.zeros(s, jnp.int32)
    init = (act0, jnp.zeros(s, t.dtype), jnp.asarray(True), 0)
    act, v, _, _ = jax.lax.while_loop(cond, body, init)
    return act, v


def returns(R: Any, mdp: Any, policy: Any) -> jax.Array:
    """J_R(π) = μ0 · V^π_R (exact).

    Args:
      R: reward.
      mdp: the MDP.
      policy: ``[S]`` int actions or ``[S, A]`` probabilities.

    Returns:
      ``[]`` the expected discounted return from μ0.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> mdp = make_mdp(np.full((2, 1, 2), 0.5), 0.5)
      >>> float(returns(np.float32([[1], [3]]), mdp, jnp.array([0, 0])))
      4.0
    """
    t = _canon.working_transitions(mdp)
    pi = policy_matrix(policy, t.shape[1], t.dtype)
    mu0 = jnp.asarray(mdp.initial, t.dtype)
    return jnp.dot(mu0, _evaluate(_rbar(R, mdp), mdp, pi))


def returns_mc(key: jax.Array, R: Any, mdp: Any, policy: Any, *, horizon: Any = None):
    """Monte-Carlo J_R(π) as in [STARC-code] ``rollout.py``.

    One episode per start state in μ0's support, repeated A times, horizon
    round(log 1e-5 / log γ); the start states are weighted by μ0.

    Args:
      key: PRNG key.
      R: ``[S, A, S]`` or ``[S, A]`` reward.
      mdp: the MDP.
      policy: ``[S]`` int actions or ``[S, A]`` probabilities.
      horizon: episode length (static int); the rule above if None.

    Returns:
      ``[]`` the estimate.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> mdp = make_mdp(np.full((2, 1, 2), 0.5), 0.5)
      >>> r = np.float32([[1], [3]])
      >>> est = returns_mc(jax.random.key(0), r, mdp, jnp.array([0, 0]))
      >>> bool(abs(float(est) - 4.0) < 0.5)
      True
    """
    t = _canon.working_transitions(mdp)
    s, a, _ = t.shape
    if horizon is None:
        horizon = round(float(np.log(1e-5) / np.log(float(mdp.gamma))))
    pi = policy_matrix(policy, a, t.dtype)
    r = mask_absorbing(jnp.asarray(R, t.dtype), mdp.absorbing)
    rfull = r if r.ndim == 3 else jnp.broadcast_to(r[:, :, None], (s, a, s))
    starts = jnp.tile(jnp.arange(s), a)
    g = jnp.asarray(mdp.gamma, t.dtype)

    def episode(k, s0):
        def step(c, kk):
            st, disc = c
            ka, ks = jax.random.split(kk)
            act = jax.random.categorical(ka, jnp.log(pi[st]))
            nxt = jax.random.categorical(ks, jnp.log(t[st, act]))
            return (nxt, disc * g), disc * rfull[st, act, nxt]

        _, rs = jax.lax.scan(
            step, (s0, jnp.ones((), t.dtype)), jax.random.split(k, horizon)
        )
        return jnp.sum(rs)

    ret = jax.vmap(episode)(jax.random.split(key, starts.shape[0]), starts)
    mu0 = jnp.asarray(mdp.initial, t.dtype)
    return jnp.dot(mu0, jnp.mean(ret.reshape(a, s), axis=0))


class Regret(NamedTuple):
    """Normalised regret between two rewards ([STARC] §4.1).

    Attributes:
      regret1: (J1(π1) − J1(π2)) / (J1(π1) − J1(π1w)).
      regret2: (J2(π2) − J2(π1)) / (J2(π2) − J2(π2w)).
      mean: ½(regret1 + regret2).
      range1: J1(π1) − J1(π1w) (0: R1 trivial; then the denominator is 1).
      range2: J2(π2) − J2(π2w).
      degenerate: ``[]`` bool, a zero range occurred.
    """

    regret1: jax.Array
    regret2: jax.Array
    mean: jax.Array
    range1: jax.Array
    range2: jax.Array
    degenerate: jax.Array


def regret(
    R1: Any, R2: Any, mdp: Any, *, method: str = "value_iteration", **kwargs: Any
) -> Regret:
    """Normalised regret of optimising one reward and evaluating on the other.

    πi is optimal for Ri and πiw optimal for −Ri (the worst policy);
    J is exact (:func:`returns`). A zero denominator is replaced by 1.

    Args:
      R1: reward.
      R2: reward.
      mdp: the MDP.
      method: the planner of :func:`optimal_policy`.
      **kwargs: passed to :func:`optimal_policy` (``tol``, ``max_iters``).

    Returns:
      :class:`Regret`.

    Example:
      >>> from rewardkit.distances import make_mdp
      >>> t = np.zeros((2, 2, 2)); t[:, 0, 0] = 1; t[:, 1, 1] = 1
      >>> mdp = make_mdp(t, 0.5)
      >>> r = np.float32([[0, 1], [0, 1]])
      >>> float(regret(r, -r, mdp).mean), float(regret(r, 2 * r, mdp).mean)
      (1.0, 0.0)
    """

    def opt(r):
        return optimal_policy(r, mdp, method=method, **kwargs)[0]

    r1 = jnp.asarray(R1)
    r2 = jnp.asarray(R2)
    p1, p1w, p2, p2w = opt(r1), opt(-r1), opt(r2), opt(-r2)
    j1 = returns(r1, mdp, p1)
    j2 = returns(r2, mdp, p2)
    d1 = j1 - returns(r1, mdp, p1w)
    d2 = j2 - returns(r2, mdp, p2w)
    g1 = (j1 - returns(r1, mdp, p2)) / jnp.where(d1 == 0, 1.0, d1)
    g2 = (j2 - returns(r2, mdp, p1)) / jnp.where(d2 == 0, 1.0, d2)
    return Regret(g1, g2, 0.5 * (g1 + g2), d1, d2, (d1 == 0) | (d2 == 0))
