"""``rk.intrinsic.AddIntrinsicReward``: a bonus on a single Gymnasium env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rewardkit.core import EXTRINSIC_REWARD, check_term_name, term_key
from rewardkit.intrinsic._base import IntrinsicBonus
from rewardkit.intrinsic._runner import Runner, RunnerControls, check_frontend_args

__all__ = ["AddIntrinsicReward"]


class AddIntrinsicReward(RunnerControls, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Adds an intrinsic bonus to one Gymnasium env (the N = 1 case).

    Works with any learner (e.g. SB3 through its own vectoriser). The bonus (built
    with ``num_envs=1``) runs in JAX; episodic memory is re-seeded on every
    ``reset``. Same keywords and ``info`` keys as
    :class:`rewardkit.intrinsic.vector.AddIntrinsicReward`, with scalar values.
    A frozen wrapper (:meth:`freeze`) is deterministic in the episode history,
    so it passes ``gymnasium.utils.env_checker.check_env``.

    Args:
      env: the Gymnasium env.
      bonus: an :class:`~rewardkit.intrinsic.IntrinsicBonus` with ``num_envs=1``.
      reward_mode: ``"sum"`` or ``"extrinsic"``.
      compute_every: ``"step"`` or ``"rollout"``.
      update_every: steps per rollout; ``None`` leaves :meth:`update` to the caller.
      name: the term's name; unique in the stack.

    Example:
      >>> import rewardkit as rk
      >>> bonus = rk.intrinsic.e3b(num_envs=1, latent_dim=4, hidden=8)
      >>> env = AddIntrinsicReward(gym.make("CartPole-v1"), bonus, update_every=8)
      >>> obs, _ = env.reset(seed=0)
      >>> obs, r, term, trunc, info = env.step(0)
      >>> type(info["intrinsic_reward"]).__name__, info["intrinsic_reward_raw"] > 0
      ('float', True)
    """

    reward_name: str
    keeps_base = True

    def __init__(
        self,
        env: gym.Env,
        bonus: IntrinsicBonus,
        *,
        reward_mode: str = "sum",
        compute_every: str = "step",
        update_every: int | None = 128,
        name: str = "intrinsic",
    ):
        if not isinstance(env, gym.Env):
            raise TypeError(
                f"`env` must be a gymnasium.Env; got {type(env).__name__}. Use "
                "rk.intrinsic.vector.AddIntrinsicReward for vector envs."
            )
        check_frontend_args(bonus, reward_mode, compute_every, update_every)
        check_term_name(env, name)
        gym.utils.RecordConstructorArgs.__init__(
            self,
            bonus=bonus,
            reward_mode=reward_mode,
            compute_every=compute_every,
            update_every=update_every,
            name=name,
        )
        gym.Wrapper.__init__(self, env)
        self.reward_name = name
        self.reward_mode = reward_mode
        self.compute_every = compute_every
        self.update_every = update_every
        self._runner = Runner(bonus, compute_every, update_every)
        self._runner.check_num_envs(1, "AddIntrinsicReward")
        self._obs: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Resets the env; the first reset initialises the bonus from ``np_random``."""
        obs, info = self.env.reset(seed=seed, options=options)
        if self._runner.state is None:
            self._runner.start(
                int(self.np_random.integers(2**31)),
                self.observation_space,
                self.action_space,
            )
        self._runner.reset_envs(np.ones(1, bool), np.asarray(obs)[None])
        self._obs = np.array(obs, copy=True)
        return obs, info

    def step(self, action: Any):
        """Steps the env and adds (or reports) the bonus."""
        if self._obs is None:
            raise RuntimeError("call reset() before step().")
        obs, reward, terminated, truncated, info = self.env.step(action)
        step = {
            "obs": self._obs[None],
            "action": np.asarray(action)[None],
            "reward": np.asarray([reward], np.float32),
            "next_obs": np.array(obs, copy=True)[None],
            "terminated": np.asarray([terminated], bool),
            "truncated": np.asarray([truncated], bool),
            "valid": np.ones(1, bool),
        }
        out = self._runner.step(step)
        self._obs = np.array(obs, copy=True)
        bonus = float(out["bonus"][0])
        info = dict(info)
        info.setdefault(EXTRINSIC_REWARD, float(reward))
        info[term_key(self.reward_name)] = bonus
        info[f"{self.reward_name}_reward_raw"] = float(out["raw"][0])
        info["warming_up"] = out["warming_up"]
        if "rollout_bonus" in out:
            info[f"{self.reward_name}_rollout_bonus"] = out["rollout_bonus"][0]
        if "metrics" in out:
            info[f"{self.reward_name}_metrics"] = out["metrics"]
        if self.adds_term:
            reward = float(reward) + bonus
        return obs, reward, terminated, truncated, info
