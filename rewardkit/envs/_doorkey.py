"""A JAX DoorKey task with MiniGrid's layout generator, dynamics and egocentric view."""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import ConfigError, Environment, check_choice, check_positive_int

__all__ = ["DoorKey", "DoorKeyParams", "DoorKeyState"]

# MiniGrid 3.2 encodings (minigrid/core/constants.py).
_EMPTY, _WALL, _DOOR, _KEY, _GOAL = 1, 2, 4, 5, 8
_GREEN, _YELLOW, _GREY = 1, 4, 5
_OPEN, _CLOSED, _LOCKED = 0, 1, 2
# MiniGrid directions 0 right, 1 down, 2 left, 3 up, as (d_row, d_col).
_DIR_ROW = np.array([0, 1, 0, -1], np.int32)
_DIR_COL = np.array([1, 0, -1, 0], np.int32)
# Cardinal actions up, right, down, left (GridWorld's order) -> MiniGrid direction.
_CARDINAL_DIR = np.array([3, 0, 1, 2], np.int32)
_VIEW = 7
_NUM_PLANES = 9


class DoorKeyState(NamedTuple):
    """State of :class:`DoorKey` (fixed shapes; the layout is part of the state).

    Attributes:
      pos: ``[2]`` int32, the agent's (row, col).
      dir: ``[]`` int32, facing (MiniGrid: 0 right, 1 down, 2 left, 3 up).
      split: ``[]`` int32, the column of the splitting wall.
      door_row: ``[]`` int32, the row of the door in that wall.
      key_pos: ``[2]`` int32, the key's (row, col) on the floor (stale while carried).
      has_key: ``[]`` bool, the agent carries the key.
      door_open: ``[]`` bool.
      door_locked: ``[]`` bool.
      t: ``[]`` int32, steps taken in this episode.
    """

    pos: jax.Array
    dir: jax.Array
    split: jax.Array
    door_row: jax.Array
    key_pos: jax.Array
    has_key: jax.Array
    door_open: jax.Array
    door_locked: jax.Array
    t: jax.Array


class DoorKeyParams(NamedTuple):
    """Parameters of :class:`DoorKey`.

    Attributes:
      max_steps: ``[]`` int32, the time limit (truncation); MiniGrid's ``10·size²``.
    """

    max_steps: jax.Array


