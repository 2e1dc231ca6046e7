"""Option tables of a hierarchy of reward machines (for hierarchy options).

Nodes are (machine, state, context clause); each node lists its formula options
(one per DNF clause of a formula edge, the context conjoined) and call options
(one per clause of a call edge's context), as padded arrays.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from rewardkit.machines import (
    CompiledHierarchy,
    HierarchicalRewardMachine,
    HierarchyArrays,
)

__all__ = [
    "HierarchyOptions",
    "hierarchy_options",
    "reachable_hierarchy",
    "step_with_returns",
]


def reachable_hierarchy(h: HierarchicalRewardMachine) -> HierarchicalRewardMachine:
    """The hierarchy restricted to the members its root can call (transitively).

    ``compile_hierarchy`` sizes its stack by the root's height but resolves every
    member, so an unused deeper member overflows the stack; pruning avoids it.

    Example:
      >>> from rewardkit.machines.tasks import hierarchical_craft_task
      >>> sorted(reachable_hierarchy(hierarchical_craft_task("MilkBucket")).machines)
      ['Bucket', 'MilkBucket']
    """
    if not isinstance(h, HierarchicalRewardMachine):
        raise TypeError(
            f"`h` must be a HierarchicalRewardMachine; got {type(h).__name__}."
        )
    keep, todo = [], [h.root]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.append(name)
        todo += [e.call for e in h.machines[name].edges if e.call is not None]
    if len(keep) == len(h.machines):
        return h
    return HierarchicalRewardMachine(
        h.root,
        {n: m for n, m in h.machines.items() if n in keep},
        propositions=h.propositions,
        label_domain=h.label_domain,
    )


class HierarchyOptions(NamedTuple):
    """Option tables of a hierarchy (NumPy leaves); N nodes, O option slots, F clauses.

    A node is (machine, state, context clause); ``node_of[r, i]`` is the node of
    machine r's state i under the context TRUE (−1 when terminal). Per slot:
    ``available``, ``is_call``, the clause ``pos``/``neg`` (env bit masks, the
    context included), ``formula`` (bank index, −1 for calls) and, for calls,
    ``child`` (the callee's initial node under the accumulated context),
    ``callee`` and ``return_state``.
    """

    node_machine: Any  # [N] int32
    node_state: Any  # [N] int32
    node_of: Any  # [R, S] int32
    root_node: Any  # [] int32
    available: Any  # [N, O] bool
    is_call: Any  # [N, O] bool
    pos: Any  # [N, O] uint32
    neg: Any  # [N, O] uint32
    formula: Any  # [N, O] int32
    child: Any  # [N, O] int32
    callee: Any  # [N, O] int32
    return_state: Any  # [N, O] int32
    bank_pos: Any  # [F] uint32
    bank_neg: Any  # [F] uint32
    height: int


def hierarchy_options(
    h: HierarchicalRewardMachine, propositions: Any = None, *, label_domain: Any = None
) -> HierarchyOptions:
    """Builds the formula and call options of every reachable (machine, state, context).

    Clauses unsatisfiable on the label domain are dropped, and call options whose
    callee has no option at its initial node; self-loops and edges into a rejecting
    state (dead ends) give no option.

    Args:
      h: the hierarchy (pruned with :func:`reachable_hierarchy`: machine r is
        the r-th member of the pruned hierarchy, as in ``compile_hierarchy``).
      propositions: the env's bit order (None: the hierarchy's).
      label_domain: the labels the env emits (default: the hierarchy's domain).

    Example:
      >>> from rewardkit.machines.tasks import hierarchical_craft_task
      >>> t = hierarchy_options(hierarchical_craft_task("MilkBucket"))
      >>> t.available.shape, int(t.bank_pos.size), t.height
      ((4, 1), 3, 2)
    """
    h = reachable_hierarchy(h)
    props = tuple(h.propositions if propositions is None else propositions)
    domain = (label_domain or h.label_domain).masks(props).astype(np.int64)
    names = list(h.machines)
    index = {n: i for i, n in enumerate(names)}

    def ok(pos: int, neg: int) -> bool:
        return bool(np.any(((domain & pos) == pos) & ((domain & neg) == 0)))

    nodes: dict[tuple, int] = {}
    options: dict[int, list] = {}

    def visit(name: str, u: Any, ctx: tuple[int, int]) -> int:
        key = (name, u, ctx)
        if key in nodes:
            return nodes[key]
        nid = nodes[key] = len(nodes)
        m, opts = h.machines[name], []
        for e in m.out_edges(u):
            if e.target == u or e.target in m.rejecting:
                continue
            phi = e.context if e.call is not None else e.formula
            for c in phi.dnf(props):
                pos, neg = c.pos | ctx[0], c.neg | ctx[1]
                if pos & neg or not ok(pos, neg):
                    continue
                ret = m.state_index(e.target)
                if e.call is None:
                    opts.append((False, pos, neg, -1, -1, ret))
                    continue
                callee = h.machines[e.call]
                child = visit(e.call, callee.initial, (pos, neg))
                if options[child]:
                    opts.append((True, pos, neg, child, index[e.call], ret))
        options[nid] = opts
        return nid

    root = visit(h.root, h.machines[h.root].initial, (0, 0))
    for name, m in h.machines.items():
        for u in m.states:
            if not m.is_terminal(u):
                visit(name, u, (0, 0))
    n_n = len(nodes)
    o_n = max(1, *(len(o) for o in options.values()))
    s_n = max(len(m.states) for m in h.machines.values())
    node_of = np.full((len(names), s_n), -1, np.int32)
    node_machine = np.zeros(n_n, np.int32)
    node_state = np.zeros(n_n, np.int32)
    shape = (n_n, o_n)
    t = {
        "available": np.zeros(shape, bool),
        "is_call": np.zeros(shape, bool),
        "pos": np.zeros(shape, np.uint32),
        "neg": np.zeros(shape, np.uint32),
        "formula": np.full(shape, -1, np.int32),
        "child": np.zeros(shape, np.int32),
        "callee": np.full(shape, -1, np.int32),
        "return_state": np.full(shape, -1, np.int32),
    }
    bank: dict[tuple[int, int], int] = {}
    for (name, u, ctx), nid in nodes.items():
        i = h.machines[name].state_index(u)
        node_machine[nid], node_state[nid] = index[name], i
        if ctx == (0, 0):
            node_of[index[name], i] = nid
        for j, (call, pos, neg, child, callee, ret) in enumerate(options[nid]):
            t["available"][nid, j], t["is_call"][nid, j] = True, call
            t["pos"][nid, j], t["neg"][nid, j] = pos, neg
            t["return_state"][nid, j] = ret
            if call:
                t["child"][nid, j], t["callee"][nid, j] = child, callee
            else:
                t["formula"][nid, j] = bank.setdefault((pos, neg), len(bank))
    clauses = np.array(list(bank) or [(0, 0)], np.uint32).reshape(-1, 2)
    return HierarchyOptions(
        node_machine=node_machine,
        node_state=node_state,
        node_of=node_of,
        root_node=np.int32(root),
        bank_pos=clauses[:, 0].copy(),
        bank_neg=clauses[:, 1].copy(),
        height=int(h.height),
        **t,
    )


def step_with_returns(ch: CompiledHierarchy, s: HierarchyArrays, label: Any):
    """``ch.step`` (one env, JAX) that also reports which levels returned.

    Returns:
      ``(next_state, reward, accepted, rejected, popped)`` where ``popped[d]`` is
      ``(returned, machine, caller, return_state)`` ``[H + 1]`` arrays: the machine
      at level d accepted and returned to the frame ``(caller, return_state)``.
    """
    nxt, reward, acc, rej, popped = ch._step(s, jnp.asarray(label), returns=True)
    return nxt, jnp.asarray(reward, jnp.float32), acc, rej, popped
