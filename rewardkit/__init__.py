"""rewardkit: a reward toolkit for reinforcement learning in JAX.

Five capabilities share one core: potential-based shaping (:mod:`rewardkit.shaping`),
reward machines and their hierarchies (:mod:`rewardkit.machines`), intrinsic
bonuses (:mod:`rewardkit.intrinsic`) and reward distances
(:mod:`rewardkit.distances`), with small JAX environments (:mod:`rewardkit.envs`)
and jitted learners (:mod:`rewardkit.agents`). ``import rewardkit`` registers the
Gymnasium ids ``rewardkit/...-v0``.

Example:
  >>> import rewardkit as rk
  >>> sorted(n for n in ("core", "envs", "shaping") if hasattr(rk, n))
  ['core', 'envs', 'shaping']
"""

from rewardkit import agents, core, distances, envs, intrinsic, machines, shaping

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "agents",
    "core",
    "distances",
    "envs",
    "intrinsic",
    "machines",
    "shaping",
]
