"""The three front-ends: autoreset modes, schedules, freezing, info contract."""

from __future__ import annotations

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import rewardkit as rk
from rewardkit.core import ConfigError, Transition
from tests.intrinsic._helpers import (
    ACT_SPACE,
    OBS_SPACE,
    TinyBoxEnv,
    case,
    np_e3b,
    np_encoder,
    pure,
)

STEPS = 10


def make_envs(mode):
    fns = [lambda: TinyBoxEnv(3), lambda: TinyBoxEnv(4, terminate=False)]
    return SyncVectorEnv(fns, autoreset_mode=mode)


def run_vector(mode, c, **kw):
    envs = rk.intrinsic.vector.AddIntrinsicReward(make_envs(mode), c.bonus, **kw)
    obs, _ = envs.reset(seed=3)
    envs.bonus_state = start = c.warm  # known reward scale; memories seed at step 1
    rng = np.random.default_rng(0)
    rows, prev_done = [], np.zeros(2, bool)
    for _ in range(STEPS):
        action = rng.integers(0, 3, 2)
        new_obs, reward, term, trunc, info = envs.step(action)
        next_obs = new_obs.copy()
        if "_final_obs" in info:
            for i in np.flatnonzero(info["_final_obs"]):
                next_obs[i] = info["final_obs"][i]
        valid = ~prev_done if mode is AutoresetMode.NEXT_STEP else np.ones(2, bool)
        rows.append((obs, action, next_obs, term, trunc, valid, reward, info))
        prev_done = term | trunc
        obs = np.array(new_obs, copy=True)
        if mode is AutoresetMode.DISABLED and prev_done.any():
            obs, _ = envs.reset(options={"reset_mask": prev_done})
            obs = np.array(obs, copy=True)  # the vector env reuses its buffer
    return envs, start, rows


def as_batch(rows):
    cols = list(zip(*rows, strict=True))
    return Transition(
        obs=jnp.asarray(np.stack(cols[0])),
        action=jnp.asarray(np.stack(cols[1])),
        reward=jnp.zeros((len(rows), 2)),
        next_obs=jnp.asarray(np.stack(cols[2])),
        terminated=jnp.asarray(np.stack(cols[3])),
        truncated=jnp.asarray(np.stack(cols[4])),
        valid=jnp.asarray(np.stack(cols[5])),
    )


@pytest.mark.parametrize("mode", list(AutoresetMode), ids=lambda m: m.value)
def test_vector_bonuses_equal_batched_compute_and_reset_at_episode_ends(mode):
    c = case("e3b")
    envs, start, rows = run_vector(mode, c, update_every=None)
    per_step = np.stack([r[-1]["intrinsic_reward"] for r in rows])
    raw_steps = np.stack([r[-1]["intrinsic_reward_raw"] for r in rows])
    batch = as_batch(rows)
    want, _, _info = c.bonus.compute(start, batch)
    np.testing.assert_allclose(per_step, want, rtol=1e-5, atol=1e-6)
    assert np.any(per_step != 0)
    # Episodic memory resets exactly at episode ends: a float64 oracle per episode.
    enc = pure(start.params["encoder"])
    oracle = np_e3b(
        np_encoder(enc, np.asarray(batch.obs, np.float64)),
        np_encoder(enc, np.asarray(batch.next_obs, np.float64)),
        np.asarray(batch.terminated | batch.truncated),
        np.asarray(batch.valid),
        0.1,
    )
    np.testing.assert_allclose(raw_steps, oracle, rtol=1e-3, atol=1e-5)
    if mode is AutoresetMode.NEXT_STEP:
        assert np.all(per_step[~np.asarray(batch.valid)] == 0.0)
        assert (~np.asarray(batch.valid)).sum() >= 2  # both envs had a reset step
    # The caller's update() trains on the buffered rollout.
    metrics = envs.update()
    assert metrics is not None
    assert int(envs.bonus_state.update_count) == int(start.update_count) + 1
    envs.close()


