"""``rk.intrinsic.functional.AddIntrinsicReward``: a bonus on a JAX env."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from rewardkit.core import (
    EXTRINSIC_REWARD,
    ConfigError,
    Environment,
    EnvWrapper,
    Transition,
    check_choice,
    check_term_name,
    require_extras,
    term_key,
)
from rewardkit.intrinsic._base import BonusState, IntrinsicBonus
from rewardkit.intrinsic._norm import masked_update

__all__ = ["AddIntrinsicParams", "AddIntrinsicReward", "AddIntrinsicState"]


class AddIntrinsicParams(NamedTuple):
    """Params of the functional front-end.

    Attributes:
      inner: the wrapped env's params.
      bonus: the shared :class:`~rewardkit.intrinsic.BonusState` (networks,
        optimiser state, statistics, snapshots, β leaves, key); one copy for all
        envs under ``vmap``, read-only in ``step``. Its per-env fields
        (``episodic``, ``ret_filter``) are only the templates of fresh envs.
    """

    inner: Any
    bonus: BonusState


class AddIntrinsicState(NamedTuple):
    """Per-env state of the functional front-end.

    Attributes:
      inner: the wrapped env's state.
      obs: the last observation s_t.
      episodic: this env's episodic arrays (leading axis 1).
      ret_filter: ``[1]`` float32, this env's running intrinsic return.
    """

    inner: Any
    obs: Any
    episodic: Any
    ret_filter: jax.Array


class AddIntrinsicReward(EnvWrapper):
    """Adds an intrinsic bonus to a functional env (one env; the learner vmaps).

    ``step`` scores the transition with ``bonus.compute`` on a ``(1, 1)`` batch,
    keeps only this env's per-step arrays and reports ``info[f"{name}_reward"]``,
    ``f"{name}_reward_raw"``, ``f"{name}_return"`` and ``warming_up``.
    :meth:`update` runs in the learner loop on the rollout's ``(T, N)``
    ``Transition`` with those info values in ``extras``: it folds the rollout's
    moments into the live statistics, calls ``bonus.update`` and returns new params.
    ``reset`` (called by ``rk.core.AutoReset``) re-seeds episodic memory with s_0.

    Because ``AutoReset`` replaces the whole state at an episode end, the return
    filter of ``reward_norm="return_std"`` restarts each episode on this path
    (the Gymnasium front-ends and ``compute`` never reset it).

    Args:
      env: the functional env.
      bonus: an :class:`~rewardkit.intrinsic.IntrinsicBonus` with ``num_envs=1``.
      reward_mode: ``"sum"`` or ``"extrinsic"``.
      name: the term's name; unique in the stack.

    Example:
      >>> import gymnasium as gym, rewardkit as rk
      >>> class Walk(rk.core.Environment):
      ...     def default_params(self): return jnp.float32(0.0)
      ...     def reset(self, key, params): return jnp.zeros(2), jnp.zeros(2)
      ...     def step(self, key, state, action, params):
      ...         s = state + action
      ...         return s, s, jnp.float32(0.0), jnp.bool_(False), jnp.bool_(False), {}
      ...     def observation_space(self, params): return gym.spaces.Box(-9, 9, (2,))
      ...     def action_space(self, params): return gym.spaces.Discrete(2)
      >>> bonus = rk.intrinsic.rnd(num_envs=1, latent_dim=4, hidden=8,
      ...     warmup_transitions=0)
      >>> env = AddIntrinsicReward(Walk(), bonus)
      >>> params = env.init_params(jax.random.key(0), env.env.default_params())
      >>> obs, state = env.reset(jax.random.key(1), params)
      >>> out = env.step(jax.random.key(2), state, 1, params)
      >>> float(out[2]) == float(out[5]["intrinsic_reward"])
      True
    """

    def __init__(
        self,
        env: Environment,
        bonus: IntrinsicBonus,
        *,
        reward_mode: str = "sum",
        name: str = "intrinsic",
    ):
        super().__init__(env)
        if not isinstance(bonus, IntrinsicBonus):
            raise TypeError(
                f"`bonus` must be an IntrinsicBonus; got {type(bonus).__name__}."
            )
        if bonus.num_envs != 1:
            raise ConfigError(
                "functional.AddIntrinsicReward wraps one env (the learner vmaps it): "
                f"build the bonus with `num_envs`=1; got {bonus.num_envs}."
            )
        check_choice("reward_mode", reward_mode, ("sum", "extrinsic"))
        check_term_name(env, name)
        self.bonus = bonus
        self.reward_mode = reward_mode
        self.name = self.reward_name = name
        self.adds_term = reward_mode == "sum"

    def init_params(self, key: jax.Array, inner_params: Any) -> AddIntrinsicParams:
        """Builds the params: the inner params and ``bonus.init``'s state."""
        state = self.bonus.init(
            key,
            self.env.observation_space(inner_params),
            self.env.action_space(inner_params),
        )
        if not isinstance(state, BonusState):
            raise TypeError(
                "functional.AddIntrinsicReward takes a single bonus (its state must "
                f"be a BonusState); got {type(state).__name__} from `bonus` "
                f"{self.bonus.name!r} (a mixture from `combine`?). Wrap one "
                "bonus, or use the Gymnasium front-ends for mixtures."
            )
        return AddIntrinsicParams(inner_params, state)

    def default_params(self) -> AddIntrinsicParams:
        """``init_params(jax.random.key(0), env.default_params())``."""
        return self.init_params(jax.random.key(0), self.env.default_params())

    def reset(self, key: jax.Array, params: AddIntrinsicParams):
        """Resets the inner env and seeds this env's episodic memory with s_0."""
        obs, inner = self.env.reset(key, params.inner)
        bs = self.bonus.reset(
            params.bonus, jnp.ones((1,), bool), jnp.asarray(obs)[None]
        )
        return obs, AddIntrinsicState(inner, obs, bs.episodic, bs.ret_filter)

    def step(self, key, state: AddIntrinsicState, action, params: AddIntrinsicParams):
        """Steps the inner env and scores the transition."""
        obs, inner, reward, terminated, truncated, info = self.env.step(
            key, state.inner, action, params.inner
        )
        bs = params.bonus._replace(episodic=state.episodic, ret_filter=state.ret_filter)

        def e(x):
            return jnp.asarray(x)[None, None]

        batch = Transition(
            obs=e(state.obs),
            action=e(action),
            reward=e(reward),
            next_obs=e(obs),
            terminated=e(terminated),
            truncated=e(truncated),
        )
        bonus, new_bs, binfo = self.bonus.compute(bs, batch)
        r = bonus[0, 0]
        info = {
            **info,
            term_key(self.name): r,
            f"{self.name}_reward_raw": binfo["raw"][0, 0],
            f"{self.name}_return": new_bs.ret_filter[0],
            "warming_up": binfo["warming_up"],
        }
        info.setdefault(EXTRINSIC_REWARD, reward)
        out = reward + r if self.adds_term else reward
        new_state = AddIntrinsicState(inner, obs, new_bs.episodic, new_bs.ret_filter)
        return obs, new_state, out, terminated, truncated, info

    def update(
        self, params: AddIntrinsicParams, batch: Transition
    ) -> tuple[AddIntrinsicParams, dict[str, jax.Array]]:
        """Folds a ``(T, N)`` rollout's statistics, then runs ``bonus.update``.

        Args:
          params: the current params.
          batch: the rollout, with ``extras[f"{name}_reward_raw"]`` and
            ``extras[f"{name}_return"]`` from ``step``'s info.

        Returns:
          ``(params, metrics)``.
        """
        raw_key, ret_key = f"{self.name}_reward_raw", f"{self.name}_return"
        require_extras(batch, raw_key, ret_key, who="functional.AddIntrinsicReward")
        bs = params.bonus
        cfg = bs.graphdef["config"]
        t, n = jnp.shape(batch.terminated)
        valid = jnp.broadcast_to(jnp.asarray(batch.valid, bool), (t, n))
        use = valid & ~(bs.obs_snapshot.count < cfg.warmup_transitions)
        raw, ret = batch.extras[raw_key], batch.extras[ret_key]
        value = ret if cfg.forward_filter == "replace" else raw
        obs_stats, rew_stats, rew_range = bs.obs_stats, bs.rew_stats, bs.rew_range
        if cfg.obs_norm == "rms":
            obs_stats = masked_update(obs_stats, batch.next_obs, valid)
        if cfg.reward_norm == "return_std":
            rew_stats = masked_update(rew_stats, ret, use)
        elif cfg.reward_norm == "reward_std":
            rew_stats = masked_update(rew_stats, value, use)
        elif cfg.reward_norm == "minmax":
            lo = jnp.min(jnp.where(use, value, jnp.inf))
            hi = jnp.max(jnp.where(use, value, -jnp.inf))
            rew_range = jnp.stack(
                [jnp.minimum(rew_range[0], lo), jnp.maximum(rew_range[1], hi)]
            )
        bs = bs._replace(obs_stats=obs_stats, rew_stats=rew_stats, rew_range=rew_range)
        flat = Transition(
            *(
                jax.tree.map(lambda x: jnp.reshape(x, (t * n, 1, *jnp.shape(x)[2:])), f)
                for f in (
                    batch.obs,
                    batch.action,
                    batch.reward,
                    batch.next_obs,
                    batch.terminated,
                    batch.truncated,
                    valid,
                )
            )
        )
        bs, metrics = self.bonus.update(bs, flat)
        return params._replace(bonus=bs), metrics

    def __repr__(self) -> str:
        return f"AddIntrinsicReward({self.env!r}, name={self.name!r})"
