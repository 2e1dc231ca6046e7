"""Parsing ASCII layouts into character grids (shared by every grid family)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np

from rewardkit.core import ConfigError

__all__ = ["parse_layout"]


def parse_layout(layout: str | Sequence[str], allowed: str | None = None) -> np.ndarray:
    """Parses an ASCII layout into a ``[H, W]`` array of single characters.

    Leading and trailing blank lines are dropped and common indentation removed, so
    layouts can be written as indented triple-quoted strings. Rows must have equal
    length (trailing spaces count: pad with ``.`` to keep editors from eating them).

    Args:
      layout: one string with one row per line, or a sequence of row strings.
      allowed: the characters the family's legend knows; None accepts all.

    Returns:
      ``[H, W]`` array of dtype ``<U1``.

    Raises:
      ConfigError: on an empty layout, ragged rows, or an unknown character (named
        with its row and column).

    Example:
      >>> parse_layout('''
      ...     #####
      ...     #S.G#
      ...     #####''').shape
      (3, 5)
    """
    if isinstance(layout, str):
        text = textwrap.dedent(layout.strip("\n"))
        rows = text.split("\n")
    else:
        rows = [str(r) for r in layout]
    while rows and not rows[-1].strip():
        rows.pop()
    if not rows or not rows[0]:
        raise ConfigError(
            f"`layout` must hold at least one non-empty row; got {layout!r}."
        )
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ConfigError(
                f"`layout` rows must have equal length; row 0 has {width} characters "
                f"but row {i} has {len(row)}: {row!r}."
            )
        if allowed is not None:
            for j, ch in enumerate(row):
                if ch not in allowed:
                    raise ConfigError(
                        f"`layout` has unknown character {ch!r} at (row {i}, col {j}); "
                        f"allowed: {''.join(sorted(set(allowed)))!r}."
                    )
    return np.array([list(r) for r in rows], dtype="<U1")
