"""Compilation of machines to arrays, the array-API ``step``, and minimisation.

``compile`` is the one exit from the networkx authoring form to dense tables. The
compiled ``step`` is written against the array API (operators, indexing,
``xp.where``, ``xp.any``, ``xp.argmax``) with ``xp`` the namespace of its inputs, so
the same method runs under ``jit``/``vmap`` on JAX and on the host on NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import networkx as nx
import numpy as np

from rewardkit.core import ConfigError, array_namespace
from rewardkit.machines._errors import NondeterminismError, UnknownPropositionError
from rewardkit.machines._formula import LabelDomain, check_proposition_names
from rewardkit.machines._machine import RewardMachine
from rewardkit.machines._validate import fmt_label

__all__ = ["CompiledMachine", "compile", "minimize"]

_MAX_DENSE_PROPS = 16
_MAX_DENSE_CELLS = 1 << 22
_MAX_ENV_PROPS = 32
_MAX_DIRECT_PROPS = 12


class CompiledMachine(NamedTuple):
    """A machine as arrays; ``step`` is a column lookup and two gathers.

    Dense mode fills ``next_state``/``reward`` (defaults materialised, terminal rows
    self-looping at 0); with at most 12 env propositions ``label_index`` is indexed
    by the raw label itself (``prop_bits`` empty: one gather), else by the label
    projected onto the used propositions' bits ``prop_bits``; clause mode (many propositions) leaves them ``[U, 0]`` and
    stores per-edge clause masks, in the env's bit order, instead. A raw label is a
    ``uint32`` bitmask in the bit order of the ``propositions`` compiled against.
    Labels outside the label domain that match two edges with different outcomes
    leave the machine where it is, at reward 0, in both modes.

    Example:
      >>> m = RewardMachine.from_edges(
      ...     [("u0", "u1", "c"), ("u1", "done", "o", 1.0)],
      ...     initial="u0", accepting=["done"])
      >>> cm = compile(m, ("c", "m", "o"))  # the env's propositions: bit 2 is "o"
      >>> u, r, acc, rej = cm.step(np.int32(1), np.uint32(0b100))
      >>> int(u), float(r), bool(acc), bool(rej)
      (2, 1.0, True, False)
      >>> cm.next_state.shape, cm.columns().tolist()
      ((3, 4), [0, 1, 4, 5])
    """

    next_state: Any  # [U, L] int32
    reward: Any  # [U, L] float32
    accepting: Any  # [U] bool
    rejecting: Any  # [U] bool
    initial: Any  # [] int32
    prop_bits: Any  # [Pu] uint32, env bit of each used proposition ([0]: direct)
    label_index: Any  # [2**P] raw or [2**Pu] projected label -> column, int32
    column_in_domain: Any  # [L] bool, some domain label falls in the column
    default_next: Any  # [U] int32, where an unmatched label leads
    default_reward: Any  # [U] float32, what it pays
    edge_src: Any  # [E] int32 (clause mode; E = 0 in dense mode)
    edge_dst: Any  # [E] int32
    edge_reward: Any  # [E] float32
    clause_pos: Any  # [E, C] uint32, env bit order
    clause_neg: Any  # [E, C] uint32
    clause_valid: Any  # [E, C] bool

    @property
    def num_states(self) -> int:
        """U, the number of machine states."""
        return int(self.accepting.shape[-1])

    @property
    def num_columns(self) -> int:
        """L, the number of label columns (0 in clause mode)."""
        return int(self.next_state.shape[-1])

    @property
    def is_dense(self) -> bool:
        """Whether the dense tables are filled (else clause mode)."""
        return self.label_index.shape[-1] > 0

    def columns(self) -> np.ndarray:
        """One raw label (env bit order) per column: the smallest that maps to it."""
        index = np.asarray(self.label_index)
        bits = np.asarray(self.prop_bits).astype(np.int64)
        _, first = np.unique(index, return_index=True)
        if bits.size == 0:  # the table is indexed by the raw label itself
            return first.astype(np.uint32)
        raw = [
            sum(1 << int(b) for k, b in enumerate(bits) if int(m) >> k & 1)
            for m in first
        ]
        return np.asarray(raw, np.uint32)

    @staticmethod
    def _lookup(t: CompiledMachine, u: Any, col: Any) -> tuple[Any, Any, Any, Any]:
        nxt = t.next_state[u, col]
        return nxt, t.reward[u, col], t.accepting[nxt], t.rejecting[nxt]

    def step(self, machine_state: Any, label: Any) -> tuple[Any, Any, Any, Any]:
        """One machine step on a raw label.

        Args:
          machine_state: ``int32`` state index (any shape on the host; scalar per
            call under ``vmap``).
          label: ``uint32`` raw label, broadcastable against ``machine_state``.

        Returns:
          ``(machine_state, reward, accepted, rejected)`` in the inputs' namespace:
          the next state (int32), the reward (float32) and whether the next state
          accepts or rejects (bool).
        """
        xp = array_namespace(machine_state, label, self.next_state)
        t = self
        if array_namespace(self.next_state) is not xp:  # NumPy tables under jit
            t = CompiledMachine(*(xp.asarray(x) for x in self))
        if t.label_index.shape[-1] > 0 and t.prop_bits.shape[-1] == 0:
            # Few env propositions: one gather from the raw label (the host fast path).
            col = t.label_index[label]
            return self._lookup(t, machine_state, col)
        u = xp.asarray(machine_state)
        lab = xp.asarray(label).astype(xp.uint32)
        one = xp.asarray(1, dtype=xp.uint32)
        if t.label_index.shape[-1] > 0:
            weights = one << xp.arange(t.prop_bits.shape[-1], dtype=xp.uint32)
            bits = (lab[..., None] >> t.prop_bits) & one
            col = t.label_index[xp.sum(bits * weights, axis=-1)]
            return self._lookup(t, u, col)
        else:
            lab = lab[..., None, None]
            sat = ((lab & t.clause_pos) == t.clause_pos) & ((lab & t.clause_neg) == 0)
            hit = xp.any(sat & t.clause_valid, axis=-1) & (t.edge_src == u[..., None])
            first = xp.argmax(hit, axis=-1)
            dst, r = t.edge_dst[first], t.edge_reward[first]
            other = (t.edge_dst != dst[..., None]) | (t.edge_reward != r[..., None])
            matched = xp.any(hit, axis=-1)
            clear = matched & ~xp.any(hit & other, axis=-1)
            # Ambiguous labels (outside the domain) stay put at reward 0.
            nxt = xp.where(clear, dst, xp.where(matched, u, t.default_next[u]))
            nxt = nxt.astype(xp.int32)
            rew = xp.where(
                clear, r, xp.where(matched, xp.zeros_like(r), t.default_reward[u])
            )
        return nxt, rew, t.accepting[nxt], t.rejecting[nxt]


def _flat(machine: Any) -> RewardMachine:
    flatten = getattr(machine, "flatten", None)
    if not callable(flatten):
        raise TypeError(
            "`machine` must be a RewardMachine or a HierarchicalRewardMachine; got "
            f"{type(machine).__name__}."
        )
    flat = flatten()
    if flat.call_edges:
        raise ConfigError(
            f"machine {flat.name!r} has call edges; compile its hierarchy instead."
        )
    return flat


def compile(
    machine: Any,
    propositions: Sequence[str] | None = None,
    *,
    label_domain: LabelDomain | None = None,
    mode: str = "auto",
) -> CompiledMachine:
    """Compiles a machine against an env's propositions into arrays.

    Label compression: labels are projected onto the propositions the machine uses
    (``Pu``), and projected labels with the same effect on every state share a
    column. ``mode="clause"`` (automatic when ``Pu > 16`` or ``U·L > 2**22``) keeps
    per-edge clause masks instead of dense tables; both modes step identically. A
    hierarchy compiles through its flattening (``h.flatten()``), so CRM, QRM and
    shaping see one flat machine; ``machine_state`` is then a flat state index.

    Args:
      machine: a ``RewardMachine`` or a ``HierarchicalRewardMachine``.
      propositions: the env's names, bit i <=> ``propositions[i]`` (at most 32);
        ``None`` means the machine's own ``propositions``.
      label_domain: the labels the env emits (default: the machine's domain); it
        fills ``column_in_domain`` and decides which ambiguous labels are errors.
      mode: ``"auto"``, ``"dense"`` or ``"clause"``.

    Returns:
      A ``CompiledMachine`` with NumPy leaves (``jax.tree.map(jnp.asarray, cm)`` for
      device copies; ``step`` accepts either).

    Raises:
      UnknownPropositionError: a machine proposition is missing from
        ``propositions``.
      NondeterminismError: a domain label matches two edges with different outcomes
        (possible only when ``label_domain`` is wider than the machine's).

    Example:
      >>> m = RewardMachine.from_edges([(0, 1, "a", 1.0)], initial=0, accepting=[1])
      >>> cm = compile(m, ("b", "a"))
      >>> u = np.arange(2, dtype=np.int32)  # host path: broadcast over states
      >>> [x.tolist() for x in cm.step(u, np.uint32(0b10))]
      [[1, 1], [1.0, 0.0], [True, True], [False, False]]
    """
    rm = _flat(machine)
    if mode not in ("auto", "dense", "clause"):
        raise ConfigError(f"`mode` must be 'auto', 'dense' or 'clause'; got {mode!r}.")
    env = (
        rm.propositions
        if propositions is None
        else check_proposition_names(propositions, "propositions")
    )
    if len(env) > _MAX_ENV_PROPS:
        raise ConfigError(
            f"`propositions` must hold at most {_MAX_ENV_PROPS} names (uint32 labels); "
            f"got {len(env)}."
        )
    missing = [p for p in rm.propositions if p not in env]
    if missing:
        raise UnknownPropositionError(
            f"machine {rm.name!r} uses the propositions {missing}, which the env "
            f"lacks; the env's propositions are {tuple(env)}."
        )
    domain = label_domain if label_domain is not None else rm.label_domain
    if not isinstance(domain, LabelDomain):
        raise TypeError(f"`label_domain` must be a LabelDomain; got {domain!r}.")
    used_names = set().union(*(e.formula.propositions for e in rm.edges))
    used = [p for p in rm.propositions if p in used_names]
    states = rm.states
    n = len(states)
    accepting = np.array([u in rm.accepting for u in states], bool)
    rejecting = np.array([u in rm.rejecting for u in states], bool)
    default_next = np.array(
        [rm.state_index(rm.unmatched(u)[0]) for u in states], np.int32
    )
    default_reward = np.array([rm.unmatched(u)[1] for u in states], np.float32)
    prop_bits = np.array([env.index(p) for p in used], np.uint32)
    dense = mode == "dense" or (mode == "auto" and len(used) <= _MAX_DENSE_PROPS)
    if mode == "dense" and len(used) > _MAX_DENSE_PROPS:
        raise ConfigError(
            f"`mode='dense'` needs at most {_MAX_DENSE_PROPS} used propositions; "
            f"machine {rm.name!r} uses {len(used)}. Use mode='clause'."
        )
    if dense:
        tables = _dense(rm, used, domain)
        if mode == "auto" and n * tables[0].shape[1] > _MAX_DENSE_CELLS:
            dense = False
    if dense:
        nxt, rew, label_index, in_domain = tables
        edges = _clause_tables([], 1)
        if len(env) <= _MAX_DIRECT_PROPS:  # index by the raw label: one gather
            raw = np.arange(1 << len(env), dtype=np.uint32)
            proj = np.zeros_like(raw)
            for k, b in enumerate(prop_bits):
                proj |= ((raw >> b) & 1) << np.uint32(k)
            label_index = label_index[proj].astype(np.int32)
            prop_bits = np.zeros((0,), np.uint32)
        elif prop_bits.size == 0:  # a dummy bit keeps the projected path defined
            prop_bits = np.zeros((1,), np.uint32)
            label_index = np.zeros((2,), np.int32)
    else:
        nxt = np.zeros((n, 0), np.int32)
        rew = np.zeros((n, 0), np.float32)
        label_index = np.zeros((0,), np.int32)
        in_domain = np.zeros((0,), bool)
        bit = {p: 1 << env.index(p) for p in rm.propositions}
        rows = []
        for i, e in enumerate(rm.edges):
            clauses = [
                (
                    _remap(c.pos, rm.propositions, bit),
                    _remap(c.neg, rm.propositions, bit),
                )
                for c in rm._clauses[i]
            ]
            rows.append(
                (rm.state_index(e.source), rm.state_index(e.target), e.reward, clauses)
            )
        edges = _clause_tables(rows, max([len(r[3]) for r in rows], default=1))
    return CompiledMachine(
        next_state=nxt,
        reward=rew,
        accepting=accepting,
        rejecting=rejecting,
        initial=np.int32(rm.state_index(rm.initial)),
        prop_bits=prop_bits,
        label_index=label_index,
        column_in_domain=in_domain,
        default_next=default_next,
        default_reward=default_reward,
        **edges,
    )


def _remap(mask: int, props: Sequence[str], bit: dict[str, int]) -> int:
    return sum(bit[p] for i, p in enumerate(props) if mask >> i & 1)


def _clause_tables(rows: list[Any], width: int) -> dict[str, np.ndarray]:
    # A dummy invalid edge keeps argmax defined when the machine has no edge.
    rows = rows or [(-1, 0, 0.0, [])]
    e = len(rows)
    pos = np.zeros((e, width), np.uint32)
    neg = np.zeros((e, width), np.uint32)
    valid = np.zeros((e, width), bool)
    for i, (_, _, _, clauses) in enumerate(rows):
        for j, (p, q) in enumerate(clauses):
            pos[i, j], neg[i, j], valid[i, j] = p, q, True
    return {
        "edge_src": np.array([r[0] for r in rows], np.int32),
        "edge_dst": np.array([r[1] for r in rows], np.int32),
        "edge_reward": np.array([r[2] for r in rows], np.float32),
        "clause_pos": pos,
        "clause_neg": neg,
        "clause_valid": valid,
    }


def _dense(
    rm: RewardMachine, used: list[str], domain: LabelDomain
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    bit = {p: 1 << k for k, p in enumerate(used)}
    masks = np.arange(1 << len(used), dtype=np.uint32)
    domain_masks = domain.masks(used)
    in_domain = np.zeros(masks.size, bool)
    in_domain[domain_masks] = True
    n = len(rm.states)
    nxt = np.empty((n, masks.size), np.int32)
    rew = np.empty((n, masks.size), np.float32)
    for row, u in enumerate(rm.states):
        stay, stay_r = rm.unmatched(u)
        t = np.full(masks.size, rm.state_index(stay), np.int32)
        r = np.full(masks.size, stay_r, np.float32)
        assigned = np.zeros(masks.size, bool)
        conflict = np.zeros(masks.size, bool)
        for i in rm._out[u]:
            e = rm.edges[i]
            sat = np.zeros(masks.size, bool)
            for c in rm._clauses[i]:
                pos = _remap(c.pos, rm.propositions, bit)
                neg = _remap(c.neg, rm.propositions, bit)
                sat |= ((masks & pos) == pos) & ((masks & neg) == 0)
            target = rm.state_index(e.target)
            conflict |= sat & assigned & ((t != target) | (r != np.float32(e.reward)))
            fresh = sat & ~assigned
            t[fresh], r[fresh] = target, e.reward
            assigned |= sat
        bad = conflict & in_domain
        if bad.any():
            w = int(masks[bad][0])
            raise NondeterminismError(
                f"machine {rm.name!r}, state {u!r}: two edges with different outcomes "
                f"match the domain label {fmt_label(w, used)}."
            )
        t[conflict], r[conflict] = row, 0.0  # outside the domain: stay, reward 0
        nxt[row], rew[row] = t, r
    key = np.concatenate([nxt, rew.view(np.int32)], axis=0).T
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # columns by first label: column 0 holds the empty label
    remap = np.empty_like(order)
    remap[order] = np.arange(order.size)
    label_index = remap[inverse.reshape(-1)].astype(np.int32)
    columns = first[order]
    col_in_domain = np.zeros(columns.size, bool)
    col_in_domain[label_index[domain_masks]] = True
    return nxt[:, columns], rew[:, columns], label_index, col_in_domain


def minimize(rm: Any, label_domain: LabelDomain | None = None) -> RewardMachine:
    """The minimal equivalent machine on a label domain (partition refinement).

    Unreachable states are dropped; states are merged when they agree on terminal
    kind and on every domain label's reward and successor class. The survivors keep
    their names and guards (each class keeps its first state's edges).

    Args:
      rm: a ``RewardMachine`` (or a hierarchy, minimised through ``flatten()``).
      label_domain: the labels to compare on (default: the machine's domain).

    Returns:
      The minimised ``RewardMachine``.

    Example:
      >>> m = RewardMachine.from_edges(
      ...     [("u0", "a1", "a & !b"), ("u0", "b1", "b & !a"),
      ...      ("a1", "acc", "c", 1.0), ("b1", "acc", "c", 1.0)],
      ...     initial="u0", accepting=["acc"])
      >>> minimize(m).states
      ('u0', 'a1', 'acc')
    """
    flat = _flat(rm)
    domain = label_domain if label_domain is not None else flat.label_domain
    cm = compile(flat, label_domain=domain, mode="dense")
    cols = np.flatnonzero(cm.column_in_domain)
    nxt, rew = cm.next_state[:, cols], cm.reward[:, cols]
    reach = nx.DiGraph()
    reach.add_nodes_from(range(cm.num_states))
    reach.add_edges_from((u, int(v)) for u in range(cm.num_states) for v in nxt[u])
    start = int(cm.initial)
    order = [start, *(v for _, v in nx.bfs_edges(reach, start))]
    kind = cm.accepting.astype(int) + 2 * cm.rejecting.astype(int)
    block = {}
    for u in order:  # seed: terminal kind and per-label rewards
        block[u] = (kind[u], rew[u].tobytes())
    while True:
        ids = {k: i for i, k in enumerate(dict.fromkeys(block[u] for u in order))}
        cls = {u: ids[block[u]] for u in order}
        refined = {u: (cls[u], tuple(cls[int(v)] for v in nxt[u])) for u in order}
        if len(set(refined.values())) == len(ids):
            break
        block = refined
    rep: dict[int, int] = {}
    for u in order:
        rep.setdefault(cls[u], u)
    keep = [rep[c] for c in sorted(rep, key=lambda c: order.index(rep[c]))]
    g = nx.MultiDiGraph(name=flat.name, propositions=flat.propositions)
    src = flat._graph
    for u in keep:
        g.add_node(flat.states[u], **dict(src.nodes[flat.states[u]]))
    for u in keep:
        name = flat.states[u]
        for e in flat.out_edges(name):
            v = flat.state_index(e.target)
            if v not in cls:
                continue  # only labels outside the domain take this edge
            target = flat.states[rep[cls[v]]]
            g.add_edge(name, target, formula=str(e.formula), reward=e.reward)
    return RewardMachine._build(
        g,
        label_domain=domain,
        on_unmatched=flat.on_unmatched,
        propositions=flat.propositions,
    )
