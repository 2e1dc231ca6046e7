"""Hierarchy options vs flat learners on HierarchicalCraftWorld (Furelos-Blanco et al.).

Paper (ICML 2023, qualitative): on the deeper CraftWorld tasks (MilkBucket,
BookQuill, Cake), hierarchy options exploiting the non-flat hierarchy converge
faster than the same method on the hierarchy's flattening and than flat CRM; on
height-1 tasks the methods coincide.

Here, on the open-plan layout (7 x 7, one object per class, instance seed 0, cap
of 100 steps per episode): hierarchy options (formula and call options, SMDP
meta-controllers, FBlearn tabular values) on the hierarchy, against edge options
(TI22's "HRM", RMcode tabular defaults) and counterfactual Q-learning (CRM) on the
flattened machine, on tasks of height 1 to 4 (Batter, MilkBucket, Book,
MilkBucketSugar, Cake). Metric: the success rate (fraction of the last 20 finished
episodes that reach acceptance within the cap; 1 is the maximum), median and
quartiles over seeds, at 50 checkpoints; the summary gives the final median and
the first step the median reaches 0.9.

What we got (8 seeds x 30 000 steps, AMD EPYC 2 cores, 5.5 min; see
``docs/machines.md``): all three reach a median success rate of 1.0; the first
step at which the median reaches 0.9 (checkpoints every 600 steps) is, for
hierarchy options / edge options on the flattening / CRM on the flattening,
Batter (h 1) 1.2k / 4.2k / 5.4k, MilkBucket (h 2) 1.2k / 4.2k / 5.4k, Book (h 2)
1.2k / 4.2k / 7.8k, MilkBucketSugar (h 3) 1.2k / 4.8k / 7.2k, Cake (h 4) 1.8k /
5.4k / 12k. Hierarchy options learn fastest at every height and barely slow down
with depth, while CRM on the flat machine slows down with depth (2.2x from height
1 to 4), in line with the paper. Unlike the paper, hierarchy options also lead
on height 1: their off-policy formula bank learns every event policy from every
step and their meta-controllers choose among few options, so the gap does not
come from the hierarchy alone (the learners' hyper-parameters differ too:
FBlearn's for hierarchy options, RMcode's for the flat ones). Deviations:
cardinal moves instead of the paper's turn/forward actions (episode lengths not
comparable), a fixed ε instead of FBlearn's annealed one, tabular learners only.

Run: ``python -m experiments machines_hierarchical_craftworld [--quick]``.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from experiments import _common
from experiments._machines_common import episodes, summarise, window_ratio
from rewardkit.agents import (
    CounterfactualConfig,
    EdgeOptionsConfig,
    HierarchyOptionsConfig,
    make_counterfactual_train,
    make_edge_options_train,
    make_hierarchy_options_train,
)
from rewardkit.machines.tasks import hierarchical_craft_product

DESCRIPTION = (
    "HierarchicalCraftWorld: hierarchy options vs edge options and CRM on the "
    "flattening (FB23)"
)
METHODS = ("hierarchy opt.", "edge opt. (flat)", "CRM (flat)")
TASKS = ("Batter", "MilkBucket", "Book", "MilkBucketSugar", "Cake")
HEIGHT = {"Batter": 1, "MilkBucket": 2, "Book": 2, "MilkBucketSugar": 3, "Cake": 4}
MAX_STEPS, WINDOW = 100, 20


def success_curve(
    reward: np.ndarray, done: np.ndarray, checkpoints: np.ndarray
) -> np.ndarray:
    """[seeds, checkpoints] success rate of the last ``WINDOW`` finished episodes."""
    curves = np.full((reward.shape[0], checkpoints.size), np.nan)
    for i in range(reward.shape[0]):
        ends, _, ret = episodes(reward[i], done[i])
        if ends.size == 0:
            continue
        ok = ret > 0  # reward 1 only on acceptance
        curves[i] = window_ratio(ends, ok, np.ones_like(ends), WINDOW, checkpoints)
    return curves


def run_task(task: str, steps: int, keys: jax.Array, devices: int) -> dict:
    """Success-rate curves of the three methods on one task."""
    hier = hierarchical_craft_product(task=task, max_steps=MAX_STEPS)
    flat = hierarchical_craft_product(task=task, flat=True, max_steps=MAX_STEPS)
    runs = {
        "hierarchy opt.": (
            make_hierarchy_options_train(HierarchyOptionsConfig(num_steps=steps), hier),
            (),
        ),
        "edge opt. (flat)": (
            make_edge_options_train(EdgeOptionsConfig(num_steps=steps), flat),
            (None, 0),
        ),
        "CRM (flat)": (
            make_counterfactual_train(CounterfactualConfig(num_steps=steps), flat),
            (None, True, 0),
        ),
    }
    out = {}
    for method, (train, args) in runs.items():
        res = _common.run_sharded(train, keys, *args, devices=devices)
        out[method] = (
            np.asarray(res["reward"])[..., 0],
            np.asarray(res["done"])[..., 0],
        )
    return out


def main(argv=None):
    p = _common.parser(DESCRIPTION, seeds=8)
    p.add_argument("--steps", type=int, default=30_000, help="steps per seed")
    args = p.parse_args(argv)
    out = _common.out_dir("machines_hierarchical_craftworld", args)
    t0 = time.perf_counter()
    tasks, seeds, steps, n_ckpt = TASKS, args.seeds, args.steps, 50
    if args.quick:
        tasks, seeds, steps, n_ckpt = ("Batter", "Cake"), 2, 6_000, 20
    keys = _common.seed_keys(seeds)
    checkpoints = np.linspace(steps / n_ckpt, steps, n_ckpt).astype(int) - 1
    x = checkpoints + 1
    rows, summary = [], []
    plt = _common.pyplot()
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.4))
    for ax, task in zip(
        np.atleast_1d(axes), _common.progress(tasks, desc="tasks"), strict=True
    ):
        res = run_task(task, steps, keys, args.devices)
        for method in METHODS:
            c = success_curve(*res[method], checkpoints)
            tags = {"task": task, "height": HEIGHT[task], "method": method}
            r, summ = summarise(ax, x, c, method, tags)
            rows += r
            summary.append(summ)
        ax.set_title(f"{task} (height {HEIGHT[task]})")
        ax.set_xlabel("training steps")
        ax.set_ylim(-0.05, 1.05)
        ax.xaxis.set_major_formatter(lambda v, _: f"{v / 1000:g}k")
    np.atleast_1d(axes)[0].set_ylabel(f"success rate (last {WINDOW} episodes)")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "machines_hierarchical_craftworld.png", dpi=120)
    _common.write_csv(out / "machines_hierarchical_craftworld.csv", rows)
    _common.print_table(
        summary,
        f"HierarchicalCraftWorld open plan ({seeds} seeds x {steps} steps, "
        f"cap {MAX_STEPS})",
    )
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
