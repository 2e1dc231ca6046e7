"""Product envs: semantics, info contract, host/jit parity, Gymnasium vs functional."""

import gymnasium as gym
import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.core import AutoReset, ConfigError, check_tabular_model, reward_terms
from rewardkit.envs import GridWorld, OfficeWorld
from rewardkit.machines import (
    LabelFilter,
    RewardMachine,
    UnknownPropositionError,
    compile_tasks,
    mask_to_label,
    optimal_episode_length,
    product_tabular_model,
)
from rewardkit.machines.functional import ProductEnv
from rewardkit.machines.tasks import office_label_domain, office_product, office_tasks

PROPS = ("a", "b", "c", "d", "e", "f", "g", "n")
OFFICE_ENV = OfficeWorld()
TASKS = office_tasks()
OFFICE = compile_tasks(TASKS, PROPS, label_domain=office_label_domain())
STEP_JIT = jax.jit(lambda tm, u, lab: tm.step(u, lab))


PLANTS = set(np.flatnonzero(OFFICE_ENV.cell_label == 1 << 7).tolist())


def path(env, src, dst, avoid=PLANTS):
    """Actions of a shortest path between two cells, not crossing ``avoid``."""
    parent = {src: None}
    frontier = [src]
    while dst not in parent:
        nxt = []
        for cell in frontier:
            for a in range(4):
                c2 = int(env.next_cell[cell, a])
                if c2 not in parent and (c2 not in avoid or c2 == dst):
                    parent[c2] = (cell, a)
                    nxt.append(c2)
        frontier = nxt
    out, cell = [], dst
    while parent[cell] is not None:
        cell, a = parent[cell]
        out.append(a)
    return out[::-1]


def rollout(env, params, actions, key=0):
    obs, state = env.reset(jax.random.key(key), params)
    step = jax.jit(env.step)
    outs = [(obs, None, None, None, None)]
    for i, a in enumerate(actions):
        obs, state, r, term, trunc, info = step(jax.random.key(i + 1), state, a, params)
        outs.append((obs, float(r), bool(term), bool(trunc), info))
    return outs


START = OFFICE_ENV.cell(7, 2)
COFFEE = OFFICE_ENV.cell(6, 8)  # (x, y) = (8, 2)
DESK = OFFICE_ENV.cell(4, 4)  # office g at (4, 4)
PLANT = OFFICE_ENV.cell(7, 4)  # (4, 1)


def test_coffee_task_accepts_and_plant_rejects():
    env = office_product((0,))
    params = env.default_params()
    actions = path(OFFICE_ENV, START, COFFEE) + path(OFFICE_ENV, COFFEE, DESK)
    outs = rollout(env, params, actions)
    *_, (_obs, r, term, _trunc, info) = outs
    assert (r, term, bool(info["accepted"]), bool(info["rejected"])) == (
        1,
        True,
        True,
        False,
    )
    assert [float(o[1]) for o in outs[1:]].count(1.0) == 1
    outs = rollout(
        env, params, path(OFFICE_ENV, START, COFFEE) + path(OFFICE_ENV, COFFEE, PLANT)
    )
    rewards = [o[1] for o in outs[1:]]
    first_end = next(i for i, o in enumerate(outs[1:]) if o[2])
    info = outs[1 + first_end][4]
    assert bool(info["rejected"]) and sum(rewards[: first_end + 1]) == 0.0
    legacy = office_product((0,), legacy_falloff_reward=True)
    outs = rollout(
        legacy,
        params,
        path(OFFICE_ENV, START, COFFEE) + path(OFFICE_ENV, COFFEE, PLANT),
    )
    assert outs[1 + first_end][1] == 1.0 and bool(outs[1 + first_end][4]["rejected"])


