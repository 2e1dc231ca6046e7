"""Propositional formulas over named propositions, their DNF, labels and domains.

A formula is parsed by recursive descent (never ``eval``) into an immutable tree.
Its disjunctive normal form is a tuple of ``Clause(pos, neg)`` bitmask pairs over an
ordered proposition tuple: ``σ ⊨ c ⇔ (σ & pos) == pos and (σ & neg) == 0``.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from rewardkit.core import ConfigError
from rewardkit.machines._errors import FormulaSyntaxError, UnknownPropositionError

__all__ = [
    "Clause",
    "Formula",
    "LabelDomain",
    "label_to_mask",
    "mask_to_label",
    "parse_formula",
]

MAX_CLAUSES = 256
_MAX_DEPTH = 100
_TRUE_WORDS = ("TRUE", "True", "true")
_FALSE_WORDS = ("FALSE", "False", "false")
_RESERVED = frozenset(_TRUE_WORDS + _FALSE_WORDS)
_TOKEN = re.compile(r"\s+|[A-Za-z_][A-Za-z0-9_]*|[!~&|()]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Clause(NamedTuple):
    """One conjunction of literals: bitmasks of the positive and negated atoms.

    Example:
      >>> c = Clause(pos=0b01, neg=0b10)  # a & !b over ("a", "b")
      >>> c.satisfied_by(0b01), c.satisfied_by(0b11)
      (True, False)
    """

    pos: int
    neg: int

    def satisfied_by(self, mask: int) -> bool:
        """Whether the label bitmask ``mask`` satisfies the clause."""
        return (mask & self.pos) == self.pos and (mask & self.neg) == 0


@dataclasses.dataclass(frozen=True)
class Formula:
    """An immutable propositional formula tree; build it with ``parse_formula``.

    ``op`` is one of ``"true"``, ``"false"``, ``"var"`` (with ``name``), ``"not"``
    (one argument), ``"and"``, ``"or"`` (two or more arguments). ``str(f)`` is a
    canonical text that parses back to ``f``.

    Example:
      >>> f = parse_formula("coffee & !(plant | mail)")
      >>> str(f), sorted(f.propositions)
      ('coffee & !(plant | mail)', ['coffee', 'mail', 'plant'])
      >>> f.evaluate({"coffee"}), f.evaluate({"coffee", "mail"})
      (True, False)
    """

    op: str
    args: tuple[Formula, ...] = ()
    name: str = ""

    @property
    def propositions(self) -> frozenset[str]:
        """The proposition names the formula mentions."""
        if self.op == "var":
            return frozenset((self.name,))
        return frozenset().union(*(a.propositions for a in self.args))

    def evaluate(self, true_props: Iterable[str]) -> bool:
        """Truth value when exactly the propositions in ``true_props`` hold."""
        true_set = (
            true_props if isinstance(true_props, set | frozenset) else set(true_props)
        )
        return self._eval(true_set)

    def _eval(self, s: Any) -> bool:
        op = self.op
        if op == "var":
            return self.name in s
        if op == "true":
            return True
        if op == "false":
            return False
        if op == "not":
            return not self.args[0]._eval(s)
        if op == "and":
            return all(a._eval(s) for a in self.args)
        return any(a._eval(s) for a in self.args)

    def dnf(self, propositions: Sequence[str]) -> tuple[Clause, ...]:
        """Disjunctive normal form as ``Clause`` bitmasks over ``propositions``.

        Contradictory clauses are dropped and subsumed ones removed; an
        unsatisfiable formula gives ``()`` and a valid one may give ``(Clause(0, 0),)``.

        Args:
          propositions: the ordered names; bit i stands for ``propositions[i]``.

        Returns:
          The clauses, sorted.

        Raises:
          UnknownPropositionError: a proposition is not in ``propositions``.
          ConfigError: the expansion exceeds 256 clauses.

        Example:
          >>> parse_formula("(a | b) & !c").dnf(("a", "b", "c"))
          (Clause(pos=1, neg=4), Clause(pos=2, neg=4))
        """
        index = {p: i for i, p in enumerate(propositions)}
        missing = sorted(self.propositions - index.keys())
        if missing:
            raise UnknownPropositionError(
                f"formula {str(self)!r} names {missing}, not among the propositions "
                f"{tuple(propositions)}."
            )
        return _dnf(self, index, negated=False, text=str(self))

    @staticmethod
    def from_clauses(clauses: Iterable[Clause], propositions: Sequence[str]) -> Formula:
        """The disjunction of ``clauses`` (bitmasks over ``propositions``).

        Example:
          >>> str(Formula.from_clauses([Clause(1, 2), Clause(4, 0)], ("a", "b", "c")))
          'a & !b | c'
        """
        disjuncts = []
        for c in clauses:
            lits = []
            for i, p in enumerate(propositions):
                if c.pos >> i & 1:
                    lits.append(Formula("var", name=p))
                elif c.neg >> i & 1:
                    lits.append(Formula("not", (Formula("var", name=p),)))
            if not lits:
                return TRUE
            disjuncts.append(lits[0] if len(lits) == 1 else Formula("and", tuple(lits)))
        if not disjuncts:
            return FALSE
        return disjuncts[0] if len(disjuncts) == 1 else Formula("or", tuple(disjuncts))

    def __str__(self) -> str:
        return self._text(0)

    def _text(self, outer: int) -> str:
        # Precedence: or 1 < and 2 < not 3; parenthesise when the context binds tighter.
        op = self.op
        if op == "var":
            return self.name
        if op in ("true", "false"):
            return op
        if op == "not":
            return "!" + self.args[0]._text(3)
        level = 2 if op == "and" else 1
        sep = " & " if op == "and" else " | "
        text = sep.join(a._text(level + 1 if a.op == op else level) for a in self.args)
        return f"({text})" if outer > level else text


TRUE = Formula("true")
FALSE = Formula("false")


def _simplify(clauses: Iterable[Clause], text: str) -> tuple[Clause, ...]:
    kept: list[Clause] = []
    for c in sorted(set(clauses), key=lambda c: (bin(c.pos | c.neg).count("1"), c)):
        if c.pos & c.neg:
            continue
        if any((k.pos & ~c.pos) == 0 and (k.neg & ~c.neg) == 0 for k in kept):
            continue  # subsumed by a shorter clause
        kept.append(c)
    if len(kept) > MAX_CLAUSES:
        raise ConfigError(
            f"formula {text!r} expands to more than {MAX_CLAUSES} DNF clauses; "
            "split the edge into several edges."
        )
    return tuple(sorted(kept))


def _dnf(
    f: Formula, index: dict[str, int], negated: bool, text: str
) -> tuple[Clause, ...]:
    op = f.op
    if op == "var":
        bit = 1 << index[f.name]
        return (Clause(0, bit),) if negated else (Clause(bit, 0),)
    if op in ("true", "false"):
        return (Clause(0, 0),) if (op == "true") != negated else ()
    if op == "not":
        return _dnf(f.args[0], index, not negated, text)
    parts = [_dnf(a, index, negated, text) for a in f.args]
    if (op == "or") != negated:
        return _simplify(itertools.chain.from_iterable(parts), text)
    acc: tuple[Clause, ...] = (Clause(0, 0),)
    for part in parts:
        acc = _simplify(
            (Clause(a.pos | b.pos, a.neg | b.neg) for a in acc for b in part), text
        )
    return acc


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                self.fail(f"unexpected character {text[pos]!r}", pos)
            if not m.group().isspace():
                self.tokens.append((m.group(), pos))
            pos = m.end()
        self.i = 0
        self.depth = 0

    def fail(self, what: str, pos: int | None = None) -> Any:
        if pos is None:
            pos = (
                self.tokens[self.i][1] if self.i < len(self.tokens) else len(self.text)
            )
        raise FormulaSyntaxError(
            f"{what} at column {pos + 1} of formula {self.text!r}."
        )

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def parse(self) -> Formula:
        if not self.tokens:
            self.fail("empty formula")
        f = self.disjunction()
        if self.i < len(self.tokens):
            self.fail(f"unexpected {self.peek()!r}")
        return f

    def disjunction(self) -> Formula:
        args = [self.conjunction()]
        while self.peek() == "|":
            self.i += 1
            args.append(self.conjunction())
        return args[0] if len(args) == 1 else Formula("or", tuple(args))

    def conjunction(self) -> Formula:
        args = [self.negation()]
        while self.peek() == "&":
            self.i += 1
            args.append(self.negation())
        return args[0] if len(args) == 1 else Formula("and", tuple(args))

    def negation(self) -> Formula:
        count = 0
        while self.peek() in ("!", "~"):  # iterative: no recursion on long chains
            self.i += 1
            count += 1
        f = self.atom()
        # Double negations cancel, so trees stay shallow however long the chain.
        return Formula("not", (f,)) if count % 2 else f

    def atom(self) -> Formula:
        tok = self.peek()
        if tok is None:
            return self.fail("unexpected end")
        if tok == "(":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                self.fail(f"parentheses nested deeper than {_MAX_DEPTH}")
            self.i += 1
            f = self.disjunction()
            if self.peek() != ")":
                self.fail("expected ')'")
            self.i += 1
            self.depth -= 1
            return f
        if tok in _TRUE_WORDS:
            self.i += 1
            return TRUE
        if tok in _FALSE_WORDS:
            self.i += 1
            return FALSE
        if _IDENT.match(tok):
            self.i += 1
            return Formula("var", name=tok)
        return self.fail(f"unexpected {tok!r}")


def parse_formula(text: str | Formula | bool) -> Formula:
    """Parses a propositional formula (recursive descent, never ``eval``).

    Grammar: identifiers ``[A-Za-z_][A-Za-z0-9_]*``; constants ``TRUE``/``FALSE``
    (also ``True``/``False`` and ``true``/``false``, all reserved); ``!`` or ``~``
    binds tighter than ``&``, which binds tighter than ``|``; parentheses.

    Args:
      text: the formula text; a ``Formula`` is returned as is, a bool gives the
        constant.

    Returns:
      The ``Formula``.

    Raises:
      FormulaSyntaxError: naming the column and the formula.
      TypeError: ``text`` is not a str, Formula or bool.

    Example:
      >>> str(parse_formula("a&b|!c"))
      'a & b | !c'
      >>> try:
      ...     parse_formula("a & | b")
      ... except ValueError as e:
      ...     print(e)
      unexpected '|' at column 5 of formula 'a & | b'.
    """
    if isinstance(text, Formula):
        return text
    if isinstance(text, bool):
        return TRUE if text else FALSE
    if not isinstance(text, str):
        raise TypeError(
            f"a formula must be a str, Formula or bool; got {type(text).__name__} "
            f"{text!r}."
        )
    return _Parser(text).parse()


def check_proposition_names(names: Iterable[Any], what: str) -> tuple[str, ...]:
    """Checks proposition names: identifiers, not reserved, no duplicates."""
    if isinstance(names, str):
        raise TypeError(
            f"`{what}` must be a sequence of names, not a str; got {names!r}."
        )
    out = tuple(names)
    for p in out:
        if not isinstance(p, str) or not _IDENT.match(p) or p in _RESERVED:
            raise ConfigError(
                f"`{what}` must hold identifiers other than true/false; got {p!r}."
            )
    if len(set(out)) != len(out):
        dup = sorted({p for p in out if out.count(p) > 1})
        raise ConfigError(f"`{what}` repeats the propositions {dup}.")
    return out


def label_to_mask(label: Iterable[str], propositions: Sequence[str]) -> int:
    """The bitmask of a label (bit i <=> ``propositions[i]`` holds).

    Raises:
      UnknownPropositionError: a name is not in ``propositions``.

    Example:
      >>> label_to_mask({"c"}, ("a", "b", "c"))
      4
    """
    index = {p: i for i, p in enumerate(propositions)}
    mask = 0
    for p in label:
        if p not in index:
            raise UnknownPropositionError(
                f"label names {p!r}, not among the propositions {tuple(propositions)}."
            )
        mask |= 1 << index[p]
    return mask


def mask_to_label(mask: int, propositions: Sequence[str]) -> frozenset[str]:
    """The set of propositions whose bits are set in ``mask``.

    Example:
      >>> sorted(mask_to_label(5, ("a", "b", "c")))
      ['a', 'c']
    """
    mask = int(mask)
    return frozenset(p for i, p in enumerate(propositions) if mask >> i & 1)


_MAX_ENUMERATED = 16


@dataclasses.dataclass(frozen=True)
class LabelDomain:
    """The labels an environment can emit, over its propositions.

    Build with ``LabelDomain.all_subsets(props)``, ``LabelDomain.at_most_one(props)``
    (OfficeWorld, CraftWorld: at most one proposition per step) or
    ``LabelDomain.explicit(labels, propositions=None)``. Validation checks edge
    conflicts only on domain labels; compilation and shaping enumerate it.

    Example:
      >>> d = LabelDomain.at_most_one(("a", "b"))
      >>> [sorted(x) for x in d.labels()], d.masks().tolist()
      ([[], ['a'], ['b']], [0, 1, 2])
      >>> d.contains({"a", "b"})
      False
    """

    propositions: tuple[str, ...]
    kind: str  # "all_subsets" | "at_most_one" | "explicit"
    members: tuple[frozenset[str], ...] = ()

    @staticmethod
    def all_subsets(propositions: Sequence[str]) -> LabelDomain:
        """Every subset of ``propositions`` may occur."""
        props = check_proposition_names(propositions, "propositions")
        return LabelDomain(props, "all_subsets")

    @staticmethod
    def at_most_one(propositions: Sequence[str]) -> LabelDomain:
        """At most one proposition holds per step."""
        props = check_proposition_names(propositions, "propositions")
        return LabelDomain(props, "at_most_one")

    @staticmethod
    def explicit(
        labels: Iterable[Iterable[str]], propositions: Sequence[str] | None = None
    ) -> LabelDomain:
        """Exactly the listed labels (sets of names) may occur."""
        members = []
        for lab in labels:
            if isinstance(lab, str):
                raise TypeError(
                    f"each label must be a set of names, not a str; got {lab!r}."
                )
            s = frozenset(lab)
            if s not in members:
                members.append(s)
        if propositions is None:
            propositions = sorted(frozenset().union(*members))
        props = check_proposition_names(propositions, "propositions")
        for s in members:
            label_to_mask(s, props)  # raises on names outside the propositions
        return LabelDomain(props, "explicit", tuple(members))

    def contains(self, label: Iterable[str]) -> bool:
        """Whether the domain holds ``label`` (a set of names)."""
        s = frozenset(label)
        if not s <= set(self.propositions):
            return False
        if self.kind == "all_subsets":
            return True
        if self.kind == "at_most_one":
            return len(s) <= 1
        return s in self.members

    def labels(self) -> tuple[frozenset[str], ...]:
        """Every label of the domain (all subsets only up to 16 propositions)."""
        props = self.propositions
        if self.kind == "at_most_one":
            return (frozenset(), *(frozenset((p,)) for p in props))
        if self.kind == "explicit":
            return self.members
        if len(props) > _MAX_ENUMERATED:
            raise ConfigError(
                f"cannot enumerate all subsets of {len(props)} propositions "
                f"(more than {_MAX_ENUMERATED}); declare a smaller label domain."
            )
        return tuple(mask_to_label(m, props) for m in range(1 << len(props)))

    def masks(self, propositions: Sequence[str] | None = None) -> np.ndarray:
        """``uint32`` bitmasks of the labels, projected onto ``propositions``.

        Names outside ``propositions`` are dropped; duplicates after projection are
        removed, keeping the first occurrence. ``None`` uses the domain's own order.
        """
        props = self.propositions if propositions is None else tuple(propositions)
        keep = set(props)
        seen: dict[int, None] = {}
        for lab in self.labels():
            seen.setdefault(label_to_mask(lab & keep, props), None)
        return np.asarray(list(seen), dtype=np.uint32)

    def witness(
        self, clauses: Sequence[Clause], propositions: Sequence[str]
    ) -> int | None:
        """A domain label (mask over ``propositions``) satisfying all ``clauses``.

        Returns ``None`` when no domain label satisfies their conjunction.

        Example:
          >>> props, both = ("a", "f"), [Clause(1, 0), Clause(2, 0)]
          >>> LabelDomain.all_subsets(props).witness(both, props)
          3
          >>> print(LabelDomain.at_most_one(props).witness(both, props))
          None
        """
        pos = neg = 0
        for c in clauses:
            pos |= c.pos
            neg |= c.neg
        if pos & neg:
            return None
        if self.kind == "explicit":
            for m in self.masks(propositions):
                if (int(m) & pos) == pos and (int(m) & neg) == 0:
                    return int(m)
            return None
        available = label_to_mask(
            set(propositions) & set(self.propositions), propositions
        )
        if pos & ~available:
            return None
        if self.kind == "at_most_one" and bin(pos).count("1") > 1:
            return None
        return pos
