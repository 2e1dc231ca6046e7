"""The Gymnasium single-env shaping front-end (host NumPy path)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import jax
import numpy as np

from rewardkit.core import (
    EXTRINSIC_REWARD,
    JaxToGymnasium,
    check_term_name,
    term_key,
)
from rewardkit.shaping._catalogue import check_discrete
from rewardkit.shaping._potential import evaluate, potential_kind
from rewardkit.shaping._shaper import shaper

__all__ = ["PotentialShaping"]


class PotentialShaping(gym.Wrapper, gym.utils.RecordConstructorArgs):
    r"""Potential-based shaping of a Gymnasium env: ``r + γΦ̃(s') − Φ(s)``.

    The potential is an ``EnvPotential`` ``(env) -> float`` that reads
    ``env.unwrapped`` (it is handed the unwrapped env; e.g.
    :func:`rewardkit.shaping.minigrid.bfs_to_goal`), optionally with an
    ``on_reset(env)`` hook run after every reset. On a rewardkit JAX env adapted
    with :func:`rewardkit.core.to_gymnasium`, a JAX ``Potential``
    ``(state, params) -> float32[]`` is lifted through ``env.unwrapped.state``
    (jitted once). The shaping arithmetic is the same pure :func:`shaper` the
    functional and vector front-ends use, run here on NumPy scalars: no JAX
    dispatch per step.

    Terminal rule: Φ̃(s') = 0 on ``terminated`` (also with ``truncated``), Φ(s') on
    ``truncated`` alone with ``truncation="bootstrap"`` (default), 0 with
    ``"zero"``. Φ(s_0) is cached at every ``reset``, so no term crosses an
    episode boundary. Put ``RecordEpisodeStatistics`` inside this wrapper to log
    the unshaped return, ``NormalizeReward`` outside.

    ``info`` gains ``extrinsic_reward`` (if absent), ``f"{name}_reward"`` (F) and
    ``f"{name}_potential"`` (Φ used for ``s'``).

    Args:
      env: the Gymnasium env.
      potential: an ``EnvPotential`` (or a JAX ``Potential`` on ``to_gymnasium`` envs).
      gamma: the learner's discount in [0, 1].
      truncation: ``"bootstrap"`` or ``"zero"``.
      name: the term's name.
      advice: optional advice ``EnvPotential`` ``(env) -> float32[|A|]``, published
        as ``info[f"{name}_advice"]`` (Discrete actions only).

    Raises:
      ConfigError: bad ``gamma``, ``truncation`` or a duplicate ``name``.
      TypeError: a non-callable potential, a state potential on an env that is
        not a rewardkit JAX adapter, advice on non-Discrete actions.

    Example:
      >>> import gymnasium as gym
      >>> import minigrid  # registers the MiniGrid ids
      >>> from rewardkit.shaping import minigrid as mg
      >>> env = PotentialShaping(gym.make("MiniGrid-Empty-5x5-v0"), mg.bfs_to_goal(), 0.9)
      >>> obs, info = env.reset(seed=0)
      >>> obs, r, term, trunc, info = env.step(2)  # forward, one cell closer
      >>> round(r, 4), round(info["shaping_potential"], 4)
      (1.3, -3.0)
    """

    reward_name = "shaping"
    keeps_base = True
    adds_term = True

    def __init__(
        self,
        env: gym.Env,
        potential: Any,
        gamma: float,
        truncation: str = "bootstrap",
        name: str = "shaping",
        *,
        advice: Any = None,
    ):
        gym.utils.RecordConstructorArgs.__init__(
            self,
            potential=potential,
            gamma=gamma,
            truncation=truncation,
            name=name,
            advice=advice,
        )
        gym.Wrapper.__init__(self, env)
        self.shaper = shaper(gamma, truncation=truncation)
        self._shaper_step = self.shaper.step  # bound once: one lookup less per step
        self.gamma, self.truncation = self.shaper.gamma, truncation
        self.reward_name = check_term_name(env, name)
        self.name = name
        self.potential = potential
        self._keys = (term_key(name), f"{name}_potential", f"{name}_advice")
        self._on_reset_hooks: list[Any] = []
        # Host callables `fn(arg)`; for an EnvPotential, the potential itself and the
        # unwrapped env (one call frame per step).
        self._phi, self._phi_arg = self._host_potential(potential, "potential")
        self._advice = None
        if advice is not None:
            check_discrete(env.action_space)
            self._advice, self._advice_arg = self._host_potential(advice, "advice")
        self._state: Any = None

    def _host_potential(self, potential: Any, arg: str) -> Any:
        kind = potential_kind(potential)
        base = self.env.unwrapped
        on_reset = getattr(potential, "on_reset", None)
        if callable(on_reset):
            self._on_reset_hooks.append(on_reset)
        if kind == "env":
            return potential, base
        if kind == "state" and isinstance(base, JaxToGymnasium):
            timed = bool(getattr(potential, "time_indexed", False))
            fn = jax.jit(lambda s, p, t: evaluate(potential, s, p, t))

            def lifted(b: JaxToGymnasium) -> np.ndarray:
                t = self._state_t() if timed else 0
                return np.asarray(fn(b.state, b.params, t))

            return lifted, base
        raise TypeError(
            f"`{arg}` must be an EnvPotential (env) -> float for a Gymnasium env; got "
            f"a {kind!r} potential {potential!r} on {type(base).__name__}. State "
            "potentials (state, params) work on rk.core.to_gymnasium envs; use "
            "rk.shaping.vector.PotentialShaping for observation potentials."
        )

    def _state_t(self) -> Any:
        return np.int32(0) if self._state is None else self._state.t + 1

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Resets the env, runs ``on_reset`` hooks and caches ``Φ(s_0)``."""
        obs, info = self.env.reset(seed=seed, options=options)
        base = self.env.unwrapped
        for hook in self._on_reset_hooks:
            hook(base)
        self._state = None
        self._state = self.shaper.init(np.float32(self._phi(self._phi_arg)))
        return obs, info

    def step(self, action: Any):
        """Steps the env and adds ``F``; reward ``float``, flags ``bool``."""
        state = self._state
        if state is None:
            raise gym.error.ResetNeeded("Call `reset()` before `step()`.")
        obs, reward, terminated, truncated, info = self.env.step(action)
        terminated, truncated = bool(terminated), bool(truncated)
        phi = self._phi(self._phi_arg)
        if type(phi) is not np.float32:  # cast at the boundary (§4.7)
            phi = np.float32(phi)
        f, phi_used, self._state = self._shaper_step(state, phi, terminated, truncated)
        f, reward = float(f), float(reward)
        key_f, key_phi, key_advice = self._keys
        # A fresh dict (never mutate the inner info); an inner extrinsic_reward wins.
        info = {EXTRINSIC_REWARD: reward, **info, key_f: f, key_phi: float(phi_used)}
        if self._advice is not None:
            info[key_advice] = np.asarray(self._advice(self._advice_arg), np.float32)
        return obs, reward + f, terminated, truncated, info

    def __repr__(self) -> str:
        return (
            f"<PotentialShaping{self.env}, potential={self.potential!r}, "
            f"gamma={self.gamma}, truncation={self.truncation!r}, name={self.name!r}>"
        )
