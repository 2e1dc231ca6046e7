"""Jitted PPO on the JAX DoorKey task, without and with intrinsic bonuses (§6.2).

Recipe (intrinsic spec §6.2, first version): ``rk.envs.DoorKey(size)`` with the
MiniGrid-compatible 7×7×3 egocentric view and MiniGrid actions and reward,
``AutoReset(mode="SameStep")`` outermost (inside ``rk.agents.ppo``); §4 PPO with
the anchor paper's MiniGrid Table 3 settings (256 envs × 32 steps = 8192
transitions per update, 122 updates ≈ 1M steps, 4 epochs × 8 minibatches of
1024, Adam 2.5e-4, λ 0.95, γ 0.99, entropy 0.01, value clip 0.1, grad norm 0.5),
a flat MLP over the 147 image bytes; PPO alone and with every bonus
``rk.intrinsic`` ships (at rewardkit defaults, or ``--preset rllte``), several
seeds ``vmap``-ped inside one ``jit``. Bonuses with RMS observation
normalisation first warm up on 2560 random steps per env (the anchor's), outside
the step budget.

Metric: mean extrinsic return over each seed's last 100 episodes (MiniGrid's
``1 − 0.9·t/max_steps`` on success), and the success rate over the same
episodes. Anchor paper App. F Table 8, DoorKey-8x8 at 1M steps: PPO 0.22, ICM
0.83, RND 0.00, RE3 0.95. Acceptance (spec): ICM ≥ 0.65, RE3 ≥ 0.80, PPO ≤ 0.5
and below both.

Measured (5 seeds, 1M steps, NVIDIA H200, jax 0.11.2; docs/reproductions.md):
PPO 0.000; ICM 0.581 ± 0.449 at rewardkit defaults (3 of 5 seeds solve it),
0.963 ± 0.002 under ``--preset rllte``; RND 0.006 (rllte 0.001); Disagreement
0.006 (0.000); E3B 0.010 (0.012). RE3 was not available yet. ICM with 10 seeds on
the 2-core CPU (``--seeds 10 --seed-chunk 2``): 0.382 at defaults (4/10 seeds solve),
0.961 with ``--preset rllte`` (10/10); ``--bonus-kwargs '{"reduction": "mean"}'``
0.647, ``'{"loss_weights": [1, 1]}'`` 0.202 (docs/reproductions.md). β0 sweeps
(``--beta0``, H200): E3B 0.698 at β0 = 0.01 over 20 seeds (0.008 at the default 1,
10 seeds), Disagreement 0.777 at β0 = 0.1 over 20 seeds (0.010 at 1, 10 seeds); ICM's
best β0 is its default.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import jax
import numpy as np

from experiments import _common
from rewardkit import intrinsic
from rewardkit.agents import ppo
from rewardkit.envs import DoorKey

DESCRIPTION = "Jitted PPO on JAX DoorKey, no bonus vs each bonus (intrinsic §6.2)"

#: Bonuses whose default observation normalisation is RMS (spec §2.1): they warm up.
RMS_BONUSES = ("rnd", "disagreement", "ngu", "re3")
#: Candidate bonuses, in the spec's order; those rk.intrinsic lacks are skipped.
CANDIDATES = (
    "icm",
    "rnd",
    "disagreement",
    "e3b",
    "pseudo_counts",
    "ride",
    "ngu",
    "re3",
)
#: Anchor paper App. F Table 8 (DoorKey-8x8, 1M steps).
ANCHOR_8X8 = {"ppo": 0.22, "icm": 0.83, "rnd": 0.0, "re3": 0.95}

CONFIG = ppo.Config(
    num_envs=256,
    rollout_len=32,
    num_updates=122,
    update_epochs=4,
    num_minibatches=8,
    lr=2.5e-4,
    adam_eps=1e-5,
    max_grad_norm=0.5,
    gamma=0.99,
    gamma_intrinsic=0.99,
    gae_lambda=0.95,
    clip_eps=0.2,
    value_clip=0.1,
    vf_coef=0.5,
    ent_coef=0.01,
    shared_torso=True,
    hidden=(256, 256),
    activation="relu",
)


def available_bonuses() -> list[str]:
    return [name for name in CANDIDATES if callable(getattr(intrinsic, name, None))]


def build(
    name: str,
    config: ppo.Config,
    preset: str | None,
    quick: bool,
    overrides: dict | None = None,
):
    """``(bonus or None, config)`` for one method (``overrides``: factory keywords)."""
    if name == "ppo":
        return None, config
    # The anchor's flat 147-d vector encoder (the CNN runs too; it is slower on CPU).
    kwargs = {"num_envs": config.num_envs, "encoder": "mlp"}
    if preset:
        kwargs["preset"] = preset
    rms = name in RMS_BONUSES
    if quick:  # tiny networks, one rollout of warm-up
        kwargs.update(latent_dim=16, hidden=32)
        if rms:
            kwargs["warmup_transitions"] = config.batch_size
        warmup = 1 if rms else 0
    else:
        warmup = math.ceil(2560 / config.rollout_len) if rms else 0
    kwargs.update(overrides or {})
    bonus = getattr(intrinsic, name)(**kwargs)
    return bonus, ppo.Config(**{**config.__dict__, "warmup_rollouts": warmup})


def last_episodes(metrics: dict, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Per seed: mean return and success rate over (about) the last ``n`` episodes.

    Whole updates are taken from the end until at least ``n`` episodes are covered.
    """
    eps = np.asarray(metrics["episodes"], np.float64)
    ret = np.asarray(metrics["return_sum"], np.float64)
    succ = np.asarray(metrics["successes"], np.float64)
    mean_ret, rate = [], []
    for e, r, s in zip(eps, ret, succ, strict=True):
        cum = np.cumsum(e[::-1])
        k = int(np.searchsorted(cum, n)) + 1
        tot = max(e[-k:].sum(), 1.0)
        mean_ret.append(r[-k:].sum() / tot)
        rate.append(s[-k:].sum() / tot)
    return np.array(mean_ret), np.array(rate)


