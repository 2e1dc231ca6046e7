"""Small jitted learners: ``(init, act, update)`` triples of pure functions.

``act(state, obs, key) -> (action, state)``; ``update(state, transition) -> (state,
metrics)`` with a :class:`rewardkit.core.Transition` of any leading axes; runnable
loops are ``make_train(config) -> train(key, *swept)`` in each learner's module
(:mod:`rewardkit.agents.qlearning`, ...).
"""

from rewardkit.agents import ppo, qlearning
from rewardkit.agents._crm import (
    CounterfactualConfig,
    counterfactual_q_learning,
    make_counterfactual_train,
    shape_machine_batch,
)
from rewardkit.agents._hierarchy_option_tables import (
    HierarchyOptions,
    hierarchy_options,
    reachable_hierarchy,
)
from rewardkit.agents._hierarchy_options import (
    HierarchyOptionsState,
    hierarchy_option_learner,
)
from rewardkit.agents._hierarchy_options_train import (
    HierarchyOptionsConfig,
    make_hierarchy_options_train,
)
from rewardkit.agents._options import (
    EdgeOptionsConfig,
    EdgeOptionsState,
    edge_option_learner,
    make_edge_options_train,
)
from rewardkit.agents._qlearning import (
    Learner,
    QLearningConfig,
    QLearningState,
    q_learning,
)

__all__ = [
    "CounterfactualConfig",
    "EdgeOptionsConfig",
    "EdgeOptionsState",
    "HierarchyOptions",
    "HierarchyOptionsConfig",
    "HierarchyOptionsState",
    "Learner",
    "QLearningConfig",
    "QLearningState",
    "counterfactual_q_learning",
    "edge_option_learner",
    "hierarchy_option_learner",
    "hierarchy_options",
    "make_counterfactual_train",
    "make_edge_options_train",
    "make_hierarchy_options_train",
    "ppo",
    "q_learning",
    "qlearning",
    "reachable_hierarchy",
    "shape_machine_batch",
]
