"""State–action advice (Wiewiora, Cottrell and Elkan 2003): look-ahead and look-back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from rewardkit.core import ConfigError, array_namespace, check_choice
from rewardkit.shaping._shaper import TRUNCATION_OPTIONS, check_shaping_gamma

__all__ = [
    "LookAhead",
    "LookBack",
    "LookBackState",
    "action_bias",
    "look_ahead",
    "look_back",
]


def action_bias(q_hat: Any, advice: Any) -> Any:
    """The look-ahead action-selection correction: act on ``Q̂(s,·) + Φ(s,·)``.

    With look-ahead advice the learned values converge to ``Q̂ = Q* − Φ(s, a)``, an
    action-dependent offset; greedy, ε-greedy or softmax selection MUST use
    ``Q̂ + Φ`` (this function), since ``argmax Q̂`` alone generally differs.

    Args:
      q_hat: ``[..., A]`` the learner's values.
      advice: ``[..., A]`` ``Φ(s, ·)``, the bias.

    Returns:
      ``[..., A]`` the values to select actions on.

    Example:
      >>> import numpy as np
      >>> action_bias(np.float32([1.0, 0.0]), np.float32([0.0, 2.0])).tolist()
      [1.0, 2.0]
    """
    return q_hat + advice


class LookAhead(NamedTuple):
    """Look-ahead advice: ``F_t = γ·Φ(s_{t+1}, a_{t+1}) − Φ(s_t, a_t)``.

    Learner-side (an env wrapper cannot know ``a_{t+1}``), SARSA-style.
    ``Φ(terminal, ·) = 0`` (and on truncation with ``"zero"``), so every terminated
    episode's discounted sum is ``−Φ(s_0, a_0)``.

    Attributes:
      term: ``(phi_sa, phi_next_sa, terminated, truncated) -> F``.
      action_bias: :func:`action_bias`, the correction selection MUST apply.
      gamma: the learner's discount.
      truncation: ``"bootstrap"`` or ``"zero"``.
    """

    term: Callable[[Any, Any, Any, Any], Any]
    action_bias: Callable[[Any, Any], Any]
    gamma: float
    truncation: str


def look_ahead(gamma: float, *, truncation: str = "bootstrap") -> LookAhead:
    """Builds look-ahead advice terms (host and ``jit``, elementwise).

    Args:
      gamma: the learner's discount in [0, 1].
      truncation: ``"bootstrap"`` or ``"zero"``.

    Raises:
      ConfigError: for a bad ``gamma`` or ``truncation``.

    Example:
      >>> import numpy as np
      >>> la = look_ahead(0.5)
      >>> float(la.term(np.float32(1.0), np.float32(4.0), False, False))
      1.0
      >>> float(la.term(np.float32(1.0), np.float32(4.0), True, False))
      -1.0

    References:
      Wiewiora, Cottrell and Elkan (2003). Principled methods for advising
      reinforcement learning agents. ICML.
    """
    gamma = check_shaping_gamma(gamma)
    check_choice("truncation", truncation, TRUNCATION_OPTIONS)
    zero = truncation == "zero"

    def term(phi_sa: Any, phi_next_sa: Any, terminated: Any, truncated: Any) -> Any:
        done = terminated | truncated if zero else terminated
        return gamma * (phi_next_sa * (done ^ True) + 0.0) - phi_sa

    return LookAhead(term, action_bias, gamma, truncation)


class LookBackState(NamedTuple):
    """State of look-back advice.

    Attributes:
      phi_prev: ``[...]`` float32, ``Φ(s_{t−1}, a_{t−1})`` (0 at episode start).
      t: ``[...]`` int32, steps taken this episode.
    """

    phi_prev: Any
    t: Any


class LookBack(NamedTuple):
    """Look-back advice: ``F_t = Φ(s_t, a_t) − γ^{-1}·Φ(s_{t−1}, a_{t−1})``.

    The offset ``−γ^{-1}Φ(s_{t−1}, a_{t−1})`` does not depend on ``a_t``: no
    selection correction, but values depend on how a state was reached. The
    current pair's term is dropped on a terminated step (and a truncated one with
    ``"zero"``), so every such episode's discounted sum is exactly 0.

    Attributes:
      init: ``(like) -> LookBackState`` (zeros shaped and typed like ``like``).
      step: ``(state, phi_sa, terminated, truncated) -> (F, state)``.
      gamma: the learner's discount in (0, 1].
      truncation: ``"bootstrap"`` or ``"zero"``.
    """

    init: Callable[[Any], LookBackState]
    step: Callable[[LookBackState, Any, Any, Any], tuple[Any, LookBackState]]
    gamma: float
    truncation: str


def look_back(gamma: float, *, truncation: str = "bootstrap") -> LookBack:
    """Builds look-back advice (host and ``jit``, elementwise).

    Args:
      gamma: the learner's discount in (0, 1] (the term divides by γ).
      truncation: ``"bootstrap"`` or ``"zero"``.

    Raises:
      ConfigError: for γ outside (0, 1] or a bad ``truncation``.

    Example:
      >>> import numpy as np
      >>> lb = look_back(0.5)
      >>> state = lb.init(np.float32(0.0))
      >>> f0, state = lb.step(state, np.float32(1.0), False, False)
      >>> f1, state = lb.step(state, np.float32(3.0), True, False)
      >>> float(f0), float(f1), float(f0 + 0.5 * f1)
      (1.0, -2.0, 0.0)

    References:
      Wiewiora, Cottrell and Elkan (2003), ICML.
    """
    gamma = check_shaping_gamma(gamma)
    if gamma == 0.0:
        raise ConfigError(
            "`gamma` must be in (0, 1] for look-back advice (it divides by γ); got 0.0."
        )
    check_choice("truncation", truncation, TRUNCATION_OPTIONS)
    zero = truncation == "zero"
    inv_gamma = 1.0 / gamma

    def init(like: Any) -> LookBackState:
        xp = array_namespace(like)
        z = xp.zeros_like(xp.asarray(like, dtype=xp.float32))
        return LookBackState(z, xp.zeros(z.shape, dtype=xp.int32))

    def step(
        state: LookBackState, phi_sa: Any, terminated: Any, truncated: Any
    ) -> tuple[Any, LookBackState]:
        done = terminated | truncated if zero else terminated
        kept = phi_sa * (done ^ True) + 0.0
        f = kept - inv_gamma * state.phi_prev
        return f, LookBackState(kept, state.t + 1)

    return LookBack(init, step, gamma, truncation)
