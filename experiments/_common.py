"""Shared plumbing for experiments: arguments, output folder, CSV, plots, seeds.

Each experiment module ``experiments/NAME.py`` defines ``DESCRIPTION`` (one line:
the result it reproduces) and ``main(argv=None)``; the runner discovers it.
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

RESULTS = Path(os.environ.get("REWARDKIT_RESULTS", "results"))


def parser(description: str, *, seeds: int = 32) -> argparse.ArgumentParser:
    """The common arguments: --quick, --seeds, --devices, --out."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny budget (CI smoke run)")
    p.add_argument("--seeds", type=int, default=seeds, help="number of seeds")
    p.add_argument(
        "--devices",
        type=int,
        default=1,
        help="shard the seed axis over this many devices (jax.sharding mesh)",
    )
    p.add_argument("--out", type=Path, default=None, help="output folder")
    return p


def out_dir(name: str, args: argparse.Namespace | None = None) -> Path:
    """``results/NAME`` (or ``--out``), created."""
    path = args.out if args is not None and args.out else RESULTS / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Writes dict rows (same keys) as CSV; returns the path."""
    rows = list(rows)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(v) for k, v in r.items()})
    return path


def _fmt(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return f"{float(v):.6g}"
    return v


def print_table(rows: Sequence[dict[str, Any]], title: str = "") -> None:
    """Prints dict rows as an aligned text table."""
    rows = list(rows)
    if not rows:
        return
    keys = list(rows[0])
    cells = [[str(_fmt(r[k])) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    if title:
        print(title)
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)))


def progress(iterable: Iterable[Any], **kwargs: Any) -> Iterable[Any]:
    """A tqdm progress bar (to stderr)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def pyplot():
    """matplotlib.pyplot with the Agg backend (headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def seed_keys(num_seeds: int, seed: int = 0) -> jax.Array:
    """One PRNG key per seed."""
    return jax.random.split(jax.random.key(seed), num_seeds)


@functools.cache
def _jitted(fn: Callable[..., Any], n_args: int) -> Callable[..., Any]:
    # One jit per function: repeated calls (seed chunks) reuse its compile cache.
    return jax.jit(jax.vmap(fn, in_axes=(0,) + (None,) * n_args))


def run_sharded(
    fn: Callable[..., Any], keys: jax.Array, *args: Any, devices: int = 1
) -> Any:
    """Runs ``jit(vmap(fn))(keys, *args)`` with the seed axis sharded over devices.

    ``args`` are broadcast (not vmapped). The seed axis is padded to a multiple of
    the device count and laid on a 1-D mesh axis ``"seeds"``; GSPMD splits the
    vmapped computation. Results are trimmed back to ``len(keys)`` seeds.
    """
    n = keys.shape[0]
    if devices <= 1:
        return _jitted(fn, len(args))(keys, *args)
    available = jax.devices()
    if devices > len(available):
        raise ValueError(
            f"`--devices` {devices} exceeds the {len(available)} available devices; "
            "on CPU set XLA_FLAGS=--xla_force_host_platform_device_count=N."
        )
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = jax.make_mesh((devices,), ("seeds",), axis_types=(AxisType.Auto,))
    pad = (-n) % devices
    if pad:
        keys = jax.numpy.concatenate([keys, keys[:pad]])
    keys = jax.device_put(keys, NamedSharding(mesh, P("seeds")))
    out = _jitted(fn, len(args))(keys, *args)
    return jax.tree.map(lambda x: x[:n], out)
