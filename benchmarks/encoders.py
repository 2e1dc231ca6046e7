"""The small-image encoders: patch convolutions against XLA's convolution.

rewardkit's ``"minigrid"`` and ``"espeholt"`` encoders compute each convolution as
one matrix product over image patches (``conv_patches``) and the ``"minigrid"``
max-pool as a reshape and a max. This times their forward pass and the gradient
of a scalar loss with respect to every parameter, on a batch of MiniGrid-sized
images, against the same encoder computed with XLA's convolution and max-pool
(``nnx.Conv.__call__``, ``nnx.max_pool``), in the same process. Medians of
``--repeats`` calls after three warm-ups; one core by default (``--threads 1``
pins the process and turns off XLA's multi-threaded Eigen).

    python -m benchmarks.encoders [--batch 1024] [--size 7] [--threads 1|default]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _xla_forward(enc, x):
    """The encoder with XLA's convolution and max-pool (what it used to run)."""
    import jax
    from flax import nnx

    for i, conv in enumerate(enc.convs):
        x = conv(x)
        x = jax.nn.elu(x) if enc.kind == "espeholt" else jax.nn.relu(x)
        if enc.kind == "minigrid" and i == 0:
            x = nnx.max_pool(x, (2, 2), strides=(2, 2))
    x = enc.head(x.reshape(x.shape[0], -1))
    return x if enc.kind == "minigrid" else jax.nn.relu(x)


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--size", type=int, default=7, help="image height and width")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--threads", choices=("1", "default"), default="1")
    p.add_argument("--quick", action="store_true", help="batch 64, 3 repeats")
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.repeats = 64, 3
    if args.threads == "1" and "jax" not in sys.modules:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (
            flags + " --xla_cpu_multi_thread_eigen=false"
        ).strip()
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import gymnasium as gym
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    from benchmarks._timing import machine
    from rewardkit.intrinsic._nets import Encoder
    from rewardkit.intrinsic._spaces import make_spec

    space = gym.spaces.Box(0, 255, (args.size, args.size, 3), np.uint8)
    spec = make_spec(space, None, needs_action=False)
    x = jax.random.uniform(jax.random.key(1), (args.batch, args.size, args.size, 3))
    print(f"# {machine()}; batch {args.batch} x {args.size}x{args.size}x3, "
          f"threads {args.threads}; medians of {args.repeats} (ms)")  # fmt: skip
    rows = []
    for kind in ("minigrid", "espeholt"):
        enc = Encoder(spec, kind, 128, 256, "orthogonal", nnx.Rngs(0))
        graph, params = nnx.split(enc)
        paths = {
            "xla conv": lambda p, x, g=graph: _xla_forward(nnx.merge(g, p), x),
            "patches": lambda p, x, g=graph: nnx.merge(g, p)(x),
        }
        for name, f in paths.items():
            fwd = jax.jit(f)
            grad = jax.jit(jax.grad(lambda p, x, f=f: jnp.sum(f(p, x) ** 2)))
            times = {"forward": [], "gradient": []}
            for i in range(args.repeats + 3):
                for what, fn in (("forward", fwd), ("gradient", grad)):
                    start = time.perf_counter()
                    jax.block_until_ready(fn(params, x))
                    if i >= 3:
                        times[what].append(1e3 * (time.perf_counter() - start))
            row = {"encoder": kind, "path": name}
            row.update({k: round(statistics.median(v), 3) for k, v in times.items()})
            rows.append(row)
            print(f"{kind:9s} {name:9s} forward {row['forward']:8.2f}  "
                  f"gradient {row['gradient']:8.2f}", flush=True)  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
