"""Smoke-runs the MiniGrid example with a tiny budget."""

import importlib.util
import pathlib

import numpy as np

EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "intrinsic_minigrid_rnd.py"


def test_minigrid_rnd_example_runs(capsys):
    spec = importlib.util.spec_from_file_location("intrinsic_minigrid_rnd", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--envs", "2", "--steps", "8", "--rollouts", "3"])
    assert [r["warming_up"] for r in rows] == [1.0, 1.0, 0.0]
    assert rows[0]["mean_bonus"] == 0.0 and rows[2]["mean_bonus"] > 0.0
    assert all(np.isfinite(r["rnd_loss"]) for r in rows)
    assert "env steps" in capsys.readouterr().out
