"""Compilation of a hierarchy with a bounded call stack (for option methods).

Every (machine, state, label column) gets its precomputed first-step resolution:
the machine and state it lands in, the frames it pushes and its reward. Returns
happen at run time in a loop of static length H (the height) with ``xp.where``, so
the step is array-API code: it runs under ``jit``/``vmap`` and on the host on NumPy.
CRM, QRM and shaping use ``compile(h)`` (the flattening) instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import networkx as nx
import numpy as np

from rewardkit.core import ConfigError, array_namespace
from rewardkit.machines._errors import NondeterminismError, UnknownPropositionError
from rewardkit.machines._formula import LabelDomain, check_proposition_names
from rewardkit.machines._hierarchy import HierarchicalRewardMachine
from rewardkit.machines._validate import fmt_label

__all__ = ["CompiledHierarchy", "HierarchyArrays", "compile_hierarchy"]

_MAX_USED_PROPS = 16


class HierarchyArrays(NamedTuple):
    """The array form of a hierarchy state: machine, state and a bounded stack.

    Frames ``stack[i] = (caller, return_state)`` and ``stack_reward[i]`` are valid
    for ``i < depth``.
    """

    machine: Any  # [] int32, index into CompiledHierarchy.machine_names
    state: Any  # [] int32, index into that machine's states
    stack: Any  # [H, 2] int32
    stack_reward: Any  # [H] float32
    depth: Any  # [] int32


class CompiledHierarchy(NamedTuple):
    """A hierarchy as arrays, with machines padded to ``[R, S]``.

    Example:
      >>> h = HierarchicalRewardMachine("top", {
      ...     "top": {"initial": 0, "accepting": [1],
      ...             "edges": [{"source": 0, "target": 1, "call": "leaf",
      ...                        "reward": 1.0}]},
      ...     "leaf": {"initial": 0, "accepting": [2],
      ...              "edges": [(0, 1, "a"), (1, 2, "b")]}})
      >>> ch = compile_hierarchy(h)
      >>> s = ch.initial_state()
      >>> s, r, acc, rej = ch.step(s, np.uint32(0b01))  # a: descend into leaf
      >>> int(s.machine), int(s.state), int(s.depth)
      (1, 1, 1)
      >>> s, r, acc, rej = ch.step(s, np.uint32(0b10))  # b: leaf returns, top accepts
      >>> int(s.machine), int(s.state), float(r), bool(acc)
      (0, 1, 1.0, True)
    """

    res_machine: Any  # [R, S, L] int32
    res_state: Any  # [R, S, L] int32
    res_reward: Any  # [R, S, L] float32
    res_frames: Any  # [R, S, L, H, 2] int32, pushed (caller, return_state)
    res_frame_reward: Any  # [R, S, L, H] float32
    res_depth: Any  # [R, S, L] int32, number of pushed frames
    accepting: Any  # [R] int32, each machine's accepting state
    rejecting: Any  # [R, S] bool
    initial: Any  # [R] int32
    root: Any  # [] int32
    prop_bits: Any  # [Pu] uint32, env bit of each used proposition
    label_index: Any  # [2**Pu] int32, projected label -> column (the identity)

    def initial_state(self) -> HierarchyArrays:
        """The root's initial state with an empty stack (in the tables' namespace)."""
        xp = array_namespace(self.res_state)
        h = self.res_frames.shape[-2]
        root = xp.asarray(self.root, dtype=xp.int32)
        return HierarchyArrays(
            root,
            xp.asarray(self.initial[root], dtype=xp.int32),
            xp.zeros((h, 2), dtype=xp.int32),
            xp.zeros((h,), dtype=xp.float32),
            xp.asarray(0, dtype=xp.int32),
        )

    def is_accepting(self, s: HierarchyArrays) -> Any:
        """The root in its accepting state with an empty stack."""
        xp = array_namespace(s.machine, self.accepting)
        t = CompiledHierarchy(*(xp.asarray(x) for x in self))
        return (
            (s.machine == t.root) & (s.state == t.accepting[s.machine]) & (s.depth == 0)
        )

    def is_rejecting(self, s: HierarchyArrays) -> Any:
        """The current machine in its rejecting state."""
        xp = array_namespace(s.machine, self.rejecting)
        return xp.asarray(self.rejecting)[s.machine, s.state]

    def step(self, s: HierarchyArrays, label: Any) -> tuple[Any, Any, Any, Any]:
        """One hierarchy step on a raw label (env bit order, ``uint32``).

        Returns:
          ``(hierarchy_state, reward, accepted, rejected)``; terminal states stay
          put at reward 0.
        """
        return self._step(s, label)[:4]

    def _step(self, s: HierarchyArrays, label: Any, returns: bool = False) -> tuple:
        """:meth:`step`, plus (with ``returns``, JAX only) which levels returned.

        The fifth output is ``None``, or with ``returns`` an int32 ``[4, H + 1]``
        array whose column d is ``(returned, machine, caller, return_state)``: the
        machine at level d accepted and returned to the frame ``(caller,
        return_state)`` (one hierarchy state, not batched).
        """
        xp = array_namespace(s.machine, label, self.res_state)
        t = CompiledHierarchy(*(xp.asarray(x) for x in self))
        one = xp.asarray(1, dtype=xp.uint32)
        lab = xp.asarray(label).astype(xp.uint32)
        weights = one << xp.arange(t.prop_bits.shape[-1], dtype=xp.uint32)
        bits = (lab[..., None] >> t.prop_bits) & one
        col = t.label_index[xp.sum(bits * weights, axis=-1)]
        done = self.is_accepting(s) | self.is_rejecting(s)
        m, u = s.machine, s.state
        m2, u2 = t.res_machine[m, u, col], t.res_state[m, u, col]
        reward = t.res_reward[m, u, col]
        k = t.res_depth[m, u, col]
        height = t.res_frames.shape[-2]
        slot = xp.arange(height, dtype=xp.int32) - s.depth  # pushed frame per slot
        pushed = (slot >= 0) & (slot < k)
        src = xp.clip(slot, 0, height - 1)
        stack = xp.where(pushed[:, None], t.res_frames[m, u, col][src], s.stack)
        stack_reward = xp.where(
            pushed, t.res_frame_reward[m, u, col][src], s.stack_reward
        )
        depth = s.depth + k
        popped = xp.zeros((4, height + 1), xp.int32) if returns else None
        for _ in range(height):  # returns: static loop, no data-dependent control flow
            top = xp.clip(depth - 1, 0, height - 1)
            ret = (depth > 0) & (u2 == t.accepting[m2])
            if returns:
                ret = ret & ~done
                row = xp.stack([ret.astype(xp.int32), m2, stack[top, 0], stack[top, 1]])
                popped = popped.at[:, depth].set(xp.where(ret, row, popped[:, depth]))
            m2 = xp.where(ret, stack[top, 0], m2)
            u2 = xp.where(ret, stack[top, 1], u2)
            reward = reward + xp.where(ret, stack_reward[top], xp.zeros_like(reward))
            depth = depth - ret.astype(xp.int32)
        nxt = HierarchyArrays(
            xp.where(done, s.machine, m2).astype(xp.int32),
            xp.where(done, s.state, u2).astype(xp.int32),
            xp.where(done, s.stack, stack),
            xp.where(done, s.stack_reward, stack_reward),
            xp.where(done, s.depth, depth).astype(xp.int32),
        )
        reward = xp.where(done, xp.zeros_like(reward), reward)
        return nxt, reward, self.is_accepting(nxt), self.is_rejecting(nxt), popped


def compile_hierarchy(
    h: HierarchicalRewardMachine,
    propositions: Sequence[str] | None = None,
    *,
    label_domain: LabelDomain | None = None,
) -> CompiledHierarchy:
    """Compiles a hierarchy into first-step resolution tables and a bounded stack.

    Args:
      h: the hierarchy.
      propositions: the env's names, bit i <=> ``propositions[i]``; ``None`` means
        the hierarchy's own.
      label_domain: the labels the env emits (default: the hierarchy's domain);
        labels outside it that resolve two ways stay put at reward 0.

    Returns:
      A ``CompiledHierarchy`` with NumPy leaves. Machine r is the r-th name of
      ``h.machines``; state i of machine r is ``h.machines[name].states[i]``;
      stacks hold ``H`` frames, the height of the tallest member.

    Raises:
      UnknownPropositionError: a hierarchy proposition is missing from
        ``propositions``.
    """
    if not isinstance(h, HierarchicalRewardMachine):
        raise TypeError(
            f"`h` must be a HierarchicalRewardMachine; got {type(h).__name__}."
        )
    env = (
        h.propositions
        if propositions is None
        else check_proposition_names(propositions, "propositions")
    )
    missing = [p for p in h.propositions if p not in env]
    if missing:
        raise UnknownPropositionError(
            f"hierarchy {h.root!r} uses the propositions {missing}, which the env "
            f"lacks; the env's propositions are {tuple(env)}."
        )
    domain = label_domain if label_domain is not None else h.label_domain
    used = [
        p
        for p in h.propositions
        if any(
            p in (e.formula.propositions | e.context.propositions)
            for m in h.machines.values()
            for e in m.edges
        )
    ]
    if len(used) > _MAX_USED_PROPS:
        raise ConfigError(
            f"compile_hierarchy supports at most {_MAX_USED_PROPS} used propositions; "
            f"hierarchy {h.root!r} uses {len(used)}."
        )
    names = list(h.machines)
    index = {n: i for i, n in enumerate(names)}
    r_count, s_count = len(names), max(len(m.states) for m in h.machines.values())
    # Every member is compiled, so the stack must fit the tallest member, which may
    # be taller than the root when the hierarchy holds machines the root never calls.
    height = max(h.height, 1 + nx.dag_longest_path_length(h._call_graph()))
    n_labels = 1 << len(used)
    in_domain = np.zeros(n_labels, bool)
    in_domain[domain.masks(used)] = True
    to_h = [1 << h.propositions.index(p) for p in used]
    shape = (r_count, s_count, n_labels)
    res_m = np.zeros(shape, np.int32)
    res_u = np.zeros(shape, np.int32)
    res_r = np.zeros(shape, np.float32)
    res_f = np.zeros((*shape, height, 2), np.int32)
    res_fr = np.zeros((*shape, height), np.float32)
    res_k = np.zeros(shape, np.int32)
    for name, m in h.machines.items():
        r = index[name]
        res_m[r] = r
        for i, u in enumerate(m.states):
            res_u[r, i] = i
            if m.is_terminal(u):
                continue
            for label in range(n_labels):
                mask = sum(b for k, b in enumerate(to_h) if label >> k & 1)
                outs = list(dict.fromkeys(h._resolve(name, u, mask, ())))
                if len(outs) > 1:
                    if in_domain[label]:
                        raise NondeterminismError(
                            f"machine {name!r}, state {u!r}: the domain label "
                            f"{fmt_label(label, used)} resolves {len(outs)} ways."
                        )
                    continue  # outside the domain: stay, reward 0
                if outs:
                    callee, v, frames, reward = outs[0]
                else:
                    callee, frames = name, ()
                    v, reward = m.unmatched(u)
                target = h.machines[callee]
                res_m[r, i, label] = index[callee]
                res_u[r, i, label] = target.state_index(v)
                res_r[r, i, label] = reward
                res_k[r, i, label] = len(frames)
                for j, f in enumerate(frames):
                    caller = h.machines[f.caller]
                    res_f[r, i, label, j] = (
                        index[f.caller],
                        caller.state_index(f.return_state),
                    )
                    res_fr[r, i, label, j] = f.call_reward
    rejecting = np.zeros((r_count, s_count), bool)
    for name, m in h.machines.items():
        for i, u in enumerate(m.states):
            rejecting[index[name], i] = u in m.rejecting
    return CompiledHierarchy(
        res_machine=res_m,
        res_state=res_u,
        res_reward=res_r,
        res_frames=res_f,
        res_frame_reward=res_fr,
        res_depth=res_k,
        accepting=np.array(
            [m.state_index(next(iter(m.accepting))) for m in h.machines.values()],
            np.int32,
        ),
        rejecting=rejecting,
        initial=np.array(
            [m.state_index(m.initial) for m in h.machines.values()], np.int32
        ),
        root=np.int32(index[h.root]),
        prop_bits=np.array([env.index(p) for p in used], np.uint32),
        label_index=np.arange(n_labels, dtype=np.int32),
    )
