"""DoorKey: MiniGrid parity (layout, view, dynamics), check_env, errors, labels."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from minigrid.core.world_object import Door, Goal, Key
from minigrid.envs import DoorKeyEnv

import rewardkit as rk
from rewardkit.core import ConfigError
from rewardkit.envs import DoorKey, DoorKeyState
from tests._warnings import CHECK_ENV_EXPECTED_WARNINGS

ENVS = {size: DoorKey(size=size) for size in (5, 6, 8)}
STEP = {s: jax.jit(e.step) for s, e in ENVS.items()}
OBS = {s: jax.jit(e.observe) for s, e in ENVS.items()}


def state_from_minigrid(mg) -> DoorKeyState:
    """The rewardkit state of a MiniGrid DoorKey env's current situation."""
    size = mg.width
    door = key = None
    for x in range(size):
        for y in range(size):
            cell = mg.grid.get(x, y)
            if isinstance(cell, Door):
                door = (x, y, cell)
            elif isinstance(cell, Key):
                key = (x, y)
    carrying = mg.carrying is not None
    if key is None:  # carried: position is stale, any cell will do
        key = (1, 1)
    ax, ay = mg.agent_pos
    return DoorKeyState(
        pos=jnp.array([ay, ax], jnp.int32),
        dir=jnp.asarray(mg.agent_dir, jnp.int32),
        split=jnp.asarray(door[0], jnp.int32),
        door_row=jnp.asarray(door[1], jnp.int32),
        key_pos=jnp.array([key[1], key[0]], jnp.int32),
        has_key=jnp.asarray(carrying),
        door_open=jnp.asarray(door[2].is_open),
        door_locked=jnp.asarray(door[2].is_locked),
        t=jnp.asarray(mg.step_count, jnp.int32),
    )


@pytest.mark.parametrize("size", [5, 6, 8])
def test_view_and_dynamics_match_minigrid(size):
    params = ENVS[size].default_params()
    rng = np.random.default_rng(size)
    events = {"pickup": 0, "unlock": 0, "drop": 0, "goal": 0, "occluded": 0}
    for seed in range(6):
        mg = DoorKeyEnv(size=size)
        obs, _ = mg.reset(seed=seed)
        state = state_from_minigrid(mg)
        np.testing.assert_array_equal(np.asarray(OBS[size](state)), obs["image"])
        for _ in range(150):
            # Biased towards interactions so pickups, toggles and drops occur.
            a = int(rng.choice(7, p=[0.2, 0.2, 0.3, 0.1, 0.05, 0.1, 0.05]))
            had_key, was_locked = (
                mg.carrying is not None,
                mg.grid.get(int(state.split), int(state.door_row)).is_locked,
            )
            obs, r, term, trunc, _ = mg.step(a)
            o2, state, r2, term2, trunc2, _ = STEP[size](
                jax.random.key(0), state, a, params
            )
            np.testing.assert_array_equal(np.asarray(o2), obs["image"])
            assert bool(term2) == term
            assert bool(trunc2) == (trunc and not term)
            assert float(r2) == pytest.approx(r, abs=1e-6)
            np.testing.assert_array_equal(
                np.asarray(state.pos), [mg.agent_pos[1], mg.agent_pos[0]]
            )
            events["pickup"] += (not had_key) and mg.carrying is not None
            events["drop"] += had_key and mg.carrying is None
            events["unlock"] += (
                was_locked
                and not mg.grid.get(int(state.split), int(state.door_row)).is_locked
            )
            events["occluded"] += int((obs["image"][..., 0] == 0).any())
            if term or trunc:
                events["goal"] += term
                break
    # The random walk exercised the interactions the parity check is about.
    assert events["pickup"] > 0 and events["occluded"] > 0, events


def test_goal_reward_decays_with_time_and_constant_flag():
    s = 5
    for decay, expected in ((True, 1 - 0.9 * 7 / 250), (False, 1.0)):
        env = DoorKey(size=s, obs="planes", decay_reward=decay)
        params = env.default_params()
        _, state = jax.jit(env.reset)(jax.random.key(0), params)
        # Stand left of the goal, facing right, after 6 steps.
        state = state._replace(
            pos=jnp.array([s - 2, s - 3], jnp.int32),
            dir=jnp.asarray(0, jnp.int32),
            split=jnp.asarray(2, jnp.int32),
            t=jnp.asarray(6, jnp.int32),
        )
        _, new, r, term, trunc, _ = jax.jit(env.step)(
            jax.random.key(1), state, 2, params
        )
        assert bool(term) and not bool(trunc)
        assert float(r) == pytest.approx(expected, rel=1e-6)
        assert int(env.labels(new)) == 0b100


def test_truncates_at_max_steps_and_minigrid_default():
    env = DoorKey(size=5, obs="planes", max_steps=3)
    params = env.default_params()
    _, state = env.reset(jax.random.key(0), params)
    step = jax.jit(env.step)
    flags = []
    for _ in range(3):
        _, state, _, term, trunc, _ = step(jax.random.key(0), state, 0, params)
        flags.append((bool(term), bool(trunc)))
    assert flags == [(False, False), (False, False), (False, True)]
    assert int(DoorKey(size=8).default_params().max_steps) == 640


