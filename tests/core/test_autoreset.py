import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rewardkit.core import AutoReset, ConfigError
from rewardkit.envs import GridWorld

ENV = GridWorld("S.G", max_steps=5)
PARAMS = ENV.default_params()


def rollout(mode, actions):
    env = AutoReset(ENV, mode=mode)
    step = jax.jit(env.step)
    obs, state = env.reset(jax.random.key(0), PARAMS)
    out = []
    for i, a in enumerate(actions):
        obs, state, r, term, trunc, info = step(jax.random.key(i), state, a, PARAMS)
        out.append(
            (
                int(obs),
                float(r),
                bool(term),
                bool(trunc),
                int(info["final_obs"]),
                bool(info["reset_step"]),
            )
        )
    return out


def test_same_step_returns_reset_obs_and_final_obs():
    out = rollout("SameStep", [1, 1, 1])
    assert out[0] == (1, 0.0, False, False, 1, False)
    assert out[1] == (0, 1.0, True, False, 2, False)  # reset obs, real final obs
    assert out[2] == (1, 0.0, False, False, 1, False)


def test_next_step_inserts_a_pseudo_step():
    out = rollout("NextStep", [1, 1, 1, 1])
    assert out[1] == (2, 1.0, True, False, 2, False)
    assert out[2] == (0, 0.0, False, False, 0, True)  # action ignored, reward 0
    assert out[3] == (1, 0.0, False, False, 1, False)


def test_truncation_resets_too():
    out = rollout("SameStep", [3] * 6)  # bump the left wall until the time limit
    assert [o[3] for o in out] == [False, False, False, False, True, False]


@pytest.mark.parametrize("mode", [None, "Sometimes", "Disabled"])
def test_bad_modes_are_rejected(mode):
    with pytest.raises(ConfigError, match="mode"):
        AutoReset(ENV, mode=mode)


@pytest.mark.parametrize("mode", ["SameStep", "NextStep"])
def test_state_is_stable_under_cond_and_vmap(mode):
    env = AutoReset(ENV, mode=mode)
    _, state = env.reset(jax.random.key(0), PARAMS)

    def reset_or_step(flag, state):
        def do_reset(_):
            return env.reset(jax.random.key(1), PARAMS)[1]

        def do_step(s):
            return env.step(jax.random.key(2), s, 1, PARAMS)[1]

        return jax.lax.cond(flag, do_reset, do_step, state)

    out = jax.jit(reset_or_step)(True, state)
    assert jax.tree.structure(out) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(state), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
    keys = jax.random.split(jax.random.key(0), 8)
    _obs, states = jax.vmap(env.reset, (0, None))(keys, PARAMS)
    res = jax.vmap(env.step, (0, 0, 0, None))(
        keys, states, jnp.ones(8, jnp.int32), PARAMS
    )
    np.testing.assert_array_equal(res[0], np.ones(8))
