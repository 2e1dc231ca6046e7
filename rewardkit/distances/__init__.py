"""Reward distances: STARC, EPIC and DARD, batched and jitted; regret; certification.

``rewardkit.distances`` imports only :mod:`rewardkit.core`. The functional form
(``init``/``apply`` of :func:`starc`, :func:`epic_pearson`, :func:`dard_pearson` and
the :mod:`~rewardkit.distances.canon` canonicalisers) is traceable and returns JAX
arrays; the one-shot host functions (:func:`starc_distance`, :func:`epic_distance`,
:func:`dard_distance`, :func:`pairwise`, :func:`canonicalise`,
:func:`certify_equivalent`) accept NumPy/JAX arrays and lists, jit inside and
return NumPy.
"""

from rewardkit.distances import canon
from rewardkit.distances._certify import EquivalenceCertificate, certify_equivalent
from rewardkit.distances._mdp import (
    TabularMDP,
    add_absorbing_state,
    from_tabular_model,
    make_mdp,
    restrict_to_reachable,
)
from rewardkit.distances._norms import lp_norm, standardise, weighted_norm
from rewardkit.distances._pairwise import pairwise
from rewardkit.distances._pearson import (
    dard_distance,
    dard_pearson,
    epic_distance,
    epic_pearson,
)
from rewardkit.distances._planning import (
    Regret,
    cached_advantages,
    cached_policy_evaluation,
    cached_q_values,
    optimal_policy,
    policy_matrix,
    regret,
    returns,
    returns_mc,
)
from rewardkit.distances._random import interpolate, random_reward
from rewardkit.distances._rewards import infer_layout, state_reward
from rewardkit.distances._sampled import (
    Estimate,
    Sampler,
    sampled_dard_distance,
    sampled_epic_distance,
    tabular_samplers,
)
from rewardkit.distances._sampled_val import sampled_starc_val_distance
from rewardkit.distances._starc import (
    DistOut,
    DistState,
    RewardDistance,
    canonicalise,
    starc,
    starc_distance,
)
from rewardkit.distances._table import distance_regret_table
from rewardkit.distances._td import ValueFit, fit_value_td

__all__ = [
    "DistOut",
    "DistState",
    "EquivalenceCertificate",
    "Estimate",
    "Regret",
    "RewardDistance",
    "Sampler",
    "TabularMDP",
    "ValueFit",
    "add_absorbing_state",
    "cached_advantages",
    "cached_policy_evaluation",
    "cached_q_values",
    "canon",
    "canonicalise",
    "certify_equivalent",
    "dard_distance",
    "dard_pearson",
    "distance_regret_table",
    "epic_distance",
    "epic_pearson",
    "fit_value_td",
    "from_tabular_model",
    "infer_layout",
    "interpolate",
    "lp_norm",
    "make_mdp",
    "optimal_policy",
    "pairwise",
    "policy_matrix",
    "random_reward",
    "regret",
    "restrict_to_reachable",
    "returns",
    "returns_mc",
    "sampled_dard_distance",
    "sampled_epic_distance",
    "sampled_starc_val_distance",
    "standardise",
    "starc",
    "starc_distance",
    "state_reward",
    "tabular_samplers",
    "weighted_norm",
]
