"""The functional front-end: AutoReset boundaries, telescoping, jit/vmap, info, errors."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.core import AutoReset, ConfigError, find_state
from rewardkit.envs import GridState, GridWorld
from rewardkit.shaping.functional import PotentialShaping, ShapedState

LAYOUT = """
#######
#S..#.#
#.#...#
#...#G#
#######"""
GAMMA = 0.9
GRID = GridWorld(LAYOUT, max_steps=9)  # short limit: time-outs and goals both happen
PHI = rk.shaping.neg_distance(GRID)
TABLE = np.asarray(
    [
        float(PHI(GridState(np.int32(c), np.int32(0)), None))
        for c in range(GRID.num_cells)
    ]
)


def rollout(env, key, num_steps, num_envs=3):
    """A jitted, vmapped random-action rollout; returns stacked step outputs."""
    one = episode_fn(env, num_steps)
    return jax.jit(jax.vmap(one))(jax.random.split(key, num_envs))


def episode_fn(env, num_steps):
    """``key -> outputs`` of one random-action rollout of ``num_steps``."""
    params = env.default_params()

    def one(key):
        k0, k1 = jax.random.split(key)
        _obs, state = env.reset(k0, params)

        def body(carry, k):
            state = carry
            ka, ks = jax.random.split(k)
            action = jax.random.randint(ka, (), 0, 4)
            _obs, state, r, term, trunc, info = env.step(ks, state, action, params)
            pos = find_state(state, GridState).pos
            return state, (r, term, trunc, info, pos)

        _, out = jax.lax.scan(body, state, jax.random.split(k1, num_steps))
        return out

    return one


@pytest.mark.parametrize("mode", ["SameStep", "NextStep"])
@pytest.mark.parametrize("truncation", ["bootstrap", "zero"])
def test_telescoping_through_autoreset(mode, truncation):
    # Per episode Σγ^t F_t = −Φ(s_0) + γ^T Φ(s_T)·[truncated ∧ ¬terminated ∧ bootstrap].
    with jax.enable_x64(True):
        table64 = jnp.asarray(TABLE, jnp.float64)
        phi = rk.shaping.from_callable(
            lambda s, p: table64[find_state(s, GridState).pos]
        )
        env = AutoReset(PotentialShaping(GRID, phi, GAMMA, truncation), mode=mode)
        r, term, trunc, info, _ = rollout(env, jax.random.key(0), 120)
        f = np.asarray(info["shaping_reward"])
        assert f.dtype == np.float64
        reset_step = np.asarray(info["reset_step"])
        # Info contract: reward == extrinsic_reward + shaping_reward, every step.
        total = np.asarray(info["extrinsic_reward"]) + f
        np.testing.assert_allclose(np.asarray(r), total, rtol=0, atol=0)
        if mode == "NextStep":  # reset pseudo-steps: reward and every term 0
            assert reset_step.any()
            for key in ("shaping_reward", "extrinsic_reward", "shaping_potential"):
                assert np.all(np.asarray(info[key])[reset_step] == 0.0)
        else:
            assert not reset_step.any()
        phi_used = np.asarray(info["shaping_potential"])
        start = TABLE[GRID.cell(*GRID.start)]
        n_episodes = 0
        for e in range(f.shape[0]):
            total, t = 0.0, 0
            for i in range(f.shape[1]):
                if reset_step[e, i]:  # NEXT_STEP pseudo-step: nothing is shaped
                    assert f[e, i] == 0.0 and r[e, i] == 0.0
                    continue
                total += GAMMA**t * f[e, i]
                t += 1
                if term[e, i] or trunc[e, i]:
                    boot = trunc[e, i] and not term[e, i] and truncation == "bootstrap"
                    want = -start + (GAMMA**t * phi_used[e, i] if boot else 0.0)
                    assert abs(total - want) <= 1e-12
                    if boot:
                        assert phi_used[e, i] != 0.0
                    n_episodes += 1
                    total, t = 0.0, 0
        assert n_episodes >= 20


def test_dynamic_potential_through_autoreset():
    # A time-indexed Φ(s, t) = table[s] − 0.1·t: the identity uses arrival times.
    phi = rk.shaping.time_indexed(
        lambda s, t: (
            jnp.asarray(TABLE, jnp.float32)[find_state(s, GridState).pos] - 0.1 * t
        )
    )
    env = AutoReset(PotentialShaping(GRID, phi, GAMMA), mode="SameStep")
    _, term, trunc, info, _ = rollout(env, jax.random.key(3), 60, num_envs=2)
    f = np.asarray(info["shaping_reward"], np.float64)
    phi_used = np.asarray(info["shaping_potential"], np.float64)
    start = TABLE[GRID.cell(*GRID.start)]
    for e in range(f.shape[0]):
        total, t = 0.0, 0
        for i in range(f.shape[1]):
            total += GAMMA**t * f[e, i]
            t += 1
            if term[e, i] or trunc[e, i]:
                boot = GAMMA**t * phi_used[e, i] if not term[e, i] else 0.0
                assert abs(total - (-start + boot)) <= 1e-4
                if trunc[e, i] and not term[e, i]:  # Φ(s_T, T) includes −0.1·T
                    pos_phi = phi_used[e, i] + 0.1 * t
                    assert np.isclose(pos_phi, TABLE).any()
                total, t = 0.0, 0


