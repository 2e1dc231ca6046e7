"""The potential catalogue: hand-worked values, host/jit agreement, bad inputs."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.core import ConfigError
from rewardkit.envs import GridState, GridWorld, RandomMDP
from rewardkit.shaping import (
    advice_from_policy,
    advice_table,
    from_callable,
    from_table,
    grid_states,
    neg_distance,
    offset,
    optimal_value,
    potential_kind,
    scaled,
    subgoals,
    time_indexed,
)
from rewardkit.shaping import sum as psum

# Goal behind a wall: Manhattan 2, BFS 6.
LAYOUT = """
#####
#S#G#
#.#.#
#...#
#####"""
GRID = GridWorld(LAYOUT)


def values(phi, env=GRID):
    return np.asarray([float(phi(s, None)) for s in grid_states(env)])


def test_neg_distance_bfs_and_manhattan_by_hand():
    start, goal = GRID.cell(1, 1), GRID.cell(1, 3)
    bfs, man = values(neg_distance(GRID)), values(neg_distance(GRID, kind="manhattan"))
    assert bfs[start] == -6.0 and man[start] == -2.0 and bfs[goal] == man[goal] == 0.0
    assert bfs[GRID.cell(0, 0)] == -GRID.num_cells  # walls: documented finite value
    np.testing.assert_allclose(
        values(neg_distance(GRID, scale=0.8)), bfs / 0.8, rtol=1e-6
    )
    # targets override the goal set.
    other = values(neg_distance(GRID, targets=[GRID.cell(3, 2)]))
    assert other[start] == -3.0


def test_table_potentials_run_on_numpy_and_under_jit():
    phi = neg_distance(GRID)
    state = GridState(np.int32(GRID.cell(3, 2)), np.int32(0))
    host = phi(state, None)
    assert isinstance(host, np.floating) and host.dtype == np.float32
    dev = jax.jit(phi)(jax.tree.map(jnp.asarray, state), None)
    assert isinstance(dev, jax.Array) and float(dev) == float(host) == -3.0
    # find_state reaches the base state through wrapper states.
    wrapped = rk.shaping.functional.ShapedState(state, None)
    assert float(phi(wrapped, None)) == -3.0


def test_optimal_value_is_gamma_to_the_distance_minus_one():
    gamma = 0.9
    v = values(optimal_value(GRID, gamma=gamma))
    d = GRID.bfs_distances()
    live = (d > 0) & (d < GRID.num_cells)
    np.testing.assert_allclose(v[live], gamma ** (d[live] - 1.0), rtol=1e-5)
    with pytest.raises(ConfigError, match=r"\[0.0, 1.0\)"):
        optimal_value(GRID, gamma=1.0)
    with pytest.raises(ConfigError, match="tabular_model"):
        optimal_value(object(), gamma=0.9)


def test_combinators_and_kinds():
    a, b = neg_distance(GRID), from_callable(lambda s, p: jnp.float32(1.0) * 0 + 2.0)
    va = values(a)
    np.testing.assert_allclose(values(scaled(a, 3.0)), 3 * va)
    np.testing.assert_allclose(values(offset(a, 30.0)), va + 30)
    np.testing.assert_allclose(values(psum(a, b, a)), 2 * va + 2)
    timed = psum(a, time_indexed(lambda s, t: -1.0 * t))
    assert timed.time_indexed
    s0 = grid_states(GRID)[GRID.cell(1, 1)]
    assert float(rk.shaping.evaluate(timed, s0, None, 4)) == -10.0
    assert potential_kind(a) == "state" and potential_kind(lambda env: 0.0) == "env"

    class OptionalParams:  # e.g. a machine potential: __call__(state, params=None)
        def __call__(self, state, params=None):
            return 0.0

    assert potential_kind(OptionalParams()) == "state"
    hooks = []

    class EnvPhi:
        kind = "env"

        def __call__(self, env):
            return 1.0

        def on_reset(self, env):
            hooks.append(env)

    both = psum(EnvPhi(), EnvPhi())
    both.on_reset("env")
    assert hooks == ["env", "env"] and both("x") == 2.0
    with pytest.raises(ConfigError, match="different kinds"):
        psum(a, EnvPhi())
    with pytest.raises(ConfigError, match="at least one"):
        psum()


