"""Vector (``gymnasium.vector``) front-end of reward machines.

Example:
  >>> from rewardkit.machines import vector
  >>> vector.__all__
  ['ProductEnv']
"""

from rewardkit.machines._product_vector import ProductEnv

__all__ = ["ProductEnv"]
