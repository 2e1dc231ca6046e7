"""Tabular Q-learning with and without potential-based shaping on a 12x12 grid.

Reproduces the qualitative results of the shaping spec (§6.2), after Ng, Harada and
Russell (ICML 1999) and Wiewiora (JAIR 2003):

* the exact potential Φ = V* learns far faster than no shaping;
* −BFS distance (correct but pessimistic) helps on average, with high variance;
* −Manhattan distance, misleading behind a wall, stalls the learner, exactly as its
  Wiewiora twin (no shaping, Q0 = −Manhattan) does;
* a non-potential "progress" bonus (+0.1 when the Manhattan distance drops) creates
  a positive reward cycle and traps the agent;
* potential shaping never changes the optimal policy (checked exactly by value
  iteration on the shaped model).

Setup: 12x12 grid, internal walls on row 6 (columns 1-8) and row 3 (columns 4-10),
start (1, 1), goal (10, 1) (shortest path 25, Manhattan 9), reward 1 at the goal,
γ = 0.99, α = 0.5, ε = 0.1, tie noise 1e-4, time limit 400 (bootstrapped), 64 seeds
x 30 000 steps (``--quick``: 8 seeds x 4 000 steps).
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import rewardkit as rk
from experiments import _common
from rewardkit.agents import qlearning
from rewardkit.core import EXTRINSIC_REWARD, EnvWrapper, find_state
from rewardkit.envs import GridState, GridWorld

DESCRIPTION = "Q-learning with potential shaping vs misleading and non-potential shaping (Ng 1999)"

LAYOUT = """
############
#S.........#
#..........#
#...########
#..........#
#..........#
#########..#
#..........#
#..........#
#..........#
#G.........#
############
"""
GAMMA = 0.99

# Published figures (spec §6.2), for the table.
PAPER = {
    "none": (89.3, 17706, "62/64", 108),
    "-manhattan": (0.05, None, "0/64", None),
    "-manhattan+30": (23.8, 8442, "64/64", 241),
    "-bfs": (231.2, 11319, "37/64", 51),
    "-bfs+30": (30.4, 2866, "64/64", 242),
    "V*": (1056.6, 524, "64/64", 28.1),
    "progress bonus": (0.0, None, "0/64", None),
    "Q0=-manhattan": (0.03, None, "0/64", None),
}


class ProgressBonus(EnvWrapper):
    """+bonus when the Manhattan distance to the goal drops: NOT potential-based."""

    reward_name = "progress"

    def __init__(self, env: GridWorld, goal: tuple[int, int], bonus: float = 0.1):
        super().__init__(env)
        self.goal, self.bonus = goal, bonus

    def _dist(self, state: Any) -> jax.Array:
        r, c = jnp.divmod(find_state(state, GridState).pos, self.env.width)
        return jnp.abs(r - self.goal[0]) + jnp.abs(c - self.goal[1])

    def step(self, key, state, action, params):
        obs, nxt, reward, term, trunc, info = self.env.step(key, state, action, params)
        b = jnp.where(self._dist(nxt) < self._dist(state), self.bonus, 0.0)
        info = {**info, EXTRINSIC_REWARD: reward, "progress_reward": b}
        return obs, nxt, reward + b, term, trunc, info


def grid() -> GridWorld:
    return GridWorld(LAYOUT, max_steps=400)


def potentials(env: GridWorld) -> dict[str, np.ndarray]:
    goal = np.argwhere(env.goals)[0]
    rows, cols = np.divmod(np.arange(env.num_cells), env.width)
    manhattan = (np.abs(rows - goal[0]) + np.abs(cols - goal[1])).astype(np.float32)
    bfs = env.bfs_distances().astype(np.float32)
    v_star = np.asarray(rk.core.value_iteration(env.tabular_model(), GAMMA, tol=1e-8))
    return {
        "-manhattan": -manhattan,
        "-manhattan+30": 30.0 - manhattan,
        "-bfs": -bfs,
        "-bfs+30": 30.0 - bfs,
        "V*": v_star.astype(np.float32),
    }


def make_trains(config: qlearning.Config):
    """Three compiled programs: plain, potential-shaped (Φ swept), progress bonus."""
    env = grid()

    def shaped(phi):
        pot = lambda state, params: phi[find_state(state, GridState).pos]  # noqa: E731
        return rk.shaping.functional.PotentialShaping(env, pot, GAMMA)

    goal = tuple(int(x) for x in np.argwhere(env.goals)[0])
    return {
        "plain": qlearning.make_train(config, env),
        "shaped": qlearning.make_train(config, shaped),
        "bonus": qlearning.make_train(config, lambda: ProgressBonus(env, goal)),
    }


def episode_stats(
    term: np.ndarray, trunc: np.ndarray, ext: np.ndarray
) -> dict[str, Any]:
    """Per-seed statistics from ``[T]`` flags of one env."""
    ends = np.flatnonzero(term | trunc)
    lengths = np.diff(np.concatenate([[-1], ends]))
    goal = (term & (ext > 0))[ends]
    goal_steps = ends[goal] + 1
    return {
        "goals": int(goal.sum()),
        "timeouts": int((trunc[ends] & ~term[ends]).sum()),
        "tenth": int(goal_steps[9]) if len(goal_steps) >= 10 else None,
        "last20": float(lengths[goal][-20:].mean()) if goal.any() else None,
    }


def summarise(name: str, out: dict[str, np.ndarray], num_steps: int) -> dict[str, Any]:
    term = np.asarray(out["terminated"])[..., 0]  # [seeds, T]
    trunc = np.asarray(out["truncated"])[..., 0]
    ext = np.asarray(out["extrinsic_reward"])[..., 0]
    stats = [episode_stats(term[i], trunc[i], ext[i]) for i in range(term.shape[0])]
    tenth = [s["tenth"] if s["tenth"] is not None else num_steps for s in stats]
    last20 = [s["last20"] for s in stats if s["last20"] is not None]
    reached = sum(s["tenth"] is not None for s in stats)
    paper = PAPER[name]
    return {
        "configuration": name,
        "goal_episodes_per_seed": float(np.mean([s["goals"] for s in stats])),
        "timeouts_per_seed": float(np.mean([s["timeouts"] for s in stats])),
        "median_steps_to_10th_goal": float(np.median(tenth)) if reached else None,
        "seeds_with_10_goals": f"{reached}/{len(stats)}",
        "mean_len_last20_goal_eps": float(np.mean(last20)) if last20 else None,
        "paper_goals": paper[0],
        "paper_median_10th": paper[1],
        "paper_seeds_10": paper[2],
        "paper_len_last20": paper[3],
    }


def check_policy_invariance(
    env: GridWorld, phis: dict[str, np.ndarray]
) -> tuple[float, int]:
    """Exact check: Q*_shaped = Q* − Φ(s), and the optimal action sets coincide.

    Returns the largest deviation and the number of states whose optimal action sets
    differ (ties within 1e-9), over every potential, in float64.
    """
    model = env.tabular_model()
    live = ~model.terminal & ~env.walls.ravel()
    with jax.enable_x64(True):
        t64 = model.transitions.astype(np.float64)
        m64 = model._replace(
            transitions=t64 / t64.sum(-1, keepdims=True),
            reward=model.reward.astype(np.float64),
        )
        v = rk.core.value_iteration(m64, GAMMA, tol=1e-12)
        q = np.asarray(rk.core.q_values(m64, GAMMA, v))
        worst, differ = 0.0, 0
        for phi in phis.values():
            phi64 = np.where(model.terminal, 0.0, phi.astype(np.float64))
            shaped = np.asarray(
                rk.shaping.shape_tabular(m64.reward, phi64, GAMMA, model.terminal)
            )
            vs = rk.core.value_iteration(m64, GAMMA, shaped, tol=1e-12)
            qs = np.asarray(rk.core.q_values(m64, GAMMA, vs, shaped))
            worst = max(worst, float(np.abs(qs - (q - phi64[:, None]))[live].max()))
            best = q >= q.max(-1, keepdims=True) - 1e-9
            best_s = qs >= qs.max(-1, keepdims=True) - 1e-9
            differ += int((best != best_s)[live].any(-1).sum())
    return worst, differ


def run(
    num_seeds: int,
    num_steps: int,
    devices: int = 1,
    seed: int = 0,
    only: tuple[str, ...] | None = None,
):
    """Runs every configuration (or those in ``only``); returns ``{name: metrics}``."""
    config = qlearning.Config(num_envs=1, num_steps=num_steps, gamma=GAMMA)
    env = grid()
    phis = potentials(env)
    trains = make_trains(config)
    keys = _common.seed_keys(num_seeds, seed)
    zeros_q = jnp.zeros((env.num_cells, 4))
    results = {}
    jobs = [("none", "plain", (zeros_q,))]
    jobs += [(n, "shaped", (zeros_q, jnp.asarray(p))) for n, p in phis.items()]
    jobs += [("progress bonus", "bonus", (zeros_q,))]
    twin = jnp.broadcast_to(
        jnp.asarray(phis["-manhattan"])[:, None], (env.num_cells, 4)
    )
    jobs += [("Q0=-manhattan", "plain", (twin,))]
    if only is not None:
        jobs = [j for j in jobs if j[0] in only]
    for name, prog, args in _common.progress(jobs, desc="configurations"):
        out = _common.run_sharded(trains[prog], keys, *args, devices=devices)
        results[name] = jax.tree.map(np.asarray, out)
    return results


def main(argv=None):
    p = _common.parser(DESCRIPTION, seeds=64)
    p.add_argument("--steps", type=int, default=30_000)
    args = p.parse_args(argv)
    seeds, steps = (8, 4_000) if args.quick else (args.seeds, args.steps)
    out = _common.out_dir("shaping_gridworld", args)
    t0 = time.perf_counter()
    results = run(seeds, steps, args.devices)
    elapsed = time.perf_counter() - t0
    rows = [summarise(n, r, steps) for n, r in results.items()]
    _common.print_table(
        rows,
        f"Q-learning, {seeds} seeds x {steps} steps ({elapsed:.1f} s incl. compile)",
    )
    gap, differ = check_policy_invariance(grid(), potentials(grid()))
    print(
        f"policy invariance (exact, float64): max |Q*_shaped - (Q* - Φ)| = {gap:.1e}; "
        f"states whose optimal actions change: {differ}"
    )
    _common.write_csv(out / "results.csv", rows)
    plt = _common.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in results.items():
        goals = np.asarray(r["terminated"])[..., 0] & (
            np.asarray(r["extrinsic_reward"])[..., 0] > 0
        )
        ax.plot(np.cumsum(goals, axis=1).mean(0), label=name)
    ax.set_yscale("symlog")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("goal episodes (mean over seeds)")
    ax.set_title("Tabular Q-learning on a 12x12 grid: shaping")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "goals.png", dpi=120)
    print(f"wrote {out / 'results.csv'} and {out / 'goals.png'}")
    return rows


if __name__ == "__main__":
    main()
