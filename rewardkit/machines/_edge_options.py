"""Edge options: one option per machine edge (Toro Icarte et al., JAIR 2022)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rewardkit.machines._tasks_table import TaskMachines

__all__ = ["EdgeOptions", "edge_options"]


class EdgeOptions(NamedTuple):
    """The edge options of compiled task machines.

    Option o follows the edge ``source[o] → target[o]`` (flat machine indices,
    ``source ≠ target``): it is available in ``source[o]`` and ends when the
    machine leaves it or the episode ends.

    Attributes:
      source: ``[O]`` int32.
      target: ``[O]`` int32.
      available: ``[U, O]`` bool, ``source[o] == u``.
    """

    source: Any
    target: Any
    available: Any

    @property
    def num_options(self) -> int:
        """O."""
        return int(self.source.shape[0])


def edge_options(
    machines: TaskMachines, *, include_rejecting: bool = False
) -> EdgeOptions:
    """One option per non-self-loop edge ``(u1 → u2)`` of every task machine.

    Edges are the distinct ``(u, δ_u(u, σ))`` pairs with ``δ_u(u, σ) ≠ u`` over the
    label domain's columns. Edges into rejecting states are left out by default:
    the reference code's machines reach their dead ends by falling off (no edge),
    so it has no option for them (TI22's "HRM"; RMcode ``HierarchicalRMWrapper``).

    Args:
      machines: the compiled task machines.
      include_rejecting: also make options of edges into rejecting states.

    Returns:
      :class:`EdgeOptions` with NumPy leaves.

    Example:
      >>> from rewardkit.envs import OfficeWorld
      >>> from rewardkit.machines import compile_tasks
      >>> from rewardkit.machines.tasks import office_tasks
      >>> opts = edge_options(compile_tasks(office_tasks()[:1],
      ...                                   OfficeWorld().propositions))
      >>> list(zip(opts.source.tolist(), opts.target.tolist()))
      [(0, 1), (1, 2)]
    """
    tm = machines.as_numpy()
    cols = np.flatnonzero(tm.in_domain)
    pairs = set()
    for u in range(tm.num_states):
        if tm.terminal[u]:
            continue
        for v in np.unique(tm.next_state[u, cols]):
            if v != u and (include_rejecting or not tm.rejecting[v]):
                pairs.add((u, int(v)))
    src, dst = (np.asarray(x, np.int32) for x in zip(*sorted(pairs), strict=True))
    available = src[None, :] == np.arange(tm.num_states)[:, None]
    return EdgeOptions(src, dst, available)
