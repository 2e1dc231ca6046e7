"""Intrinsic bonuses: time to score one rollout plus one update, against the FLOP floor.

Workload (spec §5.1): 8 envs x 128 steps of ``MiniGrid-DoorKey-8x8-v0`` under a
random policy, recorded once (flat 147-d uint8 observations, |A| = 7) and replayed
into every bonus at its defaults and under ``preset="rllte"`` (the anchor's
arithmetic; statistics warmed by one rollout first).

(a) computing the bonuses of the rollout: one batched ``compute`` over [128, 8],
    and, for the per-step front-end path, 128 calls with T = 1;
(b) one ``update`` (one epoch: 4 Adam steps of 256).

Each threading mode runs in its own subprocess, since XLA reads its thread flags at
start-up: ``--threads 1`` pins the process to one core and turns off XLA:CPU's
multi-threaded Eigen, ``--threads default`` leaves both alone. FLOPs are counted analytically
(:func:`flops`; a multiply-add is 2, a backward pass 2x its forward; XLA's cost
analysis counts a ``lax.scan`` body once, so it cannot be used); the floor is
FLOPs / (float32 matmul peak of this process, measured here).

    python benchmarks/intrinsic.py            # both threading modes
    python benchmarks/intrinsic.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

BONUSES = ("rnd", "icm", "disagreement", "e3b")
#: The anchor's one-thread figures on a similar 2-vCPU host (spec §5.1, medians of
#: two runs, rllte-core 1.0.1, torch 2.13 CPU); not measured in the same run.
ANCHOR_MS = {  # (a) compute, (b) update
    "rnd": (9.0, 14.7),
    "icm": (10.25, 44.25),
    "disagreement": (39.6, 25.0),
    "e3b": (37.8, 36.1),
}
# One thread: no multi-threaded Eigen, and the worker pins itself to one core.
# (``intra_op_parallelism_threads=1`` deadlocked XLA:CPU here in one of five runs.)
SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false"


def flops(name: str, b: int, preset=None, d_in=147, hidden=256, latent=128, actions=7):
    """Analytic (a) compute and (b) update FLOPs of a bonus (defaults or preset)."""
    members = 4 if preset == "rllte" else 5
    enc = 2 * (d_in * hidden + hidden * latent)  # encoder forward, per sample
    fwd = 2 * ((latent + actions) * hidden + hidden * latent)  # forward model
    inv = 2 * (2 * latent * hidden + hidden * actions)  # inverse model
    if name == "rnd":  # predictor + target; train: predictor fwd+bwd, target fwd
        return 2 * enc * b, 4 * enc * b
    if name == "icm":  # φ(s), φ(s') and ĝ; train all three nets
        return (2 * enc + fwd) * b, 3 * (2 * enc + inv + fwd) * b
    if name == "disagreement":  # frozen φ; train M models (round robin: one)
        trained = 1 if preset == "rllte" else members
        return (enc + members * fwd) * b, (2 * enc + 3 * trained * fwd) * b
    # e3b: φ(s') (and φ(s) unless rllte) and two passes over C^-1 (score, update)
    passes = 1 if preset == "rllte" else 2
    return (passes * enc + 4 * latent**2) * b, 3 * (2 * enc + inv) * b


def record_rollout(num_envs: int, steps: int, seed: int = 0):
    """A random-policy rollout of DoorKey-8x8 with flat observations (NumPy)."""
    import gymnasium as gym
    import numpy as np

    try:
        import minigrid  # noqa: F401
        from minigrid.wrappers import ImgObsWrapper

        envs = gym.make_vec(
            "MiniGrid-DoorKey-8x8-v0",
            num_envs=num_envs,
            vectorization_mode="sync",
            wrappers=[ImgObsWrapper, gym.wrappers.FlattenObservation],
        )
    except ImportError:  # e.g. the GPU machine: rewardkit's DoorKey has the same view
        import rewardkit as rk

        envs = gym.wrappers.vector.FlattenObservation(
            rk.core.to_gymnasium_vector(
                rk.envs.DoorKey(8), None, num_envs, autoreset_mode="NextStep"
            )
        )
    obs, _ = envs.reset(seed=seed)
    envs.action_space.seed(seed)
    rows = {k: [] for k in ("obs", "action", "next_obs", "terminated", "truncated")}
    for _ in range(steps):
        action = envs.action_space.sample()
        nxt, _, term, trunc, _ = envs.step(action)
        for k, v in zip(rows, (obs, action, nxt, term, trunc), strict=True):
            rows[k].append(np.array(v, copy=True))
        obs = nxt
    envs.close()
    return {k: np.stack(v) for k, v in rows.items()}, envs.single_observation_space


def _times_ms(fn, repeats: int) -> tuple[float, float]:
    """(median, best) wall time in ms over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return 1e3 * times[len(times) // 2], 1e3 * times[0]


def _median_ms(fn, repeats: int) -> float:
    return _times_ms(fn, repeats)[0]


def run_worker(args) -> dict:
    """Measures every bonus in this process (thread flags already applied)."""
    import gymnasium as gym
    import jax
    import jax.numpy as jnp

    import rewardkit as rk

    data, obs_space = record_rollout(args.envs, args.steps)
    batch = rk.core.Transition(
        obs=jnp.asarray(data["obs"]),
        action=jnp.asarray(data["action"]),
        reward=jnp.zeros(data["terminated"].shape),
        next_obs=jnp.asarray(data["next_obs"]),
        terminated=jnp.asarray(data["terminated"]),
        truncated=jnp.asarray(data["truncated"]),
    )
    fields = ("obs", "action", "reward", "next_obs", "terminated", "truncated")
    steps = [
        batch._replace(**{f: getattr(batch, f)[t : t + 1] for f in fields})
        for t in range(args.steps)
    ]
    # One-thread float32 matmul peak (or this process's threading).
    a = jnp.ones((1024, 1024), jnp.float32)
    mm = jax.jit(lambda x: x @ x)
    mm(a).block_until_ready()
    # The peak is a best case: the host is shared, so take the fastest run.
    ms = _times_ms(lambda: mm(a).block_until_ready(), max(5, args.repeats))[1]
    peak = 2 * 1024**3 / (ms * 1e-3) / 1e9
    out = {"peak_gflops": peak, "bonuses": {}}
    for name, preset in [(b, p) for b in BONUSES for p in (None, "rllte")]:
        print(f"{name} {preset}", file=sys.stderr, flush=True)  # progress
        bonus = getattr(rk.intrinsic, name)(
            num_envs=args.envs, warmup_transitions=0, preset=preset
        )
        state = bonus.init(jax.random.key(0), obs_space, gym.spaces.Discrete(7))
        compute, update = jax.jit(bonus.compute), jax.jit(bonus.update)
        t0 = time.perf_counter()
        c_comp = compute.lower(state, batch).compile()
        u_comp = update.lower(state, batch).compile()
        compile_s = time.perf_counter() - t0
        del c_comp, u_comp  # compiled only to time compilation
        flops_a, flops_b = flops(name, args.envs * args.steps, preset)
        _, state, _ = compute(state, batch)  # one rollout of statistics
        state, _ = update(state, batch)
        for _ in range(args.warmup):
            jax.block_until_ready(compute(state, batch))
            jax.block_until_ready(update(state, batch))

        def run_a(state=state, compute=compute):
            jax.block_until_ready(compute(state, batch)[0])

        def run_b(state=state, update=update):
            jax.block_until_ready(update(state, batch)[1])

        def run_steps(state=state, compute=compute):
            s = state
            for one in steps:
                r, s, _ = compute(s, one)
            jax.block_until_ready(r)

        run_steps()  # compiles the T = 1 program
        (a_med, a_best), (b_med, b_best) = (
            _times_ms(run_a, args.repeats),
            _times_ms(run_b, args.repeats),
        )
        out["bonuses"][name + ("" if preset is None else "/rllte")] = {
            "compute_ms": a_med,
            "update_ms": b_med,
            "best_total_ms": a_best + b_best,
            "per_step_compute_ms": _median_ms(run_steps, max(3, args.repeats // 3)),
            "compile_s": compile_s,
            "mflops_compute": flops_a / 1e6,
            "mflops_update": flops_b / 1e6,
        }
    return out


def _print_table(threads: str, res: dict, num: int) -> None:
    peak = res["peak_gflops"]
    print(f"\n### threads = {threads}  (matmul peak {peak:.1f} GFLOP/s)\n")
    print(
        "| bonus | (a) compute ms | (b) update ms | total ms | best total ms | "
        "transitions/s | 128 x T=1 compute ms | MFLOP (a)+(b) | floor ms | "
        "floor / best | anchor total ms [spec §5.1] | speed-up (median) | compile s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in res["bonuses"].items():
        total = r["compute_ms"] + r["update_ms"]
        mflop = r["mflops_compute"] + r["mflops_update"]
        floor = mflop / 1e3 / peak * 1e3
        anchor = sum(ANCHOR_MS[name.split("/")[0]])
        print(
            f"| {name} | {r['compute_ms']:.2f} | {r['update_ms']:.2f} | {total:.2f} | "
            f"{r['best_total_ms']:.2f} | {num / total * 1e3:,.0f} | "
            f"{r['per_step_compute_ms']:.1f} | "
            f"{r['mflops_compute']:.0f} + {r['mflops_update']:.0f} | {floor:.2f} | "
            f"{floor / r['best_total_ms']:.0%} | {anchor:.1f} | {anchor / total:.1f}x | "
            f"{r['compile_s']:.1f} |"
        )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="3 repeats, 1 warm-up")
    parser.add_argument("--threads", choices=("1", "default", "both"), default="both")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup = 3, 1
    if args.worker:
        if args.threads == "1" and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        print(json.dumps(run_worker(args)))
        return {}
    results = {}
    modes = ("1", "default") if args.threads == "both" else (args.threads,)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for threads in modes:
        env = dict(os.environ)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        if threads == "1":
            env["XLA_FLAGS"] = (
                env.get("XLA_FLAGS", "") + " " + SINGLE_THREAD_FLAGS
            ).strip()
        cmd = [sys.executable, os.path.abspath(__file__), "--worker"]
        cmd += ["--envs", str(args.envs), "--steps", str(args.steps)]
        cmd += ["--repeats", str(args.repeats), "--warmup", str(args.warmup)]
        cmd += ["--threads", threads]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        results[threads] = json.loads(proc.stdout.strip().splitlines()[-1])
    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                line.split(":", 1)[1].strip() for line in f if "model name" in line
            )
    except (OSError, StopIteration):
        pass
    print(
        f"CPU: {cpu}, {os.cpu_count()} cores; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; jax {jax.__version__}; "
        f"workload {args.envs} envs x {args.steps} steps, flat 147-d obs, "
        f"{args.repeats} repeats (median)."
    )
    print(
        "rllte-core (reference) is not installed in this environment: the anchor "
        "column is the spec's §5.1 figure, not measured in the same run."
    )
    for threads, res in results.items():
        _print_table(threads, res, args.envs * args.steps)
    return results


if __name__ == "__main__":
    main()
