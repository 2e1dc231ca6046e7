"""``make_train``: the fully jitted PPO loop, with or without an intrinsic bonus."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp

from rewardkit.agents._ppo import Config, PPOState, make_learner
from rewardkit.core import (
    EXTRINSIC_REWARD,
    AutoReset,
    ConfigError,
    Environment,
    Transition,
)

__all__ = ["RunnerState", "make_train"]

#: Per-env steps of random-action warm-up the anchor takes (RLeXplore).
_ANCHOR_WARMUP_STEPS = 2560


class RunnerState(NamedTuple):
    """Carry of the training scan.

    Attributes:
      learner: the :class:`PPOState`.
      bonus: the bonus state (``()`` without a bonus).
      env_state: ``[N]`` ``AutoReset`` states.
      obs: ``[N, ...]`` current observations.
      ep_return: ``[N]`` float32, extrinsic return of the running episodes.
      ep_length: ``[N]`` int32, length of the running episodes.
      key: PRNG key.
    """

    learner: PPOState
    bonus: Any
    env_state: Any
    obs: Any
    ep_return: jax.Array
    ep_length: jax.Array
    key: jax.Array


def make_train(
    config: Config,
    bonus: Any = None,
    *,
    env: Environment,
    env_params: Any = None,
):
    """Builds ``train(key, env_params=None, beta0=None) -> metrics``, fully jittable.

    Per update: a ``lax.scan`` rollout of ``rollout_len`` steps over
    ``num_envs`` envs (``vmap``) inside ``AutoReset(env, mode="SameStep")``;
    with a bonus, ``bonus.compute`` on the ``[T, N]`` Transition (``next_obs`` =
    ``info["final_obs"]``); extrinsic GAE cut at ``terminated`` and bootstrapping
    truncations from V_E(final obs); intrinsic GAE with V_I (non-episodic unless
    the bonus is episodic); the PPO epochs; then ``bonus.update``. Updates run
    under ``lax.scan``, so ``jax.jit(jax.vmap(train))`` trains many seeds at once.

    With a bonus, ``warmup_rollouts`` random-action rollouts first warm up the
    bonus's statistics (compute + update, no learning); they are not counted in
    ``config.total_steps``. Set ``warmup_rollouts=0`` for bonuses without RMS
    observation normalisation, whose ``update`` would otherwise train on them.

    Args:
      config: the :class:`Config`.
      bonus: an ``rk.intrinsic`` ``IntrinsicBonus`` built with
        ``num_envs=config.num_envs``, or None for plain PPO.
      env: the functional env (without ``AutoReset``; it is added outermost).
      env_params: default env params (``env.default_params()`` if None).

    Returns:
      ``train(key, env_params=None, beta0=None)``. ``env_params`` overrides the
      default params (vmap to sweep them); ``beta0`` overwrites the bonus state's
      β0 leaf (no retrace). It returns a dict of ``[num_updates]`` arrays:
      ``episodes``, ``successes`` (terminated episodes), ``return_sum`` and
      ``length_sum`` over the episodes that ended during each update's rollout,
      the loss terms, and with a bonus ``intrinsic_reward`` (its rollout mean)
      and ``bonus/<metric>``.

    Example:
      >>> from rewardkit.envs import GridWorld
      >>> cfg = Config(num_envs=4, rollout_len=8, num_updates=2,
      ...              num_minibatches=2, hidden=(8,))
      >>> train = make_train(cfg, env=GridWorld("S..G", obs="onehot"))
      >>> out = jax.jit(train)(jax.random.key(0))
      >>> out["episodes"].shape, sorted(out)[:3]
      ((2,), ['approx_kl', 'clip_frac', 'entropy'])
    """
    if not isinstance(config, Config):
        raise TypeError(f"`config` must be a ppo.Config; got {type(config).__name__}.")
    if not isinstance(env, Environment):
        raise TypeError(
            f"`env` must be a rewardkit functional Environment; got {type(env).__name__}."
        )
    default_params = env.default_params() if env_params is None else env_params
    obs_space = env.observation_space(default_params)
    act_space = env.action_space(default_params)
    if not isinstance(act_space, gym.spaces.Discrete):
        raise TypeError(f"PPO needs a Discrete `env` action space; got {act_space!r}.")
    num_actions = int(act_space.n)
    if bonus is not None:
        for attr in ("init", "compute", "update", "episodic"):
            if not hasattr(bonus, attr):
                raise TypeError(
                    f"`bonus` must be an rk.intrinsic IntrinsicBonus; got "
                    f"{type(bonus).__name__} without `{attr}`."
                )
        n = getattr(bonus, "num_envs", config.num_envs)
        if n != config.num_envs:
            raise ConfigError(
                f"`bonus` was built for num_envs={n}, but config.num_envs is "
                f"{config.num_envs}; build it with num_envs={config.num_envs}."
            )
    warmup = config.warmup_rollouts
    if warmup is None:
        if bonus is None:
            warmup = 0
        else:
            transitions = getattr(bonus, "warmup_transitions", None)
            if transitions is None:
                transitions = _ANCHOR_WARMUP_STEPS * config.num_envs
            warmup = math.ceil(transitions / config.batch_size)
    learner = make_learner(
        config,
        obs_space.shape,
        num_actions,
        bonus_episodic=None if bonus is None else bool(bonus.episodic),
    )
    two_heads = learner.reward_mode == "two_heads"
    auto = AutoReset(env, mode="SameStep")
    n_envs, t_len = config.num_envs, config.rollout_len
    v_reset = jax.vmap(auto.reset, in_axes=(0, None))
    v_step = jax.vmap(auto.step, in_axes=(0, 0, 0, None))

    def rollout(runner: RunnerState, params: Any, random_actions: bool):
        def step(carry: RunnerState, _):
            key, k_act, k_env = jax.random.split(carry.key, 3)
            logits, v_e, v_i = learner.apply(carry.learner.params, carry.obs)
            if random_actions:
                logits = jnp.zeros_like(logits)
            action = jax.random.categorical(k_act, logits)
            logp = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], -1)[
                :, 0
            ]
            obs, env_state, reward, term, trunc, info = v_step(
                jax.random.split(k_env, n_envs), carry.env_state, action, params
            )
            extrinsic = info.get(EXTRINSIC_REWARD, reward).astype(jnp.float32)
            done = term | trunc
            ep_return = carry.ep_return + extrinsic
            ep_length = carry.ep_length + 1
            out = {
                "obs": carry.obs,
                "action": action,
                "reward": reward.astype(jnp.float32),
                "extrinsic": extrinsic,
                "next_obs": info["final_obs"],
                "terminated": term,
                "truncated": trunc,
                "log_prob": logp,
                "value": v_e,
                "value_int": v_i,
                "done_return": jnp.where(done, ep_return, 0.0),
                "done_length": jnp.where(done, ep_length, 0),
            }
            carry = carry._replace(
                env_state=env_state,
                obs=obs,
                ep_return=jnp.where(done, 0.0, ep_return),
                ep_length=jnp.where(done, 0, ep_length),
                key=key,
            )
            return carry, out

        runner, traj = jax.lax.scan(step, runner, None, t_len)
        batch = Transition(
            obs=traj["obs"],
            action=traj["action"],
            reward=traj["extrinsic"] if bonus is not None else traj["reward"],
            next_obs=traj["next_obs"],
            terminated=traj["terminated"],
            truncated=traj["truncated"],
        )
        return runner, traj, batch

    def episode_metrics(traj):
        done = traj["terminated"] | traj["truncated"]
        return {
            "episodes": jnp.sum(done).astype(jnp.int32),
            "successes": jnp.sum(traj["terminated"]).astype(jnp.int32),
            "return_sum": jnp.sum(traj["done_return"]),
            "length_sum": jnp.sum(traj["done_length"]).astype(jnp.int32),
        }

    def train(key: jax.Array, env_params: Any = None, beta0: Any = None):
        params = default_params if env_params is None else env_params
        k_learn, k_bonus, k_env, k_run = jax.random.split(key, 4)
        lstate = learner.init(k_learn)
        bstate: Any = ()
        if bonus is not None:
            bstate = bonus.init(k_bonus, obs_space, act_space)
            if beta0 is not None:
                if not hasattr(bstate, "beta0"):
                    raise TypeError(
                        "`beta0` needs a bonus state with a `beta0` leaf; "
                        f"got {type(bstate).__name__}."
                    )
                bstate = bstate._replace(beta0=jnp.asarray(beta0, jnp.float32))
        obs, env_state = v_reset(jax.random.split(k_env, n_envs), params)
        runner = RunnerState(
            lstate,
            bstate,
            env_state,
            obs,
            jnp.zeros((n_envs,), jnp.float32),
            jnp.zeros((n_envs,), jnp.int32),
            k_run,
        )

        if bonus is not None and warmup > 0:

            def warm(runner, _):
                runner, _, batch = rollout(runner, params, True)
                _, bs, _ = bonus.compute(runner.bonus, batch)
                bs, _ = bonus.update(bs, batch)
                return runner._replace(bonus=bs), None

            runner, _ = jax.lax.scan(warm, runner, None, warmup)
            runner = runner._replace(
                ep_return=jnp.zeros_like(runner.ep_return),
                ep_length=jnp.zeros_like(runner.ep_length),
            )
            # Restart the episodes so the budget starts from fresh resets.
            k_env, k_run = jax.random.split(runner.key)
            obs, env_state = v_reset(jax.random.split(k_env, n_envs), params)
            runner = runner._replace(env_state=env_state, obs=obs, key=k_run)

        def update_step(runner: RunnerState, _):
            runner, traj, batch = rollout(runner, params, False)
            extras = {"log_prob": traj["log_prob"], "value": traj["value"]}
            metrics = episode_metrics(traj)
            bs = runner.bonus
            if bonus is not None:
                r_int, bs, _ = bonus.compute(bs, batch)
                r_int = jnp.asarray(r_int, jnp.float32)
                extras["intrinsic_reward"] = r_int
                metrics["intrinsic_reward"] = jnp.mean(r_int)
                if two_heads:
                    extras["value_int"] = traj["value_int"]
                    _, _, last_vi = learner.apply(runner.learner.params, runner.obs)
                    extras["last_value_int"] = last_vi
            lstate, lmetrics = learner.update(
                runner.learner, batch._replace(reward=traj["reward"], extras=extras)
            )
            metrics.update(lmetrics)
            if bonus is not None:
                bs, bmetrics = bonus.update(bs, batch)
                metrics.update({f"bonus/{k}": jnp.mean(v) for k, v in bmetrics.items()})
            return runner._replace(learner=lstate, bonus=bs), metrics

        _, metrics = jax.lax.scan(update_step, runner, None, config.num_updates)
        return metrics

    return train
