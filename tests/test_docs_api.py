"""The public API, its docstrings and the generated API pages cannot drift apart.

For every public rewardkit module, the names in ``__all__`` are exactly the names
that ``docs/api/<module>.md`` documents with ``::: `` mkdocstrings directives, and
every exported module, class and function has a real docstring. When a page is out
of date the fix is ``python docs/gen_api.py``.
"""

import dataclasses
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import rewardkit

ROOT = Path(__file__).resolve().parent.parent
API_DIR = ROOT / "docs" / "api"
FIX = "run `python docs/gen_api.py` to regenerate docs/api/ and the mkdocs nav"
DIRECTIVE = re.compile(r"^:::\s+(\S+)\s*$", re.MULTILINE)

PUBLIC = ["rewardkit"] + [
    m.name
    for m in pkgutil.walk_packages(rewardkit.__path__, "rewardkit.")
    if not any(part.startswith("_") for part in m.name.split("."))
]


def documented_names(module_name, text):
    """Names documented by the ``::: module.Name`` directives of a page."""
    names = set()
    for target in DIRECTIVE.findall(text):
        prefix, _, name = target.rpartition(".")
        assert prefix == module_name, (
            f"docs/api/{module_name}.md documents {target!r}, which is not in "
            f"{module_name}; {FIX}"
        )
        names.add(name)
    return names


def is_generated_doc(obj):
    """Whether a class's ``__doc__`` was written by dataclass or NamedTuple."""
    doc = obj.__doc__
    if dataclasses.is_dataclass(obj):
        try:
            sig = str(inspect.signature(obj)).replace(" -> None", "")
        except (TypeError, ValueError):
            return False
        if doc == obj.__name__ + sig:
            return True
    fields = getattr(obj, "_fields", None)
    return isinstance(fields, tuple) and doc == f"{obj.__name__}({', '.join(fields)})"


def test_documented_names_parses_directives():
    text = "# t\n\n::: rewardkit.core.Transition\n\n::: rewardkit.core.AutoReset\n"
    text += "    options:\n      members: false\n\nnot ::: rewardkit.core.X\n"
    assert documented_names("rewardkit.core", text) == {"Transition", "AutoReset"}


def test_generated_doc_detection():
    @dataclasses.dataclass
    class Plain:
        a: int = 1

    @dataclasses.dataclass
    class Written:
        """A real docstring."""

        a: int = 1

    assert is_generated_doc(Plain)
    assert not is_generated_doc(Written)
    assert not is_generated_doc(rewardkit.core.Transition)


def test_every_api_page_belongs_to_a_public_module():
    pages = {p.name.removesuffix(".md") for p in API_DIR.glob("*.md")}
    stale = sorted(pages - set(PUBLIC))
    missing = sorted(set(PUBLIC) - pages)
    assert not stale, (
        f"API pages for modules that no longer exist: {stale}; delete them or {FIX}"
    )
    assert not missing, f"public modules without an API page: {missing}; {FIX}"


def test_mkdocs_nav_is_current():
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs/gen_api.py")
    gen_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_api)
    assert sorted(gen_api.public_modules()) == sorted(PUBLIC)
    lines = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\n")
    assert gen_api.BEGIN in lines and gen_api.END in lines, f"nav markers gone; {FIX}"
    block = lines[lines.index(gen_api.BEGIN) + 1 : lines.index(gen_api.END)]
    expected = gen_api.render_nav(gen_api.public_modules())
    assert block == expected, f"the nav of mkdocs.yml is out of date; {FIX}"


@pytest.mark.parametrize("name", PUBLIC)
def test_public_surface_matches_docs(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} is public but has no __all__"
    page = API_DIR / f"{name}.md"
    assert page.exists(), f"{name} has no API page docs/api/{name}.md; {FIX}"
    documented = documented_names(name, page.read_text(encoding="utf-8"))
    exported = set(module.__all__)
    assert exported == documented, (
        f"{name}.__all__ and docs/api/{name}.md disagree: "
        f"undocumented {sorted(exported - documented)}, "
        f"documented but not exported {sorted(documented - exported)}; {FIX}"
    )


@pytest.mark.parametrize("name", PUBLIC)
def test_every_exported_name_has_a_docstring(name):
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    missing = []
    for symbol in module.__all__:
        obj = getattr(module, symbol)
        if not (inspect.ismodule(obj) or inspect.isclass(obj) or callable(obj)):
            continue  # data constants: described where they are defined
        doc = obj.__doc__  # a class's own docstring, never its base's
        if not doc or (inspect.isclass(obj) and is_generated_doc(obj)):
            missing.append(symbol)
    assert not missing, f"{name}: exported names without a docstring: {missing}"


INDEX_EXAMPLES = re.findall(
    r"```python\n(.*?)```", (ROOT / "docs/index.md").read_text(encoding="utf-8"), re.S
)


@pytest.mark.parametrize("index", range(len(INDEX_EXAMPLES)))
def test_home_page_example_runs(index, capsys):
    code = compile(INDEX_EXAMPLES[index], f"docs/index.md[example {index}]", "exec")
    exec(code, {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip(), "each example prints its result"
