"""Classic text format, JSON, DOT and drawing."""

import random

import hypothesis
import hypothesis.strategies as st
import pytest

from rewardkit.core import ConfigError
from rewardkit.machines import (
    ClassicFormatWarning,
    FormulaSyntaxError,
    HierarchicalRewardMachine,
    LabelDomain,
    NondeterminismError,
    RewardMachine,
    from_json,
    parse_classic,
    to_classic,
    to_dot,
    to_json,
)
from tests.machines.test_machine_helpers import (
    PROPS,
    doubling,
    quiet,
    random_flat,
    random_hierarchy,
    random_trace,
)

# Coffee then office; plants (n) are unmatched and fall off, as in the reference files.
COFFEE = """\
0 # initial state
[2] # terminal state
(0,0,'!f&!n',ConstantRewardFunction(0))
(0,1,'f&!n',ConstantRewardFunction(0))
(1,1,'!g&!n',ConstantRewardFunction(0))
(1,2,'g&!n',ConstantRewardFunction(1))
"""


def test_parse_classic_correct_semantics():
    m = parse_classic(COFFEE)
    assert m.propositions == ("f", "g", "n")
    assert m.states == (0, 1, 2, "rejected") and m.accepting == {2}
    out = m.run([{"f"}, {"n"}])
    assert out.rewards == (0.0, 0.0) and out.rejected  # plant from u1: 0, rejected
    assert m.run([{"f"}, {"g"}]).rewards == (0.0, 1.0)


def test_legacy_falloff_reward_reproduces_the_bug():
    with pytest.warns(ClassicFormatWarning, match="issue #50"):
        m = parse_classic(COFFEE, legacy_falloff_reward=True)
    out = m.run([{"f"}, {"n"}])
    assert out.rewards == (0.0, 1.0) and out.rejected
    assert m.run([{"n"}]).rewards == (0.0,)  # u0 has no edge into a terminal state


def test_stay_default_and_rejecting_list():
    text = "0\n[1, 2]\n(0,1,'a',ConstantRewardFunction(1))\n(0,2,'b',ConstantRewardFunction(0))"
    amo = LabelDomain.at_most_one(("a", "b"))
    m = parse_classic(text, on_unmatched="stay", rejecting=[2], label_domain=amo)
    assert m.rejecting == {2} and m.accepting == {1}
    assert m.step(0, set()) == (0, 0.0)
    with pytest.raises(NondeterminismError, match=r"\{a, b\}"):
        parse_classic(text)
    m = parse_classic(text, label_domain=amo)
    assert m.step(0, {"b"}) == (2, 0.0)
    with pytest.raises(ConfigError, match=r"\[7\]"):
        parse_classic(text, rejecting=[7])


def test_duplicate_pairs_become_parallel_edges():
    text = "0\n[1]\n(0,1,'a',ConstantRewardFunction(1))\n(0,1,'b&!a',ConstantRewardFunction(2))"
    m = parse_classic(text)
    assert len(m.edges) == 2
    assert m.step(0, {"a"}) == (1, 1.0) and m.step(0, {"b"}) == (1, 2.0)


def test_edges_out_of_terminal_states_are_dropped_with_a_warning():
    text = "0\n[1]\n(0,1,'a',ConstantRewardFunction(1))\n(1,0,'b',ConstantRewardFunction(0))"
    with pytest.warns(ClassicFormatWarning, match="line 4: the edge 1 -> 0"):
        m = parse_classic(text)
    assert len(m.edges) == 1


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("(0,1,'a',__import__('os').system('x'))", "line 3"),
        ("(0,1,'a',RewardControl())", "line 3"),
        ("__import__('os')", "line 3"),
        ("(0,1,a,ConstantRewardFunction(1))", "line 3"),
        ("(0,1,'a',ConstantRewardFunction(1+1))", "line 3"),
    ],
)
def test_anything_but_the_grammar_raises_with_the_line(line, what):
    with pytest.raises(ConfigError, match=what):
        parse_classic(f"0\n[1]\n{line}")


def test_bad_header_lines():
    with pytest.raises(ConfigError, match="line 1"):
        parse_classic("zero\n[1]\n")
    with pytest.raises(ConfigError, match="line 2"):
        parse_classic("0\n{1}\n")
    with pytest.raises(ConfigError, match="initial-state line"):
        parse_classic("# nothing\n")
    with pytest.raises(FormulaSyntaxError, match="line 3"):
        parse_classic("0\n[1]\n(0,1,'a&',ConstantRewardFunction(1))")
    with pytest.raises(TypeError, match="str"):
        parse_classic(b"0\n[1]")


