"""``HierarchicalRewardMachine``: reward machines that call each other (FB23).

An edge of a member machine is a formula edge ``(u, v, φ, r)`` or a call edge
``(u, v, N, ψ, r)``: run callee N to acceptance, then move to v, paying r when N
returns; the context ψ must hold on the label of N's first move. ``flatten()`` builds
an equivalent flat ``RewardMachine`` (FB23's formalism section), potentially
exponentially larger.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import networkx as nx

from rewardkit.core import ConfigError
from rewardkit.machines._errors import (
    CallCycleError,
    MachineDefinitionError,
    NondeterminismError,
    UnknownMachineError,
    UnknownPropositionError,
    UnsatisfiableEdgeWarning,
    _without_structure_warnings,
)
from rewardkit.machines._exports import _Exports
from rewardkit.machines._formula import (
    Clause,
    LabelDomain,
    check_proposition_names,
    label_to_mask,
)
from rewardkit.machines._machine import Outcome, RewardMachine
from rewardkit.machines._validate import describe_edge, fmt_label, graph_from_dict

__all__ = ["Frame", "HierarchicalRewardMachine", "HierarchyState", "flatten"]


class Frame(NamedTuple):
    """A call-stack frame: the caller, the state it returns to, the call's reward."""

    caller: str
    return_state: Any
    call_reward: float


class HierarchyState(NamedTuple):
    """The state of a hierarchy: current machine, its state, and the call stack.

    Example:
      >>> HierarchyState("root", "u0", ())
      HierarchyState(machine='root', state='u0', stack=())
    """

    machine: str
    state: Any
    stack: tuple[Frame, ...] = ()


# A first-step resolution: the clause (over the hierarchy's P) under which it applies,
# the (machine, state) it lands in, the frames it pushes, its reward, and a text.
class _Resolution(NamedTuple):
    clause: Clause
    machine: str
    state: Any
    frames: tuple[Frame, ...]
    reward: float
    path: str


