"""Flattening of a hierarchy of reward machines into one equivalent flat machine.

FB23's construction (spec 1.5), bottom-up over the call DAG: a machine's states and
formula edges (one per DNF clause) are copied; each call edge inserts a copy of the
callee's flattening whose accepting state becomes the return state, whose rejecting
state becomes the caller's, and whose initial edges are re-rooted at the calling
state under the call's context. The result is potentially exponentially larger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import networkx as nx

from rewardkit.machines._errors import (
    _without_structure_warnings,
)
from rewardkit.machines._formula import Clause, Formula
from rewardkit.machines._hierarchy import HierarchicalRewardMachine, _and
from rewardkit.machines._machine import RewardMachine
from rewardkit.machines._validate import SINK

__all__: list[str] = []


class _Flat(NamedTuple):
    states: list[Any]
    initial: Any
    accepting: Any
    rejecting: Any
    edges: list[tuple[Any, Any, Clause, float]]
    defaults: dict[Any, tuple[str, float]]


def flatten_hierarchy(h: HierarchicalRewardMachine) -> RewardMachine:
    """The flat ``RewardMachine`` equivalent to ``h`` (see ``h.flatten()``)."""
    flats: dict[str, _Flat] = {}
    for name in reversed(list(nx.topological_sort(h._call_graph()))):
        flats[name] = _flatten_member(h, name, flats)
    f = flats[h.root]
    g = nx.MultiDiGraph(name=h.root, propositions=h.propositions)
    for u in f.states:
        mode, reward = f.defaults[u]
        g.add_node(
            u,
            initial=u == f.initial,
            accepting=u == f.accepting,
            rejecting=u == f.rejecting,
            on_unmatched=mode,
            unmatched_reward=reward,
        )
    grouped: dict[tuple[Any, Any, float], list[Clause]] = {}
    for a, b, c, r in f.edges:
        grouped.setdefault((a, b, r), []).append(c)
    for (a, b, r), clauses in grouped.items():
        formula = Formula.from_clauses(dict.fromkeys(clauses), h.propositions)
        g.add_edge(a, b, formula=str(formula), reward=r)
    with _without_structure_warnings():
        return RewardMachine._build(
            g,
            label_domain=h.label_domain,
            on_unmatched="stay",
            propositions=h.propositions,
        )


def _flatten_member(
    h: HierarchicalRewardMachine, name: str, flats: Mapping[str, _Flat]
) -> _Flat:
    # FB23's construction (spec 1.5), bottom-up over the call DAG.
    m = h.machines[name]
    states = list(m.states)
    taken = set(states)
    rejecting = next(iter(m.rejecting), None)
    defaults = {
        u: (
            m._graph.nodes[u]["on_unmatched"],
            m._graph.nodes[u]["unmatched_reward"],
        )
        for u in states
    }
    edges = []

    def fresh(base: str) -> str:
        while base in taken:
            base += "'"
        taken.add(base)
        states.append(base)
        return base

    # One copy of flatten(N) per frame (callee, return state, call reward): the
    # hierarchy state inside the callee does not depend on the calling state.
    copies: dict[tuple[str, Any, float], dict[Any, Any]] = {}
    for i, e in enumerate(m.edges):
        if e.call is None:
            edges += [(e.source, e.target, c, e.reward) for c in m._clauses[i]]
            continue
        f = flats[e.call]
        if f.rejecting is not None and rejecting is None:
            rejecting = fresh(SINK)
            defaults[rejecting] = ("stay", 0.0)
        entered = any(b == f.initial for _, b, _, _ in f.edges)
        frame = (e.call, e.target, e.reward)
        rename = copies.get(frame)
        if rename is None:
            rename = {f.accepting: e.target, f.rejecting: rejecting}
            for w in f.states:
                if w in rename or (w == f.initial and not entered):
                    continue
                rename[w] = fresh(f"{e.source}/{e.call}#{len(copies)}.{w}")
                defaults[rename[w]] = f.defaults[w]
            copies[frame] = rename
            edges += [
                (rename[a], rename[b], c, r + e.reward if b == f.accepting else r)
                for a, b, c, r in f.edges
                if a != f.initial or entered
            ]
        for _, b, c, r in (x for x in f.edges if x[0] == f.initial):
            r2 = r + e.reward if b == f.accepting else r
            for context in m._clauses[i]:
                both = _and(c, context)
                if both is not None and h._witness((both,)) is not None:
                    edges.append((e.source, rename[b], both, r2))
    (accepting,) = m.accepting
    return _Flat(states, m.initial, accepting, rejecting, edges, defaults)
