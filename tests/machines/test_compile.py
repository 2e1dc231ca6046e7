"""Compilation: tables equal the graph semantics, host equals jit, dense equals clause."""

import random

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rewardkit.core import ConfigError
from rewardkit.machines import (
    CompiledHierarchy,
    CompiledMachine,
    LabelDomain,
    NondeterminismError,
    RewardMachine,
    UnknownPropositionError,
    compile,
    compile_hierarchy,
    label_to_mask,
    minimize,
)
from tests.machines.test_machine_helpers import (
    PROPS,
    doubling,
    quiet,
    random_flat,
    random_hierarchy,
    random_trace,
)

ENV = ("d", "x", "c", "b", "y", "a")  # an env order unlike the machines' own

# Jit once: the step traces once per table shape.
STEP_JIT = jax.jit(CompiledMachine.step)
CRM_JIT = jax.jit(jax.vmap(CompiledMachine.step, in_axes=(None, 0, None)))


def coffee():
    return RewardMachine.from_edges(
        [("start", "coffee", "c & !o"), ("coffee", "done", "o", 1.0)],
        initial="start",
        accepting=["done"],
        propositions=("c", "o"),
    )


def host_run(cm, trace, props):
    u, out = cm.initial, []
    for label in trace:
        u, r, acc, rej = cm.step(u, np.uint32(label_to_mask(label, props)))
        out.append((int(u), float(r), bool(acc), bool(rej)))
    return out


def graph_run(m, trace):
    u, out = m.initial, []
    for label in trace:
        u, r = m.step(u, label)
        out.append((m.state_index(u), r, u in m.accepting, u in m.rejecting))
    return out


def test_style_guide_example():
    cm = compile(coffee(), ("c", "m", "o"))
    label = np.uint32(0b100)  # bit 2 is "o"
    u, r, acc, rej = cm.step(np.int32(1), label)  # states: start, coffee, done
    assert (int(u), float(r), bool(acc), bool(rej)) == (2, 1.0, True, False)
    all_u = jnp.arange(cm.num_states)
    nxt, rew, acc, _ = jax.vmap(cm.step, in_axes=(0, None))(all_u, jnp.uint32(0b100))
    assert nxt.tolist() == [0, 2, 2] and rew.tolist() == [0.0, 1.0, 0.0]
    assert acc.tolist() == [False, True, True]


def test_tables_and_terminal_rows():
    m = coffee()
    cm = compile(m)
    assert cm.next_state.dtype == np.int32 and cm.reward.dtype == np.float32
    assert cm.accepting.tolist() == [False, False, True]
    assert int(cm.initial) == 0
    done = m.state_index("done")
    assert (cm.next_state[done] == done).all() and (cm.reward[done] == 0).all()
    assert cm.columns().tolist() == [0, 1, 2]  # {}, {c}, {o}; {c, o} acts like {o}
    assert cm.column_in_domain.all()


def test_bit_order_does_not_matter():
    m = coffee()
    swapped = RewardMachine.from_edges(
        [("start", "coffee", "c & !o"), ("coffee", "done", "o", 1.0)],
        initial="start",
        accepting=["done"],
        propositions=("o", "c"),
    )
    env = ("x", "o", "y", "c")
    a, b = compile(m, env), compile(swapped, env)
    labels = np.arange(16, dtype=np.uint32)
    for u in range(3):
        for x, y in zip(
            a.step(np.int32(u), labels), b.step(np.int32(u), labels), strict=True
        ):
            np.testing.assert_array_equal(x, y)


def test_missing_env_proposition_is_named():
    with pytest.raises(UnknownPropositionError) as info:
        compile(coffee(), ("c", "m"))
    assert "['o']" in str(info.value) and "('c', 'm')" in str(info.value)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="'fast'"):
        compile(coffee(), mode="fast")
    with pytest.raises(ConfigError, match="at most 32"):
        compile(coffee(), [f"p{i}" for i in range(30)] + ["c", "o", "z"])
    with pytest.raises(TypeError, match="int"):
        compile(3)
    many = tuple(f"p{i}" for i in range(17))
    wide = RewardMachine.from_edges(
        [(0, 1, " & ".join(many))], initial=0, accepting=[1], propositions=many
    )
    with pytest.raises(ConfigError, match="mode='clause'"):
        compile(wide, mode="dense")
    assert not compile(wide).is_dense  # auto picks clause mode
    assert compile(wide).step(np.int32(0), np.uint32(2**17 - 1))[0] == 1


def all_pairs(cm, n_props):
    u = np.repeat(np.arange(cm.num_states, dtype=np.int32), 1 << n_props)
    labels = np.tile(np.arange(1 << n_props, dtype=np.uint32), cm.num_states)
    return u, labels


@hypothesis.given(
    st.integers(0, 10**6), st.sampled_from(["all_subsets", "at_most_one"])
)
def test_compiled_step_equals_graph_semantics(seed, kind):
    domain = getattr(LabelDomain, kind)(PROPS)
    m = random_flat(seed, domain=domain)
    rng = random.Random(seed)
    for mode in ("dense", "clause"):
        cm = compile(m, ENV, mode=mode, label_domain=domain)
        for _ in range(5):
            trace = random_trace(rng, domain, 12)
            assert host_run(cm, trace, ENV) == graph_run(m, trace)


