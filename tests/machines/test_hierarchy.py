"""Hierarchies of reward machines: semantics, validation and flattening."""

import random
import warnings

import hypothesis
import hypothesis.strategies as st
import networkx as nx
import pytest

from rewardkit.core import RewardkitWarning
from rewardkit.machines import (
    CallCycleError,
    Frame,
    HierarchicalRewardMachine,
    HierarchyState,
    LabelDomain,
    MachineDefinitionError,
    NondeterminismError,
    RewardMachine,
    UnknownMachineError,
    UnknownPropositionError,
    UnsatisfiableEdgeWarning,
    flatten,
    minimize,
)
from rewardkit.machines.tasks import (
    hierarchical_craft_label_domain,
    hierarchical_craft_task,
)
from tests.machines.test_machine_helpers import (
    PROPS,
    doubling,
    quiet,
    random_hierarchy,
    random_trace,
)


def chain(*steps, rejecting=None):
    """A member u0 -steps[0]-> u1 ... -> acc; a step is a formula or a call dict."""
    edges = []
    for i, s in enumerate(steps):
        target = "acc" if i == len(steps) - 1 else f"u{i + 1}"
        if isinstance(s, dict):
            edges.append({"source": f"u{i}", "target": target, **s})
        else:
            edges.append((f"u{i}", target, s))
    spec = {"initial": "u0", "accepting": ["acc"], "edges": edges}
    if rejecting:
        spec["rejecting"] = ["rej"]
        spec["edges"] += [
            (u, "rej", rejecting) for u in [f"u{i}" for i in range(len(steps))]
        ]
    return spec


def call(name, context="true", reward=0.0):
    return {"call": name, "context": context, "reward": reward}


def same_outcome(h, trace):
    flat = quiet(h.flatten)
    a, b = h.run(trace), flat.run(trace)
    assert a.rewards == pytest.approx(b.rewards)
    assert (a.accepted, a.rejected) == (b.accepted, b.rejected)
    return a


# ------------------------------------------------------------------- semantics


def test_one_label_descends_three_levels():
    h = HierarchicalRewardMachine(
        "top",
        {
            "top": chain(call("mid", reward=1.0), "z"),
            "mid": chain(call("leaf", reward=2.0), "y"),
            "leaf": chain("a", "b"),
        },
    )
    assert h.height == 3
    s, r = h.step(h.initial_state(), {"a"})
    assert s == HierarchyState(
        "leaf", "u1", (Frame("top", "u1", 1.0), Frame("mid", "u1", 2.0))
    )
    assert r == 0.0
    same_outcome(h, [{"a"}, {"b"}, {"y"}, {"z"}])


def test_one_label_returns_through_several_levels():
    h = HierarchicalRewardMachine(
        "top",
        {
            "top": chain("x", call("mid", reward=1.0), "z"),
            "mid": chain(call("leaf", reward=2.0)),
            "leaf": chain("a", {"formula": "b", "reward": 0.5}),
        },
    )
    s = h.step(h.initial_state(), {"x"})[0]
    s = h.step(s, {"a"})[0]
    assert s.machine == "leaf" and len(s.stack) == 2
    s, r = h.step(s, {"b"})  # leaf and mid accept: two returns on one label
    assert s == HierarchyState("top", "u2", ())
    assert r == 0.5 + 2.0 + 1.0
    out = same_outcome(h, [{"x"}, {"a"}, {"b"}, {"z"}])
    assert out.accepted


def test_callee_reentering_its_initial_state():
    leaf = {
        "initial": "u0",
        "accepting": ["acc"],
        "edges": [("u0", "u1", "a"), ("u1", "u0", "c & !b"), ("u1", "acc", "b", 1.0)],
    }
    h = HierarchicalRewardMachine(
        "top", {"top": chain(call("leaf", "!d")), "leaf": leaf}
    )
    flat = quiet(h.flatten)
    # u0 of the leaf is entered again, so its copy exists besides the caller's u0.
    assert len(flat.states) == 4
    # Context is transient: after re-entering, "a & d" moves on.
    out = same_outcome(h, [{"a"}, {"c"}, {"a", "d"}, {"b"}])
    assert out.accepted and out.rewards == (0.0, 0.0, 0.0, 1.0)
    # But the first move needs the context.
    assert h.step(h.initial_state(), {"a", "d"})[0] == h.initial_state()


def test_rejection_inside_a_callee_ends_the_episode():
    h = HierarchicalRewardMachine(
        "top",
        {
            "top": chain("x", call("leaf"), "z"),
            "leaf": chain("a & !l", "b & !l", rejecting="l"),
        },
    )
    out = same_outcome(h, [{"x"}, {"a"}, {"l"}, {"b"}, {"z"}])
    assert out.rejected and not out.accepted
    assert out.states[-1] == out.states[3]
    assert h.is_rejecting(out.states[-1])
    flat = quiet(h.flatten)
    assert len(flat.rejecting) == 1  # the caller's rejecting state, created


