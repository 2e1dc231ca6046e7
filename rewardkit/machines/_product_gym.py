"""The product of a Gymnasium env and task machines, stepped on the host (NumPy)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rewardkit.core import ConfigError, check_choice, check_term_name
from rewardkit.machines._counterfactual import counterfactual_transitions
from rewardkit.machines._labeling import LabelFilter, labels_to_mask
from rewardkit.machines._tasks_table import TaskMachines, compile_tasks

__all__ = ["ProductEnv"]


def _jax_inner(env: gym.Env) -> Any:
    """The rewardkit functional env behind ``rk.core.to_gymnasium``, if any."""
    return getattr(env.unwrapped, "jax_env", None)


class ProductEnv(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The product MDP of a Gymnasium env and reward machines, on the host path.

    After each inner step the labeler's propositions become a uint32 label (bit
    i ⇔ ``propositions[i]``) and the compiled machines step on NumPy copies of
    their tables (:meth:`TaskMachines.step`: one lookup and two gathers, no JAX
    dispatch). ``terminated`` adds acceptance and rejection; ``truncated`` passes
    through. Observations are ``{"env": inner obs, "machine": flat (task, state)
    index}``, a ``Dict`` space with ``Discrete(U)``.

    Tasks: ``task_selection="round_robin"`` (the reference code) cycles through
    the task machines episode by episode, ``"uniform"`` draws from
    ``self.np_random``; ``reset(options={"task": k})`` fixes one.

    ``info`` keeps the reward-key contract: ``extrinsic_reward`` (set if absent),
    ``f"{name}_reward"``, and diagnostics ``label``, ``machine_state``,
    ``accepted``, ``rejected`` (and ``crm`` with ``crm=True``: the counterfactual
    ``Transition`` over every u, NumPy, unshaped). ``reward_mode="machine"``
    returns the machine reward alone (``keeps_base = False``), ``"sum"`` adds it
    to the inner reward.

    Args:
      env: the Gymnasium env.
      machine: a ``RewardMachine``, a hierarchy (run flattened), a sequence of
        them, or a compiled :class:`TaskMachines` (in the labeler's bit order).
      labeler: ``(env, obs, action, next_obs, info) -> frozenset[str]`` with a
        ``propositions`` attribute (e.g. :class:`MiniGridLabeler`); None for
        rewardkit envs adapted by ``rk.core.to_gymnasium`` (their ``labels``).
      reward_mode: ``"machine"`` or ``"sum"``.
      name: the reward term's name.
      label_filter: an optional :class:`LabelFilter`.
      label_domain: the labels the env emits (a ``LabelDomain``).
      task_selection: ``"round_robin"`` or ``"uniform"``.
      crm: put counterfactual transitions in ``info["crm"]``.

    Example:
      >>> import minigrid
      >>> from rewardkit.machines import MiniGridLabeler, RewardMachine
      >>> rm = RewardMachine.from_edges([("u0", "acc", "on_goal", 1.0)],
      ...     initial="u0", accepting=["acc"])
      >>> env = ProductEnv(gym.make("MiniGrid-Empty-5x5-v0"), rm,
      ...     MiniGridLabeler(("on_goal",)))
      >>> obs, info = env.reset(seed=0)
      >>> int(obs["machine"]), env.observation_space["machine"]
      (0, Discrete(2))
      >>> for a in (2, 2, 1, 2, 2):  # forward, forward, turn right, forward x2
      ...     obs, r, term, trunc, info = env.step(a)
      >>> r, term, info["accepted"], info["extrinsic_reward"] > 0
      (1.0, True, True, True)
    """

    def __init__(
        self,
        env: gym.Env,
        machine: Any,
        labeler: Any = None,
        *,
        reward_mode: str = "machine",
        name: str = "machine",
        label_filter: LabelFilter | None = None,
        label_domain: Any = None,
        task_selection: str = "round_robin",
        crm: bool = False,
    ):
        gym.utils.RecordConstructorArgs.__init__(
            self,
            machine=machine,
            labeler=labeler,
            reward_mode=reward_mode,
            name=name,
            label_filter=label_filter,
            label_domain=label_domain,
            task_selection=task_selection,
            crm=crm,
        )
        gym.Wrapper.__init__(self, env)
        self.reward_mode = check_choice("reward_mode", reward_mode, ("machine", "sum"))
        self.name = check_term_name(env, name)
        self.reward_name = self.name
        self._term_key = f"{self.name}_reward"
        self.keeps_base = self.reward_mode == "sum"
        self.task_selection = check_choice(
            "task_selection", task_selection, ("round_robin", "uniform")
        )
        if label_filter is not None and not isinstance(label_filter, LabelFilter):
            raise TypeError(
                f"`label_filter` must be a LabelFilter or None; got {label_filter!r}."
            )
        self.label_filter = label_filter
        self.crm = bool(crm)
        self.labeler = labeler
        self._jax_env = None
        if labeler is not None:
            if not callable(labeler):
                raise TypeError(f"`labeler` must be callable; got {labeler!r}.")
            props = tuple(getattr(labeler, "propositions", ()))
            if not props:
                raise ConfigError(
                    "`labeler` needs a non-empty `propositions` attribute (the names "
                    f"it may return, in bit order); {labeler!r} has none."
                )
        else:
            self._jax_env = _jax_inner(env)
            props = tuple(getattr(self._jax_env, "propositions", ()) or ())
            if not props:
                raise ConfigError(
                    "`labeler` is required: the env is not a rewardkit env with "
                    "propositions (rk.core.to_gymnasium of a labelled env)."
                )
        self.propositions = tuple(str(p) for p in props)
        if isinstance(machine, TaskMachines):
            table = machine
        else:
            table = compile_tasks(machine, self.propositions, label_domain=label_domain)
        self.machines = table.as_numpy()
        self._masks: dict[frozenset, np.uint32] = {}
        cell_label = getattr(self._jax_env, "cell_label", None)
        self._cell_label = None if cell_label is None else np.asarray(cell_label)
        self.observation_space = gym.spaces.Dict(
            {
                "env": env.observation_space,
                "machine": gym.spaces.Discrete(self.machines.num_states),
            }
        )
        self._episodes = 0
        self._u = np.int32(0)
        self._label = np.uint32(0)
        self._obs: Any = None

    @property
    def machine_state(self) -> int:
        """The current flat (task, state) index u."""
        return int(self._u)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Resets the inner env and starts a task's machine (no label is read)."""
        obs, info = self.env.reset(seed=seed, options=options)
        tm = self.machines
        task = None if options is None else options.get("task")
        if task is None:
            if self.task_selection == "uniform":
                task = int(self.np_random.integers(tm.num_tasks))
            else:
                task = self._episodes % tm.num_tasks
        if not 0 <= int(task) < tm.num_tasks:
            raise ConfigError(
                f"`options['task']` must lie in [0, {tm.num_tasks}); got {task!r}."
            )
        self._episodes += 1
        self._u = tm.initial[int(task)]
        self._label = np.uint32(0)
        self._obs = obs
        return {"env": obs, "machine": np.int64(self._u)}, info

    def _raw_label(self, obs: Any, action: Any, next_obs: Any, info: Any) -> np.uint32:
        if self.labeler is not None:
            names = self.labeler(self.env, obs, action, next_obs, info)
            mask = self._masks.get(names)
            if mask is None:
                mask = labels_to_mask(names, self.propositions)
                self._masks[frozenset(names)] = mask
            return mask
        state = self.env.unwrapped.state
        pos = getattr(state, "pos", None)
        if self._cell_label is not None and pos is not None:
            return np.uint32(self._cell_label[int(pos)])
        params = self.env.unwrapped.params
        return np.uint32(self._jax_env.labels(state, params))

    def step(self, action: Any):
        """Steps the inner env, then the machine on the host."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        label = self._raw_label(self._obs, action, obs, info)
        u, r_m, acc, rej = self.machines.step(self._u, label)
        if self.label_filter is not None and not self.label_filter.passes(
            label, self._label
        ):
            u, r_m, acc, rej = self._u, 0.0, False, False
        r_m = float(r_m)
        acc, rej = bool(acc), bool(rej)
        new_info = {
            "extrinsic_reward": float(reward),
            **info,
            self._term_key: r_m,
            "label": int(label),
            "machine_state": int(u),
            "accepted": acc,
            "rejected": rej,
        }
        if self.crm:
            new_info["crm"] = counterfactual_transitions(
                self.machines, self._obs, action, obs, label, terminated, truncated
            )
        terminated = bool(terminated) or acc or rej
        truncated = bool(truncated) and not terminated
        self._u, self._label, self._obs = u, label, obs
        total = r_m + float(reward) if self.reward_mode == "sum" else r_m
        return (
            {"env": obs, "machine": np.int64(u)},
            total,
            terminated,
            truncated,
            new_info,
        )