@hypothesis.given(st.integers(0, 10**6))
@hypothesis.settings(max_examples=10)
def test_dense_and_clause_modes_agree_everywhere(seed):
    # Including labels outside the domain that two edges match (they stay put).
    domain = LabelDomain.at_most_one(PROPS)
    m = random_flat(seed, domain=domain)
    dense = compile(m, ENV, label_domain=domain)
    clause = compile(m, ENV, mode="clause", label_domain=domain)
    u, labels = all_pairs(dense, len(ENV))
    for x, y in zip(dense.step(u, labels), clause.step(u, labels), strict=True):
        np.testing.assert_array_equal(x, y)


@hypothesis.given(st.integers(0, 10**6), st.sampled_from(["dense", "clause"]))
@hypothesis.settings(max_examples=8)
def test_host_equals_jit(seed, mode):
    m = random_flat(seed, max_states=3)
    cm = compile(m, ENV, mode=mode)
    u, labels = all_pairs(cm, len(ENV))
    host = cm.step(u, labels)
    device = STEP_JIT(
        jax.tree.map(jnp.asarray, cm), jnp.asarray(u), jnp.asarray(labels)
    )
    for h, d in zip(host, device, strict=True):
        assert isinstance(h, np.ndarray) and not isinstance(h, jax.Array)
        assert h.dtype == np.asarray(d).dtype
        np.testing.assert_array_equal(h, np.asarray(d))


def test_host_scalar_path_returns_numpy_scalars():
    cm = compile(coffee())
    u, r, acc, rej = cm.step(np.int32(0), np.uint32(1))
    assert isinstance(u, np.integer) and isinstance(r, np.floating)
    assert isinstance(rej, np.bool_)
    assert isinstance(acc, np.bool_) and not isinstance(u, jax.Array)


def test_vmap_over_states_is_counterfactual_step():
    m = random_flat(7)
    cm = compile(m)
    dev = jax.tree.map(jnp.asarray, cm)
    all_u = jnp.arange(cm.num_states, dtype=jnp.int32)
    for label in range(16):
        nxt, rew, _, _ = CRM_JIT(dev, all_u, jnp.uint32(label))
        for u in range(cm.num_states):
            v, r = m.step(
                m.states[u], {p for i, p in enumerate(PROPS) if label >> i & 1}
            )
            assert (int(nxt[u]), float(rew[u])) == (m.state_index(v), r)


def test_hierarchy_compiles_through_its_flattening():
    h = random_hierarchy(3, 3)
    flat = quiet(h.flatten)
    cm = compile(h, ENV)
    rng = random.Random(3)
    domain = LabelDomain.all_subsets(PROPS)
    for _ in range(10):
        trace = random_trace(rng, domain, 15)
        got = host_run(cm, trace, ENV)
        out = h.run(trace)
        assert [r for _, r, _, _ in got] == pytest.approx(out.rewards)
        assert (got[-1][2], got[-1][3]) == (out.accepted, out.rejected)
        assert got == graph_run(flat, trace)


def test_domain_conflicts_and_column_in_domain():
    edges = [(0, 2, "f"), (0, 3, "a"), (2, 1, "a", 1.0), (3, 1, "f", 1.0)]
    amo = LabelDomain.at_most_one(("a", "f"))
    m = quiet(
        lambda: RewardMachine.from_edges(
            edges, initial=0, accepting=[1], label_domain=amo
        )
    )
    cm = compile(m)
    # {a, f} is outside the domain and ambiguous in state 0: it stays, at 0.
    both = np.uint32(0b11)
    assert int(cm.step(np.int32(0), both)[0]) == 0
    assert cm.column_in_domain.sum() == 3
    assert not cm.column_in_domain[cm.label_index[3]]
    with pytest.raises(NondeterminismError, match=r"domain label \{a, f\}"):
        compile(m, label_domain=LabelDomain.all_subsets(("a", "f")))


def test_label_compression_by_effect():
    props = tuple(f"p{i}" for i in range(13))
    m = RewardMachine.from_edges(
        [(0, 1, "p0 & !p12", 1.0)], initial=0, accepting=[1], propositions=props
    )
    cm = compile(m)
    assert cm.prop_bits.tolist() == [0, 12]  # projected onto the used propositions
    assert cm.label_index.shape == (4,) and cm.num_columns == 2
    assert cm.columns().tolist() == [0, 1]
    # Up to 12 env propositions the raw label indexes the table directly.
    env12 = props[:1] + props[2:]
    m12 = RewardMachine.from_edges(
        [(0, 1, "p0 & !p12", 1.0)], initial=0, accepting=[1], propositions=env12
    )
    small = compile(m12, env12)
    assert small.prop_bits.shape == (0,) and small.label_index.shape == (1 << 12,)
    assert int(small.step(0, np.uint32(1))[0]) == 1
    assert int(small.step(0, np.uint32(1 | 1 << 11))[0]) == 0
    for x, y in zip(cm.step(np.int32(0), np.uint32(1)), small.step(0, 1), strict=True):
        assert x == y
    none = RewardMachine.from_edges([(0, 1, "true")], initial=0, accepting=[1])
    wide = compile(none, props)
    assert wide.prop_bits.shape == (1,) and int(wide.step(0, np.uint32(8191))[0]) == 1


