"""Machine I/O: the classic text format of the reward-machines code, and JSON.

The classic format (RMcode ``reward_machines/reward_machine.py``) is *parsed*, never
evaluated: a tokenizer accepts an int, a list of ints, and edge lines
``(u1, u2, 'formula', ConstantRewardFunction(c))``; anything else raises with the
line number.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx

from rewardkit.core import ConfigError
from rewardkit.machines._errors import ClassicFormatWarning, FormulaSyntaxError
from rewardkit.machines._formula import Formula, LabelDomain, parse_formula
from rewardkit.machines._machine import RewardMachine
from rewardkit.machines._validate import graph_from_dict

__all__ = ["from_json", "parse_classic", "to_classic", "to_json"]

_INT = re.compile(r"\s*(-?\d+)\s*\Z")
_LIST = re.compile(r"\s*\[\s*((?:-?\d+\s*(?:,\s*-?\d+\s*)*,?)?)\s*\]\s*\Z")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_EDGE = re.compile(
    r"\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(['\"])([^'\"]*)\3\s*,\s*"
    r"ConstantRewardFunction\(\s*(" + _NUMBER + r")\s*\)\s*\)\s*\Z"
)
_CLASSIC_ATOM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SCHEMA = "rewardkit.machine"
VERSION = 1


def _strip(line: str) -> str:
    return line.split("#", 1)[0].strip()


def parse_classic(
    text: str,
    *,
    propositions: Sequence[str] | None = None,
    on_unmatched: str = "reject",
    rejecting: Iterable[int] = (),
    legacy_falloff_reward: bool = False,
    name: str = "machine",
    label_domain: LabelDomain | None = None,
) -> RewardMachine:
    """Parses the classic text format (never ``eval``).

    Line 1 is the initial state, line 2 the list of terminal states, then one edge
    per line; ``#`` starts a comment. Terminal states become accepting unless listed
    in ``rejecting``; unmatched labels go to a rejecting sink at reward 0
    (``on_unmatched="reject"``, what the files intend) or stay; edges out of
    terminal states are dropped with a warning; duplicate pairs become parallel
    edges.

    Args:
      text: the file's content.
      propositions: ordered P (default: the atoms found, sorted).
      on_unmatched: ``"reject"`` or ``"stay"``.
      rejecting: terminal states that reject instead of accepting.
      legacy_falloff_reward: reproduce RMcode issue #50 (experiments only; warns):
        an unmatched label pays the reward of the last-parsed edge from the state
        into a terminal state.
      name: the machine's name.
      label_domain: the labels validation considers (all subsets of P).

    Returns:
      The ``RewardMachine``.

    Raises:
      ConfigError: a line that is not an int, a list of ints or an edge with a
        ``ConstantRewardFunction`` (names the line number).

    Example:
      >>> text = '''0  # initial state
      ... [2]  # terminal state
      ... (0,0,'!f&!n',ConstantRewardFunction(0))
      ... (0,1,'f&!n',ConstantRewardFunction(0))
      ... (1,1,'!g&!n',ConstantRewardFunction(0))
      ... (1,2,'g&!n',ConstantRewardFunction(1))'''
      >>> m = parse_classic(text)
      >>> m.states, m.run([{"f"}, {"n"}])
      ((0, 1, 2, 'rejected'), Outcome(states=(0, 1, 'rejected'), rewards=(0.0, 0.0), accepted=False, rejected=True))
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}.")
    lines = [(i + 1, _strip(raw)) for i, raw in enumerate(text.splitlines())]
    lines = [(n, s) for n, s in lines if s]
    if len(lines) < 2:
        raise ConfigError(
            "a classic machine needs an initial-state line and a terminal-state line."
        )
    (n0, first), (n1, second) = lines[0], lines[1]
    m = _INT.match(first)
    if not m:
        raise ConfigError(
            f"line {n0}: expected the initial state (an int); got {first!r}."
        )
    initial = int(m.group(1))
    m = _LIST.match(second)
    if not m:
        raise ConfigError(
            f"line {n1}: expected the terminal states as a list of ints; got {second!r}."
        )
    terminal = [int(x) for x in re.findall(r"-?\d+", m.group(1))]
    reject_set = set(rejecting)
    unknown = reject_set - set(terminal)
    if unknown:
        raise ConfigError(
            f"`rejecting` lists {sorted(unknown)}, which are not terminal states "
            f"{terminal}."
        )
    g = nx.MultiDiGraph(name=name, on_unmatched=on_unmatched)
    g.add_node(initial, initial=True)
    falloff: dict[int, float] = {}
    for n, line in lines[2:]:
        m = _EDGE.match(line)
        if not m:
            raise ConfigError(
                f"line {n}: expected (u1, u2, 'formula', ConstantRewardFunction(c)); "
                f"got {line!r}."
            )
        u, v, formula, reward = int(m.group(1)), int(m.group(2)), m.group(4), m.group(5)
        try:
            parse_formula(formula)
        except FormulaSyntaxError as e:
            raise FormulaSyntaxError(f"line {n}: {e}") from None
        if u in terminal:
            warnings.warn(
                f"line {n}: the edge {u} -> {v} leaves the terminal state {u}; dropped.",
                ClassicFormatWarning,
                stacklevel=2,
            )
            continue
        g.add_edge(u, v, formula=formula, reward=float(reward))
        if v in terminal:
            falloff[u] = float(reward)  # the last-parsed edge into a terminal state
    for u in terminal:
        g.add_node(
            u, **({"rejecting": True} if u in reject_set else {"accepting": True})
        )
    if legacy_falloff_reward:
        warnings.warn(
            "legacy_falloff_reward=True reproduces RMcode issue #50: falling off a "
            "state pays the reward of its edge into a terminal state.",
            ClassicFormatWarning,
            stacklevel=2,
        )
        for u, reward in falloff.items():
            g.add_node(u, on_unmatched="reject", unmatched_reward=reward)
    return RewardMachine._build(
        g,
        label_domain=label_domain,
        on_unmatched=on_unmatched,
        propositions=propositions,
    )