def _parse_beta0(text: str) -> list[float]:
    """``"1,0.1"`` -> ``[1.0, 0.1]`` (the ``--beta0`` argument type)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, e.g. '1,0.1'; got {text!r}"
        ) from None
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected finite values >= 0; got {text!r}")
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected distinct values; got {text!r}")
    return values


def _run_method(train, cfg, keys, args, label, beta0, curves, first) -> dict:
    """Trains every seed (in chunks), stores the curves, returns the row's figures."""
    extra = () if beta0 is None else (None, np.float32(beta0))
    t0 = time.perf_counter()
    chunk = args.seed_chunk or len(keys)
    parts = [
        jax.device_get(
            _common.run_sharded(
                train, keys[i : i + chunk], *extra, devices=args.devices
            )
        )
        for i in _common.progress(
            range(0, len(keys), chunk), desc=f"{label}: seed chunks"
        )
    ]
    metrics = jax.tree.map(lambda *x: np.concatenate(x), *parts)
    wall = time.perf_counter() - t0
    mean_ret, rate = last_episodes(metrics)
    eps = np.asarray(metrics["episodes"], np.float64).sum(0)
    curves[(label, beta0)] = (
        np.asarray(metrics["successes"], np.float64).sum(0) / np.maximum(eps, 1),
        np.asarray(metrics["return_sum"], np.float64).sum(0) / np.maximum(eps, 1),
    )
    print(f"{label}: return {mean_ret.round(3).tolist()} ({wall:.1f} s)", flush=True)
    return {
        "env_steps": cfg.total_steps,
        "return_last100": float(mean_ret.mean()),
        "return_std": float(mean_ret.std()),
        "success_last100": float(rate.mean()),
        "seeds_solved_0.85": int((mean_ret >= 0.85).sum()),
        "per_seed_return": " ".join(f"{r:.3f}" for r in mean_ret),
        "seconds": wall,
        "env_steps_per_s": len(keys) * cfg.total_steps / wall,
        # The first run of a method compiles its training program; later β0
        # values reuse it, so their seconds are training alone.
        "includes_compile": first,
    }


