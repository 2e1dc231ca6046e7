"""``EnvPotential`` potentials for MiniGrid, read from ``env.unwrapped`` (host side).

MiniGrid observations are egocentric views, not states, so these potentials read
``agent_pos``, ``carrying`` and ``grid`` from the unwrapped env, which §1.1's
telescoping argument allows (the shaping of every trajectory loses exactly Φ(s_0),
whatever the policy observes). Layouts change at every reset (DoorKey), so the
tables are recomputed in the ``on_reset`` hook that
:class:`rewardkit.shaping.PotentialShaping` calls; a step costs one table lookup.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from rewardkit.core import check_positive

__all__ = ["BFSToGoal", "DoorKeyStages", "bfs_to_goal", "doorkey_stages"]

_OPEN_TYPES = ("empty", "goal", "floor")  # cells the agent may stand on


def _bfs(passable: np.ndarray, sources: list[tuple[int, int]]) -> np.ndarray:
    """Moves to the nearest source over 4-neighbours; unreachable: ``W·H``."""
    w, h = passable.shape
    dist = np.full((w, h), w * h, np.int64)
    queue: deque[tuple[int, int]] = deque()
    for x, y in sources:
        dist[x, y] = 0
        queue.append((x, y))
    while queue:
        x, y = queue.popleft()
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if (
                0 <= nx < w
                and 0 <= ny < h
                and passable[nx, ny]
                and dist[nx, ny] > dist[x, y] + 1
            ):
                dist[nx, ny] = dist[x, y] + 1
                queue.append((nx, ny))
    return dist


def _scan(env: Any) -> tuple[np.ndarray, np.ndarray, list[Any], list[tuple[int, int]]]:
    """Passability without and with locked doors, the locked doors, the goals."""
    grid = env.grid
    w, h = grid.width, grid.height
    closed = np.zeros((w, h), bool)
    opened = np.zeros((w, h), bool)
    locked, goals = [], []
    for y in range(h):
        for x in range(w):
            obj = grid.get(x, y)
            kind = "empty" if obj is None else obj.type
            if kind == "goal":
                goals.append((x, y))
            if kind in _OPEN_TYPES:
                closed[x, y] = opened[x, y] = True
            elif kind == "door":
                # A closed, unlocked door opens with `toggle`: passable. A locked one
                # needs the key.
                opened[x, y] = True
                closed[x, y] = not obj.is_locked
                if obj.is_locked:
                    locked.append(obj)
            elif kind == "key":
                # Picking the key up empties its cell: passable once carried.
                opened[x, y] = True
    return closed, opened, locked, goals


class BFSToGoal:
    """``Φ = −d_BFS(agent, goal)/scale`` on a MiniGrid env (an ``EnvPotential``).

    Distances count moves between cells (turns are free). A locked door is
    passable only while the agent carries a key or once every locked door is
    open; walls, lava, balls and boxes block. Unreachable cells get
    ``−W·H/scale``. Both tables are recomputed in :meth:`on_reset`.

    Args:
      scale: positive divisor.
    """

    kind = "env"

    def __init__(self, scale: float = 1.0):
        self.scale = check_positive("scale", scale)
        self._closed: np.ndarray | None = None
        self._opened: np.ndarray | None = None
        self._locked: list[Any] = []
        self._base: Any = None
        # One potential may serve several envs (e.g. shared by make_vec's wrapper
        # lambda): tables are kept per unwrapped env, keyed by identity.
        self._per_env: dict[int, tuple[Any, ...]] = {}

    def on_reset(self, env: Any) -> None:
        """Recomputes the BFS tables for the layout drawn at reset."""
        base = env.unwrapped
        closed, opened, locked, goals = _scan(base)
        if not goals:
            raise ValueError(f"{type(base).__name__} has no Goal cell to measure to.")
        # 0.0 - d (not -d): the goal gets 0.0, not -0.0.
        entry = (
            base,
            (0.0 - _bfs(closed, goals) / self.scale).astype(np.float32),
            (0.0 - _bfs(opened, goals) / self.scale).astype(np.float32),
            locked,
        )
        self._per_env[id(base)] = entry
        self._base, self._closed, self._opened, self._locked = entry

    def _select(self, env: Any) -> Any:
        base = env.unwrapped
        if base is not self._base:
            entry = self._per_env.get(id(base))
            if entry is None or entry[0] is not base:
                self.on_reset(base)
            else:
                self._base, self._closed, self._opened, self._locked = entry
        return base

    def __call__(self, env: Any) -> np.float32:
        """Φ of the unwrapped env's current state."""
        # Fast path: the shaping wrapper passes the unwrapped env it was reset with.
        base = env if env is self._base else self._select(env)
        if not self._locked:
            return self._closed[base.agent_pos]  # type: ignore[index]
        carrying = base.carrying
        if carrying is not None and carrying.type == "key":
            return self._opened[base.agent_pos]  # type: ignore[index]
        for door in self._locked:
            if not door.is_open:
                return self._closed[base.agent_pos]  # type: ignore[index]
        return self._opened[base.agent_pos]  # type: ignore[index]

    def __repr__(self) -> str:
        return f"minigrid.bfs_to_goal(scale={self.scale})"


