"""Env-steps/s of the jitted PPO (``rk.agents.ppo``), plain and with each bonus.

Workloads:

* ``grid``: intrinsic spec §6.1 (9×9 grid, planes, 64 envs × 128 steps, 4 seeds,
  separate 2×64-tanh actor/critic). Reference (shaping spec §5.5): 59–71 k
  env-steps/s on the 2-core CPU, compile + first run 38–54 s.
* ``doorkey``: ``rk.envs.DoorKey(8)`` (7×7×3 view, MiniGrid actions), Table 3
  PPO (256 envs × 32 steps, 4 epochs × 8 minibatches), MLP 256-256; plain PPO
  and with each available bonus (flat ``"mlp"`` bonus encoder). Spec §5.2: a
  bonus at most halves plain PPO's env-steps/s.

Each row times one ``jit(vmap(train))`` call: compile + first run, then the best
of ``--repeats`` further runs (env steps of every seed / seconds, warm-up
rollouts excluded from the count but not from the time: they are zero here).

Run: ``python -m benchmarks.ppo [--quick] [--workloads grid,doorkey]``.
On XLA:CPU the module turns the concurrency-optimised thunk scheduler off
(``--xla_cpu_enable_concurrency_optimized_scheduler=false``): it deadlocked on some
of these programs (jax 0.10.2, see docs/reproductions.md).
"""

from __future__ import annotations

import argparse
import time

import jax

from benchmarks._timing import best_of, machine
from rewardkit import intrinsic
from rewardkit.agents import ppo
from rewardkit.envs import DoorKey, GridWorld

GRID = """
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
BONUSES = ("icm", "rnd", "disagreement", "e3b", "pseudo_counts", "ride", "ngu", "re3")


def grid_case(updates: int, envs: int):
    cfg = ppo.Config(
        num_envs=envs,
        rollout_len=128,
        num_updates=updates,
        num_minibatches=4,
        value_clip=0.2,
        shared_torso=False,
        hidden=(64, 64),
    )
    env = GridWorld(GRID, obs="planes", max_steps=100)
    return [("grid/ppo", cfg, None, env)]


def doorkey_case(updates: int, envs: int, bonuses: list[str]):
    cfg = ppo.Config(
        num_envs=envs,
        rollout_len=32,
        num_updates=updates,
        num_minibatches=8,
        hidden=(256, 256),
        activation="relu",
        warmup_rollouts=0,
    )
    env = DoorKey(size=8)
    cases = [("doorkey/ppo", cfg, None, env)]
    for name in bonuses:
        factory = getattr(intrinsic, name, None)
        if callable(factory):
            bonus = factory(num_envs=envs, encoder="mlp", warmup_transitions=0)
            cases.append((f"doorkey/{name}", cfg, bonus, env))
    return cases


def run(name, cfg, bonus, env, seeds: int, repeats: int) -> dict:
    train = jax.jit(jax.vmap(ppo.make_train(cfg, bonus, env=env)))
    keys = jax.random.split(jax.random.key(0), seeds)
    t0 = time.perf_counter()
    jax.block_until_ready(train(keys))
    first = time.perf_counter() - t0
    best, median = best_of(lambda: jax.block_until_ready(train(keys)), repeats)
    steps = seeds * cfg.total_steps
    return {
        "case": name,
        "seeds": seeds,
        "envs": cfg.num_envs,
        "env_steps": steps,
        "compile_plus_first_s": round(first, 2),
        "best_s": round(best, 3),
        "median_s": round(median, 3),
        "env_steps_per_s": round(steps / best),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    p.add_argument("--workloads", default="grid,doorkey")
    p.add_argument("--bonuses", default=",".join(BONUSES))
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--grid-updates", type=int, default=61)
    p.add_argument("--doorkey-updates", type=int, default=20)
    p.add_argument("--grid-envs", type=int, default=64)
    p.add_argument("--doorkey-envs", type=int, default=256)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.grid_updates, args.doorkey_updates = 2, 2, 2
        args.grid_envs, args.doorkey_envs, args.repeats = 16, 32, 1
    work = [w.strip() for w in args.workloads.split(",") if w.strip()]
    cases = []
    if "grid" in work:
        cases += grid_case(args.grid_updates, args.grid_envs)
    if "doorkey" in work:
        names = [b.strip() for b in args.bonuses.split(",") if b.strip()]
        cases += doorkey_case(args.doorkey_updates, args.doorkey_envs, names)
    print(f"# {machine()}")
    rows = []
    for case in cases:
        try:
            row = run(*case, seeds=args.seeds, repeats=args.repeats)
        except (
            Exception
        ) as e:  # report and go on: one broken bonus must not hide the rest
            print(f"case={case[0]}  FAILED: {type(e).__name__}: {e}", flush=True)
            continue
        rows.append(row)
        print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return rows


if __name__ == "__main__":
    main()