def main(argv=None):
    p = _common.parser(DESCRIPTION, seeds=5)
    p.add_argument("--size", type=int, default=8, help="DoorKey grid size")
    p.add_argument("--updates", type=int, default=None, help="PPO updates (122 ≈ 1M)")
    p.add_argument(
        "--bonuses",
        default=None,
        help="comma-separated methods (default: ppo and every available bonus)",
    )
    p.add_argument(
        "--preset", default=None, choices=[None, "rllte"], help="bonus preset"
    )
    p.add_argument(
        "--bonus-kwargs",
        default=None,
        help="JSON keywords for every bonus factory, e.g. '{\"loss_weights\": [1, 1]}'",
    )
    p.add_argument(
        "--beta0",
        type=_parse_beta0,
        default=None,
        help="comma-separated β0 values to sweep for every bonus (e.g. '1,0.1,0.01'); "
        "each value reuses the method's compile (β0 is a state leaf). Default: the "
        "bonus's own β0",
    )
    p.add_argument(
        "--seed-chunk",
        type=int,
        default=None,
        help="seeds per jitted call (default: all at once). On the 2-core CPU, "
        "vmapping 10 seeds stalled in XLA's CPU runtime; chunks of 2 run",
    )
    args = p.parse_args(argv)
    config, seeds, size = CONFIG, args.seeds, args.size
    overrides = json.loads(args.bonus_kwargs) if args.bonus_kwargs else {}
    betas = args.beta0 or [None]
    if args.beta0 and "beta0" in overrides:
        p.error("give β0 either in --beta0 or in --bonus-kwargs, not both")
    if args.quick:
        config = ppo.Config(
            **{
                **CONFIG.__dict__,
                "num_envs": 16,
                "rollout_len": 16,
                "num_updates": 2,
                "num_minibatches": 2,
                "hidden": (32,),
            }
        )
        seeds, size = min(seeds, 2), 5
    if args.updates is not None:
        config = ppo.Config(**{**config.__dict__, "num_updates": args.updates})
    methods = ["ppo", *available_bonuses()]
    if args.bonuses:
        methods = [m.strip() for m in args.bonuses.split(",") if m.strip()]
    elif args.quick:
        methods = methods[:2]  # the CI smoke run: PPO and the first bonus
    env = DoorKey(size=size)
    out = _common.out_dir("intrinsic_doorkey", args)
    keys = _common.seed_keys(seeds)
    rows, curves = [], {}
    for name in methods:
        bonus, cfg = build(name, config, args.preset, args.quick, overrides)
        train = ppo.make_train(cfg, bonus, env=env)
        for i, beta0 in enumerate([None] if bonus is None else betas):
            label = name if beta0 is None else f"{name} β0={beta0:g}"
            row = {
                "method": name,
                "beta0": float("nan") if beta0 is None else beta0,
                "preset": args.preset or "default",
                "bonus_kwargs": args.bonus_kwargs or "",
                "size": size,
                "anchor_8x8_1M": ANCHOR_8X8.get(name, float("nan")),
            }
            row.update(
                _run_method(train, cfg, keys, args, label, beta0, curves, i == 0)
            )
            rows.append(row)
    _common.print_table(rows, f"PPO on DoorKey-{size}x{size} ({seeds} seeds)")
    _common.write_csv(out / "summary.csv", rows)
    _common.write_csv(
        out / "curves.csv",
        [
            {
                "method": label.split(" ")[0],
                "beta0": float("nan") if beta0 is None else beta0,
                "update": i,
                "env_steps": (i + 1) * config.batch_size,
                "success_rate": float(s),
                "mean_return": float(r),
            }
            for (label, beta0), (succ, ret) in curves.items()
            for i, (s, r) in enumerate(zip(succ, ret, strict=True))
        ],
    )
    plt = _common.pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for (label, _), (succ, ret) in curves.items():
        steps = (np.arange(len(succ)) + 1) * config.batch_size
        ax[0].plot(steps, succ, label=label)
        ax[1].plot(steps, ret, label=label)
    ax[0].set(xlabel="env steps per seed", ylabel="success rate", ylim=(0, 1.05))
    ax[1].set(xlabel="env steps per seed", ylabel="mean episode return", ylim=(0, 1.0))
    ax[0].legend(fontsize=8)
    fig.suptitle(f"PPO on DoorKey-{size}x{size}, {seeds} seeds")
    fig.tight_layout()
    fig.savefig(out / "intrinsic_doorkey.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