def test_rollout_mode_delivers_the_step_mode_bonuses():
    c = case("e3b")
    mode = AutoresetMode.SAME_STEP
    step_envs, _, step_rows = run_vector(mode, c, update_every=STEPS)
    roll_envs, _, roll_rows = run_vector(
        mode, c, compute_every="rollout", update_every=STEPS
    )
    per_step = np.stack([r[-1]["intrinsic_reward"] for r in step_rows])
    np.testing.assert_allclose(roll_envs.last_bonus, per_step, rtol=1e-5, atol=1e-6)
    last = roll_rows[-1][-1]
    np.testing.assert_allclose(last["intrinsic_rollout_bonus"], per_step.T, atol=1e-6)
    # Rollout mode returns the extrinsic reward and declares no added term.
    assert not roll_envs.adds_term and step_envs.adds_term
    np.testing.assert_array_equal(roll_rows[3][6], roll_rows[3][-1]["extrinsic_reward"])
    for envs in (step_envs, roll_envs):
        assert int(envs.bonus_state.update_count) == int(c.warm.update_count) + 1
        envs.close()


def test_vector_info_contract_schedule_and_freeze():
    bonus = case("rnd").bonus
    envs = rk.intrinsic.vector.AddIntrinsicReward(
        make_envs(AutoresetMode.NEXT_STEP), bonus, update_every=4
    )
    envs.reset(seed=0)
    seen_metrics = []
    for t in range(8):
        _, reward, _, _, info = envs.step(np.array([0, 1]))
        np.testing.assert_allclose(
            reward, info["extrinsic_reward"] + info["intrinsic_reward"], rtol=1e-6
        )
        assert info["_intrinsic_reward"].all() and "intrinsic_reward_raw" in info
        if "intrinsic_metrics" in info:
            seen_metrics.append(t)
    assert seen_metrics == [3, 7] and int(envs.bonus_state.update_count) == 2
    envs.freeze()
    assert envs.frozen
    for _ in range(8):
        envs.step(np.array([2, 2]))
    assert int(envs.bonus_state.update_count) == 2
    envs.unfreeze()
    assert not envs.frozen
    terms = rk.core.reward_terms(envs)
    assert [t.key for t in terms] == ["intrinsic_reward"]
    with pytest.raises(ConfigError, match="already used"):
        rk.intrinsic.vector.AddIntrinsicReward(envs, bonus)
    envs.close()


def test_reward_mode_extrinsic_keeps_the_bonus_in_info():
    bonus = case("rnd").bonus
    envs = rk.intrinsic.vector.AddIntrinsicReward(
        make_envs(AutoresetMode.NEXT_STEP), bonus, reward_mode="extrinsic"
    )
    envs.reset(seed=0)
    envs.bonus_state = case("rnd").warm
    _, reward, _, _, info = envs.step(np.array([0, 1]))
    np.testing.assert_array_equal(reward, info["extrinsic_reward"])
    assert np.any(info["intrinsic_reward"] != 0) and not envs.adds_term
    envs.close()


def test_vector_rejects_bad_arguments():
    envs = make_envs(AutoresetMode.NEXT_STEP)
    with pytest.raises(ConfigError, match="num_envs"):
        rk.intrinsic.vector.AddIntrinsicReward(envs, rk.intrinsic.rnd(num_envs=3))
    with pytest.raises(TypeError, match="bonus"):
        rk.intrinsic.vector.AddIntrinsicReward(envs, object())
    with pytest.raises(ConfigError, match="compute_every"):
        rk.intrinsic.vector.AddIntrinsicReward(
            envs, case("rnd").bonus, compute_every="episode"
        )
    with pytest.raises(TypeError, match="envs"):
        rk.intrinsic.vector.AddIntrinsicReward(TinyBoxEnv(), case("rnd").bonus)
    envs.close()


def test_single_env_wrapper_reseeds_on_reset_and_updates():
    bonus = rk.intrinsic.e3b(num_envs=1, latent_dim=8, hidden=16, batch_size=8)
    env = rk.intrinsic.AddIntrinsicReward(TinyBoxEnv(3), bonus, update_every=3)
    _obs, _ = env.reset(seed=1)
    assert not bool(env.bonus_state.episodic.needs_seed[0])  # seeded with s_0
    rewards = []
    for _ in range(3):
        _, r, term, _, info = env.step(1)
        rewards.append(info["intrinsic_reward"])
        assert r == pytest.approx(info["extrinsic_reward"] + info["intrinsic_reward"])
    assert term and "intrinsic_metrics" in info
    assert bool(env.bonus_state.episodic.needs_seed[0])
    env.reset()
    assert not bool(env.bonus_state.episodic.needs_seed[0])
    assert all(np.isfinite(rewards))


