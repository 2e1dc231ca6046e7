"""RewardMachine: construction, validation rules (each names its culprit), semantics."""

import math
import re
import warnings

import networkx as nx
import pytest

from rewardkit.core import ConfigError
from rewardkit.machines import (
    DeadEndWarning,
    FormulaSyntaxError,
    LabelDomain,
    MachineDefinitionError,
    NondeterminismError,
    RewardMachine,
    UnknownPropositionError,
    UnreachableStateWarning,
    UnsatisfiableEdgeWarning,
)

# OfficeWorld t1 in rewardkit's explicit form: coffee (f) then office (g), plants (n)
# reject; self-loops are the "stay" default.
T1_EDGES = [
    ("u0", "u1", "f & !n"),
    ("u1", "acc", "g & !n", 1.0),
    ("u0", "rej", "n"),
    ("u1", "rej", "n"),
]


def t1(**kw):
    return RewardMachine.from_edges(
        T1_EDGES, initial="u0", accepting=["acc"], rejecting=["rej"], **kw
    )


def test_t1_semantics():
    m = t1()
    assert m.propositions == ("f", "g", "n")
    assert m.states == ("u0", "u1", "acc", "rej")
    assert m.step("u0", set()) == ("u0", 0.0)
    assert m.step("u0", {"f"}) == ("u1", 0.0)
    assert m.step("u1", {"g"}) == ("acc", 1.0)
    assert m.step("u1", {"g", "n"}) == ("rej", 0.0)
    out = m.run([{"f"}, {"g"}, {"f"}])
    assert out.states == ("u0", "u1", "acc", "acc")
    assert out.rewards == (0.0, 1.0, 0.0)  # terminal states absorb at 0
    assert out.accepted and not out.rejected


def test_reject_default_creates_a_rejecting_sink():
    m = RewardMachine.from_edges(
        [("u0", "u0", "!f"), ("u0", "acc", "f", 1.0)],
        initial="u0",
        accepting=["acc"],
        propositions=("f", "n"),
        on_unmatched="reject",
    )
    assert m.states[-1] == "rejected" and m.rejecting == {"rejected"}
    assert m.unmatched("u0") == ("rejected", 0.0)
    # f & n matches "f": no fall-off; nothing is unmatched here.
    assert m.step("u0", {"f", "n"}) == ("acc", 1.0)
    m2 = RewardMachine.from_edges(
        [("u0", "acc", "f", 1.0)],
        initial="u0",
        accepting=["acc"],
        on_unmatched="reject",
    )
    assert m2.run([set()]).rejected


def test_per_state_default_and_existing_rejecting_state():
    g = nx.MultiDiGraph(propositions=("a", "b"))
    g.add_node(0, initial=True, on_unmatched="reject")
    g.add_node(1)
    g.add_node("acc", accepting=True)
    g.add_node("bad", rejecting=True)
    g.add_edge(0, 1, formula="a")
    g.add_edge(1, "acc", formula="b", reward=1.0)
    g.add_edge(1, "bad", formula="a & !b")
    m = RewardMachine.from_graph(g)
    assert m.step(0, {"b"}) == ("bad", 0.0)  # reject goes to the rejecting state
    assert m.step(1, set()) == (1, 0.0)  # machine default: stay


def test_parallel_edges_are_kept():
    m = RewardMachine.from_edges(
        [(0, 1, "a & !b", 1.0), (0, 1, "b", 2.0)], initial=0, accepting=[1]
    )
    assert len(m.edges) == 2
    assert m.step(0, {"a"}) == (1, 1.0)
    assert m.step(0, {"a", "b"}) == (1, 2.0)


def test_overlapping_guards_with_one_outcome_are_fine():
    m = RewardMachine.from_edges(
        [(0, 1, "a", 1.0), (0, 1, "b", 1.0)], initial=0, accepting=[1]
    )
    assert m.step(0, {"a", "b"}) == (1, 1.0)


def test_frozen_copy_and_to_graph():
    g = nx.MultiDiGraph(propositions=("a",))
    g.add_node(0, initial=True)
    g.add_node(1, accepting=True)
    g.add_edge(0, 1, formula="a")
    m = RewardMachine.from_graph(g)
    g.add_edge(0, 0, formula="!a")  # the machine holds its own copy
    assert len(m.edges) == 1
    h = m.to_graph()
    h.add_edge(1, 0)
    assert len(m.edges) == 1
    with pytest.raises(nx.NetworkXError):
        m._graph.add_edge(0, 0)
    assert RewardMachine.from_graph(m.to_graph()).run([{"a"}]) == m.run([{"a"}])


# ------------------------------------------------------------ validation rules


def test_nondeterminism_names_both_edges_and_a_witness():
    with pytest.raises(NondeterminismError) as info:
        RewardMachine.from_edges(
            [("u0", "x", "a"), ("u0", "y", "b & !c")],
            initial="u0",
            accepting=["x", "y"],
            name="t",
        )
    msg = str(info.value)
    assert "machine 't'" in msg and "state 'u0'" in msg
    assert "'u0' -> 'x' (formula 'a'" in msg and "'u0' -> 'y' (formula 'b & !c'" in msg
    assert "{a, b}" in msg


def test_same_target_different_reward_is_nondeterministic():
    with pytest.raises(NondeterminismError, match=r"reward 2\.0"):
        RewardMachine.from_edges(
            [(0, 1, "a", 1.0), (0, 1, "a & b", 2.0)], initial=0, accepting=[1]
        )


