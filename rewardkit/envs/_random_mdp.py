"""Random tabular MDPs (Garnet and the STARC protocol's sparse-logit recipe)."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import (
    ConfigError,
    Environment,
    TabularModel,
    check_choice,
    check_positive_int,
)

__all__ = ["RandomMDP", "RandomMDPParams", "RandomMDPState", "random_mdp"]

_REWARDS = ("dense", "sparse", "state")
_INITS = ("single", "uniform")
_RECIPES = ("garnet", "starc")


def _starc_threshold(n_states: int) -> float:
    # [STARC-code] src/env/env.py: sparser logits for larger state spaces.
    if n_states < 50:
        return 1.0
    if n_states < 100:
        return 1.5
    return 1.8


def _check_args(n_states, n_actions, branching, n_terminal, reward, init, recipe):
    n_states = check_positive_int("n_states", n_states)
    n_actions = check_positive_int("n_actions", n_actions)
    branching = check_positive_int("branching", branching)
    if branching > n_states:
        raise ConfigError(
            f"`branching` must be at most `n_states` ({n_states}); got {branching}."
        )
    if isinstance(n_terminal, bool) or not isinstance(n_terminal, int | np.integer):
        raise ConfigError(f"`n_terminal` must be an integer; got {n_terminal!r}.")
    if not 0 <= n_terminal < n_states:
        raise ConfigError(
            f"`n_terminal` must lie in [0, n_states) = [0, {n_states}); "
            f"got {n_terminal}."
        )
    check_choice("reward", reward, _REWARDS)
    check_choice("init", init, _INITS)
    check_choice("recipe", recipe, _RECIPES)
    return n_states, n_actions, branching, int(n_terminal)


def random_mdp(
    key: jax.Array,
    n_states: int,
    n_actions: int,
    *,
    branching: int = 3,
    n_terminal: int = 0,
    reward: str = "dense",
    init: str = "uniform",
    recipe: str = "garnet",
) -> TabularModel:
    """A random finite MDP as a float32 :class:`rewardkit.core.TabularModel`.

    Transitions:

    * ``"garnet"`` (Archibald et al. 1995): each (s, a) has ``branching`` distinct
      successors drawn uniformly, weighted by a flat Dirichlet draw.
    * ``"starc"`` ([STARC] §4.1; ``src/env/env.py``): logits z ~ N(0, 1) for every
      (s, a, s'), those not above θ (1.0 for S < 50, 1.5 for S < 100, else 1.8)
      set to −20, softmax over s'. ``branching`` is unused.

    The last ``n_terminal`` states are absorbing terminals: a self-loop under every
    action paying 0. Rewards (zero on every terminal row):

    * ``"dense"``: R(s, a, s') ~ N(0, 1);
    * ``"state"``: R(s, a, s') = r(s'), r ~ N(0, 1), paid on entering s';
    * ``"sparse"``: 1 on entering the goal (the first terminal state, or a random
      state when there are none), else 0.

    ``init="single"`` starts in state 0, ``"uniform"`` uniformly over the
    non-terminal states. Deterministic in ``key`` and ``vmap``-able over keys (every
    other argument is static).

    Args:
      key: a PRNG key.
      n_states: S.
      n_actions: A.
      branching: successors per (s, a) for ``"garnet"``, in [1, S].
      n_terminal: number of absorbing terminals, in [0, S).
      reward: ``"dense"``, ``"sparse"`` or ``"state"``.
      init: ``"single"`` or ``"uniform"``.
      recipe: ``"garnet"`` or ``"starc"``.

    Returns:
      A ``TabularModel`` with float32 ``[S, A, S]`` transitions and reward, bool
      ``[S]`` terminal, uint32 zero labels and float32 ``[S]`` initial.

    Example:
      >>> m = random_mdp(jax.random.key(0), 5, 2, branching=2, n_terminal=1)
      >>> m.transitions.shape, m.terminal.tolist()
      ((5, 2, 5), [False, False, False, False, True])
      >>> np.allclose(m.transitions.sum(-1), 1.0), float(m.reward[4].sum())
      (True, 0.0)
    """
    n_states, n_actions, branching, n_terminal = _check_args(
        n_states, n_actions, branching, n_terminal, reward, init, recipe
    )
    return _random_mdp(
        key, n_states, n_actions, branching, n_terminal, reward, init, recipe
    )


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def _random_mdp(key, s, a, branching, n_terminal, reward, init, recipe):
    # One compiled program per static configuration (also under vmap).
    k_t, k_w, k_r, k_g = jax.random.split(key, 4)
    if recipe == "garnet":
        order = jnp.argsort(jax.random.uniform(k_t, (s, a, s)), axis=-1)
        succ = order[..., :branching]  # [S, A, b] distinct successors
        w = jax.random.dirichlet(k_w, jnp.ones(branching), (s, a))
        t = jnp.zeros((s, a, s), jnp.float32)
        t = jax.vmap(jax.vmap(lambda row, i, p: row.at[i].set(p)))(t, succ, w)
    else:
        z = jax.random.normal(k_t, (s, a, s))
        z = jnp.where(z > _starc_threshold(s), z, -20.0)
        t = jax.nn.softmax(z, axis=-1)
    terminal = jnp.arange(s) >= s - n_terminal
    loop = jnp.broadcast_to(jnp.eye(s)[:, None, :], (s, a, s))
    t = jnp.where(terminal[:, None, None], loop, t).astype(jnp.float32)
    t = t / jnp.sum(t, axis=-1, keepdims=True)

    if reward == "dense":
        r = jax.random.normal(k_r, (s, a, s))
    elif reward == "state":
        r = jnp.broadcast_to(jax.random.normal(k_r, (s,)), (s, a, s))
    else:
        goal = s - n_terminal if n_terminal else jax.random.randint(k_g, (), 0, s)
        r = jnp.broadcast_to((jnp.arange(s) == goal).astype(jnp.float32), (s, a, s))
    r = jnp.where(terminal[:, None, None], 0.0, r).astype(jnp.float32)

    if init == "single":
        initial = (jnp.arange(s) == 0).astype(jnp.float32)
    else:
        live = (~terminal).astype(jnp.float32)
        initial = live / jnp.sum(live)
    labels = jnp.zeros(s, jnp.uint32)
    return TabularModel(t, r, terminal, labels, initial)


class RandomMDPParams(NamedTuple):
    """Parameters of :class:`RandomMDP`: the model's arrays and the time limit.

    Attributes:
      transitions: ``[S, A, S]`` float32.
      reward: ``[S, A, S]`` float32.
      terminal: ``[S]`` bool.
      initial: ``[S]`` float32.
      max_steps: ``[]`` int32, the truncation limit.
    """

    transitions: jax.Array
    reward: jax.Array
    terminal: jax.Array
    initial: jax.Array
    max_steps: jax.Array


class RandomMDPState(NamedTuple):
    """State of :class:`RandomMDP`.

    Attributes:
      state: ``[]`` int32, the current MDP state.
      t: ``[]`` int32, steps taken this episode.
    """

    state: jax.Array
    t: jax.Array


class RandomMDP(Environment):
    """A random tabular MDP (:func:`random_mdp`) as a functional environment.

    Observations are the int32 state index (``Discrete(S)``), actions
    ``Discrete(A)``. Entering a terminal state terminates; ``max_steps`` (in the
    params) truncates. The model is drawn from ``seed`` in ``default_params``, so
    the env is built from plain keyword arguments (Gymnasium registration).

    Args:
      n_states: S.
      n_actions: A.
      seed: the seed of the model draw (``jax.random.key(seed)``).
      branching: see :func:`random_mdp`.
      n_terminal: see :func:`random_mdp`.
      reward: see :func:`random_mdp`.
      init: see :func:`random_mdp`.
      recipe: see :func:`random_mdp`.
      max_steps: the time limit (truncation).

    Example:
      >>> env = RandomMDP(n_states=6, n_actions=2, seed=0, n_terminal=1)
      >>> params = env.default_params()
      >>> obs, state = env.reset(jax.random.key(1), params)
      >>> obs.dtype, env.tabular_model(params).transitions.shape
      (dtype('int32'), (6, 2, 6))
    """

    def __init__(
        self,
        n_states: int = 16,
        n_actions: int = 4,
        *,
        seed: int = 0,
        branching: int = 3,
        n_terminal: int = 0,
        reward: str = "dense",
        init: str = "uniform",
        recipe: str = "garnet",
        max_steps: int = 100,
    ):
        _check_args(n_states, n_actions, branching, n_terminal, reward, init, recipe)
        self.n_states, self.n_actions = int(n_states), int(n_actions)
        self.seed = int(seed)
        self.branching, self.n_terminal = int(branching), int(n_terminal)
        self.reward, self.init, self.recipe = reward, init, recipe
        self.max_steps = check_positive_int("max_steps", max_steps)

    def default_params(self) -> RandomMDPParams:
        """The model drawn from ``seed`` and the time limit."""
        m = random_mdp(
            jax.random.key(self.seed),
            self.n_states,
            self.n_actions,
            branching=self.branching,
            n_terminal=self.n_terminal,
            reward=self.reward,
            init=self.init,
            recipe=self.recipe,
        )
        steps = jnp.asarray(self.max_steps, jnp.int32)
        return RandomMDPParams(m.transitions, m.reward, m.terminal, m.initial, steps)

    def tabular_model(self, params: RandomMDPParams) -> TabularModel:
        """The same model :func:`random_mdp` returned (labels are zeros)."""
        labels = jnp.zeros(params.terminal.shape, jnp.uint32)
        return TabularModel(
            params.transitions, params.reward, params.terminal, labels, params.initial
        )

    def reset(self, key: jax.Array, params: RandomMDPParams):
        """Draws the start state from ``initial``."""
        s = jax.random.categorical(key, jnp.log(params.initial)).astype(jnp.int32)
        return s, RandomMDPState(s, jnp.zeros((), jnp.int32))

    def step(self, key: jax.Array, state: RandomMDPState, action: Any, params: Any):
        """Samples s' ~ T(s, a); pays R(s, a, s')."""
        a = jnp.asarray(action, jnp.int32)
        probs = params.transitions[state.state, a]
        nxt = jax.random.categorical(key, jnp.log(probs)).astype(jnp.int32)
        reward = params.reward[state.state, a, nxt].astype(jnp.float32)
        t = state.t + 1
        terminated = params.terminal[nxt]
        truncated = (t >= params.max_steps) & ~terminated
        return nxt, RandomMDPState(nxt, t), reward, terminated, truncated, {}

    def observation_space(self, params: Any) -> gym.Space:
        """``Discrete(S)``."""
        del params  # S is static
        return gym.spaces.Discrete(self.n_states)

    def action_space(self, params: Any) -> gym.Space:
        """``Discrete(A)``."""
        del params  # A is static
        return gym.spaces.Discrete(self.n_actions)

    def __repr__(self) -> str:
        return (
            f"RandomMDP(n_states={self.n_states}, n_actions={self.n_actions}, "
            f"seed={self.seed}, recipe={self.recipe!r})"
        )
