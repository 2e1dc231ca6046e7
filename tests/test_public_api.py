"""Every exported name loads and has a docstring."""

import importlib
import pkgutil

import pytest

import rewardkit

PUBLIC = ["rewardkit"] + [
    f"rewardkit.{m.name}"
    for m in pkgutil.walk_packages(rewardkit.__path__, "")
    if not m.name.split(".")[-1].startswith("_")
]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_exported_name_loads_and_is_documented(name):
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    for symbol in getattr(module, "__all__", []):
        obj = getattr(module, symbol)
        if isinstance(obj, str | int | float | tuple):
            continue
        assert obj.__doc__, f"{name}.{symbol} has no docstring"
