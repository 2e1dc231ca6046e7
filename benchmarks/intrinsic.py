"""Intrinsic bonuses against rllte-core: one rollout's bonuses plus one update.

Workload (spec §5.1): 8 envs x 128 steps of ``MiniGrid-DoorKey-8x8-v0`` under a
random policy, recorded once (flat 147-d uint8 observations, |A| = 7, no episode
end) and replayed into both libraries:

(a) computing the bonuses of the rollout. rewardkit: one jitted ``compute`` over
    the [128, 8] batch (and, for the per-step front-end path, 128 calls with
    T = 1). Reference: 128 ``watch()`` calls + ``compute()`` with its ``update``
    stubbed, by ``benchmarks/_rllte_reference.py``;
(b) one ``update`` (one epoch: 4 Adam steps of 256).

rewardkit runs each bonus under ``preset="rllte"`` (the reference's arithmetic:
ICM's equal loss weights and mean reduction, RND trained on every sample of s_t,
Disagreement's 4 members trained round robin, E3B scoring φ(s_t)) — the rows
compared with the reference — and at its defaults (reported alongside).
8 warm-ups, 15 timed repeats, medians; statistics warmed by one rollout first (the
reference's RMS warm-up replays the rollout: ``_rllte_reference.py``).

Each library and threading mode runs in its own subprocess, in the same run; the
two libraries' workers are alive together. ``--schedule interleaved`` (default)
alternates them call by call (each repeat times (a) then (b) of a bonus in one
library, then in the other, alternating which goes first), so both see the same
load of this shared host, and ratios are medians of per-repeat ratios; every
call then follows the other library's work, as in a training loop.
``--schedule blocked`` is the spec's §5.1 protocol: per bonus, each library's
warm-ups and repeats back to back (warm caches), ratios of medians. Threads ``1``: both workers pinned to the same
core (``sched_setaffinity``), ``torch.set_num_threads(1)``, and XLA:CPU without
multi-threaded Eigen (``XLA_FLAGS``, read when JAX
starts, hence the subprocess; on jax 0.10 these flags alone still let a matmul
use both cores, the pinning is what holds it to one); ``default`` leaves both
libraries alone. The reference needs its own Python (``--reference-python``, default the
``REWARDKIT_RLLTE_PYTHON`` environment variable) with rllte-core and torch;
without it, rewardkit's figures are reported alone. FLOPs are counted
analytically from the layer sizes (:func:`flops`; a multiply-add is 2; the
backward pass computes every weight gradient and the input gradients a trained
layer upstream needs; XLA's cost analysis counts a ``lax.scan`` body once, so it
cannot be used); the floor is FLOPs / (float32 1024 x 1024 matmul peak of that
process: its fastest sample, taken alongside every repeat).

    python benchmarks/intrinsic.py --reference-python /path/venv/bin/python
    python benchmarks/intrinsic.py --schedule blocked
    python benchmarks/intrinsic.py --quick    # 3 repeats, 1 warm-up
    python benchmarks/intrinsic.py --obs image  # 7x7x3 images, "espeholt" CNN
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

BONUSES = ("rnd", "icm", "disagreement", "e3b")
#: The reference's one-thread figures measured for the spec (§5.1, medians of two
#: runs, rllte-core 1.0.1, torch 2.13 CPU): the sanity check of this run's own.
ANCHOR_MS = {  # (a) compute, (b) update
    "rnd": (9.0, 14.7),
    "icm": (10.25, 44.25),
    "disagreement": (39.6, 25.0),
    "e3b": (37.8, 36.1),
}
#: The same for the 3x7x7 image variant ("espeholt" encoder): totals only (§5.1).
ANCHOR_IMAGE_TOTAL_MS = {"rnd": 40.7, "icm": 77.2, "disagreement": 68.3, "e3b": 127.9}
#: One thread for XLA:CPU (with the worker pinned to one core: see serve_worker).
SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false"
REFERENCE_SCRIPT = os.path.join(os.path.dirname(__file__), "_rllte_reference.py")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _net(macs: list[int], inputs_need_grad: bool = False) -> tuple[int, int]:
    """(forward, forward + backward) FLOPs per sample of a net with these layers.

    ``macs``: multiply-adds per sample of each layer. The backward pass computes
    every weight gradient and the input gradient of every layer but the first,
    and of the first too when ``inputs_need_grad``.
    """
    mats = [2 * m for m in macs]
    fwd = sum(mats)
    bwd = fwd + sum(mats[1:]) + (mats[0] if inputs_need_grad else 0)
    return fwd, fwd + bwd


def _mlp(sizes, inputs_need_grad: bool = False) -> tuple[int, int]:
    """(forward, forward + backward) FLOPs per sample of a ReLU MLP."""
    return _net([i * o for i, o in itertools.pairwise(sizes)], inputs_need_grad)


def _espeholt_macs(hw: int = 7, channels: int = 3, latent: int = 128) -> list[int]:
    """Per-layer multiply-adds of the "espeholt" encoder on an ``hw`` x ``hw`` image.

    4 x (32 filters 3x3, stride 2, padding 1), then Linear -> latent.
    """
    macs, c, size = [], channels, hw
    for _ in range(4):
        size = (size + 2 - 3) // 2 + 1
        macs.append(size * size * 32 * 9 * c)
        c = 32
    return [*macs, size * size * c * latent]


def flops(
    name: str,
    b: int,
    preset=None,
    d_in=147,
    hidden=256,
    latent=128,
    actions=7,
    image: bool = False,
):
    """Analytic (a) compute and (b) update FLOPs of a bonus over ``b`` transitions.

    ``image``: the 7x7x3 observations through the "espeholt" encoder instead of
    the flat 147-d ones through the 147-256-128 MLP.

    Example:
      >>> [round(x / 1e6) for x in flops("rnd", 1024, "rllte")]
      [288, 500]
    """
    if image:
        enc, enc_train = _net(_espeholt_macs(latent=latent))
    else:
        enc, enc_train = _mlp([d_in, hidden, latent])
    fwd_m, fwd_m_train = _mlp([latent + actions, hidden, latent])
    fwd_m_all = _mlp([latent + actions, hidden, latent], inputs_need_grad=True)[1]
    _, inv_train = _mlp([2 * latent, hidden, actions], inputs_need_grad=True)
    if name == "rnd":  # target and predictor; train the predictor, target forward
        return 2 * enc * b, (enc + enc_train) * b
    if name == "icm":  # φ(s), φ(s'), ĝ; train all three (φ on both sides)
        return (2 * enc + fwd_m) * b, (2 * enc_train + inv_train + fwd_m_all) * b
    if name == "disagreement":  # frozen φ; M forward models (round robin: one each)
        members = 4 if preset == "rllte" else 5
        trained = 1 if preset == "rllte" else members
        return (enc + members * fwd_m) * b, (2 * enc + trained * fwd_m_train) * b
    # e3b: φ(s') (and φ(s) by default) and, per transition, C⁻¹φ (2d²) and the
    # rank-one update (2d²); train encoder and inverse model
    passes = 1 if preset == "rllte" else 2
    return (passes * enc + 4 * latent**2) * b, (2 * enc_train + inv_train) * b


def record_rollout(num_envs: int, steps: int, seed: int = 0, image: bool = False):
    """A random-policy rollout of DoorKey-8x8 (NumPy): flat 147-d or 7x7x3 obs."""
    import gymnasium as gym
    import numpy as np

    try:
        import minigrid  # noqa: F401
        from minigrid.wrappers import ImgObsWrapper

        envs = gym.make_vec(
            "MiniGrid-DoorKey-8x8-v0",
            num_envs=num_envs,
            vectorization_mode="sync",
            wrappers=[ImgObsWrapper]
            + ([] if image else [gym.wrappers.FlattenObservation]),
        )
    except ImportError:  # e.g. the GPU machine: rewardkit's DoorKey has the same view
        import rewardkit as rk

        envs = rk.core.to_gymnasium_vector(
            rk.envs.DoorKey(8), None, num_envs, autoreset_mode="NextStep"
        )
        if not image:
            envs = gym.wrappers.vector.FlattenObservation(envs)
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
    return {k: np.stack(v) for k, v in rows.items()}


def _times_ms(fn, repeats: int) -> list[float]:
    """Wall times in ms of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    return times


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def setup_worker(args) -> tuple[dict, dict]:
    """Builds, compiles and warms up every rewardkit bonus in this process.

    Returns ``(info, fns)``: ``fns[key]`` maps ``"a"``, ``"b"`` and ``"steps"``
    (the per-step path: 128 calls with T = 1) to blocking callables.
    """
    import gymnasium as gym
    import jax
    import jax.numpy as jnp
    import numpy as np

    import experiments  # noqa: F401 - XLA:CPU scheduler flag, before JAX's backend
    import rewardkit as rk

    if args.rollout:
        with np.load(args.rollout) as f:
            data = {k: f[k] for k in f.files}
    else:
        data = record_rollout(args.envs, args.steps, image=args.obs == "image")
    steps_n, envs_n = data["terminated"].shape
    obs_space = gym.spaces.Box(0, 255, data["obs"].shape[2:], np.uint8)
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
        for t in range(steps_n)
    ]
    # Float32 1024² matmul: this process's peak, sampled by measure().
    a = jnp.ones((1024, 1024), jnp.float32)
    mm = jax.jit(lambda x: x @ x)
    mm(a).block_until_ready()
    info = {"jax": jax.__version__, "bonuses": {}}
    fns = {"peak": {"a": lambda: mm(a).block_until_ready()}}  # timed with the rest
    # The reference's encoders: its flat MLP, or its "espeholt" CNN on images.
    encoder = "espeholt" if data["obs"].ndim == 5 else "mlp"
    for name, preset in [(b, p) for b in BONUSES for p in ("rllte", None)]:
        key = name + ("" if preset is None else "/rllte")
        print(f"rewardkit {key}", file=sys.stderr, flush=True)  # progress
        bonus = getattr(rk.intrinsic, name)(
            num_envs=envs_n, warmup_transitions=0, preset=preset, encoder=encoder
        )
        state = bonus.init(jax.random.key(0), obs_space, gym.spaces.Discrete(7))
        compute, update = jax.jit(bonus.compute), jax.jit(bonus.update)
        t0 = time.perf_counter()
        c_comp = compute.lower(state, batch).compile()
        u_comp = update.lower(state, batch).compile()
        compile_s = time.perf_counter() - t0
        del c_comp, u_comp  # compiled only to time compilation
        _, state, _ = compute(state, batch)  # one rollout of statistics
        state, _ = update(state, batch)

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
        for _ in range(args.warmup):
            run_a()
            run_b()
        fns[key] = {"a": run_a, "b": run_b, "steps": run_steps}
        info["bonuses"][key] = {"compile_s": compile_s}
    return info, fns