def test_reset_layout_distribution_matches_minigrid_support():
    env = DoorKey(size=8)
    keys = jax.random.split(jax.random.key(0), 2000)
    _, st = jax.jit(jax.vmap(env.reset, (0, None)))(keys, env.default_params())
    split, door = np.asarray(st.split), np.asarray(st.door_row)
    pos, key = np.asarray(st.pos), np.asarray(st.key_pos)
    assert set(split.tolist()) == {2, 3, 4, 5}  # [2, size - 2)
    assert set(door.tolist()) == {1, 2, 3, 4, 5}  # [1, size - 2)
    for p in (pos, key):
        assert (p[:, 1] >= 1).all() and (p[:, 1] < split).all()
        assert (p[:, 0] >= 1).all() and (p[:, 0] <= 6).all()
    assert not (pos == key).all(axis=1).any()
    assert set(np.asarray(st.dir).tolist()) == {0, 1, 2, 3}
    # Agent cell uniform over the left room given the split (chi-square-free check:
    # every cell of the smallest room appears).
    small = split == 2
    cells = {tuple(p) for p in pos[small]}
    assert cells == {(r, 1) for r in range(1, 7)}


def test_minigrid_layout_agrees_with_a_minigrid_reset():
    mg = DoorKeyEnv(size=8)
    mg.reset(seed=3)
    state = state_from_minigrid(mg)
    assert isinstance(mg.grid.get(6, 6), Goal)
    planes = np.asarray(DoorKey(size=8, obs="planes").planes(state))
    for x in range(8):
        for y in range(8):
            cell = mg.grid.get(x, y)
            assert planes[y, x, 0] == (cell is not None and cell.type == "wall")
            assert planes[y, x, 3] == isinstance(cell, Key)
            assert planes[y, x, 4] == isinstance(cell, Door)


def test_cardinal_actions_turn_then_move_and_interact():
    env = DoorKey(size=6, actions="cardinal", obs="planes")
    params = env.default_params()
    step = jax.jit(env.step)
    _, state = env.reset(jax.random.key(0), params)
    state = state._replace(
        pos=jnp.array([2, 1], jnp.int32),
        dir=jnp.asarray(0, jnp.int32),
        split=jnp.asarray(3, jnp.int32),
        door_row=jnp.asarray(2, jnp.int32),
        key_pos=jnp.array([3, 1], jnp.int32),
    )
    assert env.action_space().n == 6
    _, s1, *_ = step(jax.random.key(0), state, 2, params)  # down: key blocks
    assert s1.pos.tolist() == [2, 1] and int(s1.dir) == 1
    _, s2, *_ = step(jax.random.key(0), s1, 4, params)  # pickup
    assert bool(s2.has_key)
    _, s3, *_ = step(jax.random.key(0), s2, 1, params)  # right: to (2, 2)
    _, s4, *_ = step(jax.random.key(0), s3, 5, params)  # toggle the door
    assert s3.pos.tolist() == [2, 2] and bool(s4.door_open)
    assert int(env.labels(s4)) == 0b011
    obs, s5, *_ = step(jax.random.key(0), s4, 1, params)  # through the door
    assert s5.pos.tolist() == [2, 3]
    assert obs.shape == (6, 6, 9) and float(obs[2, 3, 1]) == 1.0


@pytest.mark.filterwarnings(*CHECK_ENV_EXPECTED_WARNINGS)
@pytest.mark.parametrize(
    "kwargs", [{}, {"obs": "planes", "actions": "cardinal", "size": 5}]
)
def test_check_env(kwargs):
    env = rk.core.to_gymnasium(DoorKey(**kwargs))
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_vmap_and_jit_stable_dtypes():
    env = DoorKey(size=6)
    params = env.default_params()
    keys = jax.random.split(jax.random.key(1), 4)
    _obs, st = jax.vmap(env.reset, (0, None))(keys, params)
    out = jax.jit(jax.vmap(env.step, (0, 0, 0, None)))(keys, st, jnp.arange(4), params)
    assert out[0].shape == (4, 7, 7, 3) and out[0].dtype == jnp.uint8
    for a, b in zip(jax.tree.leaves(st), jax.tree.leaves(out[1]), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
    assert out[2].dtype == jnp.float32 and out[3].dtype == bool


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 4}, "size"),
        ({"obs": "rgb"}, "obs"),
        ({"actions": "wasd"}, "actions"),
        ({"max_steps": 0}, "max_steps"),
        ({"decay_reward": 1}, "decay_reward"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        DoorKey(**kwargs)


def test_spaces():
    assert DoorKey().observation_space() == gym.spaces.Box(0, 255, (7, 7, 3), np.uint8)
    assert DoorKey().action_space().n == 7
    assert DoorKey().propositions == ("carry_key_yellow", "open_door_yellow", "on_goal")
