"""Reward machines on CraftWorld: Q-learning, CRM, machine-potential shaping, edge options.

Reproduces the ordering of Toro Icarte et al. (JAIR 2022) on CraftWorld (which the
fall-off bug does not touch): CRM and CRM+RS reach a median of at least 0.95 of the
optimum within budget, QL stays below 0.1, QL+RS below CRM, and edge options are
fastest early but plateau below CRM; ten tasks round-robin, and task t10 alone.

Maps: the reference maps (RMcode ``envs/grids/maps/map_*.txt``) are not shipped;
``--map-dir`` reads them (``map_{i}.txt``), else maps come from
``rk.envs.generate_craft_map(i)`` with the same statistics (so numbers differ from
the paper's maps). Metric as in ``machines_officeworld`` (ratio of sums over the last
1000 episodes, 100 for t10; 200 checkpoints over 2e6 steps; 6 seeds x maps 1-10).

Optimum, computed per map and task: the fewest steps to acceptance by BFS over
(cell x machine state), and the optimal ε-greedy (ε 0.1, γ 0.9) reward per step.
Deviation: the dense product ``TabularModel`` of a 41 x 41 map (up to 15 000 states)
does not fit the core planner, so the product is kept sparse here: V* follows from
the BFS distances (deterministic moves, reward 1 on acceptance only: V* = γ^(d-1)),
and the ε-greedy policy is evaluated exactly with a sparse linear solve (SciPy).
Hierarchy options on HierarchicalCraftWorld: `experiments/machines_hierarchical_craftworld.py`.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from experiments import _common
from experiments._machines_common import (
    METHODS,
    episode_curve,
    jit_seeds,
    method_runs,
    summarise,
)
from rewardkit.agents import (
    CounterfactualConfig,
    EdgeOptionsConfig,
    make_counterfactual_train,
    make_edge_options_train,
)
from rewardkit.machines import machine_potential
from rewardkit.machines.tasks import craft_product

DESCRIPTION = (
    "Reward machines on CraftWorld: QL vs CRM vs shaping vs edge options (TI22)"
)
PAPER_FINAL = {  # RMcode results/, medians at 1.99M steps
    "10 tasks": (0.008, 0.039, 1.00, 1.00, 0.88, 0.88),
    "t10": (0.041, 0.076, 1.00, 1.00, 0.94, 0.93),
}


def task_optimum(env, task: int, gamma: float = 0.9, epsilon: float = 0.1) -> dict:
    """BFS length and exact ε-greedy reward per step of one task (sparse product)."""
    grid, tm = env.env, env.machines
    states = np.flatnonzero(np.asarray(tm.task) == task)
    u_k, n_cells = states.size, grid.num_cells
    local = {int(u): j for j, u in enumerate(states)}
    col = np.asarray(tm.label_index)[grid.cell_label.astype(np.int64)]
    nxt_u = np.asarray(tm.next_state)[states][:, col]  # [U_k, cells]
    rew_u = np.asarray(tm.reward)[states][:, col]
    terminal = np.asarray(tm.terminal)[states]
    n = n_cells * u_k
    succ = np.empty((n, 4), np.int64)
    rew = np.empty((n, 4))
    for j in range(u_k):
        cells2 = grid.next_cell  # [cells, 4]
        u2 = np.vectorize(local.get)(nxt_u[j][cells2])
        succ[j::u_k] = cells2 * u_k + u2
        rew[j::u_k] = rew_u[j][cells2]
    term = np.tile(terminal, n_cells)
    # Backward BFS: steps to the first rewarding move.
    preds = [[] for _ in range(n)]
    for x in np.flatnonzero(~term):
        for a in range(4):
            preds[succ[x, a]].append(x)
    dist = np.full(n, np.inf)
    queue = deque()
    for x in np.flatnonzero(~term & (rew > 0).any(1)):
        dist[x] = 1
        queue.append(x)
    while queue:
        x = queue.popleft()
        for p in preds[x]:
            if dist[p] == np.inf:
                dist[p] = dist[x] + 1
                queue.append(p)
    v = np.where(term | ~np.isfinite(dist), 0.0, gamma ** (dist - 1))
    q = rew + gamma * np.where(term[succ], 0.0, v[succ])
    best = q >= q.max(1, keepdims=True) - 1e-9
    pi = (1 - epsilon) * best / best.sum(1, keepdims=True) + epsilon / 4
    start = grid.cell(*grid.start) * u_k + local[int(tm.initial[task])]
    seen = np.zeros(n, bool)  # evaluate the states reachable from the start only
    seen[start] = True
    frontier = [start]
    while frontier:
        nxt = np.unique(succ[np.asarray(frontier)][~term[np.asarray(frontier)]])
        nxt = nxt[~seen[nxt]]
        seen[nxt] = True
        frontier = nxt.tolist()
    live = np.flatnonzero(~term & seen)
    index = -np.ones(n, np.int64)
    index[live] = np.arange(live.size)
    rows, cols, vals = [], [], []
    for a in range(4):
        s2 = succ[live, a]
        keep = ~term[s2]
        rows.append(np.arange(live.size)[keep])
        cols.append(index[s2[keep]])
        vals.append(pi[live, a][keep])
    p = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(live.size, live.size),
    )
    a_mat = sp.identity(live.size, format="csr") - p
    r_exp = spla.spsolve(a_mat.tocsc(), (pi[live] * rew[live]).sum(1))
    t_exp = spla.spsolve(a_mat.tocsc(), np.ones(live.size))
    i = index[start]
    return {
        "optimal_length": int(dist[start]),
        "eps_greedy_reward": float(r_exp[i]),
        "eps_greedy_length": float(t_exp[i]),
        "reward_per_step": float(r_exp[i] / t_exp[i]),
    }


def main(argv=None):
    p = _common.parser(DESCRIPTION, seeds=6)
    p.add_argument("--map-dir", type=Path, default=None, help="folder with map_{i}.txt")
    p.add_argument("--maps", type=str, default="1-10", help="map numbers, e.g. 1-10")
    args = p.parse_args(argv)
    out = _common.out_dir("machines_craftworld", args)
    t0 = time.perf_counter()
    lo, _, hi = args.maps.partition("-")
    maps = list(range(int(lo), int(hi or lo) + 1))
    seeds, steps, n_ckpt = args.seeds, 2_000_000, 200
    if args.quick:
        maps, seeds, steps, n_ckpt = maps[:1], min(seeds, 4), 30_000, 50
    keys = _common.seed_keys(seeds)
    checkpoints = np.linspace(steps / n_ckpt, steps, n_ckpt).astype(int) - 1
    settings = [("10 tasks", -1, 1000), ("t10", 9, 100)]
    curves = {(s, m): [] for s, _, _ in settings for m in METHODS}
    opt_rows = []
    crm = opt = None
    for i in _common.progress(maps, desc="maps"):
        path = args.map_dir / f"map_{i}.txt" if args.map_dir else None
        env = craft_product(map_path=path, seed=i)
        rows = [
            {"map": i, "task": f"t{k + 1}", **task_optimum(env, k)} for k in range(10)
        ]
        opt_rows += rows
        rps = np.asarray([r["reward_per_step"] for r in rows])
        phi = machine_potential(env.machines, gamma_rs=0.9, sign=-1.0).values
        # Maps differ only in constants: each map compiles its own programs.
        crm = jit_seeds(
            make_counterfactual_train(CounterfactualConfig(num_steps=steps), env),
            3,
            args.devices,
        )
        opt = jit_seeds(
            make_edge_options_train(EdgeOptionsConfig(num_steps=steps), env),
            2,
            args.devices,
        )
        for name, task, window in settings:
            runs = method_runs(crm, opt, phi, task)
            for method in METHODS:
                fn, fargs = runs[method]
                res = fn(keys, *fargs)
                res = {k: res[k] for k in ("reward", "done", "task")}
                curves[(name, method)].append(
                    episode_curve(res, rps, window, checkpoints)
                )
    _common.print_table(opt_rows, "Optimal episodes per map and task (computed)")
    _common.write_csv(out / "optimal.csv", opt_rows)

    rows, summary = [], []
    plt = _common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    x = checkpoints + 1
    for ax, (name, _, _) in zip(axes, settings, strict=True):
        for j, method in enumerate(METHODS):
            c = np.concatenate(curves[(name, method)])  # [maps x seeds, checkpoints]
            r, summ = summarise(ax, x, c, method, {"setting": name, "method": method})
            rows += r
            summary.append({**summ, "paper_final": PAPER_FINAL[name][j]})
        ax.set_title(f"CraftWorld, {name}")
        ax.set_xlabel("training steps")
        ax.set_ylabel("normalised reward per step")
        ax.axhline(1.0, color="k", lw=0.5)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "machines_craftworld.png", dpi=120)
    _common.write_csv(out / "machines_craftworld.csv", rows)
    _common.print_table(
        summary,
        f"CraftWorld (maps {maps[0]}-{maps[-1]}, {seeds} seeds x {steps} steps)",
    )
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