def test_info_contract_and_declarations():
    env = AutoReset(PotentialShaping(GRID, PHI, GAMMA, name="dist"), mode="SameStep")
    terms = rk.core.reward_terms(env)
    assert [(t.name, t.keeps_base, t.adds_term) for t in terms] == [
        ("dist", True, True)
    ]
    params = env.default_params()
    _, state = env.reset(jax.random.key(0), params)
    _, _, r, _, _, info = env.step(jax.random.key(1), state, 1, params)
    assert {"dist_reward", "dist_potential", "extrinsic_reward"} <= set(info)
    assert float(r) == float(info["extrinsic_reward"] + info["dist_reward"])
    # extrinsic_reward written once, by the innermost wrapper.
    outer = PotentialShaping(
        PotentialShaping(GRID, PHI, GAMMA, name="inner"), PHI, 0.5, name="outer"
    )
    params = outer.default_params()
    _, state = outer.reset(jax.random.key(0), params)
    _, _, r1, _, _, info1 = outer.step(jax.random.key(1), state, 1, params)
    assert float(info1["extrinsic_reward"]) == 0.0
    assert np.isclose(
        float(r1), float(info1["inner_reward"]) + float(info1["outer_reward"])
    )


def test_jit_equals_eager_and_vmap_over_seeds():
    env = AutoReset(PotentialShaping(GRID, PHI, GAMMA), mode="SameStep")
    params = env.default_params()
    actions = [1, 1, 2, 2, 1, 1, 3, 0, 2, 1, 1, 2]

    def run(step, reset):
        _, state = reset(jax.random.key(0), params)
        out = []
        for i, a in enumerate(actions):
            _obs, state, r, term, trunc, _info = step(
                jax.random.key(i), state, a, params
            )
            out.append((float(r), bool(term), bool(trunc), int(state.inner.shaping.t)))
        return out, state

    eager, s_e = run(env.step, env.reset)
    jitted, s_j = run(jax.jit(env.step), jax.jit(env.reset))
    for (re, *flags_e), (rj, *flags_j) in zip(eager, jitted, strict=True):
        assert flags_e == flags_j
        assert abs(re - rj) <= 2.0**-21 * 10  # XLA fuses γΦ(s') − Φ(s) (§4.7)
    assert isinstance(s_j.inner, ShapedState)
    for a, b in zip(jax.tree.leaves(s_e), jax.tree.leaves(s_j), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
    # vmap over seeds: every lane equals the same rollout run alone.
    one = episode_fn(env, 30)
    keys = jax.random.split(jax.random.key(5), 3)
    batched = jax.jit(jax.vmap(one))(keys)
    single = jax.jit(one)
    for i in range(3):
        alone = single(keys[i])
        for b, a in zip(jax.tree.leaves(batched), jax.tree.leaves(alone), strict=True):
            np.testing.assert_array_equal(np.asarray(b)[i], np.asarray(a))
    assert not np.array_equal(np.asarray(batched[4])[0], np.asarray(batched[4])[1])


def test_lax_cond_keeps_state_structure():
    shaped = PotentialShaping(GRID, PHI, GAMMA)
    params = shaped.default_params()
    _, state = shaped.reset(jax.random.key(0), params)

    def reset_or_step(pred, state):
        return jax.lax.cond(
            pred,
            lambda s: shaped.reset(jax.random.key(1), params)[1],
            lambda s: shaped.step(jax.random.key(2), s, 1, params)[1],
            state,
        )

    out = jax.jit(reset_or_step)(jnp.bool_(False), state)
    assert int(out.shaping.t) == 1 and out.shaping.phi_prev.dtype == jnp.float32


def test_errors():
    with pytest.raises(ConfigError, match="AutoReset"):
        PotentialShaping(AutoReset(GRID, mode="SameStep"), PHI, GAMMA)
    with pytest.raises(ConfigError, match="already used"):
        PotentialShaping(PotentialShaping(GRID, PHI, GAMMA), PHI, GAMMA)
    with pytest.raises(TypeError, match=r"potential.*shape \(\).*got shape \(3,\)"):
        PotentialShaping(GRID, lambda s, p: jnp.zeros(3), GAMMA)
    with pytest.raises(TypeError, match="callable"):
        PotentialShaping(GRID, np.zeros(3), GAMMA)
    with pytest.raises(ConfigError, match="gamma"):
        PotentialShaping(GRID, PHI, 1.01)
    with pytest.raises(ConfigError, match="truncation"):
        PotentialShaping(GRID, PHI, GAMMA, truncation="terminal")
    with pytest.raises(TypeError, match="Environment"):
        PotentialShaping(gym.make("CartPole-v1"), PHI, GAMMA)


def test_advice_published_and_checked():
    table = np.arange(GRID.num_cells * 4, dtype=np.float32).reshape(-1, 4)
    adv = rk.shaping.advice_table(table, rk.shaping.grid_index)
    env = PotentialShaping(GRID, PHI, GAMMA, advice=adv)
    params = env.default_params()
    _, state = env.reset(jax.random.key(0), params)
    _, state, *_, info = env.step(jax.random.key(1), state, 1, params)
    pos = int(state.inner.pos)
    np.testing.assert_array_equal(np.asarray(info["shaping_advice"]), table[pos])
    with pytest.raises(TypeError, match=r"shape \(4,\)"):
        PotentialShaping(GRID, PHI, GAMMA, advice=lambda s, p: jnp.zeros(3))


def test_step_traces_once():
    shaped = PotentialShaping(GRID, PHI, GAMMA)
    params = shaped.default_params()
    traces = []

    def counted(key, state, action):
        traces.append(None)  # runs only while tracing
        return shaped.step(key, state, action, params)

    step = jax.jit(counted)
    _, state = shaped.reset(jax.random.key(0), params)
    for i in range(4):
        _, new, *_ = step(jax.random.key(i), state, jnp.int32(i % 4))
        for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(state), strict=True):
            assert a.shape == b.shape and a.dtype == b.dtype
        state = new
    assert len(traces) == 1
