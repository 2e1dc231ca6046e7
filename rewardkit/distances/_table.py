"""A long-format (pandas-friendly) table of distances and regrets."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from rewardkit.distances._planning import regret
from rewardkit.distances._starc import (
    RewardDistance,
    _cast_mdp,
    _check_mdp,
    _mdp_dtype,
    run_pairs,
)

__all__ = ["distance_regret_table"]


def distance_regret_table(
    dists: dict[str, RewardDistance],
    mdp: Any,
    pairs: Any,
    *,
    method: str = "value_iteration",
    dtype: Any = None,
) -> dict[str, np.ndarray]:
    """Distances and normalised regret for reward pairs, as long-format columns.

    The result is a dict of equal-length NumPy columns (``pair``, ``distance_name``,
    ``distance``, ``regret``), one row per (pair, distance):
    ``pandas.DataFrame(table)`` works if pandas is installed (it is optional).

    Args:
      dists: named distances (e.g. ``{"VAL": rd.starc(), "EPIC": rd.epic_pearson()}``).
      mdp: the MDP.
      pairs: ``[N, 2, S, A(, S)]`` reward pairs (or a list of (R1, R2)).
      method: the planner of the regret.
      dtype: ``"float64"`` or None (float32 unless x64 is on).

    Returns:
      ``{"pair": int [N·D], "distance_name": str [N·D], "distance": [N·D],
      "regret": [N·D]}``.

    Example:
      >>> from rewardkit.distances import make_mdp, starc
      >>> mdp = make_mdp(np.full((2, 3, 2), 0.5), 0.9)
      >>> r = np.float32([[1, 0, 0], [0, 0, 0]])
      >>> tab = distance_regret_table({"VAL": starc()}, mdp, [(r, r), (r, -r)])
      >>> tab["distance"].round(3).tolist(), tab["regret"].round(3).tolist()
      ([0.0, 2.0], [0.0, 1.0])
    """
    _check_mdp(mdp)
    dt = _mdp_dtype(mdp, dtype)
    with jax.enable_x64(dt == np.float64):
        arr = np.asarray(pairs, np.float64)
        r1, r2 = arr[:, 0], arr[:, 1]
        m = _cast_mdp(mdp, dt)
        reg = jax.jit(jax.vmap(lambda a, b: regret(a, b, m, method=method).mean))(
            jax.numpy.asarray(r1, dt), jax.numpy.asarray(r2, dt)
        )
        reg = np.asarray(reg)
        cols: dict[str, list] = {
            "pair": [],
            "distance_name": [],
            "distance": [],
            "regret": [],
        }
        for name, d in dists.items():
            _, out = run_pairs(d, mdp, r1, r2, dtype=dt)
            cols["pair"].append(np.arange(len(r1)))
            cols["distance_name"].append(np.full(len(r1), name))
            cols["distance"].append(out.distance)
            cols["regret"].append(reg)
    return {k: np.concatenate(v) for k, v in cols.items()}