def to_classic(rm: RewardMachine) -> str:
    """Writes a flat machine in the classic text format.

    States become ints (kept when they already are, else numbered in state order).
    Accepting and rejecting states are both listed as terminal (the format cannot
    mark rejection: parse back with ``rejecting=...``; warns when there are
    rejecting states). A state whose default is ``"stay"`` gets an explicit
    self-loop on the negation of its guards, since the format falls off on
    unmatched labels. Formulas are written in DNF without parentheses.

    Example:
      >>> m = RewardMachine.from_edges([(0, 1, "a | b", 1.0)], initial=0,
      ...                              accepting=[1])
      >>> print(to_classic(m))
      0 # initial state
      [1] # terminal states
      (0,1,'a|b',ConstantRewardFunction(1.0))
      (0,0,'!a&!b',ConstantRewardFunction(0.0))
    """
    if not isinstance(rm, RewardMachine) or rm.call_edges:
        raise TypeError(
            "`rm` must be a flat RewardMachine (flatten hierarchies first)."
        )
    if all(isinstance(u, int) and not isinstance(u, bool) for u in rm.states):
        ids = {u: u for u in rm.states}
    else:
        ids = {u: i for i, u in enumerate(rm.states)}
    if rm.rejecting:
        warnings.warn(
            f"the classic format cannot mark rejecting states; {sorted(map(repr, rm.rejecting))} "
            "are written as terminal states: parse back with rejecting="
            f"{sorted(ids[u] for u in rm.rejecting)}.",
            ClassicFormatWarning,
            stacklevel=2,
        )
    if any(len(p) > 1 for p in rm.propositions):
        warnings.warn(
            "the reference code reads single-character propositions only; "
            f"{rm.propositions} contains longer names.",
            ClassicFormatWarning,
            stacklevel=2,
        )
    if any(r != 0.0 for u in rm.states for _, r in [rm.unmatched(u)]):
        warnings.warn(
            "unmatched rewards (legacy fall-off semantics) are not written.",
            ClassicFormatWarning,
            stacklevel=2,
        )
    terminal = sorted(ids[u] for u in rm.states if rm.is_terminal(u))
    lines = [f"{ids[rm.initial]} # initial state", f"{terminal} # terminal states"]
    for u in rm.states:
        guards = []
        for e in rm.out_edges(u):
            guards.append(e.formula)
            lines.append(
                f"({ids[u]},{ids[e.target]},'{_classic_formula(e.formula, rm)}',"
                f"ConstantRewardFunction({e.reward}))"
            )
        target, _ = rm.unmatched(u)
        if rm.is_terminal(u) or target != u:
            continue
        rest = Formula("not", (Formula("or", (*guards, parse_formula(False))),))
        if rest.dnf(rm.propositions):
            lines.append(
                f"({ids[u]},{ids[u]},'{_classic_formula(rest, rm)}',"
                "ConstantRewardFunction(0.0))"
            )
    return "\n".join(lines)


