"""Argument handling and the β0 sweep of the DoorKey experiment (CI smoke-runs it)."""

import argparse
import types

import jax.numpy as jnp
import numpy as np
import pytest

from experiments import intrinsic_doorkey


def test_beta0_sweep_values_are_parsed():
    assert intrinsic_doorkey._parse_beta0("1, 0.1,0.01,") == [1.0, 0.1, 0.01]


@pytest.mark.parametrize("text", ["a,0.1", "-1", "nan", ",", "1,1"])
def test_beta0_sweep_rejects_bad_values(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected"):
        intrinsic_doorkey._parse_beta0(text)


def test_bad_beta0_is_a_usage_error_before_any_work(capsys):
    with pytest.raises(SystemExit) as exit_info:
        intrinsic_doorkey.main(["--beta0", "x"])
    assert exit_info.value.code == 2
    assert "--beta0" in capsys.readouterr().err


def test_each_beta0_reaches_train_and_labels_its_curves():
    def train(key, env_params=None, beta0=None):  # 3 updates, 2 episodes each
        del key
        assert env_params is None
        ones = jnp.ones(3)
        return {"episodes": 2 * ones, "return_sum": 2 * beta0 * ones, "successes": ones}

    keys = jnp.stack([jnp.zeros(2, jnp.uint32)] * 4)  # 4 seeds (raw uint32 keys)
    cfg = types.SimpleNamespace(total_steps=100)
    args = types.SimpleNamespace(seed_chunk=3, devices=1)
    curves = {}
    rows = [
        intrinsic_doorkey._run_method(
            train, cfg, keys, args, f"m {b}", b, curves, i == 0
        )
        for i, b in enumerate([0.5, 0.25])
    ]
    assert [r["return_last100"] for r in rows] == [0.5, 0.25]  # mean return = β0
    assert [r["includes_compile"] for r in rows] == [True, False]
    assert rows[0]["per_seed_return"] == "0.500 0.500 0.500 0.500"
    assert list(curves) == [("m 0.5", 0.5), ("m 0.25", 0.25)]
    np.testing.assert_allclose(curves[("m 0.25", 0.25)][1], 0.25)
