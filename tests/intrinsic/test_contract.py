"""One contract suite that every bonus passes (spec §1, STYLE §2.8)."""

from __future__ import annotations

import functools
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rewardkit as rk
from tests._warnings import CHECK_ENV_EXPECTED_WARNINGS
from tests.intrinsic._helpers import (
    ACT_SPACE,
    BONUSES,
    OBS_SPACE,
    N,
    T,
    TinyBoxEnv,
    assert_trees_equal,
    case,
    members,
    random_batch,
    with_beta0,
)


@pytest.fixture(params=sorted(BONUSES))
def c(request):
    return case(request.param)


def test_jit_and_eager_agree_and_outputs_are_finite(c):
    r_jit, s_jit, i_jit = c.compute(c.warm, c.batch)
    r_eager, s_eager, _ = c.bonus.compute(c.warm, c.batch)
    assert np.any(r_jit != 0)
    assert r_jit.shape == (T, N) and r_jit.dtype == jnp.float32
    assert np.all(np.isfinite(r_jit)) and np.all(np.isfinite(i_jit["raw"]))
    np.testing.assert_allclose(r_jit, r_eager, rtol=2e-5, atol=1e-6)
    u_jit, m_jit = c.update(s_jit, c.batch)
    u_eager, m_eager = c.bonus.update(s_eager, c.batch)
    np.testing.assert_allclose(m_jit["loss"], m_eager["loss"], rtol=1e-4)
    for a, b in zip(
        jax.tree.leaves([m.params for m in members(u_jit)]),
        jax.tree.leaves([m.params for m in members(u_eager)]),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert all(np.all(np.isfinite(v)) for v in jax.tree.leaves(m_jit))


def test_no_retrace_and_stable_structure(c):
    state = c.state
    for _ in range(3):
        _, new, _ = c.compute(state, c.batch)
        new, _ = c.update(new, c.batch)
        assert jax.tree.structure(new) == jax.tree.structure(state)
        for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(state), strict=True):
            assert a.shape == b.shape and a.dtype == b.dtype
        state = new
    assert c.traces == {"compute": 1, "update": 1}


def test_vmap_over_seeds(c):
    seeds = [c.state, c.bonus.init(jax.random.key(7), OBS_SPACE, ACT_SPACE)]
    states = jax.tree.map(lambda *x: jnp.stack(x), *seeds)

    with_update = c.bonus.name in ("rnd", "e3b")  # vmapped updates compile slowly

    @jax.jit
    def run(states, batch):
        r, states, info = jax.vmap(c.bonus.compute, (0, None))(states, batch)
        if with_update:
            states, _ = jax.vmap(c.bonus.update, (0, None))(states, batch)
        return r, info["raw"], states

    r, raw, states = run(states, c.batch)
    assert r.shape == (2, T, N) and np.all(np.isfinite(r))
    for m in members(states):
        assert m.update_count.tolist() == [int(with_update)] * 2
    assert not np.allclose(raw[0], raw[1])  # different seeds, different networks
    one, _, _ = c.compute(seeds[1], c.batch)
    np.testing.assert_allclose(one, r[1], rtol=1e-5, atol=1e-6)


def test_init_vmaps_over_keys():
    bonus = case("rnd").bonus
    init = functools.partial(bonus.init, obs_spec=OBS_SPACE, action_spec=ACT_SPACE)
    states = jax.vmap(init)(jax.random.split(jax.random.key(3), 2))
    assert states.update_count.shape == (2,)
    leaves = jax.tree.leaves(states.params)
    assert any(not np.allclose(x[0], x[1]) for x in leaves)  # seeds differ


def test_save_restore_is_bit_exact(c):
    _, state, _ = c.compute(c.state, c.batch)
    state, _ = c.update(state, c.batch)
    buf = io.BytesIO()
    rk.intrinsic.save_state(buf, state)
    buf.seek(0)
    template = c.bonus.init(jax.random.key(9), OBS_SPACE, ACT_SPACE)
    back = rk.intrinsic.restore_state(buf, template)
    assert_trees_equal(back, state)
    r1, _, _ = c.compute(state, c.batch)
    r2, _, _ = c.compute(back, c.batch)
    np.testing.assert_array_equal(r1, r2)


