"""Sizes of hierarchies of reward machines against their flattenings (FB23).

Families:

* ``doubling`` — the spec's blow-up example: ``M_1 = u0 -a-> u1 -b-> acc`` and
  ``M_k`` calls ``M_{k-1}`` twice. The hierarchy has 3h states and 2h edges; the flat
  machine is a chain of ``2**h + 1`` states, already minimal.
* ``chain`` — ``M_k`` calls ``M_{k-1}`` once, then needs ``x_k``: linear growth.
* ``craftworld`` — the HierarchicalCraftWorld tasks of FB23 (FBenvs), with and
  without dead ends (lava), minimised on the ``at_most_one`` label domain: the
  spec's table 6.3 (written to ``craftworld.csv``).
* ``random`` — seeded random hierarchies of height 1–4 over four propositions,
  reward 1 on edges into acceptance (mean over seeds).

Columns: hierarchy states/edges (summed over members), flat states/edges, states of
the minimised flattening, and the flattening time. Edges count distinct non-self-loop
state pairs.

Run: ``python -m experiments machines_flat_vs_hierarchy [--quick]``.
"""

from __future__ import annotations

import random
import time
import warnings

import numpy as np

from experiments._common import (
    out_dir,
    parser,
    print_table,
    progress,
    pyplot,
    write_csv,
)
from rewardkit.core import RewardkitWarning
from rewardkit.machines import HierarchicalRewardMachine, LabelDomain, minimize
from rewardkit.machines.tasks import (
    hierarchical_craft_label_domain,
    hierarchical_craft_task,
)

DESCRIPTION = "Flattened hierarchies of reward machines vs hierarchies (FB23 blow-up)"


def doubling(h: int) -> HierarchicalRewardMachine:
    """The spec's blow-up family: M_1 = a then b; M_k calls M_{k-1} twice."""
    machines = {
        "M1": {
            "initial": "u0",
            "accepting": ["acc"],
            "edges": [("u0", "u1", "a"), ("u1", "acc", "b")],
        }
    }
    for k in range(2, h + 1):
        machines[f"M{k}"] = {
            "initial": "u0",
            "accepting": ["acc"],
            "edges": [
                {"source": "u0", "target": "u1", "call": f"M{k - 1}"},
                {"source": "u1", "target": "acc", "call": f"M{k - 1}"},
            ],
        }
    return HierarchicalRewardMachine(f"M{h}", machines, propositions=("a", "b"))


def chain(h: int) -> HierarchicalRewardMachine:
    props = tuple(f"x{k}" for k in range(1, h + 1))
    machines = {
        "M1": {"initial": "u0", "accepting": ["acc"], "edges": [("u0", "acc", "x1")]}
    }
    for k in range(2, h + 1):
        machines[f"M{k}"] = {
            "initial": "u0",
            "accepting": ["acc"],
            "edges": [
                {"source": "u0", "target": "u1", "call": f"M{k - 1}"},
                ("u1", "acc", f"x{k}"),
            ],
        }
    return HierarchicalRewardMachine(f"M{h}", machines, propositions=props)


def random_hierarchy(seed: int, height: int) -> HierarchicalRewardMachine:
    """Two machines per level, each state with one call or up to two formula edges."""
    props = ("a", "b", "c", "d")
    rng = random.Random(seed)
    levels: list[list[str]] = []
    machines = {}
    for level in range(height):
        names = [f"m{level}_{j}" for j in range(1 if level == height - 1 else 2)]
        for name in names:
            states = list(range(rng.randint(2, 3)))
            edges: list = []
            for u in states:
                targets = [*states, "acc"]
                if levels and (rng.random() < 0.5 or u == 0):
                    v = rng.choice(targets[1:])
                    edges.append(
                        {
                            "source": u,
                            "target": v,
                            "call": rng.choice(levels[-1]),
                            "reward": float(v == "acc"),
                        }
                    )
                    continue
                used: list[str] = []
                for p in rng.sample(props, rng.randint(1, 2)):
                    guard = " & ".join([p, *(f"!{q}" for q in used)])
                    used.append(p)
                    v = rng.choice(targets)
                    edges.append((u, v, guard, float(v == "acc")))
            machines[name] = {"initial": 0, "accepting": ["acc"], "edges": edges}
        levels.append(names)
    return HierarchicalRewardMachine(levels[-1][0], machines, propositions=props)