def test_info_contract_and_reward_modes():
    grid = GridWorld("A.fG", propositions={"f": "coffee"}, max_steps=20)
    rm = RewardMachine.from_edges(
        [("u0", "acc", "coffee", 0.5)], initial="u0", accepting=["acc"]
    )
    for mode in ("machine", "sum"):
        env = ProductEnv(grid, rm, reward_mode=mode)
        assert env.keeps_base == (mode == "sum")
        assert reward_terms(env)[0].key == "machine_reward"
        params = env.default_params()
        outs = rollout(env, params, [1, 1])
        for _, r, _, _, info in outs[1:]:
            base = float(info["extrinsic_reward"]) * env.keeps_base
            assert r == pytest.approx(base + float(info["machine_reward"]))
        assert set(outs[1][4]) == {
            "extrinsic_reward",
            "machine_reward",
            "label",
            "machine_state",
            "accepted",
            "rejected",
        }
        assert outs[2][1] == 0.5 and outs[2][2]
    with pytest.raises(ConfigError, match="already used"):
        ProductEnv(ProductEnv(grid, rm), rm)
    ProductEnv(ProductEnv(grid, rm), rm, name="second")
    with pytest.raises(ConfigError, match="reward_mode"):
        ProductEnv(grid, rm, reward_mode="replace")


def test_unknown_proposition_and_bit_order():
    grid = GridWorld("Aba", max_steps=10)  # env order: a (bit 0), b (bit 1)
    rm = RewardMachine.from_edges(
        [("u0", "acc", "z", 1.0)], initial="u0", accepting=["acc"]
    )
    with pytest.raises(UnknownPropositionError):
        ProductEnv(grid, rm)
    edges = [("u0", "u1", "b & !a"), ("u1", "acc", "a", 1.0)]
    env_order = RewardMachine.from_edges(
        edges, initial="u0", accepting=["acc"], propositions=("a", "b")
    )
    reversed_order = RewardMachine.from_edges(
        edges, initial="u0", accepting=["acc"], propositions=("b", "a")
    )
    t1 = compile_tasks(env_order, grid.propositions)
    t2 = compile_tasks(reversed_order, grid.propositions)
    for u in range(3):
        for lab in range(4):
            assert [np.asarray(x).tolist() for x in t1.step(u, lab)] == [
                np.asarray(x).tolist() for x in t2.step(u, lab)
            ]


@hypothesis.given(
    st.lists(
        st.tuples(st.integers(0, 19), st.integers(0, 255)), min_size=16, max_size=16
    )
)
def test_host_step_equals_jit_and_graph(pairs):
    u = np.asarray([p[0] for p in pairs], np.int32)
    lab = np.asarray([p[1] for p in pairs], np.uint32)
    host = OFFICE.step(u, lab)
    dev = STEP_JIT(OFFICE.as_jax(), jnp.asarray(u), jnp.asarray(lab))
    for h, d in zip(host, dev, strict=True):
        assert isinstance(h, np.ndarray)
        np.testing.assert_array_equal(h, np.asarray(d))
    offsets = np.asarray(OFFICE.initial)
    for i, (flat, raw) in enumerate(pairs):
        names = mask_to_label(raw, PROPS)
        if len(names) > 1:
            continue  # outside the at-most-one domain
        k = int(OFFICE.task[flat])
        m = TASKS[k]
        v, r = m.step(m.states[flat - offsets[k]], names)
        assert host[0][i] == offsets[k] + m.state_index(v) and host[1][i] == r


def test_label_filter():
    grid = GridWorld("Aaa.a", max_steps=10)
    rm = RewardMachine.from_edges(
        [("u0", "u1", "a"), ("u1", "u2", "a"), ("u2", "acc", "a", 1.0)],
        initial="u0",
        accepting=["acc"],
    )

    def machine_states(label_filter):
        env = ProductEnv(grid, rm, label_filter=label_filter)
        return [
            int(o[0]["machine"])
            for o in rollout(env, env.default_params(), [1, 1, 1, 1])
        ]

    assert machine_states(None) == [0, 1, 2, 2, 3]
    assert machine_states(LabelFilter(ignore_repeats=True)) == [0, 1, 1, 1, 2]
    assert machine_states(LabelFilter(ignore_empty=True)) == [0, 1, 2, 2, 3]
    with pytest.raises(TypeError, match="label_filter"):
        ProductEnv(grid, rm, label_filter=(True, False))


