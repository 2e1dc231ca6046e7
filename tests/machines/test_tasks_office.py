"""OfficeWorld layout and tasks; check_env on every registered task id."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rewardkit  # noqa: F401 - registers the ids
from rewardkit.envs import OfficeWorld, office_blocked
from rewardkit.machines import tasks
from rewardkit.machines.tasks import office_tasks
from tests._warnings import CHECK_ENV_EXPECTED_WARNINGS

ENV = OfficeWorld()
UP, RIGHT, DOWN, LEFT = range(4)


def cell(x, y):
    return ENV.cell(8 - y, x)


@pytest.mark.parametrize(
    ("prop", "xys"),
    [
        ("a", [(1, 1)]),
        ("b", [(1, 7)]),
        ("c", [(10, 7)]),
        ("d", [(10, 1)]),
        ("e", [(7, 4)]),
        ("f", [(8, 2), (3, 6)]),
        ("g", [(4, 4)]),
        ("n", [(4, 1), (7, 1), (4, 7), (7, 7), (1, 4), (10, 4)]),
    ],
)
def test_propositions_on_reference_cells(prop, xys):
    bit = 1 << ENV.propositions.index(prop)
    cells = sorted(np.flatnonzero(ENV.cell_label & bit).tolist())
    assert cells == sorted(cell(x, y) for x, y in xys)


def test_walls_and_openings():
    assert ENV.start == (7, 2) and (ENV.height, ENV.width) == (9, 12)
    assert len(office_blocked()) == 120
    moves = lambda x, y, a: int(ENV.next_cell[cell(x, y), a]) != cell(x, y)  # noqa: E731
    for x in (2, 5, 8):  # horizontal openings only in rows y = 1 and 7
        assert moves(x, 1, RIGHT) and moves(x + 1, 1, LEFT) and moves(x, 7, RIGHT)
        assert not moves(x, 4, RIGHT) and not moves(x, 0, RIGHT)
    for x in (1, 4, 7, 10):  # middle <-> top rows
        assert moves(x, 5, UP) and moves(x, 6, DOWN)
    for x in range(12):  # bottom <-> middle rows only at x = 1, 10
        assert moves(x, 2, UP) == (x in (1, 10))
    assert not moves(0, 3, LEFT) and not moves(0, 0, DOWN)


def test_task_machines():
    t1, t2, t3, t4 = office_tasks()
    assert [len(t.states) for t in (t1, t2, t3, t4)] == [4, 4, 6, 6]
    assert t1.run([{"f"}, {"n"}]).rewards == (0.0, 0.0)
    assert t1.run([{"f"}, {"n"}]).rejected
    assert (
        t3.run([{"f"}, {"e"}, {"g"}]).accepted
        and t3.run([{"e"}, {"f"}, {"g"}]).accepted
    )
    assert not t3.run([{"f"}, {"g"}]).accepted
    assert t4.run([{"a"}, {"c"}, {"b"}, {"c"}, {"d"}]).rewards[-1] == 1.0
    legacy = office_tasks(legacy_falloff_reward=True)
    for t in legacy:
        *events, _last = {"t1": "fg", "t2": "eg", "t3": "efg", "t4": "abcd"}[
            t.name[7:9]
        ]
        run = t.run([{e} for e in events] + [{"n"}])
        assert run.rejected and run.rewards[-1] == 1.0


@pytest.mark.filterwarnings(*CHECK_ENV_EXPECTED_WARNINGS)
@pytest.mark.parametrize("env_id", tasks.register_tasks())
def test_check_env_on_registered_ids(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