def bfs_to_goal(scale: float = 1.0) -> BFSToGoal:
    """``Φ = −d_BFS(agent, goal)/scale`` for MiniGrid (see :class:`BFSToGoal`).

    Example:
      >>> import gymnasium as gym
      >>> import minigrid  # registers the MiniGrid ids
      >>> env = gym.make("MiniGrid-Empty-5x5-v0")
      >>> _ = env.reset(seed=0)
      >>> phi = bfs_to_goal()
      >>> phi.on_reset(env)
      >>> float(phi(env))
      -4.0
    """
    return BFSToGoal(scale)


class DoorKeyStages:
    """Subgoal potential for DoorKey: ``w_key·1[carrying key] + w_door·1[door open]``.

    Ng et al. (1999)'s flag domain, read from ``env.unwrapped``. ``on_reset``
    finds the locked doors of the new layout.

    Args:
      key_weight: paid while the agent carries a key.
      door_weight: paid once every locked door is open.
    """

    kind = "env"

    def __init__(self, key_weight: float = 0.5, door_weight: float = 0.5):
        self.key_weight = np.float32(key_weight)
        self.door_weight = np.float32(door_weight)
        self._locked: dict[int, tuple[Any, list[Any]]] = {}  # per unwrapped env

    def on_reset(self, env: Any) -> None:
        """Finds the locked doors of the layout drawn at reset."""
        base = env.unwrapped
        self._locked[id(base)] = (base, _scan(base)[2])

    def __call__(self, env: Any) -> np.float32:
        """Φ of the unwrapped env's current state."""
        base = env.unwrapped
        entry = self._locked.get(id(base))
        if entry is None or entry[0] is not base:
            self.on_reset(base)
            entry = self._locked[id(base)]
        phi = np.float32(0.0)
        if base.carrying is not None and base.carrying.type == "key":
            phi = phi + self.key_weight
        locked = entry[1]
        if locked and all(d.is_open for d in locked):
            phi = phi + self.door_weight
        return phi

    def __repr__(self) -> str:
        return f"minigrid.doorkey_stages({self.key_weight}, {self.door_weight})"


def doorkey_stages(key_weight: float = 0.5, door_weight: float = 0.5) -> DoorKeyStages:
    """DoorKey subgoals: has-key, door-open (see :class:`DoorKeyStages`).

    Example:
      >>> import gymnasium as gym
      >>> import minigrid  # registers the MiniGrid ids
      >>> env = gym.make("MiniGrid-DoorKey-5x5-v0")
      >>> _ = env.reset(seed=0)
      >>> phi = doorkey_stages()
      >>> phi.on_reset(env)
      >>> float(phi(env))
      0.0
    """
    return DoorKeyStages(key_weight, door_weight)
