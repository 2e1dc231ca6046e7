"""Gymnasium adapters for functional JAX environments."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from rewardkit.core._autoreset import AutoReset, parse_autoreset_mode
from rewardkit.core._env import Environment
from rewardkit.core._errors import check_positive_int

__all__ = [
    "JaxToGymnasium",
    "JaxToGymnasiumVector",
    "to_gymnasium",
    "to_gymnasium_vector",
]


def _host(tree: Any) -> Any:
    """One device-to-host transfer, then fresh writable copies (check_env needs it)."""
    # np.array copies each leaf to fresh host memory; jax.device_get first would add
    # an async-copy round trip that cost more than the env step itself.
    return jax.tree.map(lambda x: np.array(x, copy=True), tree)


def _cast(obs: Any, space: gym.Space) -> Any:
    """Host observations in the exact types Gymnasium's checkers expect.

    ``Discrete`` observations become ``np.int64`` scalars (the passive checker warns
    on 0-d arrays); arrays take the space's dtype; ``Dict``/``Tuple`` recurse.
    """
    if isinstance(space, gym.spaces.Discrete):
        return np.int64(obs)
    if isinstance(space, gym.spaces.Dict):
        return {k: _cast(obs[k], sub) for k, sub in space.spaces.items()}
    if isinstance(space, gym.spaces.Tuple):
        return tuple(_cast(o, sub) for o, sub in zip(obs, space.spaces, strict=True))
    dtype = getattr(space, "dtype", None)
    if dtype is not None and isinstance(obs, np.ndarray) and obs.dtype != dtype:
        return obs.astype(dtype)
    return obs


def _scalarize(info: dict[str, Any]) -> dict[str, Any]:
    """0-d info leaves become Python scalars; arrays stay fresh NumPy arrays."""
    out = {}
    for k, v in info.items():
        if isinstance(v, dict):
            out[k] = _scalarize(v)
        elif isinstance(v, np.ndarray) and v.ndim == 0:
            out[k] = v.item()
        else:
            out[k] = v
    return out


class JaxToGymnasium(gym.Env):
    """A functional JAX env as a single ``gymnasium.Env`` (no autoreset).

    Built by :func:`to_gymnasium`. ``reset`` and ``step`` are jitted once; the JAX
    key comes from ``self.np_random``, so ``reset(seed=...)`` reproduces episodes.
    The JAX state is exposed read-only as ``unwrapped.state``, so Gymnasium-side
    shaping can lift the same JAX ``Potential``.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 - Gymnasium's convention

    def __init__(self, env: Environment, params: Any = None):
        if not isinstance(env, Environment):
            raise TypeError(
                f"`env` must be a rewardkit functional Environment; got {type(env).__name__}."
            )
        self.jax_env = env
        self.params = env.default_params() if params is None else params
        self.observation_space = env.observation_space(self.params)
        self.action_space = env.action_space(self.params)
        self._state: Any = None
        # Each step's key is fresh key data drawn from self.np_random on the host:
        # splitting a key inside the jitted step cost ~70 µs per call on a 2-core CPU
        # (more than the step itself), a host draw about 1 µs.
        self._key_shape = jax.random.key_data(jax.random.key(0)).shape

        def reset(key_data, params):
            return env.reset(jax.random.wrap_key_data(key_data), params)

        def step(key_data, state, action, params):
            key = jax.random.wrap_key_data(key_data)
            obs, state, reward, term, trunc, info = env.step(key, state, action, params)
            # One host transfer for reward and both flags instead of three.
            reward = jnp.asarray(reward)
            scalars = jnp.stack(
                [reward, term.astype(reward.dtype), trunc.astype(reward.dtype)]
            )
            return obs, state, scalars, info

        self._reset = jax.jit(reset)
        self._step = jax.jit(step)

    def _key_data(self) -> np.ndarray:
        return self.np_random.integers(0, 2**32, self._key_shape, dtype=np.uint32)

    @property
    def state(self) -> Any:
        """The current JAX state (read-only; ``None`` before the first reset)."""
        return self._state

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Resets; the JAX key is drawn from ``self.np_random``."""
        del options  # no reset options
        super().reset(seed=seed)
        obs, self._state = self._reset(self._key_data(), self.params)
        return _cast(_host(obs), self.observation_space), {}

    def step(self, action: Any):
        """Steps; returns NumPy observations and Python ``float``/``bool``."""
        if self._state is None:
            raise gym.error.ResetNeeded("Call `reset()` before `step()`.")
        obs, self._state, scalars, info = self._step(
            self._key_data(), self._state, action, self.params
        )
        reward, terminated, truncated = np.asarray(scalars).tolist()
        obs = _cast(_host(obs), self.observation_space)
        info = _scalarize(_host(info)) if info else {}
        return obs, reward, bool(terminated), bool(truncated), info

    def __repr__(self) -> str:
        return f"to_gymnasium({self.jax_env!r})"


def to_gymnasium(env: Environment, params: Any = None) -> JaxToGymnasium:
    """Wraps a functional JAX env as a single ``gymnasium.Env`` (no autoreset).

    Args:
      env: a rewardkit functional environment.
      params: its parameters; ``env.default_params()`` if None.

    Returns:
      A ``gymnasium.Env`` whose ``step`` returns fresh NumPy arrays and Python
      ``float``/``bool``, as ``check_env`` requires.

    Example:
      >>> from rewardkit.envs import GridWorld
      >>> env = to_gymnasium(GridWorld("S.G"))
      >>> obs, info = env.reset(seed=0)
      >>> env.step(1)[1:4]
      (0.0, False, False)
    """
    return JaxToGymnasium(env, params)


class JaxToGymnasiumVector(gym.vector.VectorEnv):
    """A functional JAX env as a ``gymnasium.vector.VectorEnv``; see :func:`to_gymnasium_vector`."""

    def __init__(
        self, env: Environment, params: Any, num_envs: int, *, autoreset_mode: Any
    ):
        mode = parse_autoreset_mode(autoreset_mode)
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.jax_env = env
        self.params = env.default_params() if params is None else params
        self.metadata = {"autoreset_mode": mode, "render_modes": []}
        self.single_observation_space = env.observation_space(self.params)
        self.single_action_space = env.action_space(self.params)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.autoreset_mode = mode
        wrapped = AutoReset(env, mode=mode)
        self._env = wrapped
        n = self.num_envs

        def reset(key, params):
            key, *subs = jax.random.split(key, n + 1)
            obs, state = jax.vmap(wrapped.reset, (0, None))(jnp.stack(subs), params)
            return key, obs, state

        def step(key, state, action, params):
            key, *subs = jax.random.split(key, n + 1)
            out = jax.vmap(wrapped.step, (0, 0, 0, None))(
                jnp.stack(subs), state, action, params
            )
            return (key, *out)

        self._reset = jax.jit(reset)
        self._step = jax.jit(step)
        self._state: Any = None
        self._key: Any = None

    @property
    def state(self) -> Any:
        """The batched JAX state of the ``AutoReset``-wrapped env (read-only)."""
        return self._state

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Resets every sub-env; the JAX key comes from ``self.np_random``."""
        del options
        super().reset(seed=seed)
        key = jax.random.key(int(self.np_random.integers(0, 2**31 - 1)))
        self._key, obs, self._state = self._reset(key, self.params)
        return _cast(_host(obs), self.observation_space), {}

    def step(self, actions: Any):
        """Steps every sub-env; infos are dicts of arrays with ``_key`` masks."""
        if self._state is None:
            raise gym.error.ResetNeeded("Call `reset()` before `step()`.")
        self._key, obs, self._state, reward, terminated, truncated, info = self._step(
            self._key, self._state, jnp.asarray(actions), self.params
        )
        obs, reward, terminated, truncated, info = _host(
            (obs, reward, terminated, truncated, info)
        )
        obs = _cast(obs, self.observation_space)
        final_obs = info.pop("final_obs")
        infos = self._batch_info(info)
        done = terminated | truncated
        if self.autoreset_mode is AutoresetMode.SAME_STEP and done.any():
            infos["final_obs"] = np.empty(self.num_envs, dtype=object)
            for i in np.flatnonzero(done):
                infos["final_obs"][i] = jax.tree.map(lambda x, i=i: x[i], final_obs)
            infos["_final_obs"] = done.copy()
            infos["final_info"] = self._batch_info(info, mask=done)
            infos["_final_info"] = done.copy()
        return obs, reward.astype(np.float32), terminated, truncated, infos

    def _batch_info(self, info: dict[str, Any], mask: np.ndarray | None = None):
        mask = np.ones(self.num_envs, bool) if mask is None else mask
        out: dict[str, Any] = {}
        for k, v in info.items():
            out[k] = self._batch_info(v, mask) if isinstance(v, dict) else v
            out[f"_{k}"] = mask.copy()
        return out

    def __repr__(self) -> str:
        return (
            f"to_gymnasium_vector({self.jax_env!r}, num_envs={self.num_envs}, "
            f"autoreset_mode={self.autoreset_mode.value!r})"
        )


