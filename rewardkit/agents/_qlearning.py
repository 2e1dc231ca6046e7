"""Tabular Q-learning as an ``(init, act, update)`` triple of pure functions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from rewardkit.core import (
    AutoReset,
    ConfigError,
    Environment,
    Transition,
    check_gamma,
    check_in_range,
    check_non_negative,
    check_positive_int,
    valid_mask,
)

__all__ = [
    "Learner",
    "QLearningConfig",
    "QLearningState",
    "make_train",
    "q_learning",
]


class Learner(NamedTuple):
    """A learner: three pure functions over an explicit state.

    Attributes:
      init: ``(key, q_init) -> state``.
      act: ``(state, obs, key) -> (action, state)``; ``obs`` has any leading axes.
      update: ``(state, transition) -> (state, metrics)``; any leading axes.
    """

    init: Callable[..., Any]
    act: Callable[..., tuple[Any, Any]]
    update: Callable[..., tuple[Any, dict[str, jax.Array]]]


class QLearningState(NamedTuple):
    """State of tabular Q-learning.

    Attributes:
      q: ``[S, A]`` float32 (or float64 under x64) action values.
      updates: ``[]`` int32, number of ``update`` calls.
    """

    q: jax.Array
    updates: jax.Array


def q_learning(
    *,
    num_states: int,
    num_actions: int,
    gamma: float,
    alpha: float = 0.5,
    epsilon: float = 0.1,
    tie_noise: float = 1e-4,
    action_bias: Any = None,
    dtype: Any = jnp.float32,
) -> Learner:
    r"""Tabular Q-learning with ε-greedy exploration and random tie-breaking.

    .. math:: Q(s,a) \leftarrow Q(s,a) + α\,[r + γ (1 - \text{terminated})
       \max_b Q(s', b) - Q(s,a)]

    Truncated steps bootstrap from ``next_obs`` (the true pre-reset state); only
    ``terminated`` cuts the target. Invalid steps (``valid`` False, e.g. next-step
    reset pseudo-steps) change nothing. All transitions of a batch are scored
    against the same table and their TD steps are summed (``.at[].add``), so a batch
    of distinct ``(s, a)`` pairs, such as the counterfactual experiences of a reward
    machine, equals applying them one by one.

    Acting is greedy over ``Q + action_bias + tie_noise·U(0,1)`` with probability
    ``1 − ε``, else uniform. ``action_bias`` (``[S, A]``) is the look-ahead advice
    correction ``Φ(s, ·)`` of Wiewiora et al. (2003): with look-ahead advice the
    values converge to ``Q* − Φ(s, a)`` and the agent must act on ``Q̂ + Φ``.

    Args:
      num_states: S; observations are state indices in ``[0, S)``.
      num_actions: A.
      gamma: the discount γ in [0, 1].
      alpha: the step size in (0, 1].
      epsilon: the exploration rate in [0, 1].
      tie_noise: scale of the uniform noise that breaks ties among greedy actions.
      action_bias: optional ``[S, A]`` added to Q when acting (not when learning).
      dtype: the table's dtype (float64 under x64 for exact tests).

    Returns:
      A :class:`Learner`; ``init(key, q_init=0.0)`` takes an optional initial table
      (a scalar or ``[S, A]``), e.g. ``Q0 = Φ(s)`` for the Wiewiora equivalence.

    Example:
      >>> learner = q_learning(num_states=2, num_actions=2, gamma=0.9)
      >>> state = learner.init(jax.random.key(0))
      >>> t = Transition(obs=jnp.int32(0), action=jnp.int32(1), reward=jnp.float32(1),
      ...     next_obs=jnp.int32(1), terminated=jnp.bool_(True),
      ...     truncated=jnp.bool_(False))
      >>> state, metrics = learner.update(state, t)
      >>> state.q.tolist()
      [[0.0, 0.5], [0.0, 0.0]]

    References:
      Watkins and Dayan (1992). Q-learning. Machine Learning 8.
    """
    s_n = check_positive_int("num_states", num_states)
    a_n = check_positive_int("num_actions", num_actions)
    check_gamma("gamma", gamma)
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    epsilon = check_in_range("epsilon", epsilon, 0.0, 1.0)
    check_non_negative("tie_noise", tie_noise)
    bias = None
    if action_bias is not None:
        bias = jnp.asarray(action_bias, dtype)
        if bias.shape != (s_n, a_n):
            raise ConfigError(
                f"`action_bias` must have shape ({s_n}, {a_n}); got {bias.shape}."
            )

    def init(key: jax.Array, q_init: Any = 0.0) -> QLearningState:
        del key  # a table needs no randomness
        q = jnp.broadcast_to(jnp.asarray(q_init, dtype), (s_n, a_n)).astype(dtype)
        return QLearningState(q, jnp.zeros((), jnp.int32))

    def act(state: QLearningState, obs: Any, key: jax.Array):
        obs = jnp.asarray(obs, jnp.int32)
        k_noise, k_explore, k_rand = jax.random.split(key, 3)
        q = state.q[obs]
        if bias is not None:
            q = q + bias[obs]
        noise = jax.random.uniform(k_noise, q.shape, q.dtype)
        greedy = jnp.argmax(q + tie_noise * noise, axis=-1).astype(jnp.int32)
        explore = jax.random.uniform(k_explore, obs.shape) < epsilon
        random_a = jax.random.randint(k_rand, obs.shape, 0, a_n, jnp.int32)
        return jnp.where(explore, random_a, greedy), state

    def update(state: QLearningState, t: Transition):
        s = jnp.asarray(t.obs, jnp.int32)
        a = jnp.asarray(t.action, jnp.int32)
        s2 = jnp.asarray(t.next_obs, jnp.int32)
        r = jnp.asarray(t.reward, dtype)
        cont = 1.0 - jnp.asarray(t.terminated, dtype)
        target = r + gamma * cont * jnp.max(state.q[s2], axis=-1)
        td = target - state.q[s, a]
        step = jnp.where(valid_mask(t), alpha * td, 0.0).astype(dtype)
        q = state.q.at[s, a].add(step)
        metrics = {"td_abs": jnp.mean(jnp.abs(jnp.where(valid_mask(t), td, 0.0)))}
        return QLearningState(q, state.updates + 1), metrics

    return Learner(init, act, update)


@dataclasses.dataclass(frozen=True)
class QLearningConfig:
    """Configuration of :func:`make_train`."""

    num_envs: int = 1
    """parallel environments per seed (one batched update per step)"""
    num_steps: int = 30_000
    """steps per environment"""
    gamma: float = 0.99
    """the learner's discount (also the shaping discount)"""
    alpha: float = 0.5
    """Q-learning step size"""
    epsilon: float = 0.1
    """ε-greedy exploration rate"""
    tie_noise: float = 1e-4
    """uniform noise scale that breaks ties among greedy actions"""
    autoreset_mode: str = "SameStep"
    """AutoReset mode wrapped outermost around the env"""


def make_train(
    config: QLearningConfig,
    make_env: Callable[..., Environment] | Environment,
    *,
    num_states: int | None = None,
    obs_index: Callable[[Any], Any] | None = None,
) -> Callable[..., dict[str, jax.Array]]:
    """Builds ``train(key, q_init, *env_args)``: jitted tabular Q-learning.

    The loop is one ``lax.scan`` over steps of ``num_envs`` vmapped envs inside
    ``AutoReset``; ``jax.jit(jax.vmap(train))`` runs many seeds. ``make_env`` is an
    environment or a function of ``env_args`` returning one, called while tracing,
    so swept values (a potential table, a reward scale) enter as traced arguments
    and never recompile.

    Args:
      config: the run's configuration.
      make_env: a functional env, or ``(*env_args) -> env``.
      num_states: S; the env's ``num_cells`` or observation space size if None.
      obs_index: maps an observation to a state index; identity if None.

    Returns:
      ``train(key, q_init=0.0, *env_args) -> metrics`` with ``[T, N]`` arrays
      ``reward`` (the learner's reward), ``extrinsic_reward``, ``terminated``,
      ``truncated`` and the final table under ``q``.

    Example:
      >>> from rewardkit.envs import GridWorld
      >>> cfg = QLearningConfig(num_steps=50, num_envs=2)
      >>> out = jax.jit(make_train(cfg, GridWorld("S..G")))(jax.random.key(0))
      >>> out["terminated"].shape, bool(out["terminated"].any())
      ((50, 2), True)
    """
    n_env = check_positive_int("num_envs", config.num_envs)
    check_positive_int("num_steps", config.num_steps)
    index = obs_index or (lambda o: o)

    def build(*env_args):
        env = make_env if isinstance(make_env, Environment) else make_env(*env_args)
        return env, AutoReset(env, mode=config.autoreset_mode)

    def sizes(env):
        if num_states is not None:
            return num_states
        space = env.observation_space(env.default_params())
        n = getattr(space, "n", None)
        if n is None:
            raise ConfigError(
                "`num_states` is required for envs without a Discrete observation space."
            )
        return int(n)

    def train(key: jax.Array, q_init: Any = 0.0, *env_args: Any):
        env, wrapped = build(*env_args)
        params = env.default_params()
        learner = q_learning(
            num_states=sizes(env),
            num_actions=int(env.action_space(params).n),
            gamma=config.gamma,
            alpha=config.alpha,
            epsilon=config.epsilon,
            tie_noise=config.tie_noise,
        )
        k_init, k_reset, k_run = jax.random.split(key, 3)
        obs, env_state = jax.vmap(wrapped.reset, (0, None))(
            jax.random.split(k_reset, n_env), params
        )
        l_state = learner.init(k_init, q_init)

        def one_step(carry, k):
            l_state, env_state, obs = carry
            k_act, k_env = jax.random.split(k)
            action, l_state = learner.act(l_state, index(obs), k_act)
            next_obs, env_state, reward, term, trunc, info = jax.vmap(
                wrapped.step, (0, 0, 0, None)
            )(jax.random.split(k_env, n_env), env_state, action, params)
            batch = Transition(
                obs=index(obs),
                action=action,
                reward=reward,
                next_obs=index(info["final_obs"]),
                terminated=term,
                truncated=trunc,
                valid=~info["reset_step"],
            )
            l_state, _ = learner.update(l_state, batch)
            out = {
                "reward": reward,
                "extrinsic_reward": info.get("extrinsic_reward", reward),
                "terminated": term,
                "truncated": trunc,
            }
            return (l_state, env_state, next_obs), out

        (l_state, _, _), metrics = jax.lax.scan(
            one_step,
            (l_state, env_state, obs),
            jax.random.split(k_run, config.num_steps),
        )
        return {**metrics, "q": l_state.q}

    return train
