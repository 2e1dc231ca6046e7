"""Shaping wrapper overhead, measured side by side in one run.

Run: ``python -m benchmarks.shaping [--quick] [--steps N] [--envs N] [--scan-steps N]``.

1. Gymnasium host path: ``rk.shaping.PotentialShaping`` with
   ``rk.shaping.minigrid.bfs_to_goal`` on ``MiniGrid-DoorKey-8x8-v0`` against the
   unwrapped ``gym.make`` stack and a plain Python PBRS wrapper (same potential),
   stepping the three alternately with the same actions; per-step medians. Bar
   (shaping spec §5.5): rewardkit adds <= 3 % to the median step (<= 2 µs).
2. Functional path: the in-scan cost of ``rk.shaping.functional.PotentialShaping``
   on a scanned, vmapped 8x8 GridWorld (random policy, same-step autoreset),
   plain and shaped programs timed alternately. Bar: <= 10 %.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/shaping.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gymnasium as gym
import jax
import minigrid  # noqa: F401 - registers the MiniGrid ids
import numpy as np

import rewardkit as rk
from benchmarks._timing import (
    FrozenStep,
    alternating_step_ns,
    block,
    blocked_step_ns,
    machine,
)
from benchmarks.envs import grid_program


class PlainPBRS(gym.Wrapper):
    """The simplest correct Python PBRS wrapper (the comparison column)."""

    def __init__(self, env, potential, gamma):
        super().__init__(env)
        self.potential, self.gamma, self.prev = potential, gamma, 0.0

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.potential.on_reset(self.env.unwrapped)
        self.prev = float(self.potential(self.env.unwrapped))
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        phi = 0.0 if terminated else float(self.potential(self.env.unwrapped))
        f = self.gamma * phi - self.prev
        self.prev = phi
        return obs, reward + f, terminated, truncated, {**info, "shaping_reward": f}


def minigrid_overhead(num_steps: int, env_id: str = "MiniGrid-DoorKey-8x8-v0"):
    """Median per-step µs of the base, rewardkit-shaped and plain-shaped envs."""
    envs = {
        "unwrapped": gym.make(env_id),
        "rk.shaping.PotentialShaping": rk.shaping.PotentialShaping(
            gym.make(env_id), rk.shaping.minigrid.bfs_to_goal(), 0.99
        ),
        "plain Python PBRS": PlainPBRS(
            gym.make(env_id), rk.shaping.minigrid.bfs_to_goal(), 0.99
        ),
    }
    times = alternating_step_ns(envs, num_steps)
    return {name: statistics.median(t) / 1e3 for name, t in times.items()}, {
        name: float(np.percentile(t, 90)) / 1e3 for name, t in times.items()
    }


def isolated_overhead(num_steps: int, env_id: str = "MiniGrid-DoorKey-8x8-v0"):
    """Median µs per step added by each wrapper over a zero-cost inner step."""
    med = blocked_step_ns(
        {
            "frozen step": FrozenStep(gym.make(env_id)),
            "rk.shaping.PotentialShaping": rk.shaping.PotentialShaping(
                FrozenStep(gym.make(env_id)), rk.shaping.minigrid.bfs_to_goal(), 0.99
            ),
            "plain Python PBRS": PlainPBRS(
                FrozenStep(gym.make(env_id)), rk.shaping.minigrid.bfs_to_goal(), 0.99
            ),
        },
        num_steps,
    )
    return {name: (m - med["frozen step"]) / 1e3 for name, m in med.items()}


def scan_overhead(num_envs: int, num_steps: int, repeats: int):
    """Median env-steps/s of the plain and shaped programs, timed alternately."""
    progs = {s: grid_program(num_envs, num_steps, s) for s in (False, True)}
    for p in progs.values():
        block(p(jax.random.key(0)))  # compile
    times = {False: [], True: []}
    for r in range(repeats):
        for s in (False, True) if r % 2 == 0 else (True, False):
            t0 = time.perf_counter()
            block(progs[s](jax.random.key(r + 1)))
            times[s].append(time.perf_counter() - t0)
    return {s: num_envs * num_steps / statistics.median(t) for s, t in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    p.add_argument("--steps", type=int, default=30_000, help="MiniGrid steps per env")
    p.add_argument("--envs", type=int, default=1024, help="vmapped grid envs")
    p.add_argument("--scan-steps", type=int, default=1000, help="scan length")
    p.add_argument("--repeats", type=int, default=10, help="timed runs per program")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.envs, args.scan_steps, args.repeats = 2000, 64, 100, 3
    print(f"machine: {machine()}")
    med, p90 = minigrid_overhead(args.steps)
    base = med["unwrapped"]
    print(
        f"\nMiniGrid-DoorKey-8x8-v0, {args.steps} steps each, alternating; per-step µs"
    )
    print(f"{'env':32s} {'median':>8s} {'p90':>8s} {'added':>8s} {'added %':>8s}")
    for name in med:
        add = med[name] - base
        print(
            f"{name:32s} {med[name]:8.2f} {p90[name]:8.2f} {add:8.2f} {100 * add / base:7.2f}%"
        )
    iso = isolated_overhead(args.steps * 10)
    print("\nisolated wrapper cost over a zero-cost inner step (µs/step):")
    for name in ("rk.shaping.PotentialShaping", "plain Python PBRS"):
        print(
            f"{name:32s} {iso[name]:8.2f}   ({100 * iso[name] / base:.2f}% of the median step)"
        )
    sps = scan_overhead(args.envs, args.scan_steps, args.repeats)
    cost = sps[False] / sps[True] - 1.0
    print(
        f"\nGridWorld 8x8, {args.envs} envs x {args.scan_steps} steps, scan+vmap, SameStep"
    )
    print(f"plain:  {sps[False] / 1e6:8.2f} M env-steps/s")
    print(
        f"shaped: {sps[True] / 1e6:8.2f} M env-steps/s   in-scan cost {100 * cost:.1f}%"
    )
    return med, sps


if __name__ == "__main__":
    main()