def test_domain_decides_conflicts():
    # RMcode CraftWorld t5 leaves state 0 on f and on a.
    edges = [(0, 2, "f"), (0, 3, "a"), (2, 4, "a"), (3, 4, "f"), (4, 1, "e", 1.0)]
    with pytest.raises(NondeterminismError, match=r"\{a, f\}"):
        RewardMachine.from_edges(edges, initial=0, accepting=[1])
    m = RewardMachine.from_edges(
        edges,
        initial=0,
        accepting=[1],
        label_domain=LabelDomain.at_most_one(("a", "e", "f")),
    )
    with pytest.raises(NondeterminismError, match="outside the label domain"):
        m.step(0, {"a", "f"})


def test_unknown_proposition_is_named():
    with pytest.raises(UnknownPropositionError) as info:
        RewardMachine.from_edges(
            [(0, 1, "a & zz")], initial=0, accepting=[1], propositions=("a",)
        )
    assert "['zz']" in str(info.value) and "edge 0 -> 1" in str(info.value)
    m = t1()
    with pytest.raises(UnknownPropositionError, match="'q'"):
        m.step("u0", {"q"})


@pytest.mark.parametrize("initials", [[], [0, 1]])
def test_exactly_one_initial(initials):
    g = nx.MultiDiGraph()
    g.add_node(0)
    g.add_node(1, accepting=True)
    for u in initials:
        g.nodes[u]["initial"] = True
    g.add_edge(0, 1, formula="a")
    with pytest.raises(MachineDefinitionError, match=re.escape(f"got {initials}")):
        RewardMachine.from_graph(g)


def test_missing_initial_in_dict():
    with pytest.raises(MachineDefinitionError, match="no `initial`"):
        RewardMachine.from_dict({"edges": [(0, 1, "a")]})


def test_accepting_and_rejecting_state():
    with pytest.raises(MachineDefinitionError, match="state 1 is both"):
        RewardMachine.from_edges([(0, 1, "a")], initial=0, accepting=[1], rejecting=[1])


def test_edge_out_of_terminal_state():
    with pytest.raises(MachineDefinitionError, match="edge 1 -> 0 leaves the terminal"):
        RewardMachine.from_edges([(0, 1, "a"), (1, 0, "b")], initial=0, accepting=[1])


@pytest.mark.parametrize("reward", [math.inf, math.nan, "1", True])
def test_non_finite_reward(reward):
    with pytest.raises(MachineDefinitionError, match="reward of edge 0 -> 1"):
        RewardMachine.from_edges([(0, 1, "a", reward)], initial=0, accepting=[1])


def test_bad_on_unmatched():
    with pytest.raises(ConfigError, match="'skip'"):
        RewardMachine.from_edges(
            [(0, 1, "a")], initial=0, accepting=[1], on_unmatched="skip"
        )
    g = nx.MultiDiGraph()
    g.add_node(0, initial=True, on_unmatched="ignore")
    g.add_edge(0, 1, formula="a")
    g.add_node(1, accepting=True)
    with pytest.raises(ConfigError, match="state 0 has `on_unmatched` 'ignore'"):
        RewardMachine.from_graph(g)


def test_call_edges_need_a_hierarchy():
    g = nx.MultiDiGraph()
    g.add_node(0, initial=True)
    g.add_node(1, accepting=True)
    g.add_edge(0, 1, call="other")
    with pytest.raises(MachineDefinitionError, match="edge 0 -> 1 calls 'other'"):
        RewardMachine.from_graph(g)


def test_formula_syntax_error_names_the_edge():
    with pytest.raises(
        FormulaSyntaxError, match=r"edge 0 -> 1: unexpected end at column 4"
    ):
        RewardMachine.from_edges([(0, 1, "a &")], initial=0, accepting=[1])


def test_bad_specs():
    with pytest.raises(ConfigError, match=r"unknown machine keys \['colour'\]"):
        RewardMachine.from_dict({"initial": 0, "colour": "red"})
    with pytest.raises(ConfigError, match=r"\(0, 1\)"):
        RewardMachine.from_edges([(0, 1)], initial=0)
    with pytest.raises(ConfigError, match=r"unknown attributes \['weight'\]"):
        g = nx.MultiDiGraph()
        g.add_node(0, initial=True)
        g.add_edge(0, 0, weight=1)
        RewardMachine.from_graph(g)
    with pytest.raises(TypeError, match="MultiDiGraph"):
        RewardMachine.from_graph({"initial": 0})
    with pytest.raises(ConfigError, match="state 9"):
        t1().state_index(9)
    with pytest.raises(TypeError, match="not a str"):
        t1().step("u0", "f")


def test_unreachable_state_warning_names_the_state():
    with pytest.warns(UnreachableStateWarning, match=r"\['island'\]"):
        RewardMachine.from_edges(
            [(0, 1, "a"), ("island", 1, "b")], initial=0, accepting=[1]
        )


def test_dead_end_warning_names_the_state():
    with pytest.warns(DeadEndWarning, match=r"\['trap'\]"):
        RewardMachine.from_edges(
            [(0, 1, "a & !b"), (0, "trap", "b")], initial=0, accepting=[1]
        )


def test_unsatisfiable_edge_warning_names_the_edge():
    with pytest.warns(
        UnsatisfiableEdgeWarning, match="edge 0 -> 1 \\(formula 'a & !a'"
    ):
        RewardMachine.from_edges(
            [(0, 1, "a & !a"), (0, 1, "b")], initial=0, accepting=[1]
        )
    with pytest.warns(UnsatisfiableEdgeWarning, match="formula 'a & b'"):
        RewardMachine.from_edges(
            [(0, 1, "a & b"), (0, 1, "a")],
            initial=0,
            accepting=[1],
            label_domain=LabelDomain.at_most_one(("a", "b")),
        )


def test_valid_machines_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t1()
