"""Every GPU measurement in one call (the lent device runs this one script).

Run: ``python -m benchmarks.gpu [--quick]``. Sections, each guarded so that one
failure does not lose the others:

* GridWorld throughput from 1 024 to 1 048 576 vmapped envs (random policy), plain
  and with functional potential shaping in the step;
* jitted tabular Q-learning with shaping, 32 x 32 and 512 x 256 seeds x envs;
* counterfactual Q-learning on OfficeWorld;
* reward distances (STARC-VAL on 1 024 states, 100 x 100 pairwise on 64 states);
* intrinsic bonuses (compute + update on an 8 x 128 rollout);
* jitted PPO on DoorKey-8x8, plain and with each bonus (env-steps/s).
Results are printed and written as JSON to ``$OUT/gpu.json`` (or ``gpu.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
import traceback

from benchmarks._timing import machine


def grid_section(quick: bool) -> dict:
    from benchmarks.envs import grid_throughput

    sizes = (
        [(1024, 200), (16384, 100)]
        if quick
        else [
            (1024, 1000),
            (16384, 500),
            (131072, 200),
            (1048576, 100),
        ]
    )
    out = {}
    for n, t in sizes:
        out[f"{n}x{t}_Msteps_s"] = grid_throughput(n, t) / 1e6
        print(
            f"  grid {n} envs x {t} steps: {out[f'{n}x{t}_Msteps_s']:.1f} M env-steps/s",
            flush=True,
        )
    n, t = sizes[1]
    out[f"{n}x{t}_shaped_Msteps_s"] = grid_throughput(n, t, shaped=True) / 1e6
    print(
        f"  grid {n} x {t} with shaping: {out[f'{n}x{t}_shaped_Msteps_s']:.1f} M",
        flush=True,
    )
    return out


def qlearning_section(quick: bool) -> dict:
    from benchmarks.envs import qlearning_throughput

    out = {}
    for s, e, t in [(32, 32, 2000)] + ([] if quick else [(512, 256, 500)]):
        out[f"{s}x{e}_Msteps_s"] = qlearning_throughput(s, e, t) / 1e6
        print(
            f"  Q-learning + shaping {s} seeds x {e} envs: {out[f'{s}x{e}_Msteps_s']:.2f} M env-steps/s",
            flush=True,
        )
    return out


def crm_section(quick: bool) -> dict:
    from benchmarks.machines import crm_throughput

    res = crm_throughput(
        64 if quick else 256, 16 if quick else 64, 500 if quick else 2000, 3
    )
    print(f"  counterfactual Q-learning, OfficeWorld: {res}", flush=True)
    return res


def _captured(fn, argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        res = fn(argv)
    print(buf.getvalue(), flush=True)
    return res if isinstance(res, dict) else {"stdout": buf.getvalue()[-4000:]}


def distances_section(quick: bool) -> dict:
    from benchmarks import distances

    return _captured(distances.main, ["--quick"] if quick else ["--repeats", "5"])


def intrinsic_section(quick: bool) -> dict:
    from benchmarks import intrinsic

    argv = ["--threads", "default"] + (["--quick"] if quick else ["--repeats", "10"])
    return _captured(intrinsic.main, argv)


def ppo_section(quick: bool) -> dict:
    from benchmarks import ppo

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):  # printed once, like the other sections
        rows = ppo.main(["--workloads", "doorkey"] + (["--quick"] if quick else []))
    print(buf.getvalue(), flush=True)
    return {row["case"]: row for row in rows}


SECTIONS = {
    "grid": grid_section,
    "qlearning": qlearning_section,
    "crm": crm_section,
    "distances": distances_section,
    "intrinsic": intrinsic_section,
    "ppo": ppo_section,
}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default=",".join(SECTIONS))
    args = p.parse_args(argv)
    results = {"machine": machine()}
    print(f"machine: {results['machine']}", flush=True)
    for name in args.only.split(","):
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            results[name] = SECTIONS[name](args.quick)
        except Exception:  # one failing section must not lose the others
            results[name] = {"error": traceback.format_exc()[-2000:]}
            print(results[name]["error"], flush=True)
        print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    path = os.path.join(os.environ.get("OUT", "."), "gpu.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()
