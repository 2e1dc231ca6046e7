"""Tabular Q-learning: the learner triple and its jitted training loop.

Example:
  >>> from rewardkit.agents import qlearning
  >>> sorted(qlearning.__all__)
  ['Config', 'Learner', 'QLearningState', 'make_train', 'q_learning']
"""

from rewardkit.agents._qlearning import Learner, QLearningState, make_train, q_learning
from rewardkit.agents._qlearning import QLearningConfig as Config

__all__ = ["Config", "Learner", "QLearningState", "make_train", "q_learning"]
