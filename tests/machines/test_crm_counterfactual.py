"""Counterfactual experiences: vmap vs loop, host vs jit, CRM learner vs QRM."""

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.agents import (
    CounterfactualConfig,
    counterfactual_q_learning,
    make_counterfactual_train,
    q_learning,
)
from rewardkit.core import AutoReset, Transition
from rewardkit.machines import (
    compile_tasks,
    counterfactual_transitions,
    machine_q_view,
    mask_to_label,
)
from rewardkit.machines.tasks import office_label_domain, office_product, office_tasks

PROPS = ("a", "b", "c", "d", "e", "f", "g", "n")
TASKS = office_tasks()
OFFICE = compile_tasks(TASKS, PROPS, label_domain=office_label_domain())
OFFICE_JAX = OFFICE.as_jax()
CRM_JIT = jax.jit(counterfactual_transitions)
labels = st.integers(0, len(PROPS)).map(lambda k: 0 if k == 0 else 1 << (k - 1))


@hypothesis.given(labels, st.booleans(), st.booleans())
def test_vmapped_crm_equals_graph_loop(label, env_term, trunc):
    t = CRM_JIT(
        OFFICE_JAX, jnp.int32(7), jnp.int32(2), jnp.int32(8), label, env_term, trunc
    )
    host = counterfactual_transitions(OFFICE, 7, 2, 8, label, env_term, trunc)
    for a, b in zip(jax.tree.leaves(t), jax.tree.leaves(host), strict=True):
        np.testing.assert_array_equal(np.asarray(a), b)
    names = mask_to_label(label, PROPS)
    offsets = np.asarray(OFFICE.initial)
    for u in range(OFFICE.num_states):
        k = int(OFFICE.task[u])
        m = TASKS[k]
        state = m.states[u - int(offsets[k])]
        v, r = m.step(state, names)
        v_flat = int(offsets[k]) + m.state_index(v)
        assert int(t.obs["machine"][u]) == u
        assert int(t.next_obs["machine"][u]) == v_flat
        assert float(t.reward[u]) == r
        terminal = m.is_terminal(v)
        assert bool(t.terminated[u]) == (env_term or terminal)
        assert bool(t.valid[u]) == (not m.is_terminal(state))
        assert bool(t.truncated[u]) == trunc
        assert int(t.obs["env"][u]) == 7 and int(t.next_obs["env"][u]) == 8


def test_info_crm_of_functional_product_matches_function():
    env = AutoReset(office_product(crm=True), mode="SameStep")
    params = env.default_params()
    obs, state = env.reset(jax.random.key(0), params)
    step = jax.jit(env.step)
    for i, a in enumerate([0, 1, 1, 1, 0, 0]):
        nxt, state, _r, _term, trunc, info = step(jax.random.key(i), state, a, params)
        ref = counterfactual_transitions(
            OFFICE,
            int(obs["env"]),
            a,
            int(info["final_obs"]["env"]),
            int(info["label"]),
            False,
            bool(trunc),
        )
        for x, y in zip(
            jax.tree.leaves(info["crm"]), jax.tree.leaves(ref), strict=True
        ):
            np.testing.assert_array_equal(np.asarray(x), y)
        obs = nxt


def _random_batch(rng, s_n):
    s, a, s2 = (int(x) for x in rng.integers(0, [s_n, 4, s_n]))
    label = int(rng.integers(0, len(PROPS) + 1))
    label = 0 if label == 0 else 1 << (label - 1)
    term = bool(rng.random() < 0.05)
    return counterfactual_transitions(OFFICE, s, a, s2, label, term, False)


def test_crm_learner_equals_sequential_q_learning_and_qrm():
    s_n, u_n = 5, OFFICE.num_states
    crm = counterfactual_q_learning(
        num_env_states=s_n, num_machine_states=u_n, num_actions=4, gamma=0.9
    )
    flat = q_learning(num_states=s_n * u_n, num_actions=4, gamma=0.9, alpha=0.5)
    state = crm.init(jax.random.key(0), 0.3)
    ref = flat.init(jax.random.key(0), 0.3)
    qrm = np.full((u_n, s_n, 4), 0.3)  # one Q-function per machine state (TI18)
    update, flat_update = jax.jit(crm.update), jax.jit(flat.update)
    rng = np.random.default_rng(0)
    for _ in range(40):
        b = _random_batch(rng, s_n)
        state, _ = update(state, jax.tree.map(jnp.asarray, b))
        for u in range(u_n):  # one experience at a time, flat index s*U + u
            if not b.valid[u]:
                continue
            one = Transition(
                obs=jnp.int32(b.obs["env"][u] * u_n + u),
                action=jnp.int32(b.action[u]),
                reward=jnp.float32(b.reward[u]),
                next_obs=jnp.int32(
                    b.next_obs["env"][u] * u_n + b.next_obs["machine"][u]
                ),
                terminated=jnp.bool_(b.terminated[u]),
                truncated=jnp.bool_(False),
            )
            ref, _ = flat_update(ref, one)
        old = qrm.copy()
        for u in np.flatnonzero(b.valid):
            s, a, s2 = b.obs["env"][u], b.action[u], b.next_obs["env"][u]
            u2 = b.next_obs["machine"][u]
            target = b.reward[u] + 0.9 * (1 - b.terminated[u]) * old[u2, s2].max()
            qrm[u, s, a] += 0.5 * (target - old[u, s, a])
    q = np.asarray(state.q)  # [S, A, U]
    np.testing.assert_allclose(
        q.transpose(0, 2, 1).reshape(s_n * u_n, 4), np.asarray(ref.q), atol=1e-5
    )
    np.testing.assert_allclose(np.asarray(machine_q_view(state.q)), qrm, atol=1e-5)


def test_plain_q_learning_updates_only_the_real_machine_state():
    env = office_product((0,))
    train = jax.jit(make_counterfactual_train(CounterfactualConfig(num_steps=1), env))
    u_n = env.num_machine_states
    q_ql = np.asarray(train(jax.random.key(0), np.zeros(u_n), False)["q"])
    q_crm = np.asarray(train(jax.random.key(0), np.zeros(u_n), True)["q"])
    changed_ql = np.argwhere(q_ql != 2.0)
    assert changed_ql.shape == (1, 3) and changed_ql[0, 2] == 0  # (s0, a, u0) only
    changed_crm = np.argwhere(q_crm != 2.0)
    assert sorted(changed_crm[:, 2].tolist()) == [0, 1]  # both non-terminal u


def test_config_shaping_uniform_tasks_several_envs():
    env = office_product((0, 1))
    cfg = CounterfactualConfig(
        num_steps=30, num_envs=3, shaping=True, round_robin=False
    )
    out = jax.jit(make_counterfactual_train(cfg, env))(jax.random.key(0))
    assert out["reward"].shape == (30, 3) and out["q"].shape == (108, 4, 8)
    assert np.isfinite(np.asarray(out["q"])).all()