def test_comments_blank_lines_and_numbers():
    text = "# header\n\n  3  # initial\n[ -1 , 4 ]\n(3,-1,'a',ConstantRewardFunction(-2.5e-1))\n"
    m = parse_classic(text, rejecting=[4])
    assert m.initial == 3 and m.accepting == {-1} and m.rejecting == {4}
    assert m.step(3, {"a"}) == (-1, -0.25)


def same_runs(a, b, domain, seed, n=8):
    rng = random.Random(seed)
    for _ in range(n):
        trace = random_trace(rng, domain, 12)
        x, y = a.run(trace), b.run(trace)
        assert x.rewards == y.rewards and (x.accepted, x.rejected) == (
            y.accepted,
            y.rejected,
        )


@hypothesis.given(st.integers(0, 10**6))
@hypothesis.settings(max_examples=15)
def test_classic_round_trip(seed):
    m = random_flat(seed)
    with pytest.warns(ClassicFormatWarning) if m.rejecting else _nothing():
        text = to_classic(m)
    ids = {u: i for i, u in enumerate(m.states)}
    back = quiet(
        lambda: parse_classic(
            text, propositions=PROPS, rejecting=[ids[u] for u in m.rejecting]
        )
    )
    same_runs(m, back, LabelDomain.all_subsets(PROPS), seed)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_to_classic_keeps_int_states_and_warns_on_long_names():
    m = parse_classic(COFFEE)
    with pytest.warns(ClassicFormatWarning, match=r"rejecting=\[3\]"):
        text = to_classic(m)  # the sink "rejected" becomes state 3
    back = parse_classic(text, propositions=m.propositions, rejecting=[3])
    assert back.states == (0, 1, 2, 3) and back.rejecting == {3}
    same_runs(m, back, LabelDomain.all_subsets(m.propositions), 0)
    long = RewardMachine.from_edges([(0, 1, "coffee")], initial=0, accepting=[1])
    with pytest.warns(ClassicFormatWarning, match="single-character"):
        to_classic(long)
    with pytest.raises(TypeError, match="flat RewardMachine"):
        to_classic(doubling(2))


@hypothesis.given(st.integers(0, 10**6))
@hypothesis.settings(max_examples=10)
def test_json_round_trip_flat(seed):
    m = random_flat(seed, domain=LabelDomain.at_most_one(PROPS))
    back = quiet(lambda: from_json(to_json(m)))
    assert back.states == m.states and back.label_domain == m.label_domain
    same_runs(m, back, m.label_domain, seed)


def test_json_round_trip_hierarchy():
    h = random_hierarchy(5, 3, domain=LabelDomain.at_most_one(PROPS))
    back = quiet(lambda: from_json(h.to_json()))
    assert isinstance(back, HierarchicalRewardMachine)
    assert back.height == 3 and back.propositions == h.propositions
    same_runs(h, back, h.label_domain, 5)


def test_json_errors():
    with pytest.raises(ConfigError, match="not JSON"):
        from_json("{")
    with pytest.raises(ConfigError, match="not rewardkit machine JSON"):
        from_json("{}")
    with pytest.raises(ConfigError, match="version 99"):
        from_json('{"format": "rewardkit.machine", "version": 99}')
    m = RewardMachine.from_edges([((0, 1), 1, "a")], initial=(0, 1), accepting=[1])
    with pytest.raises(ConfigError, match=r"\(0, 1\)"):
        to_json(m)


def test_to_dot():
    m = parse_classic(COFFEE)
    dot = m.to_dot()
    assert dot.startswith('digraph "machine" {') and dot.endswith("}")
    assert '"1" -> "2" [label="g & !n / 1"]' in dot
    assert "unmatched: reject" in dot
    assert '"2" [shape=doublecircle' in dot
    h = doubling(2)
    hdot = to_dot(h)
    assert 'subgraph "cluster_M1"' in hdot and 'subgraph "cluster_M2"' in hdot
    assert 'label="true / M1", style=dashed' in hdot
    with pytest.raises(TypeError, match="RewardMachine"):
        to_dot("x")


def test_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        assert parse_classic(COFFEE).draw(ax) is ax
        assert len(ax.patches) > 0 or len(ax.collections) > 0
        assert doubling(2).draw(ax).get_title() == "M2"
    finally:
        plt.close(fig)
