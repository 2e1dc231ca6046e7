"""Potential-based reward shaping: pure shaping functions, potentials, front-ends.

``F = γΦ(s') − Φ(s)`` keeps every optimal policy (Ng et al. 1999) when γ is the
learner's discount and Φ(terminal) = 0. The same pure :func:`shaper` runs in the
three front-ends: :class:`PotentialShaping` (Gymnasium, host NumPy path),
:class:`rewardkit.shaping.vector.PotentialShaping` (Gymnasium vector envs) and
:class:`rewardkit.shaping.functional.PotentialShaping` (JAX envs, under ``jit``).
MiniGrid potentials live in :mod:`rewardkit.shaping.minigrid`.

Example:
  >>> import rewardkit as rk
  >>> s = rk.shaping.shaper(0.9)
  >>> round(float(s.step(s.init(0.0), 1.0, False, False)[0]), 4)
  0.9
"""

from rewardkit.shaping import functional, minigrid, vector
from rewardkit.shaping._advice import (
    LookAhead,
    LookBack,
    LookBackState,
    action_bias,
    look_ahead,
    look_back,
)
from rewardkit.shaping._catalogue import (
    advice_from_policy,
    advice_table,
    check_discrete,
    from_table,
    grid_index,
    grid_states,
    neg_distance,
    optimal_value,
    subgoals,
    tabulate,
)
from rewardkit.shaping._combine import offset, scaled, sum
from rewardkit.shaping._dpba import DPBA, PIES, DPBAState, PIESState, dpba, pies
from rewardkit.shaping._gym import PotentialShaping
from rewardkit.shaping._potential import (
    PotentialFn,
    check_state_potential,
    evaluate,
    from_callable,
    potential_kind,
    time_indexed,
)
from rewardkit.shaping._shaper import (
    TRUNCATION_OPTIONS,
    Shaper,
    ShapingState,
    shape_tabular,
    shaper,
)

__all__ = [
    "DPBA",
    "PIES",
    "TRUNCATION_OPTIONS",
    "DPBAState",
    "LookAhead",
    "LookBack",
    "LookBackState",
    "PIESState",
    "PotentialFn",
    "PotentialShaping",
    "Shaper",
    "ShapingState",
    "action_bias",
    "advice_from_policy",
    "advice_table",
    "check_discrete",
    "check_state_potential",
    "dpba",
    "evaluate",
    "from_callable",
    "from_table",
    "functional",
    "grid_index",
    "grid_states",
    "look_ahead",
    "look_back",
    "minigrid",
    "neg_distance",
    "offset",
    "optimal_value",
    "pies",
    "potential_kind",
    "scaled",
    "shape_tabular",
    "shaper",
    "subgoals",
    "sum",
    "tabulate",
    "time_indexed",
    "vector",
]
