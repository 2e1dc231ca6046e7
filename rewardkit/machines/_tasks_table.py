"""Task machines compiled against an env into one flat table over (task, state).

A product env runs one machine per episode, drawn from a tuple of task machines. All
of them are compiled against the env's propositions and laid side by side: the flat
index ``u`` of a (task, state) pair is the ``"machine"`` observation, a step is a
column lookup and two gathers, and counterfactual experience (CRM) is one ``vmap``
over every flat index (all tasks at once, as the reference code does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from rewardkit.core import ConfigError, array_namespace
from rewardkit.machines._errors import NondeterminismError, UnknownPropositionError

__all__ = ["TaskMachines", "compile_tasks"]

_MAX_RAW_BITS = 16


class TaskMachines(NamedTuple):
    """Compiled task machines as one flat table over (task, state) pairs.

    Columns are classes of raw labels with equal effect on every state; terminal
    rows self-loop at reward 0. The table is a pytree of arrays (NumPy when built;
    pass it through ``jax.numpy.asarray`` leaves or let ``jit`` capture it).

    Attributes:
      next_state: ``[U, L]`` int32, δ_u over flat indices.
      reward: ``[U, L]`` float32, δ_r.
      accepting: ``[U]`` bool.
      rejecting: ``[U]`` bool.
      initial: ``[K]`` int32, each task's initial flat index.
      task: ``[U]`` int32, the task of each flat index.
      label_index: ``[2**P]`` int32, raw env label (bit i ⇔ ``propositions[i]``)
        to column.
      in_domain: ``[L]`` bool, columns reached by a label of the declared domain
        (value iteration for potentials maximises over these only).

    Example:
      >>> from rewardkit.machines.tasks import office_tasks
      >>> from rewardkit.envs import OfficeWorld
      >>> tm = compile_tasks(office_tasks()[:1], OfficeWorld().propositions)
      >>> tm.num_states, tm.num_tasks
      (4, 1)
      >>> coffee = np.uint32(1 << 5)  # bit 5 is "f"
      >>> [int(x) for x in tm.step(tm.initial[0], coffee)[:1]]
      [1]
    """

    next_state: Any
    reward: Any
    accepting: Any
    rejecting: Any
    initial: Any
    task: Any
    label_index: Any
    in_domain: Any

    @property
    def num_states(self) -> int:
        """U, the number of (task, state) pairs."""
        return int(self.accepting.shape[0])

    @property
    def num_tasks(self) -> int:
        """K, the number of task machines."""
        return int(self.initial.shape[0])

    @property
    def terminal(self) -> Any:
        """``[U]`` bool, accepting or rejecting."""
        return self.accepting | self.rejecting

    def step(self, machine_state: Any, label: Any) -> tuple[Any, Any, Any, Any]:
        """One machine step: ``(u, σ) -> (u', δ_r(u, σ), u' accepting, u' rejecting)``.

        Written against the array API: on NumPy inputs and tables it runs on the
        host (broadcasting over arrays of states), on JAX under ``jit``/``vmap``.

        Args:
          machine_state: int32 flat index (any shape).
          label: uint32 raw label in the env's bit order (broadcastable).

        Returns:
          ``(next_state int32, reward float32, accepted bool, rejected bool)``.
        """
        col = self.label_index[label]
        u = self.next_state[machine_state, col]
        return u, self.reward[machine_state, col], self.accepting[u], self.rejecting[u]

    def one_hot(self, machine_state: Any) -> Any:
        """The flattening helper of RMcode ``rm_environment.py``: a one-hot vector.

        Runs over every (task, non-terminal state) pair, zeros when u is terminal;
        array API (NumPy or JAX, u may be traced; the tables must be concrete), any
        leading shape.

        Example:
          >>> from rewardkit.machines.tasks import office_tasks
          >>> tm = compile_tasks(office_tasks()[:1], tuple("abcdefgn"))
          >>> tm.one_hot(np.int32(1)).tolist(), tm.one_hot(np.int32(2)).tolist()
          ([0.0, 1.0], [0.0, 0.0])
        """
        xp = array_namespace(machine_state, self.accepting)
        # Static facts from the (concrete) tables; only u may be traced.
        live = ~(np.asarray(self.accepting) | np.asarray(self.rejecting))
        rank = np.where(live, np.cumsum(live) - 1, -1).astype(np.int32)
        u = xp.asarray(machine_state)
        cols = xp.arange(int(live.sum()), dtype=xp.int32)
        return (xp.asarray(rank)[u][..., None] == cols).astype(xp.float32)

    def task_and_state(self, machine_state: Any) -> tuple[Any, Any]:
        """The tuple form: ``(task index, state index within the task)``.

        Example:
          >>> from rewardkit.machines.tasks import office_tasks
          >>> tm = compile_tasks(office_tasks(), tuple("abcdefgn"))
          >>> [int(x) for x in tm.task_and_state(np.int32(9))]
          [2, 1]
        """
        xp = array_namespace(machine_state, self.task)
        u = xp.asarray(machine_state)
        tasks = xp.asarray(self.task)
        task = tasks[u]
        return task, u - xp.searchsorted(tasks, task)

    def as_jax(self) -> TaskMachines:
        """The same table with ``jax.numpy`` leaves."""
        import jax.numpy as jnp

        return TaskMachines(*(jnp.asarray(x) for x in self))

    def as_numpy(self) -> TaskMachines:
        """The same table with NumPy leaves (for the host path)."""
        return TaskMachines(*(np.asarray(x) for x in self))


def _rows(machine: Any, propositions: tuple[str, ...], domain: Any) -> dict:
    """Tabulates one machine's graph semantics on every raw label, on the host."""
    missing = [p for p in machine.propositions if p not in propositions]
    if missing:
        raise UnknownPropositionError(
            f"machine {machine.name!r} uses propositions {missing} that the env "
            f"lacks; the env's propositions are {propositions}."
        )
    in_domain = set(_domain_masks(domain, propositions).tolist())
    own = [(1 << propositions.index(p), p) for p in machine.propositions]
    states = machine.states
    n, n_raw = len(states), 1 << len(propositions)
    nxt = np.empty((n, n_raw), np.int32)
    rew = np.zeros((n, n_raw), np.float32)
    cache: dict[int, tuple[int, ...]] = {}
    for raw in range(n_raw):
        projected = sum(bit for bit, _ in own if raw & bit)
        if projected in cache:
            nxt[:, raw], rew[:, raw] = cache[projected]
            continue
        label = frozenset(p for bit, p in own if raw & bit)
        for i, u in enumerate(states):
            try:
                v, r = machine.step(u, label)
            except NondeterminismError:
                if raw in in_domain:
                    raise
                v, r = u, 0.0  # outside the domain: the machine cannot resolve it
            nxt[i, raw] = machine.state_index(v)
            rew[i, raw] = r
        cache[projected] = (nxt[:, raw].copy(), rew[:, raw].copy())
    acc = np.array([u in machine.accepting for u in states], bool)
    rej = np.array([u in machine.rejecting for u in states], bool)
    return {
        "next": nxt,
        "reward": rew,
        "accepting": acc,
        "rejecting": rej,
        "initial": machine.state_index(machine.initial),
    }


def _domain_masks(domain: Any, propositions: tuple[str, ...]) -> np.ndarray:
    """Raw labels (env bit order) of the declared domain; all labels if None."""
    if domain is None:
        return np.arange(1 << len(propositions), dtype=np.uint32)
    masks = []
    index = {p: i for i, p in enumerate(propositions)}
    for lab in domain.labels():
        if not set(lab) <= set(index):
            continue  # a domain label naming propositions the env never emits
        masks.append(sum(1 << index[p] for p in lab))
    return np.asarray(sorted(set(masks)), np.uint32)


def compile_tasks(
    machines: Any,
    propositions: Sequence[str],
    *,
    label_domain: Any = None,
) -> TaskMachines:
    """Compiles task machines against an env's propositions into one flat table.

    Each machine's graph semantics (``RewardMachine.step``; hierarchies are
    flattened) is tabulated on the host for every raw label, and raw labels with
    equal effect on every (task, state) pair share a column, so a step is one
    lookup and two gathers. Labels outside ``label_domain`` that a machine cannot
    resolve (two edges match) leave it where it is. Flat indices list task 0's states first, then task 1's, and so on.

    Args:
      machines: a ``RewardMachine``, a ``HierarchicalRewardMachine`` (flattened)
        or a sequence of them (the tasks).
      propositions: the env's proposition names (bit i ⇔ ``propositions[i]``),
        at most 16.
      label_domain: the labels the env can emit (a ``LabelDomain``); None means
        every subset.

    Returns:
      A :class:`TaskMachines` with NumPy leaves.

    Raises:
      ConfigError: no machines, or more than 16 propositions.
      UnknownPropositionError: a machine names a proposition the env lacks.

    Example:
      >>> from rewardkit.machines.tasks import office_tasks
      >>> from rewardkit.envs import OfficeWorld
      >>> tm = compile_tasks(office_tasks(), OfficeWorld().propositions)
      >>> tm.num_states, tm.initial.tolist()
      (20, [0, 4, 8, 14])
    """
    props = tuple(str(p) for p in propositions)
    if len(props) > _MAX_RAW_BITS:
        raise ConfigError(
            f"`propositions` must hold at most {_MAX_RAW_BITS} names for a product "
            f"env's label table; got {len(props)}. Project the labeler onto the "
            "machine's own propositions."
        )
    if not isinstance(machines, list | tuple):
        machines = (machines,)
    if not machines:
        raise ConfigError("`machines` must hold at least one machine; got none.")
    rows = []
    for m in machines:
        flatten = getattr(m, "flatten", None)
        if not callable(flatten):
            raise TypeError(
                "`machines` must hold RewardMachine or HierarchicalRewardMachine "
                f"objects; got {type(m).__name__}."
            )
        rows.append(_rows(flatten(), props, label_domain))
    offsets = np.cumsum([0] + [r["accepting"].size for r in rows])
    nxt = np.concatenate([r["next"] + o for r, o in zip(rows, offsets, strict=False)])
    rew = np.concatenate([r["reward"] for r in rows])
    # Columns: classes of raw labels with equal (next, reward) on every flat state.
    key = np.concatenate([nxt, rew.view(np.int32)], axis=0).T  # [2**P, 2U]
    classes, first, label_index = np.unique(
        key, axis=0, return_index=True, return_inverse=True
    )
    order = np.argsort(first)  # keep the empty label's class as column 0
    remap = np.empty_like(order)
    remap[order] = np.arange(order.size)
    label_index = remap[label_index.reshape(-1)].astype(np.int32)
    cols = first[order]
    in_domain = np.zeros(cols.size, bool)
    in_domain[label_index[_domain_masks(label_domain, props)]] = True
    del classes
    return TaskMachines(
        next_state=nxt[:, cols].astype(np.int32),
        reward=rew[:, cols].astype(np.float32),
        accepting=np.concatenate([r["accepting"] for r in rows]),
        rejecting=np.concatenate([r["rejecting"] for r in rows]),
        initial=np.asarray(
            [r["initial"] + o for r, o in zip(rows, offsets, strict=False)], np.int32
        ),
        task=np.repeat(
            np.arange(len(rows), dtype=np.int32), [r["accepting"].size for r in rows]
        ),
        label_index=label_index,
        in_domain=in_domain,
    )
