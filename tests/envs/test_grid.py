import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rewardkit.core import ConfigError
from rewardkit.envs import GridWorld, parse_layout

LAYOUT = """
######
#Sa.b#
#.#~G#
#..P.#
######
"""


def test_layout_errors_name_character_and_position():
    with pytest.raises(
        ConfigError, match=r"unknown character '\?' at \(row 1, col 2\)"
    ):
        GridWorld("#####\n#S?G#\n#####")
    with pytest.raises(ConfigError, match="equal length"):
        parse_layout("###\n##")
    with pytest.raises(ConfigError, match="exactly one start"):
        GridWorld("..G")
    with pytest.raises(ConfigError, match="max_steps"):
        GridWorld("S.G", max_steps=0)
    with pytest.raises(ConfigError, match="slip_prob"):
        GridWorld("S.G", slip_prob=1.5)
    with pytest.raises(ConfigError, match="blocked"):
        GridWorld("S.G", blocked=[(0, 9, 1)])
    with pytest.raises(ConfigError, match="obs"):
        GridWorld("S.G", obs="pixels")


def test_propositions_follow_letter_order_and_legend():
    env = GridWorld(LAYOUT, propositions={"b": "coffee"})
    assert env.propositions == ("a", "coffee")
    p = env.default_params()
    _, s = env.reset(jax.random.key(0), p)
    _, s, *_ = env.step(jax.random.key(0), s, 1, p)  # onto 'a'
    assert int(env.labels(s, p)) == 1
    assert env.cell_label[env.cell(1, 4)] == 2


def test_walls_edges_goal_hazard_and_time_limit():
    env = GridWorld(LAYOUT, blocked=[(1, 1, 2)], max_steps=3, hazard_reward=-2.0)
    p = env.default_params()
    _, s = env.reset(jax.random.key(0), p)
    _, s2, *_ = env.step(jax.random.key(0), s, 0, p)  # wall above
    assert int(s2.pos) == env.cell(1, 1)
    _, s2, *_ = env.step(jax.random.key(0), s, 2, p)  # edge wall below
    assert int(s2.pos) == env.cell(1, 1)
    hazard = s._replace(pos=jnp.int32(env.cell(3, 2)))
    _, s3, r, term, trunc, _ = env.step(jax.random.key(0), hazard, 1, p)
    assert (int(s3.pos), float(r), bool(term)) == (env.cell(3, 3), -2.0, True)
    _, _, _, term, trunc, _ = env.step(
        jax.random.key(0), s._replace(t=jnp.int32(2)), 0, p
    )
    assert bool(trunc) and not bool(term)


def test_tabular_model_matches_sampled_dynamics():
    env = GridWorld(LAYOUT, slip_prob=0.3)
    model = env.tabular_model()
    p = env.default_params()
    s0 = env.cell(2, 1)
    state = env.reset(jax.random.key(0), p)[1]._replace(pos=jnp.int32(s0))
    keys = jax.random.split(jax.random.key(3), 4000)
    nxt = jax.jit(jax.vmap(lambda k: env.step(k, state, 1, p)[1].pos))(keys)
    freq = np.bincount(np.asarray(nxt), minlength=env.num_cells) / len(keys)
    np.testing.assert_allclose(freq, model.transitions[s0, 1], atol=0.03)
    np.testing.assert_allclose(model.transitions.sum(-1), 1.0, atol=1e-6)
    assert model.terminal[env.cell(2, 4)] and model.terminal[env.cell(3, 3)]
    # The `~` cell slips with tile_slip_prob even without a global slip probability.
    env2 = GridWorld(LAYOUT)
    assert env2.stochastic
    m2 = env2.tabular_model()
    assert abs(m2.transitions[env2.cell(2, 3), 1].max() - 0.8) < 1e-6


def test_bfs_distances_respect_walls():
    env = GridWorld(LAYOUT)
    d = env.bfs_distances()
    assert d[env.cell(2, 4)] == 0 and d[env.cell(1, 1)] == 4
    assert d[env.cell(0, 0)] == env.num_cells  # walls are unreachable


@pytest.mark.parametrize(
    "obs,shape",
    [("index", ()), ("coords", (2,)), ("onehot", (30,)), ("planes", (5, 6, 6))],
)
def test_observations_jit_and_vmap(obs, shape):
    env = GridWorld(LAYOUT, obs=obs)
    p = env.default_params()
    keys = jax.random.split(jax.random.key(0), 4)
    _o, s = jax.vmap(env.reset, (0, None))(keys, p)
    o2, *_ = jax.jit(jax.vmap(env.step, (0, 0, 0, None)))(
        keys, s, jnp.ones(4, jnp.int32), p
    )
    o3, *_ = env.step(keys[0], jax.tree.map(lambda x: x[0], s), 1, p)
    assert o2.shape == (4, *shape)
    np.testing.assert_array_equal(o2[0], o3)
    assert env.observation_space(p).contains(np.asarray(o3))
