"""Small fixtures shared by the intrinsic tests: a tiny env, batches, NumPy nets."""

from __future__ import annotations

import functools

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import rewardkit as rk
from rewardkit.core import Transition
from rewardkit.intrinsic import BonusState

OBS_SPACE = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
ACT_SPACE = gym.spaces.Discrete(3)
SMALL = {"latent_dim": 8, "hidden": 16, "batch_size": 8, "warmup_transitions": 0}


class TinyBoxEnv(gym.Env):
    """Deterministic given the seed: obs drift with the action; fixed length."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self, length: int = 3, terminate: bool = True):
        self.observation_space = OBS_SPACE
        self.action_space = ACT_SPACE
        self.length, self.terminate = length, terminate
        self._t, self._x = 0, np.zeros(4, np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._x = self.np_random.uniform(-0.5, 0.5, 4).astype(np.float32)
        return self._x.copy(), {}

    def step(self, action):
        self._t += 1
        shift = np.float32(0.1) * (np.arange(4, dtype=np.float32) - int(action))
        self._x = np.clip(self._x + shift, -1, 1).astype(np.float32)
        end = self._t >= self.length
        term, trunc = (end, False) if self.terminate else (False, end)
        return self._x.copy(), float(self._t % 2), term, trunc, {}


def random_batch(key, t=5, n=2, done_at=None):
    """A random [t, n] Transition on OBS_SPACE/ACT_SPACE; optional dones."""
    k1, k2 = jax.random.split(key)
    obs = jax.random.uniform(k1, (t + 1, n, 4), minval=-1.0, maxval=1.0)
    act = jax.random.randint(k2, (t, n), 0, 3)
    done = jnp.zeros((t, n), bool)
    if done_at is not None:
        done = done.at[done_at].set(True)
    return Transition(
        obs=obs[:-1],
        action=act,
        reward=jnp.zeros((t, n)),
        next_obs=obs[1:],
        terminated=done,
        truncated=jnp.zeros((t, n), bool),
    )


def pure(state):
    """nnx.State -> nested dict of float64 NumPy arrays."""
    return jax.tree.map(lambda x: np.asarray(x, np.float64), nnx.to_pure_dict(state))


def np_mlp(layers, x):
    """Linear-ReLU-...-Linear in float64 from a pure {'layers': {i: ...}} dict."""
    layers = layers["layers"]
    for i in range(len(layers)):
        x = x @ layers[i]["kernel"] + layers[i]["bias"]
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x


def np_encoder(state, x):
    """The vector encoder (an MLP under 'head')."""
    return np_mlp(state["head"], x)


def assert_trees_equal(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def np_e3b(phi_obs, phi_next, done, valid, lam, score="next", zero_first=True):
    """Slow float64 E3B: explicit inverses of λI + Σφφᵀ per episode.

    phi_obs, phi_next: [T, N, d]; done, valid: [T, N]. Returns [T, N].
    """
    t_len, n, d = phi_obs.shape
    out = np.zeros((t_len, n))
    for i in range(n):
        mem, fresh = [], True
        for t in range(t_len):
            if not valid[t, i]:
                continue
            if fresh:
                mem = [phi_obs[t, i]] if score == "next" else []
            q = phi_next[t, i] if score == "next" else phi_obs[t, i]
            cov = lam * np.eye(d) + sum((np.outer(p, p) for p in mem), np.zeros((d, d)))
            b = q @ np.linalg.solve(cov, q)
            out[t, i] = 0.0 if (score == "current" and fresh and zero_first) else b
            mem.append(q)
            fresh = bool(done[t, i])
    return out


FAST = {**SMALL, "learning_rate": 1e-2}
N, T = 2, 5
#: The contract table: every bonus (and the presets that change code paths).
BONUSES = {
    "rnd": lambda n: rk.intrinsic.rnd(num_envs=n, update_proportion=1.0, **FAST),
    "icm": lambda n: rk.intrinsic.icm(num_envs=n, **FAST),
    "disagreement": lambda n: rk.intrinsic.disagreement(
        num_envs=n, ensemble_size=3, **FAST
    ),
    "e3b": lambda n: rk.intrinsic.e3b(num_envs=n, **FAST),
    "rnd+e3b": lambda n: rk.intrinsic.combine(
        [
            (rk.intrinsic.rnd(num_envs=n, update_proportion=1.0, **FAST), 1.0),
            (rk.intrinsic.e3b(num_envs=n, **FAST), 0.5),
        ]
    ),
}
#: Further instances used by oracle tests only.
EXTRA = {
    "disagreement_rr": lambda n: rk.intrinsic.disagreement(
        num_envs=n, preset="rllte", ensemble_size=2, **FAST
    ),
    "e3b_rllte": lambda n: rk.intrinsic.e3b(num_envs=n, preset="rllte", **FAST),
    "icm_rllte": lambda n: rk.intrinsic.icm(num_envs=n, preset="rllte", **FAST),
}


def members(state):
    """The member ``BonusState``s of a state (a combination's tuple, or itself)."""
    return (state,) if isinstance(state, BonusState) else tuple(state)


def fresh_episodes(state, start):
    """``state`` with ``start``'s episodic arrays and return filters, per member."""
    if isinstance(state, BonusState):
        return state._replace(episodic=start.episodic, ret_filter=start.ret_filter)
    return tuple(map(fresh_episodes, state, start))


def with_beta0(state, value):
    """``state`` with every member's ``beta0`` leaf set to ``value``."""
    if isinstance(state, BonusState):
        return state._replace(beta0=jnp.float32(value))
    return tuple(with_beta0(s, value) for s in state)


class Case:
    """A bonus with counted, jitted functions (compiled once per test session)."""

    def __init__(self, name):
        self.bonus = {**BONUSES, **EXTRA}[name](N)
        self.traces = {"compute": 0, "update": 0}

        def counted(kind, fn):
            def f(state, batch):
                self.traces[kind] += 1  # runs only while tracing
                return fn(state, batch)

            return jax.jit(f)

        self.compute = counted("compute", self.bonus.compute)
        self.update = counted("update", self.bonus.update)
        self.state = self.bonus.init(jax.random.key(0), OBS_SPACE, ACT_SPACE)
        self.batch = random_batch(jax.random.key(1), T, N, done_at=(2, 0))
        # One rollout of statistics, so the reward scale is known; fresh episodes.
        _, warm, _ = self.compute(self.state, self.batch)
        warm, _ = self.update(warm, self.batch)
        self.warm = fresh_episodes(warm, self.state)


@functools.cache
def case(name):
    """The shared Case of a table entry."""
    return Case(name)
