"""Per-env vs vector shaping in every autoreset mode; vector vs functional rollouts."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import rewardkit as rk
from rewardkit.core import AutoReset, ConfigError, RewardkitWarning, to_gymnasium_vector
from rewardkit.envs import GridWorld
from rewardkit.shaping import PotentialShaping, grid_states
from rewardkit.shaping import vector as rkv

LAYOUT = """
#######
#S..#.#
#.#...#
#...#G#
#######"""
GAMMA = 0.9
GRID = GridWorld(LAYOUT, max_steps=9)
PHI = rk.shaping.neg_distance(GRID)
TABLE = np.asarray([float(PHI(s, None)) for s in grid_states(GRID)], np.float32)
BAR = 2.0**-21 * 10


class PyGrid(gym.Env):
    """The same grid in plain NumPy (fast to build in every sub-env)."""

    def __init__(self):
        self.observation_space = gym.spaces.Discrete(GRID.num_cells)
        self.action_space = gym.spaces.Discrete(4)
        self.pos, self.t = 0, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos, self.t = GRID.cell(*GRID.start), 0
        return self.pos, {}

    def step(self, action):
        self.pos = int(GRID.next_cell[self.pos, int(action)])
        self.t += 1
        term = bool(GRID.is_terminal_cell[self.pos])
        trunc = self.t >= 9 and not term
        return self.pos, float(GRID.goals.ravel()[self.pos]), term, trunc, {}


def env_phi(env):
    return TABLE[env.pos]


def obs_phi(obs):
    return jnp.asarray(TABLE)[obs]


def _run(mode, truncation, steps=150, seed=0):
    per_env = SyncVectorEnv(
        [lambda: PotentialShaping(PyGrid(), env_phi, GAMMA, truncation)] * 4,
        autoreset_mode=mode,
    )
    vec = rkv.PotentialShaping(
        SyncVectorEnv([PyGrid] * 4, autoreset_mode=mode), obs_phi, GAMMA, truncation
    )
    rng = np.random.default_rng(seed)
    per_env.reset(seed=seed)
    vec.reset(seed=seed)
    out = []
    for _ in range(steps):
        a = rng.integers(0, 4, size=4)
        o1, r1, t1, u1, _i1 = per_env.step(a)
        o2, r2, t2, u2, i2 = vec.step(a)
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(u1, u2)
        assert np.max(np.abs(r1 - r2)) <= BAR
        out.append((r2, t2, u2, i2))
        if mode is AutoresetMode.DISABLED and (t1 | u1).any():
            mask = t1 | u1
            per_env.reset(options={"reset_mask": mask.copy()})
            vec.reset(options={"reset_mask": mask})
    return out


@pytest.mark.parametrize("truncation", ["bootstrap", "zero"])
@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_per_env_equals_vector_in_every_mode(mode, truncation):
    out = _run(mode, truncation)
    ends = sum(int((t | u).sum()) for _, t, u, _ in out)
    assert ends >= 20
    # Telescoping per sub-env episode: no term crosses a boundary.
    start = TABLE[GRID.cell(*GRID.start)]
    for i in range(4):
        total, t, pending = 0.0, 0, False
        for r, term, trunc, info in out:
            f = float(info["shaping_reward"][i])
            if pending:  # NEXT_STEP reset step
                assert f == 0.0 and r[i] == 0.0
                pending = False
                continue
            assert r[i] == pytest.approx(info["extrinsic_reward"][i] + f)
            total += GAMMA**t * f
            t += 1
            if term[i] or trunc[i]:
                boot = (
                    0.0 if term[i] else GAMMA**t * float(info["shaping_potential"][i])
                )
                assert abs(total - (-start + boot)) <= 1e-5
                total, t = 0.0, 0
                pending = mode is AutoresetMode.NEXT_STEP


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_vector_wrapper_on_jax_adapter_equals_vmapped_functional(mode):
    n, steps = 3, 40
    venv = rkv.PotentialShaping(
        to_gymnasium_vector(GRID, None, n, autoreset_mode=mode), obs_phi, GAMMA
    )
    env = AutoReset(rk.shaping.functional.PotentialShaping(GRID, PHI, GAMMA), mode=mode)
    params = env.default_params()
    reset = jax.jit(jax.vmap(env.reset, (0, None)))
    step = jax.jit(jax.vmap(env.step, (0, 0, 0, None)))
    venv.reset(seed=0)
    _, state = reset(jax.random.split(jax.random.key(0), n), params)
    actions = np.random.default_rng(1).integers(0, 4, size=(steps, n))
    worst = 0.0
    for i, a in enumerate(actions):
        _, r_v, t_v, u_v, _ = venv.step(a)
        keys = jax.random.split(jax.random.key(i + 1), n)
        _, state, r_f, t_f, u_f, _ = step(keys, state, jnp.asarray(a), params)
        np.testing.assert_array_equal(t_v, np.asarray(t_f))
        np.testing.assert_array_equal(u_v, np.asarray(u_f))
        worst = max(worst, float(np.max(np.abs(r_v - np.asarray(r_f)))))
    assert worst <= BAR


def test_autoreset_mode_missing_warns_unknown_raises():
    venv = SyncVectorEnv([PyGrid] * 2)
    venv.metadata = {k: v for k, v in venv.metadata.items() if k != "autoreset_mode"}
    with pytest.warns(RewardkitWarning, match="assuming"):
        env = rkv.PotentialShaping(venv, obs_phi, GAMMA)
    assert env.autoreset_mode is AutoresetMode.NEXT_STEP
    venv.metadata = {**venv.metadata, "autoreset_mode": "Sometimes"}
    with pytest.raises(ValueError, match="autoreset_mode"):
        rkv.PotentialShaping(venv, obs_phi, GAMMA)


def test_vector_errors():
    venv = SyncVectorEnv([PyGrid] * 2)
    with pytest.raises(ConfigError, match="gamma"):
        rkv.PotentialShaping(venv, obs_phi, 2.0)
    with pytest.raises(TypeError, match="callable"):
        rkv.PotentialShaping(venv, TABLE, GAMMA)
    env = rkv.PotentialShaping(venv, lambda obs: jnp.zeros(3), GAMMA)
    with pytest.raises(TypeError, match=r"shape \(2,\)"):
        env.reset(seed=0)
    with pytest.raises(ConfigError, match="already used"):
        rkv.PotentialShaping(rkv.PotentialShaping(venv, obs_phi, GAMMA), obs_phi, GAMMA)