def _and(a: Clause, b: Clause) -> Clause | None:
    c = Clause(a.pos | b.pos, a.neg | b.neg)
    return None if c.pos & c.neg else c


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class HierarchicalRewardMachine(_Exports):
    """A hierarchy of reward machines ``⟨{M_1..M_k}, M_root, P⟩`` (FB23).

    Every member, root included, has one initial, exactly one accepting and at most
    one rejecting state. Step semantics: formula edges of the current machine match
    as in a flat machine; a call edge whose context holds descends into the callee's
    initial state on the *same* label (recursively); when a machine reaches its
    accepting state with a non-empty stack, it returns to the caller's return state
    and the call edge's reward is paid (repeatedly, without consuming the label
    again). The hierarchy accepts when the root accepts with an empty stack and
    rejects when any machine enters its rejecting state. Unmatched labels apply the
    current state's default (``"stay"`` in FB23).

    Args:
      root: the root machine's name.
      machines: name -> ``networkx.MultiDiGraph``, dict spec (as for
        ``RewardMachine.from_dict``) or ``RewardMachine``; call edges carry
        ``call=<name>`` and ``context=<formula>`` instead of ``formula``.
      propositions: ordered P (default: the members' propositions, in order).
      label_domain: the labels validation considers (all subsets of P).

    Example:
      >>> leaf = {"initial": 0, "accepting": [2],
      ...         "edges": [(0, 1, "a"), (1, 2, "b")]}
      >>> root = {"initial": "u0", "accepting": ["acc"],
      ...         "edges": [{"source": "u0", "target": "u1", "call": "ab"},
      ...                   {"source": "u1", "target": "acc", "call": "ab",
      ...                    "reward": 1.0}]}
      >>> h = HierarchicalRewardMachine("root", {"root": root, "ab": leaf})
      >>> h.height, h.run([{"a"}, {"b"}, {"a"}, {"b"}]).rewards
      (2, (0.0, 0.0, 0.0, 1.0))
      >>> len(h.flatten().states)
      5

    References:
      Furelos-Blanco, Law, Jonsson, Broda and Russo (2023). Hierarchies of Reward
      Machines. ICML.
    """

    root: str
    machines: Mapping[str, RewardMachine]
    propositions: tuple[str, ...] = ()
    label_domain: LabelDomain | None = None
    height: int = 0
    _first: dict[tuple[str, Any], tuple[_Resolution, ...]] = dataclasses.field(
        default_factory=dict
    )

    def __init__(
        self,
        root: str,
        machines: Mapping[str, Any],
        *,
        propositions: Sequence[str] | None = None,
        label_domain: LabelDomain | None = None,
    ):
        if not isinstance(machines, Mapping) or not machines:
            raise ConfigError(
                "`machines` must be a non-empty mapping of name -> machine; got "
                f"{machines!r}."
            )
        if root not in machines:
            raise UnknownMachineError(
                f"the root {root!r} is not among the machines {sorted(machines)}."
            )
        graphs = {}
        for name, m in machines.items():
            if not isinstance(name, str):
                raise ConfigError(f"machine names must be str; got {name!r}.")
            graphs[name] = _as_graph(name, m)
        if propositions is None:
            seen: dict[str, None] = {}
            for g in graphs.values():
                declared = g.graph.get("propositions")
                if declared is None:
                    declared = sorted(_formula_props(g))
                for p in declared:
                    seen.setdefault(p, None)
            props = check_proposition_names(tuple(seen), "propositions")
        else:
            props = check_proposition_names(propositions, "propositions")
        domain = (
            label_domain if label_domain is not None else LabelDomain.all_subsets(props)
        )
        members: dict[str, RewardMachine] = {}
        # Structure warnings come from the hierarchy-level checks below.
        with _without_structure_warnings():
            for name, g in graphs.items():
                declared = g.graph.get("propositions")
                if declared is not None:
                    missing = sorted(set(declared) - set(props))
                    if missing:
                        raise UnknownPropositionError(
                            f"machine {name!r} declares {missing}, not among the "
                            f"hierarchy's propositions {props}."
                        )
                members[name] = RewardMachine._build(
                    g,
                    label_domain=domain,
                    on_unmatched="stay",
                    allow_calls=True,
                    check_determinism=False,
                    propositions=props,
                )
        for name, m in members.items():
            where = f"machine {name!r}"
            if len(m.accepting) != 1:
                raise MachineDefinitionError(
                    f"{where}: a member of a hierarchy needs exactly one accepting "
                    f"state; got {sorted(map(repr, m.accepting))}."
                )
            if len(m.rejecting) > 1:
                raise MachineDefinitionError(
                    f"{where}: a member of a hierarchy has at most one rejecting "
                    f"state; got {sorted(map(repr, m.rejecting))}."
                )
            if m.is_terminal(m.initial):
                raise MachineDefinitionError(
                    f"{where}: the initial state {m.initial!r} is terminal; a member "
                    "must take at least one step."
                )
            for e in m.call_edges:
                if e.call not in members:
                    raise UnknownMachineError(
                        f"{where}: {describe_edge(e)} calls the unknown machine "
                        f"{e.call!r}; machines: {sorted(members)}."
                    )
        object.__setattr__(self, "machines", dict(members))
        calls = self._call_graph()
        try:
            cycle = nx.find_cycle(calls)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle is not None:
            path = " -> ".join([str(a) for a, _ in cycle] + [str(cycle[-1][1])])
            raise CallCycleError(f"the machines call each other in a cycle: {path}.")
        heights: dict[str, int] = {}
        for name in reversed(list(nx.topological_sort(calls))):
            heights[name] = 1 + max(
                (heights[c] for c in calls.successors(name)), default=0
            )
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "machines", dict(members))
        object.__setattr__(self, "propositions", props)
        object.__setattr__(self, "label_domain", domain)
        object.__setattr__(self, "height", heights[root])
        object.__setattr__(self, "_first", {})
        self._check_determinism()
        self._check_structure()

    # ---------------------------------------------------------------- validation

    def _resolutions(self, name: str, u: Any) -> tuple[_Resolution, ...]:
        """First-step resolutions of (machine, state), descending into calls."""
        key = (name, u)
        if key in self._first:
            return self._first[key]
        m = self.machines[name]
        out = []
        for i in m._out[u]:
            e = m.edges[i]
            for c in m._clauses[i]:
                if e.call is None:
                    out.append(
                        _Resolution(c, name, e.target, (), e.reward, describe_edge(e))
                    )
                    continue
                callee = self.machines[e.call]
                frame = Frame(name, e.target, e.reward)
                for r in self._resolutions(e.call, callee.initial):
                    both = _and(c, r.clause)
                    if both is None or self._witness((both,)) is None:
                        continue
                    out.append(
                        _Resolution(
                            both,
                            r.machine,
                            r.state,
                            (frame, *r.frames),
                            r.reward,
                            f"{describe_edge(e)} then, in {e.call!r}, {r.path}",
                        )
                    )
        self._first[key] = tuple(out)
        return self._first[key]

    def _witness(self, clauses: Sequence[Clause]) -> int | None:
        return self.label_domain.witness(clauses, self.propositions)

    def _check_determinism(self) -> None:
        for name, m in self.machines.items():
            for u in m.states:
                res = self._resolutions(name, u)
                for i, a in enumerate(res):
                    for b in res[i + 1 :]:
                        if (a.machine, a.state, a.frames, a.reward) == (
                            b.machine,
                            b.state,
                            b.frames,
                            b.reward,
                        ):
                            continue
                        w = self._witness((a.clause, b.clause))
                        if w is not None:
                            raise NondeterminismError(
                                f"machine {name!r}, state {u!r}: {a.path} and "
                                f"{b.path} both match the label "
                                f"{fmt_label(w, self.propositions)}."
                            )

    def _check_structure(self) -> None:
        for name, m in self.machines.items():
            live = []
            for i, e in enumerate(m.edges):
                if e.call is None:
                    ok = any(self._witness((c,)) is not None for c in m._clauses[i])
                else:
                    ok = any(
                        r.path.startswith(describe_edge(e))
                        for r in self._resolutions(name, e.source)
                    )
                if ok:
                    live.append(i)
                    continue
                warnings.warn(
                    f"machine {name!r}: no label of the domain satisfies the guard "
                    f"of {describe_edge(e)}.",
                    UnsatisfiableEdgeWarning,
                    stacklevel=3,
                )
            m._check_structure(live)

    # ----------------------------------------------------------------- semantics

    def initial_state(self) -> HierarchyState:
        """The root's initial state with an empty stack."""
        return HierarchyState(self.root, self.machines[self.root].initial, ())

    def is_accepting(self, h: HierarchyState) -> bool:
        """Whether the root is in its accepting state with an empty stack."""
        return (
            h.machine == self.root
            and not h.stack
            and h.state in self.machines[self.root].accepting
        )

    def is_rejecting(self, h: HierarchyState) -> bool:
        """Whether the current machine is in its rejecting state."""
        return h.state in self.machines[h.machine].rejecting

    def _resolve(
        self, name: str, u: Any, mask: int, stack: tuple[Frame, ...]
    ) -> list[tuple[str, Any, tuple[Frame, ...], float]]:
        # The spec's resolve(): formula edges, then calls descending on the same label.
        m = self.machines[name]
        out = []
        for i in m._out[u]:
            e = m.edges[i]
            if not any(c.satisfied_by(mask) for c in m._clauses[i]):
                continue
            if e.call is None:
                out.append((name, e.target, stack, e.reward))
            else:
                callee = self.machines[e.call]
                frame = Frame(name, e.target, e.reward)
                out += self._resolve(e.call, callee.initial, mask, (*stack, frame))
        return out

    def step(
        self, h: HierarchyState, label: Iterable[str]
    ) -> tuple[HierarchyState, float]:
        """One transition of the hierarchy (the spec's ``step``).

        Args:
          h: the hierarchy state.
          label: the set of proposition names true on this step.

        Returns:
          The next hierarchy state and the reward; terminal states stay at 0.

        Raises:
          NondeterminismError: a label outside the validated domain resolves two
            ways.

        Example:
          >>> h = HierarchicalRewardMachine("r", {
          ...     "r": {"initial": 0, "accepting": [1],
          ...           "edges": [{"source": 0, "target": 1, "call": "n"}]},
          ...     "n": {"initial": 0, "accepting": [2],
          ...           "edges": [(0, 1, "a"), (1, 2, "b", 1.0)]}})
          >>> s, r = h.step(h.initial_state(), {"a"})
          >>> s
          HierarchyState(machine='n', state=1, stack=(Frame(caller='r', return_state=1, call_reward=0.0),))
          >>> h.step(s, {"b"})
          (HierarchyState(machine='r', state=1, stack=()), 1.0)
        """
        if isinstance(label, str):
            raise TypeError(
                f"a label must be a set of names, not a str; got {label!r}."
            )
        mask = label_to_mask(label, self.propositions)
        if self.is_accepting(h) or self.is_rejecting(h):
            return h, 0.0
        outs = list(dict.fromkeys(self._resolve(h.machine, h.state, mask, h.stack)))
        if len(outs) > 1:
            raise NondeterminismError(
                f"hierarchy {self.root!r}: in machine {h.machine!r}, state "
                f"{h.state!r}, the label {fmt_label(mask, self.propositions)} (outside "
                f"the label domain) resolves {len(outs)} ways."
            )
        if outs:
            name, u, stack, reward = outs[0]
        else:
            name, stack = h.machine, h.stack
            u, reward = self.machines[name].unmatched(h.state)
        while stack and u in self.machines[name].accepting:
            frame = stack[-1]
            stack = stack[:-1]
            name, u, reward = (
                frame.caller,
                frame.return_state,
                reward + frame.call_reward,
            )
        return HierarchyState(name, u, stack), reward

    def run(self, labels: Iterable[Iterable[str]]) -> Outcome:
        """Steps the hierarchy from its initial state over a label trace.

        ``Outcome.states`` holds ``HierarchyState`` values.
        """
        h = self.initial_state()
        states, rewards = [h], []
        for label in labels:
            h, r = self.step(h, label)
            states.append(h)
            rewards.append(r)
        return Outcome(
            tuple(states), tuple(rewards), self.is_accepting(h), self.is_rejecting(h)
        )

    def flatten(self) -> RewardMachine:
        """An equivalent flat ``RewardMachine`` (see ``rk.machines.flatten``)."""
        from rewardkit.machines._flatten import flatten_hierarchy

        return flatten_hierarchy(self)

    def _call_graph(self) -> nx.DiGraph:
        calls = nx.DiGraph()
        calls.add_nodes_from(self.machines)
        for name, m in self.machines.items():
            for e in m.call_edges:
                calls.add_edge(name, e.call)
        return calls

    def __repr__(self) -> str:
        return (
            f"HierarchicalRewardMachine(root={self.root!r}, machines="
            f"{list(self.machines)}, height={self.height})"
        )


