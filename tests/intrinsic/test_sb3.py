"""The Stable-Baselines3 integration (spec §7, RLeXplore#3/#16); needs ``[sb3]``.

Skipped where Stable-Baselines3 is not installed (the main CI job). Run in an env
with the extra: ``pip install -e ".[sb3]"`` then ``pytest tests/intrinsic/test_sb3.py``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import jax
import numpy as np
import pytest

sb3 = pytest.importorskip("stable_baselines3")

from stable_baselines3 import A2C, DQN, PPO  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback, CallbackList  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

import rewardkit as rk  # noqa: E402
from rewardkit.core import ConfigError, Transition  # noqa: E402
from rewardkit.intrinsic.integrations.sb3 import (  # noqa: E402
    AddIntrinsicReward,
    IntrinsicRewardCallback,
)
from tests.intrinsic._helpers import FAST, TinyBoxEnv  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def tiny_venv(n=2, terminate=True):
    return DummyVecEnv([lambda: TinyBoxEnv(length=3, terminate=terminate)] * n)


def test_step_mode_scores_the_terminal_observation_like_a_batched_compute():
    # E3B is episodic: scoring the reset obs instead of the final one, or not
    # re-seeding memory with the reset obs, changes the bonuses.
    bonus = rk.intrinsic.e3b(num_envs=2, **{**FAST, "reward_norm": "none"})
    venv = AddIntrinsicReward(tiny_venv(), bonus, update_every=None)
    venv.seed(0)
    obs = venv.reset()
    start = venv.bonus_state
    rng = np.random.default_rng(0)
    rows, got, ext, returned = [], [], [], []
    for _ in range(7):
        action = rng.integers(0, 3, 2)
        new, reward, done, infos = venv.step(action)
        final = np.stack(
            [
                inf["terminal_observation"] if d else o
                for o, d, inf in zip(new, done, infos, strict=True)
            ]
        )
        rows.append((obs, action, final, done))
        got.append([inf["intrinsic_reward"] for inf in infos])
        ext.append([inf["extrinsic_reward"] for inf in infos])
        returned.append(reward)
        obs = new
    assert np.any([r[3] for r in rows])  # episodes ended inside the rollout
    batch = Transition(
        obs=np.stack([r[0] for r in rows]),
        action=np.stack([r[1] for r in rows]),
        reward=np.asarray(ext, np.float32),
        next_obs=np.stack([r[2] for r in rows]),
        terminated=np.stack([r[3] for r in rows]),
        truncated=np.zeros((7, 2), bool),
    )
    want, _, _ = jax.jit(bonus.compute)(start, batch)
    assert np.all(np.asarray(want) > 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(returned, np.asarray(ext) + np.asarray(got), rtol=1e-6)


def test_truncation_comes_from_sb3s_time_limit_flag():
    bonus = rk.intrinsic.rnd(num_envs=2, **FAST)
    venv = AddIntrinsicReward(
        tiny_venv(terminate=False), bonus, compute_every="rollout", update_every=None
    )
    venv.reset()
    for _ in range(3):
        _, reward, _, infos = venv.step(np.array([0, 1]))
        assert "intrinsic_reward" in infos[0] and infos[0]["intrinsic_reward"] == 0.0
    steps = venv._runner.buffer  # rollout mode buffers the steps until update()
    assert [s["truncated"].tolist() for s in steps] == [[False] * 2] * 2 + [[True] * 2]
    assert not any(s["terminated"].any() for s in steps)
    np.testing.assert_allclose(reward, [1.0, 1.0])  # rollout mode returns r only
    metrics = venv.update()
    assert "loss" in metrics and venv.last_bonus.shape == (3, 2)


class Recorder(BaseCallback):
    """Placed after IntrinsicRewardCallback: sees the rewritten buffer."""

    def __init__(self):
        super().__init__()
        self.ext, self.seen = [], {}

    def _on_step(self):
        self.ext.append([inf["extrinsic_reward"] for inf in self.locals["infos"]])
        return True

    def _on_rollout_end(self):
        buf = self.model.rollout_buffer
        self.seen = {
            k: np.array(getattr(buf, k), copy=True)
            for k in ("rewards", "values", "episode_starts", "advantages", "returns")
        }
        self.seen["last_values"] = self.locals["values"].numpy().ravel()
        self.seen["dones"] = np.asarray(self.locals["dones"], np.float64)


def np_gae(rewards, values, starts, last_values, dones, gamma, lam):
    """SB3's GAE in float64 NumPy."""
    adv, last = np.zeros_like(rewards, np.float64), 0.0
    for t in reversed(range(len(rewards))):
        if t == len(rewards) - 1:
            live, next_v = 1.0 - dones, last_values
        else:
            live, next_v = 1.0 - starts[t + 1], values[t + 1]
        delta = rewards[t] + gamma * next_v * live - values[t]
        last = delta + gamma * lam * live * last
        adv[t] = last
    return adv, adv + values


