"""Machine potentials: the spec's test vectors, telescoping, the three potential kinds."""

import hypothesis
import hypothesis.strategies as st
import jax
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.core import AutoReset, ConfigError
from rewardkit.envs import GridWorld
from rewardkit.machines import (
    compile_tasks,
    machine_as_tabular_model,
    machine_potential,
)
from rewardkit.machines.functional import ProductEnv
from rewardkit.machines.tasks import office_label_domain, office_tasks

PROPS = ("a", "b", "c", "d", "e", "f", "g", "n")
TASKS = office_tasks()
OFFICE = compile_tasks(TASKS, PROPS, label_domain=office_label_domain())
PHI = machine_potential(OFFICE, gamma_rs=0.9).values.astype(np.float64)
# One row: plant, empty, start, empty, coffee, empty, office.
LINE = GridWorld("n.A.f.g", propositions={c: c for c in PROPS}, max_steps=50)


def test_office_t1_values_both_signs():
    tm = compile_tasks(TASKS[:1], PROPS, label_domain=office_label_domain())
    neg = machine_potential(tm, gamma_rs=0.9, sign=-1.0).values
    pos = machine_potential(tm, gamma_rs=0.9, sign=1.0).values
    np.testing.assert_allclose(neg, [-0.9, -1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(pos, [0.9, 1.0, 0.0, 0.0], atol=1e-6)


def test_office_phi_u0_values():
    u0 = OFFICE.initial
    np.testing.assert_allclose(PHI[u0], [-0.9, -0.9, -0.81, -0.729], atol=1e-6)


def test_value_iteration_matches_numpy_oracle():
    model = machine_as_tabular_model(OFFICE)
    t, r = np.asarray(model.transitions, float), np.asarray(model.reward, float)
    v = np.zeros(t.shape[0])
    for _ in range(200):
        q = np.einsum("sat,sat->sa", t, r) + 0.9 * t @ v
        v = np.where(model.terminal, 0.0, q.max(1))
    np.testing.assert_allclose(-PHI, v, atol=1e-5)


def _run(env, params, actions, key=0):
    _, state = env.reset(jax.random.key(key), params)
    rewards = []
    step = jax.jit(env.step)
    for i, a in enumerate(actions):
        _obs, state, r, _term, _trunc, _info = step(
            jax.random.key(i + 1), state, a, params
        )
        rewards.append(float(r))
    return rewards


# (actions, expected shaped rewards for sign -1, sign +1): the spec's §4.3 table.
R, L = 1, 3
EPISODES = [
    # u0 loop, u0->u1 (coffee), u1 loop, u1->accepting (office)
    ([R, R, R, R], [0.09, 0.0, 0.10, 2.0], [-0.09, 0.0, -0.10, 0.0]),
    # u0 loop, u0->rejecting (plant)
    ([L, L], [0.09, 0.90], [-0.09, -0.90]),
    # to the coffee, back to the plant: u1->rejecting
    (
        [R, R, L, L, L, L],
        [0.09, 0.0, 0.10, 0.10, 0.10, 1.0],
        [-0.09, 0.0, -0.10, -0.10, -0.10, -1.0],
    ),
]


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_spec_table_through_functional_shaping(sign):
    product = ProductEnv(LINE, TASKS[0], label_domain=office_label_domain())
    phi = machine_potential(product, gamma_rs=0.9, sign=sign)
    shaped = rk.shaping.functional.PotentialShaping(product, phi, 0.9)
    env = AutoReset(shaped, mode="SameStep")
    params = env.default_params()
    for actions, neg, pos in EPISODES:
        expected = neg if sign < 0 else pos
        np.testing.assert_allclose(_run(env, params, actions), expected, atol=1e-6)


@hypothesis.given(
    st.integers(0, 3), st.lists(st.integers(0, len(PROPS)), min_size=1, max_size=30)
)
def test_telescoping_on_random_episodes(task, labels):
    # Shaped discounted return = unshaped return - Φ(u0) on terminated episodes and
    # + γ^T Φ(u_T) - Φ(u0) on cut ones (Φ(u') kept on truncation).
    gamma = 0.9
    phi = PHI
    u = int(OFFICE.initial[task])
    ret = shaped = 0.0
    t = 0
    terminated = False
    for t, k in enumerate(labels):
        label = np.uint32(0 if k == 0 else 1 << (k - 1))
        u2, r, acc, rej = OFFICE.step(np.int32(u), label)
        terminated = bool(acc or rej)
        phi_next = 0.0 if terminated else phi[u2]
        ret += gamma**t * float(r)
        shaped += gamma**t * (float(r) + gamma * phi_next - phi[u])
        u = int(u2)
        if terminated:
            break
    tail = 0.0 if terminated else gamma ** (t + 1) * phi[u]
    start = phi[OFFICE.initial[task]]
    np.testing.assert_allclose(shaped, ret - start + tail, atol=1e-9)


def test_three_potential_kinds_agree():
    product = ProductEnv(LINE, TASKS[0], label_domain=office_label_domain())
    phi = machine_potential(product)
    env = AutoReset(product, mode="NextStep")
    params = env.default_params()
    obs, state = env.reset(jax.random.key(0), params)
    obs, state, *_ = env.step(jax.random.key(1), state, R, params)
    obs, state, *_ = env.step(jax.random.key(2), state, R, params)  # coffee: u1
    assert int(obs["machine"]) == 1
    assert float(phi(state, params)) == pytest.approx(-1.0)
    assert float(phi.from_obs(obs)) == pytest.approx(-1.0)
    assert float(phi.from_obs({"machine": np.int32(0)})) == pytest.approx(-0.9)
    gym_env = rk.machines.ProductEnv(
        rk.core.to_gymnasium(LINE), TASKS[0], label_domain=office_label_domain()
    )
    gym_env.reset(seed=0)
    gym_env.step(R)
    gym_env.step(R)
    assert phi.from_env(gym_env) == pytest.approx(-1.0)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="gamma_rs"):
        machine_potential(OFFICE, gamma_rs=1.0)
    with pytest.raises(ConfigError, match="sign"):
        machine_potential(OFFICE, sign=0.5)
    with pytest.raises(TypeError, match="TaskMachines"):
        machine_potential(TASKS[0])