def test_update_lowers_its_own_loss_on_a_fixed_batch(c):
    batch = random_batch(jax.random.key(4), T, N, done_at=(2, 0))
    state, losses = c.state, []
    for _ in range(12):
        state, metrics = c.update(state, batch)
        losses.append(float(metrics["loss"]))
    assert np.mean(losses[-3:]) < np.mean(losses[:3]), losses


def test_frozen_compute_is_deterministic_and_keeps_learned_state(c):
    r1, s1, _ = c.compute(c.state, c.batch)
    r2, s2, _ = c.compute(c.state, c.batch)
    assert np.all(r1 == 0)  # no reward scale measured yet: the bonus waits
    np.testing.assert_array_equal(r1, r2)
    assert_trees_equal(s1, s2)
    for m1, m0 in zip(members(s1), members(c.state), strict=True):
        for field in ("params", "fixed", "opt_state", "obs_snapshot", "rew_snapshot"):
            assert_trees_equal(getattr(m1, field), getattr(m0, field))
        assert int(m1.update_count) == 0 and float(m1.beta_t) == 0.0


def test_one_call_equals_per_step_calls(c):
    state = c.warm
    r_all, s_all, _ = c.compute(state, c.batch)
    assert np.any(r_all != 0)
    s, rs = state, []
    one_step = jax.jit(c.bonus.compute)
    for t in range(T):
        fields = ("obs", "action", "reward", "next_obs", "terminated", "truncated")
        step = c.batch._replace(**{f: getattr(c.batch, f)[t : t + 1] for f in fields})
        r, s, _ = one_step(s, step)
        rs.append(r[0])
    np.testing.assert_allclose(np.stack(rs), r_all, rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree.leaves(s), jax.tree.leaves(s_all), strict=True):
        if not jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_beta_leaf_scales_the_bonus_without_retrace(c):
    r1, _, _ = c.compute(c.warm, c.batch)
    assert np.any(r1 != 0)
    before = dict(c.traces)
    r2, _, _ = c.compute(with_beta0(c.warm, 0.5), c.batch)
    np.testing.assert_allclose(r2, 0.5 * r1, rtol=1e-6, atol=1e-7)
    assert c.traces == before


def test_metadata(c):
    b = c.bonus
    assert b.num_envs == N
    assert b.episodic == ("e3b" in b.name)
    assert b.needs_action == (b.name != "rnd")
    assert b.trainable


@pytest.mark.filterwarnings(*CHECK_ENV_EXPECTED_WARNINGS)
@pytest.mark.parametrize("name", ["rnd", "e3b", "rnd+e3b"])
def test_frozen_gymnasium_wrapper_passes_check_env(name):
    env = rk.intrinsic.AddIntrinsicReward(TinyBoxEnv(), BONUSES[name](1))
    env.freeze()
    check_env(env, skip_render_check=True)


@pytest.mark.parametrize(
    ("name", "steps"), [("disagreement", 2), ("disagreement_rr", 1)]
)
def test_member_schedules_step_each_member_as_specified(name, steps):
    # T*N = 10 samples in minibatches of 8: two minibatches per update. "all"
    # steps every member on both; round robin steps member i on minibatch i.
    c = case(name)
    state, _ = c.update(c.state, c.batch)
    counts = [
        leaf for leaf in jax.tree.leaves(state.opt_state) if leaf.dtype == jnp.int32
    ]
    assert counts and all(x.tolist() == [steps] * x.shape[0] for x in counts)
    before, after = c.state.params["members"], state.params["members"]
    for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after), strict=True):
        assert all(not np.allclose(a[i], b[i]) for i in range(a.shape[0]))
