"""Edge options over reward-machine edges, with an SMDP meta-controller (TI22).

Toro Icarte et al. (JAIR 2022) call this method "HRM" (hierarchical RL for reward
machines); the name also means "hierarchy of reward machines" elsewhere, so
rewardkit says *edge options*. One option per machine edge ``u1 → u2``; its
policy is a tabular Q-function over env states learned, counterfactually, from
every step; a meta-controller over ``(s, u)`` picks among the options available
in u by SMDP Q-learning.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from rewardkit.agents._crm import (
    _crm_product_setup,
    _run_product_loop,
    shape_machine_batch,
)
from rewardkit.agents._qlearning import Learner
from rewardkit.core import (
    ConfigError,
    Transition,
    check_gamma,
    check_in_range,
    check_positive_int,
)
from rewardkit.machines import EdgeOptions, edge_options
from rewardkit.machines.functional import ProductEnv

__all__ = [
    "EdgeOptionsConfig",
    "EdgeOptionsState",
    "edge_option_learner",
    "make_edge_options_train",
]

_NEG = -1e9


class EdgeOptionsState(NamedTuple):
    """State of :func:`edge_option_learner` (per-env fields shaped like ``obs``).

    Attributes:
      q_option: ``[S, A, O]`` float32, one Q-function per option.
      q_meta: ``[S, U, O]`` float32, the meta-controller (unavailable options
        are masked when acting and bootstrapping).
      option: ``[...]`` int32, the running option (−1: choose one).
      start_s: ``[...]`` int32, env state where the option started.
      start_u: ``[...]`` int32, machine state where it started (and still is).
      ret: ``[...]`` float32, discounted reward since the option started.
      disc: ``[...]`` float32, γ^k after k steps of the option.
      updates: ``[]`` int32, number of ``update`` calls.
    """

    q_option: jax.Array
    q_meta: jax.Array
    option: jax.Array
    start_s: jax.Array
    start_u: jax.Array
    ret: jax.Array
    disc: jax.Array
    updates: jax.Array


def edge_option_learner(
    *,
    options: EdgeOptions,
    num_env_states: int,
    num_actions: int,
    gamma: float = 0.9,
    alpha: float = 0.5,
    meta_alpha: float = 0.5,
    epsilon: float = 0.1,
    r_max: float = 1.0,
    r_min: float = 0.0,
    potential: Any = None,
    tie_noise: float = 1e-4,
) -> Learner:
    r"""Edge options with an SMDP Q-learning meta-controller (TI22's "HRM").

    Option ``o = (u1 → u2)`` sees, on every real step with label σ, the reward
    ``δ_r(u1, σ)`` (plus machine-potential shaping with ``potential``) plus
    ``r_max`` if ``δ_u(u1, σ) = u2``, else ``r_min`` if ``δ_u(u1, σ) ≠ u1``; it
    terminates when the machine leaves u1 or the env terminates. Every option
    learns from every step (read off the counterfactual batch at row u1). The
    meta-controller learns
    ``Q(s0, u0, o) ← Q + α_m [Σ γ^i r_i + γ^k max_{o'} Q(s_k, u_k, o') − Q]``
    when o ends, bootstrapping over the options available in ``u_k`` (not after
    termination; truncation bootstraps).

    ``act(state, obs, key)`` picks a new option (ε-greedy over the available ones)
    when none runs, then an ε-greedy action of the running option's Q-function.
    ``update(state, batch)`` takes ``info["crm"]`` of the step (leading axes
    ``[..., U]``) and must follow the ``act`` of the same step.

    Args:
      options: the :class:`rewardkit.machines.EdgeOptions`.
      num_env_states: S.
      num_actions: A.
      gamma: the discount (options and meta-controller).
      alpha: the options' step size.
      meta_alpha: the meta-controller's step size.
      epsilon: ε of both levels.
      r_max: bonus for taking the option's edge.
      r_min: reward for leaving u1 by another edge.
      potential: optional ``[U]`` machine potential (shapes both levels).
      tie_noise: noise scale that breaks greedy ties.

    Returns:
      A :class:`rewardkit.agents.Learner`; ``init(key, q_init=0.0,
      batch_shape=())`` with ``batch_shape`` the leading shape of observations.

    Example:
      >>> import numpy as np
      >>> from rewardkit.machines import EdgeOptions
      >>> opts = EdgeOptions(np.int32([0]), np.int32([1]), np.array([[True], [False]]))
      >>> learner = edge_option_learner(options=opts, num_env_states=3, num_actions=2)
      >>> state = learner.init(jax.random.key(0), 2.0)
      >>> obs = {"env": jnp.int32(0), "machine": jnp.int32(0)}
      >>> a, state = learner.act(state, obs, jax.random.key(1))
      >>> int(state.option), state.q_option.shape
      (0, (3, 2, 1))

    References:
      Toro Icarte, Klassen, Valenzano and McIlraith (2022). Reward machines:
      exploiting reward function structure in reinforcement learning. JAIR 73.
    """
    s_n = check_positive_int("num_env_states", num_env_states)
    a_n = check_positive_int("num_actions", num_actions)
    gamma = check_gamma("gamma", gamma)
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    meta_alpha = check_in_range("meta_alpha", meta_alpha, 0.0, 1.0)
    epsilon = check_in_range("epsilon", epsilon, 0.0, 1.0)
    if not isinstance(options, EdgeOptions):
        raise TypeError(f"`options` must be EdgeOptions; got {type(options).__name__}.")
    src = jnp.asarray(options.source)
    dst = jnp.asarray(options.target)
    avail = jnp.asarray(options.available)
    u_n, o_n = avail.shape
    phi = None
    if potential is not None:
        phi = jnp.asarray(potential, jnp.float32)
        if phi.shape != (u_n,):
            raise ConfigError(f"`potential` must have shape ({u_n},); got {phi.shape}.")

    def init(key: jax.Array, q_init: Any = 0.0, batch_shape: tuple = ()):
        del key  # tables need no randomness
        q0 = jnp.asarray(q_init, jnp.float32)
        i32 = lambda v: jnp.full(batch_shape, v, jnp.int32)  # noqa: E731
        f32 = lambda v: jnp.full(batch_shape, v, jnp.float32)  # noqa: E731
        return EdgeOptionsState(
            q_option=jnp.broadcast_to(q0, (s_n, a_n, o_n)).astype(jnp.float32),
            q_meta=jnp.broadcast_to(q0, (s_n, u_n, o_n)).astype(jnp.float32),
            option=i32(-1),
            start_s=i32(0),
            start_u=i32(0),
            ret=f32(0.0),
            disc=f32(1.0),
            updates=jnp.zeros((), jnp.int32),
        )

    def egreedy(q: jax.Array, key: jax.Array) -> jax.Array:
        """ε-greedy over the last axis; entries at ``_NEG`` are never drawn."""
        k_noise, k_explore, k_rand = jax.random.split(key, 3)
        noise = jax.random.uniform(k_noise, q.shape)
        greedy = jnp.argmax(q + tie_noise * noise, axis=-1)
        ok = q > _NEG / 2
        rand = jnp.argmax(jnp.where(ok, jax.random.uniform(k_rand, q.shape), -1.0), -1)
        explore = jax.random.uniform(k_explore, q.shape[:-1]) < epsilon
        return jnp.where(explore, rand, greedy).astype(jnp.int32)

    def act(state: EdgeOptionsState, obs: Any, key: jax.Array):
        s = jnp.asarray(obs["env"], jnp.int32)
        u = jnp.asarray(obs["machine"], jnp.int32)
        k_meta, k_low = jax.random.split(key)
        running = (state.option >= 0) & (state.start_u == u)
        q_meta = jnp.where(avail[u], state.q_meta[s, u], _NEG)
        chosen = egreedy(q_meta, k_meta)
        option = jnp.where(running, state.option, chosen)
        state = state._replace(
            option=option,
            start_s=jnp.where(running, state.start_s, s),
            start_u=jnp.where(running, state.start_u, u),
            ret=jnp.where(running, state.ret, 0.0),
            disc=jnp.where(running, state.disc, 1.0),
        )
        q_low = jnp.take_along_axis(
            state.q_option[s], option[..., None, None], axis=-1
        )[..., 0]  # [..., A]
        return egreedy(q_low, k_low), state

    def update(state: EdgeOptionsState, batch: Transition):
        if phi is not None:
            batch = shape_machine_batch(batch, phi, gamma)
        s = jnp.asarray(batch.obs["env"], jnp.int32)[..., 0]
        a = jnp.asarray(batch.action, jnp.int32)[..., 0]
        s2 = jnp.asarray(batch.next_obs["env"], jnp.int32)[..., 0]
        u_next = jnp.asarray(batch.next_obs["machine"], jnp.int32)  # [..., U]
        reward = jnp.asarray(batch.reward, jnp.float32)
        term = jnp.asarray(batch.terminated, bool)
        u = state.start_u
        take = lambda x, i: jnp.take_along_axis(x, i[..., None], axis=-1)[..., 0]  # noqa: E731
        valid = jnp.broadcast_to(jnp.asarray(batch.valid, bool), term.shape)
        step_ok = take(valid, u)  # False on next-step reset pseudo-steps
        # Options: every option learns from this step, at its source row.
        nxt_o = u_next[..., src]  # [..., O]
        left = nxt_o != src
        r_o = reward[..., src] + jnp.where(
            nxt_o == dst, r_max, jnp.where(left, r_min, 0.0)
        )
        done_o = left | term[..., src]
        boot = jnp.max(state.q_option[s2], axis=-2)  # [..., O]
        q_sa = state.q_option[s, a]  # [..., O]
        td = r_o + gamma * (1.0 - done_o) * boot - q_sa
        q_option = state.q_option.at[s, a].add(
            jnp.where(step_ok[..., None], alpha * td, 0.0)
        )
        # Meta-controller: SMDP update when the running option ends.
        r_real, u2 = take(reward, u), take(u_next, u)
        term_real = take(term, u)
        trunc = jnp.broadcast_to(jnp.asarray(batch.truncated, bool), term.shape)
        trunc_real = take(trunc, u)
        ret = state.ret + state.disc * r_real
        disc = state.disc * gamma
        ends = step_ok & ((u2 != u) | term_real | trunc_real)
        q_next = jnp.where(avail[u2], state.q_meta[s2, u2], _NEG).max(axis=-1)
        q_next = jnp.where(term_real, 0.0, jnp.maximum(q_next, _NEG / 2))
        opt = jnp.maximum(state.option, 0)
        q_old = state.q_meta[state.start_s, state.start_u, opt]
        meta_td = ret + disc * q_next - q_old
        q_meta = state.q_meta.at[state.start_s, state.start_u, opt].add(
            jnp.where(ends & (state.option >= 0), meta_alpha * meta_td, 0.0)
        )
        new = state._replace(
            q_option=q_option,
            q_meta=q_meta,
            option=jnp.where(ends, -1, state.option),
            ret=jnp.where(step_ok, ret, state.ret),
            disc=jnp.where(step_ok, disc, state.disc),
            updates=state.updates + 1,
        )
        return new, {"option_td_abs": jnp.mean(jnp.abs(td))}

    return Learner(init, act, update)


@dataclasses.dataclass(frozen=True)
class EdgeOptionsConfig:
    """Configuration of :func:`make_edge_options_train` (RMcode tabular defaults)."""

    num_steps: int = 100_000
    """environment steps per seed"""
    num_envs: int = 1
    """parallel environments per seed"""
    shaping: bool = False
    """shape both levels with the machine potential"""
    gamma: float = 0.9
    """discount of options and meta-controller"""
    alpha: float = 0.5
    """options' step size"""
    meta_alpha: float = 0.5
    """meta-controller's step size"""
    epsilon: float = 0.1
    """ε of both levels"""
    q_init: float = 2.0
    """optimistic initial value"""
    r_max: float = 1.0
    """bonus for taking the option's edge"""
    r_min: float = 0.0
    """reward for leaving the option's state by another edge"""
    gamma_rs: float = 0.9
    """discount of the machine value iteration"""
    sign: float = -1.0
    """sign of the machine potential"""


def make_edge_options_train(config: EdgeOptionsConfig, env: ProductEnv):
    """Builds ``train(key, potential=None, task=-1)``: edge options on a product env.

    Same loop as :func:`rewardkit.agents.make_counterfactual_train` (SameStep
    autoreset, round-robin tasks unless ``task`` ≥ 0 fixes one); ``potential``
    (``[U]``, default the machine potential when ``config.shaping`` else zeros)
    shapes both levels.

    Returns:
      ``train(key, potential=None, task=-1)`` returning ``[T, N]`` ``reward``, ``done``,
      ``task`` and the final tables.

    Example:
      >>> from rewardkit.machines.tasks import office_product
      >>> cfg = EdgeOptionsConfig(num_steps=100)
      >>> out = jax.jit(make_edge_options_train(cfg, office_product([0])))(
      ...     jax.random.key(0))
      >>> out["reward"].shape, out["q_meta"].shape
      ((100, 1), (108, 4, 2))
    """
    env, inner_params, s_n, default_phi = _crm_product_setup(config, env)
    learner = edge_option_learner(
        options=edge_options(env.machines),
        num_env_states=s_n,
        num_actions=int(env.action_space(None).n),
        gamma=config.gamma,
        alpha=config.alpha,
        meta_alpha=config.meta_alpha,
        epsilon=config.epsilon,
        r_max=config.r_max,
        r_min=config.r_min,
    )
    n_env = config.num_envs

    def train(
        key: jax.Array, potential: Any = None, task: Any = -1
    ) -> dict[str, jax.Array]:
        phi = default_phi if potential is None else jnp.asarray(potential, jnp.float32)
        metrics, l_state = _run_product_loop(
            config,
            env,
            inner_params,
            learner,
            key,
            task=task,
            prepare=lambda batch, _: shape_machine_batch(batch, phi, config.gamma),
            init_shape=(n_env,),
            round_robin=True,
        )
        return {**metrics, "q_option": l_state.q_option, "q_meta": l_state.q_meta}

    return train
