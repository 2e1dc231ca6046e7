"""PPO: GAE vs a NumPy loop, loss pieces by hand, the learner, jit/vmap, smoke run."""

import dataclasses
from typing import NamedTuple

import gymnasium as gym
import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rewardkit.agents import ppo
from rewardkit.core import ConfigError, Environment, Transition
from rewardkit.envs import GridWorld
from rewardkit.intrinsic import IntrinsicBonus

GAE = jax.jit(ppo.gae)  # γ and λ traced: one compile per rollout length


def gae_reference(r, v, nv, term, trunc, gamma, lam):
    """Plain float64 loop: bootstrap from V(s') unless terminated; cut traces at dones."""
    r, v, nv = (np.asarray(x, np.float64) for x in (r, v, nv))
    adv = np.zeros_like(r)
    last = np.zeros_like(r[0])
    for t in reversed(range(len(r))):
        boot = np.where(term[t], 0.0, nv[t])
        delta = r[t] + gamma * boot - v[t]
        cont = 1.0 - (term[t] | trunc[t])
        last = delta + gamma * lam * cont * last
        adv[t] = last
    return adv, adv + v


@hypothesis.given(
    st.sampled_from([1, 5, 12]),
    st.integers(0, 2**31 - 1),
    st.sampled_from([0.0, 0.9, 0.99]),
    st.sampled_from([0.0, 0.5, 0.95, 1.0]),
)
def test_gae_matches_numpy_loop(t_len, seed, gamma, lam):
    rng = np.random.default_rng(seed)
    shape = (t_len, 3)
    r, v, nv = (rng.normal(size=shape).astype(np.float32) for _ in range(3))
    term = rng.random(shape) < 0.2
    trunc = (rng.random(shape) < 0.2) & ~term
    adv, ret = GAE(r, v, nv, term, trunc, gamma=gamma, lam=lam)
    ref_adv, ref_ret = gae_reference(r, v, nv, term, trunc, gamma, lam)
    np.testing.assert_allclose(np.asarray(adv), ref_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ret), ref_ret, rtol=1e-5, atol=1e-5)


def test_gae_truncation_bootstraps_from_final_value_by_hand():
    # One env, 3 steps: step 1 is truncated (final obs value 10), step 2 starts anew.
    r = jnp.array([1.0, 0.0, 2.0])
    v = jnp.array([0.0, 0.0, 0.0])
    nv = jnp.array([0.0, 10.0, 4.0])
    trunc = jnp.array([False, True, False])
    term = jnp.array([False, False, True])
    adv, _ = ppo.gae(r, v, nv, term, trunc, 0.5, 1.0)
    # t=2: terminated, δ = 2. t=1: δ = 0 + 0.5·10 = 5, cut. t=0: 1 + 0.5·5 = 3.5.
    np.testing.assert_allclose(np.asarray(adv), [3.5, 5.0, 2.0])


def test_policy_loss_by_hand():
    ratio = np.array([0.5, 1.0, 1.5, 1.1])
    adv = np.array([1.0, -2.0, 3.0, -1.0])
    old = np.log(np.full(4, 0.2))
    lp = old + np.log(ratio)
    # min(ρA, clip(ρ, 0.8, 1.2)A): 0.5, -2, 3.6, -1.1 -> mean 0.25 -> loss -0.25
    loss = ppo.policy_loss(jnp.asarray(lp), jnp.asarray(old), jnp.asarray(adv), 0.2)
    assert float(loss) == pytest.approx(-0.25, abs=1e-6)
    mask = jnp.array([True, True, False, False])
    masked = ppo.policy_loss(
        jnp.asarray(lp), jnp.asarray(old), jnp.asarray(adv), 0.2, mask
    )
    assert float(masked) == pytest.approx(0.75, abs=1e-6)


