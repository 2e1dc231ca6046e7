"""The export methods shared by reward machines and their hierarchies."""

from __future__ import annotations

from typing import Any


class _Exports:
    """``to_dot``, ``draw`` and ``to_json`` as methods (the functions take either)."""

    def to_dot(self) -> str:
        """Graphviz text; see ``rk.machines.to_dot``.

        A hierarchy gets one cluster per machine.
        """
        from rewardkit.machines._draw import to_dot

        return to_dot(self)

    def draw(self, ax: Any = None) -> Any:
        """Draws on a matplotlib axis; see ``rk.machines.draw``.

        A hierarchy draws its flattening's members side by side.
        """
        from rewardkit.machines._draw import draw

        return draw(self, ax)

    def to_json(self) -> str:
        """JSON text; see ``rk.machines.to_json``."""
        from rewardkit.machines._io import to_json

        return to_json(self)