def _classic_formula(f: Formula, rm: RewardMachine) -> str:
    clauses = f.dnf(rm.propositions)
    if not clauses:
        return "False"
    text = str(Formula.from_clauses(clauses, rm.propositions))
    return "True" if text == "true" else text.replace(" ", "")


def _machine_dict(rm: RewardMachine) -> dict[str, Any]:
    for u in rm.states:
        if isinstance(u, bool) or not isinstance(u, str | int):
            raise ConfigError(
                f"machine {rm.name!r}: JSON needs str or int state names; got {u!r}."
            )
    g = rm._graph
    edges = []
    for e in rm.edges:
        d: dict[str, Any] = {"source": e.source, "target": e.target, "reward": e.reward}
        if e.call is None:
            d["formula"] = str(e.formula)
        else:
            d["call"], d["context"] = e.call, str(e.context)
        edges.append(d)
    return {
        "name": rm.name,
        "propositions": list(rm.propositions),
        "initial": rm.initial,
        "accepting": [u for u in rm.states if u in rm.accepting],
        "rejecting": [u for u in rm.states if u in rm.rejecting],
        "on_unmatched": rm.on_unmatched,
        "states": [
            {
                "name": u,
                "on_unmatched": g.nodes[u]["on_unmatched"],
                "unmatched_reward": g.nodes[u]["unmatched_reward"],
            }
            for u in rm.states
        ],
        "edges": edges,
    }


def _domain_dict(d: LabelDomain) -> dict[str, Any]:
    return {
        "kind": d.kind,
        "propositions": list(d.propositions),
        "members": [sorted(m) for m in d.members],
    }


def _domain_from(d: Any) -> LabelDomain:
    if not isinstance(d, dict) or d.get("kind") not in (
        "all_subsets",
        "at_most_one",
        "explicit",
    ):
        raise ConfigError(f"bad label_domain entry {d!r}.")
    if d["kind"] == "explicit":
        return LabelDomain.explicit(d["members"], d["propositions"])
    return getattr(LabelDomain, d["kind"])(d["propositions"])


def to_json(machine: Any) -> str:
    """JSON text of a machine or a hierarchy (versioned schema).

    Example:
      >>> m = RewardMachine.from_edges([(0, 1, "a", 1.0)], initial=0, accepting=[1])
      >>> from_json(to_json(m)).run([{"a"}]).rewards
      (1.0,)
    """
    from rewardkit.machines._hierarchy import HierarchicalRewardMachine

    doc: dict[str, Any] = {"format": SCHEMA, "version": VERSION}
    if isinstance(machine, HierarchicalRewardMachine):
        doc["kind"] = "hierarchy"
        doc["root"] = machine.root
        doc["propositions"] = list(machine.propositions)
        doc["label_domain"] = _domain_dict(machine.label_domain)
        doc["machines"] = {
            name: _machine_dict(m) for name, m in machine.machines.items()
        }
    elif isinstance(machine, RewardMachine):
        doc["kind"] = "flat"
        doc["label_domain"] = _domain_dict(machine.label_domain)
        doc["machine"] = _machine_dict(machine)
    else:
        raise TypeError(
            "`machine` must be a RewardMachine or a HierarchicalRewardMachine; got "
            f"{type(machine).__name__}."
        )
    return json.dumps(doc, indent=1)


def from_json(text: str) -> Any:
    """Reads ``to_json`` output back (a machine or a hierarchy).

    Raises:
      ConfigError: not rewardkit machine JSON, or an unknown version.
    """
    from rewardkit.machines._hierarchy import HierarchicalRewardMachine

    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, TypeError) as e:
        raise ConfigError(f"`text` is not JSON: {e}.") from None
    if not isinstance(doc, dict) or doc.get("format") != SCHEMA:
        raise ConfigError(f"`text` is not rewardkit machine JSON (format {SCHEMA!r}).")
    if doc.get("version") != VERSION:
        raise ConfigError(
            f"unsupported machine JSON version {doc.get('version')!r}; this rewardkit "
            f"reads version {VERSION}."
        )
    domain = _domain_from(doc.get("label_domain"))
    if doc.get("kind") == "hierarchy":
        return HierarchicalRewardMachine(
            doc["root"],
            {name: graph_from_dict(m) for name, m in doc["machines"].items()},
            propositions=doc["propositions"],
            label_domain=domain,
        )
    if doc.get("kind") == "flat":
        return RewardMachine.from_dict(doc["machine"], label_domain=domain)
    raise ConfigError(f"unknown machine JSON kind {doc.get('kind')!r}.")
