"""RND on a real MiniGrid vector env through ``rk.intrinsic.vector.AddIntrinsicReward``.

Eight ``MiniGrid-DoorKey-8x8-v0`` envs (sync vectorisation, 7x7x3 egocentric view
flattened to 147 uint8 features), a random policy, and RND scoring every step; the
predictor trains once per 128-step rollout. The first rollout only fills the
observation statistics (``warmup_transitions``), as RND's random-agent warm-up.

    python examples/intrinsic_minigrid_rnd.py --rollouts 4
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid ids)
import numpy as np
from minigrid.wrappers import ImgObsWrapper

import rewardkit as rk


def make_envs(num_envs: int) -> gym.vector.VectorEnv:
    """DoorKey-8x8 envs with flat 147-d uint8 observations."""
    return gym.make_vec(
        "MiniGrid-DoorKey-8x8-v0",
        num_envs=num_envs,
        vectorization_mode="sync",
        wrappers=[ImgObsWrapper, gym.wrappers.FlattenObservation],
    )


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    """Runs the rollouts; returns one row of statistics per rollout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=128, help="steps per rollout")
    parser.add_argument("--rollouts", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    bonus = rk.intrinsic.rnd(
        num_envs=args.envs, warmup_transitions=args.envs * args.steps
    )
    envs = rk.intrinsic.vector.AddIntrinsicReward(
        make_envs(args.envs), bonus, update_every=args.steps
    )
    envs.reset(seed=args.seed)
    envs.action_space.seed(args.seed)
    rows, start = [], time.perf_counter()
    for rollout in range(args.rollouts):
        bonuses, extrinsic = [], []
        for _ in range(args.steps):
            _, _, _, _, info = envs.step(envs.action_space.sample())
            bonuses.append(info["intrinsic_reward"])
            extrinsic.append(info["extrinsic_reward"])
        metrics = info.get("intrinsic_metrics", {})
        row = {
            "rollout": rollout,
            "warming_up": float(info["warming_up"][0]),
            "mean_bonus": float(np.mean(bonuses)),
            "max_bonus": float(np.max(bonuses)),
            "extrinsic_return": float(np.sum(extrinsic)),
            "rnd_loss": float(metrics.get("loss", np.nan)),
        }
        rows.append(row)
        print(
            f"rollout {rollout}: warming_up={bool(row['warming_up'])} "
            f"mean bonus {row['mean_bonus']:.4f} (max {row['max_bonus']:.3f}), "
            f"predictor loss {row['rnd_loss']:.4f}"
        )
    envs.close()
    print(
        f"{args.rollouts * args.steps * args.envs} env steps in "
        f"{time.perf_counter() - start:.1f} s"
    )
    return rows


if __name__ == "__main__":
    main()
