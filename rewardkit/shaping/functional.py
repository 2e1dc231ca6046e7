"""Shaping for functional (JAX env protocol) environments, under ``jit``.

Example:
  >>> from rewardkit.shaping import functional
  >>> functional.__all__
  ['PotentialShaping', 'ShapedState']
"""

from rewardkit.shaping._functional import PotentialShaping, ShapedState

__all__ = ["PotentialShaping", "ShapedState"]
