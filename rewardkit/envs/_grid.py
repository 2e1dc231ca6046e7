"""A gridworld built from an ASCII layout, as a functional JAX environment."""

from __future__ import annotations

import string
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from rewardkit.core import (
    ConfigError,
    Environment,
    TabularModel,
    check_choice,
    check_in_range,
    check_positive_int,
)
from rewardkit.envs._layout import parse_layout

__all__ = ["ACTIONS", "GridParams", "GridState", "GridWorld"]

#: Action order of the reference reward-machine grids: up, right, down, left.
ACTIONS = ("up", "right", "down", "left")
_DR = np.array([-1, 0, 1, 0], np.int32)
_DC = np.array([0, 1, 0, -1], np.int32)
_LEGEND = "#X. SAGP~" + string.ascii_lowercase


class GridState(NamedTuple):
    """State of :class:`GridWorld`.

    Attributes:
      pos: ``[]`` int32, the agent's cell index ``row * W + col``.
      t: ``[]`` int32, steps taken in this episode.
    """

    pos: jax.Array
    t: jax.Array


class GridParams(NamedTuple):
    """Parameters of :class:`GridWorld` (vmappable leaves).

    Attributes:
      goal_reward: ``[]`` float32, paid on entering a goal ``G``.
      hazard_reward: ``[]`` float32, paid on entering a hazard ``P``.
      step_reward: ``[]`` float32, paid on every other step.
      slip_prob: ``[]`` float32, probability that a move slips everywhere.
      tile_slip_prob: ``[]`` float32, probability that a move from ``~`` slips.
      max_steps: ``[]`` int32, the time limit (truncation).
    """

    goal_reward: jax.Array
    hazard_reward: jax.Array
    step_reward: jax.Array
    slip_prob: jax.Array
    tile_slip_prob: jax.Array
    max_steps: jax.Array


