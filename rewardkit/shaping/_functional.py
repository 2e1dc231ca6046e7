"""The functional (JAX env protocol) shaping front-end."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from rewardkit.core import (
    EXTRINSIC_REWARD,
    AutoReset,
    ConfigError,
    Environment,
    EnvWrapper,
    check_term_name,
    term_key,
)
from rewardkit.shaping._catalogue import check_discrete
from rewardkit.shaping._potential import check_state_potential, evaluate, potential_kind
from rewardkit.shaping._shaper import ShapingState, shaper

__all__ = ["PotentialShaping", "ShapedState"]


class ShapedState(NamedTuple):
    """State of the functional :class:`PotentialShaping`.

    Attributes:
      inner: the wrapped env's state, untouched.
      shaping: the shaper's :class:`ShapingState` (``phi_prev`` float32 Φ(s_t)
        cached on arrival, ``t`` int32 arrival time).
    """

    inner: Any
    shaping: ShapingState


def _check_not_autoreset(env: Any) -> None:
    node = env
    while node is not None:
        if isinstance(node, AutoReset):
            raise ConfigError(
                "`env` already contains rk.core.AutoReset: shaping outside it would "
                "shape across episode boundaries. Put PotentialShaping inside: "
                "AutoReset(PotentialShaping(env, ...), mode=...)."
            )
        node = getattr(node, "env", None)


class PotentialShaping(EnvWrapper):
    r"""Potential-based shaping of a functional env: ``r + γΦ̃(s') − Φ(s)``.

    The potential is a JAX ``Potential`` ``(state, params) -> float32[]`` (reading
    the base state with ``rk.core.find_state``), or a time-indexed one from
    :func:`rewardkit.shaping.time_indexed`. It is evaluated on the inner state
    *before* any reset, and cached on arrival. The wrapper MUST sit inside
    :class:`rewardkit.core.AutoReset`, which re-runs this wrapper's ``reset`` at
    each episode start, so no term crosses an episode boundary.

    ``info`` gains ``extrinsic_reward`` (if absent), ``f"{name}_reward"`` (F) and
    ``f"{name}_potential"`` (the Φ used for ``s'``: 0 on termination).

    Args:
      env: the functional env (without ``AutoReset``).
      potential: ``(state, params) -> float32[]``.
      gamma: the learner's discount in [0, 1].
      truncation: ``"bootstrap"`` (default; Φ(s') kept on time-outs) or ``"zero"``.
      name: the term's name (``info[f"{name}_reward"]``).
      advice: optional state–action advice potential ``(state, params) ->
        float32[|A|]``; published as ``info[f"{name}_advice"] = Φ(s', ·)`` for
        look-ahead learners (Discrete actions only).

    Raises:
      ConfigError: bad ``gamma``/``truncation``/``name``, or an inner ``AutoReset``.
      TypeError: a non-callable potential, a potential of the wrong shape or dtype
        (checked once with ``jax.eval_shape``), advice on non-Discrete actions.

    Example:
      >>> import jax
      >>> from rewardkit.core import AutoReset
      >>> from rewardkit.envs import GridWorld
      >>> from rewardkit.shaping import neg_distance
      >>> grid = GridWorld("S..G")
      >>> env = AutoReset(PotentialShaping(grid, neg_distance(grid), 0.9), mode="SameStep")
      >>> params = env.default_params()
      >>> obs, state = env.reset(jax.random.key(0), params)
      >>> obs, state, r, term, trunc, info = env.step(jax.random.key(1), state, 1, params)
      >>> round(float(r), 4), round(float(info["shaping_reward"]), 4)
      (1.2, 1.2)
    """

    reward_name = "shaping"
    keeps_base = True
    adds_term = True

    def __init__(
        self,
        env: Environment,
        potential: Any,
        gamma: float,
        truncation: str = "bootstrap",
        name: str = "shaping",
        *,
        advice: Any = None,
    ):
        super().__init__(env)
        _check_not_autoreset(env)
        if potential_kind(potential) != "state":
            raise TypeError(
                "`potential` must be a state Potential (state, params) -> float32[] for "
                f"the functional front-end; got a {potential_kind(potential)!r} "
                f"potential {potential!r}."
            )
        self.shaper = shaper(gamma, truncation=truncation)
        self.gamma, self.truncation = self.shaper.gamma, truncation
        self.reward_name = check_term_name(env, name)
        self.name = name
        self.potential = potential
        self.advice = advice
        params = env.default_params()
        check_state_potential(potential, env, params)
        if advice is not None:
            n = check_discrete(env.action_space(params))
            check_state_potential(advice, env, params, shape=(n,), arg="advice")

    def _phi(self, inner: Any, params: Any, t: Any) -> jax.Array:
        phi = jnp.asarray(evaluate(self.potential, inner, params, t))
        return (
            phi if jnp.issubdtype(phi.dtype, jnp.floating) else phi.astype(jnp.float32)
        )

    def reset(self, key: jax.Array, params: Any) -> tuple[Any, ShapedState]:
        """Resets the inner env and caches ``Φ(s_0, 0)``."""
        obs, inner = self.env.reset(key, params)
        phi0 = self._phi(inner, params, jnp.zeros((), jnp.int32))
        return obs, ShapedState(inner, self.shaper.init(phi0))

    def step(self, key: jax.Array, state: ShapedState, action: Any, params: Any):
        """Steps the inner env and adds ``F = γΦ̃(s', t+1) − Φ(s, t)``."""
        obs, inner, reward, terminated, truncated, info = self.env.step(
            key, state.inner, action, params
        )
        phi_next = self._phi(inner, params, state.shaping.t + 1)
        f, phi_used, shaping = self.shaper.step(
            state.shaping, phi_next, terminated, truncated
        )
        info = dict(info)
        info.setdefault(EXTRINSIC_REWARD, reward)
        info[term_key(self.name)] = f
        info[f"{self.name}_potential"] = phi_used
        if self.advice is not None:
            info[f"{self.name}_advice"] = jnp.asarray(
                evaluate(self.advice, inner, params, state.shaping.t + 1), jnp.float32
            )
        return obs, ShapedState(inner, shaping), reward + f, terminated, truncated, info

    def __repr__(self) -> str:
        return (
            f"PotentialShaping({self.env!r}, {self.potential!r}, gamma={self.gamma}, "
            f"truncation={self.truncation!r}, name={self.name!r})"
        )
