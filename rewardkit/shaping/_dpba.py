"""Arbitrary rewards as advice: DPBA (experimental) and PIES (recommended)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from rewardkit.core import (
    ConfigError,
    array_namespace,
    check_choice,
    check_in_range,
    check_positive,
)
from rewardkit.shaping._advice import action_bias
from rewardkit.shaping._shaper import TRUNCATION_OPTIONS, check_shaping_gamma

__all__ = ["DPBA", "PIES", "DPBAState", "PIESState", "dpba", "pies"]


def _table(table: Any) -> Any:
    xp = array_namespace(table)
    arr = xp.asarray(table, dtype=xp.float32)
    if arr.ndim != 2:
        raise ConfigError(
            f"`table` must have shape [S, A]; got shape {tuple(arr.shape)}."
        )
    return arr


def _one_hot_2d(xp: Any, shape: tuple[int, ...], s: Any, a: Any) -> Any:
    rows = xp.arange(shape[0]) == s
    cols = xp.arange(shape[1]) == a
    return rows[:, None] & cols[None, :]


def _td_update(table, s, a, reward, s_next, a_next, keep, gamma, beta):
    """One SARSA step on a table, written with operators only (host and jit)."""
    xp = array_namespace(table)
    delta = reward + gamma * table[s_next, a_next] * keep - table[s, a]
    return table + (beta * delta) * _one_hot_2d(xp, table.shape, s, a)


class DPBAState(NamedTuple):
    """State of :func:`dpba`.

    Attributes:
      phi: ``[S, A]`` float32, the learned advice potential Φ_t.
    """

    phi: Any


class DPBA(NamedTuple):
    """Dynamic potential-based advice (experimental; see :func:`dpba`).

    Attributes:
      init: ``(table [S, A]) -> DPBAState``.
      update: ``(state, s, a, advice_reward, s_next, a_next, terminated, truncated)
        -> state``; one on-policy step of Φ towards the value of ``−R†``.
      term: ``(old, new, s, a, s_next, a_next, terminated, truncated) -> F`` with
        ``F = γΦ_{t+1}(s', a') − Φ_t(s, a)`` (``Φ(terminal, ·) = 0``).
      action_bias: ``(q_hat, phi_row) -> q_hat + phi_row``, the look-ahead
        correction that selection applies with the current ``Φ(s, ·)``.
      gamma: the learner's discount.
      beta: Φ's step size.
      truncation: ``"bootstrap"`` or ``"zero"``.
    """

    init: Callable[[Any], DPBAState]
    update: Callable[..., DPBAState]
    term: Callable[..., Any]
    action_bias: Callable[[Any, Any], Any]
    gamma: float
    beta: float
    truncation: str


def dpba(gamma: float, *, beta: float, truncation: str = "bootstrap") -> DPBA:
    r"""DPBA: learn Φ as the action value of ``−R†`` and shape with look-ahead advice.

    .. math:: \delta^\Phi_t = -R^\dagger(s_t,a_t) + \gamma\Phi_t(s_{t+1},a_{t+1})
       - \Phi_t(s_t,a_t), \quad \Phi_{t+1}(s_t,a_t) = \Phi_t(s_t,a_t) + \beta\delta^\Phi_t,
       \quad F_t = \gamma\Phi_{t+1}(s_{t+1},a_{t+1}) - \Phi_t(s_t,a_t).

    At the fixed point ``E[F] = R†(s, a)``. Learner-side, tabular, written with
    operators only (host NumPy and ``jit``).

    Warning:
      *Experimental.* Behboudian, Satsangi, Taylor, Harutyunyan and Bowling
      (arXiv 2011.01297; Neural Comput. & Applic. 2022) show a flaw in DPBA — in
      our reading, the action-dependent offset of look-ahead advice left
      uncorrected in action selection — so the learned policy need not be optimal
      for the original task. This implementation applies the look-ahead
      correction (act on ``Q̂ + Φ(s, ·)`` with :attr:`DPBA.action_bias`); for
      arbitrary advice prefer :func:`pies`, which keeps the advice out of the
      reward.

    Args:
      gamma: the learner's discount in [0, 1].
      beta: Φ's step size in (0, 1] (typically larger than the learner's).
      truncation: ``"bootstrap"`` or ``"zero"``.

    Raises:
      ConfigError: for a bad ``gamma``, ``beta`` or ``truncation``.

    Example:
      >>> import numpy as np
      >>> d = dpba(0.9, beta=0.5)
      >>> old = d.init(np.zeros((2, 2), np.float32))
      >>> new = d.update(old, 0, 1, np.float32(1.0), 1, 0, False, False)
      >>> new.phi.tolist(), float(d.term(old, new, 0, 1, 1, 0, False, False))
      ([[0.0, -0.5], [0.0, 0.0]], 0.0)

    References:
      Harutyunyan, Devlin, Vrancx and Nowé (2015). Expressing arbitrary reward
      functions as potential-based advice. AAAI.
    """
    gamma = check_shaping_gamma(gamma)
    beta = check_in_range("beta", beta, 0.0, 1.0)
    check_positive("beta", beta)
    check_choice("truncation", truncation, TRUNCATION_OPTIONS)
    zero = truncation == "zero"

    def init(table: Any) -> DPBAState:
        return DPBAState(_table(table))

    def update(state, s, a, advice_reward, s_next, a_next, terminated, truncated):
        done = terminated | truncated if zero else terminated
        keep = done ^ True
        return DPBAState(
            _td_update(
                state.phi, s, a, -advice_reward, s_next, a_next, keep, gamma, beta
            )
        )

    def term(old, new, s, a, s_next, a_next, terminated, truncated):
        done = terminated | truncated if zero else terminated
        return gamma * (new.phi[s_next, a_next] * (done ^ True)) - old.phi[s, a]

    return DPBA(init, update, term, action_bias, gamma, beta, truncation)


class PIESState(NamedTuple):
    """State of :func:`pies`.

    Attributes:
      advice_q: ``[S, A]`` float32, the learned action value of the advice R†.
      xi: ``[]`` float32, the advice weight ξ_t, annealed towards 0.
    """

    advice_q: Any
    xi: Any


class PIES(NamedTuple):
    """Policy-invariant explicit shaping (see :func:`pies`).

    Attributes:
      init: ``(table [S, A]) -> PIESState`` (ξ starts at ``xi0``).
      update: ``(state, s, a, advice_reward, s_next, a_next, terminated, truncated)
        -> state``; one SARSA step of the advice value, then ``ξ ← decay·ξ``.
      action_values: ``(state, q_row, s) -> q_row + ξ·advice_q[s]``, what selection
        uses; the task's reward is never changed.
      gamma: the learner's discount.
      beta: the advice value's step size.
      decay: ξ's per-update factor.
      truncation: ``"bootstrap"`` or ``"zero"``.
    """

    init: Callable[[Any], PIESState]
    update: Callable[..., PIESState]
    action_values: Callable[[PIESState, Any, Any], Any]
    gamma: float
    beta: float
    decay: float
    truncation: str


def pies(
    gamma: float,
    *,
    beta: float,
    xi0: float = 1.0,
    decay: float = 0.999,
    truncation: str = "bootstrap",
) -> PIES:
    r"""PIES: arbitrary advice in action selection only, its weight annealed to 0.

    The advice R† stays out of the reward; a separate value
    :math:`\Phi(s, a)` of R† is learned on-policy and added to action selection,
    :math:`Q(s, \cdot) + \xi_t \Phi(s, \cdot)`, with :math:`\xi_t = \xi_0
    \cdot \text{decay}^t \to 0`, so the final greedy policy is the original task's.
    The recommended route for arbitrary advice (Behboudian et al. 2022).

    Args:
      gamma: the learner's discount in [0, 1].
      beta: the advice value's step size in (0, 1].
      xi0: the initial advice weight (>= 0).
      decay: ξ's factor per update, in [0, 1).
      truncation: ``"bootstrap"`` or ``"zero"``.

    Raises:
      ConfigError: for bad ``gamma``, ``beta``, ``xi0``, ``decay`` or ``truncation``.

    Example:
      >>> import numpy as np
      >>> p = pies(0.9, beta=1.0, xi0=1.0, decay=0.5)
      >>> state = p.init(np.zeros((2, 2), np.float32))
      >>> state = p.update(state, 0, 1, np.float32(2.0), 1, 0, True, False)
      >>> p.action_values(state, np.float32([0.5, 0.0]), 0).tolist(), float(state.xi)
      ([0.5, 1.0], 0.5)

    References:
      Behboudian, Satsangi, Taylor, Harutyunyan and Bowling (2022). Policy
      invariant explicit shaping: an efficient alternative to reward shaping.
      Neural Computing and Applications.
    """
    gamma = check_shaping_gamma(gamma)
    beta = check_in_range("beta", beta, 0.0, 1.0)
    check_positive("beta", beta)
    if isinstance(xi0, str) or not xi0 >= 0:
        raise ConfigError(f"`xi0` must be a number >= 0; got {xi0!r}.")
    decay = check_in_range("decay", decay, 0.0, 1.0)
    if decay >= 1.0:
        raise ConfigError(f"`decay` must be in [0, 1) so that ξ → 0; got {decay!r}.")
    check_choice("truncation", truncation, TRUNCATION_OPTIONS)
    zero = truncation == "zero"

    def init(table: Any) -> PIESState:
        arr = _table(table)
        xp = array_namespace(arr)
        return PIESState(arr, xp.asarray(xi0, dtype=xp.float32))

    def update(state, s, a, advice_reward, s_next, a_next, terminated, truncated):
        done = terminated | truncated if zero else terminated
        keep = done ^ True
        q = _td_update(
            state.advice_q, s, a, advice_reward, s_next, a_next, keep, gamma, beta
        )
        return PIESState(q, state.xi * decay)

    def action_values(state: PIESState, q_row: Any, s: Any) -> Any:
        return q_row + state.xi * state.advice_q[s]

    return PIES(init, update, action_values, gamma, beta, decay, truncation)
