"""Each bonus's formulas against slow float64 NumPy references."""

from __future__ import annotations

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.core import init_running_stats
from rewardkit.intrinsic._e3b import sherman_morrison
from rewardkit.intrinsic._norm import masked_update, normalize_reward
from rewardkit.intrinsic._spaces import make_spec
from tests.intrinsic._helpers import (
    ACT_SPACE,
    OBS_SPACE,
    SMALL,
    N,
    T,
    case,
    np_e3b,
    np_encoder,
    np_mlp,
    pure,
    random_batch,
)


def f64(x):
    return np.asarray(x, np.float64)


def norm_obs(x, snap, eps=1e-8):
    return np.clip((f64(x) - f64(snap.mean)) / np.sqrt(f64(snap.var) + eps), -5, 5)


def test_rnd_against_numpy():
    c = case("rnd")
    batch = c.batch
    _, state, _ = c.compute(c.state, batch)
    state, _ = c.update(state, batch)  # non-trivial snapshots
    r, new, info = c.compute(state, batch)
    x = norm_obs(batch.next_obs, state.obs_snapshot)
    pred = np_encoder(pure(state.params["predictor"]), x)
    goal = np_encoder(pure(state.fixed["target"]), x)
    raw = np.sum((pred - goal) ** 2, -1)
    np.testing.assert_allclose(info["raw"], raw, rtol=2e-4)
    # return_std: divide by the snapshot std of the intrinsic return.
    np.testing.assert_allclose(
        r, raw / np.sqrt(f64(state.rew_snapshot.var) + 1e-8), rtol=2e-4
    )
    # The filter R <- 0.99 R + r advanced per step from its previous value.
    ret = f64(state.ret_filter)
    for t in range(T):
        ret = 0.99 * ret + raw[t]
    np.testing.assert_allclose(new.ret_filter, ret, rtol=2e-4)


@pytest.mark.parametrize("name", ["icm", "icm_rllte"])
def test_icm_against_numpy(name):
    c = case(name)
    r, _, info = c.compute(c.warm, c.batch)
    p = {k: pure(v) for k, v in c.warm.params.items()}
    phi = np_encoder(p["encoder"], f64(c.batch.obs))
    phi_next = np_encoder(p["encoder"], f64(c.batch.next_obs))
    onehot = np.eye(3)[np.asarray(c.batch.action)]
    pred = np_mlp(p["forward"], np.concatenate([phi, onehot], -1))
    sq = (pred - phi_next) ** 2
    raw = 0.5 * np.sum(sq, -1) if name == "icm" else np.mean(sq, -1)  # rllte: mean
    np.testing.assert_allclose(info["raw"], raw, rtol=2e-4)
    if name == "icm":  # reward_std: the snapshot std of the raw bonus, β0 = 1
        var = float(c.warm.rew_snapshot.var)
        np.testing.assert_allclose(r, raw / np.sqrt(var + 1e-8), rtol=2e-4)


@pytest.mark.parametrize("name", ["disagreement", "disagreement_rr"])
def test_disagreement_against_numpy(name):
    c = case(name)  # "disagreement_rr" is the rllte preset: unbiased variance
    _, _, info = c.compute(c.state, c.batch)
    enc = pure(c.state.fixed["encoder"])
    phi = np_encoder(enc, norm_obs(c.batch.obs, c.state.obs_snapshot, 0.0))
    x = np.concatenate([phi, np.eye(3)[np.asarray(c.batch.action)]], -1)
    members = pure(c.state.params["members"])
    m = jax.tree.leaves(members)[0].shape[0]
    preds = np.stack(
        [np_mlp(jax.tree.map(lambda a, i=i: a[i], members), x) for i in range(m)]
    )
    ddof = 1 if name == "disagreement_rr" else 0
    np.testing.assert_allclose(
        info["raw"], np.mean(np.var(preds, 0, ddof=ddof), -1), rtol=2e-4
    )


@pytest.mark.parametrize("name", ["e3b", "e3b_rllte"])
def test_e3b_against_numpy_with_episode_ends(name):
    c = case(name)
    batch = c.batch._replace(
        terminated=c.batch.terminated.at[4, 1].set(True),
        valid=jnp.ones((T, N), bool).at[3, 0].set(False),
    )
    _, new, info = c.compute(c.state, batch)
    enc = pure(c.state.params["encoder"])
    want = np_e3b(
        np_encoder(enc, f64(batch.obs)),
        np_encoder(enc, f64(batch.next_obs)),
        np.asarray(batch.terminated),
        np.asarray(batch.valid),
        0.1,
        score="next" if name == "e3b" else "current",
        zero_first=False,
    )
    np.testing.assert_allclose(info["raw"], want, rtol=1e-3, atol=1e-5)
    assert new.episodic.needs_seed.tolist() == [False, True]


