import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rewardkit as rk
from rewardkit.envs import RandomMDP, random_mdp
from tests._warnings import CHECK_ENV_EXPECTED_WARNINGS


@pytest.mark.parametrize(
    ("recipe", "reward"),
    [("garnet", "dense"), ("starc", "sparse"), ("garnet", "state")],
)
def test_model_is_valid_and_absorbing(recipe, reward):
    m = random_mdp(
        jax.random.key(3), 9, 3, branching=2, n_terminal=2, reward=reward, recipe=recipe
    )
    rk.core.check_tabular_model(m)
    t = np.asarray(m.transitions)
    assert t.dtype == np.float32 and m.reward.dtype == jnp.float32
    assert np.allclose(t.sum(-1), 1.0, atol=1e-6) and (t >= 0).all()
    term = np.asarray(m.terminal)
    assert term.tolist() == [False] * 7 + [True] * 2
    for s in np.flatnonzero(term):
        assert np.allclose(t[s, :, s], 1.0)
        assert np.all(np.asarray(m.reward)[s] == 0.0)
    # uniform init over non-terminal states
    assert np.allclose(np.asarray(m.initial), np.r_[np.full(7, 1 / 7), 0, 0])


def test_garnet_branching():
    m = random_mdp(jax.random.key(0), 12, 4, branching=3)
    counts = (np.asarray(m.transitions) > 0).sum(-1)
    assert counts.max() <= 3 and counts.min() >= 1


def test_starc_recipe_matches_hand_computed_logits():
    key = jax.random.key(5)
    m = random_mdp(key, 10, 2, recipe="starc")
    k_t = jax.random.split(key, 4)[0]
    z = np.asarray(jax.random.normal(k_t, (10, 2, 10)), np.float64)
    z = np.where(z > 1.0, z, -20.0)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(m.transitions), p, atol=1e-6)


def test_init_single_and_sparse_reward():
    m = random_mdp(
        jax.random.key(1), 6, 2, n_terminal=1, reward="sparse", init="single"
    )
    assert np.asarray(m.initial).tolist() == [1, 0, 0, 0, 0, 0]
    r = np.asarray(m.reward)
    assert np.all(r[:5, :, 5] == 1.0) and np.all(r[:5, :, :5] == 0.0)


def test_deterministic_in_key_and_vmappable():
    keys = jax.random.split(jax.random.key(7), 3)
    batch = jax.vmap(lambda k: random_mdp(k, 8, 3, n_terminal=1))(keys)
    assert batch.transitions.shape == (3, 8, 3, 8)
    for i in range(3):
        one = random_mdp(keys[i], 8, 3, n_terminal=1)
        np.testing.assert_array_equal(batch.transitions[i], one.transitions)
        np.testing.assert_array_equal(batch.reward[i], one.reward)
    assert not np.array_equal(batch.reward[0], batch.reward[1])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"branching": 20}, "branching"),
        ({"n_terminal": 8}, "n_terminal"),
        ({"reward": "nope"}, "reward"),
        ({"init": "x"}, "init"),
        ({"recipe": "x"}, "recipe"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(rk.core.ConfigError, match=f"`{name}`"):
        random_mdp(jax.random.key(0), 8, 2, **kwargs)


def test_env_matches_model_and_time_limit():
    env = RandomMDP(n_states=5, n_actions=2, seed=4, n_terminal=1, max_steps=3)
    params = env.default_params()
    model = env.tabular_model(params)
    ref = random_mdp(jax.random.key(4), 5, 2, n_terminal=1)
    np.testing.assert_array_equal(model.transitions, ref.transitions)
    np.testing.assert_array_equal(model.reward, ref.reward)
    step = jax.jit(env.step)
    obs, state = env.reset(jax.random.key(0), params)
    assert obs.dtype == jnp.int32 and not bool(params.terminal[obs])
    # Empirical next-state frequencies follow T.
    keys = jax.random.split(jax.random.key(1), 4000)
    s0 = state._replace(state=jnp.int32(0))
    nxt = jax.vmap(lambda k: step(k, s0, 1, params)[0])(keys)
    freq = np.bincount(np.asarray(nxt), minlength=5) / 4000
    np.testing.assert_allclose(freq, np.asarray(model.transitions[0, 1]), atol=0.04)
    o, st, r, term, trunc, _ = step(jax.random.key(2), s0, 1, params)
    assert float(r) == pytest.approx(float(model.reward[0, 1, int(o)]))
    assert bool(term) == bool(model.terminal[int(o)])
    # truncation after max_steps when not terminated
    live = RandomMDP(n_states=5, n_actions=2, seed=4, max_steps=3)
    lp = live.default_params()
    _, st = live.reset(jax.random.key(0), lp)
    flags = []
    for i in range(3):
        _, st, _, term, trunc, _ = step(jax.random.key(i), st, 0, lp)
        flags.append((bool(term), bool(trunc)))
    assert flags == [(False, False), (False, False), (False, True)]


@pytest.mark.filterwarnings(*CHECK_ENV_EXPECTED_WARNINGS)
def test_check_env_from_plain_kwargs():
    env = RandomMDP(n_states=16, n_actions=4, seed=0)
    genv = rk.core.to_gymnasium(env)
    check_env(genv, skip_render_check=True)
    assert isinstance(genv.observation_space, gym.spaces.Discrete)
    obs, _ = genv.reset(seed=0)
    assert genv.observation_space.contains(obs)
