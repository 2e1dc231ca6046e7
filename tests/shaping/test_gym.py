"""The Gymnasium front-end: MiniGrid, check_env, info contract, parity with functional."""

import gymnasium as gym
import jax
import minigrid  # noqa: F401 - registers the MiniGrid ids
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import RecordEpisodeStatistics

import rewardkit as rk
from rewardkit.core import ConfigError, to_gymnasium
from rewardkit.envs import GridWorld
from rewardkit.shaping import PotentialShaping
from rewardkit.shaping import minigrid as mg
from tests._warnings import CHECK_ENV_EXPECTED_WARNINGS

LAYOUT = """
#######
#S..#.#
#.#...#
#...#G#
#######"""
GAMMA = 0.9
GRID = GridWorld(LAYOUT, max_steps=9)
PHI = rk.shaping.neg_distance(GRID)


@pytest.mark.filterwarnings(*CHECK_ENV_EXPECTED_WARNINGS)
@pytest.mark.parametrize("env_id", ["MiniGrid-Empty-5x5-v0", "MiniGrid-DoorKey-5x5-v0"])
@pytest.mark.parametrize("potential", [mg.bfs_to_goal, mg.doorkey_stages])
def test_check_env_minigrid(env_id, potential):
    env = PotentialShaping(gym.make(env_id), potential(), 0.99)
    check_env(env, skip_render_check=True)


@pytest.mark.filterwarnings(*CHECK_ENV_EXPECTED_WARNINGS)
def test_check_env_shaped_rewardkit_env():
    env = PotentialShaping(to_gymnasium(GRID), PHI, GAMMA, truncation="zero")
    check_env(env, skip_render_check=True)
    _, _ = env.reset(seed=0)
    _, r, term, trunc, _info = env.step(1)
    assert type(r) is float and type(term) is bool and type(trunc) is bool


def test_bfs_to_goal_on_empty_grid_counts_moves():
    env = PotentialShaping(
        gym.make("MiniGrid-Empty-5x5-v0"), mg.bfs_to_goal(scale=2.0), 1.0
    )
    env.reset(seed=0)
    base = env.unwrapped
    # Empty-5x5: agent at (1, 1) facing right, goal at (3, 3): 4 moves.
    assert tuple(int(x) for x in base.agent_pos) == (1, 1)
    _, r, *_, info = env.step(base.actions.forward)
    assert info["shaping_potential"] == -1.5  # 3 moves left, scale 2
    assert np.isclose(info["shaping_reward"], 0.5) and np.isclose(r, 0.5)


def _doorkey(seed):
    env = gym.make("MiniGrid-DoorKey-5x5-v0")
    env.reset(seed=seed)
    return env


def test_bfs_to_goal_locked_door_needs_key():
    env = _doorkey(0)
    base = env.unwrapped
    phi = mg.bfs_to_goal()
    phi.on_reset(env)
    unreachable = -float(base.grid.width * base.grid.height)
    assert float(phi(env)) == unreachable  # the locked door blocks the way
    key = next(o for o in base.grid.grid if o is not None and o.type == "key")
    base.carrying = key  # with the key the door is passable
    with_key = float(phi(env))
    assert unreachable < with_key < 0
    base.carrying = None
    door = next(o for o in base.grid.grid if o is not None and o.type == "door")
    door.is_open, door.is_locked = True, False
    assert float(phi(env)) == with_key
    fresh = _doorkey(0)
    stages = mg.doorkey_stages(0.25, 0.5)
    stages.on_reset(fresh)
    assert float(stages(fresh)) == 0.0
    fb = fresh.unwrapped
    fb.carrying = next(o for o in fb.grid.grid if o is not None and o.type == "key")
    assert float(stages(fresh)) == 0.25
    fdoor = next(o for o in fb.grid.grid if o is not None and o.type == "door")
    fdoor.is_open, fdoor.is_locked = True, False  # as toggling with the key does
    assert float(stages(fresh)) == 0.75


def test_record_episode_statistics_inside_reports_unshaped_return():
    inner = RecordEpisodeStatistics(gym.make("MiniGrid-Empty-5x5-v0"))
    env = PotentialShaping(inner, mg.bfs_to_goal(), 0.99)
    env.reset(seed=0)
    shaped, extrinsic = 0.0, 0.0
    base = env.unwrapped
    for a in (
        [base.actions.forward] * 2 + [base.actions.right] + [base.actions.forward] * 2
    ):
        _, r, term, _trunc, info = env.step(a)
        shaped += r
        extrinsic += info["extrinsic_reward"]
        assert r == pytest.approx(info["extrinsic_reward"] + info["shaping_reward"])
    assert term and extrinsic > 0
    assert info["episode"]["r"] == pytest.approx(extrinsic)
    assert shaped != pytest.approx(extrinsic)


def test_info_contract_extrinsic_set_once_and_duplicate_names():
    env = PotentialShaping(to_gymnasium(GRID), PHI, GAMMA, name="a")
    env = PotentialShaping(env, rk.shaping.scaled(PHI, 2.0), GAMMA, name="b")
    terms = rk.core.reward_terms(env)
    assert [t.name for t in terms] == ["b", "a"]
    env.reset(seed=0)
    for a in [1, 1, 2, 2, 1, 1]:
        _, r, _term, _trunc, info = env.step(a)
        assert r == pytest.approx(
            info["extrinsic_reward"] + info["a_reward"] + info["b_reward"]
        )
        assert np.isclose(info["b_reward"], 2 * info["a_reward"], atol=1e-6)
    with pytest.raises(ConfigError, match="'a' is already used"):
        PotentialShaping(env, PHI, GAMMA, name="a")
    with pytest.raises(ConfigError, match="identifier"):
        PotentialShaping(to_gymnasium(GRID), PHI, GAMMA, name="has space")


