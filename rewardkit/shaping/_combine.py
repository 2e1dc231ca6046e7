"""Combinators over potentials: ``scaled``, ``offset`` and ``sum``."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from rewardkit.core import ConfigError, check_callable
from rewardkit.shaping._potential import PotentialFn, potential_kind

__all__ = ["offset", "scaled", "sum"]


def _meta(potentials: tuple[Any, ...]) -> dict[str, Any]:
    kinds = {potential_kind(p) for p in potentials}
    if len(kinds) != 1:
        raise ConfigError(
            f"cannot combine potentials of different kinds {sorted(kinds)}; every "
            "term must read the same thing (state, env or obs)."
        )
    timed = [bool(getattr(p, "time_indexed", False)) for p in potentials]
    advice = {bool(getattr(p, "advice", False)) for p in potentials}
    if len(advice) != 1:
        raise ConfigError("cannot combine state potentials with state-action advice.")
    hooks = [p.on_reset for p in potentials if callable(getattr(p, "on_reset", None))]
    meta: dict[str, Any] = {
        "kind": kinds.pop(),
        "time_indexed": any(timed),
        "advice": advice.pop(),
    }
    if hooks:

        def on_reset(env: Any) -> None:
            for hook in hooks:
                hook(env)

        meta["on_reset"] = on_reset
    return meta


def _caller(p: Any, timed: bool) -> Any:
    # In a time-indexed sum, plain members do not receive t.
    if timed and not getattr(p, "time_indexed", False):
        return lambda *args: p(*args[:-1])
    return p


def scaled(potential: Any, k: float) -> PotentialFn:
    """``kΦ``: a potential scaled by a constant.

    Example:
      >>> float(scaled(lambda s, p: s, 3.0)(2.0, None))
      6.0
    """
    check_callable("potential", potential)
    k32 = np.float32(k)
    meta = _meta((potential,))
    return PotentialFn(
        lambda *args: k32 * potential(*args), name=f"scaled({potential!r}, {k})", **meta
    )


def offset(potential: Any, c: float) -> PotentialFn:
    """``Φ + c``. Not a no-op: with tabular learners it shifts ``Q0`` by c.

    Wiewiora (2003): shaping with Φ is initialising Q with Φ, so ``Φ + c`` is an
    optimistic (c > 0) or pessimistic (c < 0) shift of the initial values; the
    terminal rule (Φ(terminal) = 0) also makes reaching a terminal worth −c more.

    Example:
      >>> float(offset(lambda s, p: s, 30.0)(-5.0, None))
      25.0
    """
    check_callable("potential", potential)
    c32 = np.float32(c)
    meta = _meta((potential,))
    return PotentialFn(
        lambda *args: potential(*args) + c32, name=f"offset({potential!r}, {c})", **meta
    )


def sum(*potentials: Any) -> PotentialFn:
    """``Σ_i Φ_i``: each term reads its own state (e.g. ``Φ_env(s) + Φ_machine(u)``).

    Time-indexed members get ``t``, the others do not; ``on_reset`` hooks all run.

    Raises:
      ConfigError: for no potentials, or members of different kinds.

    Example:
      >>> from rewardkit.shaping import sum as psum
      >>> float(psum(lambda s, p: s, lambda s, p: 2 * s)(1.0, None))
      3.0
    """
    if not potentials:
        raise ConfigError("`sum` needs at least one potential.")
    for p in potentials:
        check_callable("potentials", p)
    meta = _meta(potentials)
    calls = [_caller(p, meta["time_indexed"]) for p in potentials]

    def phi(*args: Any) -> Any:
        return builtins.sum((c(*args) for c in calls[1:]), calls[0](*args))

    names = ", ".join(map(repr, potentials))
    return PotentialFn(phi, name=f"sum({names})", **meta)