class Walk(rk.core.Environment):
    """A functional env: the position drifts with the action; 3-step episodes."""

    def default_params(self):
        return jnp.float32(0.0)

    def reset(self, key, params):
        pos = jax.random.uniform(key, (4,), minval=-0.5, maxval=0.5)
        return pos, (pos, jnp.int32(0))

    def step(self, key, state, action, params):
        pos, t = state
        pos = jnp.clip(pos + 0.1 * (jnp.arange(4) - action), -1.0, 1.0)
        t = t + 1
        return pos, (pos, t), jnp.float32(1.0), t >= 3, jnp.bool_(False), {}

    def observation_space(self, params):
        return OBS_SPACE

    def action_space(self, params):
        return ACT_SPACE


def test_functional_rewards_equal_batched_compute():
    bonus = rk.intrinsic.e3b(num_envs=1, latent_dim=8, hidden=16)
    env = rk.core.AutoReset(
        rk.intrinsic.functional.AddIntrinsicReward(Walk(), bonus), mode="SameStep"
    )
    inner = env.env
    params = inner.init_params(jax.random.key(0), inner.env.default_params())
    t_len, n = 7, 2

    @jax.jit
    def rollout(params, key):
        k_reset, k_act, k_step = jax.random.split(key, 3)
        obs, state = jax.vmap(env.reset, (0, None))(
            jax.random.split(k_reset, n), params
        )
        actions = jax.random.randint(k_act, (t_len, n), 0, 3)

        def step(carry, xs):
            obs, state = carry
            action, key = xs
            keys = jax.random.split(key, n)
            out = jax.vmap(env.step, (0, 0, 0, None))(keys, state, action, params)
            new_obs, state, reward, term, trunc, info = out
            row = (obs, action, info["final_obs"], term, trunc, reward, info)
            return (new_obs, state), row

        _, rows = jax.lax.scan(
            step, (obs, state), (actions, jax.random.split(k_step, t_len))
        )
        return rows

    obs, action, next_obs, term, trunc, reward, info = rollout(
        params, jax.random.key(1)
    )
    np.testing.assert_allclose(reward, 1.0 + info["intrinsic_reward"], rtol=1e-6)
    assert np.all(info["intrinsic_reward_raw"] > 0)
    for i in range(n):
        batch = Transition(
            obs=obs[:, i : i + 1],
            action=action[:, i : i + 1],
            reward=jnp.zeros((t_len, 1)),
            next_obs=next_obs[:, i : i + 1],
            terminated=term[:, i : i + 1],
            truncated=trunc[:, i : i + 1],
        )
        want, _, winfo = bonus.compute(params.bonus, batch)
        np.testing.assert_allclose(
            info["intrinsic_reward"][:, i], want[:, 0], rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            info["intrinsic_reward_raw"][:, i], winfo["raw"][:, 0], rtol=1e-5
        )
    extras = {k: info[k] for k in ("intrinsic_reward_raw", "intrinsic_return")}
    batch = Transition(
        obs=obs,
        action=action,
        reward=reward,
        next_obs=next_obs,
        terminated=term,
        truncated=trunc,
        extras=extras,
    )
    new_params, metrics = inner.update(params, batch)
    assert int(new_params.bonus.update_count) == 1 and np.isfinite(
        float(metrics["loss"])
    )
    with pytest.raises(KeyError, match="intrinsic_reward_raw"):
        inner.update(params, batch._replace(extras={}))


def test_functional_rejects_bonus_for_several_envs():
    with pytest.raises(ConfigError, match="num_envs"):
        rk.intrinsic.functional.AddIntrinsicReward(Walk(), rk.intrinsic.rnd(num_envs=2))
    with pytest.raises(TypeError, match="Environment"):
        rk.intrinsic.functional.AddIntrinsicReward(
            gym.make("CartPole-v1"), rk.intrinsic.rnd(num_envs=1)
        )
