"""``RewardMachine``: a validated, frozen automaton authored on networkx.

The source of truth is a ``networkx.MultiDiGraph`` (parallel edges are legitimate).
Construction copies, validates and freezes it; ``step``/``run`` give the graph
semantics, the slow reference that ``compile`` must match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import networkx as nx

from rewardkit.core import ConfigError
from rewardkit.machines._errors import (
    MachineDefinitionError,
    NondeterminismError,
)
from rewardkit.machines._exports import _Exports
from rewardkit.machines._formula import (
    TRUE,
    Clause,
    Formula,
    LabelDomain,
    label_to_mask,
    parse_formula,
)
from rewardkit.machines._validate import (
    check_determinism,
    check_structure,
    fmt_label,
    graph_from_dict,
    normalise_graph,
)

__all__ = ["Edge", "Outcome", "RewardMachine"]


class Edge(NamedTuple):
    """One edge of a machine: a formula edge, or a call edge of a hierarchy member.

    ``formula`` is the guard of a formula edge (TRUE for a call edge); ``call`` names
    the callee of a call edge (None for a formula edge), whose ``context`` must hold
    on the label of the callee's first move.

    Example:
      >>> m = RewardMachine.from_edges([("u0", "acc", "a", 1.0)], initial="u0",
      ...                              accepting=["acc"])
      >>> e = m.edges[0]
      >>> e.source, e.target, str(e.formula), e.reward, e.call
      ('u0', 'acc', 'a', 1.0, None)
    """

    source: Hashable
    target: Hashable
    key: int
    formula: Formula
    reward: float
    call: str | None = None
    context: Formula = TRUE


class Outcome(NamedTuple):
    """What a machine did on a label trace.

    ``states`` has one more entry than ``rewards`` (the initial state first);
    ``accepted``/``rejected`` describe the last state.

    Example:
      >>> m = RewardMachine.from_edges([("u0", "acc", "a", 1.0)], initial="u0",
      ...                              accepting=["acc"])
      >>> m.run([set(), {"a"}])
      Outcome(states=('u0', 'u0', 'acc'), rewards=(0.0, 1.0), accepted=True, rejected=False)
    """

    states: tuple[Any, ...]
    rewards: tuple[float, ...]
    accepted: bool
    rejected: bool


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class RewardMachine(_Exports):
    """A reward machine ⟨U, u0, U_acc, U_rej, δ_u, δ_r⟩ over propositions P.

    Build it with ``from_graph``, ``from_dict`` or ``from_edges``; construction
    validates (see ``rk.machines`` errors and warnings) and freezes a copy. Edges
    ``(u, v, φ, r)`` give ``δ_u(u, σ) = v`` and ``δ_r(u, σ) = r`` for the unique edge
    from u with ``σ ⊨ φ``; when none matches, the state's default applies:
    ``"stay"`` (self-loop, FB23) or ``"reject"`` (to the rejecting state, which is
    created as ``"rejected"`` when the machine has none), at reward 0. Accepting and
    rejecting states are explicit, absorbing, reward 0.

    Attributes:
      name: the machine's name.
      propositions: ordered P (authoring order only; compile maps env bits).
      states: every state; index i is row i of the compiled tables.
      initial: u0.
      accepting: U_acc.
      rejecting: U_rej.
      on_unmatched: the machine's default for unmatched labels.
      label_domain: the labels validation considers.
      edges: every edge, in graph order.

    Example:
      >>> m = RewardMachine.from_edges(
      ...     [("u0", "u1", "f & !n"), ("u1", "acc", "g & !n", 1.0),
      ...      ("u0", "rej", "n"), ("u1", "rej", "n")],
      ...     initial="u0", accepting=["acc"], rejecting=["rej"])
      >>> m.step("u1", {"g"})
      ('acc', 1.0)
      >>> m.step("u0", {"g"})  # unmatched: stay
      ('u0', 0.0)
      >>> m.run([{"f"}, {"n"}]).rejected
      True

    References:
      Toro Icarte, Klassen, Valenzano and McIlraith (2022). Reward Machines:
      Exploiting Reward Function Structure in Reinforcement Learning. JAIR.
    """

    name: str
    propositions: tuple[str, ...]
    states: tuple[Any, ...]
    initial: Any
    accepting: frozenset[Any]
    rejecting: frozenset[Any]
    on_unmatched: str
    label_domain: LabelDomain
    edges: tuple[Edge, ...]
    _graph: Any
    _index: dict[Any, int]
    _out: dict[Any, tuple[int, ...]]
    _clauses: tuple[tuple[Clause, ...], ...]
    _defaults: dict[Any, tuple[Any, float]]

    # ------------------------------------------------------------------ builders

    @classmethod
    def from_graph(
        cls,
        graph: nx.MultiDiGraph,
        *,
        label_domain: LabelDomain | None = None,
        on_unmatched: str = "stay",
    ) -> RewardMachine:
        """Validates, copies and freezes a ``networkx.MultiDiGraph``.

        Args:
          graph: graph attributes ``name``, ``propositions`` (ordered P; inferred,
            sorted, when absent), optional ``on_unmatched``; node attributes
            ``initial``, ``accepting``, ``rejecting``, ``on_unmatched``,
            ``unmatched_reward``; edge attributes ``formula`` (TRUE) and ``reward``
            (0.0).
          label_domain: the labels validation considers (all subsets of P).
          on_unmatched: the default of states without their own, unless the graph
            sets one.

        Returns:
          The frozen machine.

        Example:
          >>> g = nx.MultiDiGraph(name="coffee", propositions=("c", "o"))
          >>> g.add_node("start", initial=True)
          >>> g.add_node("done", accepting=True)
          >>> _ = g.add_edge("start", "coffee", formula="c & !o")
          >>> _ = g.add_edge("coffee", "done", formula="o", reward=1.0)
          >>> m = RewardMachine.from_graph(g)
          >>> m.states, m.run([{"c"}, {"o"}]).rewards
          (('start', 'done', 'coffee'), (0.0, 1.0))
        """
        return cls._build(graph, label_domain=label_domain, on_unmatched=on_unmatched)

    @classmethod
    def from_dict(
        cls, spec: Mapping[str, Any], *, label_domain: LabelDomain | None = None
    ) -> RewardMachine:
        """Builds a machine from a dict with the graph's attributes.

        Keys: ``initial`` (required), ``edges`` (tuples ``(u, v, formula[, reward])``
        or dicts with ``source``, ``target``, ``formula``, ``reward``), optional
        ``name``, ``propositions``, ``accepting``, ``rejecting``, ``on_unmatched``,
        ``states`` (names or dicts with ``name``, ``on_unmatched``,
        ``unmatched_reward``; fixes the state order).

        Example:
          >>> m = RewardMachine.from_dict({"initial": 0, "accepting": [1],
          ...                             "edges": [(0, 1, "a", 1.0)]})
          >>> m.step(0, {"a"})
          (1, 1.0)
        """
        return cls._build(
            graph_from_dict(spec), label_domain=label_domain, on_unmatched="stay"
        )

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[Sequence[Any]],
        *,
        initial: Any,
        accepting: Iterable[Any] = (),
        rejecting: Iterable[Any] = (),
        propositions: Sequence[str] | None = None,
        name: str = "machine",
        on_unmatched: str = "stay",
        label_domain: LabelDomain | None = None,
    ) -> RewardMachine:
        """Builds a machine from ``(u, v, formula[, reward])`` tuples.

        Example:
          >>> m = RewardMachine.from_edges([("u0", "u1", "a"), ("u1", "acc", "b", 1)],
          ...                              initial="u0", accepting=["acc"])
          >>> m.run([{"a"}, {"b"}])
          Outcome(states=('u0', 'u1', 'acc'), rewards=(0.0, 1.0), accepted=True, rejected=False)
        """
        spec = {
            "name": name,
            "initial": initial,
            "accepting": list(accepting),
            "rejecting": list(rejecting),
            "on_unmatched": on_unmatched,
            "edges": list(edges),
        }
        if propositions is not None:
            spec["propositions"] = propositions
        return cls.from_dict(spec, label_domain=label_domain)

    @classmethod
    def _build(
        cls,
        graph: Any,
        *,
        label_domain: LabelDomain | None,
        on_unmatched: str,
        allow_calls: bool = False,
        check_determinism: bool = True,
        propositions: Sequence[str] | None = None,
    ) -> RewardMachine:
        if label_domain is not None and not isinstance(label_domain, LabelDomain):
            raise TypeError(
                "`label_domain` must be a LabelDomain; got "
                f"{type(label_domain).__name__}."
            )
        g = normalise_graph(
            graph,
            on_unmatched=on_unmatched,
            allow_calls=allow_calls,
            propositions=propositions,
        )
        name, default, props = (
            g.graph["name"],
            g.graph["on_unmatched"],
            g.graph["propositions"],
        )
        initials = [u for u, d in g.nodes(data=True) if d["initial"]]
        terminal = {
            u for u, d in g.nodes(data=True) if d["accepting"] or d["rejecting"]
        }
        rejecting = [u for u, d in g.nodes(data=True) if d["rejecting"]]
        domain = (
            label_domain if label_domain is not None else LabelDomain.all_subsets(props)
        )
        # Frozen views.
        states = tuple(g.nodes)
        edges = []
        for u, v, k, d in g.edges(keys=True, data=True):
            if "call" in d:
                edges.append(
                    Edge(
                        u,
                        v,
                        k,
                        TRUE,
                        d["reward"],
                        d["call"],
                        parse_formula(d["context"]),
                    )
                )
            else:
                edges.append(Edge(u, v, k, parse_formula(d["formula"]), d["reward"]))
        clauses = tuple(
            (e.context if e.call is not None else e.formula).dnf(props) for e in edges
        )
        out: dict[Any, list[int]] = {u: [] for u in states}
        for i, e in enumerate(edges):
            out[e.source].append(i)
        first_reject = rejecting[0] if rejecting else None
        defaults = {}
        for u, d in g.nodes(data=True):
            if u in terminal or (d["rejecting"] or d["accepting"]):
                defaults[u] = (u, 0.0)
            elif d["on_unmatched"] == "reject":
                defaults[u] = (first_reject, d["unmatched_reward"])
            else:
                defaults[u] = (u, d["unmatched_reward"])
        machine = cls(
            name=name,
            propositions=props,
            states=states,
            initial=initials[0],
            accepting=frozenset(u for u, d in g.nodes(data=True) if d["accepting"]),
            rejecting=frozenset(u for u, d in g.nodes(data=True) if d["rejecting"]),
            on_unmatched=default,
            label_domain=domain,
            edges=tuple(edges),
            _graph=nx.freeze(g),
            _index={u: i for i, u in enumerate(states)},
            _out={u: tuple(ix) for u, ix in out.items()},
            _clauses=clauses,
            _defaults=defaults,
        )
        if check_determinism:
            machine._check_determinism()
        machine._check_structure()
        return machine

    # ---------------------------------------------------------------- validation

    def _witness(self, clauses: Sequence[Clause]) -> int | None:
        return self.label_domain.witness(clauses, self.propositions)

    def _satisfiable(self, i: int) -> bool:
        return any(self._witness((c,)) is not None for c in self._clauses[i])

    def _check_determinism(self) -> None:
        check_determinism(self)

    def _check_structure(self, live: Sequence[int] | None = None) -> None:
        check_structure(self, live)

    # ----------------------------------------------------------------- semantics

    def state_index(self, u: Any) -> int:
        """The row of state ``u`` in the compiled tables.

        Example:
          >>> m = RewardMachine.from_edges([(0, 1, "a")], initial=0, accepting=[1])
          >>> m.state_index(1)
          1
        """
        try:
            return self._index[u]
        except (KeyError, TypeError):
            raise ConfigError(
                f"machine {self.name!r} has no state {u!r}; states: {self.states}."
            ) from None

    def is_terminal(self, u: Any) -> bool:
        """Whether ``u`` is accepting or rejecting (absorbing at reward 0)."""
        return u in self.accepting or u in self.rejecting

    def unmatched(self, u: Any) -> tuple[Any, float]:
        """Where state ``u`` goes, and what it pays, when no edge matches.

        Example:
          >>> m = RewardMachine.from_edges([(0, 1, "a")], initial=0, accepting=[1],
          ...                              on_unmatched="reject")
          >>> m.unmatched(0)
          ('rejected', 0.0)
        """
        self.state_index(u)
        return self._defaults[u]

    def out_edges(self, u: Any) -> tuple[Edge, ...]:
        """The edges leaving state ``u``, in graph order."""
        self.state_index(u)
        return tuple(self.edges[i] for i in self._out[u])

    @property
    def call_edges(self) -> tuple[Edge, ...]:
        """The call edges (non-empty only for members of a hierarchy)."""
        return tuple(e for e in self.edges if e.call is not None)

    def _mask(self, label: Iterable[str]) -> int:
        if isinstance(label, str):
            raise TypeError(
                f"a label must be a set of names, not a str; got {label!r}."
            )
        return label_to_mask(label, self.propositions)

    def step(self, u: Any, label: Iterable[str]) -> tuple[Any, float]:
        """One transition of the graph semantics: ``(δ_u(u, σ), δ_r(u, σ))``.

        Args:
          u: the current state.
          label: the set of proposition names true on this step.

        Returns:
          The next state and the reward; terminal states stay at reward 0.

        Raises:
          NondeterminismError: a label outside the validated domain matches two
            edges with different outcomes.

        Example:
          >>> m = RewardMachine.from_edges([(0, 1, "a", 2.0)], initial=0,
          ...                              accepting=[1])
          >>> m.step(0, {"a"}), m.step(1, {"a"})
          ((1, 2.0), (1, 0.0))
        """
        self.state_index(u)
        if self.call_edges:
            raise MachineDefinitionError(
                f"machine {self.name!r} has call edges: step its "
                "HierarchicalRewardMachine instead."
            )
        mask = self._mask(label)
        if self.is_terminal(u):
            return u, 0.0
        outs = {
            (self.edges[i].target, self.edges[i].reward)
            for i in self._out[u]
            if any(c.satisfied_by(mask) for c in self._clauses[i])
        }
        if len(outs) > 1:
            raise NondeterminismError(
                f"machine {self.name!r}, state {u!r}: the label "
                f"{fmt_label(mask, self.propositions)} (outside the label domain) "
                f"matches edges to {sorted(map(repr, outs))}."
            )
        if not outs:
            return self._defaults[u]
        return outs.pop()

    def run(self, labels: Iterable[Iterable[str]]) -> Outcome:
        """Steps the graph semantics from the initial state over a label trace.

        Labels after a terminal state change nothing and pay 0.
        """
        states, rewards = [self.initial], []
        u = self.initial
        for label in labels:
            u, r = self.step(u, label)
            states.append(u)
            rewards.append(r)
        return Outcome(
            tuple(states), tuple(rewards), u in self.accepting, u in self.rejecting
        )

    def flatten(self) -> RewardMachine:
        """A flat machine is its own flattening."""
        return self

    # ------------------------------------------------------------------- exports

    def to_graph(self) -> nx.MultiDiGraph:
        """A mutable copy of the machine's graph (normalised attributes).

        Example:
          >>> m = RewardMachine.from_edges([(0, 1, "a")], initial=0, accepting=[1])
          >>> g = m.to_graph()
          >>> g.nodes[1]["accepting"], g.edges[0, 1, 0]["formula"]
          (True, 'a')
        """
        return nx.MultiDiGraph(self._graph)

    def to_classic(self) -> str:
        """The classic text format; see ``rk.machines.to_classic``."""
        from rewardkit.machines._io import to_classic

        return to_classic(self)

    def __repr__(self) -> str:
        return (
            f"RewardMachine(name={self.name!r}, propositions={self.propositions}, "
            f"states={len(self.states)}, edges={len(self.edges)})"
        )