def test_gym_wrapper_equals_functional_wrapper_on_same_trajectory():
    actions = [1, 1, 2, 2, 1, 1, 3, 0, 2, 2, 1, 1, 1, 2, 3, 3]
    for truncation in ("bootstrap", "zero"):
        genv = PotentialShaping(to_gymnasium(GRID), PHI, GAMMA, truncation=truncation)
        fenv = rk.shaping.functional.PotentialShaping(GRID, PHI, GAMMA, truncation)
        params = fenv.default_params()
        step = jax.jit(fenv.step)
        genv.reset(seed=0)
        _, state = fenv.reset(jax.random.key(0), params)
        ends = 0
        for i, a in enumerate(actions):
            _, rg, tg, ug, ig = genv.step(a)
            _, state, rf, tf, uf, if_ = step(jax.random.key(i), state, a, params)
            assert (tg, ug) == (bool(tf), bool(uf))
            bar = 2.0**-21 * 10
            assert abs(rg - float(rf)) <= bar
            assert abs(ig["shaping_reward"] - float(if_["shaping_reward"])) <= bar
            assert ig["shaping_potential"] == float(if_["shaping_potential"])
            if tg or ug:
                ends += 1
                genv.reset(seed=i)
                _, state = fenv.reset(jax.random.key(100 + i), params)
        assert ends >= 1


def test_time_indexed_potential_lifted_through_state():
    table = np.asarray(
        [float(PHI(s, None)) for s in rk.shaping.grid_states(GRID)], np.float32
    )
    phi = rk.shaping.time_indexed(
        lambda s, t: jax.numpy.asarray(table)[s.pos] - 0.5 * t.astype(np.float32)
    )
    env = PotentialShaping(to_gymnasium(GRID), phi, 1.0)
    env.reset(seed=0)
    start = table[GRID.cell(*GRID.start)]
    _, _r, *_, info = env.step(3)  # into the wall: stays put, one step later
    assert np.isclose(info["shaping_potential"], start - 0.5)
    assert np.isclose(info["shaping_reward"], -0.5)


def test_advice_published_on_discrete_only():
    adv = rk.shaping.advice_table(
        np.eye(GRID.num_cells, 4, dtype=np.float32), rk.shaping.grid_index
    )
    env = PotentialShaping(to_gymnasium(GRID), PHI, GAMMA, advice=adv)
    env.reset(seed=0)
    _, _, _, _, info = env.step(1)
    assert (
        info["shaping_advice"].shape == (4,)
        and info["shaping_advice"].dtype == np.float32
    )
    box = gym.make("Pendulum-v1")
    with pytest.raises(TypeError, match="Discrete"):
        PotentialShaping(box, lambda env: 0.0, GAMMA, advice=lambda env: np.zeros(1))


def test_errors():
    with pytest.raises(ConfigError, match="gamma"):
        PotentialShaping(gym.make("MiniGrid-Empty-5x5-v0"), mg.bfs_to_goal(), -0.5)
    with pytest.raises(ConfigError, match="truncation"):
        PotentialShaping(
            gym.make("MiniGrid-Empty-5x5-v0"), mg.bfs_to_goal(), 0.9, "clip"
        )
    with pytest.raises(TypeError, match="callable"):
        PotentialShaping(gym.make("MiniGrid-Empty-5x5-v0"), 3.0, 0.9)
    with pytest.raises(TypeError, match="EnvPotential"):  # state potential on MiniGrid
        PotentialShaping(gym.make("MiniGrid-Empty-5x5-v0"), PHI, 0.9)
    with pytest.raises(gym.error.ResetNeeded):
        PotentialShaping(to_gymnasium(GRID), PHI, GAMMA).step(0)
    with pytest.raises(ConfigError, match="scale"):
        mg.bfs_to_goal(scale=0.0)


def test_repr_names_options():
    env = PotentialShaping(to_gymnasium(GRID), PHI, GAMMA, truncation="zero")
    assert "truncation='zero'" in repr(env) and "gamma=0.9" in repr(env)
    assert env.spec is None or env.spec.kwargs is not None


def test_make_vec_with_per_env_wrappers():
    envs = gym.make_vec(
        "MiniGrid-Empty-5x5-v0",
        2,
        vectorization_mode="sync",
        wrappers=[lambda e: PotentialShaping(e, mg.bfs_to_goal(), 0.9)],
    )
    envs.reset(seed=0)
    _, r, *_, info = envs.step(np.array([2, 0]))  # forward; turn left
    np.testing.assert_allclose(
        info["shaping_reward"], [1.3, 0.9 * -4.0 + 4.0], atol=1e-6
    )
    np.testing.assert_allclose(r, info["shaping_reward"], atol=1e-6)
    envs.close()


def test_minigrid_potentials_shared_by_several_envs():
    phi, stages = mg.bfs_to_goal(), mg.doorkey_stages()
    envs = [_doorkey(seed) for seed in (0, 1, 2, 3)]
    alone = []
    for env in envs:
        base = env.unwrapped  # carry the key: distances then depend on the layout
        base.carrying = next(
            o for o in base.grid.grid if o is not None and o.type == "key"
        )
        own = mg.bfs_to_goal()
        own.on_reset(env)
        alone.append(float(own(env.unwrapped)))
        phi.on_reset(env)
        stages.on_reset(env)
    for _ in range(2):  # interleaved calls pick each env's own tables
        for env, want in zip(envs, alone, strict=True):
            assert float(phi(env.unwrapped)) == want
            assert float(phi(env)) == want
            assert float(stages(env)) == 0.5
    assert len(set(alone)) > 1
