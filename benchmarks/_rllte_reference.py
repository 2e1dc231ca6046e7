"""The reference side of ``benchmarks/intrinsic.py``: rllte-core's bonuses, timed.

A standalone script for the reference implementation's own environment (it imports
only NumPy, torch, gymnasium and rllte-core; never rewardkit or JAX)::

    /path/to/rllte-venv/bin/python benchmarks/_rllte_reference.py \
        --rollout rollout.npz --threads 1

It replays one fixed rollout (``--rollout``: an ``.npz`` with ``obs``, ``action``,
``next_obs``, ``terminated``, ``truncated`` of shape ``[T, N, ...]``, as written by
``benchmarks/intrinsic.py``; without it, a seeded synthetic 8 x 128 rollout of flat
147-d uint8 observations and ``Discrete(7)`` actions) into each bonus at its defaults,
on the CPU, and times the spec's §5.1 workload:

Image rollouts (``[T, N, H, W, C]``, ``benchmarks/intrinsic.py --obs image``) are
transposed to the anchor's CHW layout and use its ``"espeholt"`` encoder (its
default ``"mnih"`` CNN crashes on 7 x 7 images).

(a) computing the bonuses of the rollout: 128 ``watch()`` calls (one per step) and
    ``compute(samples)`` with the module's ``update`` stubbed (a no-op);
(b) one ``update(samples)`` (one epoch of minibatches of 256: 4 Adam steps).

``--warmup`` untimed repeats, then ``--repeats`` timed ones, (a) and (b) alternating;
medians (and minima) in ms. ``--threads 1`` calls ``torch.set_num_threads(1)`` and
pins the process to the first allowed core (as ``benchmarks/intrinsic.py`` pins
rewardkit's worker); ``--threads default`` leaves torch's threading alone.
The anchor's constructor normalisation warm-up (2560 random steps per env for the
``rms`` methods) steps a replay env that cycles through the recorded next
observations; its time is reported as ``construct_s``, outside (a) and (b). The
script prints one JSON object on stdout; with ``--serve`` it builds and warms up
every bonus, then times single calls on request, so that ``benchmarks/intrinsic.py``
can interleave them with rewardkit's (see :func:`serve`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import gymnasium as gym
import numpy as np
import torch

METHODS = ("rnd", "icm", "disagreement", "e3b")
CLASS_NAMES = {
    "rnd": "RND",
    "icm": "ICM",
    "disagreement": "Disagreement",
    "e3b": "E3B",
    "pseudo_counts": "PseudoCounts",
    "ride": "RIDE",
    "ngu": "NGU",
    "re3": "RE3",
}


class ReplayVectorEnv(gym.vector.VectorEnv):
    """A vector env that replays recorded next observations (the anchor's warm-up).

    The anchor's constructor only reads ``single_observation_space``,
    ``single_action_space`` and ``num_envs`` and, for the ``rms`` methods, steps
    the env with random actions to seed its observation statistics; this env
    returns the rollout's next observations in a cycle, at near-zero cost.
    """

    def __init__(self, next_obs: np.ndarray, num_actions: int):
        self.next_obs = next_obs
        self.num_envs = next_obs.shape[1]
        self.single_observation_space = gym.spaces.Box(
            0, 255, next_obs.shape[2:], np.uint8
        )
        self.single_action_space = gym.spaces.Discrete(num_actions)
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self.action_space = gym.vector.utils.batch_space(
            self.single_action_space, self.num_envs
        )
        self._t = 0

    def reset(self, *, seed=None, options=None):
        self._t = 0
        return self.next_obs[0], {}

    def step(self, actions):
        obs = self.next_obs[self._t % len(self.next_obs)]
        self._t += 1
        zeros = np.zeros(self.num_envs)
        return obs, zeros, zeros.astype(bool), zeros.astype(bool), {}


def synthetic_rollout(steps=128, envs=8, dim=147, actions=7, seed=0) -> dict:
    """A seeded rollout with MiniGrid-like flat observations (values 0-10)."""
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 11, size=(steps + 1, envs, dim), dtype=np.uint8)
    return {
        "obs": obs[:-1],
        "action": rng.integers(0, actions, size=(steps, envs)),
        "next_obs": obs[1:],
        "terminated": np.zeros((steps, envs), bool),
        "truncated": np.zeros((steps, envs), bool),
    }


def _times_ms(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    return times


def matmul_peak_gflops(repeats: int = 10) -> float:
    """Best float32 1024 x 1024 matmul rate of this process, GFLOP/s."""
    a = torch.ones(1024, 1024)
    a @ a
    best = min(_times_ms(lambda: a @ a, repeats))
    return 2 * 1024**3 / (best * 1e-3) / 1e9


def setup_method(name: str, data: dict, num_actions: int, warmup: int) -> dict:
    """Builds one anchor bonus on the rollout and warms it up.

    Returns ``{"a": run_a, "b": run_b, "construct_s": ..., "watch_ms": ...}``:
    ``run_a`` = 128 ``watch()`` calls + ``compute`` (``update`` stubbed),
    ``run_b`` = one real ``update``.
    """
    import rllte.xplore.reward as anchor

    steps, n_envs = data["terminated"].shape
    kwargs = {}
    if data["obs"].ndim == 5:  # [T, N, H, W, C] images: the anchor wants CHW
        data = {
            **data,
            "obs": data["obs"].transpose(0, 1, 4, 2, 3),
            "next_obs": data["next_obs"].transpose(0, 1, 4, 2, 3),
        }
        # Its default "mnih" CNN crashes on 7x7 images (spec §2.5).
        kwargs["encoder_model"] = "espeholt"
    envs = ReplayVectorEnv(data["next_obs"], num_actions)
    start = time.perf_counter()
    module = getattr(anchor, CLASS_NAMES[name])(envs=envs, device="cpu", **kwargs)
    construct_s = time.perf_counter() - start
    if name == "ngu" and not hasattr(module, "mrs"):
        module.mrs = 5.0  # rllte-core 1.0.1 never sets it (rllte#55)
    # The anchor's PPO storage holds float32 tensors.
    samples = {
        "observations": torch.as_tensor(data["obs"], dtype=torch.float32),
        "actions": torch.as_tensor(data["action"], dtype=torch.int64),
        "rewards": torch.zeros(steps, n_envs),
        "terminateds": torch.as_tensor(data["terminated"], dtype=torch.float32),
        "truncateds": torch.as_tensor(data["truncated"], dtype=torch.float32),
        "next_observations": torch.as_tensor(data["next_obs"], dtype=torch.float32),
    }
    per_step = [{k: v[t] for k, v in samples.items()} for t in range(steps)]

    def watch_all():  # watch(observations, actions, ..., next_observations)
        for s in per_step:
            module.watch(*s.values())

    # (a) runs with ``update`` stubbed, as the spec's anchor figures: for the four
    # lifelong bonuses this equals ``compute(sync=False)``, but the episodic ones
    # take an off-policy, one-env path when ``sync=False``.
    update = module.update
    module.update = lambda samples: None

    def run_a():
        watch_all()
        module.compute(samples)

    def run_b():
        update(samples)

    for _ in range(warmup):
        run_a()
        run_b()
    watch_ms = statistics.median(_times_ms(watch_all, 5))
    return {"a": run_a, "b": run_b, "construct_s": construct_s, "watch_ms": watch_ms}


def time_method(name: str, data: dict, num_actions: int, warmup: int, repeats: int):
    """(a), (b) and construction times of one anchor bonus on the rollout."""
    fns = setup_method(name, data, num_actions, warmup)
    a_ms, b_ms = [], []
    for _ in range(repeats):  # (a) and (b) alternate
        a_ms += _times_ms(fns["a"], 1)
        b_ms += _times_ms(fns["b"], 1)
    return {
        "compute_ms": statistics.median(a_ms),
        "update_ms": statistics.median(b_ms),
        "compute_best_ms": min(a_ms),
        "best_total_ms": min(a_ms) + min(b_ms),
        "watch_ms": fns["watch_ms"],
        "construct_s": fns["construct_s"],
    }


def serve(methods, data: dict, num_actions: int, warmup: int, info: dict) -> None:
    """Interleaved mode for ``benchmarks/intrinsic.py``: set up, then time on demand.

    Prints ``@ready <json>`` once every bonus is built and warmed up, then answers
    each stdin line ``a NAME`` or ``b NAME`` with ``@<ms>`` (one call, timed);
    ``quit`` or end of input stops.
    """
    a = torch.ones(1024, 1024)
    fns = {"peak": {"a": lambda: a @ a}}  # the matmul peak, sampled on request
    info["bonuses"] = {}
    for name in methods:
        try:
            fns[name] = setup_method(name, data, num_actions, warmup)
            info["bonuses"][name] = {
                k: fns[name][k] for k in ("construct_s", "watch_ms")
            }
        except Exception as err:  # report the anchor's crash, keep the others
            info["bonuses"][name] = {"error": f"{type(err).__name__}: {err}"}
    print("@ready " + json.dumps(info), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        (ms,) = _times_ms(fns[cmd[1]][cmd[0]], 1)
        print(f"@{ms}", flush=True)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollout", help=".npz rollout (default: synthetic 8 x 128)")
    parser.add_argument("--threads", choices=("1", "default"), default="1")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--actions", type=int, default=7)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--serve", action="store_true", help=serve.__doc__.split(":")[0]
    )
    args = parser.parse_args(argv)
    if args.threads == "1":
        torch.set_num_threads(1)
        if hasattr(os, "sched_setaffinity"):  # the core rewardkit's worker uses
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if args.rollout:
        with np.load(args.rollout) as f:
            data = {k: f[k] for k in f.files}
    else:
        data = synthetic_rollout(actions=args.actions)
    import importlib.metadata

    out = {
        "torch": torch.__version__,
        "rllte_core": importlib.metadata.version("rllte-core"),
        "torch_threads": torch.get_num_threads(),
        "peak_gflops": matmul_peak_gflops(),
        "bonuses": {},
    }
    if args.serve:
        serve(args.methods.split(","), data, args.actions, args.warmup, out)
        return out
    for name in args.methods.split(","):
        try:
            out["bonuses"][name] = time_method(
                name, data, args.actions, args.warmup, args.repeats
            )
        except Exception as err:  # report the anchor's crash, keep the others
            out["bonuses"][name] = {"error": f"{type(err).__name__}: {err}"}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