def test_gymnasium_and_functional_agree_on_a_trajectory():
    functional = AutoReset(office_product(), mode="SameStep")
    params = functional.default_params()._replace(task=jnp.int32(0))
    gym_env = rk.machines.ProductEnv(
        rk.core.to_gymnasium(OfficeWorld()), TASKS, label_domain=office_label_domain()
    )
    rng = np.random.default_rng(0)
    actions = path(OFFICE_ENV, START, COFFEE) + path(OFFICE_ENV, COFFEE, DESK)
    actions += rng.integers(0, 4, 40).tolist()
    outs = rollout(functional, params, actions)
    obs, _ = gym_env.reset(seed=0, options={"task": 0})
    assert int(obs["machine"]) == int(outs[0][0]["machine"])
    for a, (f_obs, f_r, f_term, f_trunc, f_info) in zip(actions, outs[1:], strict=True):
        obs, r, term, trunc, info = gym_env.step(a)
        assert (r, term, trunc) == (f_r, f_term, f_trunc)
        assert info["machine_state"] == int(f_info["machine_state"])
        assert info["label"] == int(f_info["label"])
        if term or trunc:
            obs, _ = gym_env.reset(options={"task": 0})
        assert int(obs["env"]) == int(f_obs["env"])
        assert int(obs["machine"]) == int(f_obs["machine"])


def test_gymnasium_round_robin_crm_and_errors():
    env = rk.machines.ProductEnv(
        rk.core.to_gymnasium(OfficeWorld()),
        TASKS,
        label_domain=office_label_domain(),
        crm=True,
    )
    starts = [int(env.reset(seed=i)[0]["machine"]) for i in range(5)]
    assert starts == [0, 4, 8, 14, 0]
    _, _, _, _, info = env.step(0)
    assert info["crm"].reward.shape == (20,)
    with pytest.raises(ConfigError, match="labeler"):
        rk.machines.ProductEnv(gym.make("CartPole-v1"), TASKS)
    with pytest.raises(ConfigError, match="task"):
        env.reset(options={"task": 9})


def test_product_model_matches_stepping():
    env = office_product((2,))
    model = check_tabular_model(product_tabular_model(env))
    u_k = env.num_machine_states
    step = jax.jit(env.step)
    params = env.default_params()
    _, state = env.reset(jax.random.key(0), params)
    rng = np.random.default_rng(1)
    for _ in range(30):
        s, j, a = int(rng.integers(108)), int(rng.integers(u_k)), int(rng.integers(4))
        st_ = state._replace(
            inner=state.inner._replace(pos=jnp.int32(s)), machine=jnp.int32(j)
        )
        obs, _, r, term, _, _ = step(jax.random.key(0), st_, a, params)
        i = s * u_k + j
        if model.terminal[i]:
            continue
        i2 = int(obs["env"]) * u_k + int(obs["machine"])
        assert model.transitions[i, a, i2] == 1.0
        assert model.reward[i, a, i2] == float(r)
        assert bool(model.terminal[i2]) == bool(term)


