"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax


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
