"""Argument handling of the experiment scripts (their runs are smoke-tested by CI)."""

import pytest

from experiments import intrinsic_doorkey


def test_beta0_sweep_values_are_parsed():
    assert intrinsic_doorkey._parse_beta0(None) == [None]
    assert intrinsic_doorkey._parse_beta0("") == [None]
    assert intrinsic_doorkey._parse_beta0("1, 0.1,0.01,") == [1.0, 0.1, 0.01]


@pytest.mark.parametrize("text", ["a,0.1", "-1", "nan", ","])
def test_beta0_sweep_rejects_bad_values_naming_the_flag(text):
    with pytest.raises(SystemExit, match="--beta0"):
        intrinsic_doorkey._parse_beta0(text)