@pytest.mark.parametrize("algo", [PPO, A2C])
def test_callback_adds_the_bonus_and_recomputes_returns(algo):
    bonus = rk.intrinsic.rnd(num_envs=2, **{**FAST, "reward_norm": "none"})
    venv = AddIntrinsicReward(
        tiny_venv(), bonus, compute_every="rollout", update_every=None
    )
    kwargs = {"batch_size": 12, "n_epochs": 1} if algo is PPO else {}
    model = algo(
        "MlpPolicy", venv, n_steps=6, gamma=0.9, gae_lambda=0.8, seed=0, **kwargs
    )
    recorder = Recorder()
    model.learn(24, callback=CallbackList([IntrinsicRewardCallback(), recorder]))
    seen, bonus_t = recorder.seen, venv.last_bonus
    assert bonus_t.shape == (6, 2) and np.all(bonus_t > 0)
    assert int(venv.bonus_state.update_count) == 2  # one update per rollout
    ext = np.asarray(recorder.ext[-6:], np.float32)
    np.testing.assert_allclose(seen["rewards"], ext + bonus_t, rtol=1e-6)
    adv, ret = np_gae(
        seen["rewards"].astype(np.float64),
        seen["values"],
        seen["episode_starts"],
        seen["last_values"],
        seen["dones"],
        0.9,
        0.8,
    )
    np.testing.assert_allclose(seen["advantages"], adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(seen["returns"], ret, rtol=1e-5, atol=1e-5)
    stale, _ = np_gae(
        ext,
        seen["values"],
        seen["episode_starts"],
        seen["last_values"],
        seen["dones"],
        0.9,
        0.8,
    )
    assert not np.allclose(seen["advantages"], stale)


def test_wrapper_and_callback_check_their_setup():
    bonus = rk.intrinsic.rnd(num_envs=2, **FAST)
    with pytest.raises(TypeError, match="`venv` must be a stable_baselines3 VecEnv"):
        AddIntrinsicReward(TinyBoxEnv(), bonus)
    with pytest.raises(ConfigError, match="built with `num_envs`=2"):
        AddIntrinsicReward(tiny_venv(3), bonus)
    with pytest.raises(ConfigError, match="`compute_every` must be one of"):
        AddIntrinsicReward(tiny_venv(), bonus, compute_every="episode")
    step_mode = AddIntrinsicReward(tiny_venv(), bonus)
    model = PPO("MlpPolicy", step_mode, n_steps=4, batch_size=8)
    with pytest.raises(ConfigError, match='compute_every="rollout", update_every=None'):
        model.learn(8, callback=IntrinsicRewardCallback())
    plain = PPO("MlpPolicy", tiny_venv(), n_steps=4, batch_size=8)
    with pytest.raises(ConfigError, match=r"exactly one .* found 0"):
        plain.learn(8, callback=IntrinsicRewardCallback())
    dqn = DQN("MlpPolicy", tiny_venv(1), learning_starts=0, buffer_size=100)
    with pytest.raises(ConfigError, match="on-policy rollout buffer"):
        dqn.learn(4, callback=IntrinsicRewardCallback())


def test_example_runs_with_a_tiny_budget(capsys):
    path = ROOT / "examples" / "sb3_ppo_rnd.py"
    spec = importlib.util.spec_from_file_location("sb3_ppo_rnd", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--envs", "2", "--n-steps", "16", "--timesteps", "96"])
    assert len(rows) == 3 and rows[-1]["updates"] == 3
    assert all(np.isfinite(r["mean_bonus"]) for r in rows)
    assert "rollout" in capsys.readouterr().out


def test_docs_sb3_snippet_runs(capsys):
    text = (ROOT / "docs" / "intrinsic.md").read_text(encoding="utf-8")
    section = text.split("## Stable-Baselines3", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    exec(compile(code, "docs/intrinsic.md[Stable-Baselines3]", "exec"), {})
    assert capsys.readouterr().out.strip()
