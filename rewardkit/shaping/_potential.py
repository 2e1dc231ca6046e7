"""Potentials: callables with declared metadata, and how front-ends evaluate them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from rewardkit.core import check_callable

__all__ = [
    "PotentialFn",
    "check_state_potential",
    "evaluate",
    "from_callable",
    "potential_kind",
    "time_indexed",
]

_KINDS = ("state", "env", "obs")


class PotentialFn:
    """A potential: a callable plus what the front-ends need to know about it.

    ``kind`` says what it reads: ``"state"`` — a JAX ``Potential``
    ``(state, params) -> float32[]`` (``(state, params, t)`` when ``time_indexed``),
    for the functional front-end and, lifted through ``unwrapped.state``, for
    Gymnasium adapters of rewardkit JAX envs; ``"env"`` — an ``EnvPotential``
    ``(env) -> float`` reading ``env.unwrapped``, with an optional ``on_reset(env)``
    hook; ``"obs"`` — an ``ObsPotential`` ``(obs_batch) -> float32[N]``. ``advice``
    marks state–action potentials returning ``float32[|A|]``.

    Args:
      fn: the function.
      kind: ``"state"``, ``"env"`` or ``"obs"``.
      time_indexed: the function also takes the arrival time ``t`` (int32).
      advice: the function returns ``Φ(s, ·)`` over Discrete actions.
      on_reset: optional ``(env) -> None`` hook, called after every reset.
      name: a short description for ``repr``.

    Example:
      >>> phi = PotentialFn(lambda state, params: -state, name="neg")
      >>> phi(3.0, None), phi.kind, phi
      (-3.0, 'state', neg)
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        kind: str = "state",
        time_indexed: bool = False,
        advice: bool = False,
        on_reset: Callable[[Any], None] | None = None,
        name: str | None = None,
    ):
        self.fn = check_callable("potential", fn)
        if kind not in _KINDS:
            raise ValueError(f"`kind` must be one of {_KINDS}; got {kind!r}.")
        self.kind = kind
        self.time_indexed = bool(time_indexed)
        self.advice = bool(advice)
        if on_reset is not None:
            self.on_reset = check_callable("on_reset", on_reset)
        self.name = name or getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, *args: Any) -> Any:
        """Evaluates the potential."""
        return self.fn(*args)

    def __repr__(self) -> str:
        return self.name


def _positional_arity(fn: Callable[..., Any]) -> int | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    n = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
    return n


def potential_kind(potential: Any) -> str:
    """What a potential reads: ``"state"``, ``"env"`` or ``"obs"``.

    A :class:`PotentialFn` (or any object with a ``kind`` attribute) declares it; a
    plain callable that takes exactly one positional argument is an
    ``EnvPotential`` (or ``ObsPotential``); one that can take two,
    ``(state, params)`` (``params`` may default), is a state ``Potential``.

    Raises:
      TypeError: if ``potential`` is not callable.

    Example:
      >>> potential_kind(lambda env: 0.0), potential_kind(lambda s, p=None: 0.0)
      ('env', 'state')
    """
    check_callable("potential", potential)
    kind = getattr(potential, "kind", None)
    if kind in _KINDS:
        return kind
    return "env" if _positional_arity(potential) == 1 else "state"


def evaluate(potential: Any, state: Any, params: Any, t: Any) -> Any:
    """Evaluates a state potential, passing ``t`` only to time-indexed ones.

    Example:
      >>> evaluate(time_indexed(lambda s, t: s * t), 2.0, None, 3)
      6.0
    """
    if getattr(potential, "time_indexed", False):
        return potential(state, params, t)
    return potential(state, params)


def check_state_potential(
    potential: Any,
    env: Any,
    params: Any = None,
    *,
    shape: tuple[int, ...] = (),
    arg: str = "potential",
) -> Any:
    """Checks a state potential once with ``jax.eval_shape`` on ``env``'s reset state.

    Args:
      potential: ``(state, params) -> float32[*shape]`` (time-indexed ones get t).
      env: a functional env (or wrapper stack) whose reset state it reads.
      params: the env's params; ``env.default_params()`` if None.
      shape: the expected output shape (``()``; ``(|A|,)`` for advice).
      arg: the argument name for messages.

    Returns:
      The output's ``jax.ShapeDtypeStruct``.

    Raises:
      TypeError: naming ``arg``, the expected and the received shape and dtype.

    Example:
      >>> from rewardkit.envs import GridWorld
      >>> check_state_potential(lambda s, p: s.pos * 1.0, GridWorld("S.G")).shape
      ()
    """
    params = env.default_params() if params is None else params
    state = jax.eval_shape(lambda k: env.reset(k, params)[1], jax.random.key(0))
    try:
        spec = jax.eval_shape(
            lambda s: evaluate(potential, s, params, jnp.zeros((), jnp.int32)), state
        )
    except TypeError as e:
        raise TypeError(f"`{arg}` failed on the env's state: {e}") from e
    ok = (
        isinstance(spec, jax.ShapeDtypeStruct)
        and spec.shape == shape
        and (
            jnp.issubdtype(spec.dtype, jnp.floating)
            or jnp.issubdtype(spec.dtype, jnp.integer)
        )
    )
    if not ok:
        got = (
            f"shape {spec.shape} dtype {spec.dtype}"
            if isinstance(spec, jax.ShapeDtypeStruct)
            else f"{type(spec).__name__} {spec!r}"
        )
        raise TypeError(
            f"`{arg}` must return a float32 array of shape {shape} for the env's "
            f"state; got {got}."
        )
    return spec


def from_callable(
    fn: Callable[..., Any],
    *,
    env: Any = None,
    params: Any = None,
    name: str | None = None,
) -> PotentialFn:
    """Any pure JAX function ``fn(state, params) -> float32[]`` as a potential.

    Validated once with ``jax.eval_shape`` on the reset state: here if ``env`` is
    given, else by the functional front-end when it is wrapped (a ``TypeError``
    names the expected and received shape and dtype). Read the base state at any
    stack depth with ``rk.core.find_state``.

    Args:
      fn: ``(state, params) -> float32[]``.
      env: optional functional env to validate against now.
      params: its params; ``env.default_params()`` if None.
      name: optional description for ``repr``.

    Raises:
      TypeError: if ``fn`` is not callable, or returns the wrong shape or dtype.

    Example:
      >>> phi = from_callable(lambda state, params: state * 2.0)
      >>> phi(1.5, None)
      3.0
    """
    phi = PotentialFn(fn, kind="state", name=name)
    if env is not None:
        check_state_potential(phi, env, params)
    return phi


def time_indexed(
    fn: Callable[[Any, Any], Any], *, name: str | None = None
) -> PotentialFn:
    """A dynamic potential ``Φ(s, t) = fn(state, t)``, t the arrival time (int32).

    The shaper subtracts the value cached on arrival (dynamic PBRS, Devlin and
    Kudenko 2012), so the telescoping identity holds; Q-initialisation equivalence
    does not (Wiewiora 2003 covers static potentials only).

    Args:
      fn: ``(state, t) -> float32[]``.
      name: optional description for ``repr``.

    Example:
      >>> phi = time_indexed(lambda state, t: state - 0.5 * t)
      >>> phi(1.0, None, 2), phi.time_indexed
      (0.0, True)
    """
    check_callable("fn", fn)
    return PotentialFn(
        lambda state, params, t: fn(state, t),
        kind="state",
        time_indexed=True,
        name=name or f"time_indexed({getattr(fn, '__name__', 'fn')})",
    )