def sizes(h: HierarchicalRewardMachine, domain: LabelDomain | None = None) -> dict:
    def pairs(m):
        return len({(e.source, e.target) for e in m.edges if e.source != e.target})

    t0 = time.perf_counter()
    flat = h.flatten()
    seconds = time.perf_counter() - t0
    small = minimize(flat, domain) if len(flat.states) <= 4096 else flat
    small_pairs = {(e.source, e.target) for e in small.edges if e.source != e.target}
    return {
        "minimal_edges": len(small_pairs),
        "hierarchy_states": sum(len(m.states) for m in h.machines.values()),
        "hierarchy_edges": sum(pairs(m) for m in h.machines.values()),
        "flat_states": len(flat.states),
        "flat_edges": pairs(flat),
        "minimal_states": len(small.states),
        "flatten_seconds": seconds,
    }


def main(argv=None):
    args = parser(DESCRIPTION, seeds=8).parse_args(argv)
    max_h = 6 if args.quick else 10
    seeds = min(args.seeds, 3) if args.quick else args.seeds
    jobs = [("doubling", h, None) for h in range(1, max_h + 1)]
    jobs += [("chain", h, None) for h in range(1, max_h + 1)]
    jobs += [("random", h, s) for h in range(1, 5) for s in range(seeds)]
    raw = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RewardkitWarning)  # random dead ends
        for family, h, seed in progress(jobs, desc="flatten"):
            if family == "doubling":
                hier = doubling(h)
            elif family == "chain":
                hier = chain(h)
            else:
                hier = random_hierarchy(seed, h)
            row = {"family": family, "height": hier.height, **sizes(hier)}
            del row["minimal_edges"]
            if family == "doubling":
                row["expected_flat_states"] = 2**h + 1
                assert row["flat_states"] == row["minimal_states"] == 2**h + 1
            raw.append(row)
    rows = []
    for family in ("doubling", "chain", "random"):
        for h in sorted({r["height"] for r in raw if r["family"] == family}):
            group = [r for r in raw if r["family"] == family and r["height"] == h]
            row = {"family": family, "height": h, "n": len(group)}
            for key in (
                "hierarchy_states",
                "hierarchy_edges",
                "flat_states",
                "flat_edges",
                "minimal_states",
                "flatten_seconds",
            ):
                row[key] = float(np.mean([g[key] for g in group]))
            row["expected_flat_states"] = group[0].get("expected_flat_states", "")
            rows.append(row)
    out = out_dir("machines_flat_vs_hierarchy", args)
    write_csv(out / "sizes.csv", rows)
    print_table(rows, "hierarchy vs flattening sizes")
    domain = hierarchical_craft_label_domain()
    cw_rows = []
    tasks = ["Bucket", "Batter", "MilkBucket", "Book", "Map", "MilkBucketSugar"]
    tasks += ["BookQuill", "Cake"]
    for task in progress(tasks, desc="craftworld"):
        row: dict = {"task": task}
        for lava in (False, True):
            h = hierarchical_craft_task(task, lava=lava)
            s = sizes(h, domain)
            tag = "dead_ends" if lava else "no_dead_ends"
            row["height"] = h.height
            if not lava:
                root = h.machines[task]
                pairs = {(e.source, e.target) for e in root.edges}
                row["root"] = (
                    f"{len(root.states)}/{len({p for p in pairs if p[0] != p[1]})}"
                )
            row[f"flat_{tag}"] = f"{s['flat_states']}/{s['flat_edges']}"
            row[f"minimal_{tag}"] = f"{s['minimal_states']}/{s['minimal_edges']}"
        cw_rows.append(row)
    write_csv(out / "craftworld.csv", cw_rows)
    print_table(cw_rows, "HierarchicalCraftWorld: states/edges (spec table 6.3)")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for family, marker in (("doubling", "o"), ("chain", "s"), ("random", "^")):
        sel = [r for r in rows if r["family"] == family]
        hs = [r["height"] for r in sel]
        ax.plot(
            hs, [r["flat_states"] for r in sel], marker + "-", label=f"{family}: flat"
        )
        ax.plot(
            hs,
            [r["hierarchy_states"] for r in sel],
            marker + "--",
            label=f"{family}: hierarchy",
        )
    ax.set_yscale("log", base=2)
    ax.set_xlabel("height h")
    ax.set_ylabel("states")
    ax.set_title("Flattening a hierarchy of reward machines")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "sizes.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out / 'sizes.csv'} and {out / 'sizes.png'}")
    return rows


if __name__ == "__main__":
    main()
