"""Functional (JAX env protocol) front-end of reward machines.

Example:
  >>> from rewardkit.machines import functional
  >>> functional.__all__
  ['ProductEnv', 'ProductParams', 'ProductState']
"""

from rewardkit.machines._product_functional import (
    ProductEnv,
    ProductParams,
    ProductState,
)

__all__ = ["ProductEnv", "ProductParams", "ProductState"]
