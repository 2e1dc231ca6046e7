import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rewardkit as rk
from rewardkit.core import AutoReset, to_gymnasium, to_gymnasium_vector
from rewardkit.envs import GridWorld

from .._warnings import CHECK_ENV_EXPECTED_WARNINGS

LAYOUT = """
#####
#S..#
#.#G#
#####
"""


@pytest.mark.filterwarnings(*CHECK_ENV_EXPECTED_WARNINGS)
@pytest.mark.parametrize("obs", ["index", "coords", "onehot", "planes"])
def test_to_gymnasium_passes_check_env(obs):
    env = to_gymnasium(GridWorld(LAYOUT, obs=obs))
    check_env(env, skip_render_check=True)
    env.reset(seed=3)
    out = env.step(1)
    assert type(out[1]) is float and type(out[2]) is bool and type(out[3]) is bool


@pytest.mark.parametrize("env_id", rk.envs.register_envs())
def test_every_registered_id_passes_check_env(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_to_gymnasium_reproduces_with_seed_and_exposes_state():
    env = to_gymnasium(GridWorld(LAYOUT, slip_prob=0.5))
    traj = []
    for _ in range(2):
        env.reset(seed=7)
        traj.append([env.step(1)[0].item() for _ in range(10)])
    assert traj[0] == traj[1]
    assert isinstance(env.unwrapped.state, rk.envs.GridState)
    with pytest.raises(gym.error.ResetNeeded):
        to_gymnasium(GridWorld(LAYOUT)).step(0)


@pytest.mark.parametrize("mode", ["SameStep", "NextStep"])
def test_vector_adapter_equals_vmapped_functional_rollout(mode):
    base = GridWorld(LAYOUT, slip_prob=0.3, max_steps=6)
    venv = to_gymnasium_vector(base, None, 3, autoreset_mode=mode)
    obs, _ = venv.reset(seed=0)
    env = AutoReset(base, mode=mode)
    params = base.default_params()
    # Re-create the adapter's keys: the reset key comes from np_random.
    rng = np.random.default_rng(0)
    key = jax.random.key(int(rng.integers(0, 2**31 - 1)))
    key, *subs = jax.random.split(key, 4)
    f_obs, state = jax.vmap(env.reset, (0, None))(jnp.stack(subs), params)
    np.testing.assert_array_equal(obs, f_obs)
    actions = np.random.default_rng(1).integers(0, 4, size=(25, 3))
    ends = 0
    for a in actions:
        obs, rew, term, trunc, info = venv.step(a)
        key, *subs = jax.random.split(key, 4)
        f_obs, state, f_rew, f_term, f_trunc, f_info = jax.vmap(
            env.step, (0, 0, 0, None)
        )(jnp.stack(subs), state, jnp.asarray(a), params)
        np.testing.assert_array_equal(obs, f_obs)
        assert np.max(np.abs(rew - np.asarray(f_rew))) == 0.0
        np.testing.assert_array_equal(term, f_term)
        np.testing.assert_array_equal(trunc, f_trunc)
        done = term | trunc
        ends += done.sum()
        if mode == "SameStep" and done.any():
            for i in np.flatnonzero(done):
                assert info["final_obs"][i] == f_info["final_obs"][i]
            np.testing.assert_array_equal(info["_final_obs"], done)
    assert ends > 0
