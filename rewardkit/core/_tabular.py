"""The tabular model exchanged between capabilities, and the one exact planner.

Every capability (shaping oracles, reward-machine product solvers, monitored joint
models, agents, distances) plans with these three functions; none writes another
value iteration.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core._errors import ConfigError

__all__ = [
    "TabularModel",
    "check_tabular_model",
    "policy_evaluation",
    "q_values",
    "value_iteration",
]


class TabularModel(NamedTuple):
    """A finite MDP without a discount (the discount belongs to the learner).

    Terminal states are absorbing with a zero-reward self-loop; the planner fixes
    their value to 0. ``labels`` is ``L(s)`` in the env's proposition bit order
    (zeros without propositions). Time limits are not part of the model.

    Attributes:
      transitions: ``[S, A, S]`` float32, T(s' | s, a); rows sum to 1.
      reward: ``[S, A, S]`` float32, R(s, a, s').
      terminal: ``[S]`` bool, absorbing states.
      labels: ``[S]`` uint32, proposition bits of each state.
      initial: ``[S]`` float32, the initial-state distribution.

    Example:
      >>> m = TabularModel(
      ...     transitions=np.float32([[[0, 1]], [[0, 1]]]),
      ...     reward=np.float32([[[0, 1]], [[0, 0]]]),
      ...     terminal=np.array([False, True]),
      ...     labels=np.zeros(2, np.uint32),
      ...     initial=np.float32([1, 0]))
      >>> value_iteration(m, 0.9).tolist()
      [1.0, 0.0]
    """

    transitions: Any
    reward: Any
    terminal: Any
    labels: Any
    initial: Any


def check_tabular_model(model: TabularModel, *, atol: float = 1e-4) -> TabularModel:
    """Validates a concrete model's shapes and stochasticity on the host.

    Raises:
      ConfigError: naming the field, what was expected and what was received.

    Example:
      >>> m = TabularModel(np.ones((1, 1, 1)), np.zeros((1, 1, 1)),
      ...     np.zeros(1, bool), np.zeros(1, np.uint32), np.ones(1))
      >>> check_tabular_model(m) is m
      True
    """
    t = np.asarray(model.transitions)
    if t.ndim != 3 or t.shape[0] != t.shape[2]:
        raise ConfigError(
            f"`transitions` must have shape [S, A, S]; got shape {t.shape}."
        )
    s, a, _ = t.shape
    for name, shape in (
        ("reward", (s, a, s)),
        ("terminal", (s,)),
        ("labels", (s,)),
        ("initial", (s,)),
    ):
        got = np.shape(getattr(model, name))
        if got != shape:
            raise ConfigError(f"`{name}` must have shape {shape}; got shape {got}.")
    if np.any(t < -atol) or not np.allclose(t.sum(-1), 1.0, atol=atol):
        worst = np.abs(t.sum(-1) - 1.0).max()
        raise ConfigError(
            "`transitions` rows must be probability distributions (non-negative, "
            f"summing to 1); the worst row sum is off by {worst:.3g}."
        )
    init = np.asarray(model.initial)
    if np.any(init < -atol) or not np.isclose(init.sum(), 1.0, atol=atol):
        raise ConfigError(
            f"`initial` must be a probability distribution; it sums to {init.sum()}."
        )
    return model


def _check_gamma(gamma: Any) -> None:
    if isinstance(gamma, jax.core.Tracer):
        return  # swept discounts are checked by whoever builds the sweep
    g = np.asarray(gamma)
    if g.size == 1 and not (0.0 <= float(g) < 1.0):
        raise ConfigError(f"`gamma` must lie in [0, 1) for planning; got {gamma!r}.")


def _expected_reward(model: TabularModel, reward: Any) -> jax.Array:
    """r(s, a) = Σ_s' T(s'|s,a) R(s,a,s'), from an ``[S,A,S]`` or ``[S,A]`` reward."""
    t = jnp.asarray(model.transitions)
    r = jnp.asarray(model.reward if reward is None else reward, t.dtype)
    if r.ndim == 3:
        r = jnp.sum(t * r, axis=-1)
    elif r.ndim != 2:
        raise ConfigError(
            f"`reward` must have shape [S, A, S] or [S, A]; got {r.shape}."
        )
    if r.shape != t.shape[:2]:
        raise ConfigError(
            f"`reward` must match `transitions` {t.shape}; got shape {r.shape}."
        )
    return jnp.where(jnp.asarray(model.terminal)[:, None], 0.0, r)


def q_values(
    model: TabularModel, gamma: Any, values: Any, reward: Any = None
) -> jax.Array:
    """One Bellman backup: ``Q(s,a) = Σ_s' T(s'|s,a) [R(s,a,s') + γ V(s')]``.

    Terminal states get ``Q = 0`` (they are absorbing and pay nothing).

    Args:
      model: the tabular model.
      gamma: the discount in [0, 1).
      values: ``[S]`` state values V.
      reward: optional ``[S,A,S]`` or ``[S,A]`` reward; ``model.reward`` if None.

    Returns:
      ``[S, A]`` action values, in the dtype of ``model.transitions``.

    Example:
      >>> m = TabularModel(np.float32([[[0, 1]], [[0, 1]]]),
      ...     np.float32([[[0, 1]], [[0, 0]]]), np.array([False, True]),
      ...     np.zeros(2, np.uint32), np.float32([1, 0]))
      >>> q_values(m, 0.5, np.float32([3.0, 0.0])).tolist()
      [[1.0], [0.0]]
    """
    _check_gamma(gamma)
    t = jnp.asarray(model.transitions)
    v = jnp.where(jnp.asarray(model.terminal), 0.0, jnp.asarray(values, t.dtype))
    q = _expected_reward(model, reward) + gamma * jnp.einsum("sat,t->sa", t, v)
    return jnp.where(jnp.asarray(model.terminal)[:, None], 0.0, q).astype(t.dtype)


def value_iteration(
    model: TabularModel,
    gamma: Any,
    reward: Any = None,
    *,
    tol: float = 1e-6,
    max_iters: int = 100_000,
) -> jax.Array:
    """Optimal state values V* by value iteration (sup-norm stopping).

    Iterates ``V ← max_a Q(V)`` in a ``lax.while_loop`` until the largest change is
    below ``tol`` (so ``‖V − V*‖∞ ≤ tol·γ/(1−γ)``) or ``max_iters`` backups.
    Computes in the dtype of ``model.transitions`` (float64 under x64 with float64
    inputs). Pure, ``jit``- and ``vmap``-able.

    Args:
      model: the tabular model.
      gamma: the discount in [0, 1).
      reward: optional ``[S,A,S]`` or ``[S,A]`` reward; ``model.reward`` if None.
      tol: the stopping threshold on the sup-norm change.
      max_iters: the largest number of backups.

    Returns:
      ``[S]`` V*, zero on terminal states.

    Example:
      >>> m = TabularModel(np.float32([[[0, 1]], [[0, 1]]]),
      ...     np.float32([[[0, 1]], [[0, 0]]]), np.array([False, True]),
      ...     np.zeros(2, np.uint32), np.float32([1, 0]))
      >>> value_iteration(m, 0.9).tolist()
      [1.0, 0.0]
    """
    _check_gamma(gamma)
    t = jnp.asarray(model.transitions)
    r = _expected_reward(model, reward)
    return _value_iteration(t, r, jnp.asarray(model.terminal), gamma, tol, max_iters)


@jax.jit
def _value_iteration(t, r, terminal, gamma, tol, max_iters):
    # Jitted once per shape and dtype: gamma, tol and max_iters are traced, so eager
    # calls with new values (or new closures) never recompile.
    gamma = jnp.asarray(gamma, t.dtype)

    def backup(v):
        q = r + gamma * jnp.einsum("sat,t->sa", t, v)
        return jnp.where(terminal, 0.0, jnp.max(q, axis=-1)).astype(t.dtype)

    def cond(carry):
        _, delta, i = carry
        return (delta > tol) & (i < max_iters)

    def body(carry):
        v, _, i = carry
        new = backup(v)
        return new, jnp.max(jnp.abs(new - v)), i + 1

    v0 = jnp.zeros(t.shape[0], t.dtype)
    init = (v0, jnp.asarray(jnp.inf, t.dtype), jnp.zeros((), jnp.int32))
    v, _, _ = jax.lax.while_loop(cond, body, init)
    return v


def policy_evaluation(
    model: TabularModel, gamma: Any, policy: Any, reward: Any = None
) -> jax.Array:
    """Exact values of a stochastic policy: solves ``(I − γ T_π) V = r_π``.

    Args:
      model: the tabular model.
      gamma: the discount in [0, 1).
      policy: ``[S, A]`` action probabilities π(a | s).
      reward: optional ``[S,A,S]`` or ``[S,A]`` reward; ``model.reward`` if None.

    Returns:
      ``[S]`` V^π, zero on terminal states.

    Example:
      >>> m = TabularModel(np.float32([[[0, 1]], [[0, 1]]]),
      ...     np.float32([[[0, 1]], [[0, 0]]]), np.array([False, True]),
      ...     np.zeros(2, np.uint32), np.float32([1, 0]))
      >>> policy_evaluation(m, 0.9, np.float32([[1], [1]])).tolist()
      [1.0, 0.0]
    """
    _check_gamma(gamma)
    t = jnp.asarray(model.transitions)
    pi = jnp.asarray(policy, t.dtype)
    if pi.shape != t.shape[:2]:
        raise ConfigError(f"`policy` must have shape {t.shape[:2]}; got {pi.shape}.")
    live = ~jnp.asarray(model.terminal)
    r_pi = jnp.sum(pi * _expected_reward(model, reward), axis=-1)
    t_pi = jnp.einsum("sa,sat->st", pi, t) * live[:, None]  # terminal rows: V = 0
    a = jnp.eye(t.shape[0], dtype=t.dtype) - gamma * t_pi
    return jnp.linalg.solve(a, r_pi * live)
