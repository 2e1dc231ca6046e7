"""SB3 PPO with an RND bonus on MiniGrid DoorKey-5x5, through rewardkit's SB3 integration.

Install the extra first (it brings Stable-Baselines3 and PyTorch):

    pip install "rewardkit[sb3]"
    python examples/sb3_ppo_rnd.py --timesteps 4096

``rk.intrinsic.integrations.sb3.AddIntrinsicReward`` buffers each rollout's
transitions (the true final observation of an episode is SB3's
``info["terminal_observation"]``) and ``IntrinsicRewardCallback`` scores the whole
rollout with one jitted RND ``compute`` at its end, adds the bonuses to PPO's
rollout buffer, recomputes returns and advantages, then trains the RND predictor.
The first rollout only fills RND's observation statistics (``warmup_transitions``).
Observations: MiniGrid's 7x7x3 egocentric view flattened to 147 uint8 features.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid ids)
import numpy as np
from minigrid.wrappers import ImgObsWrapper
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.env_util import make_vec_env

import rewardkit as rk
from rewardkit.intrinsic.integrations.sb3 import (
    AddIntrinsicReward,
    IntrinsicRewardCallback,
)


def flat_view(env: gym.Env) -> gym.Env:
    """MiniGrid's egocentric image view, flattened (147 uint8 features)."""
    return gym.wrappers.FlattenObservation(ImgObsWrapper(env))


class Progress(BaseCallback):
    """Prints one line per rollout (after the bonus callback has run)."""

    def __init__(self, bonus_callback: IntrinsicRewardCallback):
        super().__init__()
        self.bonus_callback = bonus_callback
        self.rows: list[dict[str, float]] = []
        self.start = time.perf_counter()

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        metrics = self.bonus_callback.last_metrics or {}
        episodes = [e["r"] for e in self.model.ep_info_buffer]
        row = {
            "rollout": len(self.rows),
            "timesteps": self.num_timesteps,
            "updates": int(self.bonus_callback.wrapper.bonus_state.update_count),
            "mean_bonus": metrics.get("mean_bonus", float("nan")),
            "rnd_loss": metrics.get("loss", float("nan")),
            "warming_up": float(metrics.get("warming_up", 0.0)),
            "episodes": len(episodes),
            "ep_return": float(np.mean(episodes)) if episodes else float("nan"),
        }
        self.rows.append(row)
        print(
            f"rollout {row['rollout']:3d}  env steps {row['timesteps']:6d}  "
            f"mean bonus {row['mean_bonus']:.4f}  rnd loss {row['rnd_loss']:.4f}  "
            f"warming up {bool(row['warming_up'])!s:5}  "
            f"episode return {row['ep_return']:.3f} ({row['episodes']} episodes)  "
            f"{time.perf_counter() - self.start:.1f} s"
        )


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    """Trains PPO with the bonus; returns one row of statistics per rollout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="MiniGrid-DoorKey-5x5-v0")
    parser.add_argument("--envs", type=int, default=4)
    parser.add_argument("--n-steps", type=int, default=128, help="steps per rollout")
    parser.add_argument("--timesteps", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    bonus = rk.intrinsic.rnd(
        num_envs=args.envs, warmup_transitions=args.envs * args.n_steps
    )
    venv = AddIntrinsicReward(
        make_vec_env(
            args.env, n_envs=args.envs, seed=args.seed, wrapper_class=flat_view
        ),
        bonus,
        compute_every="rollout",
        update_every=None,
    )
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=args.n_steps,
        batch_size=min(256, args.envs * args.n_steps),
        n_epochs=4,
        learning_rate=2.5e-4,
        ent_coef=0.01,
        seed=args.seed,
    )
    bonus_callback = IntrinsicRewardCallback()
    progress = Progress(bonus_callback)
    model.learn(args.timesteps, callback=CallbackList([bonus_callback, progress]))
    venv.close()
    return progress.rows


if __name__ == "__main__":
    main()
