"""Stable-Baselines3 integration: a ``VecEnvWrapper`` and a rollout-end callback.

Install with ``pip install "rewardkit[sb3]"``. This module imports without
Stable-Baselines3; its classes then raise an ``ImportError`` that names the extra.

Two ways to train an SB3 learner with a bonus, both on :class:`AddIntrinsicReward`
(SB3's vector-env API, so SB3's own vectorisers, monitors and image transposes
compose with it):

* **Per step** (``compute_every="step"``, the default): each ``step_wait`` scores
  the vector step with one jitted ``compute`` and returns r + rⁱ
  (``reward_mode="sum"``); every ``update_every`` steps (set it to the learner's
  ``n_steps``) the bonus trains. Works with any SB3 algorithm.
* **Per rollout** (``compute_every="rollout", update_every=None``) plus
  :class:`IntrinsicRewardCallback`, for on-policy algorithms (PPO, A2C): steps
  return the extrinsic reward and only buffer the transitions; at the rollout's
  end the callback has the wrapper score the whole rollout in one jitted call,
  adds the bonuses to ``rollout_buffer.rewards``, **recomputes** returns and
  advantages from the stored values, the last values and the last dones, and
  lets the wrapper run ``bonus.update``. One device call per rollout instead of
  one per step.

Both paths keep the bookkeeping of the Gymnasium front-ends (one shared
``Runner``): the final observation of an episode is SB3's
``info["terminal_observation"]``, ``info["TimeLimit.truncated"]`` separates
truncation from termination, and ``info`` keeps the reward-key contract
(``extrinsic_reward``, ``f"{name}_reward"``, ``f"{name}_reward_raw"``,
``warming_up``, and at a rollout's end ``f"{name}_metrics"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardkit.core import EXTRINSIC_REWARD, ConfigError, check_term_name, term_key
from rewardkit.intrinsic._base import IntrinsicBonus
from rewardkit.intrinsic._runner import Runner, RunnerControls, check_frontend_args

__all__ = ["AddIntrinsicReward", "IntrinsicRewardCallback"]

INSTALL = (
    "rewardkit.intrinsic.integrations.sb3 needs Stable-Baselines3: pip install "
    '"rewardkit[sb3]"'
)

try:
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
    from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

    _IMPORT_ERROR: ImportError | None = None
except ImportError as err:  # the optional extra is not installed
    _IMPORT_ERROR = err

    class _MissingBase:
        """Stand-in base class while Stable-Baselines3 is missing."""

        def __init__(self, *args: Any, **kwargs: Any):
            del args, kwargs  # never used: constructing raises
            _require_sb3()

    BaseCallback = VecEnvWrapper = _MissingBase  # type: ignore[assignment,misc]
    OnPolicyAlgorithm = VecEnv = _MissingBase  # type: ignore[assignment,misc]


def _require_sb3() -> None:
    if _IMPORT_ERROR is not None:
        raise ImportError(INSTALL) from _IMPORT_ERROR


class AddIntrinsicReward(RunnerControls, VecEnvWrapper):
    """Adds an intrinsic bonus to a Stable-Baselines3 ``VecEnv``.

    The twin of :class:`rewardkit.intrinsic.vector.AddIntrinsicReward` for SB3's
    vector-env API (``step_async``/``step_wait``, ``reset()`` without a seed,
    ``infos`` as a list of dicts): same keywords, same shared ``Runner``, same
    ``info`` keys with scalar values per env. SB3 resets a finished env inside
    ``step``: the transition is scored on ``info["terminal_observation"]`` and
    the returned observation seeds episodic memory, as Gymnasium's ``SameStep``
    mode. ``info["TimeLimit.truncated"]`` marks truncations. The bonus key is
    drawn from the seed given to :meth:`seed` (SB3's ``seed=`` argument does
    this) at the first :meth:`reset`.

    Args:
      venv: the SB3 vector env (its ``num_envs`` must equal the bonus's).
      bonus: an :class:`~rewardkit.intrinsic.IntrinsicBonus`.
      reward_mode: ``"sum"`` returns r + rⁱ; ``"extrinsic"`` returns r.
      compute_every: ``"step"`` or ``"rollout"`` (steps return r; the bonuses
        come at the rollout's end, for :class:`IntrinsicRewardCallback`).
      update_every: steps per rollout (the learner's ``n_steps``); ``None``
        leaves :meth:`update` to the caller (the callback).
      name: the term's name (``info[f"{name}_reward"]``).

    Raises:
      ImportError: Stable-Baselines3 is not installed.

    Example:
      >>> import pytest; _ = pytest.importorskip("stable_baselines3")  # the extra
      >>> import rewardkit as rk
      >>> from stable_baselines3.common.env_util import make_vec_env
      >>> bonus = rk.intrinsic.rnd(num_envs=2, latent_dim=4, hidden=8,
      ...     warmup_transitions=0)
      >>> venv = AddIntrinsicReward(make_vec_env("CartPole-v1", n_envs=2), bonus,
      ...     update_every=4)
      >>> _ = venv.seed(0)
      >>> obs = venv.reset()
      >>> obs, rewards, dones, infos = venv.step(np.array([0, 1]))
      >>> sorted(k for k in infos[0] if k.endswith(("reward", "raw")))
      ['extrinsic_reward', 'intrinsic_reward', 'intrinsic_reward_raw']
      >>> venv.close()
    """

    reward_name: str
    keeps_base = True

    def __init__(
        self,
        venv: Any,
        bonus: IntrinsicBonus,
        *,
        reward_mode: str = "sum",
        compute_every: str = "step",
        update_every: int | None = 128,
        name: str = "intrinsic",
    ):
        _require_sb3()
        if not isinstance(venv, VecEnv):
            raise TypeError(
                "`venv` must be a stable_baselines3 VecEnv (e.g. make_vec_env(...)); "
                f"got {type(venv).__name__}. Use rk.intrinsic.vector.AddIntrinsicReward "
                "for Gymnasium vector envs."
            )
        check_frontend_args(bonus, reward_mode, compute_every, update_every)
        check_term_name(venv, name)
        VecEnvWrapper.__init__(self, venv)
        self.reward_name = name
        self.reward_mode = reward_mode
        self.compute_every = compute_every
        self.update_every = update_every
        self._runner = Runner(bonus, compute_every, update_every)
        self._runner.check_num_envs(venv.num_envs, "sb3.AddIntrinsicReward")
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None
        self._seed: int | None = None

    def seed(self, seed: int | None = None) -> Any:
        """Seeds the envs' next reset and the bonus key (drawn at the first reset)."""
        self._seed = seed
        return self.venv.seed(seed)

    def reset(self) -> Any:
        """Resets every env; the first reset initialises the bonus state."""
        obs = self.venv.reset()
        if self._runner.state is None:
            self._runner.start(
                int(np.random.default_rng(self._seed).integers(2**31)),
                self.observation_space,
                self.action_space,
            )
        self._runner.reset_envs(np.ones(self.num_envs, bool), obs)
        self._obs = np.array(obs, copy=True)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Sends the actions to the envs."""
        self._actions = np.array(actions, copy=True)
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        """Waits for the step; scores (or buffers) it and reports the bonus."""
        if self._obs is None:
            raise RuntimeError("call reset() before step().")
        obs, rewards, dones, infos = self.venv.step_wait()
        dones = np.asarray(dones, bool)
        truncated = np.array(
            [bool(info.get("TimeLimit.truncated", False)) for info in infos]
        )
        next_obs = np.array(obs, copy=True)
        for i in np.flatnonzero(dones):
            if infos[i].get("terminal_observation") is not None:
                next_obs[i] = infos[i]["terminal_observation"]
        out = self._runner.step(
            {
                "obs": self._obs,
                "action": self._actions,
                "reward": np.asarray(rewards, np.float32),
                "next_obs": next_obs,
                "terminated": dones & ~truncated,
                "truncated": dones & truncated,
                "valid": np.ones(self.num_envs, bool),
            }
        )
        self._obs = np.array(obs, copy=True)
        new_infos = []
        for i, info in enumerate(infos):
            info = dict(info)
            info.setdefault(EXTRINSIC_REWARD, float(rewards[i]))
            info[term_key(self.reward_name)] = float(out["bonus"][i])
            info[f"{self.reward_name}_reward_raw"] = float(out["raw"][i])
            info["warming_up"] = out["warming_up"]
            if "rollout_bonus" in out:
                info[f"{self.reward_name}_rollout_bonus"] = out["rollout_bonus"][i]
            if "metrics" in out:
                info[f"{self.reward_name}_metrics"] = out["metrics"]
            new_infos.append(info)
        if self.adds_term:
            rewards = np.asarray(rewards, np.float32) + out["bonus"]
        return obs, rewards, dones, new_infos


def _find_wrapper(venv: Any) -> AddIntrinsicReward:
    """The :class:`AddIntrinsicReward` in a chain of SB3 vec-env wrappers."""
    found, node = [], venv
    while node is not None:
        if isinstance(node, AddIntrinsicReward):
            found.append(node)
        node = node.__dict__.get("venv")  # not VecEnvWrapper's attribute forwarding
    if len(found) != 1:
        raise ConfigError(
            "IntrinsicRewardCallback needs exactly one "
            "rk.intrinsic.integrations.sb3.AddIntrinsicReward in the learner's env "
            f"stack; found {len(found)}."
        )
    return found[0]


class IntrinsicRewardCallback(BaseCallback):
    """Adds a rollout's bonuses to an on-policy learner's buffer, then re-runs GAE.

    Use with :class:`AddIntrinsicReward` built with ``compute_every="rollout"``
    and ``update_every=None`` (it finds the wrapper in the learner's env stack).
    At each rollout's end, after SB3 has computed returns and advantages from
    the extrinsic rewards, it has the wrapper score the rollout with one jitted
    ``compute`` (the bonus of ``(s_t, a_t, s_{t+1})`` with the true final
    observation at episode ends), adds those bonuses — already scaled by the
    bonus's own β_t; the callback has no coefficient — to
    ``rollout_buffer.rewards`` (``[n_steps, n_envs]``, where SB3 has already
    bootstrapped truncations with γV(final obs)), recomputes returns and
    advantages with ``rollout_buffer.compute_returns_and_advantage`` from the
    rollout's last values and dones, and runs ``bonus.update`` (unless the
    wrapper is frozen). It logs the bonus metrics and ``mean_bonus`` under
    ``f"{name}/"`` (``name`` of the wrapper).

    One value head learns from r + rⁱ here (SB3's PPO); for the separate
    intrinsic value head of spec §4 use ``rk.agents.ppo``.

    Args:
      verbose: SB3's verbosity level.

    Attributes:
      wrapper: the :class:`AddIntrinsicReward` found at the start of ``learn``.
      last_metrics: the last rollout's bonus metrics and ``mean_bonus`` (``None``
        before the first rollout ends; only ``mean_bonus`` while frozen).

    Raises:
      ImportError: Stable-Baselines3 is not installed.
      ConfigError: (at the start of ``learn``) the learner is not on-policy, or
        its env has no suitable :class:`AddIntrinsicReward`.

    Example:
      >>> import pytest; _ = pytest.importorskip("stable_baselines3")  # the extra
      >>> import rewardkit as rk
      >>> from stable_baselines3 import PPO
      >>> from stable_baselines3.common.env_util import make_vec_env
      >>> bonus = rk.intrinsic.rnd(num_envs=2, latent_dim=4, hidden=8,
      ...     warmup_transitions=0)
      >>> venv = AddIntrinsicReward(make_vec_env("CartPole-v1", n_envs=2), bonus,
      ...     compute_every="rollout", update_every=None)
      >>> model = PPO("MlpPolicy", venv, n_steps=8, batch_size=16, n_epochs=1,
      ...     seed=0)
      >>> _ = model.learn(32, callback=IntrinsicRewardCallback())
      >>> int(venv.bonus_state.update_count), venv.last_bonus.shape
      (2, (8, 2))
    """

    def __init__(self, verbose: int = 0):
        _require_sb3()
        super().__init__(verbose)
        self.wrapper: AddIntrinsicReward | None = None
        self.last_metrics: dict[str, float] | None = None

    def _init_callback(self) -> None:
        if not isinstance(self.model, OnPolicyAlgorithm):
            raise ConfigError(
                "IntrinsicRewardCallback rewrites an on-policy rollout buffer (PPO, "
                f"A2C); got {type(self.model).__name__}. For other learners use "
                'AddIntrinsicReward with compute_every="step".'
            )
        wrapper = _find_wrapper(self.training_env)
        if wrapper.compute_every != "rollout" or wrapper.update_every is not None:
            raise ConfigError(
                "IntrinsicRewardCallback needs AddIntrinsicReward(..., "
                'compute_every="rollout", update_every=None); got compute_every='
                f"{wrapper.compute_every!r}, update_every={wrapper.update_every!r}."
            )
        self.wrapper = wrapper

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        wrapper = self.wrapper
        buffer = self.model.rollout_buffer
        metrics = wrapper.update()  # one jitted compute of the rollout, then update
        bonus = wrapper.last_bonus
        if bonus is None or bonus.shape != buffer.rewards.shape:
            got = None if bonus is None else bonus.shape
            raise RuntimeError(
                f"the wrapper buffered bonuses of shape {got} for a rollout buffer of "
                f"shape {buffer.rewards.shape}: every learner step must go through "
                "AddIntrinsicReward, and nothing else may call its update()."
            )
        buffer.rewards += bonus
        buffer.compute_returns_and_advantage(
            last_values=self.locals["values"], dones=self.locals["dones"]
        )
        self.last_metrics = {**(metrics or {}), "mean_bonus": float(np.mean(bonus))}
        for key, value in self.last_metrics.items():
            self.logger.record(f"{wrapper.reward_name}/{key}", value)
