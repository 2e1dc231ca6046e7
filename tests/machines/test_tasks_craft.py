"""CraftWorld maps and tasks, HierarchicalCraftWorld layouts and hierarchies."""

import jax
import numpy as np
import pytest

from rewardkit.core import ConfigError
from rewardkit.envs import (
    CRAFT_OBJECTS,
    CraftWorld,
    HierarchicalCraftWorld,
    generate_craft_map,
    hierarchical_craft_layout,
    load_craft_map,
)
from rewardkit.machines import compile_tasks, machine_potential
from rewardkit.machines.tasks import (
    HIERARCHICAL_CRAFT_TASKS,
    craft_label_domain,
    craft_product,
    craft_tasks,
    hierarchical_craft_product,
    hierarchical_craft_task,
)

CRAFT = compile_tasks(
    craft_tasks(), tuple("abcdefgh"), label_domain=craft_label_domain()
)


@pytest.mark.parametrize("seed", [0, 7])
def test_generated_maps_have_reference_statistics(seed):
    rows = generate_craft_map(seed).split("\n")
    grid = np.array([list(r) for r in rows])
    assert grid.shape == (41, 41) and grid[20, 20] == "A"
    assert (grid[0] == "X").all() and (grid[:, -1] == "X").all()
    assert not (grid[1:-1, 1:-1] == "X").any()
    for c, (_, count) in CRAFT_OBJECTS.items():
        assert (grid == c).sum() == count
    assert generate_craft_map(seed) == "\n".join(rows)  # deterministic
    assert generate_craft_map(seed + 1) != generate_craft_map(seed)


def test_load_craft_map_roundtrip(tmp_path):
    text = generate_craft_map(2)
    path = tmp_path / "map_2.txt"
    path.write_text("\n".join(r.rstrip() for r in text.split("\n")) + "\n")
    assert load_craft_map(path) == text
    env = CraftWorld(path)
    assert env.layout == text and env.start == (20, 20)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="no map rows"):
        load_craft_map(empty)


def test_craft_task_potentials_match_spec():
    phi = machine_potential(CRAFT, gamma_rs=0.9).values
    expected = [-0.9] * 4 + [-0.81, -0.729, -0.729, -0.81, -0.729, -0.6561]
    np.testing.assert_allclose(phi[CRAFT.initial], expected, atol=1e-6)


def test_craft_task_semantics():
    t = craft_tasks()
    assert t[4].run([{"f"}, {"a"}, {"e"}]).accepted  # bridge, any order
    assert not t[4].run([{"a"}, {"e"}]).accepted
    assert t[5].run([{"a"}, {"d"}, {"b"}, {"c"}]).accepted  # bed: d at any time
    assert not t[5].run([{"b"}, {"a"}, {"d"}, {"c"}]).accepted
    assert t[8].run([{"a"}, {"f"}, {"e"}, {"g"}]).rewards == (0, 0, 0, 1)


def test_craft_product_runs_under_jit():
    env = craft_product((0,), seed=1)
    params = env.default_params()
    obs, state = env.reset(jax.random.key(0), params)
    assert int(obs["env"]) == 20 * 41 + 20
    obs, state, r, _term, _trunc, _info = jax.jit(env.step)(
        jax.random.key(1), state, 0, params
    )
    assert int(obs["env"]) == 19 * 41 + 20 and float(r) == 0.0


@pytest.mark.parametrize("layout", ["open_plan", "four_rooms"])
def test_hierarchical_craft_layouts(layout):
    text = hierarchical_craft_layout(layout, lava=True, seed=3)
    copies = 1 if layout == "open_plan" else 2
    for c in "ctiswzryxh":
        assert text.count(c) == copies
    assert text.count("l") == 1 and text.count("S") == 1
    env = HierarchicalCraftWorld(layout, lava=True, seed=3)
    assert len(env.propositions) == 11
    blocked = HierarchicalCraftWorld(layout, seed=3)
    assert "l" not in blocked.layout


@pytest.mark.parametrize("task", HIERARCHICAL_CRAFT_TASKS)
def test_hierarchy_and_flat_task_agree(task):
    h = hierarchical_craft_task(task)
    flat = hierarchical_craft_task(task, flat=True)
    rng = np.random.default_rng(0)
    props = ["c", "h", "i", "r", "s", "t", "w", "x", "y", "z"]
    for _ in range(20):
        trace = [
            {props[k]} if k < len(props) else set() for k in rng.integers(0, 12, 40)
        ]
        a, b = h.run(trace), flat.run(trace)
        assert (a.rewards, a.accepted, a.rejected) == (
            b.rewards,
            b.accepted,
            b.rejected,
        )


def test_hierarchical_craft_lava_rejects():
    h = hierarchical_craft_task("Cake", lava=True)
    assert h.run([{"w"}, {"l"}]).rejected
    assert hierarchical_craft_task("Bucket").run([{"i"}, {"t"}]).rewards == (0.0, 1.0)
    env = hierarchical_craft_product(task="MilkBucket", lava=True)
    assert env.machines.rejecting.any()