def test_e3b_reset_reseeds_masked_envs_only():
    c = case("e3b")
    _, state, _ = c.compute(c.state, c.batch)
    obs = jnp.ones((N, 4)) * 0.3
    out = jax.jit(c.bonus.reset)(state, jnp.array([True, False]), obs)
    np.testing.assert_array_equal(out.episodic.inv_cov[1], state.episodic.inv_cov[1])
    phi = np_encoder(pure(state.params["encoder"]), f64(obs[0]))
    want = np.linalg.inv(0.1 * np.eye(8) + np.outer(phi, phi))
    np.testing.assert_allclose(out.episodic.inv_cov[0], want, rtol=1e-3, atol=1e-4)


def test_sherman_morrison_matches_float64_solve_over_2560_steps():
    d, steps, lam = 8, 2560, 0.1
    rng = np.random.default_rng(0)
    phis = rng.normal(size=(steps, d))
    phis /= np.linalg.norm(phis, axis=1, keepdims=True)  # ||φ||² = 1

    def step(inv, phi):
        b, inv = sherman_morrison(inv, phi)
        return inv, b

    _, b = jax.jit(lambda p: jax.lax.scan(step, jnp.eye(d) / lam, p))(
        jnp.asarray(phis, jnp.float32)
    )
    cov, want = lam * np.eye(d), np.empty(steps)
    for t, p in enumerate(phis):
        want[t] = p @ np.linalg.solve(cov, p)
        cov += np.outer(p, p)
    assert np.max(np.abs(np.asarray(b) - want) / want) < 1e-3