def _formula_props(g: nx.MultiDiGraph) -> set[str]:
    from rewardkit.machines._formula import parse_formula

    out: set[str] = set()
    for _, _, d in g.edges(data=True):
        for k in ("formula", "context"):
            if k in d:
                # A bad formula is reported with its edge when the member is built.
                with contextlib.suppress(ValueError, TypeError):
                    out |= parse_formula(d[k]).propositions
    return out


def _as_graph(name: str, m: Any) -> nx.MultiDiGraph:
    if isinstance(m, RewardMachine):
        g = m.to_graph()
    elif isinstance(m, nx.DiGraph):
        g = nx.MultiDiGraph(m)
    elif isinstance(m, Mapping):
        g = graph_from_dict(m)
    else:
        raise TypeError(
            f"machine {name!r} must be a networkx.MultiDiGraph, a dict spec or a "
            f"RewardMachine; got {type(m).__name__}."
        )
    g.graph["name"] = name
    return g


def flatten(h: HierarchicalRewardMachine | RewardMachine) -> RewardMachine:
    """An equivalent flat machine: alias of ``h.flatten()``.

    Example:
      >>> m = RewardMachine.from_edges([(0, 1, "a")], initial=0, accepting=[1])
      >>> flatten(m) is m
      True
    """
    return h.flatten()
