"""Shaping for Gymnasium vector environments, in every autoreset mode.

Example:
  >>> from rewardkit.shaping import vector
  >>> vector.__all__
  ['PotentialShaping']
"""

from rewardkit.shaping._vector import PotentialShaping

__all__ = ["PotentialShaping"]
