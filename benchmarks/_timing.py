"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import jax
import numpy as np


def machine() -> str:
    """A one-line description of the machine: CPU model and threads, or the GPU."""
    dev = jax.devices()[0]
    if dev.platform != "cpu":
        return f"{dev.device_kind} ({dev.platform}), jax {jax.__version__}"
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    return f"{model}, {os.cpu_count()} threads, jax {jax.__version__}"


def best_of(fn: Callable[[], Any], repeats: int = 5) -> tuple[float, float]:
    """(min, median) wall time of ``fn()`` (which must block) over ``repeats``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def block(x: Any) -> Any:
    """Blocks until every array of ``x`` is ready."""
    return jax.block_until_ready(x)


class FrozenStep(gym.Wrapper):
    """Replays the last real step at ~zero cost; ``unwrapped`` stays the inner env.

    Wrapping it isolates a wrapper's own per-step cost (a MiniGrid potential or
    labeler still reads the real ``agent_pos``, ``carrying`` and door).
    """

    def reset(self, *, seed=None, options=None):
        out = self.env.reset(seed=seed, options=options)
        self._last = self.env.step(2)
        return out

    def step(self, action):
        obs, reward, _, _, info = self._last
        return obs, reward, False, False, info


def alternating_step_ns(envs: dict[str, gym.Env], num_steps: int) -> dict[str, list]:
    """Per-step ns of each MiniGrid env, stepped in turn with the same actions.

    One seed for all: identical layouts and, with the same actions, identical
    trajectories, so the envs do the same MiniGrid work every step. The order
    rotates so that no env always runs first (cache warmth).
    """
    for env in envs.values():
        env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 7, size=num_steps)
    clock = time.perf_counter_ns
    names = list(envs)
    times = {name: [] for name in envs}
    for k, a in enumerate(actions):
        a = int(a)
        r = k % len(names)
        for name in names[r:] + names[:r]:
            env = envs[name]
            t0 = clock()
            _, _, term, trunc, _ = env.step(a)
            times[name].append(clock() - t0)
            if term or trunc:
                env.reset()
    return times


def blocked_step_ns(envs: dict[str, gym.Env], num_steps: int) -> dict[str, float]:
    """Median ns per step of each env, timed in blocks of 100 steps (action 2)."""
    for env in envs.values():
        env.reset(seed=0)
    clock = time.perf_counter_ns
    times = {name: [] for name in envs}
    for _ in range(max(num_steps // 100, 1)):
        for name, env in envs.items():
            step = env.step
            t0 = clock()
            for _ in range(100):
                step(2)
            times[name].append((clock() - t0) / 100)
    return {name: statistics.median(t) for name, t in times.items()}
