"""Reward machines, environment side: product-wrapper overhead and CRM throughput.

1. ``rk.machines.ProductEnv`` with ``MiniGridLabeler`` on ``MiniGrid-DoorKey-6x6-v0``
   (machine ``carry_key_yellow → open_door_yellow → on_goal``) against the
   unwrapped MiniGrid env, stepped alternately with the same actions (identical
   trajectories: the product's ``reward_mode`` does not touch the inner env);
   per-step medians. Bar: at most 5 % added to the median step. The wrapper's own
   cost is also isolated over a frozen (zero-cost) inner step.
2. Jitted counterfactual Q-learning on OfficeWorld (four tasks, U = 20 machine
   states: every real step updates all 20 counterfactual experiences),
   ``rk.agents.make_counterfactual_train`` vmapped over seeds. Bar: at least 1
   million real env-steps/s on the 2-core CPU.

Run ``python -m benchmarks.machines`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import jax

import rewardkit as rk
from benchmarks._timing import (
    FrozenStep,
    alternating_step_ns,
    block,
    blocked_step_ns,
    machine,
)
from rewardkit.machines import MiniGridLabeler, RewardMachine

ENV_ID = "MiniGrid-DoorKey-6x6-v0"
PROPS = ("carry_key_yellow", "open_door_yellow", "on_goal")
DOORKEY_RM = RewardMachine.from_edges(
    [
        ("u0", "u1", "carry_key_yellow"),
        ("u1", "u2", "open_door_yellow"),
        ("u2", "acc", "on_goal", 1.0),
    ],
    initial="u0",
    accepting=["acc"],
)


def product(env: gym.Env) -> gym.Env:
    return rk.machines.ProductEnv(env, DOORKEY_RM, MiniGridLabeler(PROPS))


def minigrid_overhead(num_steps: int) -> dict[str, float]:
    import minigrid  # noqa: F401 - registers the MiniGrid ids (only this part needs it)

    """Median per-step µs of the unwrapped env and the product env."""
    envs = {
        "unwrapped": gym.make(ENV_ID),
        "rk.machines.ProductEnv": product(gym.make(ENV_ID)),
    }
    times = alternating_step_ns(envs, num_steps)
    return {name: statistics.median(t) / 1e3 for name, t in times.items()}


def isolated_overhead(num_steps: int) -> float:
    """Median µs per step the product wrapper adds over a zero-cost inner step."""
    med = blocked_step_ns(
        {
            "frozen": FrozenStep(gym.make(ENV_ID)),
            "product": product(FrozenStep(gym.make(ENV_ID))),
        },
        num_steps,
    )
    return (med["product"] - med["frozen"]) / 1e3


def crm_throughput(seeds: int, num_envs: int, steps: int, repeats: int) -> dict:
    """Real env-steps/s of jitted counterfactual Q-learning on OfficeWorld."""
    env = rk.machines.tasks.office_product()
    cfg = rk.agents.CounterfactualConfig(num_steps=steps, num_envs=num_envs)
    train = jax.jit(jax.vmap(rk.agents.make_counterfactual_train(cfg, env)))
    keys = jax.random.split(jax.random.key(0), seeds)
    t0 = time.perf_counter()
    block(train(keys))
    compile_s = time.perf_counter() - t0
    times = []
    for i in range(repeats):
        keys = jax.random.split(jax.random.key(i + 1), seeds)
        t0 = time.perf_counter()
        block(train(keys))
        times.append(time.perf_counter() - t0)
    n = seeds * num_envs * steps
    return {
        "machine_states": env.num_machine_states,
        "env_steps": n,
        "compile_s": compile_s,
        "median_steps_per_s": n / statistics.median(times),
        "best_steps_per_s": n / min(times),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run")
    p.add_argument("--steps", type=int, default=20_000, help="MiniGrid steps per env")
    p.add_argument("--seeds", type=int, default=64, help="CRM seeds (vmapped)")
    p.add_argument("--envs", type=int, default=16, help="CRM envs per seed")
    p.add_argument("--crm-steps", type=int, default=5_000, help="CRM steps per env")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.seeds, args.envs, args.crm_steps = 2_000, 8, 8, 500
    print(f"machine: {machine()}")
    med = minigrid_overhead(args.steps)
    base = med["unwrapped"]
    print(f"\n{ENV_ID}, {args.steps} steps each, alternating; per-step µs")
    for name, m in med.items():
        print(f"  {name:28s} median {m:7.2f}   added {100 * (m / base - 1):+6.2f}%")
    iso = isolated_overhead(args.steps)
    print(
        f"  wrapper alone (frozen inner step): {iso:.2f} µs ({100 * iso / base:.2f}%)"
    )
    out = crm_throughput(args.seeds, args.envs, args.crm_steps, 1 if args.quick else 3)
    print(
        f"\nOfficeWorld CRM Q-learning (U = {out['machine_states']}), {args.seeds} seeds"
        f" x {args.envs} envs x {args.crm_steps} steps: median "
        f"{out['median_steps_per_s'] / 1e6:.2f} M env-steps/s (best "
        f"{out['best_steps_per_s'] / 1e6:.2f} M; compile {out['compile_s']:.1f} s)"
    )


if __name__ == "__main__":
    main()
