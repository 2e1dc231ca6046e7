"""Counterfactual tabular Q-learning on a reward-machine product (CRM, QRM).

The learner is tabular Q-learning (the foundation's update rule and state type) over
product states ``(s, u)`` with the table laid out ``[S, A, U]``: the counterfactual
batch of one real step (``info["crm"]``, leading axis U) updates one contiguous row.
Plain Q-learning on the product is the same batch restricted to the real u, and
machine-potential shaping is applied to whichever batch it learns from.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from rewardkit.agents._qlearning import Learner, QLearningState
from rewardkit.core import (
    AutoReset,
    ConfigError,
    Transition,
    check_gamma,
    check_in_range,
    check_positive_int,
    valid_mask,
)
from rewardkit.machines.functional import ProductEnv, ProductParams

__all__ = [
    "CounterfactualConfig",
    "counterfactual_q_learning",
    "make_counterfactual_train",
    "shape_machine_batch",
]


def shape_machine_batch(batch: Transition, potential: Any, gamma: float) -> Transition:
    r"""Machine-potential shaping of a product batch (real or counterfactual).

    ``r' = r + γ Φ(u') − Φ(u)`` with Φ(u') := 0 on terminated steps (truncated
    steps keep Φ(u')), Φ read from ``obs["machine"]``/``next_obs["machine"]``.

    Args:
      batch: a :class:`rewardkit.core.Transition` with ``{"env", "machine"}`` obs.
      potential: ``[U]`` Φ table (e.g. ``machine_potential(...).values``).
      gamma: the learner's discount.

    Returns:
      The batch with shaped rewards.

    Example:
      >>> t = Transition(obs={"env": 0, "machine": jnp.int32(0)}, action=0,
      ...     reward=jnp.float32(0), next_obs={"env": 1, "machine": jnp.int32(0)},
      ...     terminated=jnp.bool_(False), truncated=jnp.bool_(False))
      >>> phi = jnp.float32([-0.9, -1.0, 0.0, 0.0])
      >>> round(float(shape_machine_batch(t, phi, 0.9).reward), 4)
      0.09
    """
    phi = jnp.asarray(potential, jnp.float32)
    phi_u = phi[batch.obs["machine"]]
    phi_next = jnp.where(batch.terminated, 0.0, phi[batch.next_obs["machine"]])
    reward = jnp.asarray(batch.reward, jnp.float32) + gamma * phi_next - phi_u
    return batch._replace(reward=reward)


def counterfactual_q_learning(
    *,
    num_env_states: int,
    num_machine_states: int,
    num_actions: int,
    gamma: float,
    alpha: float = 0.5,
    epsilon: float = 0.1,
    potential: Any = None,
    tie_noise: float = 1e-4,
) -> Learner:
    r"""Tabular Q-learning over product states ``(s, u)`` from counterfactual batches.

    .. math:: Q(s,u,a) \leftarrow Q(s,u,a) + α\,[r_u + γ (1 - \text{term}_u)
       \max_b Q(s', u'_u, b) - Q(s,u,a)] \quad \text{for every valid } u

    ``update`` takes the counterfactual batch of one or more real steps, as
    :func:`rewardkit.machines.counterfactual_transitions` (``info["crm"]``) lays
    it out: leading axes ``[..., U]``, the last one running over every machine
    state u in order, with the real ``(s, a, s')`` shared along it (Toro Icarte et
    al. 2022, CRM). Plain Q-learning on the product is the same batch with
    ``valid`` restricted to the real u. The table is ``[S, A, U]``, so one real
    step updates the contiguous row ``Q[s, a, :]``; batches of several real steps
    are scored against the same table and their TD steps summed, like the
    foundation's :func:`rewardkit.agents.q_learning`. Tabular CRM equals tabular
    QRM (one Q-function per u; Toro Icarte et al. 2018): see
    :func:`rewardkit.machines.machine_q_view`. With ``potential`` (``[U]`` Φ) every
    batch is shaped by :func:`shape_machine_batch` first.

    Acting is ε-greedy over ``Q[s, :, u]`` with random tie-breaking; observations
    are ``{"env": int32 s, "machine": int32 u}`` with any leading axes.

    Args:
      num_env_states: S.
      num_machine_states: U.
      num_actions: A.
      gamma: the discount.
      alpha: the step size.
      epsilon: the exploration rate.
      potential: optional ``[U]`` machine potential.
      tie_noise: noise scale that breaks greedy ties.

    Returns:
      A :class:`rewardkit.agents.Learner` (``init(key, q_init=0.0)``); its state is
      a :class:`rewardkit.agents.QLearningState` with ``q`` of shape ``[S, A, U]``.

    Example:
      >>> learner = counterfactual_q_learning(num_env_states=2,
      ...     num_machine_states=2, num_actions=1, gamma=0.9)
      >>> state = learner.init(jax.random.key(0))
      >>> crm = Transition(obs={"env": jnp.int32([0, 0]), "machine": jnp.int32([0, 1])},
      ...     action=jnp.int32([0, 0]), reward=jnp.float32([0, 1]),
      ...     next_obs={"env": jnp.int32([1, 1]), "machine": jnp.int32([1, 1])},
      ...     terminated=jnp.bool_([False, True]), truncated=jnp.bool_([False, False]),
      ...     valid=jnp.bool_([True, True]))
      >>> state, _ = learner.update(state, crm)
      >>> state.q[0, 0].tolist()
      [0.0, 0.5]
    """
    s_n = check_positive_int("num_env_states", num_env_states)
    u_n = check_positive_int("num_machine_states", num_machine_states)
    a_n = check_positive_int("num_actions", num_actions)
    gamma = check_gamma("gamma", gamma)
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    epsilon = check_in_range("epsilon", epsilon, 0.0, 1.0)
    phi = None
    if potential is not None:
        phi = jnp.asarray(potential, jnp.float32)
        if phi.shape != (u_n,):
            raise ConfigError(f"`potential` must have shape ({u_n},); got {phi.shape}.")

    def init(key: jax.Array, q_init: Any = 0.0) -> QLearningState:
        del key  # a table needs no randomness
        q = jnp.broadcast_to(jnp.asarray(q_init, jnp.float32), (s_n, a_n, u_n))
        return QLearningState(q.astype(jnp.float32), jnp.zeros((), jnp.int32))

    def act(state: QLearningState, obs: Any, key: jax.Array):
        s = jnp.asarray(obs["env"], jnp.int32)
        u = jnp.asarray(obs["machine"], jnp.int32)
        q = state.q[s, :, u]  # [..., A]
        # One draw per step: tie noise, the exploration coin and the random action.
        draw = jax.random.uniform(key, (*s.shape, a_n + 2), jnp.float32)
        greedy = jnp.argmax(q + tie_noise * draw[..., :a_n], axis=-1).astype(jnp.int32)
        explore = draw[..., a_n] < epsilon
        random_a = jnp.minimum((draw[..., a_n + 1] * a_n).astype(jnp.int32), a_n - 1)
        return jnp.where(explore, random_a, greedy), state

    def update(state: QLearningState, batch: Transition):
        if phi is not None:
            batch = shape_machine_batch(batch, phi, gamma)
        s = jnp.asarray(batch.obs["env"], jnp.int32)[..., 0]
        a = jnp.asarray(batch.action, jnp.int32)[..., 0]
        s2 = jnp.asarray(batch.next_obs["env"], jnp.int32)[..., 0]
        u2 = jnp.asarray(batch.next_obs["machine"], jnp.int32)  # [..., U]
        q_next = state.q[s2]  # [..., A, U]
        nxt = jnp.take_along_axis(q_next, u2[..., None, :], axis=-1).max(axis=-2)
        cont = 1.0 - jnp.asarray(batch.terminated, jnp.float32)
        target = jnp.asarray(batch.reward, jnp.float32) + gamma * cont * nxt
        td = target - state.q[s, a]  # [..., U]
        valid = valid_mask(batch)
        step = jnp.where(valid, alpha * td, 0.0)
        q = state.q.at[s, a].add(step)
        metrics = {"td_abs": jnp.mean(jnp.abs(jnp.where(valid, td, 0.0)))}
        return QLearningState(q, state.updates + 1), metrics

    return Learner(init, act, update)


@dataclasses.dataclass(frozen=True)
class CounterfactualConfig:
    """Configuration of :func:`make_counterfactual_train`."""

    num_steps: int = 100_000
    """environment steps per seed"""
    num_envs: int = 1
    """parallel environments per seed"""
    counterfactual: bool = True
    """learn from every machine state's counterfactual (CRM) or the real step (QL)"""
    shaping: bool = False
    """shape with the machine potential (gamma_rs, sign)"""
    gamma: float = 0.9
    """the learner's discount (RMcode grid runs: 0.9)"""
    alpha: float = 0.5
    """Q-learning step size"""
    epsilon: float = 0.1
    """ε-greedy exploration"""
    q_init: float = 2.0
    """optimistic initial value (RMcode tabular default)"""
    gamma_rs: float = 0.9
    """discount of the machine value iteration (RMcode --rs_gamma)"""
    sign: float = -1.0
    """sign of the machine potential (RMcode: -1)"""
    round_robin: bool = True
    """cycle through the tasks episode by episode (RMcode); else uniform draws"""


def make_counterfactual_train(config: CounterfactualConfig, env: ProductEnv):
    """Builds ``train(key, potential, counterfactual, task)``: Q-learning on a product.

    One ``lax.scan`` over steps of ``num_envs`` vmapped product envs inside
    ``AutoReset("SameStep")``; ``jax.jit(jax.vmap(train, (0, None, None)))`` runs
    many seeds. Tasks cycle round-robin per environment (the reset that follows an
    episode end starts the next task), as in the reference code.

    The four tabular variants share one compiled program: ``counterfactual``
    (bool, default ``config.counterfactual``) chooses between every machine
    state's experience (CRM) and the real one (plain Q-learning on the product,
    the CRM batch masked to the current u), ``potential`` (``[U]`` Φ, default
    the machine potential when ``config.shaping`` else zeros) shapes the batch,
    and ``task`` (int, default −1: round-robin) fixes every episode's task.

    Args:
      config: the run's configuration.
      env: a functional :class:`rewardkit.machines.functional.ProductEnv` whose
        inner env has ``Discrete`` observations (cell indices).

    Returns:
      ``train(key, potential=None, counterfactual=None, task=-1)`` returning ``[T, N]``
      ``reward`` (machine reward, unshaped), ``done``, ``task`` (the task of the
      step) and the final ``q``.

    Example:
      >>> from rewardkit.machines.tasks import office_product
      >>> cfg = CounterfactualConfig(num_steps=200)
      >>> out = jax.jit(make_counterfactual_train(cfg, office_product([0])))(
      ...     jax.random.key(0))
      >>> out["reward"].shape, out["q"].shape
      ((200, 1), (108, 4, 4))
    """
    env, inner_params, s_n, default_phi = _crm_product_setup(config, env)
    u_n = env.num_machine_states
    learner = counterfactual_q_learning(
        num_env_states=s_n,
        num_machine_states=u_n,
        num_actions=int(env.action_space(None).n),
        gamma=config.gamma,
        alpha=config.alpha,
        epsilon=config.epsilon,
    )
    all_u = jnp.arange(u_n, dtype=jnp.int32)

    def train(
        key: jax.Array,
        potential: Any = None,
        counterfactual: Any = None,
        task: Any = -1,
    ) -> dict[str, jax.Array]:
        phi = default_phi if potential is None else jnp.asarray(potential, jnp.float32)
        cf = config.counterfactual if counterfactual is None else counterfactual
        cf = jnp.asarray(cf, bool)

        def prepare(batch: Transition, obs: Any) -> Transition:
            real = all_u[None, :] == obs["machine"][:, None]
            batch = batch._replace(valid=batch.valid & (cf | real))
            return shape_machine_batch(batch, phi, config.gamma)

        metrics, l_state = _run_product_loop(
            config,
            env,
            inner_params,
            learner,
            key,
            task=task,
            prepare=prepare,
            init_shape=None,
            round_robin=config.round_robin,
        )
        return {**metrics, "q": l_state.q}

    return train


def _crm_product_setup(config: Any, env: Any) -> tuple[ProductEnv, Any, int, jax.Array]:
    """Checks a training loop's product env and config; turns the CRM batch on.

    Returns the env (``crm=True``), its inner env's default params, the number of
    inner env states and the default ``[U]`` potential (the machine potential when
    ``config.shaping`` else zeros).
    """
    if not isinstance(env, ProductEnv):
        raise TypeError(
            f"`env` must be a functional machines ProductEnv; got {type(env).__name__}."
        )
    check_positive_int("num_envs", config.num_envs)
    check_positive_int("num_steps", config.num_steps)
    if not env.crm:
        env = ProductEnv(
            env.env,
            env.machines,
            env.label_fn,
            reward_mode=env.reward_mode,
            name=env.name,
            label_filter=env.label_filter,
            crm=True,
        )
    inner_params = env.env.default_params()
    s_n = getattr(env.env.observation_space(inner_params), "n", None)
    if s_n is None:
        raise ConfigError("the inner env must have a Discrete observation space.")
    default_phi = jnp.zeros((env.num_machine_states,), jnp.float32)
    if config.shaping:
        from rewardkit.machines import machine_potential

        default_phi = jnp.asarray(
            machine_potential(
                env.machines, gamma_rs=config.gamma_rs, sign=config.sign
            ).values
        )
    return env, inner_params, int(s_n), default_phi


def _run_product_loop(
    config: Any,
    env: ProductEnv,
    inner_params: Any,
    learner: Learner,
    key: jax.Array,
    *,
    task: Any,
    prepare: Any,
    init_shape: tuple[int, ...] | None,
    round_robin: bool,
) -> tuple[dict[str, jax.Array], Any]:
    """One ``lax.scan`` of a tabular learner on ``num_envs`` vmapped product envs.

    ``AutoReset("SameStep")``; tasks cycle round-robin per environment (the reset
    after an episode end starts the next task) when ``round_robin``, else each
    reset draws one; ``task`` ≥ 0 fixes every episode's task. ``prepare(batch,
    obs)`` turns the step's counterfactual batch ``info["crm"]`` into the batch
    the learner updates from. Returns the ``[T, N]`` ``reward``, ``done`` and
    ``task`` and the final learner state.
    """
    n_env, k_n = config.num_envs, env.machines.num_tasks
    wrapped = AutoReset(env, mode="SameStep")
    task_of = jnp.asarray(env.machines.task)
    p_axes = ProductParams(None, 0)  # one task per environment, shared inner params
    fixed = jnp.asarray(task, jnp.int32)
    k_init, k_reset, k_run = jax.random.split(key, 3)
    first = jnp.arange(n_env, dtype=jnp.int32) % k_n
    if not round_robin:
        first = jnp.full((n_env,), -1, jnp.int32)
    first = jnp.where(fixed >= 0, fixed, first)
    obs, env_state = jax.vmap(wrapped.reset, (0, p_axes))(
        jax.random.split(k_reset, n_env), ProductParams(inner_params, first)
    )
    if init_shape is None:
        l_state = learner.init(k_init, config.q_init)
    else:
        l_state = learner.init(k_init, config.q_init, init_shape)

    def one_step(carry, k):
        l_state, env_state, obs, task = carry
        k_act, k_env = jax.random.split(k)
        action, l_state = learner.act(l_state, obs, k_act)
        # The reset that follows an episode end starts the next task.
        nxt = (task + 1) % k_n if round_robin else jnp.full_like(task, -1)
        nxt = jnp.where(fixed >= 0, fixed, nxt)
        next_obs, env_state, _, term, trunc, info = jax.vmap(
            wrapped.step, (0, 0, 0, p_axes)
        )(
            jax.random.split(k_env, n_env),
            env_state,
            action,
            ProductParams(inner_params, nxt),
        )
        l_state, _ = learner.update(l_state, prepare(info["crm"], obs))
        done = term | trunc
        step_task = task_of[obs["machine"]]
        task = jnp.where(done, nxt, task) if round_robin else task
        out = {"reward": info["machine_reward"], "done": done, "task": step_task}
        return (l_state, env_state, next_obs, task), out

    carry = (l_state, env_state, obs, first)
    (l_state, *_), metrics = jax.lax.scan(
        one_step, carry, jax.random.split(k_run, config.num_steps)
    )
    return metrics, l_state