@hypothesis.given(st.integers(0, 10**6))
@hypothesis.settings(max_examples=15)
def test_minimize_is_equivalent_and_idempotent(seed):
    domain = LabelDomain.at_most_one(PROPS)
    m = random_flat(seed, domain=domain, max_states=6)
    small = quiet(lambda: minimize(m))
    assert len(small.states) <= len(m.states)
    assert len(quiet(lambda: minimize(small)).states) == len(small.states)
    rng = random.Random(seed)
    for _ in range(5):
        trace = random_trace(rng, domain, 12)
        a, b = m.run(trace), small.run(trace)
        assert a.rewards == b.rewards and (a.accepted, a.rejected) == (
            b.accepted,
            b.rejected,
        )


def test_minimize_merges_equivalent_branches():
    m = RewardMachine.from_edges(
        [
            ("u0", "a1", "a & !b"),
            ("u0", "b1", "b & !a"),
            ("a1", "acc", "c", 1.0),
            ("b1", "acc", "c", 1.0),
        ],
        initial="u0",
        accepting=["acc"],
    )
    assert minimize(m).states == ("u0", "a1", "acc")
    assert len(minimize(doubling(3)).states) == 9


# ------------------------------------------------------ hierarchy, bounded stack

HSTEP_JIT = jax.jit(CompiledHierarchy.step)


def check_hierarchy_trace(h, ch, trace, device=None, env=ENV):
    names = list(h.machines)
    hs, cs = h.initial_state(), ch.initial_state()
    ds = device.initial_state() if device is not None else None
    for label in trace:
        hs, r = h.step(hs, label)
        mask = np.uint32(label_to_mask(label, env))
        cs, cr, acc, rej = ch.step(cs, mask)
        assert names[int(cs.machine)] == hs.machine
        assert int(cs.state) == h.machines[hs.machine].state_index(hs.state)
        assert int(cs.depth) == len(hs.stack)
        for i, frame in enumerate(hs.stack):
            caller = h.machines[frame.caller]
            assert cs.stack[i].tolist() == [
                names.index(frame.caller),
                caller.state_index(frame.return_state),
            ]
        assert float(cr) == pytest.approx(r)
        assert (bool(acc), bool(rej)) == (h.is_accepting(hs), h.is_rejecting(hs))
        if device is not None:
            ds, dr, dacc, drej = HSTEP_JIT(device, ds, jnp.uint32(mask))
            for x, y in zip(cs, ds, strict=True):
                np.testing.assert_array_equal(x, np.asarray(y))
            assert (float(dr), bool(dacc), bool(drej)) == (
                float(cr),
                bool(acc),
                bool(rej),
            )


@hypothesis.given(
    st.integers(0, 10**6),
    st.integers(1, 4),
    st.sampled_from(["all_subsets", "at_most_one"]),
)
@hypothesis.settings(max_examples=15)
def test_compiled_hierarchy_equals_hierarchy_semantics(seed, height, kind):
    domain = getattr(LabelDomain, kind)(PROPS)
    h = random_hierarchy(seed, height, domain=domain)
    ch = compile_hierarchy(h, ENV)
    rng = random.Random(seed)
    for _ in range(4):
        check_hierarchy_trace(h, ch, random_trace(rng, domain, 12))


def test_compiled_hierarchy_host_equals_jit():
    h = doubling(3)
    ch = compile_hierarchy(h, ("b", "z", "a"))
    device = jax.tree.map(jnp.asarray, ch)
    word = [{"a"}, {"b"}] * 4
    hs = ch.initial_state()
    names = list(h.machines)
    for label in word:
        hs = ch.step(hs, np.uint32(label_to_mask(label, ("b", "z", "a"))))[0]
    assert names[int(hs.machine)] == "M3" and bool(ch.is_accepting(hs))
    rng = random.Random(0)
    trace = [rng.choice([set(), {"a"}, {"b"}, {"a", "b"}]) for _ in range(12)] + word
    check_hierarchy_trace(h, ch, trace, device, env=("b", "z", "a"))


def test_compile_hierarchy_errors():
    with pytest.raises(TypeError, match="HierarchicalRewardMachine"):
        compile_hierarchy(coffee())
    with pytest.raises(UnknownPropositionError, match=r"\['b'\]"):
        compile_hierarchy(doubling(2), ("a",))


def test_compile_hierarchy_ignores_members_the_root_cannot_call():
    # Regression: every member is compiled, but the stack was sized by the root's
    # height, so a shallow root beside taller members raised IndexError.
    from rewardkit.machines import compile_hierarchy
    from rewardkit.machines._tasks_craft import hierarchical_craft_task

    h = hierarchical_craft_task("Sugar")  # height 1, 13 members, Cake of height 4
    compiled = compile_hierarchy(h, h.propositions)
    assert compiled.res_frames.shape[-2] == 4
