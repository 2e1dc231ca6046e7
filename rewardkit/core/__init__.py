"""Core: the env protocol, ``AutoReset``, Gymnasium adapters and shared types.

``rewardkit.core`` imports nothing else from rewardkit; every capability builds on it.
"""

from rewardkit.core._autoreset import AutoReset, AutoResetState, parse_autoreset_mode
from rewardkit.core._env import (
    Environment,
    EnvPotential,
    EnvWrapper,
    ObsPotential,
    Potential,
    find_state,
)
from rewardkit.core._errors import (
    ConfigError,
    RewardkitError,
    RewardkitWarning,
    check_callable,
    check_choice,
    check_gamma,
    check_in_range,
    check_non_negative,
    check_positive,
    check_positive_int,
)
from rewardkit.core._gym import (
    JaxToGymnasium,
    JaxToGymnasiumVector,
    to_gymnasium,
    to_gymnasium_vector,
)
from rewardkit.core._info import (
    EXTRINSIC_REWARD,
    RewardTerm,
    check_term_name,
    reward_terms,
    term_key,
)
from rewardkit.core._stats import RunningStats, init_running_stats, update_running_stats
from rewardkit.core._tabular import (
    TabularModel,
    check_tabular_model,
    policy_evaluation,
    q_values,
    value_iteration,
)
from rewardkit.core._types import Transition, require_extras, valid_mask
from rewardkit.core._xp import array_namespace, to_numpy

__all__ = [
    "EXTRINSIC_REWARD",
    "AutoReset",
    "AutoResetState",
    "ConfigError",
    "EnvPotential",
    "EnvWrapper",
    "Environment",
    "JaxToGymnasium",
    "JaxToGymnasiumVector",
    "ObsPotential",
    "Potential",
    "RewardTerm",
    "RewardkitError",
    "RewardkitWarning",
    "RunningStats",
    "TabularModel",
    "Transition",
    "array_namespace",
    "check_callable",
    "check_choice",
    "check_gamma",
    "check_in_range",
    "check_non_negative",
    "check_positive",
    "check_positive_int",
    "check_tabular_model",
    "check_term_name",
    "find_state",
    "init_running_stats",
    "parse_autoreset_mode",
    "policy_evaluation",
    "q_values",
    "require_extras",
    "reward_terms",
    "term_key",
    "to_gymnasium",
    "to_gymnasium_vector",
    "to_numpy",
    "update_running_stats",
    "valid_mask",
    "value_iteration",
]