def serve_worker(args) -> None:
    """Sets up, prints ``@ready <json>``, then times one call per stdin line.

    A line ``a KEY``, ``b KEY`` or ``steps KEY`` is answered ``@<ms>``.
    """
    if args.threads == "1" and hasattr(os, "sched_setaffinity"):
        # The XLA flags alone do not keep jax 0.10's matmuls on one core (measured
        # here: 2 cores busy, twice the one-core GFLOP/s); pinning does.
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    info, fns = setup_worker(args)
    print("@ready " + json.dumps(info), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        (ms,) = _times_ms(fns[cmd[1]][cmd[0]], 1)
        print(f"@{ms}", flush=True)


class Server:
    """A worker subprocess (rewardkit's or the reference's) in serve mode."""

    def __init__(self, cmd: list[str], env: dict, what: str):
        self.what = what
        self.err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - see close()
        self.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.err, text=True, bufsize=1,
        )  # fmt: skip
        self.info = json.loads(self._answer()[len("ready ") :])

    def _answer(self) -> str:
        for line in self.proc.stdout:
            if line.startswith("@"):
                return line[1:].strip()
        self.err.seek(0)
        raise RuntimeError(f"{self.what} stopped:\n{self.err.read()[-3000:]}")

    def time(self, what: str, key: str) -> float:
        """ms of one call of ``what`` (``a``, ``b`` or ``steps``) of bonus ``key``."""
        self.proc.stdin.write(f"{what} {key}\n")
        self.proc.stdin.flush()
        return float(self._answer())

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        self.err.close()