def test_optimal_lengths_match_bfs_oracle():
    # Correct semantics: the shortest coffee -> office route; legacy semantics can
    # cut through a plant after the coffee (RMcode issue #50), which is shorter.
    d = lambda a, b: len(path(OFFICE_ENV, a, b))  # noqa: E731
    coffees = [OFFICE_ENV.cell(6, 8), OFFICE_ENV.cell(2, 3)]
    correct = min(d(START, c) + d(c, DESK) for c in coffees)
    legacy = min(d(START, c) + min(d(c, p) for p in PLANTS) for c in coffees)
    m = product_tabular_model(office_product((0,)))
    m_legacy = product_tabular_model(office_product((0,), legacy_falloff_reward=True))
    assert optimal_episode_length(m) == correct == 15
    assert optimal_episode_length(m_legacy) == legacy < correct


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_vector_product_resets_on_acceptance(mode):
    grid = GridWorld("A.f.", propositions={"f": "coffee"}, max_steps=50)
    rm = RewardMachine.from_edges(
        [("u0", "acc", "coffee", 1.0)], initial="u0", accepting=["acc"]
    )
    venv = rk.machines.vector.ProductEnv(grid, rm, 2, autoreset_mode=mode, crm=True)
    assert venv.keeps_base is False and venv.reward_name == "machine"
    obs, _ = venv.reset(seed=0)
    right = np.ones(2, np.int64)
    venv.step(right)
    obs, r, term, _trunc, infos = venv.step(right)  # onto the coffee: accepted
    assert r.tolist() == [1.0, 1.0] and term.all()
    assert infos["accepted"].all() and infos["crm"].reward.shape == (2, 2)
    if mode == "SameStep":
        assert obs["env"].tolist() == [0, 0] and obs["machine"].tolist() == [0, 0]
        assert [int(o["machine"]) for o in infos["final_obs"]] == [1, 1]
    else:
        assert obs["machine"].tolist() == [1, 1]
        obs, r, term, _trunc, infos = venv.step(right)  # the reset pseudo-step
        assert infos["reset_step"].all() and r.tolist() == [0.0, 0.0]
        assert obs["machine"].tolist() == [0, 0] and not infos["crm"].valid.any()


def test_non_default_arguments_of_both_front_ends():
    grid = GridWorld("Aaa.aG", max_steps=10, goal_reward=2.0)
    rm = RewardMachine.from_edges(
        [("u0", "u1", "a"), ("u1", "u2", "a"), ("u2", "acc", "a", 1.0)],
        initial="u0",
        accepting=["acc"],
    )
    # Gymnasium: label filter, reward_mode="sum", a custom name, uniform tasks.
    env = rk.machines.ProductEnv(
        rk.core.to_gymnasium(grid),
        [rm, rm],
        reward_mode="sum",
        name="task",
        label_filter=LabelFilter(ignore_repeats=True),
        task_selection="uniform",
    )
    tasks = {int(env.reset(seed=i)[0]["machine"]) for i in range(8)}
    assert tasks == {0, 4}
    env.reset(seed=0, options={"task": 0})
    states = [env.step(1)[4]["machine_state"] for _ in range(4)]
    assert states == [1, 1, 1, 2]  # a, a (repeat, ignored), empty, a
    _obs, r, term, _trunc, info = env.step(1)  # onto G: env reward 2 + machine 0
    assert (r, info["task_reward"], info["extrinsic_reward"], term) == (
        2.0,
        0.0,
        2.0,
        True,
    )
    # Functional: a custom label function (the label of the state left, L(s)).
    lag = ProductEnv(grid, rm, lambda s, a, s2, p: grid.labels(s, p))
    outs = rollout(lag, lag.default_params(), [1, 1, 1])
    assert [int(o[0]["machine"]) for o in outs] == [0, 0, 1, 2]


def test_flattening_helpers_host_and_jit():
    u = np.arange(OFFICE.num_states, dtype=np.int32)
    one_hot = OFFICE.one_hot(u)
    live = ~np.asarray(OFFICE.terminal)
    assert one_hot.shape == (20, int(live.sum()))
    assert (one_hot.sum(1) == live).all() and (one_hot.sum(0) == 1).all()
    np.testing.assert_array_equal(
        np.asarray(jax.jit(OFFICE.as_jax().one_hot)(jnp.asarray(u))), one_hot
    )
    task, local = OFFICE.task_and_state(u)
    assert task.tolist() == [0] * 4 + [1] * 4 + [2] * 6 + [3] * 6
    assert local.tolist()[:6] == [0, 1, 2, 3, 0, 1]
