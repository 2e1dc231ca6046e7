"""Counterfactual experiences (CRM): one real step replayed for every machine state."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import Transition, array_namespace

__all__ = ["counterfactual_transitions", "machine_q_view"]


def counterfactual_transitions(
    machines: Any,
    obs: Any,
    action: Any,
    next_obs: Any,
    label: Any,
    env_terminated: Any,
    truncated: Any = False,
) -> Transition:
    r"""The transitions of one real step for every (task, state) pair u.

    For a real step ``(s, a, s', σ)`` (Toro Icarte et al., JAIR 2022, CRM):
    ``((s, u), a, δ_r(u, σ), (s', δ_u(u, σ)), env_terminated ∨ δ_u(u, σ) terminal)``
    for every u, computed as one ``jax.vmap`` of the compiled step over u (on the
    host, with NumPy tables, the step broadcasts over u instead).
    ``valid`` is False for terminal u (their experience is meaningless); the
    rewards are unshaped (a learner shapes them with the machine potential).

    Args:
      machines: a :class:`TaskMachines` with JAX leaves (``jit`` path) or NumPy
        leaves (host path).
      obs: the env observation s (any pytree; broadcast over u).
      action: the action a.
      next_obs: the env observation s' (before any reset).
      label: uint32 label σ of the step.
      env_terminated: bool, whether the env itself terminated.
      truncated: bool, whether the episode was cut after this step.

    Returns:
      A :class:`rewardkit.core.Transition` with leading axis U; ``obs`` and
      ``next_obs`` are ``{"env", "machine"}`` dicts.

    Example:
      >>> from rewardkit.envs import OfficeWorld
      >>> from rewardkit.machines.tasks import office_tasks
      >>> from rewardkit.machines import compile_tasks
      >>> tm = compile_tasks(office_tasks()[:1], OfficeWorld().propositions)
      >>> t = counterfactual_transitions(tm.as_jax(), 5, 1, 6, 1 << 6, False)
      >>> t.reward.tolist(), t.valid.tolist()
      ([0.0, 1.0, 0.0, 0.0], [True, True, False, False])
    """
    xp = array_namespace(*machines)
    u_n = machines.accepting.shape[0]
    all_u = xp.arange(u_n, dtype=xp.int32)
    if xp is np:  # host path: the NumPy step broadcasts over states, no vmap
        u2, reward, acc, rej = machines.step(all_u, np.uint32(label))
    else:
        label = jnp.asarray(label, jnp.uint32)
        u2, reward, acc, rej = jax.vmap(machines.step, in_axes=(0, None))(all_u, label)

    def tile(x: Any) -> Any:
        return jax.tree.map(
            lambda v: xp.broadcast_to(xp.asarray(v), (u_n, *xp.shape(v))), x
        )

    terminal = machines.accepting | machines.rejecting
    return Transition(
        obs={"env": tile(obs), "machine": all_u},
        action=tile(action),
        reward=xp.asarray(reward, dtype=xp.float32),
        next_obs={"env": tile(next_obs), "machine": xp.asarray(u2, dtype=xp.int32)},
        terminated=xp.asarray(env_terminated, dtype=bool) | acc | rej,
        truncated=xp.broadcast_to(xp.asarray(truncated, dtype=bool), (u_n,)),
        valid=~terminal,
    )


def machine_q_view(q: Any) -> Any:
    """A counterfactual learner's ``[S, A, U]`` table viewed as QRM's ``Q[u, s, a]``.

    Tabular QRM (one Q-function per machine state, all updated from each
    experience; Toro Icarte et al., ICML 2018) equals tabular CRM over ``(s, u)``
    update for update, so QRM is this view of the counterfactual learner's table
    (:func:`rewardkit.agents.counterfactual_q_learning`).

    Args:
      q: ``[S, A, U]`` table.

    Returns:
      ``[U, S, A]``.

    Example:
      >>> q = jnp.arange(12.0).reshape(2, 2, 3)  # S=2, A=2, U=3
      >>> machine_q_view(q)[1].tolist()
      [[1.0, 4.0], [7.0, 10.0]]
    """
    return jnp.transpose(jnp.asarray(q), (2, 0, 1))
