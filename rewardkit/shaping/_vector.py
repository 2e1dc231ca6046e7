"""The Gymnasium vector shaping front-end, correct in every autoreset mode."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium.vector import AutoresetMode

from rewardkit.core import (
    EXTRINSIC_REWARD,
    ConfigError,
    RewardkitWarning,
    check_callable,
    check_term_name,
    term_key,
)
from rewardkit.shaping._shaper import ShapingState, shaper

__all__ = ["PotentialShaping"]


def _autoreset_mode(env: gym.vector.VectorEnv) -> AutoresetMode:
    mode = env.metadata.get("autoreset_mode")
    if mode is None:
        warnings.warn(
            f"{type(env).__name__}.metadata has no 'autoreset_mode'; assuming "
            "AutoresetMode.NEXT_STEP (Gymnasium's default).",
            RewardkitWarning,
            stacklevel=3,
        )
        return AutoresetMode.NEXT_STEP
    try:
        return AutoresetMode(mode)
    except ValueError:
        raise ConfigError(
            "the vector env's metadata['autoreset_mode'] must be an AutoresetMode "
            f"('NextStep', 'SameStep' or 'Disabled'); got {mode!r}."
        ) from None


def _with_final_obs(obs: Any, final_obs: Any, mask: np.ndarray) -> Any:
    """The batch of true next observations: ``final_obs[i]`` where ``mask[i]``."""
    leaves, treedef = jax.tree.flatten(obs)
    leaves = [np.array(x, copy=True) for x in leaves]
    for i in np.flatnonzero(mask):
        for leaf, value in zip(leaves, jax.tree.leaves(final_obs[i]), strict=True):
            leaf[i] = value
    return jax.tree.unflatten(treedef, leaves)


class PotentialShaping(gym.vector.VectorWrapper):
    r"""Potential-based shaping of a vector env from an observation potential.

    For vector envs without per-env wrappers (``vector_entry_point`` envs,
    :func:`rewardkit.core.to_gymnasium_vector`). Where sub-envs are Gymnasium envs,
    prefer the single-env :class:`rewardkit.shaping.PotentialShaping` per sub-env
    (``gym.make_vec(..., wrappers=[...])``), correct by construction.

    The potential is an ``ObsPotential`` ``(obs_batch) -> float32[N]``, a pure
    JAX (or array-API) function of the batched observations, jitted with the
    shaper's ``step`` into one call per vector step. Every autoreset mode is
    handled (``metadata["autoreset_mode"]``; missing: a warning and
    ``NEXT_STEP``):

    * ``NEXT_STEP``: at the reset step after an episode end, F = 0 and Φ(obs) is
      re-cached;
    * ``SAME_STEP``: F uses Φ(``infos["final_obs"][i]``) (0 if terminated), then
      Φ(obs) of the new episode is cached;
    * ``DISABLED``: ``reset(options={"reset_mask": m})`` re-caches Φ for the
      masked sub-envs only.

    Args:
      env: the vector env.
      potential: ``(obs_batch) -> float32[N]``.
      gamma: the learner's discount in [0, 1].
      truncation: ``"bootstrap"`` or ``"zero"``.
      name: the term's name.

    Raises:
      ConfigError: bad ``gamma``, ``truncation``, duplicate ``name``, or an unknown
        autoreset mode.
      TypeError: a non-callable potential, or one whose output is not ``[N]``.

    Example:
      >>> import numpy as np
      >>> from rewardkit.core import to_gymnasium_vector
      >>> from rewardkit.envs import GridWorld
      >>> venv = to_gymnasium_vector(GridWorld("S..G"), None, 2, autoreset_mode="NextStep")
      >>> env = PotentialShaping(venv, lambda obs: obs.astype(np.float32), 0.9)
      >>> _ = env.reset(seed=0)
      >>> obs, r, term, trunc, info = env.step(np.array([1, 3]))
      >>> [round(float(x), 4) for x in r], [round(float(x), 4) for x in info["shaping_reward"]]
      ([0.9, 0.0], [0.9, 0.0])
    """

    reward_name = "shaping"
    keeps_base = True
    adds_term = True

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        potential: Any,
        gamma: float,
        truncation: str = "bootstrap",
        name: str = "shaping",
    ):
        super().__init__(env)
        check_callable("potential", potential)
        self.shaper = shaper(gamma, truncation=truncation)
        self.gamma, self.truncation = self.shaper.gamma, truncation
        self.reward_name = check_term_name(env, name)
        self.name = name
        self.potential = potential
        self.autoreset_mode = _autoreset_mode(env)
        self._same_step = self.autoreset_mode is AutoresetMode.SAME_STEP
        self._keys = (term_key(name), f"{name}_potential")
        n = self.num_envs
        shp = self.shaper

        def phi(obs: Any) -> jax.Array:
            out = jnp.asarray(potential(obs))
            if out.shape != (n,):
                raise TypeError(
                    f"`potential` must return an array of shape ({n},) for a batch "
                    f"of {n} observations; got shape {out.shape}."
                )
            return out.astype(jnp.float32)

        def reset_state(state, obs, mask):
            fresh = shp.init(phi(obs))
            return jax.tree.map(lambda a, b: jnp.where(mask, a, b), fresh, state)

        def step(state, next_obs, obs, terminated, truncated, pending, ended):
            f, phi_used, new = shp.step(state, phi(next_obs), terminated, truncated)
            restart = pending | ended
            fresh = shp.init(phi(obs) if self._same_step else new.phi_prev)
            new = jax.tree.map(lambda a, b: jnp.where(restart, a, b), fresh, new)
            f = jnp.where(pending, 0.0, f)
            phi_used = jnp.where(pending, 0.0, phi_used)
            return f, phi_used, new

        self._reset_state = jax.jit(reset_state)
        self._init_state = jax.jit(lambda obs: shp.init(phi(obs)))
        self._step = jax.jit(step)
        self._state: ShapingState | None = None
        self._pending = np.zeros(n, bool)

    def reset(self, *, seed: Any = None, options: dict | None = None):
        """Resets; re-caches Φ for all sub-envs, or the ``reset_mask`` ones."""
        mask = None if options is None else options.get("reset_mask")
        mask = None if mask is None else np.array(mask, bool, copy=True)
        obs, info = self.env.reset(seed=seed, options=options)
        if mask is None or self._state is None:
            try:
                self._state = self._init_state(obs)
            except TypeError as e:
                raise TypeError(
                    f"`potential` failed on the batched observations under jax.jit: "
                    f"{e} An ObsPotential must be a jittable function of array "
                    "observations; for envs with text or object observations (MiniGrid) "
                    "wrap each sub-env with rk.shaping.PotentialShaping instead."
                ) from e
            self._pending = np.zeros(self.num_envs, bool)
        else:
            self._state = self._reset_state(self._state, obs, mask)
            self._pending = self._pending & ~mask
        return obs, info

    def step(self, actions: Any):
        """Steps every sub-env and adds F, never across an episode boundary."""
        if self._state is None:
            raise gym.error.ResetNeeded("Call `reset()` before `step()`.")
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        terminated = np.asarray(terminated, bool)
        truncated = np.asarray(truncated, bool)
        ended = np.zeros(self.num_envs, bool)
        next_obs = obs
        if self._same_step:
            ended = terminated | truncated
            if ended.any():
                next_obs = _with_final_obs(obs, infos["final_obs"], ended)
        pending = self._pending
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            self._pending = (terminated | truncated) & ~pending
        f, phi_used, self._state = self._step(
            self._state, next_obs, obs, terminated, truncated, pending, ended
        )
        f, phi_used = np.asarray(f), np.asarray(phi_used)
        rewards = np.asarray(rewards)
        infos = dict(infos)
        every = np.ones(self.num_envs, bool)
        if EXTRINSIC_REWARD not in infos:
            infos[EXTRINSIC_REWARD] = rewards.copy()
            infos[f"_{EXTRINSIC_REWARD}"] = every
        key_f, key_phi = self._keys
        infos[key_f], infos[f"_{key_f}"] = f.copy(), every.copy()
        infos[key_phi], infos[f"_{key_phi}"] = phi_used.copy(), every.copy()
        shaped = (rewards + f).astype(np.result_type(rewards.dtype, np.float32))
        return obs, shaped, terminated, truncated, infos

    def __repr__(self) -> str:
        return (
            f"<PotentialShaping{self.env}, gamma={self.gamma}, "
            f"truncation={self.truncation!r}, name={self.name!r}, "
            f"autoreset_mode={self.autoreset_mode.value!r}>"
        )
