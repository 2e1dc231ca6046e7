"""Small jitted learners: ``(init, act, update)`` triples of pure functions.

``act(state, obs, key) -> (action, state)``; ``update(state, transition) -> (state,
metrics)`` with a :class:`rewardkit.core.Transition` of any leading axes; runnable
loops are ``make_train(config) -> train(key, *swept)`` in each learner's module
(:mod:`rewardkit.agents.qlearning`, ...).
"""

from rewardkit.agents import ppo, qlearning
from rewardkit.agents._qlearning import (
    Learner,
    QLearningConfig,
    QLearningState,
    q_learning,
)

__all__ = [
    "Learner",
    "QLearningConfig",
    "QLearningState",
    "ppo",
    "q_learning",
    "qlearning",
]
