"""Learning-curve code shared by the reward-machine experiments (no experiment here).

Used by ``machines_officeworld``, ``machines_craftworld`` and
``machines_hierarchical_craftworld``: the six tabular methods of TI22 on one
compiled pair of programs, windowed per-episode curves, and the median/quartile
rows, summary row and plot of one method's curves.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np

from experiments import _common

METHODS = ("QL", "QL+RS", "CRM", "CRM+RS", "edge opt.", "edge opt.+RS")


def jit_seeds(train, num_swept, devices):
    """One compiled program per learner, reused for every swept value."""
    if devices > 1:
        return lambda keys, *args: _common.run_sharded(
            train, keys, *args, devices=devices
        )
    return jax.jit(jax.vmap(train, in_axes=(0,) + (None,) * num_swept))


def method_runs(crm, opt, phi, task) -> dict:
    """``METHODS`` → (program, arguments after the keys) on the task ``task``.

    ``crm`` runs ``make_counterfactual_train`` (potential, counterfactual, task),
    ``opt`` runs ``make_edge_options_train`` (potential, task); ``phi`` is the
    machine potential of the ``+RS`` variants.
    """
    zeros = np.zeros_like(phi)
    return {
        "QL": (crm, (zeros, False, task)),
        "QL+RS": (crm, (phi, False, task)),
        "CRM": (crm, (zeros, True, task)),
        "CRM+RS": (crm, (phi, True, task)),
        "edge opt.": (opt, (zeros, task)),
        "edge opt.+RS": (opt, (phi, task)),
    }


def episodes(reward: np.ndarray, done: np.ndarray):
    """One seed's finished episodes: their last step, length and return."""
    ends = np.flatnonzero(done)
    csum = np.concatenate([[0.0], np.cumsum(reward)])
    starts = np.concatenate([[0], ends[:-1] + 1])
    return ends, ends - starts + 1, csum[ends + 1] - csum[starts]


def window_ratio(ends, num, den, window: int, checkpoints: np.ndarray) -> np.ndarray:
    """Σ num / Σ den over the last ``window`` episodes finished by each checkpoint.

    NaN at checkpoints before the first finished episode.
    """
    cn = np.concatenate([[0], np.cumsum(num)])
    cd = np.concatenate([[0], np.cumsum(den)])
    n_done = np.searchsorted(ends, checkpoints, side="right")
    lo = np.maximum(n_done - window, 0)
    ok = n_done > 0
    hi = n_done[ok]
    out = np.full(checkpoints.size, np.nan)
    out[ok] = (cn[hi] - cn[lo[ok]]) / (cd[hi] - cd[lo[ok]])
    return out


def episode_curve(
    out: dict, opt_rps: np.ndarray, window: int, checkpoints: np.ndarray
) -> np.ndarray:
    """[seeds, checkpoints] normalised reward per step over the last episodes.

    Over the last ``window`` finished episodes: Σ R_i / r*_{task_i} over Σ T_i,
    r* being the task's optimal ε-greedy reward per step E[R]/E[T]; the ε-greedy
    optimum scores 1 in expectation (a ratio of sums, matching the normaliser's
    ratio of expectations; RMcode averages per-episode ratios instead).
    """
    reward = np.asarray(out["reward"])[..., 0]  # [seeds, T]
    done = np.asarray(out["done"])[..., 0]
    task = np.asarray(out["task"])[..., 0]
    curves = np.full((reward.shape[0], checkpoints.size), np.nan)
    for i in range(reward.shape[0]):
        ends, length, ret = episodes(reward[i], done[i])
        if ends.size == 0:
            continue
        ep_r = ret / opt_rps[task[i, ends]]
        curves[i] = window_ratio(ends, ep_r, length, window, checkpoints)
    return curves


def summarise(ax, x: np.ndarray, curves: np.ndarray, label: str, tags: dict):
    """Median and quartiles of ``[runs, checkpoints]`` curves, plotted on ``ax``.

    Returns the per-checkpoint rows and the summary row (final median, first step
    the median reaches 0.9), both starting with ``tags``.
    """
    with warnings.catch_warnings():  # no finished episode yet: NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        q25, med, q75 = np.nanpercentile(curves, [25, 50, 75], axis=0)
    rows = [
        {
            **tags,
            "step": int(x[k]),
            "median": med[k],
            "q25": q25[k],
            "q75": q75[k],
        }
        for k in range(x.size)
    ]
    hit = np.flatnonzero(med >= 0.9)
    summary = {
        **tags,
        "final_median": float(med[-1]),
        "first_step_ge_0.9": int(x[hit[0]]) if hit.size else "never",
    }
    ax.plot(x, med, label=label)
    ax.fill_between(x, q25, q75, alpha=0.2)
    return rows, summary
