import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.agents import QLearningConfig, q_learning, qlearning
from rewardkit.core import ConfigError, Transition
from rewardkit.envs import GridWorld


def batch(s, a, r, s2, term, trunc=False, valid=True):
    return Transition(
        obs=jnp.asarray(s),
        action=jnp.asarray(a),
        reward=jnp.asarray(r),
        next_obs=jnp.asarray(s2),
        terminated=jnp.asarray(term),
        truncated=jnp.asarray(trunc),
        valid=jnp.asarray(valid),
    )


def test_update_matches_hand_computed_targets():
    learner = q_learning(num_states=3, num_actions=2, gamma=0.9, alpha=0.5)
    state = learner.init(
        jax.random.key(0), jnp.array([[0.0, 0.0], [2.0, 4.0], [0.0, 0.0]])
    )
    # Non-terminal: 0.5 * (1 + 0.9 * 4 - 0) = 2.3; truncated bootstraps too.
    s1, _ = learner.update(state, batch(0, 1, 1.0, 1, False))
    assert float(s1.q[0, 1]) == pytest.approx(2.3)
    s2, _ = learner.update(state, batch(0, 1, 1.0, 1, False, trunc=True))
    assert float(s2.q[0, 1]) == pytest.approx(2.3)
    s3, _ = learner.update(state, batch(0, 1, 1.0, 1, True))
    assert float(s3.q[0, 1]) == pytest.approx(0.5)
    s4, _ = learner.update(state, batch(0, 1, 1.0, 1, False, valid=False))
    np.testing.assert_array_equal(s4.q, state.q)


def test_batched_distinct_pairs_equal_sequential_updates():
    learner = q_learning(num_states=4, num_actions=2, gamma=0.9)
    state = learner.init(jax.random.key(0), 0.5)
    b = batch(
        [0, 1, 2],
        [1, 0, 1],
        [1.0, 0.0, 2.0],
        [3, 3, 3],
        [False, True, False],
        [False] * 3,
        [True] * 3,
    )
    batched, _ = learner.update(state, b)
    seq = state
    for i in range(3):
        seq, _ = learner.update(seq, jax.tree.map(lambda x, i=i: x[i], b))
    np.testing.assert_allclose(batched.q, seq.q)


def test_act_is_greedy_with_random_ties_and_explores():
    learner = q_learning(num_states=1, num_actions=3, gamma=0.9, epsilon=0.0)
    state = learner.init(jax.random.key(0), jnp.array([[1.0, 1.0, 0.0]]))
    keys = jax.random.split(jax.random.key(1), 400)
    acts = jax.vmap(lambda k: learner.act(state, jnp.int32(0), k)[0])(keys)
    counts = np.bincount(np.asarray(acts), minlength=3)
    assert counts[2] == 0 and counts[0] > 150 and counts[1] > 150
    explorer = q_learning(num_states=1, num_actions=3, gamma=0.9, epsilon=1.0)
    acts = jax.vmap(lambda k: explorer.act(state, jnp.int32(0), k)[0])(keys)
    assert np.bincount(np.asarray(acts), minlength=3)[2] > 80
    biased = q_learning(
        num_states=1,
        num_actions=3,
        gamma=0.9,
        epsilon=0.0,
        action_bias=[[0.0, 0.0, 5.0]],
    )
    assert int(biased.act(state, jnp.int32(0), keys[0])[0]) == 2


def test_bad_configuration_is_refused():
    with pytest.raises(ConfigError, match="gamma"):
        q_learning(num_states=2, num_actions=2, gamma=1.5)
    with pytest.raises(ConfigError, match="alpha"):
        q_learning(num_states=2, num_actions=2, gamma=0.9, alpha=2.0)
    with pytest.raises(ConfigError, match="action_bias"):
        q_learning(num_states=2, num_actions=2, gamma=0.9, action_bias=np.zeros(3))
    with pytest.raises(ConfigError, match="num_states"):
        q_learning(num_states=0, num_actions=2, gamma=0.9)


