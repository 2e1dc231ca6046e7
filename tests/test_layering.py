"""The import rule of DESIGN.md, checked on the source."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "rewardkit"
ALLOWED = {
    "core": set(),
    "envs": {"core"},
    "shaping": {"core", "envs"},
    "machines": {"core", "envs", "shaping"},
    "intrinsic": {"core", "envs"},
    "monitored": {"core", "envs"},
    "distances": {"core"},
    "agents": {
        "core",
        "envs",
        "shaping",
        "machines",
        "intrinsic",
        "monitored",
        "agents",
    },
}


def imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize(
    "package",
    sorted(p.name for p in ROOT.iterdir() if p.is_dir() and p.name in ALLOWED),
)
def test_packages_import_only_what_the_design_allows(package):
    bad = []
    for path in (ROOT / package).rglob("*.py"):
        for mod in imports(path):
            parts = mod.split(".")
            if parts[0] in ("experiments", "benchmarks"):
                bad.append(f"{path.name}: {mod}")
            if parts[0] == "rewardkit" and len(parts) > 1:
                dep = parts[1]
                if dep != package and dep not in ALLOWED[package]:
                    bad.append(f"{path.relative_to(ROOT)}: {mod}")
    assert not bad, f"rewardkit.{package} breaks the import rule: {bad}"
