"""The functional environment protocol, wrapper nesting and potential kinds."""

from __future__ import annotations

import abc
from typing import Any, Protocol

import gymnasium as gym
import jax

__all__ = [
    "EnvPotential",
    "EnvWrapper",
    "Environment",
    "ObsPotential",
    "Potential",
    "find_state",
]


class Potential(Protocol):
    """``(state, params) -> float32[]`` (advice: ``float32[|A|]``), pure JAX.

    The functional shaping front-end's potential; it reads the base or machine
    state at any stack depth with :func:`find_state`.
    """

    def __call__(self, state: Any, params: Any) -> jax.Array:
        """Φ of a state."""
        ...


class ObsPotential(Protocol):
    """``(obs_batch) -> float32[N]``: the vector shaping front-end's potential."""

    def __call__(self, obs: Any) -> Any:
        """Φ of a batch of observations."""
        ...


class EnvPotential(Protocol):
    """``(env) -> float`` reading ``env.unwrapped``, for single Gymnasium envs.

    It may define ``on_reset(env)``, called after every reset (e.g. to recompute
    a BFS table for a layout drawn at reset).
    """

    def __call__(self, env: gym.Env) -> float:
        """Φ of the env's current state."""
        ...


class Environment(abc.ABC):
    """Base of rewardkit's functional (gymnax-like) environments.

    Environments hold no episode state: ``reset`` and ``step`` are pure functions
    of a key, a state pytree, an action and a params pytree, usable under ``jit``
    and ``vmap``. Flags are split: ``terminated`` (a terminal state was reached)
    and ``truncated`` (the episode was cut from outside, e.g. a time limit; base
    envs report ``(t >= max_steps) & ~terminated``). Base envs never autoreset:
    :class:`rewardkit.core.AutoReset` does, outermost. Rewards are float32, flags
    bool, integers int32, and ``info`` has the same structure on every step.

    Small envs may also provide ``propositions`` (bit i of every label is
    ``propositions[i]``), ``labels(state, params) -> uint32`` and
    ``tabular_model(params) -> TabularModel``.
    """

    propositions: tuple[str, ...] = ()

    @abc.abstractmethod
    def default_params(self) -> Any:
        """The default environment parameters (a pytree)."""

    @abc.abstractmethod
    def reset(self, key: jax.Array, params: Any) -> tuple[Any, Any]:
        """``(key, params) -> (obs, state)``."""

    @abc.abstractmethod
    def step(
        self, key: jax.Array, state: Any, action: Any, params: Any
    ) -> tuple[Any, Any, jax.Array, jax.Array, jax.Array, dict[str, Any]]:
        """``-> (obs, state, reward, terminated, truncated, info)``."""

    @abc.abstractmethod
    def observation_space(self, params: Any) -> gym.Space:
        """The observation space (host-side, static)."""

    @abc.abstractmethod
    def action_space(self, params: Any) -> gym.Space:
        """The action space (host-side, static)."""

    @property
    def unwrapped(self) -> Environment:
        """The innermost environment."""
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class EnvWrapper(Environment):
    """Base of functional wrappers: holds ``.env`` and forwards what it keeps.

    A wrapper's state is a NamedTuple with field ``inner`` (the inner state) beside
    its own leaves; :func:`find_state` follows ``inner`` links. Wrappers without
    parameters of their own pass ``params`` through unchanged. Reward wrappers set
    ``reward_name`` (their term is ``info[f"{reward_name}_reward"]``),
    ``keeps_base`` and ``adds_term`` (the ``info`` reward-key contract).
    """

    reward_name: str | None = None
    keeps_base: bool = True
    adds_term: bool = True

    def __init__(self, env: Environment):
        if not isinstance(env, Environment):
            raise TypeError(
                f"`env` must be a rewardkit functional Environment; got "
                f"{type(env).__name__}. Wrap Gymnasium envs with the Gymnasium "
                "front-ends instead."
            )
        self.env = env

    @property
    def propositions(self) -> tuple[str, ...]:  # type: ignore[override]
        """The inner environment's propositions."""
        return self.env.propositions

    def default_params(self) -> Any:
        """The inner environment's default parameters."""
        return self.env.default_params()

    def reset(self, key: jax.Array, params: Any) -> tuple[Any, Any]:
        """Resets the inner environment."""
        return self.env.reset(key, params)

    def step(self, key, state, action, params):
        """Steps the inner environment."""
        return self.env.step(key, state, action, params)

    def observation_space(self, params: Any) -> gym.Space:
        """The inner environment's observation space."""
        return self.env.observation_space(params)

    def action_space(self, params: Any) -> gym.Space:
        """The inner environment's action space."""
        return self.env.action_space(params)

    @property
    def unwrapped(self) -> Environment:
        """The innermost environment."""
        return self.env.unwrapped

    def __getattr__(self, name: str) -> Any:
        # Forward read-only helpers (labels, tabular_model, layout facts...) that the
        # wrapper does not redefine. Private names are never forwarded.
        if name.startswith("_") or name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.env!r})"


def find_state(state: Any, state_type: type | tuple[type, ...]) -> Any:
    """Finds the first state of ``state_type`` by following ``inner`` links.

    Potentials use it to read the base or machine state at any stack depth.

    Raises:
      LookupError: naming the type and the chain of states searched.

    Example:
      >>> from typing import NamedTuple
      >>> class Base(NamedTuple):
      ...     pos: int
      >>> class Outer(NamedTuple):
      ...     inner: Base
      ...     t: int
      >>> find_state(Outer(Base(3), 0), Base).pos
      3
    """
    seen = []
    node = state
    while True:
        if isinstance(node, state_type):
            return node
        seen.append(type(node).__name__)
        if not hasattr(node, "inner"):
            break
        node = node.inner
    names = getattr(state_type, "__name__", str(state_type))
    raise LookupError(
        f"no state of type {names} in the stack; searched {' -> '.join(seen)}."
    )
