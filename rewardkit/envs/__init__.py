"""Small JAX-native environments and their Gymnasium registration.

``rewardkit.envs`` imports only :mod:`rewardkit.core`. Importing it registers the
``rewardkit/...-v0`` Gymnasium ids of the environments it defines.
"""

from rewardkit.envs._craft import (
    CRAFT_OBJECTS,
    HIERARCHICAL_CRAFT_PROPOSITIONS,
    CraftWorld,
    HierarchicalCraftWorld,
    generate_craft_map,
    hierarchical_craft_layout,
    load_craft_map,
)
from rewardkit.envs._doorkey import DoorKey, DoorKeyParams, DoorKeyState
from rewardkit.envs._grid import ACTIONS, GridParams, GridState, GridWorld
from rewardkit.envs._layout import parse_layout
from rewardkit.envs._office import OFFICE_LAYOUT, OfficeWorld, office_blocked
from rewardkit.envs._random_mdp import (
    RandomMDP,
    RandomMDPParams,
    RandomMDPState,
    random_mdp,
)
from rewardkit.envs._registration import DEFAULT_GRID, register_envs

__all__ = [
    "ACTIONS",
    "CRAFT_OBJECTS",
    "DEFAULT_GRID",
    "HIERARCHICAL_CRAFT_PROPOSITIONS",
    "OFFICE_LAYOUT",
    "CraftWorld",
    "DoorKey",
    "DoorKeyParams",
    "DoorKeyState",
    "GridParams",
    "GridState",
    "GridWorld",
    "HierarchicalCraftWorld",
    "OfficeWorld",
    "RandomMDP",
    "RandomMDPParams",
    "RandomMDPState",
    "generate_craft_map",
    "hierarchical_craft_layout",
    "load_craft_map",
    "office_blocked",
    "parse_layout",
    "random_mdp",
    "register_envs",
]

register_envs()