def to_gymnasium_vector(
    env: Environment, params: Any = None, num_envs: int = 1, *, autoreset_mode: Any
) -> JaxToGymnasiumVector:
    """Wraps a functional JAX env as a ``gymnasium.vector.VectorEnv``.

    The sub-envs run as one ``jit(vmap(AutoReset(env, mode=autoreset_mode)))``.
    ``autoreset_mode`` is required (``"SameStep"`` or ``"NextStep"``); in same-step
    mode ``infos["final_obs"]``/``infos["final_info"]`` are laid out as
    ``SyncVectorEnv`` lays them out.

    Args:
      env: a rewardkit functional environment.
      params: its parameters; ``env.default_params()`` if None.
      num_envs: the number of sub-environments.
      autoreset_mode: ``AutoresetMode.SAME_STEP``/``NEXT_STEP`` or their strings.

    Example:
      >>> from rewardkit.envs import GridWorld
      >>> venv = to_gymnasium_vector(GridWorld("S.G"), None, 4, autoreset_mode="NextStep")
      >>> obs, info = venv.reset(seed=0)
      >>> venv.step(np.ones(4, np.int64))[1].tolist()
      [0.0, 0.0, 0.0, 0.0]
    """
    return JaxToGymnasiumVector(env, params, num_envs, autoreset_mode=autoreset_mode)
