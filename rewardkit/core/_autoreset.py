"""``AutoReset``: the outermost functional wrapper, same-step or next-step."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from gymnasium.vector import AutoresetMode

from rewardkit.core._env import Environment, EnvWrapper
from rewardkit.core._errors import ConfigError

__all__ = ["AutoReset", "AutoResetState", "parse_autoreset_mode"]


def parse_autoreset_mode(mode: Any, *, allow_disabled: bool = False) -> AutoresetMode:
    """Parses an ``AutoresetMode`` member or its string value.

    Raises:
      ConfigError: for a missing or unknown mode, or ``DISABLED`` where not allowed.

    Example:
      >>> parse_autoreset_mode("SameStep")
      <AutoresetMode.SAME_STEP: 'SameStep'>
    """
    try:
        parsed = AutoresetMode(mode)
    except ValueError:
        raise ConfigError(
            "`mode` must be a gymnasium.vector.AutoresetMode or one of "
            f"'SameStep', 'NextStep'; got {mode!r}."
        ) from None
    if parsed is AutoresetMode.DISABLED and not allow_disabled:
        raise ConfigError(
            "`mode` AutoresetMode.DISABLED is not an autoreset: an env without "
            "AutoReset already behaves so. Use 'SameStep' or 'NextStep'."
        )
    return parsed


class AutoResetState(NamedTuple):
    """State of :class:`AutoReset`.

    Attributes:
      inner: the wrapped env's state.
      needs_reset: ``[]`` bool; next-step mode: the last step ended an episode.
    """

    inner: Any
    needs_reset: jax.Array


def _select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


class AutoReset(EnvWrapper):
    """Resets the wrapped env when an episode ends; always the outermost wrapper.

    ``mode`` is required and takes Gymnasium's vocabulary:

    * ``"SameStep"`` (gymnax, PureJaxRL): the step that ends an episode returns its
      real reward and flags but the *reset* observation and state;
      ``info["final_obs"]`` holds the real last observation (it equals ``obs`` on
      other steps). Learners bootstrap truncations from ``V(info["final_obs"])``.
    * ``"NextStep"`` (NAVIX, xland-minigrid): the ending step returns the real
      observation; the following step ignores its action and returns the reset
      observation with reward 0, both flags False, every info leaf zero and
      ``info["reset_step"] = True``. Learners mask it: ``valid = ~reset_step``.

    ``info["reset_step"]`` and ``info["final_obs"]`` exist in both modes. Wrappers
    inside see true episode boundaries, so no shaping term crosses a reset.

    Args:
      env: the functional env to wrap.
      mode: ``AutoresetMode.SAME_STEP``/``NEXT_STEP`` or ``"SameStep"``/``"NextStep"``.

    Example:
      >>> from rewardkit.envs import GridWorld
      >>> env = AutoReset(GridWorld("S.G"), mode="SameStep")
      >>> params = env.default_params()
      >>> obs, state = env.reset(jax.random.key(0), params)
      >>> out = env.step(jax.random.key(1), state, 1, params)
      >>> sorted(k for k in out[5] if k in ("final_obs", "reset_step"))
      ['final_obs', 'reset_step']
    """

    def __init__(self, env: Environment, *, mode: Any):
        super().__init__(env)
        self.mode = parse_autoreset_mode(mode)

    def reset(self, key: jax.Array, params: Any) -> tuple[Any, AutoResetState]:
        """Resets the inner env."""
        obs, inner = self.env.reset(key, params)
        return obs, AutoResetState(inner, jnp.zeros((), bool))

    def step(self, key, state: AutoResetState, action, params):
        """Steps the inner env, resetting it as the mode says."""
        k_step, k_reset = jax.random.split(key)
        obs, inner, reward, terminated, truncated, info = self.env.step(
            k_step, state.inner, action, params
        )
        reset_obs, reset_inner = self.env.reset(k_reset, params)
        done = jnp.logical_or(terminated, truncated)
        if self.mode is AutoresetMode.SAME_STEP:
            info = {**info, "final_obs": obs, "reset_step": jnp.zeros((), bool)}
            new_obs = _select(done, reset_obs, obs)
            new_inner = _select(done, reset_inner, inner)
            new_state = AutoResetState(new_inner, jnp.zeros((), bool))
            return new_obs, new_state, reward, terminated, truncated, info
        # NEXT_STEP: a pending reset replaces this step by a pseudo-step.
        pending = state.needs_reset
        info = {**info, "final_obs": obs, "reset_step": jnp.zeros((), bool)}
        zero_info = jax.tree.map(jnp.zeros_like, info)
        zero_info = {**zero_info, "final_obs": reset_obs, "reset_step": pending}
        new_obs = _select(pending, reset_obs, obs)
        new_inner = _select(pending, reset_inner, inner)
        out_info = _select(pending, zero_info, info)
        reward = jnp.where(pending, jnp.zeros_like(reward), reward)
        terminated = jnp.logical_and(~pending, terminated)
        truncated = jnp.logical_and(~pending, truncated)
        needs_reset = jnp.logical_and(~pending, done)
        return (
            new_obs,
            AutoResetState(new_inner, needs_reset),
            reward,
            terminated,
            truncated,
            out_info,
        )

    def __repr__(self) -> str:
        return f"AutoReset({self.env!r}, mode={self.mode.value!r})"
