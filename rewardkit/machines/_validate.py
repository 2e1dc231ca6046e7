"""Normalisation and validation of authored machine graphs.

``normalise_graph`` turns an authored ``networkx`` graph into the canonical frozen
form (flags and defaults on every node, parsed guards, the rejecting sink);
``check_determinism`` and ``check_structure`` raise or warn with messages that name
the machine, the states, the edges and a witness label.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx

from rewardkit.core import ConfigError
from rewardkit.machines._errors import (
    DeadEndWarning,
    FormulaSyntaxError,
    MachineDefinitionError,
    NondeterminismError,
    UnknownPropositionError,
    UnreachableStateWarning,
    UnsatisfiableEdgeWarning,
)
from rewardkit.machines._formula import (
    TRUE,
    check_proposition_names,
    mask_to_label,
    parse_formula,
)

__all__: list[str] = []

UNMATCHED = ("stay", "reject")
SINK = "rejected"


def fmt_label(mask: int, propositions: Sequence[str]) -> str:
    """A label bitmask for messages, as ``{a, b}``."""
    return "{" + ", ".join(sorted(mask_to_label(mask, propositions))) + "}"


def describe_edge(e: Any) -> str:
    """An edge for messages."""
    if e.call is not None:
        guard = f"call {e.call!r}, context {str(e.context)!r}"
    else:
        guard = f"formula {str(e.formula)!r}"
    return f"edge {e.source!r} -> {e.target!r} ({guard}, reward {e.reward})"


def _real(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise MachineDefinitionError(f"{what} must be a finite number; got {value!r}.")
    if not math.isfinite(float(value)):
        raise MachineDefinitionError(f"{what} must be a finite number; got {value!r}.")
    return float(value)


def normalise_graph(
    graph: Any,
    *,
    on_unmatched: str,
    allow_calls: bool,
    propositions: Sequence[str] | None,
) -> nx.MultiDiGraph:
    """The canonical (unfrozen) graph of an authored machine, or a clear error."""
    if not isinstance(graph, nx.DiGraph):
        raise TypeError(
            f"`graph` must be a networkx.MultiDiGraph; got {type(graph).__name__}."
        )
    name = graph.graph.get("name", "machine")
    if not isinstance(name, str):
        raise ConfigError(f"the machine name must be a str; got {name!r}.")
    where = f"machine {name!r}"
    default = graph.graph.get("on_unmatched", on_unmatched)
    if default not in UNMATCHED:
        raise ConfigError(
            f"{where}: `on_unmatched` must be 'stay' or 'reject'; got {default!r}."
        )
    g = nx.MultiDiGraph(name=name, on_unmatched=default)
    # Nodes: flags, defaults.
    for u, data in graph.nodes(data=True):
        flags = {}
        for flag in ("initial", "accepting", "rejecting"):
            flags[flag] = bool(data.get(flag, False))
        mode = data.get("on_unmatched", default)
        if mode not in UNMATCHED:
            raise ConfigError(
                f"{where}: state {u!r} has `on_unmatched` {mode!r}; expected "
                "'stay' or 'reject'."
            )
        reward = _real(
            data.get("unmatched_reward", 0.0),
            f"{where}: the `unmatched_reward` of state {u!r}",
        )
        if flags["accepting"] and flags["rejecting"]:
            raise MachineDefinitionError(
                f"{where}: state {u!r} is both accepting and rejecting."
            )
        g.add_node(u, **flags, on_unmatched=mode, unmatched_reward=reward)
    initials = [u for u, d in g.nodes(data=True) if d["initial"]]
    if len(initials) != 1:
        raise MachineDefinitionError(
            f"{where}: exactly one state must be initial; got {initials}."
        )
    # Edges: parse guards.
    parsed = []
    for u, v, data in graph.edges(data=True):
        unknown = set(data) - {"formula", "reward", "call", "context"}
        if unknown:
            raise ConfigError(
                f"{where}: edge {u!r} -> {v!r} has unknown attributes "
                f"{sorted(unknown)}; expected formula, reward, call, context."
            )
        reward = _real(
            data.get("reward", 0.0), f"{where}: the reward of edge {u!r} -> {v!r}"
        )
        call = data.get("call")
        try:
            if call is not None:
                if "formula" in data:
                    raise MachineDefinitionError(
                        f"{where}: edge {u!r} -> {v!r} has both `call` and "
                        "`formula`; a call edge's guard is its `context`."
                    )
                if not allow_calls:
                    raise MachineDefinitionError(
                        f"{where}: edge {u!r} -> {v!r} calls {call!r}; a flat "
                        "RewardMachine cannot call machines, build a "
                        "HierarchicalRewardMachine."
                    )
                if not isinstance(call, str):
                    raise ConfigError(
                        f"{where}: edge {u!r} -> {v!r}: `call` must be a machine "
                        f"name (str); got {call!r}."
                    )
                formula = TRUE
                context = parse_formula(data.get("context", TRUE))
            else:
                if "context" in data:
                    raise MachineDefinitionError(
                        f"{where}: edge {u!r} -> {v!r} has a `context` but no `call`."
                    )
                formula = parse_formula(data.get("formula", TRUE))
                context = TRUE
        except FormulaSyntaxError as e:
            raise FormulaSyntaxError(f"{where}, edge {u!r} -> {v!r}: {e}") from None
        parsed.append((u, v, formula, reward, call, context))
    if propositions is None:
        propositions = graph.graph.get("propositions")
    if propositions is None:
        props = sorted(
            frozenset().union(
                *(f.propositions | c.propositions for _, _, f, _, _, c in parsed)
            )
        )
    else:
        props = check_proposition_names(propositions, "propositions")
    props = tuple(props)
    for u, v, formula, _, _, context in parsed:
        missing = sorted((formula.propositions | context.propositions) - set(props))
        if missing:
            raise UnknownPropositionError(
                f"{where}: edge {u!r} -> {v!r} names {missing}, not among the "
                f"machine's propositions {props}."
            )
    terminal = {u for u, d in g.nodes(data=True) if d["accepting"] or d["rejecting"]}
    for u, v, *_ in parsed:
        if u in terminal:
            raise MachineDefinitionError(
                f"{where}: edge {u!r} -> {v!r} leaves the terminal state {u!r}; "
                "accepting and rejecting states are absorbing."
            )
    # The rejecting sink for "reject" defaults.
    rejecting = [u for u, d in g.nodes(data=True) if d["rejecting"]]
    needs_sink = any(
        d["on_unmatched"] == "reject" and u not in terminal
        for u, d in g.nodes(data=True)
    )
    if needs_sink and not rejecting:
        sink = SINK
        while sink in g:
            sink = "_" + sink
        g.add_node(
            sink,
            initial=False,
            accepting=False,
            rejecting=True,
            on_unmatched=default,
            unmatched_reward=0.0,
        )
        rejecting = [sink]
    for u, v, formula, reward, call, context in parsed:
        attrs: dict[str, Any] = {"reward": reward}
        if call is None:
            attrs["formula"] = str(formula)
        else:
            attrs["call"], attrs["context"] = call, str(context)
        g.add_edge(u, v, **attrs)
    g.graph["propositions"] = props
    return g


def check_determinism(rm: Any) -> None:
    """Raises ``NondeterminismError`` on two conflicting edges of one state."""
    for u in rm.states:
        ix = rm._out[u]
        for a_pos, a in enumerate(ix):
            ea = rm.edges[a]
            for b in ix[a_pos + 1 :]:
                eb = rm.edges[b]
                if (ea.target, ea.reward) == (eb.target, eb.reward):
                    continue
                for ca in rm._clauses[a]:
                    for cb in rm._clauses[b]:
                        w = rm._witness((ca, cb))
                        if w is not None:
                            raise NondeterminismError(
                                f"machine {rm.name!r}, state {u!r}: "
                                f"{describe_edge(ea)} and {describe_edge(eb)} both "
                                f"match the label {fmt_label(w, rm.propositions)}."
                            )


def check_structure(rm: Any, live: Sequence[int] | None = None) -> None:
    """Warns on unsatisfiable guards, unreachable states and dead ends."""
    if live is None:
        live = [i for i in range(len(rm.edges)) if rm._satisfiable(i)]
        for i in sorted(set(range(len(rm.edges))) - set(live)):
            warnings.warn(
                f"machine {rm.name!r}: no label of the domain satisfies the "
                f"guard of {describe_edge(rm.edges[i])}.",
                UnsatisfiableEdgeWarning,
                stacklevel=4,
            )
    reach = nx.DiGraph()
    reach.add_nodes_from(rm.states)
    for i in live:
        reach.add_edge(rm.edges[i].source, rm.edges[i].target)
    for u, (v, _) in rm._defaults.items():
        if v != u:
            reach.add_edge(u, v)
    seen = nx.descendants(reach, rm.initial) | {rm.initial}
    implicit = {u for u in rm.rejecting if u not in seen and not rm._graph.in_edges(u)}
    unreachable = [u for u in rm.states if u not in seen and u not in implicit]
    if unreachable:
        warnings.warn(
            f"machine {rm.name!r}: the states {unreachable} cannot be reached from "
            f"the initial state {rm.initial!r}.",
            UnreachableStateWarning,
            stacklevel=4,
        )
    alive = set()
    for acc in rm.accepting:
        alive |= nx.ancestors(reach, acc) | {acc}
    dead = [
        u for u in rm.states if u in seen and u not in alive and not rm.is_terminal(u)
    ]
    if dead:
        warnings.warn(
            f"machine {rm.name!r}: the non-terminal states {dead} cannot reach an "
            "accepting state.",
            DeadEndWarning,
            stacklevel=4,
        )


def graph_from_dict(spec: Mapping[str, Any]) -> nx.MultiDiGraph:
    """The ``MultiDiGraph`` of a dict spec (see ``RewardMachine.from_dict``)."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"`spec` must be a mapping; got {type(spec).__name__}.")
    allowed = {
        "name",
        "propositions",
        "initial",
        "accepting",
        "rejecting",
        "on_unmatched",
        "edges",
        "states",
    }
    unknown = set(spec) - allowed
    if unknown:
        raise ConfigError(
            f"unknown machine keys {sorted(map(str, unknown))}; expected some of "
            f"{sorted(allowed)}."
        )
    if "initial" not in spec:
        raise MachineDefinitionError("the machine spec has no `initial` state.")
    g = nx.MultiDiGraph(name=spec.get("name", "machine"))
    if spec.get("propositions") is not None:
        g.graph["propositions"] = tuple(spec["propositions"])
    if "on_unmatched" in spec:
        g.graph["on_unmatched"] = spec["on_unmatched"]
    for s in spec.get("states", ()):
        if isinstance(s, Mapping):
            attrs = {k: s[k] for k in ("on_unmatched", "unmatched_reward") if k in s}
            g.add_node(s["name"], **attrs)
        else:
            g.add_node(s)
    g.add_node(spec["initial"], initial=True)
    for e in spec.get("edges", ()):
        if isinstance(e, Mapping):
            e = dict(e)
            u, v = e.pop("source"), e.pop("target")
            g.add_edge(u, v, **e)
        else:
            e = tuple(e)
            if len(e) not in (3, 4):
                raise ConfigError(
                    f"an edge must be (source, target, formula[, reward]); got {e!r}."
                )
            attrs = {"formula": e[2]}
            if len(e) == 4:
                attrs["reward"] = e[3]
            g.add_edge(e[0], e[1], **attrs)
    for flag in ("accepting", "rejecting"):
        values = spec.get(flag, ())
        if isinstance(values, str) or not isinstance(values, Iterable):
            raise ConfigError(f"`{flag}` must be a list of states; got {values!r}.")
        for u in values:
            g.add_node(u, **{flag: True})
    return g
