"""Drawing and export: Graphviz DOT text and a matplotlib drawing.

``to_dot`` needs no graphviz; ``draw`` imports matplotlib (an optional extra) only
when called.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from rewardkit.machines._machine import RewardMachine

__all__ = ["draw", "to_dot"]


def _q(x: Any) -> str:
    return '"' + str(x).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _edge_label(e: Any) -> str:
    if e.call is not None:
        return f"{e.context} / {e.call}" + (f" / {e.reward:g}" if e.reward else "")
    return f"{e.formula} / {e.reward:g}"


def _machine_lines(rm: RewardMachine, prefix: str, indent: str) -> list[str]:
    lines = []
    g = rm._graph
    for u in rm.states:
        attrs = ["shape=circle"]
        if u in rm.accepting:
            attrs = ["shape=doublecircle"]
        elif u in rm.rejecting:
            attrs = ["shape=doublecircle", "color=red"]
        mode = g.nodes[u]["on_unmatched"]
        label = str(u) if mode == rm.on_unmatched else f"{u}\\n(unmatched: {mode})"
        attrs.append(f"label={_q(label)}")
        lines.append(f"{indent}{_q(prefix + str(u))} [{', '.join(attrs)}];")
    start = _q(prefix + "__start__")
    lines.append(f"{indent}{start} [shape=point];")
    lines.append(f"{indent}{start} -> {_q(prefix + str(rm.initial))};")
    for e in rm.edges:
        style = ", style=dashed" if e.call is not None else ""
        lines.append(
            f"{indent}{_q(prefix + str(e.source))} -> {_q(prefix + str(e.target))} "
            f"[label={_q(_edge_label(e))}{style}];"
        )
    return lines


def to_dot(machine: Any) -> str:
    """Graphviz text of a machine or a hierarchy (no graphviz dependency).

    Edge labels read ``formula / reward`` (call edges: ``context / Callee``);
    accepting states are double circles, rejecting ones red; the unmatched-label
    default is stated in the graph label, and per state where it differs. A
    hierarchy gets one cluster per machine.

    Example:
      >>> m = RewardMachine.from_edges([("u0", "acc", "a", 1.0)], initial="u0",
      ...                              accepting=["acc"])
      >>> print(to_dot(m).splitlines()[3])
        "u0" [shape=circle, label="u0"];
    """
    from rewardkit.machines._hierarchy import HierarchicalRewardMachine

    if isinstance(machine, RewardMachine):
        lines = [
            f"digraph {_q(machine.name)} {{",
            "  rankdir=LR;",
            f"  label={_q(f'{machine.name} (unmatched: {machine.on_unmatched})')};",
        ]
        lines += _machine_lines(machine, "", "  ")
    elif isinstance(machine, HierarchicalRewardMachine):
        lines = [f"digraph {_q(machine.root)} {{", "  rankdir=LR;", "  compound=true;"]
        for name, m in machine.machines.items():
            lines.append(f"  subgraph {_q('cluster_' + name)} {{")
            lines.append(f"    label={_q(f'{name} (unmatched: {m.on_unmatched})')};")
            lines += _machine_lines(m, name + ":", "    ")
            lines.append("  }")
    else:
        raise TypeError(
            "`machine` must be a RewardMachine or a HierarchicalRewardMachine; got "
            f"{type(machine).__name__}."
        )
    lines.append("}")
    return "\n".join(lines)


def draw(machine: Any, ax: Any = None) -> Any:
    """Draws a machine with networkx and matplotlib (imported here, lazily).

    A hierarchy is drawn through its flattening. Accepting states are green,
    rejecting ones red, the initial state has a thick border; parallel edges share
    one label line each.

    Args:
      machine: a ``RewardMachine`` or a ``HierarchicalRewardMachine``.
      ax: a matplotlib axis (default: a new figure's).

    Returns:
      The axis.

    Example:
      >>> import matplotlib
      >>> matplotlib.use("Agg")
      >>> m = RewardMachine.from_edges([("u0", "acc", "a", 1.0)], initial="u0",
      ...                              accepting=["acc"])
      >>> ax = draw(m)
      >>> ax.get_title()
      'machine'
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - optional extra
        raise ImportError(
            "draw() needs matplotlib: pip install matplotlib (or rewardkit's extra)."
        ) from e
    rm = machine.flatten()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    g = nx.DiGraph()
    g.add_nodes_from(rm.states)
    labels: dict[tuple[Any, Any], list[str]] = {}
    for e in rm.edges:
        g.add_edge(e.source, e.target)
        labels.setdefault((e.source, e.target), []).append(_edge_label(e))
    pos = nx.spring_layout(g, seed=0) if len(g) > 2 else nx.circular_layout(g)
    colors = [
        "tab:green" if u in rm.accepting else "tab:red" if u in rm.rejecting else "w"
        for u in rm.states
    ]
    widths = [3.0 if u == rm.initial else 1.0 for u in rm.states]
    nx.draw_networkx_nodes(
        g, pos, ax=ax, node_color=colors, edgecolors="k", linewidths=widths
    )
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=8)
    nx.draw_networkx_edges(g, pos, ax=ax, arrows=True, connectionstyle="arc3,rad=0.1")
    nx.draw_networkx_edge_labels(
        g,
        pos,
        ax=ax,
        edge_labels={k: "\n".join(v) for k, v in labels.items()},
        font_size=7,
        connectionstyle="arc3,rad=0.1",
    )
    ax.set_title(rm.name)
    ax.set_axis_off()
    return ax
