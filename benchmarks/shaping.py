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
import jax.numpy as jnp
import minigrid  # noqa: F401 - registers the MiniGrid ids
import numpy as np

import rewardkit as rk
from benchmarks._timing import block, machine
from rewardkit.core import AutoReset
from rewardkit.envs import GridWorld

GRID_8X8 = """
########
#S.....#
#......#
#......#
#.....##
#......#
#.....G#
########"""
GRID_8X8 = "\n".join(
    row if i != 4 else "#" + "#" * 5 + ".#"
    for i, row in enumerate(GRID_8X8.strip().split("\n"))
)


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
    times = {name: [] for name in envs}
    for env in envs.values():
        # One seed for all: identical layouts and, with the same actions, identical
        # trajectories, so the three envs do the same MiniGrid work every step.
        env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 7, size=num_steps)
    clock = time.perf_counter_ns
    names = list(envs)
    for k, a in enumerate(actions):
        a = int(a)
        # Rotate the order so that no env always runs first (cache warmth).
        for name in names[k % 3 :] + names[: k % 3]:
            env = envs[name]
            t0 = clock()
            _, _, term, trunc, _ = env.step(a)
            times[name].append(clock() - t0)
            if term or trunc:
                env.reset()
    return {name: statistics.median(t) / 1e3 for name, t in times.items()}, {
        name: float(np.percentile(t, 90)) / 1e3 for name, t in times.items()
    }


class FrozenStep(gym.Wrapper):
    """Replays the last real step at ~zero cost; ``unwrapped`` stays the MiniGrid env.

    Wrapping it isolates a shaping wrapper's own per-step cost (the potential still
    reads the real ``agent_pos``, ``carrying`` and door).
    """

    def reset(self, *, seed=None, options=None):
        out = self.env.reset(seed=seed, options=options)
        self._last = self.env.step(2)
        return out

    def step(self, action):
        obs, reward, _, _, info = self._last
        return obs, reward, False, False, info


def isolated_overhead(num_steps: int, env_id: str = "MiniGrid-DoorKey-8x8-v0"):
    """Median ns per step added by each wrapper over a zero-cost inner step."""
    envs = {
        "frozen step": FrozenStep(gym.make(env_id)),
        "rk.shaping.PotentialShaping": rk.shaping.PotentialShaping(
            FrozenStep(gym.make(env_id)), rk.shaping.minigrid.bfs_to_goal(), 0.99
        ),
        "plain Python PBRS": PlainPBRS(
            FrozenStep(gym.make(env_id)), rk.shaping.minigrid.bfs_to_goal(), 0.99
        ),
    }
    for env in envs.values():
        env.reset(seed=0)
    clock = time.perf_counter_ns
    times = {name: [] for name in envs}
    for _ in range(num_steps // 100):
        for name, env in envs.items():
            step = env.step
            t0 = clock()
            for _ in range(100):
                step(2)
            times[name].append((clock() - t0) / 100)
    med = {name: statistics.median(t) for name, t in times.items()}
    return {name: (m - med["frozen step"]) / 1e3 for name, m in med.items()}


def scan_program(num_envs: int, num_steps: int, shaped: bool):
    """A jitted ``key -> total reward`` over a vmapped, scanned random rollout."""
    base = GridWorld(GRID_8X8, max_steps=256)
    env = base
    if shaped:
        env = rk.shaping.functional.PotentialShaping(
            base, rk.shaping.neg_distance(base), 0.99
        )
    env = AutoReset(env, mode="SameStep")
    params = base.default_params()

    @jax.jit
    def run(key):
        _, state = jax.vmap(env.reset, (0, None))(
            jax.random.split(key, num_envs), params
        )

        def body(carry, k):
            state, total = carry
            k_a, k_e = jax.random.split(k)
            actions = jax.random.randint(k_a, (num_envs,), 0, 4)
            _, state, r, *_ = jax.vmap(env.step, (0, 0, 0, None))(
                jax.random.split(k_e, num_envs), state, actions, params
            )
            return (state, total + r.sum()), None

        (_, total), _ = jax.lax.scan(
            body, (state, jnp.float32(0.0)), jax.random.split(key, num_steps)
        )
        return total

    return run


def scan_overhead(num_envs: int, num_steps: int, repeats: int):
    """Median env-steps/s of the plain and shaped programs, timed alternately."""
    progs = {s: scan_program(num_envs, num_steps, s) for s in (False, True)}
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
