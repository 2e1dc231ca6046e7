"""Gymnasium registration of rewardkit's JAX environments (``rewardkit/...-v0``).

Entry points are strings, so specs stay JSON-serialisable. The envs truncate
internally (``max_steps``), so they register without ``max_episode_steps``. Each
JAX env also registers a ``vector_entry_point`` (the jitted vector adapter), which
``gym.make_vec`` picks by default and which takes ``autoreset_mode`` as a required
keyword.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym

from rewardkit.core import ConfigError, to_gymnasium, to_gymnasium_vector

__all__ = ["DEFAULT_GRID", "register_envs"]

#: The 8x8 calibration grid of the shaping spec (§5.5): wall on row 4, columns 1-5.
DEFAULT_GRID = """
########
#S.....#
#......#
#......#
######.#
#......#
#.....G#
########
"""

_ENVS = {
    "rewardkit/Grid-v0": (
        "rewardkit.envs._grid:GridWorld",
        {"layout": DEFAULT_GRID, "max_steps": 256},
    ),
    "rewardkit/DoorKey-v0": ("rewardkit.envs._doorkey:DoorKey", {}),
    "rewardkit/RandomMDP-v0": ("rewardkit.envs._random_mdp:RandomMDP", {}),
}


def _load(path: str) -> Any:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _build(env_id: str, kwargs: dict[str, Any]) -> Any:
    kwargs = dict(kwargs)
    mode = kwargs.pop("render_mode", None)
    if mode is not None:
        raise ConfigError(f"`render_mode` {mode!r} is not supported by {env_id}.")
    return _load(_ENVS[env_id][0])(**kwargs)


def make_single(*, rewardkit_id: str, **kwargs: Any) -> gym.Env:
    """Entry point: the JAX env registered as ``rewardkit_id`` as a ``gymnasium.Env``."""
    return to_gymnasium(_build(rewardkit_id, kwargs))


def make_vector(
    *, rewardkit_id: str, num_envs: int = 1, autoreset_mode: Any = None, **kwargs: Any
) -> gym.vector.VectorEnv:
    """Vector entry point: ``num_envs`` copies under one ``jit(vmap(...))``."""
    if autoreset_mode is None:
        raise ConfigError(
            f"`autoreset_mode` is required for gym.make_vec({rewardkit_id!r}, ...): "
            "pass autoreset_mode='SameStep' or 'NextStep'."
        )
    env = _build(rewardkit_id, kwargs)
    return to_gymnasium_vector(env, None, num_envs, autoreset_mode=autoreset_mode)


def register_envs() -> list[str]:
    """Registers every rewardkit env id (idempotent); returns the ids.

    Example:
      >>> "rewardkit/Grid-v0" in register_envs()
      True
    """
    for env_id, (_, defaults) in _ENVS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            env_id,
            entry_point="rewardkit.envs._registration:make_single",
            vector_entry_point="rewardkit.envs._registration:make_vector",
            kwargs={"rewardkit_id": env_id, **defaults},
        )
    return list(_ENVS)
