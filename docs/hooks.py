r"""Build-time fixes that let mkdocstrings render rewardkit's docstrings as written.

Loaded twice by ``mkdocs.yml``: as an mkdocs hook (``hooks:``) and as a griffe
extension (the python handler's ``extensions:``).

* rewardkit writes the doctest section as ``Example:``; griffe's google parser knows
  only ``Examples:`` and would render the section as an admonition of plain
  Markdown, where doctest output such as ``[[1, 2], [3]]`` reads as reference links.
  :class:`DocstringSyntax` renames the section header before parsing.
* Formulas are written as reStructuredText (``.. math::`` blocks and ``:math:``
  roles); :func:`convert_math` turns them into the ``$$ ... $$`` and ``\( ... \)``
  of ``pymdownx.arithmatex``, which MathJax typesets.
* Cross-references are written the Sphinx way (``:func:`shaper```); the parser leaves
  the role visible. :func:`on_page_content` turns ``:role:<code>x</code>`` in the
  rendered HTML into ``<code>x</code>`` (``~`` keeps only the last component).

Example:
  >>> strip_roles(":class:<code>~rewardkit.core.Transition</code>")
  '<code>Transition</code>'
  >>> rename_example_sections("Summary.\n\nExample:\n  >>> 1\n  1")
  'Summary.\n\nExamples:\n  >>> 1\n  1'
  >>> print(convert_math("A\n\n.. math:: x = 1,\n   y = 2\n\nwith :math:`z`."))
  A
  <BLANKLINE>
  $$
  x = 1,
  y = 2
  $$
  <BLANKLINE>
  with \(z\).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const|type|math):"
    r"<code>(~?)([^<]+)</code>"
)
_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_MATH_BLOCK = re.compile(r"^(\s*)\.\. math::[ \t]*(.*)$")


def strip_roles(html: str) -> str:
    """Replace Sphinx roles around inline code with the bare code.

    Args:
        html: Rendered HTML.

    Returns:
        The HTML with every ``:role:<code>x</code>`` replaced by ``<code>x</code>``.
    """

    def repl(match: re.Match[str]) -> str:
        target = match.group(2)
        if match.group(1):
            target = target.rsplit(".", 1)[-1]
        return f"<code>{target}</code>"

    return _ROLE.sub(repl, html)


def rename_example_sections(text: str) -> str:
    """Rename ``Example:`` section headers to ``Examples:``.

    Args:
        text: A docstring.

    Returns:
        The docstring with each line that is exactly ``Example:`` (indent kept)
        renamed.
    """
    return _EXAMPLE.sub(r"\1Examples:", text)


def convert_math(text: str) -> str:
    r"""Turn reStructuredText math into arithmatex math.

    A ``.. math::`` directive (its first line and the following lines indented
    deeper than it) becomes a ``$$`` block at the directive's indentation, set off
    by blank lines; a ``:math:`x``` role becomes ``\(x\)``.

    Args:
        text: A docstring.

    Returns:
        The docstring with its formulas converted.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _MATH_BLOCK.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent, first = match.groups()
        body = [first] if first.strip() else []
        i += 1
        while i < len(lines):
            line = lines[i]
            deeper = len(line) - len(line.lstrip()) > len(indent)
            if line.strip() and not deeper:
                break
            if not line.strip():
                # A blank line ends the block unless more indented math follows.
                rest = next((x for x in lines[i + 1 :] if x.strip()), "")
                if len(rest) - len(rest.lstrip()) <= len(indent) or not body:
                    break
            body.append(line.strip())
            i += 1
        if out and out[-1].strip():
            out.append("")
        out += [f"{indent}$$", *(f"{indent}{b}" for b in body if b), f"{indent}$$"]
        if i < len(lines) and lines[i].strip():
            out.append("")
    return _MATH_ROLE.sub(r"\\(\1\\)", "\n".join(out))


def on_page_content(html: str, **kwargs: Any) -> str:
    """Strip Sphinx roles from every page's HTML (mkdocs event).

    Args:
        html: The page's rendered HTML.
        **kwargs: The other event arguments (page, config, files), unused.

    Returns:
        The HTML with Sphinx roles stripped.
    """
    return strip_roles(html)


class DocstringSyntax(griffe.Extension):
    """Griffe extension: ``Example:`` sections and reStructuredText math."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of each loaded object before it is parsed.

        Args:
            obj: The object griffe just loaded.
            **kwargs: The other event arguments, unused.
        """
        if obj.docstring is not None:
            text = rename_example_sections(obj.docstring.value)
            obj.docstring.value = convert_math(text)
