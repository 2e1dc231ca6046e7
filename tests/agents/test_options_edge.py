"""Edge options: option tables, hand-checked updates, the jitted training loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rewardkit.agents import (
    EdgeOptionsConfig,
    edge_option_learner,
    make_edge_options_train,
)
from rewardkit.core import ConfigError
from rewardkit.machines import compile_tasks, counterfactual_transitions, edge_options
from rewardkit.machines.tasks import office_label_domain, office_product, office_tasks

PROPS = ("a", "b", "c", "d", "e", "f", "g", "n")
T1 = compile_tasks(office_tasks()[:1], PROPS, label_domain=office_label_domain())
F, G, N = 1 << 5, 1 << 6, 1 << 7


def test_edge_option_tables():
    opts = edge_options(
        compile_tasks(office_tasks(), PROPS, label_domain=office_label_domain())
    )
    assert opts.num_options == 2 + 2 + 5 + 4  # plant edges excluded
    opts_rej = edge_options(T1, include_rejecting=True)
    assert list(
        zip(opts_rej.source.tolist(), opts_rej.target.tolist(), strict=False)
    ) == [
        (0, 1),
        (0, 3),
        (1, 2),
        (1, 3),
    ]
    assert opts.available.sum(1).tolist()[:4] == [1, 1, 0, 0]


_JIT = {}


def _step(learner, state, s, u, a_forced, s2, label, key=0):
    if id(learner) not in _JIT:
        _JIT[id(learner)] = (learner, jax.jit(learner.act), jax.jit(learner.update))
    _, act, update = _JIT[id(learner)]
    obs = {"env": jnp.int32(s), "machine": jnp.int32(u)}
    _, state = act(state, obs, jax.random.key(key))
    crm = counterfactual_transitions(T1, s, a_forced, s2, np.uint32(label), False)
    return update(state, jax.tree.map(jnp.asarray, crm))[0]


def test_option_and_meta_updates_by_hand():
    opts = edge_options(T1)  # o0: u0 -> u1 (coffee), o1: u1 -> acc (office)
    learner = edge_option_learner(
        options=opts,
        num_env_states=3,
        num_actions=2,
        gamma=0.9,
        alpha=0.5,
        meta_alpha=0.5,
        epsilon=0.0,
    )
    state = learner.init(jax.random.key(0), 0.0)
    # Step 1: (s0, u0) --a1--> s1, no label: o0 continues; o1 (source u1) sees 0.
    state = _step(learner, state, 0, 0, 1, 1, 0)
    assert int(state.option) == 0 and float(state.q_option.sum()) == 0.0
    # Step 2: (s1, u0) --a0--> s2 with coffee: o0 takes its edge: r_max = 1, ends.
    state = _step(learner, state, 1, 0, 0, 2, F)
    assert float(state.q_option[1, 0, 0]) == pytest.approx(0.5)  # 0.5 * 1
    assert int(state.option) == -1
    # Meta: Q(s0, u0, o0) += 0.5 * (0 + 0.9 * 0 + 0.9^2 * max_o Q(s2, u1, o) - 0) = 0.
    assert float(state.q_meta[0, 0, 0]) == 0.0
    # Step 3: (s2, u1) --a1--> s0 with the office: o1 pays 1 (machine) + 1 (r_max).
    state = _step(learner, state, 2, 1, 1, 0, G)
    assert float(state.q_option[2, 1, 1]) == pytest.approx(1.0)
    assert float(state.q_meta[2, 1, 1]) == pytest.approx(0.5)  # 0.5 * reward 1


def test_other_edge_pays_r_min_and_ends():
    opts = edge_options(T1, include_rejecting=True)
    learner = edge_option_learner(
        options=opts,
        num_env_states=2,
        num_actions=1,
        gamma=0.9,
        r_min=-1.0,
        epsilon=0.0,
    )
    state = learner.init(jax.random.key(0), 0.0)
    state = _step(learner, state, 0, 0, 0, 1, N)  # plant from u0
    q = np.asarray(state.q_option[0, 0])  # options (0,1), (0,3), (1,2), (1,3)
    np.testing.assert_allclose(q, [-0.5, 0.5, -0.5, 0.5])


def test_training_loop_and_errors():
    cfg = EdgeOptionsConfig(num_steps=300)
    env = office_product((0,))
    out = jax.jit(make_edge_options_train(cfg, env))(jax.random.key(0))
    assert out["reward"].shape == (300, 1) and out["q_meta"].shape == (108, 4, 2)
    assert np.isfinite(np.asarray(out["q_option"])).all()
    assert (np.asarray(out["q_option"]) != 2.0).any()
    with pytest.raises(ConfigError, match="potential"):
        edge_option_learner(
            options=edge_options(T1),
            num_env_states=2,
            num_actions=1,
            potential=np.zeros(3),
        )
    with pytest.raises(TypeError, match="EdgeOptions"):
        edge_option_learner(options=None, num_env_states=2, num_actions=1)


def test_shaping_config_and_several_envs():
    env = office_product((0, 1))
    cfg = EdgeOptionsConfig(num_steps=50, num_envs=2, shaping=True, meta_alpha=0.1)
    out = jax.jit(make_edge_options_train(cfg, env))(jax.random.key(1))
    assert out["reward"].shape == (50, 2)
    assert sorted(np.unique(np.asarray(out["task"])[0]).tolist()) == [0, 1]