def experience_stream(seed, n_states=8, n_actions=3, steps=600, limit=7):
    """A fixed stream of (s, a, s', terminated, truncated) from a random MDP."""
    rng = np.random.default_rng(seed)
    t = rng.dirichlet(np.ones(n_states) * 0.3, size=(n_states, n_actions))
    reward = rng.normal(size=(n_states, n_actions))
    terminal = n_states - 1
    s, age, out = 0, 0, []
    for _ in range(steps):
        a = rng.integers(n_actions)
        s2 = rng.choice(n_states, p=t[s, a])
        age += 1
        term = s2 == terminal
        trunc = (age >= limit) and not term
        out.append((s, a, reward[s, a], s2, term, trunc))
        s, age = (0, 0) if term or trunc else (s2, age)
    return out, n_states, n_actions


@pytest.mark.parametrize("truncation", ["bootstrap", "zero"])
def test_wiewiora_q_initialisation_equivalence(truncation):
    """Shaping with Φ equals initialising Q0 + Φ(s) (Wiewiora 2003), exactly."""
    stream, n_s, n_a = experience_stream(0)
    phi = np.random.default_rng(1).normal(size=n_s) * 3.0
    phi[-1] = 0.0  # Φ(terminal) = 0
    gamma = 0.9
    shaper = rk.shaping.shaper(gamma, truncation=truncation)
    with jax.enable_x64(True):
        kw = dict(
            num_states=n_s, num_actions=n_a, gamma=gamma, alpha=0.3, dtype=jnp.float64
        )
        shaped_l, plain_l = q_learning(**kw), q_learning(**kw)
        shaped = shaped_l.init(jax.random.key(0), 0.0)
        plain = plain_l.init(
            jax.random.key(0), np.broadcast_to(phi[:, None], (n_s, n_a))
        )
        upd = jax.jit(shaped_l.update)
        sh_state = shaper.init(np.float64(phi[0]))
        gaps = []
        for s, a, r, s2, term, trunc in stream:
            f, _, sh_state = shaper.step(sh_state, np.float64(phi[s2]), term, trunc)
            shaped, _ = upd(shaped, batch(s, a, r + f, s2, term, trunc))
            plain, _ = upd(plain, batch(s, a, r, s2, term, trunc))
            if term or trunc:
                sh_state = shaper.init(np.float64(phi[0]))
            gaps.append(np.abs(np.asarray(plain.q - shaped.q) - phi[:, None]).max())
    if truncation == "bootstrap":
        assert max(gaps) < 1e-9
    else:  # the negative control: each time-out moves the gap by αγΦ(s')
        assert max(gaps) > 1e-3


def test_make_train_jit_equals_eager_and_vmaps_over_seeds():
    cfg = QLearningConfig(num_envs=2, num_steps=40)
    train = qlearning.make_train(cfg, GridWorld("S..G", max_steps=10))
    keys = jax.random.split(jax.random.key(0), 3)
    batched = jax.jit(jax.vmap(train))(keys)
    eager = train(keys[1])
    np.testing.assert_array_equal(batched["terminated"][1], eager["terminated"])
    np.testing.assert_allclose(batched["q"][1], eager["q"], atol=1e-6)
    assert batched["reward"].shape == (3, 40, 2)


SHARDED = textwrap.dedent(
    """
    import jax, numpy as np
    from experiments import _common
    from rewardkit.agents import qlearning
    from rewardkit.envs import GridWorld
    assert len(jax.devices()) == 4, jax.devices()
    train = qlearning.make_train(qlearning.Config(num_steps=60), GridWorld("S...G", max_steps=12))
    keys = _common.seed_keys(6)
    one = _common.run_sharded(train, keys, devices=1)
    four = _common.run_sharded(train, keys, devices=4)
    for k in one:
        np.testing.assert_array_equal(np.asarray(one[k]), np.asarray(four[k]))
    print("sharded ok", one["terminated"].shape)
    """
)


def test_seed_sharding_over_four_host_devices_equals_single_device():
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
    }
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run(
        [sys.executable, "-c", SHARDED],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "sharded ok (6, 60, 1)" in out.stdout
