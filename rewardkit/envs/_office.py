"""OfficeWorld: the reward-machine paper's 12 × 9 office, as a :class:`GridWorld`."""

from __future__ import annotations

from rewardkit.envs._grid import _LabelGrid

__all__ = ["OFFICE_LAYOUT", "OfficeWorld", "office_blocked"]

#: The office on the core grid, (row, col) = (8 − y, x) from the reference (x, y).
#: Propositions: a–d patrol corners, e mail, f coffee (two), g office, n plants.
OFFICE_LAYOUT = """
............
.b..n..n..c.
...f........
............
.n..g..e..n.
............
........f...
.aA.n..n..d.
............
"""


def office_blocked() -> list[tuple[int, int, int]]:
    """The OfficeWorld edge walls as ``(row, col, action)`` triples.

    Transcribes the reference walls (``envs/grids/office_world.py`` after commit
    ``144dede``): every 3 × 3 room is walled, with openings between horizontal
    neighbours in rows y = 1 and 7 (x = 2|3, 5|6, 8|9), between the middle and top
    room rows (y = 5|6) at x = 1, 4, 7, 10 and between the bottom and middle rows
    (y = 2|3) at x = 1 and 10. Coordinates convert as ``row = 8 − y``, ``col = x``;
    actions are up, right, down, left (0–3), up meaning y + 1.

    Example:
      >>> walls = office_blocked()
      >>> len(walls), (7, 2, 1) in walls, (7, 2, 0) in walls
      (120, False, False)
    """
    up, right, down, left = 0, 1, 2, 3
    xy = set()
    for x in range(12):
        for y in (0, 3, 6):
            xy.add((x, y, down))
            xy.add((x, y + 2, up))
    for y in range(9):
        for x in (0, 3, 6, 9):
            xy.add((x, y, left))
            xy.add((x + 2, y, right))
    for y in (1, 7):
        for x in (2, 5, 8):
            xy.discard((x, y, right))
            xy.discard((x + 1, y, left))
    for x in (1, 4, 7, 10):
        xy.discard((x, 5, up))
        xy.discard((x, 6, down))
    for x in (1, 10):
        xy.discard((x, 2, up))
        xy.discard((x, 3, down))
    return sorted((8 - y, x, a) for x, y, a in xy)


class OfficeWorld(_LabelGrid):
    """OfficeWorld (Toro Icarte et al., ICML 2018 / JAIR 2022) on the core grid.

    Twelve walled 3 × 3 rooms in three rows of four; the agent starts at (x, y) =
    (2, 1), i.e. (row 7, col 2). Propositions ``a``, ``b``, ``c``, ``d`` (patrol
    corners), ``e`` (mail), ``f`` (coffee, two cells), ``g`` (office), ``n`` (six
    plants); at most one holds on any cell, and labels are ``L(s')``. The env itself
    pays nothing and never terminates: rewards and termination come from a reward
    machine through :class:`rewardkit.machines.functional.ProductEnv`; episodes are
    truncated after ``max_steps`` (1000 as in the reference).

    Args:
      obs: the observation kind of :class:`GridWorld`.
      max_steps: the step cap (truncation).

    Example:
      >>> env = OfficeWorld()
      >>> env.propositions
      ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'n')
      >>> env.start, (env.height, env.width)
      ((7, 2), (9, 12))

    References:
      Toro Icarte, Klassen, Valenzano and McIlraith (2022). Reward machines:
      exploiting reward function structure in reinforcement learning. JAIR 73.
    """

    def __init__(self, *, obs: str = "index", max_steps: int = 1000):
        super().__init__(
            OFFICE_LAYOUT,
            blocked=office_blocked(),
            obs=obs,
            max_steps=max_steps,
        )

    def __repr__(self) -> str:
        return f"OfficeWorld(obs={self.obs_kind!r})"
