"""PPO on a 9×9 grid, with and without a −BFS potential (intrinsic spec §6.1).

Acceptance test of ``rk.agents.ppo`` without a bonus: ``rewardkit/Grid-v0`` 9×9
(border walls, a wall on row 4 columns 1–6, start (1,1), goal (7,1), optimal 18
steps), 100-step limit, flattened wall/agent/goal planes; 64 envs × 128 steps, 4
seeds vmapped, 61 updates (≈ 2 M env steps over all seeds); separate 2×64-tanh
actor and critic; Adam 2.5e-4 (eps 1e-5), global-norm clip 0.5; 4 epochs × 4
minibatches; clip 0.2 (value clip 0.2); λ 0.95; γ 0.99; value coefficient 0.5;
entropy 0.01. The shaped run puts ``PotentialShaping(Φ = −BFS/10, γ = 0.99)``
inside ``AutoReset``.

Spec reference (success first quarter / last quarter / mean length last quarter):
none 13.7 % / 93.6 % / 24.4; −BFS/10 24.1 % / 100 % / 18.06. Acceptance: shaped
last-quarter success ≥ 99 % with length ≤ 19; unshaped 85–97 %.

Measured (``python -m experiments ppo_grid``, 4 seeds, jax 0.10.2, CPU AMD EPYC 2
cores shared with other jobs): none 6.7 % / 94.0 % / 23.5; −BFS/10 5.1 % / 100 % /
18.72. The last-quarter figures meet the acceptance bands; first-quarter success
is lower than the reference's (learning starts later), see docs/reproductions.md.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import _common
from rewardkit.agents import ppo
from rewardkit.core import find_state
from rewardkit.envs import GridState, GridWorld

DESCRIPTION = "PPO on a 9x9 grid with/without a -BFS potential (intrinsic §6.1)"

LAYOUT = """
#########
#S......#
#.......#
#.......#
#######.#
#.......#
#.......#
#G......#
#########
"""

CONFIG = ppo.Config(
    num_envs=64,
    rollout_len=128,
    num_updates=61,
    update_epochs=4,
    num_minibatches=4,
    lr=2.5e-4,
    adam_eps=1e-5,
    max_grad_norm=0.5,
    gamma=0.99,
    gae_lambda=0.95,
    clip_eps=0.2,
    value_clip=0.2,
    vf_coef=0.5,
    ent_coef=0.01,
    shared_torso=False,
    hidden=(64, 64),
    activation="tanh",
)

SPEC = {
    "none": (0.137, 0.936, 24.4),
    "neg_bfs": (0.241, 1.0, 18.06),
}


def _potential_shaping():
    try:
        from rewardkit.shaping.functional import PotentialShaping
    except ImportError:  # the shaping package's public surface is not wired yet
        from rewardkit.shaping._functional import PotentialShaping
    return PotentialShaping


def make_env(shaped: bool):
    env = GridWorld(LAYOUT, obs="planes", max_steps=100)
    if not shaped:
        return env
    bfs = jnp.asarray(env.bfs_distances(), jnp.float32)

    def neg_bfs(state, params):
        del params  # the potential reads only the agent's cell
        return -bfs[find_state(state, GridState).pos] / 10.0

    return _potential_shaping()(env, neg_bfs, gamma=0.99, truncation="bootstrap")


def summarise(metrics: dict, name: str) -> dict:
    eps = np.asarray(metrics["episodes"], np.float64)  # [seeds, updates]
    succ = np.asarray(metrics["successes"], np.float64)
    length = np.asarray(metrics["length_sum"], np.float64)
    n = eps.shape[1]
    q = max(n // 4, 1)
    first, last = slice(0, q), slice(n - q, n)
    return {
        "shaping": name,
        "success_first_quarter": succ[:, first].sum() / max(eps[:, first].sum(), 1),
        "success_last_quarter": succ[:, last].sum() / max(eps[:, last].sum(), 1),
        "length_last_quarter": length[:, last].sum() / max(eps[:, last].sum(), 1),
        "spec_first": SPEC[name][0],
        "spec_last": SPEC[name][1],
        "spec_length": SPEC[name][2],
    }


def main(argv=None):
    args = _common.parser(DESCRIPTION, seeds=4).parse_args(argv)
    config = CONFIG
    seeds = args.seeds
    if args.quick:
        config = ppo.Config(**{**CONFIG.__dict__, "num_envs": 16, "num_updates": 8})
        seeds = min(seeds, 2)
    out = _common.out_dir("ppo_grid", args)
    keys = _common.seed_keys(seeds)
    rows, curves = [], {}
    for name in ("none", "neg_bfs"):
        train = ppo.make_train(config, env=make_env(name == "neg_bfs"))
        t0 = time.perf_counter()
        metrics = _common.run_sharded(train, keys, devices=args.devices)
        jax.block_until_ready(metrics)
        wall = time.perf_counter() - t0
        row = summarise(metrics, name)
        row["seconds"] = wall
        row["env_steps_per_s"] = seeds * config.total_steps / wall
        rows.append(row)
        eps = np.asarray(metrics["episodes"], np.float64).sum(0)
        curves[name] = (
            np.asarray(metrics["successes"], np.float64).sum(0) / np.maximum(eps, 1),
            np.asarray(metrics["length_sum"], np.float64).sum(0) / np.maximum(eps, 1),
        )
    _common.print_table(rows, "PPO on the 9x9 grid (spec: intrinsic §6.1)")
    _common.write_csv(out / "summary.csv", rows)
    curve_rows = [
        {
            "shaping": name,
            "update": i,
            "env_steps": (i + 1) * config.batch_size,
            "success_rate": float(s),
            "mean_length": float(ln),
        }
        for name, (succ, lens) in curves.items()
        for i, (s, ln) in enumerate(zip(succ, lens, strict=True))
    ]
    _common.write_csv(out / "curves.csv", curve_rows)
    plt = _common.pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    for name, (succ, lens) in curves.items():
        steps = (np.arange(len(succ)) + 1) * config.batch_size
        ax[0].plot(steps, succ, label=name)
        ax[1].plot(steps, lens, label=name)
    ax[0].set(xlabel="env steps per seed", ylabel="success rate", ylim=(0, 1.05))
    ax[1].set(xlabel="env steps per seed", ylabel="mean episode length")
    ax[1].axhline(18, color="grey", ls=":", label="optimal")
    ax[0].legend()
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out / "ppo_grid.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