def test_value_loss_by_hand():
    v = jnp.array([1.0, 0.0, 0.3])
    old = jnp.array([0.0, 0.0, 0.0])
    ret = jnp.array([2.0, 1.0, -1.0])
    # clip 0.5: v_clip = [0.5, 0, 0.3]; max sq: [max(1, 2.25), 1, max(1.69, 1.69)]
    assert float(ppo.value_loss(v, old, ret, 0.5)) == pytest.approx(
        0.5 * (2.25 + 1 + 1.69) / 3, rel=1e-6
    )
    assert float(ppo.value_loss(v, old, ret, None)) == pytest.approx(
        0.5 * (1 + 1 + 1.69) / 3, rel=1e-6
    )


# -- learner -------------------------------------------------------------------------

TINY = ppo.Config(
    num_envs=4,
    rollout_len=8,
    num_updates=2,
    num_minibatches=2,
    update_epochs=2,
    hidden=(16,),
    ent_coef=0.0,
)
T, N, D, A = TINY.rollout_len, TINY.num_envs, 5, 3


def fake_batch(key, reward_int_scale=0.0):
    k = jax.random.split(key, 4)
    obs = jax.random.normal(k[0], (T, N, D))
    r_int = reward_int_scale * jax.random.uniform(k[1], (T, N), minval=0.5, maxval=1.0)
    return Transition(
        obs=obs,
        action=jax.random.randint(k[2], (T, N), 0, A),
        reward=jnp.zeros((T, N)),
        next_obs=obs + 1.0,
        terminated=jax.random.uniform(k[3], (T, N)) < 0.1,
        truncated=jnp.zeros((T, N), bool),
        extras={
            "log_prob": jnp.full((T, N), -jnp.log(float(A))),
            "value": jnp.zeros((T, N)),
            "value_int": jnp.zeros((T, N)),
            "last_value_int": jnp.zeros((N,)),
            "intrinsic_reward": r_int,
        },
    )


def _zero_values(state):
    """Zero value heads, and uniform logits so the batch's log-probs are exact."""
    params = dict(state.params)
    params["v"] = jax.tree.map(jnp.zeros_like, params["v"])
    params["pi"] = jax.tree.map(jnp.zeros_like, params["pi"])
    return state._replace(params=params)


@pytest.mark.parametrize("episodic", [False, True])
def test_bonus_drives_policy_gradient_only_when_beta0_positive(episodic):
    # Spec §4 "must": extrinsic reward 0, both value heads zeroed; the policy moves
    # for β0 > 0 and stays put for β0 = 0.
    learner = ppo.make_learner(TINY, (D,), A, bonus_episodic=episodic)
    update = jax.jit(learner.update)
    state = _zero_values(learner.init(jax.random.key(0)))
    moved = {}
    for beta0 in (0.0, 1.0):
        new, metrics = update(state, fake_batch(jax.random.key(1), beta0))
        diff = jax.tree.map(
            lambda a, b: float(jnp.max(jnp.abs(a - b))), new.params, state.params
        )
        moved[beta0] = max(jax.tree.leaves(diff["pi"]))
        if beta0 == 0.0:
            assert max(jax.tree.leaves(diff)) == 0.0
            assert float(metrics["policy_loss"]) == 0.0
    assert moved[0.0] == 0.0 and moved[1.0] > 0.0


def test_update_traces_once_and_keeps_state_structure():
    learner = ppo.make_learner(TINY, (D,), A, bonus_episodic=False)
    traces = []

    def counted(state, batch):
        traces.append(None)
        return learner.update(state, batch)

    update = jax.jit(counted)
    state = learner.init(jax.random.key(0))
    for i in range(3):
        new, metrics = update(state, fake_batch(jax.random.key(i), 1.0))
        for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(state), strict=True):
            assert a.shape == b.shape and a.dtype == b.dtype
        state = new
    assert len(traces) == 1
    assert int(state.update_count) == 3
    assert all(np.isfinite(float(v)) for v in metrics.values())


