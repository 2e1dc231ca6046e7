"""Potential catalogue: tables, grid distances, optimal values, subgoals, advice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rewardkit.core import (
    ConfigError,
    array_namespace,
    check_callable,
    check_choice,
    check_gamma,
    check_positive,
    find_state,
    value_iteration,
)
from rewardkit.envs import GridState, GridWorld, RandomMDP, RandomMDPState
from rewardkit.shaping._potential import PotentialFn

__all__ = [
    "advice_from_policy",
    "advice_table",
    "from_table",
    "grid_index",
    "neg_distance",
    "optimal_value",
    "subgoals",
    "tabulate",
]


def grid_index(state: Any) -> Any:
    """The GridWorld cell index ``row * W + col``, found at any stack depth.

    Example:
      >>> import numpy as np
      >>> from rewardkit.envs import GridState
      >>> int(grid_index(GridState(np.int32(4), np.int32(0))))
      4
    """
    return find_state(state, GridState).pos


def _mdp_index(state: Any) -> Any:
    return find_state(state, RandomMDPState).state


def _default_index_fn(env: Any) -> Callable[[Any], Any]:
    base = env.unwrapped
    if isinstance(base, GridWorld):
        return grid_index
    if isinstance(base, RandomMDP):
        return _mdp_index
    raise ConfigError(
        f"`index_fn` is required for {type(base).__name__}: pass a function mapping "
        "the env state to its tabular index."
    )


def _lookup(values: np.ndarray, index_fn: Callable[[Any], Any]) -> Callable[..., Any]:
    def phi(state: Any, params: Any = None) -> Any:
        del params  # the table is fixed at construction
        idx = index_fn(state)
        xp = array_namespace(idx)
        return xp.asarray(values)[idx]

    return phi


def _float_table(name: str, values: Any, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except Exception:
        arr = None
    if (
        arr is None
        or arr.dtype == object
        or not (
            np.issubdtype(arr.dtype, np.floating)
            or np.issubdtype(arr.dtype, np.integer)
        )
    ):
        raise TypeError(
            f"`{name}` must be a numeric array; got {type(values).__name__}."
        )
    if arr.ndim != ndim or arr.size == 0:
        want = "[S]" if ndim == 1 else "[S, A]"
        raise ConfigError(f"`{name}` must have shape {want}; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(
            f"`{name}` must be finite; it has {np.sum(~np.isfinite(arr))} "
            "non-finite entries."
        )
    return arr.astype(np.float32)


def from_table(
    values: Any, index_fn: Callable[[Any], Any], *, name: str | None = None
) -> PotentialFn:
    """``Φ(s) = values[index_fn(state)]``: a potential from a table over state indices.

    E.g. a V table from planning or from an earlier agent. The lookup is written
    against the array API, so it runs on NumPy states on the host and under ``jit``.

    Args:
      values: ``[S]`` numbers (stored as float32).
      index_fn: ``(state) -> int32[]`` index into ``values``.
      name: optional description for ``repr``.

    Raises:
      ConfigError: if ``values`` is not a finite ``[S]`` array.
      TypeError: if ``values`` is not numeric or ``index_fn`` not callable.

    Example:
      >>> import numpy as np
      >>> phi = from_table([0.0, -1.0, -2.0], lambda s: s)
      >>> float(phi(np.int32(2), None))
      -2.0
    """
    table = _float_table("values", values, 1)
    check_callable("index_fn", index_fn)
    return PotentialFn(
        _lookup(table, index_fn), name=name or f"from_table[{len(table)}]"
    )


def neg_distance(
    env: Any,
    *,
    kind: str = "bfs",
    scale: float = 1.0,
    targets: Any = None,
) -> PotentialFn:
    """``Φ(s) = −d(s, goals) / scale`` on a :class:`rewardkit.envs.GridWorld`.

    ``kind="bfs"``: shortest-path length respecting walls and edge walls (exact in
    deterministic grids); unreachable cells get ``−H·W / scale``. ``"manhattan"``:
    ``‖pos − goal‖₁`` to the nearest goal, misleading behind walls (Ng et al. 1999
    divide it by the move-success probability). The table is built at construction.

    Args:
      env: a GridWorld, or a functional wrapper stack around one.
      kind: ``"bfs"`` or ``"manhattan"``.
      scale: positive divisor c.
      targets: optional bool ``[H, W]`` mask or cell indices; the goals if None.

    Raises:
      ConfigError: for an env that is not a GridWorld, a bad ``kind`` or ``scale``.

    Example:
      >>> from rewardkit.envs import GridWorld, GridState
      >>> import numpy as np
      >>> grid = GridWorld("S.G")
      >>> phi = neg_distance(grid, scale=2.0)
      >>> float(phi(GridState(np.int32(0), np.int32(0)), None))
      -1.0
    """
    base = getattr(env, "unwrapped", env)
    if not isinstance(base, GridWorld):
        raise ConfigError(
            f"`env` must be a rewardkit GridWorld (or wrap one); got {type(base).__name__}."
            " Use rk.shaping.minigrid.bfs_to_goal for MiniGrid envs."
        )
    check_choice("kind", kind, ("bfs", "manhattan"))
    scale = check_positive("scale", scale)
    if kind == "bfs":
        dist = base.bfs_distances(targets).astype(np.float64)
    else:
        mask = base.goals if targets is None else np.asarray(targets)
        cells = (
            np.flatnonzero(mask.ravel())
            if mask.dtype == bool
            else mask.ravel().astype(int)
        )
        if len(cells) == 0:
            raise ConfigError("`targets` is empty (the layout has no goal 'G').")
        rows, cols = np.divmod(np.arange(base.num_cells), base.width)
        gr, gc = np.divmod(cells, base.width)
        dist = np.min(
            np.abs(rows[:, None] - gr[None]) + np.abs(cols[:, None] - gc[None]), axis=1
        ).astype(np.float64)
    table = (0.0 - dist / scale).astype(np.float32)  # 0.0, not -0.0, at the goal
    return PotentialFn(_lookup(table, grid_index), name=f"neg_distance({kind!r})")


def optimal_value(
    env: Any,
    params: Any = None,
    gamma: float = 0.99,
    *,
    index_fn: Callable[[Any], Any] | None = None,
    tol: float = 1e-7,
) -> PotentialFn:
    """``Φ = V*``, by the core ``value_iteration`` on ``env.tabular_model(params)``.

    The best potential: the shaped optimal Q becomes the advantage ``Q* − V*``
    (a test oracle). With a unit goal reward in a deterministic grid,
    ``V*(s) = γ^{d(s)−1}``.

    Args:
      env: an env with ``tabular_model(params)`` (GridWorld, RandomMDP, ...).
      params: its parameters; ``env.default_params()`` if None.
      gamma: the learner's discount in [0, 1).
      index_fn: ``(state) -> int32[]``; inferred for GridWorld and RandomMDP.
      tol: value-iteration stopping threshold.

    Raises:
      ConfigError: for ``gamma`` outside [0, 1) or an env without a model.

    Example:
      >>> from rewardkit.envs import GridWorld
      >>> grid = GridWorld("S.G")
      >>> phi = optimal_value(grid, gamma=0.9)
      >>> [round(float(phi(s, None)), 4) for s in grid_states(grid)]
      [0.9, 1.0, 0.0]
    """
    check_gamma("gamma", gamma, allow_one=False)
    if not hasattr(env, "tabular_model"):
        raise ConfigError(
            f"`env` must provide tabular_model(params); {type(env).__name__} does not."
        )
    params = env.default_params() if params is None else params
    index_fn = _default_index_fn(env) if index_fn is None else index_fn
    model = env.tabular_model(params)
    values = np.asarray(value_iteration(model, gamma, tol=tol), np.float32)
    return PotentialFn(_lookup(values, index_fn), name=f"optimal_value(gamma={gamma})")


def grid_states(env: GridWorld) -> list[GridState]:
    """Every GridWorld state at t = 0, in cell order (for tables and tests).

    Example:
      >>> from rewardkit.envs import GridWorld
      >>> len(grid_states(GridWorld("S.G")))
      3
    """
    return [GridState(np.int32(c), np.int32(0)) for c in range(env.unwrapped.num_cells)]


def tabulate(potential: Any, env: Any, params: Any = None) -> np.ndarray:
    """A GridWorld state potential as an ``[H·W]`` float32 NumPy table (t = 0).

    For tabular uses: the Wiewiora twin's ``Q0(s, a) = Φ(s)``, ``shape_tabular``
    oracles, plots. Evaluated on the host state by state (NumPy), so it needs no
    compilation.

    Args:
      potential: a state potential ``(state, params) -> float32[]``.
      env: a GridWorld (or a functional stack around one).
      params: passed to the potential; ``env.default_params()`` if None.

    Raises:
      ConfigError: for an env that is not a GridWorld.

    Example:
      >>> from rewardkit.envs import GridWorld
      >>> grid = GridWorld("S.G")
      >>> tabulate(neg_distance(grid), grid).tolist()
      [-2.0, -1.0, 0.0]
    """
    base = getattr(env, "unwrapped", env)
    if not isinstance(base, GridWorld):
        raise ConfigError(f"`env` must be a GridWorld; got {type(base).__name__}.")
    params = env.default_params() if params is None else params
    return np.asarray(
        [float(potential(s, params)) for s in grid_states(base)], np.float32
    )


def subgoals(
    weights: Sequence[float], predicates: Sequence[Callable[[Any, Any], Any]]
) -> PotentialFn:
    """``Φ(s) = Σ_i w_i · 1[pred_i(state, params)]`` (Ng et al. 1999's flag domain).

    Args:
      weights: one weight per predicate.
      predicates: ``(state, params) -> bool[]`` functions (array API or JAX).

    Raises:
      ConfigError: for mismatched lengths or no predicates.
      TypeError: for a non-callable predicate.

    Example:
      >>> phi = subgoals([1.0, 2.0], [lambda s, p: s > 0, lambda s, p: s > 5])
      >>> float(phi(3, None)), float(phi(7, None))
      (1.0, 3.0)
    """
    ws = [float(w) for w in weights]
    preds = list(predicates)
    if not preds or len(ws) != len(preds):
        raise ConfigError(
            "`weights` and `predicates` must be non-empty and of equal length; got "
            f"{len(ws)} and {len(preds)}."
        )
    for p in preds:
        check_callable("predicates", p)
    w32 = [np.float32(w) for w in ws]

    def phi(state: Any, params: Any) -> Any:
        total = np.float32(0.0)
        for w, p in zip(w32, preds, strict=True):
            total = total + w * p(state, params)
        return total

    return PotentialFn(phi, name=f"subgoals({len(preds)})")


def advice_table(
    table: Any, index_fn: Callable[[Any], Any], *, action_space: Any = None
) -> PotentialFn:
    """State–action advice ``Φ(s, ·) = table[index_fn(state)]`` (``float32[|A|]``).

    Args:
      table: ``[S, A]`` numbers.
      index_fn: ``(state) -> int32[]``.
      action_space: optional; checked to be ``Discrete(A)``.

    Raises:
      ConfigError: for a table that is not a finite ``[S, A]`` array.
      TypeError: for a non-Discrete ``action_space`` or a mismatched ``A``.

    Example:
      >>> import numpy as np
      >>> phi = advice_table([[0.0, 1.0], [2.0, 3.0]], lambda s: s)
      >>> phi(np.int32(1), None).tolist(), phi.advice
      ([2.0, 3.0], True)
    """
    arr = _float_table("table", table, 2)
    check_callable("index_fn", index_fn)
    if action_space is not None:
        check_discrete(action_space, arr.shape[1])
    return PotentialFn(_lookup(arr, index_fn), advice=True, name="advice_table")


def advice_from_policy(
    policy: Any,
    weight: float,
    index_fn: Callable[[Any], Any],
    *,
    num_actions: int | None = None,
    action_space: Any = None,
) -> PotentialFn:
    """Advice ``Φ(s, a) = w · 1[a = π(s)]`` from a deterministic policy table.

    Args:
      policy: ``[S]`` int action per state.
      weight: w.
      index_fn: ``(state) -> int32[]``.
      num_actions: |A|; taken from ``action_space`` if None.
      action_space: optional ``Discrete`` space.

    Raises:
      TypeError: for a non-Discrete ``action_space``.
      ConfigError: for actions outside ``[0, |A|)`` or no action count.

    Example:
      >>> import numpy as np
      >>> phi = advice_from_policy([1, 0], 0.5, lambda s: s, num_actions=2)
      >>> phi(np.int32(0), None).tolist()
      [0.0, 0.5]
    """
    pi = np.asarray(policy)
    if pi.ndim != 1 or not np.issubdtype(pi.dtype, np.integer):
        raise ConfigError(
            f"`policy` must be an [S] integer array; got {pi.dtype}{pi.shape}."
        )
    if action_space is not None:
        num_actions = check_discrete(action_space)
    if num_actions is None:
        raise ConfigError("`advice_from_policy` needs `num_actions` or `action_space`.")
    if np.any((pi < 0) | (pi >= num_actions)):
        raise ConfigError(f"`policy` actions must lie in [0, {num_actions}); got {pi}.")
    table = float(weight) * np.eye(num_actions, dtype=np.float32)[pi]
    return advice_table(table, index_fn)


def check_discrete(action_space: Any, n: int | None = None) -> int:
    """Checks that advice meets a ``Discrete`` action space (of ``n`` actions).

    Raises:
      TypeError: naming the space received.

    Example:
      >>> import gymnasium as gym
      >>> check_discrete(gym.spaces.Discrete(3))
      3
    """
    import gymnasium as gym

    if not isinstance(action_space, gym.spaces.Discrete):
        raise TypeError(
            f"state-action advice needs a Discrete action space; got {action_space!r}."
        )
    if n is not None and int(action_space.n) != n:
        raise TypeError(
            f"advice has {n} actions but the action space is {action_space!r}."
        )
    return int(action_space.n)
