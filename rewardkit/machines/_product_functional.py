"""The product of a functional env and task machines, as a functional env wrapper."""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp

from rewardkit.core import (
    Environment,
    EnvWrapper,
    check_choice,
    check_term_name,
)
from rewardkit.machines._counterfactual import counterfactual_transitions
from rewardkit.machines._labeling import LabelFilter, LabelFn, default_label_fn
from rewardkit.machines._tasks_table import TaskMachines, compile_tasks

__all__ = ["ProductEnv", "ProductParams", "ProductState"]


class ProductState(NamedTuple):
    """State of the functional :class:`ProductEnv`.

    Attributes:
      inner: the wrapped env's state.
      machine: ``[]`` int32, the flat (task, state) index u.
      label: ``[]`` uint32, the last label (for ``LabelFilter.ignore_repeats``).
      env_obs: the last inner observation (only with ``crm=True``, else None).
    """

    inner: Any
    machine: jax.Array
    label: jax.Array
    env_obs: Any = None


class ProductParams(NamedTuple):
    """Parameters of the functional :class:`ProductEnv`.

    Attributes:
      inner: the wrapped env's params.
      task: ``[]`` int32, the task of the next reset; −1 draws one uniformly.
    """

    inner: Any
    task: jax.Array


class ProductEnv(EnvWrapper):
    r"""The product MDP of a functional env and reward machines (Toro Icarte et al.).

    States ``(s, u)``; after the inner step ``s → s'`` the machine reads the label
    ``σ = label_fn(s, a, s', params)`` and moves ``u' = δ_u(u, σ)``, paying
    ``δ_r(u, σ)``. ``terminated = env terminated ∨ u' accepting ∨ u' rejecting``;
    ``truncated`` passes through (False when terminated). No label is read at reset.

    Observations are ``{"env": inner obs, "machine": int32 u}``, u indexing the
    (task, state) pairs of :attr:`machines` (a :class:`TaskMachines`). With several
    task machines, each reset starts ``params.task`` (−1, the default with several
    tasks: a uniform draw from the reset key).

    ``info`` keeps the reward-key contract: ``extrinsic_reward`` (set if absent),
    the term ``f"{name}_reward"`` (``machine_reward``), diagnostics ``label``,
    ``machine_state``, ``accepted``, ``rejected`` and, with ``crm=True``, ``crm``:
    the counterfactual :class:`rewardkit.core.Transition` of every (task, state)
    pair, leading axis U, rewards unshaped. ``reward_mode="machine"`` returns the
    machine reward alone (``keeps_base = False``); ``"sum"`` adds the inner reward.
    Wrap it in :class:`rewardkit.core.AutoReset`, outermost.

    Args:
      env: the functional env (with ``propositions``).
      machine: a ``RewardMachine``, a ``HierarchicalRewardMachine`` (run
        flattened), a sequence of them (tasks), or a compiled :class:`TaskMachines`.
      label_fn: ``(state, action, next_state, params) -> uint32``; default
        ``env.labels(next_state, params)``.
      reward_mode: ``"machine"`` or ``"sum"``.
      name: the reward term's name.
      label_filter: an optional :class:`LabelFilter`.
      label_domain: the labels the env emits (a ``LabelDomain``), for validation.
      crm: put the counterfactual transitions in ``info["crm"]``.

    Example:
      >>> from rewardkit.envs import OfficeWorld
      >>> from rewardkit.machines.tasks import office_tasks
      >>> env = ProductEnv(OfficeWorld(), office_tasks()[0])
      >>> params = env.default_params()
      >>> obs, state = env.reset(jax.random.key(0), params)
      >>> int(obs["env"]), int(obs["machine"])
      (86, 0)
      >>> out = env.step(jax.random.key(1), state, 0, params)
      >>> float(out[2]), sorted(out[5])[:3]
      (0.0, ['accepted', 'extrinsic_reward', 'label'])
    """

    def __init__(
        self,
        env: Environment,
        machine: Any,
        label_fn: LabelFn | None = None,
        *,
        reward_mode: str = "machine",
        name: str = "machine",
        label_filter: LabelFilter | None = None,
        label_domain: Any = None,
        crm: bool = False,
    ):
        super().__init__(env)
        self.reward_mode = check_choice("reward_mode", reward_mode, ("machine", "sum"))
        self.name = check_term_name(env, name)
        self.reward_name = self.name
        self.keeps_base = self.reward_mode == "sum"
        if label_filter is not None and not isinstance(label_filter, LabelFilter):
            raise TypeError(
                f"`label_filter` must be a LabelFilter or None; got {label_filter!r}."
            )
        self.label_filter = label_filter
        self.label_domain = label_domain
        self.crm = bool(crm)
        self.machine = machine
        if isinstance(machine, TaskMachines):
            table = machine
        else:
            table = compile_tasks(machine, env.propositions, label_domain=label_domain)
        self.machines = table.as_numpy()
        self._table = table.as_jax()
        self.label_fn = label_fn  # the constructor argument (None: the default)
        self._label_fn = label_fn if label_fn is not None else default_label_fn(env)

    @property
    def num_machine_states(self) -> int:
        """U, the number of (task, state) pairs."""
        return self.machines.num_states

    def default_params(self) -> ProductParams:
        """The inner defaults; task −1 (uniform) with several tasks, else 0."""
        task = -1 if self.machines.num_tasks > 1 else 0
        return ProductParams(self.env.default_params(), jnp.asarray(task, jnp.int32))

    def observation_space(self, params: Any) -> gym.Space:
        """``Dict(env=inner space, machine=Discrete(U))``."""
        return gym.spaces.Dict(
            {
                "env": self.env.observation_space(_inner_params(params)),
                "machine": gym.spaces.Discrete(self.num_machine_states),
            }
        )

    def action_space(self, params: Any) -> gym.Space:
        """The inner action space."""
        return self.env.action_space(_inner_params(params))

    def reset(self, key: jax.Array, params: ProductParams):
        """Resets the inner env and starts the chosen task's machine."""
        params = self._check_params(params)
        obs, inner = self.env.reset(key, params.inner)
        k = self.machines.num_tasks
        # The uniform task draw reads the reset key's own bits (a threefry output):
        # no extra hash per reset, which AutoReset runs on every step.
        bits = jax.random.key_data(key).reshape(-1)[-1].astype(jnp.uint32)
        draw = (bits % jnp.uint32(k)).astype(jnp.int32)
        task = jnp.where(params.task >= 0, jnp.minimum(params.task, k - 1), draw)
        u0 = self._table.initial[task]
        env_obs = obs if self.crm else None
        state = ProductState(inner, u0, jnp.zeros((), jnp.uint32), env_obs)
        return {"env": obs, "machine": u0}, state

    def step(self, key, state: ProductState, action, params: ProductParams):
        """Steps the inner env, then the machine on the transition's label."""
        params = self._check_params(params)
        obs, inner, reward, term, trunc, info = self.env.step(
            key, state.inner, action, params.inner
        )
        label = jnp.asarray(
            self._label_fn(state.inner, action, inner, params.inner), jnp.uint32
        )
        u, r_m, acc, rej = self._table.step(state.machine, label)
        if self.label_filter is not None:
            keep = self.label_filter.passes(label, state.label)
            u = jnp.where(keep, u, state.machine)
            r_m = jnp.where(keep, r_m, 0.0)
            acc = keep & acc
            rej = keep & rej
        r_m = r_m.astype(jnp.float32)
        reward = jnp.asarray(reward, jnp.float32)
        new_reward = r_m + reward if self.reward_mode == "sum" else r_m
        terminated = jnp.asarray(term, bool) | acc | rej
        truncated = jnp.asarray(trunc, bool) & ~terminated
        info = dict(info)
        info.setdefault("extrinsic_reward", reward)
        info[f"{self.name}_reward"] = r_m
        info.update(label=label, machine_state=u, accepted=acc, rejected=rej)
        if self.crm:
            info["crm"] = counterfactual_transitions(
                self._table,
                state.env_obs,
                action,
                obs,
                label,
                term,
                trunc,
            )
        env_obs = obs if self.crm else None
        new_state = ProductState(inner, u, label, env_obs)
        return (
            {"env": obs, "machine": u},
            new_state,
            new_reward,
            terminated,
            truncated,
            info,
        )

    def _check_params(self, params: Any) -> ProductParams:
        if not isinstance(params, ProductParams):
            raise TypeError(
                "`params` must be the ProductParams of ProductEnv.default_params(); "
                f"got {type(params).__name__}."
            )
        return params

    def __repr__(self) -> str:
        return (
            f"ProductEnv({self.env!r}, U={self.num_machine_states}, "
            f"reward_mode={self.reward_mode!r}, name={self.name!r})"
        )


def _inner_params(params: Any) -> Any:
    return params.inner if isinstance(params, ProductParams) else params