class DoorKey(Environment):
    r"""MiniGrid's DoorKey as a functional JAX env (layout regenerated at reset).

    At every reset, as ``MiniGrid-DoorKey-{size}x{size}-v0``: border walls, a
    splitting wall at a random column in ``[2, size − 2)``, a locked yellow door at
    a random row in ``[1, size − 2)``, the agent (random cell and facing) and a
    yellow key (another random cell) left of the wall, the goal at
    ``(size − 2, size − 2)``. Reaching the goal terminates with reward
    ``1 − 0.9·t/max_steps`` (or 1 with ``decay_reward=False``); ``t ≥ max_steps``
    truncates.

    Actions (``actions``): ``"minigrid"`` — ``Discrete(7)`` left, right, forward,
    pickup, drop, toggle, done, acting on the cell in front as MiniGrid does
    (toggling an unlocked door opens or closes it); ``"cardinal"`` —
    ``Discrete(6)`` up, right, down, left (turn to that side, then move forward),
    pickup, toggle.

    Observations (``obs``): ``"image"`` — MiniGrid's egocentric ``7×7×3`` uint8
    view (object, colour, state), indexed ``[x, y]`` as ``obs["image"]`` of
    MiniGrid with occlusion (``see_through_walls=False``) and the carried object
    shown at the agent's cell; ``"planes"`` — float32 ``[size, size, 9]``: wall,
    agent, goal, key, locked door, closed door, open door, the cell in front,
    carrying (constant plane).

    Propositions (bit order): ``carry_key_yellow``, ``open_door_yellow``,
    ``on_goal``; :meth:`labels` returns the uint32 label of a state.

    Args:
      size: grid side (≥ 5), walls included.
      obs: ``"image"`` or ``"planes"``.
      actions: ``"minigrid"`` or ``"cardinal"``.
      decay_reward: MiniGrid's ``1 − 0.9·t/max_steps`` (True) or a constant 1.
      max_steps: the time limit; ``10·size²`` if None.

    Example:
      >>> env = DoorKey(size=5)
      >>> params = env.default_params()
      >>> obs, state = env.reset(jax.random.key(0), params)
      >>> obs.shape, obs.dtype, int(params.max_steps)
      ((7, 7, 3), dtype('uint8'), 250)
      >>> obs, state, r, term, trunc, info = env.step(jax.random.key(1), state, 0, params)
      >>> float(r), bool(term), int(state.t)
      (0.0, False, 1)

    References:
      Chevalier-Boisvert et al. (2023). Minigrid & Miniworld. NeurIPS D&B
      (``minigrid/envs/doorkey.py``, ``minigrid/minigrid_env.py``).
    """

    def __init__(
        self,
        size: int = 8,
        *,
        obs: str = "image",
        actions: str = "minigrid",
        decay_reward: bool = True,
        max_steps: int | None = None,
    ):
        self.size = check_positive_int("size", size)
        if self.size < 5:
            raise ConfigError(f"`size` must be an int >= 5; got {size!r}.")
        self.obs_kind = check_choice("obs", obs, ("image", "planes"))
        self.action_mode = check_choice("actions", actions, ("minigrid", "cardinal"))
        if not isinstance(decay_reward, bool):
            raise ConfigError(f"`decay_reward` must be a bool; got {decay_reward!r}.")
        self.decay_reward = decay_reward
        self.max_steps = (
            10 * self.size**2
            if max_steps is None
            else check_positive_int("max_steps", max_steps)
        )

    @property
    def propositions(self) -> tuple[str, ...]:  # type: ignore[override]
        """``("carry_key_yellow", "open_door_yellow", "on_goal")``."""
        return ("carry_key_yellow", "open_door_yellow", "on_goal")

    def default_params(self) -> DoorKeyParams:
        """``max_steps`` as an int32 leaf."""
        return DoorKeyParams(jnp.asarray(self.max_steps, jnp.int32))

    def observation_space(self, params: Any = None) -> gym.Space:
        """``Box(0, 255, (7, 7, 3), uint8)`` or ``Box(0, 1, (size, size, 9))``."""
        if self.obs_kind == "image":
            return gym.spaces.Box(0, 255, (_VIEW, _VIEW, 3), np.uint8)
        s = self.size
        return gym.spaces.Box(0.0, 1.0, (s, s, _NUM_PLANES), np.float32)

    def action_space(self, params: Any = None) -> gym.Space:
        """``Discrete(7)`` (minigrid) or ``Discrete(6)`` (cardinal)."""
        return gym.spaces.Discrete(7 if self.action_mode == "minigrid" else 6)

    # -- dynamics -----------------------------------------------------------------

    def reset(self, key: jax.Array, params: DoorKeyParams):
        """Draws a new layout, agent cell and facing, as MiniGrid's ``_gen_grid``."""
        del params  # the layout distribution depends on size only
        s = self.size
        k_split, k_agent, k_dir, k_door, k_key = jax.random.split(key, 5)
        split = jax.random.randint(k_split, (), 2, s - 2, jnp.int32)
        width = split - 1  # interior columns 1 .. split - 1
        n_cells = width * (s - 2)
        agent = jax.random.randint(k_agent, (), 0, n_cells, jnp.int32)
        key_idx = jax.random.randint(k_key, (), 0, n_cells - 1, jnp.int32)
        key_idx = key_idx + (key_idx >= agent)  # uniform over the other cells
        to_rc = lambda i: jnp.stack([1 + i // width, 1 + i % width]).astype(jnp.int32)  # noqa: E731
        state = DoorKeyState(
            pos=to_rc(agent),
            dir=jax.random.randint(k_dir, (), 0, 4, jnp.int32),
            split=split,
            door_row=jax.random.randint(k_door, (), 1, s - 2, jnp.int32),
            key_pos=to_rc(key_idx),
            has_key=jnp.zeros((), bool),
            door_open=jnp.zeros((), bool),
            door_locked=jnp.ones((), bool),
            t=jnp.zeros((), jnp.int32),
        )
        return self.observe(state), state

    def _cells(self, state: DoorKeyState, r: jax.Array, c: jax.Array):
        """Object masks at cells ``(r, c)`` (any shape); outside the grid is wall."""
        s = self.size
        outside = (r <= 0) | (r >= s - 1) | (c <= 0) | (c >= s - 1)
        on_split = c == state.split
        door = on_split & (r == state.door_row) & ~outside
        wall = outside | (on_split & ~door)
        goal = (r == s - 2) & (c == s - 2) & ~outside
        key = (r == state.key_pos[0]) & (c == state.key_pos[1]) & ~state.has_key
        key = key & ~wall & ~door
        return wall, door, goal, key

    def step(
        self, key: jax.Array, state: DoorKeyState, action: Any, params: DoorKeyParams
    ):
        """One MiniGrid step (or a cardinal move); see the class docstring."""
        del key  # deterministic dynamics
        a = jnp.asarray(action, jnp.int32)
        if self.action_mode == "cardinal":
            move = a < 4
            direction = jnp.where(
                move, jnp.asarray(_CARDINAL_DIR)[jnp.clip(a, 0, 3)], state.dir
            )
            # Cardinal 4 = pickup, 5 = toggle; moves act as MiniGrid's forward.
            a_mg = jnp.where(move, 2, jnp.where(a == 4, 3, 5))
            turn_left = turn_right = jnp.zeros((), bool)
        else:
            direction = state.dir
            a_mg = a
            turn_left, turn_right = a == 0, a == 1
        t = state.t + 1
        fr = state.pos[0] + jnp.asarray(_DIR_ROW)[direction]
        fc = state.pos[1] + jnp.asarray(_DIR_COL)[direction]
        wall, door, goal, key_here = self._cells(state, fr, fc)
        empty = ~(wall | door | goal | key_here)
        passable = empty | goal | (door & state.door_open)
        forward, pickup, drop, toggle = a_mg == 2, a_mg == 3, a_mg == 4, a_mg == 5

        moved = forward & passable
        pos = jnp.where(moved, jnp.stack([fr, fc]), state.pos).astype(jnp.int32)
        terminated = forward & goal
        picked = pickup & key_here & ~state.has_key
        dropped = drop & empty & state.has_key
        has_key = (state.has_key | picked) & ~dropped
        key_pos = jnp.where(dropped, jnp.stack([fr, fc]), state.key_pos).astype(
            jnp.int32
        )
        unlock = toggle & door & state.door_locked & state.has_key
        flip = toggle & door & ~state.door_locked
        door_open = jnp.where(
            unlock, True, jnp.where(flip, ~state.door_open, state.door_open)
        )
        door_locked = state.door_locked & ~unlock
        new_dir = jnp.where(
            turn_left,
            (direction + 3) % 4,
            jnp.where(turn_right, (direction + 1) % 4, direction),
        ).astype(jnp.int32)
        new = DoorKeyState(
            pos=pos,
            dir=new_dir,
            split=state.split,
            door_row=state.door_row,
            key_pos=key_pos,
            has_key=has_key,
            door_open=door_open,
            door_locked=door_locked,
            t=t,
        )
        success = (
            1.0 - 0.9 * t.astype(jnp.float32) / params.max_steps.astype(jnp.float32)
            if self.decay_reward
            else jnp.ones((), jnp.float32)
        )
        reward = jnp.where(terminated, success, 0.0).astype(jnp.float32)
        truncated = (t >= params.max_steps) & ~terminated
        return self.observe(new), new, reward, terminated, truncated, {}

    # -- observations ---------------------------------------------------------------

    def observe(self, state: DoorKeyState) -> jax.Array:
        """The observation of ``state`` in the chosen ``obs`` kind."""
        if self.obs_kind == "image":
            return self.image(state)
        return self.planes(state)

    def planes(self, state: DoorKeyState) -> jax.Array:
        """``[size, size, 9]`` float32 planes (see the class docstring)."""
        s = self.size
        r, c = jnp.meshgrid(jnp.arange(s), jnp.arange(s), indexing="ij")
        wall, door, goal, key = self._cells(state, r, c)
        agent = (r == state.pos[0]) & (c == state.pos[1])
        front = (r == state.pos[0] + jnp.asarray(_DIR_ROW)[state.dir]) & (
            c == state.pos[1] + jnp.asarray(_DIR_COL)[state.dir]
        )
        planes = [
            wall,
            agent,
            goal,
            key,
            door & state.door_locked,
            door & ~state.door_locked & ~state.door_open,
            door & state.door_open,
            front,
            jnp.broadcast_to(state.has_key, (s, s)),
        ]
        return jnp.stack(planes, -1).astype(jnp.float32)

    def image(self, state: DoorKeyState) -> jax.Array:
        """MiniGrid's egocentric ``[7, 7, 3]`` uint8 view, indexed ``[x, y]``.

        View cell ``(x, y)`` lies ``6 − y`` cells ahead and ``x − 3`` cells to the
        right of the agent, who sits at ``(3, 6)`` facing up (MiniGrid's rotated
        slice). Visibility follows MiniGrid's ``Grid.process_vis``.
        """
        x = jnp.arange(_VIEW)[:, None]
        y = jnp.arange(_VIEW)[None, :]
        ahead, right = _VIEW - 1 - y, x - _VIEW // 2
        d, rd = state.dir, (state.dir + 1) % 4
        dr, dc = jnp.asarray(_DIR_ROW), jnp.asarray(_DIR_COL)
        r = state.pos[0] + ahead * dr[d] + right * dr[rd]
        c = state.pos[1] + ahead * dc[d] + right * dc[rd]
        wall, door, goal, key = self._cells(state, r, c)
        door_state = jnp.where(
            state.door_open, _OPEN, jnp.where(state.door_locked, _LOCKED, _CLOSED)
        )
        obj = jnp.where(
            wall,
            _WALL,
            jnp.where(
                door, _DOOR, jnp.where(goal, _GOAL, jnp.where(key, _KEY, _EMPTY))
            ),
        )
        colour = jnp.where(
            wall, _GREY, jnp.where(door | key, _YELLOW, jnp.where(goal, _GREEN, 0))
        )
        status = jnp.where(door, door_state, 0)
        opaque = wall | (door & ~state.door_open)
        visible = _visibility(~opaque)
        # The agent's own cell shows what it carries (MiniGrid's gen_obs_grid).
        me = (x == _VIEW // 2) & (y == _VIEW - 1)
        obj = jnp.where(me, jnp.where(state.has_key, _KEY, _EMPTY), obj)
        colour = jnp.where(me, jnp.where(state.has_key, _YELLOW, 0), colour)
        status = jnp.where(me, 0, status)
        img = jnp.stack([obj, colour, status], -1)
        return jnp.where(visible[..., None], img, 0).astype(jnp.uint8)

    def labels(self, state: DoorKeyState, params: Any = None) -> jax.Array:
        """uint32 label: bit 0 carrying the key, bit 1 door open, bit 2 on the goal.

        Example:
          >>> env = DoorKey(size=5)
          >>> _, state = env.reset(jax.random.key(0), env.default_params())
          >>> int(env.labels(state._replace(has_key=jnp.array(True))))
          1
        """
        del params
        s = self.size
        on_goal = (state.pos[0] == s - 2) & (state.pos[1] == s - 2)
        bits = (
            state.has_key.astype(jnp.uint32)
            | (state.door_open.astype(jnp.uint32) << 1)
            | (on_goal.astype(jnp.uint32) << 2)
        )
        return bits.astype(jnp.uint32)

    def __repr__(self) -> str:
        return (
            f"DoorKey(size={self.size}, obs={self.obs_kind!r}, "
            f"actions={self.action_mode!r})"
        )


def _visibility(transparent: jax.Array) -> jax.Array:
    """MiniGrid's ``Grid.process_vis`` on a ``[7, 7]`` (x, y) transparency map.

    Rows are processed from the agent's (y = 6) upwards, as MiniGrid does. Within a
    row, MiniGrid's left-to-right pass gives ``m1[i] = OR_{k<=i} m0[k] & all(t[k:i])``
    and its right-to-left pass ``m2[i] = OR_{k>=i} m1[k] & all(t[i+1:k+1])``;
    both are evaluated at once with counts of opaque cells. Each lit transparent
    cell also lights its upper neighbours, which seed the next row.
    """
    n = _VIEW
    idx = jnp.arange(n)
    lower = idx[:, None] <= idx[None, :]  # [k, i]: k <= i

    def row(seed, t):
        c = jnp.concatenate([jnp.zeros((1,), jnp.int32), jnp.cumsum(~t)])
        m1 = jnp.any(seed[:, None] & lower & (c[None, :n] == c[:n, None]), axis=0)
        m2 = jnp.any(m1[:, None] & lower.T & (c[1:, None] == c[None, 1:]), axis=0)
        go1 = m1 & t & (idx < n - 1)  # left-to-right pass: i in [0, n - 2]
        go2 = m2 & t & (idx > 0)  # right-to-left pass: i in [1, n - 1]
        up = go1 | go2 | jnp.roll(go1, 1) | jnp.roll(go2, -1)
        return up, m2

    agent = idx == n // 2
    _, rows = jax.lax.scan(row, agent, transparent.T[::-1], unroll=True)
    return rows[::-1].T  # back to [x, y]
