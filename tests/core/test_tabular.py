import jax
import numpy as np
import pytest
from jax import enable_x64

import rewardkit as rk
from rewardkit.core import ConfigError, TabularModel


def random_model(seed, s=6, a=3, n_terminal=1):
    rng = np.random.default_rng(seed)
    t = rng.random((s, a, s)) ** 3
    t /= t.sum(-1, keepdims=True)
    r = rng.normal(size=(s, a, s))
    terminal = np.zeros(s, bool)
    terminal[s - n_terminal :] = True
    t[terminal] = 0.0
    t[terminal, :, np.flatnonzero(terminal)] = 1.0
    r[terminal] = 0.0
    init = np.zeros(s)
    init[0] = 1.0
    return TabularModel(t, r, terminal, np.zeros(s, np.uint32), init)


def ref_q(model, gamma, v):
    t, r = model.transitions, model.reward
    q = np.einsum("sat,sat->sa", t, r) + gamma * t @ v
    q[model.terminal] = 0.0
    return q


def ref_value_iteration(model, gamma, iters=5000):
    v = np.zeros(model.transitions.shape[0])
    for _ in range(iters):
        v = ref_q(model, gamma, v).max(-1)
    return v


def ref_policy_evaluation(model, gamma, pi):
    s = pi.shape[0]
    r = np.einsum("sat,sat->sa", model.transitions, model.reward)
    r_pi = (pi * r).sum(-1)
    t_pi = np.einsum("sa,sat->st", pi, model.transitions)
    live = ~model.terminal
    return np.linalg.solve(np.eye(s) - gamma * t_pi * live[:, None], r_pi * live)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("gamma", [0.5, 0.95])
def test_planner_matches_float64_reference(seed, gamma):
    model = random_model(seed)
    pi = np.random.default_rng(seed).dirichlet(np.ones(3), size=6)
    with enable_x64():
        m64 = jax.tree.map(lambda x: np.asarray(x), model)
        v = np.asarray(rk.core.value_iteration(m64, gamma, tol=1e-13))
        np.testing.assert_allclose(v, ref_value_iteration(model, gamma), atol=1e-10)
        q = np.asarray(rk.core.q_values(m64, gamma, v))
        np.testing.assert_allclose(q, ref_q(model, gamma, v), atol=1e-12)
        vp = np.asarray(rk.core.policy_evaluation(m64, gamma, pi))
        np.testing.assert_allclose(
            vp, ref_policy_evaluation(model, gamma, pi), atol=1e-10
        )
    # float32 path agrees to float32 accuracy, and [S, A] rewards equal [S, A, S] ones.
    m32 = jax.tree.map(
        lambda x: np.asarray(x, np.float32) if x.dtype == np.float64 else x, model
    )
    v32 = rk.core.value_iteration(m32, gamma)
    np.testing.assert_allclose(v32, v, atol=1e-4)
    r_sa = np.einsum("sat,sat->sa", m32.transitions, m32.reward)
    np.testing.assert_allclose(
        rk.core.value_iteration(m32, gamma, r_sa), v32, atol=1e-5
    )


def test_planner_jits_and_vmaps_over_rewards():
    model = random_model(0)
    rewards = np.random.default_rng(1).normal(size=(5, 6, 3)).astype(np.float32)
    m32 = jax.tree.map(
        lambda x: np.asarray(x, np.float32) if x.dtype == np.float64 else x, model
    )
    vs = jax.jit(jax.vmap(lambda r: rk.core.value_iteration(m32, 0.9, r)))(rewards)
    for i in range(5):
        np.testing.assert_allclose(
            vs[i], rk.core.value_iteration(m32, 0.9, rewards[i]), atol=1e-5
        )


@pytest.mark.parametrize("gamma", [1.0, -0.1, 1.5, float("nan")])
def test_planner_rejects_bad_gamma(gamma):
    with pytest.raises(ConfigError, match="gamma"):
        rk.core.value_iteration(random_model(0), gamma)


def test_check_tabular_model_names_the_problem():
    model = random_model(0)
    with pytest.raises(ConfigError, match="rows"):
        rk.core.check_tabular_model(model._replace(transitions=model.transitions * 2))
    with pytest.raises(ConfigError, match="reward"):
        rk.core.check_tabular_model(model._replace(reward=model.reward[:, :, :2]))
    with pytest.raises(ConfigError, match="policy"):
        rk.core.policy_evaluation(model, 0.9, np.ones((2, 2)))