def test_masked_update_matches_numpy_moments():
    rng = np.random.default_rng(1)
    x, mask = rng.normal(size=(6, 3, 2)), rng.random((6, 3)) < 0.6
    stats = masked_update(
        init_running_stats((2,)), jnp.asarray(x[:2]), jnp.ones((2, 3), bool)
    )
    stats = masked_update(stats, jnp.asarray(x), jnp.asarray(mask))
    kept = np.concatenate([x[:2].reshape(-1, 2), x[mask]])
    # The prior (mean 0, var 1, count 1e-4) is negligible.
    np.testing.assert_allclose(stats.mean, kept.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(stats.var, kept.var(0), rtol=1e-3, atol=1e-4)
    assert float(stats.count) == pytest.approx(len(kept) + 1e-4, rel=1e-6)


@pytest.mark.parametrize(
    "mode", ["return_std", "reward_std", "minmax", "minmax_batch", "none"]
)
@pytest.mark.parametrize("filter_mode", ["scale", "replace"])
def test_reward_normalisation_against_numpy(mode, filter_mode):
    rng = np.random.default_rng(2)
    raw, use = rng.random((4, 2)) * 3, rng.random((4, 2)) < 0.8
    snap = init_running_stats()._replace(var=jnp.float32(4.0))
    rng_snap = jnp.array([0.5, 2.5], jnp.float32)
    out, stats, rew_range, ret = normalize_reward(
        jnp.asarray(raw, jnp.float32),
        jnp.asarray(use),
        mode=mode,
        filter_mode=filter_mode,
        gamma=0.9,
        rew_stats=init_running_stats(),
        rew_snapshot=snap,
        rew_range=jnp.array([jnp.inf, -jnp.inf]),
        rew_range_snapshot=rng_snap,
        ret_filter=jnp.array([1.0, 0.0]),
    )
    rets, r_prev = np.zeros_like(raw), np.array([1.0, 0.0])
    for t in range(4):
        r_prev = np.where(use[t], 0.9 * r_prev + raw[t], r_prev)
        rets[t] = r_prev
    value = rets if filter_mode == "replace" else raw
    if mode in ("return_std", "reward_std"):
        want = value / np.sqrt(4.0 + 1e-8)
        src = rets if mode == "return_std" else value
        assert float(stats.mean) == pytest.approx(src[use].mean(), rel=1e-4)
    elif mode == "minmax":
        want = (value - 0.5) / (2.0 + 1e-8)
        np.testing.assert_allclose(rew_range, [value[use].min(), value[use].max()])
    elif mode == "minmax_batch":
        lo, hi = value[use].min(), value[use].max()
        want = (value - lo) / (hi - lo + 1e-8)
    else:
        want = value
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    if mode == "return_std" or filter_mode == "replace":
        np.testing.assert_allclose(ret, r_prev, rtol=1e-6)


def test_action_encodings_and_inverse_losses():
    box = make_spec(OBS_SPACE, gym.spaces.Box(-2, 2, (2,)), needs_action=True)
    np.testing.assert_allclose(box.encode_action(jnp.array([[-2.0, 1.0]])), [[-1, 0.5]])
    out = jnp.array([[0.0, 0.5]])
    assert float(box.inverse_loss(out, jnp.array([[-2.0, 1.0]]))[0]) == pytest.approx(
        1.0
    )
    md = make_spec(OBS_SPACE, gym.spaces.MultiDiscrete([2, 3]), needs_action=True)
    assert md.action_dim == 5
    logits = jnp.zeros((1, 5))
    want = np.log(2) + np.log(3)
    assert float(md.inverse_loss(logits, jnp.array([[1, 2]]))[0]) == pytest.approx(want)
    mb = make_spec(OBS_SPACE, gym.spaces.MultiBinary(3), needs_action=True)
    got = mb.inverse_loss(jnp.zeros((1, 3)), jnp.array([[1, 0, 1]]))
    assert float(got[0]) == pytest.approx(3 * np.log(2), rel=1e-6)


def test_icm_runs_with_continuous_actions():
    # RLeXplore#21: the anchor's ICM crashes on multi-dimensional Box actions.
    space = gym.spaces.Box(-1, 1, (8,))
    bonus = rk.intrinsic.icm(num_envs=N, **SMALL)
    state = bonus.init(jax.random.key(0), OBS_SPACE, space)
    acts = jax.random.uniform(jax.random.key(1), (T, N, 8), minval=-1, maxval=1)
    batch = random_batch(jax.random.key(2), T, N)._replace(action=acts)
    r, state, _ = jax.jit(bonus.compute)(state, batch)
    state, metrics = jax.jit(bonus.update)(state, batch)
    assert np.all(np.isfinite(r)) and np.isfinite(float(metrics["inverse_loss"]))


def test_minigrid_image_encoder_runs():
    bonus = rk.intrinsic.rnd(num_envs=N, obs_norm="scale", **SMALL)
    state = bonus.init(jax.random.key(0), IMAGE_SPACE, ACT_SPACE)
    batch = image_batch()
    r, state, _ = jax.jit(bonus.compute)(state, batch)
    state, metrics = jax.jit(bonus.update)(state, batch)
    assert r.shape == (T, N) and np.isfinite(float(metrics["loss"]))


def test_e3b_ellipsoid_is_float64_under_x64():
    with jax.enable_x64(True):
        bonus = rk.intrinsic.e3b(num_envs=N, reward_norm="none", **SMALL)
        state = bonus.init(jax.random.key(0), OBS_SPACE, ACT_SPACE)
        assert state.episodic.inv_cov.dtype == jnp.float64
        batch = random_batch(jax.random.key(4), T, N, done_at=(2, 1))
        r, new, info = jax.jit(bonus.compute)(state, batch)
        assert r.dtype == jnp.float32 and new.episodic.inv_cov.dtype == jnp.float64
        enc = pure(state.params["encoder"])
        want = np_e3b(
            np_encoder(enc, f64(batch.obs)),
            np_encoder(enc, f64(batch.next_obs)),
            np.asarray(batch.terminated),
            np.ones((T, N), bool),
            0.1,
        )
        np.testing.assert_allclose(info["raw"], want, rtol=1e-5)


IMAGE_SPACE = gym.spaces.Box(0, 255, (7, 7, 3), np.uint8)


def image_batch():
    """A [T, N] batch of MiniGrid-like 7x7x3 uint8 observations."""
    obs = jax.random.randint(jax.random.key(1), (T + 1, N, 7, 7, 3), 0, 11)
    return random_batch(jax.random.key(2), T, N)._replace(
        obs=obs[:-1].astype(jnp.uint8), next_obs=obs[1:].astype(jnp.uint8)
    )


@pytest.mark.parametrize("encoder", ["espeholt", "mlp"])
def test_rllte_preset_scales_uint8_images_for_cnns_only(encoder):
    # The anchor divides images by 255 when a CNN encodes them without RMS
    # normalisation; its flat setting (an MLP on flattened images) sees raw values.
    # Under the preset obs_norm="none" does the same; without it, "none" is none.
    batch, raw = image_batch(), {}
    for preset in ("rllte", None):
        for obs_norm in ("none", "scale"):
            bonus = rk.intrinsic.icm(
                num_envs=N, preset=preset, obs_norm=obs_norm, encoder=encoder, **SMALL
            )
            state = bonus.init(jax.random.key(0), IMAGE_SPACE, ACT_SPACE)
            raw[preset, obs_norm] = np.asarray(bonus.compute(state, batch)[2]["raw"])
    scaled = np.allclose(raw["rllte", "none"], raw["rllte", "scale"], rtol=1e-6)
    assert scaled == (encoder != "mlp")
    assert not np.allclose(raw[None, "none"], raw[None, "scale"], rtol=1e-3)