def test_unmatched_defaults_inside_callees():
    leaf = chain("a", "b")
    leaf["on_unmatched"] = "reject"
    h = HierarchicalRewardMachine("top", {"top": chain(call("leaf")), "leaf": leaf})
    # At the root's initial state the root's default (stay) applies.
    assert h.step(h.initial_state(), {"b"})[0] == h.initial_state()
    out = same_outcome(h, [{"a"}, set()])
    assert out.rejected


def test_book_context_and_domain():
    # FBenvs Book: Paper (s then h) and Leather (y then h) in any order, then t.
    paper, leather = chain("s", "h"), chain("y", "h")

    def book(context):
        root = {
            "initial": "u0",
            "accepting": ["acc"],
            "edges": [
                {"source": "u0", "target": "u1", "call": "paper"},
                {"source": "u1", "target": "u3", "call": "leather"},
                {"source": "u0", "target": "u2", "call": "leather", "context": context},
                {"source": "u2", "target": "u3", "call": "paper"},
                ("u3", "acc", "t", 1.0),
            ],
        }
        return {"book": root, "paper": paper, "leather": leather}

    props = ("h", "s", "t", "y")
    h = HierarchicalRewardMachine("book", book("!s"), propositions=props)
    with pytest.raises(NondeterminismError) as info:
        HierarchicalRewardMachine("book", book("true"), propositions=props)
    assert "{s, y}" in str(info.value) and "call 'paper'" in str(info.value)
    assert "call 'leather'" in str(info.value)
    amo = LabelDomain.at_most_one(props)
    HierarchicalRewardMachine(
        "book", book("true"), propositions=props, label_domain=amo
    )
    flat = quiet(h.flatten)
    assert len(flat.states) == 9
    small = minimize(flat, amo)
    pairs = {(e.source, e.target) for e in small.edges if e.source != e.target}
    assert (len(small.states), len(pairs)) == (8, 8)  # spec 6.3: CW Book 8/8
    rng = random.Random(0)
    for _ in range(20):
        trace = random_trace(rng, amo, 12)
        assert small.run(trace).rewards == flat.run(trace).rewards


# ---------------------------------------------------------------- flattening


@pytest.mark.parametrize("h", range(1, 9))
def test_blow_up_family_sizes(h):
    hier = doubling(h)
    assert hier.height == h
    assert sum(len(m.states) for m in hier.machines.values()) == 3 * h
    assert sum(len(m.edges) for m in hier.machines.values()) == 2 * h
    flat = flatten(hier)
    assert len(flat.states) == 2**h + 1
    if h <= 5:
        assert len(minimize(flat).states) == 2**h + 1  # already minimal
        word = [{"a"}, {"b"}] * 2 ** (h - 1)
        assert hier.run(word).accepted and flat.run(word).accepted
        assert not flat.run(word[:-1]).accepted


@hypothesis.given(
    st.integers(0, 10**6),
    st.integers(1, 4),
    st.sampled_from(["all_subsets", "at_most_one"]),
)
@hypothesis.settings(max_examples=30)
def test_hierarchy_and_flattening_agree_on_random_traces(seed, height, kind):
    domain = getattr(LabelDomain, kind)(PROPS)
    h = random_hierarchy(seed, height, domain=domain)
    rng = random.Random(seed)
    for _ in range(6):
        same_outcome(h, random_trace(rng, domain, 15))
    # Goal-directed traces: follow the current state's edges with probability 0.9.
    for _ in range(4):
        s, trace = h.initial_state(), []
        for _ in range(15):
            m = h.machines[s.machine]
            guards = [e for e in m.out_edges(s.state) if e.call is None]
            label = rng.choice(domain.labels())
            if guards and rng.random() < 0.9:
                e = rng.choice(guards)
                good = [x for x in domain.labels() if e.formula.evaluate(x)]
                label = rng.choice(good) if good else label
            trace.append(label)
            s = h.step(s, label)[0]
        same_outcome(h, trace)


def test_flat_machine_flatten_is_identity():
    m = RewardMachine.from_edges([(0, 1, "a")], initial=0, accepting=[1])
    assert m.flatten() is m and flatten(m) is m


# ---------------------------------------------------------------- validation


def test_unknown_callee_is_named():
    with pytest.raises(UnknownMachineError, match="calls the unknown machine 'ghost'"):
        HierarchicalRewardMachine("top", {"top": chain(call("ghost"))})
    with pytest.raises(UnknownMachineError, match="root 'nope'"):
        HierarchicalRewardMachine("nope", {"top": chain("a")})


def test_call_cycle_is_reported():
    with pytest.raises(CallCycleError, match="a -> b -> a"):
        HierarchicalRewardMachine("a", {"a": chain(call("b")), "b": chain(call("a"))})
    with pytest.raises(CallCycleError, match="a -> a"):
        HierarchicalRewardMachine("a", {"a": chain("x", call("a"))})


