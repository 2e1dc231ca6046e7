"""Planning helpers against rk.core's planner and the NumPy reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
import rewardkit.distances as rd


@pytest.fixture(scope="module")
def problem(make_random_transitions):
    rng = np.random.default_rng(11)
    t, ab = make_random_transitions(rng, 6, 3, absorbing=1)
    mdp = rd.make_mdp(t, 0.9, absorbing=ab)
    return rng, t, ab, mdp


def test_cached_evaluation_equals_core_planner(problem):
    rng, _t, _ab, mdp = problem
    r = rng.normal(size=(6, 3, 6))
    pi = rng.dirichlet(np.ones(3), size=6)
    with jax.enable_x64(True):
        m64 = jax.tree.map(jnp.asarray, mdp)
        model = rk.core.TabularModel(
            m64.transitions,
            jnp.asarray(r),
            m64.absorbing,
            jnp.zeros(6, jnp.uint32),
            m64.initial,
        )
        state = rd.canon.val(pi).init(m64)
        v = rd.cached_policy_evaluation(r, m64, state=state)
        np.testing.assert_allclose(
            v, rd.cached_policy_evaluation(r, m64, pi), atol=1e-12
        )
        v_core = rk.core.policy_evaluation(model, 0.9, pi)
        np.testing.assert_allclose(v, v_core, atol=1e-12)
        q = rd.cached_q_values(r, m64, state=state)
        np.testing.assert_allclose(q, rk.core.q_values(model, 0.9, v_core), atol=1e-12)
        adv = rd.cached_advantages(r, m64, state=state)
        np.testing.assert_allclose(adv, rd.canonicalise(r, mdp, policy=pi), atol=1e-12)


def test_optimal_policy_and_regret_match_reference(problem, ref):
    rng, t, ab, mdp = problem
    r1, r2 = rng.normal(size=(2, 6, 3, 6))
    with jax.enable_x64(True):
        m64 = jax.tree.map(jnp.asarray, mdp)
        want_act, want_v = ref.policy_iteration(r1, t, 0.9, ab)
        for method in ("value_iteration", "policy_iteration"):
            act, _v = jax.jit(rd.optimal_policy, static_argnames="method")(
                r1, m64, method=method
            )
            # the returned policy is optimal (values match to the VI tolerance)
            np.testing.assert_allclose(
                ref.evaluate(r1, t, 0.9, np.asarray(act), ab), want_v, atol=1e-6
            )
        np.testing.assert_array_equal(act, want_act)
        reg = jax.jit(rd.regret, static_argnames="method")
        g = reg(r1, r2, m64, method="policy_iteration")
        want = ref.regret(r1, r2, t, 0.9, np.asarray(mdp.initial), ab)
        np.testing.assert_allclose([g.regret1, g.regret2, g.mean], want, atol=1e-10)
        assert float(reg(r1, 3 * r1, m64, method="policy_iteration").mean) == 0.0
        assert float(reg(r1, -r1, m64, method="policy_iteration").mean) == 1.0
        j = rd.returns(r1, m64, act)
        mc = rd.returns_mc(jax.random.key(0), r1, m64, act, horizon=120)
        assert abs(float(mc) - float(j)) < 0.25 * max(1.0, abs(float(j)))


def test_zero_distance_means_same_policy_ordering(problem):
    rng, t, ab, mdp = problem
    r = rng.normal(size=(6, 3, 6))
    phi = np.where(ab, 0.0, rng.normal(size=6) * 5)
    noise = rng.normal(size=t.shape)
    noise -= (t * noise).sum(-1, keepdims=True)
    r_eq = 2.5 * (r + noise) + 0.9 * phi[None, None, :] - phi[:, None, None]
    r_other = rng.normal(size=(6, 3, 6))
    assert rd.starc_distance(r, r_eq, mdp, dtype="float64") < 1e-9
    assert rd.starc_distance(r, r_other, mdp) > 0.1
    pols = jnp.asarray(rng.integers(0, 3, size=(200, 6)))
    with jax.enable_x64(True):
        m64 = jax.tree.map(jnp.asarray, mdp)
        js = {
            name: np.asarray(jax.vmap(lambda p, rr=rr: rd.returns(rr, m64, p))(pols))
            for name, rr in (("r", r), ("eq", r_eq), ("other", r_other))
        }
    assert np.array_equal(
        np.argsort(js["r"], kind="stable"), np.argsort(js["eq"], kind="stable")
    )
    assert not np.array_equal(np.argsort(js["r"]), np.argsort(js["other"]))


def test_random_reward_and_interpolate():
    k = jax.random.key(0)
    a = rd.random_reward(k, 8, 2, 0.9)
    np.testing.assert_array_equal(a, rd.random_reward(k, 8, 2, 0.9))
    batch = jax.vmap(lambda kk: rd.random_reward(kk, 8, 2, 0.9))(
        jax.random.split(k, 50)
    )
    assert batch.shape == (50, 8, 2, 8)
    sparse = (batch == 0).mean(axis=(1, 2, 3)) > 0.9
    assert 0 < sparse.sum() < 25  # about 20% are sparse
    steps = rd.interpolate(a, -a, 16)
    assert steps.shape == (16, 8, 2, 8)
    np.testing.assert_allclose(steps[-1], -a, atol=1e-6)
    np.testing.assert_allclose(steps[7], 0.0, atol=1e-6)


def test_restrict_and_add_absorbing():
    t = np.zeros((3, 1, 3))
    t[0, 0, 1] = t[1, 0, 1] = t[2, 0, 0] = 1.0
    sub, idx = rd.restrict_to_reachable(rd.make_mdp(t, 0.9, initial=[1, 0, 0]))
    assert idx.tolist() == [0, 1]
    big = rd.add_absorbing_state(sub, [[0.5], [0.0]])
    assert big.transitions.shape == (3, 1, 3) and big.absorbing.tolist() == [0, 0, 1]
    r = np.zeros((3, 1, 3))
    r[0, 0, 2] = 1.0  # reward on entering s⊥
    assert rd.starc_distance(r, 2 * r, big) < 1e-6


def test_self_loop_masking_matches_the_masked_reward_for_every_reward_shape(
    make_random_transitions,
):
    rng = np.random.default_rng(7)
    t, ab = make_random_transitions(rng, 6, 3, absorbing=2)
    mdp = rd.make_mdp(t, 0.9, absorbing=ab)
    r = rng.normal(size=(6, 3, 1))  # broadcast over s'
    full = np.broadcast_to(r, (6, 3, 6)).copy()
    masked = full.copy()
    for s in np.flatnonzero(ab):
        masked[s, :, s] = 0.0  # the self-loop reward of an absorbing state
    p_pi = t.mean(1)  # uniform π
    want = np.linalg.solve(np.eye(6) - 0.9 * p_pi, (t * masked).sum(-1).mean(1))
    for reward in (r, full):
        got = rd.cached_policy_evaluation(reward, mdp)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    state = rd.canon.val().init(mdp)  # the cached path masks the same way
    got = rd.cached_policy_evaluation(full, mdp, state=state)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
