"""Reward-machine automata: per-step cost on the host and under jit, compile/flatten.

Compares, on the same machine and labels:

* the graph semantics (``RewardMachine.step``, Python sets), the reference;
* ``CompiledMachine.step`` on NumPy scalars (the host path of the Gymnasium shell);
* ``CompiledMachine.step`` jitted, one call per step (per-step JAX dispatch);
* ``CompiledMachine.step`` vmapped over N machine states and scanned over T steps.

and times ``flatten`` + ``compile`` on the doubling hierarchy (2**h + 1 states).

Run: ``python -m benchmarks.machines_automata [--quick] [--steps N] [--batch N]``.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks._timing import best_of, block, machine
from experiments.machines_flat_vs_hierarchy import doubling
from rewardkit.machines import (
    compile,
    label_to_mask,
)
from rewardkit.machines.tasks import OFFICE_PROPOSITIONS, office_tasks


def per_step(fn, labels, state) -> float:
    """µs per step of ``state = fn(state, label)`` over ``labels``."""
    t0 = time.perf_counter()
    for label in labels:
        state = fn(state, label)
    block(state)
    return 1e6 * (time.perf_counter() - t0) / len(labels)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--steps", type=int, default=20_000, help="host steps timed")
    p.add_argument("--batch", type=int, default=4096, help="vmapped machine states")
    p.add_argument("--scan", type=int, default=1000, help="scanned steps per batch")
    args = p.parse_args(argv)
    steps = 2000 if args.quick else args.steps
    batch, scan = (256, 100) if args.quick else (args.batch, args.scan)
    print(f"machine: {machine()}")

    m = office_tasks()[2]  # coffee and mail in any order, then the office
    cm = compile(m)
    rng = np.random.default_rng(0)
    domain = m.label_domain.labels()
    sets = [domain[i] for i in rng.integers(0, len(domain), steps)]
    raws = [np.uint32(label_to_mask(x, OFFICE_PROPOSITIONS)) for x in sets]

    def graph(u, label):
        v, _ = m.step(u, label)
        return m.initial if m.is_terminal(v) else v

    def host(u, label):
        v, _, acc, rej = cm.step(u, label)
        return cm.initial if (acc or rej) else v

    dev = jax.tree.map(jnp.asarray, cm)
    step_jit = jax.jit(lambda u, label: dev.step(u, label)[0])
    block(step_jit(jnp.int32(0), jnp.uint32(0)))
    jlabels = [jnp.uint32(x) for x in raws]
    rows = [
        ("graph semantics (Python sets)", per_step(graph, sets, m.initial)),
        ("compiled step, NumPy host path", per_step(host, raws, cm.initial)),
        ("compiled step, jit per step", per_step(step_jit, jlabels, jnp.int32(0))),
    ]
    print(
        f"\nOfficeWorld t3 machine ({cm.num_states} states, {cm.num_columns} columns)"
    )
    print(f"{'path':34s} µs/step")
    for name, us in rows:
        print(f"{name:34s} {us:8.2f}")

    def rollout(labels):
        def body(u, label):
            v, r, acc, rej = dev.step(u, label)
            return jnp.where(acc | rej, dev.initial, v), r

        u0 = jnp.full((batch,), dev.initial, jnp.int32)
        return jax.lax.scan(body, u0, labels)

    rollout = jax.jit(rollout)
    labels = jnp.asarray(
        rng.choice(
            np.asarray([label_to_mask(x, OFFICE_PROPOSITIONS) for x in domain]),
            (scan, batch),
        ),
        jnp.uint32,
    )
    block(rollout(labels))
    best, med = best_of(lambda: block(rollout(labels)), 5)
    print(
        f"\nvmap x scan: {batch} states x {scan} steps: median {1e3 * med:.2f} ms "
        f"({1e9 * med / (batch * scan):.2f} ns per machine step, best {1e3 * best:.2f} ms)"
    )

    print("\nflatten + compile of the doubling hierarchy")
    print(f"{'h':>3s} {'flat states':>12s} {'flatten ms':>11s} {'compile ms':>11s}")
    for h in (4, 6, 8) if args.quick else (4, 6, 8, 10):
        hier = doubling(h)
        t0 = time.perf_counter()
        flat = hier.flatten()
        t1 = time.perf_counter()
        compile(flat)
        t2 = time.perf_counter()
        print(
            f"{h:3d} {len(flat.states):12d} {1e3 * (t1 - t0):11.1f} {1e3 * (t2 - t1):11.1f}"
        )


if __name__ == "__main__":
    main()
