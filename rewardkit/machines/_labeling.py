"""Labeling functions: the functional protocol, label filters and MiniGrid labels.

A labeling function ``L : S × A × S → 2^P`` (Toro Icarte et al., JAIR 2022) is, on
the functional path, ``label_fn(state, action, next_state, params) -> uint32`` in the
env's bit order (bit i ⇔ ``env.propositions[i]``). On the Gymnasium path a labeler
is ``labeler(env, obs, action, next_obs, info) -> frozenset[str]`` with a
``propositions`` attribute giving the names it may return.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

import gymnasium as gym
import numpy as np

from rewardkit.core import ConfigError, Environment

__all__ = [
    "LabelFilter",
    "LabelFn",
    "MiniGridLabeler",
    "default_label_fn",
    "labels_to_mask",
]


class LabelFn(Protocol):
    """A functional labeling function, pure JAX.

    ``(state, action, next_state, params) -> uint32``: the propositions true on the
    transition, as a bitmask in the env's bit order (bit i ⇔
    ``env.propositions[i]``).
    """

    def __call__(self, state: Any, action: Any, next_state: Any, params: Any) -> Any:
        """The label of the transition ``(state, action, next_state)``."""
        ...


def default_label_fn(env: Environment) -> LabelFn:
    """The default labeling function ``L(s, a, s') = env.labels(s', params)``.

    The reference gridworlds label the cell reached (``L(s')``).

    Raises:
      ConfigError: if the env has no ``labels`` method or no propositions.

    Example:
      >>> import jax
      >>> from rewardkit.envs import GridWorld
      >>> env = GridWorld("Sa")
      >>> _, s = env.reset(jax.random.key(0), env.default_params())
      >>> _, s2, *_ = env.step(jax.random.key(1), s, 1, env.default_params())
      >>> int(default_label_fn(env)(s, 1, s2, None))
      1
    """
    labels = getattr(env, "labels", None)
    if not callable(labels) or not tuple(getattr(env, "propositions", ())):
        raise ConfigError(
            f"`label_fn` is required: {env!r} has no `labels(state, params)` method "
            "or no `propositions`."
        )

    def label_fn(state: Any, action: Any, next_state: Any, params: Any) -> Any:
        del state, action  # the reference grids label the state reached
        return labels(next_state, params)

    return label_fn


class LabelFilter(NamedTuple):
    """Which labels reach the machine (FBenvs ``ignore_empty_obs``/``compress_obs``).

    Off by default. With ``ignore_empty`` an empty label leaves the machine where
    it is (reward 0); with ``ignore_repeats`` a label equal to the previous step's
    label does too, so ``a, a`` acts like ``a``. Record the filter in experiment
    configs: it changes the task.

    Example:
      >>> LabelFilter(ignore_repeats=True)
      LabelFilter(ignore_empty=False, ignore_repeats=True)
    """

    ignore_empty: bool = False
    ignore_repeats: bool = False

    def passes(self, label: Any, previous: Any) -> Any:
        """Whether ``label`` reaches the machine (array API, bool)."""
        keep = label == label  # True of the label's shape and namespace
        if self.ignore_empty:
            keep = keep & (label != 0)
        if self.ignore_repeats:
            keep = keep & (label != previous)
        return keep


def labels_to_mask(labels: Iterable[str], propositions: Sequence[str]) -> np.uint32:
    """A set of proposition names as a uint32 mask in ``propositions``' bit order.

    Names outside ``propositions`` are ignored (a labeler may report more than a
    machine uses).

    Example:
      >>> int(labels_to_mask({"b", "z"}, ("a", "b")))
      2
    """
    mask = 0
    for i, p in enumerate(propositions):
        if p in labels:
            mask |= 1 << i
    return np.uint32(mask)


_EMPTY: frozenset[str] = frozenset()


class MiniGridLabeler:
    """Propositions of a MiniGrid env, read from ``env.unwrapped`` after each step.

    Names (only those listed in ``props`` are returned): ``on_<type>`` (the object
    at the agent's cell: ``on_goal``, ``on_lava``), ``front_<type>_<color>`` (the
    object in front), ``carry_<type>_<color>`` (the carried object) and
    ``open_door_<color>`` (some door of that colour is open).

    Args:
      props: the proposition names the machine uses (its bit order).

    Example:
      >>> import gymnasium as gym, minigrid
      >>> env = gym.make("MiniGrid-Empty-5x5-v0")
      >>> _ = env.reset(seed=0)
      >>> env.unwrapped.agent_dir = 3  # face up, towards the outer wall
      >>> lab = MiniGridLabeler(("on_goal", "front_wall_grey"))
      >>> sorted(lab(env, None, 2, None, {}))
      ['front_wall_grey']
    """

    def __init__(self, props: Sequence[str]):
        props = tuple(props)
        if not props or not all(isinstance(p, str) and p.isidentifier() for p in props):
            raise ConfigError(
                f"`props` must be a non-empty sequence of identifiers; got {props!r}."
            )
        self.propositions = props
        self._doors = frozenset(
            p[len("open_door_") :] for p in props if p.startswith("open_door_")
        )
        self._on = any(p.startswith("on_") for p in props)
        self._front = any(p.startswith("front_") for p in props)
        self._carry = any(p.startswith("carry_") for p in props)
        self._wanted = frozenset(props)
        self._grid: Any = None
        self._door_objs: list[Any] = []
        self._env: Any = None
        self._base: Any = None

    def __call__(
        self, env: gym.Env, obs: Any, action: Any, next_obs: Any, info: Any
    ) -> frozenset[str]:
        """The propositions true after the step."""
        del obs, action, next_obs, info  # read from the env's state
        if env is not self._env:  # the unwrapped env never changes: look it up once
            self._env, self._base = env, env.unwrapped
        base = self._base
        grid = base.grid
        wanted = self._wanted
        out = []
        if self._on:
            x, y = base.agent_pos
            here = grid.grid[y * grid.width + x]
            if here is not None and "on_" + here.type in wanted:
                out.append("on_" + here.type)
        if self._front:
            fx, fy = base.front_pos
            if 0 <= fx < grid.width and 0 <= fy < grid.height:
                front = grid.grid[fy * grid.width + fx]
                if front is not None:
                    out.append(f"front_{front.type}_{front.color}")
        if self._carry:
            carrying = base.carrying
            if carrying is not None:
                out.append(f"carry_{carrying.type}_{carrying.color}")
        if self._doors:
            if grid is not self._grid:  # a new layout (reset): find its doors once
                self._grid = grid
                self._door_objs = [
                    o
                    for o in grid.grid
                    if o is not None and o.type == "door" and o.color in self._doors
                ]
            for o in self._door_objs:
                if o.is_open:
                    out.append("open_door_" + o.color)
        return wanted.intersection(out) if out else _EMPTY

    def __repr__(self) -> str:
        return f"MiniGridLabeler({self.propositions!r})"