def test_member_needs_one_accepting_state():
    two = {"initial": 0, "accepting": [1, 2], "edges": [(0, 1, "a"), (0, 2, "b & !a")]}
    with pytest.raises(
        MachineDefinitionError, match=r"machine 'two'.*exactly one accepting"
    ):
        HierarchicalRewardMachine("top", {"top": chain(call("two")), "two": two})
    none = {"initial": 0, "edges": [(0, 1, "a")]}
    with pytest.raises(
        MachineDefinitionError, match=r"machine 'top'.*exactly one accepting"
    ):
        quiet(lambda: HierarchicalRewardMachine("top", {"top": none}))


def test_member_at_most_one_rejecting_state():
    spec = {
        "initial": 0,
        "accepting": [1],
        "rejecting": [2, 3],
        "edges": [(0, 1, "a"), (0, 2, "b & !a"), (0, 3, "c & !a & !b")],
    }
    with pytest.raises(
        MachineDefinitionError, match=r"machine 'top'.*at most one rejecting"
    ):
        HierarchicalRewardMachine("top", {"top": spec})


def test_member_initial_state_must_not_be_terminal():
    spec = {"initial": 0, "accepting": [0], "edges": []}
    with pytest.raises(MachineDefinitionError, match=r"machine 'top'.*initial state 0"):
        HierarchicalRewardMachine("top", {"top": spec})


def test_call_and_formula_conflict_is_named():
    machines = {"top": chain("a"), "leaf": chain("a & !b", "c")}
    machines["top"]["edges"].append(
        {"source": "u0", "target": "acc", "call": "leaf", "reward": 1.0}
    )
    with pytest.raises(NondeterminismError) as info:
        HierarchicalRewardMachine("top", machines)
    msg = str(info.value)
    assert "machine 'top', state 'u0'" in msg and "{a}" in msg
    assert "call 'leaf'" in msg and "formula 'a & !b'" in msg


def test_unsatisfiable_call_warns():
    machines = {"top": chain(call("leaf", "!a")), "leaf": chain("a", "b")}
    machines["top"]["edges"].append(("u0", "acc", "z"))
    with pytest.warns(UnsatisfiableEdgeWarning, match="call 'leaf', context '!a'"):
        HierarchicalRewardMachine("top", machines)


def test_graph_and_machine_members():
    g = nx.MultiDiGraph()
    g.add_node(0, initial=True)
    g.add_node(1, accepting=True)
    g.add_edge(0, 1, call="leaf", context="!b", reward=2.0)
    leaf = RewardMachine.from_edges([(0, 1, "a")], initial=0, accepting=[1])
    h = HierarchicalRewardMachine("top", {"top": g, "leaf": leaf})
    assert h.propositions == ("b", "a")
    assert h.run([{"a"}]).rewards == (2.0,)
    with pytest.raises(TypeError, match="machine 'x'"):
        HierarchicalRewardMachine("x", {"x": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RewardkitWarning)
        assert h.flatten().run([{"a"}]).accepted


def test_member_propositions_must_be_in_the_hierarchy():
    g = nx.MultiDiGraph(propositions=("a", "q"))
    g.add_node(0, initial=True)
    g.add_node(1, accepting=True)
    g.add_edge(0, 1, formula="a")
    with pytest.raises(
        UnknownPropositionError, match=r"machine 'top' declares \['q'\]"
    ):
        HierarchicalRewardMachine("top", {"top": g}, propositions=("a",))


# ------------------------------------------ spec 6.3: CraftWorld flat sizes (FBenvs)


def _pairs(m):
    return len({(e.source, e.target) for e in m.edges if e.source != e.target})


@pytest.mark.parametrize(
    ("task", "height", "n_machines", "root", "flat", "flat_dead_ends"),
    [
        ("Bucket", 1, 1, (3, 2), (3, 2), (4, 4)),
        ("Batter", 1, 1, (5, 5), (5, 5), (6, 9)),
        ("MilkBucket", 2, 2, (3, 2), (4, 3), (5, 6)),
        ("Book", 2, 3, (5, 5), (8, 8), (9, 15)),
        ("Map", 2, 3, (5, 5), (12, 14), (13, 25)),
        ("MilkBucketSugar", 3, 4, (4, 4), (10, 10), (11, 19)),
        ("BookQuill", 3, 5, (4, 4), (21, 25), (22, 45)),
        ("Cake", 4, 6, (4, 3), (15, 16), (16, 30)),
    ],
)
def test_craftworld_flat_sizes(task, height, n_machines, root, flat, flat_dead_ends):
    domain = hierarchical_craft_label_domain()
    for lava, expected in ((False, flat), (True, flat_dead_ends)):
        h = hierarchical_craft_task(task, lava=lava)
        assert h.height == height
        calls = nx.descendants(h._call_graph(), task)
        assert len(calls) + 1 == n_machines
        if not lava:
            r = h.machines[task]
            assert (len(r.states), _pairs(r)) == root
        small = minimize(h.flatten(), domain)
        assert (len(small.states), _pairs(small)) == expected
