"""``rk.intrinsic.vector.AddIntrinsicReward``: a bonus on a Gymnasium vector env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper

from rewardkit.core import EXTRINSIC_REWARD, check_term_name, term_key
from rewardkit.intrinsic._base import IntrinsicBonus
from rewardkit.intrinsic._runner import Runner, RunnerControls, check_frontend_args

__all__ = ["AddIntrinsicReward"]


def _put(info: dict[str, Any], key: str, value: Any, n: int) -> None:
    info[key] = value
    info[f"_{key}"] = np.ones(n, bool)


class AddIntrinsicReward(
    RunnerControls, VectorWrapper, gym.utils.RecordConstructorArgs
):
    """Adds an intrinsic bonus to a ``gymnasium.vector.VectorEnv``.

    The bonus runs in JAX (jitted once here); this wrapper only converts at the
    boundary, keeps the rollout buffer and calls ``update`` every ``update_every``
    steps (or when the caller calls :meth:`update`). Every auto-reset mode is
    honoured: ``NextStep`` steps after a done are reset pseudo-steps (``valid``
    False, bonus 0, excluded from ``update``); ``SameStep`` scores
    ``info["final_obs"]``; ``Disabled`` re-seeds episodic memory on the caller's
    ``reset(options={"reset_mask": ...})``.

    ``info`` keeps the reward-key contract: ``extrinsic_reward`` (set if absent),
    ``f"{name}_reward"`` (the bonus), ``f"{name}_reward_raw"`` and
    ``warming_up`` (diagnostics), each with its Gymnasium ``_`` mask; at a
    rollout's end ``f"{name}_metrics"`` and, with ``compute_every="rollout"``,
    ``f"{name}_rollout_bonus"`` (``[N, T]``, also :attr:`last_bonus` as ``[T, N]``).

    Args:
      envs: the vector env (its ``num_envs`` must equal the bonus's).
      bonus: an :class:`~rewardkit.intrinsic.IntrinsicBonus`.
      reward_mode: ``"sum"`` returns r + rⁱ; ``"extrinsic"`` returns r (bonus only
        in ``info``).
      compute_every: ``"step"`` (one jitted ``compute`` per step) or
        ``"rollout"`` (one per rollout; ``step`` returns the extrinsic reward).
      update_every: steps per rollout; ``None`` leaves :meth:`update` to the caller.
      name: the term's name (``info[f"{name}_reward"]``); unique in the stack.

    Example:
      >>> import rewardkit as rk
      >>> envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
      >>> bonus = rk.intrinsic.rnd(num_envs=2, latent_dim=4, hidden=8,
      ...     warmup_transitions=0)
      >>> envs = AddIntrinsicReward(envs, bonus, update_every=4)
      >>> obs, _ = envs.reset(seed=0)
      >>> obs, r, term, trunc, info = envs.step(np.array([0, 1]))
      >>> info["intrinsic_reward"].shape, "extrinsic_reward" in info
      ((2,), True)
      >>> envs.close()
    """

    reward_name: str
    keeps_base = True

    def __init__(
        self,
        envs: VectorEnv,
        bonus: IntrinsicBonus,
        *,
        reward_mode: str = "sum",
        compute_every: str = "step",
        update_every: int | None = 128,
        name: str = "intrinsic",
    ):
        if not isinstance(envs, VectorEnv):
            raise TypeError(
                "`envs` must be a gymnasium.vector.VectorEnv; got "
                f"{type(envs).__name__}. Use rk.intrinsic.AddIntrinsicReward for a "
                "single env."
            )
        check_frontend_args(bonus, reward_mode, compute_every, update_every)
        check_term_name(envs, name)
        gym.utils.RecordConstructorArgs.__init__(
            self,
            bonus=bonus,
            reward_mode=reward_mode,
            compute_every=compute_every,
            update_every=update_every,
            name=name,
        )
        VectorWrapper.__init__(self, envs)
        self.reward_name = name
        self.reward_mode = reward_mode
        self.compute_every = compute_every
        self.update_every = update_every
        self.autoreset_mode = AutoresetMode(
            envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        )
        self._runner = Runner(bonus, compute_every, update_every)
        self._runner.check_num_envs(envs.num_envs, "vector.AddIntrinsicReward")
        self._obs: np.ndarray | None = None
        self._prev_done = np.zeros(envs.num_envs, bool)

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None):
        """Resets (all envs, or ``options["reset_mask"]``); seeds episodic memory."""
        n = self.num_envs
        mask = np.ones(n, bool)
        if options and "reset_mask" in options:  # read first: envs may pop it
            mask = np.array(options["reset_mask"], bool)
        obs, info = self.env.reset(seed=seed, options=options)
        if self._runner.state is None:
            self._runner.start(
                int(self._rng(seed).integers(2**31)),
                self.single_observation_space,
                self.single_action_space,
            )
        self._runner.reset_envs(mask, obs)
        self._prev_done = np.where(mask, False, self._prev_done)
        self._obs = np.array(obs, copy=True)
        return obs, info

    def _rng(self, seed: Any) -> np.random.Generator:
        # A vector env's np_random may be a tuple of per-env generators; the bonus
        # key comes from a generator seeded like the env (reset(seed=...)).
        rng = getattr(self.env, "np_random", None)
        if seed is not None or not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(seed)
        return rng

    def step(self, actions: Any):
        """Steps the envs and adds (or reports) the bonus."""
        if self._obs is None:
            raise RuntimeError("call reset() before step().")
        obs, reward, terminated, truncated, info = self.env.step(actions)
        n = self.num_envs
        next_obs = np.array(obs, copy=True)
        valid = np.ones(n, bool)
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            valid = ~self._prev_done
        elif self.autoreset_mode is AutoresetMode.SAME_STEP and "final_obs" in info:
            has = info.get("_final_obs", np.zeros(n, bool))
            for i in np.flatnonzero(has):
                next_obs[i] = info["final_obs"][i]
        step = {
            "obs": self._obs,
            "action": np.asarray(actions),
            "reward": np.asarray(reward, np.float32),
            "next_obs": next_obs,
            "terminated": np.asarray(terminated, bool),
            "truncated": np.asarray(truncated, bool),
            "valid": valid,
        }
        out = self._runner.step(step)
        self._prev_done = np.logical_or(terminated, truncated)
        self._obs = np.array(obs, copy=True)
        info = dict(info)
        if EXTRINSIC_REWARD not in info:
            _put(info, EXTRINSIC_REWARD, np.asarray(reward, np.float64).copy(), n)
        _put(info, term_key(self.reward_name), out["bonus"], n)
        _put(info, f"{self.reward_name}_reward_raw", out["raw"], n)
        _put(info, "warming_up", np.full(n, out["warming_up"]), n)
        if "rollout_bonus" in out:
            _put(info, f"{self.reward_name}_rollout_bonus", out["rollout_bonus"], n)
        if "metrics" in out:
            info[f"{self.reward_name}_metrics"] = out["metrics"]
        if self.adds_term:
            reward = np.asarray(reward) + out["bonus"]
        return obs, reward, terminated, truncated, info