def test_subgoals_and_from_table():
    phi = subgoals([0.5, 2.0], [lambda s, p: s.pos > 3, lambda s, p: s.t > 0])
    assert float(phi(GridState(np.int32(5), np.int32(0)), None)) == 0.5
    assert float(jax.jit(phi)(GridState(jnp.int32(5), jnp.int32(1)), None)) == 2.5
    tab = from_table(np.arange(4.0), lambda s: s)
    assert float(tab(np.int32(3), None)) == 3.0
    assert float(jax.jit(tab)(jnp.int32(2), None)) == 2.0
    with pytest.raises(ConfigError, match="equal length"):
        subgoals([1.0], [])


def test_advice_potentials():
    adv = advice_from_policy(
        [1, 0, 3], 0.5, lambda s: s, action_space=gym.spaces.Discrete(4)
    )
    assert adv.advice and adv(np.int32(2), None).tolist() == [0, 0, 0, 0.5]
    table = advice_table(np.ones((3, 2)), lambda s: s)
    assert table(np.int32(0), None).shape == (2,)
    with pytest.raises(TypeError, match="Discrete"):
        advice_table(
            np.ones((3, 2)), lambda s: s, action_space=gym.spaces.Box(0, 1, (2,))
        )
    with pytest.raises(TypeError, match="Discrete"):
        advice_from_policy(
            [0], 1.0, lambda s: s, action_space=gym.spaces.Box(0, 1, (2,))
        )
    with pytest.raises(TypeError, match="2 actions"):
        advice_table(np.ones((3, 2)), lambda s: s, action_space=gym.spaces.Discrete(3))
    with pytest.raises(ConfigError, match=r"\[0, 2\)"):
        advice_from_policy([0, 2], 1.0, lambda s: s, num_actions=2)


@pytest.mark.parametrize(
    ("bad", "err", "match"),
    [
        (np.zeros((2, 2)), ConfigError, r"shape \[S\]"),
        (np.zeros(0), ConfigError, r"shape \[S\]"),
        ([1.0, np.nan], ConfigError, "finite"),
        (["a", "b"], TypeError, "numeric"),
    ],
)
def test_from_table_bad_tables(bad, err, match):
    with pytest.raises(err, match=match):
        from_table(bad, lambda s: s)


def test_bad_potential_arguments():
    with pytest.raises(TypeError, match="`potential` must be callable"):
        from_callable(3.0)
    with pytest.raises(TypeError, match="index_fn"):
        from_table([1.0], "pos")
    with pytest.raises(TypeError, match=r"shape \(\).*got shape \(2,\)"):
        from_callable(lambda s, p: jnp.zeros(2), env=GRID)
    with pytest.raises(TypeError, match="dtype bool"):
        from_callable(lambda s, p: s.pos > 0, env=GRID)
    assert from_callable(lambda s, p: s.pos * 1.0, env=GRID).kind == "state"
    with pytest.raises(ConfigError, match=r"shape \[S, A\]"):
        advice_table(np.ones(3), lambda s: s)
    with pytest.raises(ConfigError, match="GridWorld"):
        neg_distance(RandomMDP(n_states=4, n_actions=2))
    with pytest.raises(ConfigError, match="kind"):
        neg_distance(GRID, kind="euclid")
    with pytest.raises(ConfigError, match="scale"):
        neg_distance(GRID, scale=-1)
    with pytest.raises(ConfigError, match="index_fn"):
        optimal_value(_NoIndex(), gamma=0.9)


class _NoIndex(rk.core.Environment):
    """An env with a model but no known state index."""

    def default_params(self):
        return None

    def reset(self, key, params):
        raise AssertionError

    def step(self, key, state, action, params):
        raise AssertionError

    def observation_space(self, params):
        return gym.spaces.Discrete(1)

    def action_space(self, params):
        return gym.spaces.Discrete(1)

    def tabular_model(self, params):
        return GRID.tabular_model()