def test_update_names_missing_extras():
    learner = ppo.make_learner(TINY, (D,), A, bonus_episodic=False)
    batch = fake_batch(jax.random.key(0))
    extras = {k: v for k, v in batch.extras.items() if k != "last_value_int"}
    with pytest.raises(KeyError, match="last_value_int"):
        learner.update(learner.init(jax.random.key(0)), batch._replace(extras=extras))


def test_non_episodic_intrinsic_return_runs_through_resets():
    # Two heads, intrinsic non-episodic: the intrinsic advantage at a terminated step
    # still sees later intrinsic rewards (value_int 0, λ = 1, no normalisation).
    cfg = dataclasses.replace(
        TINY, ext_coef=0.0, normalize_advantages=False, gae_lambda=1.0, lr=1e-9
    )
    for episodic, expect_flow in ((False, True), (True, False)):
        learner = ppo.make_learner(cfg, (D,), A, bonus_episodic=episodic)
        state = _zero_values(learner.init(jax.random.key(0)))
        batch = fake_batch(jax.random.key(3))
        r_int = jnp.zeros((T, N)).at[T - 1].set(1.0)
        term = jnp.zeros((T, N), bool).at[0].set(True)
        batch = batch._replace(
            terminated=term, extras={**batch.extras, "intrinsic_reward": r_int}
        )
        # The policy loss is -mean(A) at ratio 1: A at t=0 is γ_I^(T-1) iff it flows.
        _, metrics = jax.jit(learner.update)(state, batch)
        g = cfg.gamma_intrinsic
        per_t = [g ** (T - 1 - t) for t in range(T)]
        if not expect_flow:
            per_t[0] = 0.0
        expected = -np.mean(per_t)
        assert float(metrics["policy_loss"]) == pytest.approx(expected, rel=1e-3)


# -- make_train -----------------------------------------------------------------------

CORRIDOR = GridWorld("S...G", obs="onehot", max_steps=20)
TRAIN_CFG = ppo.Config(
    num_envs=8,
    rollout_len=16,
    num_updates=12,
    num_minibatches=2,
    update_epochs=4,
    lr=3e-3,
    hidden=(16,),
)
TRAIN = jax.jit(jax.vmap(ppo.make_train(TRAIN_CFG, env=CORRIDOR)))


@pytest.fixture(scope="module")
def trained():
    return TRAIN(jax.random.split(jax.random.key(0), 2))


def test_train_vmaps_over_seeds_and_improves(trained):
    out = trained
    assert out["episodes"].shape == (2, TRAIN_CFG.num_updates)
    eps = np.asarray(out["episodes"], np.float64)
    length = np.asarray(out["length_sum"], np.float64) / np.maximum(eps, 1)
    ret = np.asarray(out["return_sum"]) / np.maximum(eps, 1)
    # The random policy needs ≈ 16 steps to cover 4 cells; trained, close to 4.
    assert (length[:, -2:].mean(1) < length[:, :2].mean(1)).all()
    assert (ret[:, -2:].mean(1) >= ret[:, :2].mean(1)).all()
    # Seeds differ.
    assert not np.array_equal(eps[0], eps[1])


def test_single_seed_equals_its_vmapped_lane(trained):
    single = jax.jit(ppo.make_train(TRAIN_CFG, env=CORRIDOR))(
        jax.random.split(jax.random.key(0), 2)[0]
    )
    np.testing.assert_array_equal(single["episodes"], trained["episodes"][0])
    np.testing.assert_allclose(single["loss"], trained["loss"][0], rtol=1e-4, atol=1e-5)


class _BoxActions(Environment):
    def default_params(self):
        return ()

    def reset(self, key, params):
        return jnp.zeros(2), ()

    def step(self, key, state, action, params):
        return (
            jnp.zeros(2),
            (),
            jnp.zeros(()),
            jnp.zeros((), bool),
            jnp.zeros((), bool),
            {},
        )

    def observation_space(self, params):
        return gym.spaces.Box(-1, 1, (2,))

    def action_space(self, params):
        return gym.spaces.Box(-1, 1, (1,))