class GridWorld(Environment):
    r"""A gridworld from an ASCII layout: walls, start, goals, hazards, slippery cells.

    Legend: ``#``/``X`` wall; ``.`` or space empty; ``S``/``A`` start (exactly
    one); ``G`` goal (terminates, paying ``goal_reward``); ``P`` hazard (terminates,
    paying ``hazard_reward``); ``~`` slippery; lowercase letters are propositions,
    named by the letter or through ``propositions={"f": "coffee", ...}``.
    Coordinates are (row, col) from the top-left; cell index ``row * W + col``.

    Actions ``Discrete(4)``: up, right, down, left. Moves into walls, off the grid or
    across an edge wall (``blocked``) stay put. A move slips with probability
    ``slip_prob`` (``tile_slip_prob`` from ``~`` cells): it then goes in one of the
    three other directions, uniformly (Ng et al. 1999: intended move with
    probability 0.8). Slip draws are made only when the env was built stochastic
    (``stochastic=None`` infers it from a positive slip probability or a ``~``
    cell), so deterministic grids pay no random numbers per step.

    Propositions: ``env.propositions`` lists their names in the alphabetical order
    of their letters; bit i of ``labels(state, params)`` (a uint32) is
    ``propositions[i]``, the label of the cell the agent occupies after the move.

    Observations (``obs``): ``"index"`` (int32 cell index), ``"coords"`` (int32
    ``[row, col]``), ``"onehot"`` (float32 ``[H*W]``) or ``"planes"`` (float32
    ``[H, W, C]``: walls, agent, goal, hazards if any, one plane per proposition).

    Exact helpers on the host: :meth:`tabular_model`, :meth:`bfs_distances`, and the
    ``next_cell`` ``[S, 4]`` / ``cell_label`` ``[S]`` arrays.

    Args:
      layout: the ASCII layout (string or rows).
      propositions: optional names for proposition letters.
      blocked: edge walls, an iterable of ``(row, col, action)``: that move from that
        cell is forbidden (one direction; list both for a two-sided wall).
      obs: the observation kind.
      goal_reward: reward on entering ``G``.
      hazard_reward: reward on entering ``P``.
      step_reward: reward on every other step.
      slip_prob: global slip probability.
      tile_slip_prob: slip probability on ``~`` cells.
      max_steps: the time limit (truncation, not termination).
      terminate_on_goal: whether entering ``G`` ends the episode.
      stochastic: force the slip draws on (True) or off (False); None infers.

    Example:
      >>> env = GridWorld('''
      ...     #####
      ...     #S.G#
      ...     #####''')
      >>> params = env.default_params()
      >>> obs, state = env.reset(jax.random.key(0), params)
      >>> int(obs)
      6
      >>> obs, state, r, term, trunc, info = env.step(jax.random.key(1), state, 1, params)
      >>> obs, state, r, term, trunc, info = env.step(jax.random.key(2), state, 1, params)
      >>> int(obs), float(r), bool(term)
      (8, 1.0, True)
    """

    def __init__(
        self,
        layout: str | Sequence[str],
        *,
        propositions: Mapping[str, str] | None = None,
        blocked: Iterable[tuple[int, int, int]] = (),
        obs: str = "index",
        goal_reward: float = 1.0,
        hazard_reward: float = -1.0,
        step_reward: float = 0.0,
        slip_prob: float = 0.0,
        tile_slip_prob: float = 0.2,
        max_steps: int = 100,
        terminate_on_goal: bool = True,
        stochastic: bool | None = None,
    ):
        grid = parse_layout(layout, _LEGEND)
        self.layout = "\n".join("".join(r) for r in grid)
        self.height, self.width = grid.shape
        h, w = grid.shape
        self.obs_kind = check_choice(
            "obs", obs, ("index", "coords", "onehot", "planes")
        )
        self._defaults = dict(
            goal_reward=float(goal_reward),
            hazard_reward=float(hazard_reward),
            step_reward=float(step_reward),
            slip_prob=check_in_range("slip_prob", slip_prob, 0.0, 1.0),
            tile_slip_prob=check_in_range("tile_slip_prob", tile_slip_prob, 0.0, 1.0),
            max_steps=check_positive_int("max_steps", max_steps),
        )
        self.terminate_on_goal = bool(terminate_on_goal)

        self.walls = np.isin(grid, ["#", "X"])
        starts = np.argwhere(np.isin(grid, ["S", "A"]))
        if len(starts) != 1:
            raise ConfigError(
                f"`layout` must have exactly one start cell ('S' or 'A'); got {len(starts)}."
            )
        self.start = (int(starts[0][0]), int(starts[0][1]))
        self.goals = grid == "G"
        self.hazards = grid == "P"
        self.slippery = grid == "~"

        letters = sorted({c for c in grid.ravel() if c in string.ascii_lowercase})
        legend = dict(propositions or {})
        for letter, name in legend.items():
            if not (isinstance(letter, str) and len(letter) == 1 and letter.islower()):
                raise ConfigError(
                    f"`propositions` keys must be lowercase letters; got {letter!r}."
                )
            if not (isinstance(name, str) and name):
                raise ConfigError(
                    f"`propositions` values must be non-empty names; got {name!r} "
                    f"for {letter!r}."
                )
        letters = sorted(set(letters) | set(legend))
        if len(letters) > 32:
            raise ConfigError(
                f"at most 32 propositions; the layout has {len(letters)}."
            )
        self.proposition_letters = tuple(letters)
        self._propositions = tuple(str(legend.get(c, c)) for c in letters)
        if len(set(self._propositions)) != len(self._propositions):
            raise ConfigError(f"`propositions` names must be unique; got {legend!r}.")
        bit = {c: np.uint32(1 << i) for i, c in enumerate(letters)}
        self.cell_label = np.array(
            [bit.get(c, np.uint32(0)) for c in grid.ravel()], np.uint32
        )

        block = np.zeros((h, w, 4), bool)
        for item in blocked:
            try:
                r, c, a = (int(x) for x in item)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"`blocked` entries must be (row, col, action) triples; got {item!r}."
                ) from None
            if not (0 <= r < h and 0 <= c < w and 0 <= a < 4):
                raise ConfigError(
                    f"`blocked` entry {item!r} lies outside the {h}x{w} grid or the 4 actions."
                )
            block[r, c, a] = True
        self.blocked = block

        rows, cols = np.divmod(np.arange(h * w), w)
        nr = rows[:, None] + _DR[None, :]
        nc = cols[:, None] + _DC[None, :]
        inside = (nr >= 0) & (nr < h) & (nc >= 0) & (nc < w)
        target = np.where(inside, nr.clip(0, h - 1) * w + nc.clip(0, w - 1), 0)
        ok = inside & ~self.walls.ravel()[target] & ~block.reshape(h * w, 4)
        self.next_cell = np.where(ok, target, np.arange(h * w)[:, None]).astype(
            np.int32
        )
        self.is_terminal_cell = self.hazards.ravel() | (
            self.goals.ravel() & self.terminate_on_goal
        )
        self._cell_code = (
            self.goals.ravel() * 1
            + self.hazards.ravel() * 2
            + self.is_terminal_cell * 4
        ).astype(np.int8)
        if stochastic is None:
            stochastic = bool(slip_prob > 0 or self.slippery.any())
        self.stochastic = bool(stochastic)
        self._num_planes = 3 + int(self.hazards.any()) + len(letters)

    # -- protocol -------------------------------------------------------------------

    @property
    def propositions(self) -> tuple[str, ...]:  # type: ignore[override]
        """Proposition names; bit i of every label is ``propositions[i]``."""
        return self._propositions

    @property
    def num_cells(self) -> int:
        """``H * W``."""
        return self.height * self.width

    def default_params(self) -> GridParams:
        """The constructor's reward, slip and time-limit values as float32/int32 leaves."""
        d = self._defaults
        f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
        return GridParams(
            goal_reward=f32(d["goal_reward"]),
            hazard_reward=f32(d["hazard_reward"]),
            step_reward=f32(d["step_reward"]),
            slip_prob=f32(d["slip_prob"]),
            tile_slip_prob=f32(d["tile_slip_prob"]),
            max_steps=jnp.asarray(d["max_steps"], jnp.int32),
        )

    def observation_space(self, params: Any = None) -> gym.Space:
        """The observation space of the chosen ``obs`` kind."""
        h, w = self.height, self.width
        if self.obs_kind == "index":
            return gym.spaces.Discrete(h * w)
        if self.obs_kind == "coords":
            return gym.spaces.Box(0, max(h, w) - 1, (2,), np.int32)
        if self.obs_kind == "onehot":
            return gym.spaces.Box(0.0, 1.0, (h * w,), np.float32)
        return gym.spaces.Box(0.0, 1.0, (h, w, self._num_planes), np.float32)

    def action_space(self, params: Any = None) -> gym.Space:
        """``Discrete(4)``: up, right, down, left."""
        return gym.spaces.Discrete(4)

    def reset(self, key: jax.Array, params: GridParams) -> tuple[jax.Array, GridState]:
        """Places the agent on the start cell."""
        del key, params  # the start is fixed by the layout
        pos = jnp.asarray(self.start[0] * self.width + self.start[1], jnp.int32)
        state = GridState(pos, jnp.zeros((), jnp.int32))
        return self.observe(state), state

    def step(self, key: jax.Array, state: GridState, action: Any, params: GridParams):
        """One move; see the class docstring for the dynamics."""
        action = jnp.asarray(action, jnp.int32)
        if self.stochastic:
            u_slip, u_dir = jax.random.uniform(key, (2,))
            p = jnp.where(
                jnp.asarray(self.slippery.ravel())[state.pos],
                params.tile_slip_prob,
                params.slip_prob,
            )
            other = (action + 1 + jnp.minimum((u_dir * 3).astype(jnp.int32), 2)) % 4
            action = jnp.where(u_slip < p, other, action)
        pos = jnp.asarray(self.next_cell.ravel())[state.pos * 4 + action]
        # One gather of a per-cell code (bit 0 goal, bit 1 hazard, bit 2 terminal)
        # instead of three: the step is a handful of gathers and selects.
        code = jnp.asarray(self._cell_code)[pos]
        reward = jnp.where(
            code & 1,
            params.goal_reward,
            jnp.where(code & 2, params.hazard_reward, params.step_reward),
        ).astype(jnp.float32)
        terminated = (code & 4) > 0
        t = state.t + 1
        truncated = (t >= params.max_steps) & ~terminated
        new = GridState(pos, t)
        return self.observe(new), new, reward, terminated, truncated, {}

    # -- observations and labels -------------------------------------------------------

    def observe(self, state: GridState) -> jax.Array:
        """The observation of a state, in the chosen ``obs`` kind."""
        h, w = self.height, self.width
        if self.obs_kind == "index":
            return state.pos
        if self.obs_kind == "coords":
            return jnp.stack(jnp.divmod(state.pos, w)).astype(jnp.int32)
        onehot = jax.nn.one_hot(state.pos, h * w, dtype=jnp.float32)
        if self.obs_kind == "onehot":
            return onehot
        return jnp.asarray(self._static_planes()).at[:, :, 1].set(onehot.reshape(h, w))

    def _static_planes(self) -> np.ndarray:
        h, w = self.height, self.width
        planes = [self.walls, np.zeros((h, w), bool), self.goals]
        if self.hazards.any():
            planes.append(self.hazards)
        lab = self.cell_label.reshape(h, w)
        planes += [(lab >> i) & 1 == 1 for i in range(len(self.proposition_letters))]
        return np.stack(planes, -1).astype(np.float32)

    def labels(self, state: GridState, params: Any = None) -> jax.Array:
        """``L(s)``: uint32 proposition bits of the agent's cell."""
        del params
        return jnp.asarray(self.cell_label)[state.pos]

    # -- exact helpers (host) -------------------------------------------------------

    def cell(self, row: int, col: int) -> int:
        """The cell index of ``(row, col)``."""
        return row * self.width + col

    def tabular_model(self, params: GridParams | None = None) -> TabularModel:
        """The exact ``TabularModel`` (float32) for ``params``; time limits excluded.

        Goal (when terminating) and hazard cells are absorbing with zero reward.
        Wall cells are unreachable states with a self-loop.

        Example:
          >>> m = GridWorld("S.G").tabular_model()
          >>> m.transitions.shape, m.terminal.tolist()
          ((3, 4, 3), [False, False, True])
        """
        p = self.default_params() if params is None else params
        n = self.num_cells
        slip = np.where(
            self.slippery.ravel(), float(p.tile_slip_prob), float(p.slip_prob)
        )
        if not self.stochastic:
            slip = np.zeros(n)
        t = np.zeros((n, 4, n), np.float64)
        s_idx = np.arange(n)
        for a in range(4):
            t[s_idx, a, self.next_cell[:, a]] += 1.0 - slip
            for k in range(1, 4):
                t[s_idx, a, self.next_cell[:, (a + k) % 4]] += slip / 3.0
        r_next = np.where(
            self.goals.ravel(),
            float(p.goal_reward),
            np.where(
                self.hazards.ravel(), float(p.hazard_reward), float(p.step_reward)
            ),
        )
        reward = np.broadcast_to(r_next[None, None, :], (n, 4, n)).copy()
        term = self.is_terminal_cell
        t[term] = 0.0
        t[term, :, s_idx[term]] = 1.0
        reward[term] = 0.0
        initial = np.zeros(n, np.float32)
        initial[self.cell(*self.start)] = 1.0
        return TabularModel(
            transitions=t.astype(np.float32),
            reward=reward.astype(np.float32),
            terminal=term.copy(),
            labels=self.cell_label.copy(),
            initial=initial,
        )

    def bfs_distances(self, targets: Any = None) -> np.ndarray:
        """Shortest-path lengths (in moves) to the nearest target cell, on the host.

        Moves follow ``next_cell`` (walls and edge walls respected, slips ignored).
        Unreachable cells, walls included, get ``H * W`` (larger than any path).

        Args:
          targets: a bool ``[H, W]`` mask or cell indices; the goals if None.

        Returns:
          ``[H * W]`` int32 distances.

        Example:
          >>> GridWorld("S.G").bfs_distances().tolist()
          [2, 1, 0]
        """
        n = self.num_cells
        if targets is None:
            targets = self.goals
        targets = np.asarray(targets)
        cells = (
            np.flatnonzero(targets.ravel())
            if targets.dtype == bool
            else targets.ravel().astype(int)
        )
        if len(cells) == 0:
            raise ConfigError("`targets` is empty (the layout has no goal 'G').")
        preds: list[list[int]] = [[] for _ in range(n)]
        for s in range(n):
            if self.walls.ravel()[s]:
                continue
            for a in range(4):
                nxt = int(self.next_cell[s, a])
                if nxt != s:
                    preds[nxt].append(s)
        dist = np.full(n, n, np.int32)
        queue = deque()
        for c in cells:
            dist[c] = 0
            queue.append(int(c))
        while queue:
            c = queue.popleft()
            for p in preds[c]:
                if dist[p] > dist[c] + 1:
                    dist[p] = dist[c] + 1
                    queue.append(p)
        return dist

    def render_ascii(self, state: GridState | None = None) -> str:
        """The layout as text, with ``@`` on the agent's cell if a state is given."""
        rows = [list(r) for r in self.layout.split("\n")]
        if state is not None:
            r, c = divmod(int(state.pos), self.width)
            rows[r][c] = "@"
        return "\n".join("".join(r) for r in rows)

    def __repr__(self) -> str:
        return f"GridWorld({self.height}x{self.width}, obs={self.obs_kind!r})"


class _LabelGrid(GridWorld):
    """A deterministic, reward-free GridWorld: its task lives in a reward machine.

    The base of the reward-machine grids (OfficeWorld, CraftWorld,
    HierarchicalCraftWorld); ``kwargs`` go to :class:`GridWorld` (layout
    propositions or blocked edges).
    """

    def __init__(self, layout: str, *, obs: str, max_steps: int, **kwargs: Any):
        super().__init__(
            layout,
            obs=obs,
            goal_reward=0.0,
            hazard_reward=0.0,
            step_reward=0.0,
            max_steps=max_steps,
            stochastic=False,
            **kwargs,
        )
