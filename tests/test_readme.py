"""The README's promises: two commands first, and tour examples that are tested."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def blocks(text, lang):
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_first_block_holds_the_demo_and_test_commands():
    first = blocks((ROOT / "README.md").read_text(), "bash")[0].strip().splitlines()
    assert len(first) == 2
    assert first[0].endswith("python -m experiments quickstart")
    assert "pytest" in first[1]


def test_tour_examples_are_the_ones_the_docs_test_runs():
    readme = blocks((ROOT / "README.md").read_text(), "python")
    index = blocks((ROOT / "docs" / "index.md").read_text(), "python")
    assert readme, "the README tour has no examples"
    for code in readme:
        assert code in index, (
            "README example not in docs/index.md (tested there):\n" + code
        )
