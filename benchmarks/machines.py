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
import minigrid  # noqa: F401 - registers the MiniGrid ids
import numpy as np

import rewardkit as rk
from benchmarks._timing import block, machine
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
    """Median per-step µs of the unwrapped env and the product env."""
    envs = {
        "unwrapped": gym.make(ENV_ID),
        "rk.machines.ProductEnv": product(gym.make(ENV_ID)),
    }
    for env in envs.values():
        env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 7, size=num_steps)
    clock = time.perf_counter_ns
    names = list(envs)
    times = {name: [] for name in envs}
    for k, a in enumerate(actions):
        a = int(a)
        for name in names[k % 2 :] + names[: k % 2]:  # alternate who runs first
            env = envs[name]
            t0 = clock()
            _, _, term, trunc, _ = env.step(a)
            times[name].append(clock() - t0)
            if term or trunc:
                env.reset()
    return {name: statistics.median(t) / 1e3 for name, t in times.items()}


class FrozenStep(gym.Wrapper):
    """Replays the last real step at ~zero cost; ``unwrapped`` stays MiniGrid."""

    def reset(self, *, seed=None, options=None):
        out = self.env.reset(seed=seed, options=options)
        self._last = self.env.step(2)
        return out

    def step(self, action):
        obs, reward, _, _, info = self._last
        return obs, reward, False, False, info


def isolated_overhead(num_steps: int) -> float:
    """Median µs per step the product wrapper adds over a zero-cost inner step."""
    frozen, wrapped = (
        FrozenStep(gym.make(ENV_ID)),
        product(FrozenStep(gym.make(ENV_ID))),
    )
    frozen.reset(seed=0)
    wrapped.reset(seed=0)
    clock = time.perf_counter_ns
    times = {"frozen": [], "product": []}
    for _ in range(max(num_steps // 100, 1)):
        for name, env in (("frozen", frozen), ("product", wrapped)):
            step = env.step
            t0 = clock()
            for _ in range(100):
                step(2)
            times[name].append((clock() - t0) / 100)
    med = {k: statistics.median(v) for k, v in times.items()}
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
