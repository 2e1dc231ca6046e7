"""Intrinsic-motivation bonuses as pure ``(init, compute, update, reset)`` functions.

Every bonus is built by a factory with keyword-only, eagerly checked
hyper-parameters (:func:`rnd`, :func:`icm`, :func:`disagreement`, :func:`e3b`) and
is an :class:`IntrinsicBonus` over one explicit :class:`BonusState` pytree. Three
front-ends add it to an environment: :class:`AddIntrinsicReward` (one Gymnasium
env), ``vector.AddIntrinsicReward`` (Gymnasium vector envs) and
``functional.AddIntrinsicReward`` (JAX envs). See ``docs/intrinsic.md``.
"""

from rewardkit.intrinsic import functional, vector
from rewardkit.intrinsic._base import (
    BonusState,
    IntrinsicBonus,
    restore_state,
    save_state,
)
from rewardkit.intrinsic._combine import combine
from rewardkit.intrinsic._disagreement import disagreement
from rewardkit.intrinsic._e3b import E3BEpisodic, e3b
from rewardkit.intrinsic._gym import AddIntrinsicReward
from rewardkit.intrinsic._icm import icm
from rewardkit.intrinsic._rnd import rnd

__all__ = [
    "AddIntrinsicReward",
    "BonusState",
    "E3BEpisodic",
    "IntrinsicBonus",
    "combine",
    "disagreement",
    "e3b",
    "functional",
    "icm",
    "restore_state",
    "rnd",
    "save_state",
    "vector",
]
