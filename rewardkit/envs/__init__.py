"""Small JAX-native environments and their Gymnasium registration.

``rewardkit.envs`` imports only :mod:`rewardkit.core`. Importing it registers the
``rewardkit/...-v0`` Gymnasium ids of the environments it defines.
"""

from rewardkit.envs._grid import ACTIONS, GridParams, GridState, GridWorld
from rewardkit.envs._layout import parse_layout

__all__ = [
    "ACTIONS",
    "GridParams",
    "GridState",
    "GridWorld",
    "parse_layout",
]
