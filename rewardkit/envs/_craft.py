"""CraftWorld (reward-machine paper) and HierarchicalCraftWorld (hierarchies paper) maps.

The reference CraftWorld maps (RMcode ``envs/grids/maps/map_*.txt``) carry no licence,
so they are not shipped: :func:`load_craft_map` reads a user's copy and
:func:`generate_craft_map` makes maps with the same statistics from a seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rewardkit.core import ConfigError, check_choice
from rewardkit.envs._grid import _LabelGrid

__all__ = [
    "CRAFT_OBJECTS",
    "HIERARCHICAL_CRAFT_PROPOSITIONS",
    "CraftWorld",
    "HierarchicalCraftWorld",
    "generate_craft_map",
    "hierarchical_craft_layout",
    "load_craft_map",
]

#: Proposition letter -> object, and the count of each on a reference map.
CRAFT_OBJECTS = {
    "a": ("wood", 5),
    "b": ("toolshed", 2),
    "c": ("workbench", 2),
    "d": ("grass", 5),
    "e": ("factory", 2),
    "f": ("iron", 5),
    "g": ("gold", 2),
    "h": ("gem", 2),
}
_CRAFT_SIZE, _CRAFT_START = 41, (20, 20)


def generate_craft_map(seed: int) -> str:
    r"""A 41 × 41 CraftWorld map with the reference maps' statistics.

    ``X`` border only, start ``A`` at row 20, column 20, and 5 a, 2 b, 2 c, 5 d,
    2 e, 5 f, 2 g, 2 h on distinct interior cells drawn uniformly with
    ``numpy.random.default_rng(seed)``.

    Example:
      >>> rows = generate_craft_map(0).split("\n")
      >>> len(rows), len(rows[0]), rows[20][20], sum(r.count("a") for r in rows)
      (41, 41, 'A', 5)
    """
    n = _CRAFT_SIZE
    grid = np.full((n, n), " ", dtype="<U1")
    grid[0, :] = grid[-1, :] = grid[:, 0] = grid[:, -1] = "X"
    grid[_CRAFT_START] = "A"
    free = np.argwhere(grid == " ")
    rng = np.random.default_rng(int(seed))
    letters = [c for c, (_, k) in CRAFT_OBJECTS.items() for _ in range(k)]
    picks = rng.choice(len(free), size=len(letters), replace=False)
    for c, i in zip(letters, picks, strict=True):
        grid[tuple(free[i])] = c
    return "\n".join("".join(r) for r in grid)


def load_craft_map(path: str | Path) -> str:
    r"""Reads a reference CraftWorld map file (``X`` walls, ``A`` start, letters).

    Trailing whitespace that editors strip is restored by padding every row to
    the longest one with spaces (empty cells).

    Raises:
      ConfigError: if the file is empty.

    Example:
      >>> import tempfile
      >>> with tempfile.TemporaryDirectory() as d:
      ...     p = Path(d) / "map.txt"
      ...     _ = p.write_text("XXXXX\nXA a\nXXXXX\n")  # row 2 lost a space
      ...     print(load_craft_map(p).replace(" ", "."))
      XXXXX
      XA.a.
      XXXXX
    """
    rows = [r.rstrip("\n") for r in Path(path).read_text().splitlines()]
    rows = [r for r in rows if r.strip()]
    if not rows:
        raise ConfigError(f"`path` {str(path)!r} holds no map rows.")
    width = max(len(r) for r in rows)
    return "\n".join(r.ljust(width) for r in rows)


class CraftWorld(_LabelGrid):
    """CraftWorld (Toro Icarte et al., JAIR 2022) on the core grid.

    A 41 × 41 map: ``X`` border walls, start at (row 20, col 20), objects as
    propositions ``a`` wood, ``b`` toolshed, ``c`` workbench, ``d`` grass, ``e``
    factory, ``f`` iron, ``g`` gold, ``h`` gem; at most one per cell, labels
    ``L(s')``. Actions up/right/down/left; the env pays nothing and never
    terminates (the task machines do); truncation after ``max_steps`` (1000).

    Args:
      map_path: a reference map file; None uses ``generate_craft_map(seed)``.
      seed: the generator's seed (the reference maps are numbered 0–10).
      obs: the observation kind of :class:`GridWorld`.
      max_steps: the step cap.

    Example:
      >>> env = CraftWorld(seed=3)
      >>> env.propositions, env.start
      (('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), (20, 20))
    """

    def __init__(
        self,
        map_path: str | Path | None = None,
        *,
        seed: int = 0,
        obs: str = "index",
        max_steps: int = 1000,
    ):
        layout = load_craft_map(map_path) if map_path else generate_craft_map(seed)
        super().__init__(
            layout,
            propositions={c: c for c in CRAFT_OBJECTS},
            obs=obs,
            max_steps=max_steps,
        )
        self.map_path, self.seed = map_path, seed

    def __repr__(self) -> str:
        src = self.map_path or f"seed={self.seed}"
        return f"CraftWorld({src}, obs={self.obs_kind!r})"


#: HierarchicalCraftWorld's propositions (Furelos-Blanco et al., ICML 2023).
HIERARCHICAL_CRAFT_PROPOSITIONS = {
    "c": "cow",
    "h": "workbench",
    "i": "iron",
    "l": "lava",
    "r": "redstone",
    "s": "sugarcane",
    "t": "table",
    "w": "wheat",
    "x": "squid",
    "y": "rabbit",
    "z": "chicken",
}
_HCW_OBJECTS = tuple(c for c in HIERARCHICAL_CRAFT_PROPOSITIONS if c != "l")


def _four_rooms() -> np.ndarray:
    n = 13
    grid = np.full((n, n), ".", dtype="<U1")
    grid[0, :] = grid[-1, :] = grid[:, 0] = grid[:, -1] = "#"
    grid[6, :] = grid[:, 6] = "#"
    for r, c in ((6, 3), (6, 9), (3, 6), (9, 6)):  # one doorway per inner wall
        grid[r, c] = "."
    return grid


def hierarchical_craft_layout(
    layout: str = "open_plan", *, lava: bool = False, seed: int = 0
) -> str:
    r"""A HierarchicalCraftWorld layout with objects placed from an instance seed.

    ``"open_plan"``: a 7 × 7 room, one object of each class; ``"four_rooms"``: a
    13 × 13 four-room grid (11 × 11 inside, one doorway per inner wall), two of
    each class. ``lava`` adds one lava cell (``l``). The start is a free cell too.

    Example:
      >>> rows = hierarchical_craft_layout("open_plan", seed=0).split("\n")
      >>> len(rows), sum(r.count("t") for r in rows)
      (9, 1)
    """
    check_choice("layout", layout, ("open_plan", "four_rooms"))
    if layout == "open_plan":
        grid = np.full((9, 9), ".", dtype="<U1")
        grid[0, :] = grid[-1, :] = grid[:, 0] = grid[:, -1] = "#"
        copies = 1
    else:
        grid = _four_rooms()
        copies = 2
    free = np.argwhere(grid == ".")
    rng = np.random.default_rng(int(seed))
    letters = [c for c in _HCW_OBJECTS for _ in range(copies)] + ["l"] * int(lava)
    picks = rng.choice(len(free), size=len(letters) + 1, replace=False)
    for c, i in zip([*letters, "S"], picks, strict=True):
        grid[tuple(free[i])] = c
    return "\n".join("".join(r) for r in grid)


class HierarchicalCraftWorld(_LabelGrid):
    """HierarchicalCraftWorld (Furelos-Blanco et al., ICML 2023) on the core grid.

    Layouts from :func:`hierarchical_craft_layout`; propositions ``c`` cow, ``h``
    workbench, ``i`` iron, ``l`` lava, ``r`` redstone, ``s`` sugarcane, ``t``
    table, ``w`` wheat, ``x`` squid, ``y`` rabbit, ``z`` chicken (the object in
    the agent's cell, ``L(s')``). Deviation: the paper's MiniGrid fork has turns
    and a forward move; rewardkit uses the grid's cardinal moves, so episode
    lengths are not comparable with the paper's. Truncation after ``max_steps``.

    Args:
      layout: ``"open_plan"`` or ``"four_rooms"``.
      lava: add a lava cell.
      seed: the instance seed (object placement).
      obs: the observation kind of :class:`GridWorld`.
      max_steps: the step cap.

    Example:
      >>> env = HierarchicalCraftWorld("four_rooms", seed=1)
      >>> len(env.propositions), (env.height, env.width)
      (11, (13, 13))
    """

    def __init__(
        self,
        layout: str = "open_plan",
        *,
        lava: bool = False,
        seed: int = 0,
        obs: str = "index",
        max_steps: int = 1000,
    ):
        text = hierarchical_craft_layout(layout, lava=lava, seed=seed)
        super().__init__(
            text,
            propositions={c: c for c in HIERARCHICAL_CRAFT_PROPOSITIONS},
            obs=obs,
            max_steps=max_steps,
        )
        self.layout_name, self.lava, self.seed = layout, bool(lava), seed

    def __repr__(self) -> str:
        return (
            f"HierarchicalCraftWorld({self.layout_name!r}, lava={self.lava}, "
            f"seed={self.seed})"
        )
