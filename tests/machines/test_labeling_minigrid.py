"""Labeling functions: MiniGrid labeler, masks, the default functional labeler."""

import gymnasium as gym
import minigrid  # noqa: F401 - registers the MiniGrid ids
import pytest
from gymnasium.utils.env_checker import check_env
from minigrid.core.world_object import Key

import rewardkit as rk
from rewardkit.core import ConfigError
from rewardkit.envs import GridWorld, OfficeWorld
from rewardkit.machines import (
    LabelFilter,
    MiniGridLabeler,
    RewardMachine,
    default_label_fn,
    labels_to_mask,
)
from tests._warnings import CHECK_ENV_EXPECTED_WARNINGS

DOORKEY_PROPS = ("carry_key_yellow", "open_door_yellow", "on_goal", "front_door_yellow")


def _doorkey():
    env = gym.make("MiniGrid-DoorKey-6x6-v0")
    env.reset(seed=1)
    return env, env.unwrapped


def test_minigrid_labeler_reads_carry_door_goal_front():
    env, base = _doorkey()
    lab = MiniGridLabeler(DOORKEY_PROPS)
    assert lab(env, None, 0, None, {}) == frozenset()
    base.carrying = Key("yellow")
    assert lab(env, None, 0, None, {}) == {"carry_key_yellow"}
    door = next(o for o in base.grid.grid if o is not None and o.type == "door")
    door.is_open = True
    assert lab(env, None, 0, None, {}) == {"carry_key_yellow", "open_door_yellow"}
    gx, gy = next(
        (i % base.grid.width, i // base.grid.width)
        for i, o in enumerate(base.grid.grid)
        if o is not None and o.type == "goal"
    )
    base.agent_pos = (gx, gy)
    assert "on_goal" in lab(env, None, 0, None, {})
    dx, dy = door.cur_pos
    base.agent_pos, base.agent_dir = (dx - 1, dy), 0  # facing right, at the door
    assert "front_door_yellow" in lab(env, None, 0, None, {})
    only = MiniGridLabeler(("on_goal",))
    assert only(env, None, 0, None, {}) == frozenset()  # unlisted names dropped
    env.reset(seed=2)  # a new layout: the door cache is rebuilt
    assert "open_door_yellow" not in lab(env, None, 0, None, {})


def test_labels_to_mask_and_default_label_fn():
    assert int(labels_to_mask({"f", "n"}, ("a", "f", "n"))) == 0b110
    assert int(labels_to_mask(frozenset(), ("a",))) == 0
    with pytest.raises(ConfigError, match="label_fn"):
        default_label_fn(GridWorld("S.G"))
    with pytest.raises(ConfigError, match="props"):
        MiniGridLabeler(())
    assert default_label_fn(OfficeWorld()) is not None


def test_label_filter_passes():
    f = LabelFilter(ignore_empty=True, ignore_repeats=True)
    assert [bool(f.passes(a, b)) for a, b in [(0, 1), (2, 2), (2, 1)]] == [
        False,
        False,
        True,
    ]
    assert bool(LabelFilter().passes(0, 0))


DOORKEY_RM = RewardMachine.from_edges(
    [
        ("u0", "u1", "carry_key_yellow"),
        ("u1", "u2", "open_door_yellow"),
        ("u2", "acc", "on_goal", 1.0),
    ],
    initial="u0",
    accepting=["acc"],
)


def test_product_env_with_minigrid_labeler():
    env = rk.machines.ProductEnv(
        gym.make("MiniGrid-DoorKey-6x6-v0"), DOORKEY_RM, MiniGridLabeler(DOORKEY_PROPS)
    )
    obs, _ = env.reset(seed=1)
    base = env.unwrapped
    base.carrying = Key("yellow")
    obs, r, term, _trunc, info = env.step(6)  # done: the labeler sees the key
    assert (int(obs["machine"]), r, term) == (1, 0.0, False)
    assert info["label"] == 1 and info["extrinsic_reward"] == 0.0
    assert env.machine_state == 1


@pytest.mark.filterwarnings(*CHECK_ENV_EXPECTED_WARNINGS)
def test_check_env_product_with_minigrid_labeler():
    rm = RewardMachine.from_edges(
        [("u0", "acc", "on_goal", 1.0)], initial="u0", accepting=["acc"]
    )
    env = rk.machines.ProductEnv(
        gym.make("MiniGrid-Empty-5x5-v0"), rm, MiniGridLabeler(("on_goal",))
    )
    check_env(env, skip_render_check=True)