def start_rewardkit(threads: str, args, rollout: str) -> Server:
    """rewardkit's worker in a fresh process with this threading mode."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    if threads == "1":
        flags = env.get("XLA_FLAGS", "") + " " + SINGLE_THREAD_FLAGS
        env["XLA_FLAGS"] = flags.strip()
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--rollout", rollout]
    cmd += ["--warmup", str(args.warmup), "--threads", threads]
    return Server(cmd, env, f"rewardkit worker (threads={threads})")


def start_reference(python: str, threads: str, args, rollout: str) -> Server:
    """The reference's worker (``_rllte_reference.py --serve``, its own Python)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XLA_FLAGS")}
    cmd = [python, REFERENCE_SCRIPT, "--serve", "--rollout", rollout]
    cmd += ["--threads", threads, "--warmup", str(args.warmup)]
    cmd += ["--methods", ",".join(BONUSES)]
    return Server(cmd, env, f"reference (threads={threads})")


def measure(
    rk: Server, ref: Server | None, repeats: int, schedule: str, warmup: int
) -> dict:
    """Times every bonus in both libraries; returns medians, ratios and peaks.

    ``"interleaved"``: each repeat times (a) then (b) of every bonus, the two
    libraries back to back (alternating which goes first), so that both see the
    same host load; ratios are medians of the per-repeat ratios. ``"blocked"``
    (the spec's §5.1 protocol): per bonus, each library runs ``warmup`` untimed
    and ``repeats`` timed (a), (b) pairs back to back, the libraries alternating
    which goes first; ratios are ratios of medians.
    """
    ok = {} if ref is None else ref.info["bonuses"]
    ok = {n for n, v in ok.items() if "error" not in v}
    keys = list(rk.info["bonuses"])
    times = {k: {"a": [], "b": []} for k in keys}
    ref_times = {n: {"a": [], "b": []} for n in ok}
    peaks = {"rk": [], "ref": []}

    def sample_peaks():
        # Float32 1024² matmul peak of each process, sampled throughout the run
        # (the host is shared: the fastest sample is the peak).
        peaks["rk"].extend(rk.time("a", "peak") for _ in range(3))
        if ref is not None:
            peaks["ref"].extend(ref.time("a", "peak") for _ in range(3))

    def libs(key: str, rk_first: bool) -> list:
        name = key.split("/")[0]
        both = [(rk, times[key], key)]
        if key.endswith("/rllte") and name in ok:
            both.append((ref, ref_times[name], name))
        return both if rk_first else both[::-1]

    if schedule == "interleaved":
        for r in range(repeats):
            sample_peaks()
            for key in keys:
                for what in ("a", "b"):
                    for server, store, k in libs(key, r % 2 == 0):
                        store[what].append(server.time(what, k))
    else:
        for i, key in enumerate(keys):
            sample_peaks()
            for server, store, k in libs(key, i % 2 == 0):
                for _ in range(warmup):
                    server.time("a", k)
                    server.time("b", k)
                for _ in range(repeats):
                    store["a"].append(server.time("a", k))
                    store["b"].append(server.time("b", k))
    gflops = {k: 2 * 1024**3 / (min(v) * 1e-3) / 1e9 for k, v in peaks.items() if v}
    out = {"rewardkit": {}, "reference": {}, "ratio": {}, "peak_gflops": gflops}
    for key, t in times.items():
        steps = [rk.time("steps", key) for _ in range(max(3, repeats // 3))]
        out["rewardkit"][key] = _summary(t, {"per_step_compute_ms": _median(steps)})
    for name, t in ref_times.items():
        out["reference"][name] = _summary(t, ref.info["bonuses"][name])
        mine = times[name + "/rllte"]
        tot = [x + y for x, y in zip(t["a"], t["b"], strict=True)]
        mtot = [x + y for x, y in zip(mine["a"], mine["b"], strict=True)]
        if schedule == "interleaved":
            ratio_a = _median([x / y for x, y in zip(t["a"], mine["a"], strict=True)])
            ratio_t = _median([x / y for x, y in zip(tot, mtot, strict=True)])
        else:
            ratio_a = _median(t["a"]) / _median(mine["a"])
            ratio_t = _median(tot) / _median(mtot)
        out["ratio"][name] = {"a": ratio_a, "total": ratio_t}
    return out


def _summary(t: dict, extra: dict) -> dict:
    return {
        "compute_ms": _median(t["a"]),
        "update_ms": _median(t["b"]),
        "compute_best_ms": min(t["a"]),
        "best_total_ms": min(t["a"]) + min(t["b"]),
        **extra,
    }


def _print_tables(threads: str, res: dict, num: int, image: bool = False) -> None:
    peak = res["peak_gflops"]["rk"]
    ref_info = res.get("ref_info")
    line = f"\n### threads = {threads}  (float32 1024² matmul peak: rewardkit/XLA "
    line += f"{peak:.1f} GFLOP/s"
    if ref_info:
        ref_peak = res["peak_gflops"]["ref"]
        line += f", reference/torch {ref_peak:.1f} GFLOP/s with "
        line += f"{ref_info['torch_threads']} torch thread(s)"
    print(line + ")\n")
    rk, ref = res["rewardkit"], res.get("reference", {})
    if ref:
        print(
            'Same arithmetic: rewardkit `preset="rllte"` vs rllte-core. ms are '
            "medians; ratio = reference / rewardkit (see --schedule); "
            "GFLOP/s = MFLOP / median total (% of that library's matmul peak).\n"
        )
        print(
            "| bonus | rk (a) | rk (b) | rk total | ref (a) | ref (b) | ref total | "
            "ratio (a) | ratio total | MFLOP (a)+(b) | rk GFLOP/s | ref GFLOP/s | "
            "ref total [spec §5.1] |"
        )
        print("|---|" + "---:|" * 12)
        for name in BONUSES:
            r = rk[name + "/rllte"]
            fa, fb = flops(name, num, "rllte", image=image)
            rt = r["compute_ms"] + r["update_ms"]
            anchor = ANCHOR_IMAGE_TOTAL_MS[name] if image else sum(ANCHOR_MS[name])
            anchor = f"{anchor:.1f}"
            if name not in ref:
                err = ref_info["bonuses"].get(name, {}).get("error", "not run")
                print(f"| {name} | {r['compute_ms']:.2f} | {r['update_ms']:.2f} | "
                      f"{rt:.2f} | {err} |||||||| {anchor} |")  # fmt: skip
                continue
            q, ratio = ref[name], res["ratio"][name]
            qt = q["compute_ms"] + q["update_ms"]
            g = (fa + fb) / 1e6
            print(
                f"| {name} | {r['compute_ms']:.2f} | {r['update_ms']:.2f} | {rt:.2f} | "
                f"{q['compute_ms']:.2f} | {q['update_ms']:.2f} | {qt:.2f} | "
                f"{ratio['a']:.1f}x | {ratio['total']:.2f}x | "
                f"{fa / 1e6:.0f} + {fb / 1e6:.0f} | {g / rt:.1f} ({g / rt / peak:.0%}) | "
                f"{g / qt:.1f} ({g / qt / ref_peak:.0%}) | {anchor} |"
            )
        print()
    print(
        "rewardkit, both configurations (floor = MFLOP / rewardkit's matmul peak; "
        "floor / best = share of that peak reached by the best repeat):\n"
    )
    print(
        "| bonus | (a) compute ms | (b) update ms | total ms | best total ms | "
        "transitions/s | 128 x T=1 compute ms | MFLOP (a)+(b) | floor ms | "
        "floor / best | compile s |"
    )
    print("|---|" + "---:|" * 10)
    for key, r in rk.items():
        name, _, preset = key.partition("/")
        fa, fb = flops(name, num, preset or None, image=image)
        total = r["compute_ms"] + r["update_ms"]
        floor = (fa + fb) / 1e9 / peak * 1e3
        compile_s = res["rk_info"]["bonuses"][key]["compile_s"]
        print(
            f"| {key} | {r['compute_ms']:.2f} | {r['update_ms']:.2f} | {total:.2f} | "
            f"{r['best_total_ms']:.2f} | {num / total * 1e3:,.0f} | "
            f"{r['per_step_compute_ms']:.1f} | {fa / 1e6:.0f} + {fb / 1e6:.0f} | "
            f"{floor:.2f} | {floor / r['best_total_ms']:.0%} | {compile_s:.1f} |"
        )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if "model name" in l)  # noqa: E741
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="3 repeats, 1 warm-up")
    parser.add_argument("--threads", choices=("1", "default", "both"), default="both")
    parser.add_argument(
        "--reference-python",
        default=os.environ.get("REWARDKIT_RLLTE_PYTHON"),
        help="Python of an environment with rllte-core and torch (default: "
        "$REWARDKIT_RLLTE_PYTHON; absent: rewardkit's figures alone)",
    )
    parser.add_argument(
        "--schedule",
        choices=("interleaved", "blocked"),
        default="interleaved",
        help="interleaved: the libraries alternate call by call (same load); "
        "blocked: per bonus, each library's repeats back to back (spec §5.1)",
    )
    parser.add_argument(
        "--obs",
        choices=("flat", "image"),
        default="flat",
        help="flat 147-d observations (MLP encoders, the issue's workload) or the "
        "7x7x3 image (both libraries' 'espeholt' CNN)",
    )
    parser.add_argument("--rollout", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup = 3, 1
    if args.worker:
        serve_worker(args)
        return {}
    import numpy as np

    modes = ("1", "default") if args.threads == "both" else (args.threads,)
    ref_python = args.reference_python
    load = [os.getloadavg()[0]]
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        rollout = os.path.join(tmp, "rollout.npz")
        image = args.obs == "image"
        np.savez(rollout, **record_rollout(args.envs, args.steps, image=image))
        for threads in modes:
            rk, ref = start_rewardkit(threads, args, rollout), None
            try:
                if ref_python:
                    ref = start_reference(ref_python, threads, args, rollout)
            except (OSError, RuntimeError) as err:  # report it, time rewardkit
                print(f"The reference did not start ({ref_python}): {err}")
            try:
                res = measure(rk, ref, args.repeats, args.schedule, args.warmup)
            finally:
                rk.close()
                if ref is not None:
                    ref.close()
            res["rk_info"] = rk.info
            res["ref_info"] = ref.info if ref else None
            results[threads] = res
            load.append(os.getloadavg()[0])
    ref_info = next((r["ref_info"] for r in results.values() if r["ref_info"]), None)
    jax_v = next(iter(results.values()))["rk_info"]["jax"]
    head = f"CPU: {_cpu_model()}, {os.cpu_count()} threads; 1-min load average "
    head += " -> ".join(f"{x:.2f}" for x in load) + f"; jax {jax_v}"
    if ref_info:
        head += f"; reference: rllte-core {ref_info['rllte_core']}, "
        head += f"torch {ref_info['torch']}"
    obs = "7x7x3 image obs ('espeholt' CNN)" if image else "flat 147-d obs"
    head += f"; workload {args.envs} envs x {args.steps} steps, {obs}, "
    head += f"{args.warmup} warm-ups, {args.repeats} repeats (medians), "
    head += f"schedule {args.schedule}."
    print(head)
    if not ref_python:
        print(
            "No reference Python given (--reference-python or $REWARDKIT_RLLTE_PYTHON):"
            " rewardkit's figures alone. For orientation, the spec's §5.1 reference "
            "totals (one thread, another run): "
            + ", ".join(f"{n} {sum(v):.1f} ms" for n, v in ANCHOR_MS.items())
            + "."
        )
    for threads, res in results.items():
        _print_tables(threads, res, args.envs * args.steps, image=image)
    return results


if __name__ == "__main__":
    main()