def test_make_train_errors():
    with pytest.raises(TypeError, match="Discrete"):
        ppo.make_train(TINY, env=_BoxActions())
    with pytest.raises(TypeError, match="Environment"):
        ppo.make_train(TINY, env="MiniGrid-DoorKey-8x8-v0")
    with pytest.raises(TypeError, match="config"):
        ppo.make_train({"num_envs": 4}, env=CORRIDOR)

    class WrongSize:
        init = compute = update = None
        episodic = False
        num_envs = 3

    with pytest.raises(ConfigError, match="num_envs"):
        ppo.make_train(TINY, WrongSize(), env=CORRIDOR)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_minibatches": 3}, "num_minibatches"),
        ({"num_envs": 0}, "num_envs"),
        ({"gamma": 1.5}, "gamma"),
        ({"value_heads": 3}, "value_heads"),
        ({"activation": "gelu"}, "activation"),
        ({"hidden": [64]}, "hidden"),
        ({"value_clip": -1.0}, "value_clip"),
        ({"lr": 0.0}, "lr"),
        ({"warmup_rollouts": -1}, "warmup_rollouts"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ppo.Config(**kwargs)


# -- with a bonus ----------------------------------------------------------------------


class CountState(NamedTuple):
    counts: jax.Array  # [S] float32 visit counts (one-hot observations)
    beta0: jax.Array
    updates: jax.Array


def count_bonus(num_envs: int, episodic: bool = False) -> IntrinsicBonus:
    """A tiny bonus honouring the contract: β0 / sqrt(n(s')), counts learnt in update."""

    def init(key, obs_spec, action_spec):
        del key, action_spec
        n = obs_spec.shape[0]
        return CountState(jnp.ones((n,)), jnp.ones(()), jnp.zeros((), jnp.int32))

    def compute(state, batch):
        idx = jnp.argmax(batch.next_obs, -1)
        bonus = state.beta0 / jnp.sqrt(state.counts[idx])
        return bonus, state, {"raw": bonus}

    def update(state, batch):
        idx = jnp.argmax(batch.next_obs, -1).ravel()
        counts = state.counts.at[idx].add(1.0)
        new = state._replace(counts=counts, updates=state.updates + 1)
        return new, {"visited": jnp.sum(counts > 1.0)}

    def reset(state, mask, obs):
        del mask, obs
        return state

    return IntrinsicBonus(
        init, compute, update, reset, episodic, False, True, num_envs, "count"
    )


@pytest.mark.parametrize("value_heads", [2, 1])
def test_make_train_with_a_bonus_runs_sweeps_beta0_and_warms_up(value_heads):
    cfg = dataclasses.replace(
        TRAIN_CFG, num_updates=2, value_heads=value_heads, warmup_rollouts=1
    )
    train = ppo.make_train(cfg, count_bonus(cfg.num_envs), env=CORRIDOR)
    run = jax.jit(jax.vmap(train, in_axes=(None, None, 0)))
    out = run(jax.random.key(0), None, jnp.array([0.0, 1.0]))
    r_int = np.asarray(out["intrinsic_reward"])
    assert r_int.shape == (2, 2)
    np.testing.assert_array_equal(r_int[0], 0.0)  # β0 = 0: no bonus
    # β0 = 1: counts include the warm-up rollout, so the bonus is already below 1.
    assert (r_int[1] > 0).all() and (r_int[1] < 1).all()
    assert (np.asarray(out["bonus/visited"]) >= 3).all()
    assert ("value_loss_int" in out) and np.isfinite(np.asarray(out["loss"])).all()
    if value_heads == 1:
        np.testing.assert_array_equal(np.asarray(out["value_loss_int"]), 0.0)
