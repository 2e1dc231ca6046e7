"""The product MDP as a ``TabularModel``, and exact optimal returns and lengths."""

from __future__ import annotations

from collections import deque
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import (
    ConfigError,
    TabularModel,
    check_gamma,
    check_in_range,
    policy_evaluation,
    q_values,
    value_iteration,
)
from rewardkit.machines._product_functional import ProductEnv

__all__ = [
    "epsilon_greedy_reward_per_step",
    "epsilon_greedy_values",
    "optimal_episode_length",
    "product_tabular_model",
]


def product_tabular_model(
    env: ProductEnv,
    params: Any = None,
    *,
    task: int | None = None,
    pad_machine_states: int | None = None,
) -> TabularModel:
    r"""The product MDP ``S × U`` of a functional product env, as a ``TabularModel``.

    ``T((s', u') | (s, u), a) = T(s' | s, a)·[u' = δ_u(u, L(s'))]``, reward
    ``δ_r(u, L(s'))`` (plus the env reward under ``reward_mode="sum"``), terminal
    when s or u is; product state ``(s, j)`` has index ``s·U_k + j``, j running
    over the chosen task's flat machine states in order. Needs the inner env's
    ``tabular_model`` (an ``L(s')`` labeler, the grids' default).

    Args:
      env: the functional product env.
      params: its ``ProductParams`` (the defaults if None).
      task: one task index (its states only, starting in its initial state), or
        None for every task (initial mass split evenly).
      pad_machine_states: pad U_k with unreachable terminal states to this many
        (equal shapes for several tasks: one compile of the planner).

    Returns:
      A float32 ``TabularModel`` with ``S = S_env·U_k``.

    Example:
      >>> from rewardkit.machines.tasks import office_product
      >>> m = product_tabular_model(office_product([0]))
      >>> m.transitions.shape, int(m.terminal.sum())
      ((432, 4, 432), 216)
    """
    if not isinstance(env, ProductEnv):
        raise TypeError(
            f"`env` must be a functional machines ProductEnv; got {type(env).__name__}."
        )
    if env.label_fn is not None or env.label_filter is not None:
        raise ConfigError(
            "product_tabular_model needs the default L(s') labeling and no label filter."
        )
    p = env.default_params() if params is None else params
    base = env.env.tabular_model(p.inner)
    tm = env.machines
    if task is None:
        states = np.arange(tm.num_states)
        starts = np.asarray(tm.initial)
    else:
        if not 0 <= int(task) < tm.num_tasks:
            raise ConfigError(f"`task` must lie in [0, {tm.num_tasks}); got {task!r}.")
        states = np.flatnonzero(np.asarray(tm.task) == int(task))
        starts = np.asarray(tm.initial)[[int(task)]]
    pad = 0 if pad_machine_states is None else int(pad_machine_states) - states.size
    if pad < 0:
        raise ConfigError(
            f"`pad_machine_states` must be at least {states.size}; "
            f"got {pad_machine_states!r}."
        )
    t_env = np.asarray(base.transitions, np.float64)
    r_env = np.asarray(base.reward, np.float64)
    s_n, a_n, _ = t_env.shape
    u_k = states.size
    local = -np.ones(tm.num_states, np.int64)
    local[states] = np.arange(u_k)
    col = np.asarray(tm.label_index)[np.asarray(base.labels, np.int64)]  # [S']
    nxt = np.asarray(tm.next_state)[states][:, col]  # [U_k, S'] flat index
    rew = np.asarray(tm.reward)[states][:, col]  # [U_k, S']
    if (local[nxt] < 0).any():
        raise ConfigError(
            "a task's machine states lead outside the task (corrupt table)."
        )
    t = np.zeros((s_n, u_k, a_n, s_n, u_k), np.float64)
    reward = np.zeros_like(t)
    si, ji, ai, s2 = np.meshgrid(
        np.arange(s_n), np.arange(u_k), np.arange(a_n), np.arange(s_n), indexing="ij"
    )
    j2 = local[nxt][ji, s2]
    t[si, ji, ai, s2, j2] = t_env[si, ai, s2]
    r_step = rew[ji, s2] + (r_env[si, ai, s2] if env.reward_mode == "sum" else 0.0)
    reward[si, ji, ai, s2, j2] = r_step
    n = s_n * u_k
    t = t.reshape(n, a_n, n)
    reward = reward.reshape(n, a_n, n)
    terminal = (
        np.asarray(base.terminal)[:, None] | np.asarray(tm.terminal)[states][None, :]
    )
    if pad:
        widen = ((0, 0), (0, pad), (0, 0), (0, 0), (0, pad))
        t = np.pad(t.reshape(s_n, u_k, a_n, s_n, u_k), widen)
        reward = np.pad(reward.reshape(s_n, u_k, a_n, s_n, u_k), widen)
        terminal = np.pad(terminal, ((0, 0), (0, pad)), constant_values=True)
        u_k += pad
        n = s_n * u_k
        t = t.reshape(n, a_n, n)
        reward = reward.reshape(n, a_n, n)
    terminal = terminal.reshape(n)
    t[terminal] = 0.0
    t[terminal, :, np.flatnonzero(terminal)] = 1.0
    reward[terminal] = 0.0
    init = np.zeros((s_n, u_k))  # local indices of the starts are unchanged by pads
    init[:, local[starts]] = np.asarray(base.initial, np.float64)[:, None] / starts.size
    labels = np.repeat(np.asarray(base.labels, np.uint32), u_k)
    return TabularModel(
        transitions=t.astype(np.float32),
        reward=reward.astype(np.float32),
        terminal=terminal,
        labels=labels,
        initial=init.reshape(n).astype(np.float32),
    )


