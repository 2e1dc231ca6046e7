"""The potential-based shaper: pure functions shared by every front-end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from rewardkit.core import ConfigError, array_namespace, check_choice, check_gamma

__all__ = [
    "TRUNCATION_OPTIONS",
    "Shaper",
    "ShapingState",
    "check_shaping_gamma",
    "shape_tabular",
    "shaper",
]

#: ``truncation`` values: bootstrap keeps Φ(s') on a time-out, zero drops it.
TRUNCATION_OPTIONS = ("bootstrap", "zero")


class ShapingState(NamedTuple):
    """Per-episode state of a shaper.

    Attributes:
      phi_prev: ``[...]`` float32, Φ(s_t, t) cached on arrival in s_t; the value
        subtracted by the next step, never recomputed (dynamic PBRS).
      t: ``[...]`` int32, the arrival time of s_t in this episode.
    """

    phi_prev: Any
    t: Any


class Shaper(NamedTuple):
    """Potential-based shaping as two pure functions (optax style).

    ``init(phi_0) -> ShapingState`` caches Φ(s_0) at reset;
    ``step(state, phi_next, terminated, truncated) -> (F, phi_used, state)`` gives
    ``F = γ·Φ̃(s') − Φ(s)``, where ``Φ̃(s')`` (``phi_used``) is 0 on a terminated
    step (and on a truncated one with ``truncation="zero"``) and ``phi_next``
    otherwise. Both run on NumPy on the host and on JAX under ``jit``; they work
    elementwise, so batched (``[N]``) inputs need no ``vmap``.

    Attributes:
      init: ``(phi_0) -> ShapingState``.
      step: ``(state, phi_next, terminated, truncated) -> (F, phi_used, state)``.
      gamma: the learner's discount.
      truncation: ``"bootstrap"`` or ``"zero"``.
    """

    init: Callable[[Any], ShapingState]
    step: Callable[[ShapingState, Any, Any, Any], tuple[Any, Any, ShapingState]]
    gamma: float
    truncation: str

    def __repr__(self) -> str:
        return f"shaper(gamma={self.gamma}, truncation={self.truncation!r})"


_new_tuple = tuple.__new__


def check_shaping_gamma(gamma: Any) -> float:
    """Checks the learner's discount: a real number in [0, 1] (strings rejected).

    Raises:
      ConfigError: naming ``gamma``, the range and the value received.

    Example:
      >>> check_shaping_gamma(0.99)
      0.99
    """
    if isinstance(gamma, str | bytes):  # float("0.9") would accept a string
        raise ConfigError(f"`gamma` must be a number in [0.0, 1.0]; got {gamma!r}.")
    return check_gamma("gamma", gamma)


def _float_dtype(xp: Any, x: Any) -> Any:
    dtype = getattr(x, "dtype", None)
    if dtype is not None and xp.issubdtype(dtype, xp.floating):
        return dtype
    return xp.float32


def shaper(gamma: float, *, truncation: str = "bootstrap") -> Shaper:
    r"""Builds the potential-based shaper (static and dynamic potentials alike).

    .. math:: F_t = \gamma\,\tilde\Phi(s_{t+1}, t+1) - \Phi(s_t, t),

    with :math:`\tilde\Phi = 0` when the step terminates (also when it is truncated
    in the same step), :math:`\tilde\Phi = \Phi(s_{t+1})` on a truncation with
    ``truncation="bootstrap"`` (the learner bootstraps V(s')) and 0 with
    ``"zero"`` (for learners that treat every ``done`` as terminal). The
    subtracted value is the one cached on arrival (``phi_prev``), so a potential
    that changes during learning keeps the telescoping identity
    :math:`\sum_t \gamma^t F_t = \gamma^T \tilde\Phi(s_T) - \Phi(s_0)`.

    The maths uses operators only (an arithmetic mask, exact for finite Φ), in
    the floating dtype of the potentials (float32 from every shipped potential).

    Args:
      gamma: the learner's discount in [0, 1]; required, it must be the learner's.
      truncation: ``"bootstrap"`` (default) or ``"zero"``.

    Returns:
      A :class:`Shaper`.

    Raises:
      ConfigError: for ``gamma`` outside [0, 1] or an unknown ``truncation``.

    Example:
      >>> import numpy as np
      >>> s = shaper(0.9)
      >>> state = s.init(np.float32(-3.0))
      >>> f, used, state = s.step(state, np.float32(-2.0), False, False)
      >>> round(float(f), 4), int(state.t)
      (1.2, 1)
      >>> f, used, state = s.step(state, np.float32(-1.0), True, False)
      >>> round(float(f), 4), float(used) == 0.0
      (2.0, True)

    References:
      Ng, Harada and Russell (1999), ICML; Devlin and Kudenko (2012), AAMAS;
      Grześ (2017), AAMAS (terminal potentials).
    """
    gamma = check_shaping_gamma(gamma)
    check_choice("truncation", truncation, TRUNCATION_OPTIONS)
    zero_on_truncation = truncation == "zero"

    def init(phi_0: Any) -> ShapingState:
        xp = array_namespace(phi_0)
        phi = xp.asarray(phi_0, dtype=_float_dtype(xp, phi_0))
        return ShapingState(phi, xp.zeros(phi.shape, dtype=xp.int32))

    def step(
        state: ShapingState, phi_next: Any, terminated: Any, truncated: Any
    ) -> tuple[Any, Any, ShapingState]:
        done = terminated | truncated if zero_on_truncation else terminated
        # Arithmetic mask, not xp.where: 0.1 µs instead of 2 µs per host step
        # (exact for finite Φ; a negative Φ gives -0.0, which equals 0.0). `^ True`
        # negates Python, NumPy and JAX bools alike (`~True` is -2 in Python).
        phi_used = phi_next * (done ^ True)
        phi_prev, t = state
        # tuple.__new__ skips the NamedTuple constructor's frame (host path: ~0.2 µs).
        new = _new_tuple(ShapingState, (phi_next, t + 1))
        return gamma * phi_used - phi_prev, phi_used, new

    return Shaper(init, step, gamma, truncation)


def shape_tabular(reward: Any, potential: Any, gamma: float, terminal: Any) -> Any:
    r"""Potential-based shaping of a tabular reward.

    .. math:: R'(s, a, s') = R(s, a, s') + \gamma \Phi(s') - \Phi(s), \quad
       \Phi := 0 \text{ on terminal states.}

    Terminal rows (absorbing states) get ``γ·0 − 0 = 0`` added, so their zero
    self-loop reward is kept.

    Args:
      reward: ``[S, A, S]`` R(s, a, s').
      potential: ``[S]`` Φ.
      gamma: γ in [0, 1], the learner's discount.
      terminal: ``[S]`` bool, the absorbing states.

    Returns:
      ``[S, A, S]`` the shaped reward, in the inputs' namespace and dtype.

    Raises:
      ConfigError: for a bad ``gamma`` or mismatched shapes.

    Example:
      >>> import numpy as np
      >>> r = np.zeros((2, 1, 2), np.float32)
      >>> phi, terminal = np.float32([10, 10]), np.array([False, True])
      >>> shape_tabular(r, phi, 0.9, terminal)[0, 0].round(4).tolist()
      [-1.0, -10.0]

    References:
      Ng, Harada and Russell (1999). Policy invariance under reward
      transformations: theory and application to reward shaping. ICML.
    """
    gamma = check_shaping_gamma(gamma)
    xp = array_namespace(reward, potential, terminal)
    r = xp.asarray(reward)
    phi = xp.asarray(potential, dtype=r.dtype)
    term = xp.asarray(terminal)
    s = phi.shape[0] if phi.ndim == 1 else -1
    if r.ndim != 3 or r.shape[0] != r.shape[2] or phi.shape != (r.shape[0],):
        raise ConfigError(
            "`reward` must be [S, A, S] and `potential` [S] with the same S; got "
            f"reward shape {tuple(r.shape)} and potential shape {tuple(phi.shape)}."
        )
    if tuple(term.shape) != (s,):
        raise ConfigError(
            f"`terminal` must have shape ({s},); got {tuple(term.shape)}."
        )
    phi = phi * ~term.astype(bool)
    return r + gamma * phi[None, None, :] - phi[:, None, None]
