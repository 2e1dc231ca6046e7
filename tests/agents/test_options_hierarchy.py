"""Hierarchy options (FB23): tables, hierarchy step with returns, SMDP updates, training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rewardkit.agents import (
    HierarchyOptions,
    HierarchyOptionsConfig,
    hierarchy_option_learner,
    hierarchy_options,
    make_hierarchy_options_train,
    reachable_hierarchy,
)
from rewardkit.agents._hierarchy_option_tables import step_with_returns
from rewardkit.core import ConfigError, Transition
from rewardkit.machines import (
    HierarchicalRewardMachine,
    LabelDomain,
    compile_hierarchy,
)
from rewardkit.machines.tasks import (
    hierarchical_craft_label_domain,
    hierarchical_craft_product,
    hierarchical_craft_task,
)

G, GM, A, AM, Q0 = 0.9, 0.9, 0.5, 0.5, 0.5


def close(actual, desired, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(actual), desired, rtol=rtol)


def two_level(leaf_edges, leaf_rejecting=(), top_context="true"):
    """``top: u0 -call leaf[ctx]-> u1 -c-> acc`` over propositions a, b, c."""
    leaf = {"initial": "u0", "accepting": ["acc"], "edges": leaf_edges}
    if leaf_rejecting:
        leaf["rejecting"] = list(leaf_rejecting)
    top = {
        "initial": "u0",
        "accepting": ["acc"],
        "edges": [
            {"source": "u0", "target": "u1", "call": "leaf", "context": top_context},
            {"source": "u1", "target": "acc", "formula": "c", "reward": 1.0},
        ],
    }
    return HierarchicalRewardMachine(
        "top", {"top": top, "leaf": leaf}, propositions=("a", "b", "c")
    )


class Driver:
    """Steps a learner by hand on scripted labels (one env, env states given)."""

    def __init__(self, h, **kw):
        self.ch, self.t = compile_hierarchy(h), hierarchy_options(h)
        self.learner = hierarchy_option_learner(
            hierarchy=self.ch,
            options=self.t,
            num_env_states=3,
            num_actions=2,
            gamma=G,
            gamma_meta=GM,
            alpha=A,
            meta_alpha=AM,
            epsilon=0.0,
            meta_epsilon=0.0,
            **kw,
        )
        self.act, self.update = jax.jit(self.learner.act), jax.jit(self.learner.update)
        self.state = self.learner.init(jax.random.key(0), Q0)
        self.hs = jax.tree.map(jnp.asarray, self.ch.initial_state())

    def node(self, machine, state, ctx=(0, 0)):
        for n in range(self.t.node_machine.size):
            if (
                self.t.node_machine[n] == machine
                and self.t.node_state[n] == state
                and (ctx == (0, 0)) == (self.t.node_of[machine, state] == n)
            ):
                return n
        raise AssertionError("no such node")

    def bank(self, pos, neg=0):
        hits = np.flatnonzero((self.t.bank_pos == pos) & (self.t.bank_neg == neg))
        return int(hits[0])

    def step(self, s, label, s2):
        a, self.state = self.act(
            self.state, {"env": jnp.int32(s), "machine": self.hs}, jax.random.key(s)
        )
        hs2, r, acc, rej = self.ch.step(self.hs, jnp.uint32(label))
        batch = Transition(
            obs={"env": jnp.int32(s), "machine": self.hs},
            action=a,
            reward=r,
            next_obs={"env": jnp.int32(s2), "machine": hs2},
            terminated=acc | rej,
            truncated=jnp.bool_(False),
            extras={"label": jnp.uint32(label)},
        )
        self.state, _ = self.update(self.state, batch)
        self.hs = hs2
        return int(a)


def test_tables_of_milkbucket():
    t = hierarchy_options(hierarchical_craft_task("MilkBucket"))
    root = int(t.root_node)
    assert t.available[root].sum() == 1 and t.is_call[root, 0]
    child = t.child[root, 0]
    assert not t.is_call[child, 0] and t.formula[child, 0] >= 0
    assert t.height == 2 and isinstance(t, HierarchyOptions)
    # Book: Leather is called under the context !s from u0.
    tb = hierarchy_options(hierarchical_craft_task("Book"))
    props = hierarchical_craft_task("Book").propositions
    s_bit = 1 << props.index("s")
    ctx_nodes = [n for n in range(tb.node_machine.size) if n not in tb.node_of]
    assert ctx_nodes
    assert all((tb.neg[n][tb.available[n]] & s_bit).all() for n in ctx_nodes)


def test_step_with_returns_matches_compiled_step():
    h = reachable_hierarchy(hierarchical_craft_task("Cake"))
    ch = compile_hierarchy(h)
    masks = hierarchical_craft_label_domain().masks(h.propositions)
    rng = np.random.default_rng(0)
    step = jax.jit(lambda s, lab: step_with_returns(ch, s, lab))
    s = ch.initial_state()
    returns = 0
    for _ in range(300):
        lab = np.uint32(rng.choice(masks))
        ref = ch.step(s, lab)
        got = step(jax.tree.map(jnp.asarray, s), jnp.uint32(lab))
        for x, y in zip(jax.tree.leaves(ref), jax.tree.leaves(got[:4]), strict=True):
            close(np.asarray(x), np.asarray(y))
        popped = np.asarray(got[4])
        returns += int(popped[0].sum())
        assert int(s.depth) - int(np.asarray(got[0].depth)) <= popped[0].sum() + 3
        s = ch.initial_state() if ref[2] or ref[3] else ref[0]
    assert returns > 0


def test_smdp_updates_hand_computed():
    d = Driver(two_level([("u0", "u1", "a"), ("u1", "acc", "b")]))
    top_u0, leaf_u0, top_u1, leaf_u1 = (
        d.node(0, 0),
        d.node(1, 0),
        d.node(0, 1),
        d.node(1, 1),
    )
    fa, fb, fc = d.bank(1), d.bank(2), d.bank(4)
    a0 = d.step(0, 0, 1)  # nothing happens
    st = d.state
    assert int(st.levels) == 2 and list(st.node) == [top_u0, leaf_u0]
    close(st.q_formula[0, a0], Q0 + A * (G * Q0 - Q0))
    a1 = d.step(1, 0b001, 2)  # a: the leaf moves; its formula option ends (k = 2)
    st = d.state
    assert int(st.levels) == 1 and int(st.plan_node) == leaf_u1
    close(st.q_formula[1, a1, fa], Q0 + A * (1.0 - Q0))
    close(st.q_formula[1, a1, fb], Q0 + A * (G * Q0 - Q0))
    target = GM**2 * Q0  # bootstrap from the leaf's next node
    close(st.q_meta[0, leaf_u0, 0], Q0 + AM * (target - Q0))
    d.step(2, 0b010, 0)  # b: the leaf accepts and returns; the call option ends
    st = d.state
    assert int(st.levels) == 0 and int(st.plan_node) == top_u1
    close(st.q_meta[2, leaf_u1, 0], Q0 + AM * (GM * 1.0 - Q0))
    close(st.q_meta[0, top_u0, 0], Q0 + AM * (GM**3 * Q0 - Q0), rtol=1e-6)
    d.step(0, 0b100, 1)  # c: the root accepts
    st = d.state
    assert int(st.levels) == 0 and int(st.plan_node) == top_u0
    close(st.q_meta[0, top_u1, 0], Q0 + AM * (GM - Q0))
    assert fc != fa


def test_formula_option_ends_exactly_when_its_clause_holds():
    # The leaf is called under !b: its first formula option is a & !b.
    d = Driver(two_level([("u0", "acc", "a")], top_context="!b"))
    d.step(0, 0, 1)
    leaf_ctx = int(d.state.node[1])
    assert leaf_ctx not in d.t.node_of  # the context node
    assert int(d.t.pos[leaf_ctx, 0]) == 0b001 and int(d.t.neg[leaf_ctx, 0]) == 0b010
    before = np.asarray(d.state.q_meta)
    for label in (0b010, 0b011, 0b100):  # b, a & b (context fails), c: no change
        d.step(1, label, 2)
        assert int(d.state.levels) == 2 and int(d.hs.depth) == 0
        np.testing.assert_array_equal(np.asarray(d.state.q_meta), before)
    f = d.bank(0b001, 0b010)
    a = d.step(2, 0b001, 0)  # a & !b: the call is taken, the leaf accepts at once
    assert int(d.state.levels) == 0 and int(d.hs.state) == 1
    close(d.state.q_formula[2, a, f], Q0 + A * (1.0 - Q0))
    # On a plain node the option ends on its clause and not on other labels.
    d = Driver(two_level([("u0", "u1", "a"), ("u1", "acc", "b")]))
    d.step(0, 0b010, 1)
    assert int(d.state.levels) == 2
    d.step(1, 0b001, 2)
    assert int(d.state.levels) == 1


def test_call_option_returns_control_when_the_callee_rejects():
    d = Driver(
        two_level(
            [("u0", "acc", "a & !b"), ("u0", "rej", "b")], leaf_rejecting=["rej"]
        ),
        dead_end=-1.0,
    )
    top_u0, leaf_u0 = d.node(0, 0), d.node(1, 0)
    d.step(0, 0, 1)
    d.step(1, 0b010, 2)  # b: the leaf rejects, the episode ends
    st = d.state
    assert bool(d.ch.is_rejecting(d.hs))
    assert int(st.levels) == 0 and int(st.plan_node) == top_u0
    close(st.q_meta[0, leaf_u0, 0], Q0 + AM * (-(GM**2) - Q0))
    close(st.q_meta[0, top_u0, 0], Q0 + AM * (-(GM**2) - Q0))


def test_a_call_entered_by_another_label_is_forced():
    leaf = lambda p: {  # noqa: E731
        "initial": "u0",
        "accepting": ["acc"],
        "edges": [("u0", "u1", p), ("u1", "acc", "c")],
    }
    top = {
        "initial": "u0",
        "accepting": ["acc"],
        "edges": [
            {"source": "u0", "target": "acc", "call": "A", "reward": 1.0},
            {"source": "u0", "target": "u2", "call": "B"},
            {"source": "u2", "target": "acc", "formula": "c", "reward": 1.0},
        ],
    }
    h = HierarchicalRewardMachine(
        "top",
        {"top": top, "A": leaf("a"), "B": leaf("b")},
        propositions=tuple("abc"),
        label_domain=LabelDomain.at_most_one(tuple("abc")),
    )
    d = Driver(h)
    root, a_u0 = d.node(0, 0), d.node(1, 0)
    slot_a = int(np.flatnonzero(d.t.callee[root] == 1)[0])
    slot_b = int(np.flatnonzero(d.t.callee[root] == 2)[0])
    d.state = d.state._replace(q_meta=d.state.q_meta.at[:, root, slot_a].set(0.9))
    d.step(0, 0b010, 1)  # the agent calls A, but b enters B
    st = d.state
    assert int(d.hs.machine) == 2 and int(d.hs.depth) == 1
    assert int(st.levels) == 1 and int(st.node[0]) == root
    assert int(st.slot[0]) == slot_b and int(st.start_s[0]) == 1
    assert int(st.plan_node) == d.node(2, 1)
    close(st.q_meta[0, root, slot_a], 0.9 + AM * (GM * Q0 - 0.9))  # bootstrap: B
    close(st.q_meta[0, a_u0, 0], Q0 + AM * (0.0 - Q0))  # aborted: no bootstrap


def test_bad_arguments():
    h = two_level([("u0", "acc", "a")])
    with pytest.raises(TypeError, match="options"):
        hierarchy_option_learner(
            hierarchy=compile_hierarchy(h),
            options=None,
            num_env_states=2,
            num_actions=2,
        )
    deep = reachable_hierarchy(hierarchical_craft_task("Sugar"))  # height 1
    with pytest.raises(ConfigError, match="height"):
        hierarchy_option_learner(
            hierarchy=compile_hierarchy(h),
            options=hierarchy_options(deep),
            num_env_states=2,
            num_actions=2,
        )
    with pytest.raises(TypeError, match="HierarchicalRewardMachine"):
        make_hierarchy_options_train(
            HierarchyOptionsConfig(num_steps=10),
            hierarchical_craft_product(task="Sugar", flat=True),
        )


def success_rate(out, last):
    done = np.asarray(out["done"])[..., 0]
    acc = np.asarray(out["accepted"])[..., 0]
    rates = []
    for i in range(done.shape[0]):
        ends = np.flatnonzero(done[i])[-last:]
        rates.append(acc[i][ends].mean())
    return np.asarray(rates)


@pytest.fixture(scope="module")
def sugar_runs():
    env = hierarchical_craft_product(task="Sugar", max_steps=30)
    keys = jax.random.split(jax.random.key(1), 2)
    learn = jax.jit(
        jax.vmap(
            make_hierarchy_options_train(HierarchyOptionsConfig(num_steps=3000), env)
        )
    )
    frozen = HierarchyOptionsConfig(num_steps=3000, alpha=0.0, meta_alpha=0.0)
    rand = jax.jit(jax.vmap(make_hierarchy_options_train(frozen, env)))
    return learn(keys), rand(keys)


def test_train_jits_and_vmaps_over_seeds(sugar_runs):
    out, _ = sugar_runs
    assert out["reward"].shape == (2, 3000, 1)
    assert out["q_formula"].shape[0] == 2
    assert not np.array_equal(np.asarray(out["done"][0]), np.asarray(out["done"][1]))
    np.testing.assert_array_equal(
        np.asarray(out["reward"]) > 0, np.asarray(out["accepted"])
    )


def test_training_beats_random_on_the_smallest_task(sugar_runs):
    learned, random = sugar_runs
    lr, rr = success_rate(learned, 50), success_rate(random, 50)
    assert (lr > 0.9).all(), lr
    assert (lr > rr + 0.3).all(), (lr, rr)