def optimal_episode_length(model: TabularModel, start: int | None = None) -> int:
    """The fewest steps from an initial state to the first positive reward (BFS).

    Follows transitions of positive probability; returns −1 if no positive reward
    is reachable.

    Args:
      model: the (product) model.
      start: a start state index; None starts from the initial distribution.

    Example:
      >>> from rewardkit.machines.tasks import office_product
      >>> optimal_episode_length(product_tabular_model(office_product([0])))
      15
    """
    t = np.asarray(model.transitions) > 0
    r = np.asarray(model.reward) > 0
    paying = (t & r).any(axis=(1, 2))  # some action can be paid right away
    succ = [np.flatnonzero(t[s].any(axis=0)) for s in range(t.shape[0])]
    if start is None:
        starts = np.flatnonzero(np.asarray(model.initial) > 0)
    else:
        starts = np.asarray([int(start)])
    dist = {int(s): 1 for s in starts}
    queue = deque(int(s) for s in starts)
    while queue:
        s = queue.popleft()
        if paying[s]:
            return dist[s]
        for s2 in succ[s]:
            if int(s2) not in dist:
                dist[int(s2)] = dist[s] + 1
                queue.append(int(s2))
    return -1


def epsilon_greedy_values(
    model: TabularModel, gamma: float = 0.9, epsilon: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Expected episode reward and length, per start state, of the ε-greedy optimum.

    The optimal policy is greedy in ``Q*`` (``rk.core.value_iteration`` at
    ``gamma``, ties split evenly); its ε-greedy version is evaluated exactly with
    ``rk.core.policy_evaluation`` in float64, undiscounted (γ = 1 − 1e−9), for the
    expected reward R(s) and number of steps T(s) until termination.

    Args:
      model: a product ``TabularModel`` (every state must reach a terminal one
        under the ε-greedy policy, as in the reward-machine grids).
      gamma: the discount defining the optimal policy.
      epsilon: the exploration rate.

    Returns:
      ``(R [S], T [S])`` float64 arrays.

    Example:
      >>> from rewardkit.machines.tasks import office_product
      >>> m = product_tabular_model(office_product([0]))
      >>> r, t = epsilon_greedy_values(m)
      >>> start = int(m.initial.argmax())
      >>> bool(0.8 < r[start] < 1.0), bool(t[start] > 15)
      (True, True)
    """
    gamma = check_gamma("gamma", gamma, allow_one=False)
    epsilon = check_in_range("epsilon", epsilon, 0.0, 1.0)
    with jax.enable_x64(True):
        m64 = TabularModel(
            transitions=jnp.asarray(model.transitions, jnp.float64),
            reward=jnp.asarray(model.reward, jnp.float64),
            terminal=jnp.asarray(model.terminal),
            labels=jnp.asarray(model.labels),
            initial=jnp.asarray(model.initial, jnp.float64),
        )
        v = value_iteration(m64, gamma, tol=1e-12)
        q = q_values(m64, gamma, v)
        best = q >= q.max(axis=1, keepdims=True) - 1e-9
        greedy = best / best.sum(axis=1, keepdims=True)
        pi = (1.0 - epsilon) * greedy + epsilon / q.shape[1]
        g1 = 1.0 - 1e-9
        ret = policy_evaluation(m64, g1, pi)
        steps = jnp.broadcast_to(jnp.where(m64.terminal[:, None], 0.0, 1.0), q.shape)
        length = policy_evaluation(m64, g1, pi, reward=steps)
        return np.asarray(ret, np.float64), np.asarray(length, np.float64)


def epsilon_greedy_reward_per_step(
    model: TabularModel, gamma: float = 0.9, epsilon: float = 0.1
) -> dict[str, float]:
    """Expected reward, length and reward per step of the ε-greedy optimal policy.

    From the initial distribution, by :func:`epsilon_greedy_values`; the reference
    experiments normalise by R/T (their "optimal reward per step").

    Returns:
      ``{"reward": R, "length": T, "reward_per_step": R / T}``.

    Example:
      >>> from rewardkit.machines.tasks import office_product
      >>> out = epsilon_greedy_reward_per_step(
      ...     product_tabular_model(office_product([0])))
      >>> round(out["reward_per_step"], 3)
      0.055
    """
    ret, length = epsilon_greedy_values(model, gamma, epsilon)
    init = np.asarray(model.initial, np.float64)
    r, t = float(init @ ret), float(init @ length)
    return {"reward": r, "length": t, "reward_per_step": r / t if t > 0 else 0.0}
