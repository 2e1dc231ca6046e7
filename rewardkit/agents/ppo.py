"""PPO with separate extrinsic and intrinsic value heads (``rk.agents.ppo``).

``make_train(config, bonus=None, *, env)`` returns one jittable, vmappable
``train(key, ...)``; the learner inside is an ``(init, act, update)`` triple
(:func:`make_learner`) over an explicit :class:`PPOState`.
"""

from rewardkit.agents._ppo import (
    Config,
    PPOLearner,
    PPOState,
    gae,
    make_learner,
    policy_loss,
    value_loss,
)
from rewardkit.agents._ppo_train import RunnerState, make_train

__all__ = [
    "Config",
    "PPOLearner",
    "PPOState",
    "RunnerState",
    "gae",
    "make_learner",
    "make_train",
    "policy_loss",
    "value_loss",
]
