"""Formulas: parser, evaluation, DNF, labels and label domains."""

import contextlib
import itertools

import hypothesis
import hypothesis.strategies as st
import pytest

from rewardkit.core import ConfigError
from rewardkit.machines import (
    Clause,
    Formula,
    FormulaSyntaxError,
    LabelDomain,
    UnknownPropositionError,
    label_to_mask,
    mask_to_label,
    parse_formula,
)

PROPS = ("a", "b", "c", "d")
ALL_LABELS = [mask_to_label(m, PROPS) for m in range(16)]


def test_precedence_not_and_or():
    f = parse_formula("!a & b | c")
    assert str(f) == "!a & b | c"
    assert f == parse_formula("((!a) & b) | c")
    assert f.evaluate({"b"}) and f.evaluate({"a", "c"}) and not f.evaluate({"a", "b"})


@pytest.mark.parametrize("word", ["TRUE", "True", "true"])
def test_true_constants(word):
    assert parse_formula(word).evaluate(set())
    assert parse_formula(f"!{word}").dnf(PROPS) == ()


@pytest.mark.parametrize("word", ["FALSE", "False", "false"])
def test_false_constants(word):
    assert not parse_formula(word).evaluate(PROPS)


def test_multi_character_names_and_tilde():
    f = parse_formula("~on_lava & carry_key_yellow")
    assert f.propositions == {"on_lava", "carry_key_yellow"}
    assert f.evaluate({"carry_key_yellow"})
    assert not f.evaluate({"carry_key_yellow", "on_lava"})


def test_bool_and_formula_inputs():
    f = parse_formula("a")
    assert parse_formula(f) is f
    assert parse_formula(True) == parse_formula("true")
    with pytest.raises(TypeError, match="int"):
        parse_formula(3)


@pytest.mark.parametrize(
    ("text", "column", "what"),
    [
        ("a &", 4, "unexpected end"),
        ("(a | b", 7, "expected ')'"),
        ("a b", 3, "unexpected 'b'"),
        ("a $ b", 3, "unexpected character '$'"),
        ("", 1, "empty formula"),
        ("a & | b", 5, "unexpected '|'"),
        ("1a", 1, "unexpected character '1'"),
        (")", 1, "unexpected ')'"),
    ],
)
def test_syntax_errors_name_the_column(text, column, what):
    with pytest.raises(FormulaSyntaxError) as info:
        parse_formula(text)
    assert f"at column {column}" in str(info.value)
    assert what in str(info.value)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)


def test_deep_nesting_is_a_syntax_error_not_a_recursion_error():
    with pytest.raises(FormulaSyntaxError, match="nested deeper"):
        parse_formula("(" * 5000 + "a" + ")" * 5000)
    assert parse_formula("!" * 10001 + "a").evaluate(set())


@hypothesis.given(st.text(max_size=40))
def test_parser_survives_arbitrary_text(text):
    try:
        f = parse_formula(text)
    except ValueError as e:
        assert isinstance(e, FormulaSyntaxError)
        assert "column" in str(e)
    else:
        assert parse_formula(str(f)) == f or str(parse_formula(str(f))) == str(f)


@hypothesis.given(st.text(alphabet="ab!~&|() tT", max_size=30))
def test_parser_survives_formula_like_text(text):
    with contextlib.suppress(FormulaSyntaxError):
        parse_formula(text)


def formulas(props=PROPS):
    atoms = st.sampled_from(props).map(
        lambda p: Formula("var", name=p)
    ) | st.sampled_from([parse_formula("true"), parse_formula("false")])

    def extend(children):
        return (
            children.map(lambda f: Formula("not", (f,)))
            | st.lists(children, min_size=2, max_size=3).map(
                lambda xs: Formula("and", tuple(xs))
            )
            | st.lists(children, min_size=2, max_size=3).map(
                lambda xs: Formula("or", tuple(xs))
            )
        )

    return st.recursive(atoms, extend, max_leaves=8)


@hypothesis.given(formulas())
def test_dnf_evaluation_equals_formula_evaluation_on_all_labels(f):
    clauses = f.dnf(PROPS)
    for mask, label in enumerate(ALL_LABELS):
        assert any(c.satisfied_by(mask) for c in clauses) == f.evaluate(label)
    for c in clauses:
        assert c.pos & c.neg == 0  # contradictions dropped


@hypothesis.given(formulas())
def test_text_round_trip(f):
    again = parse_formula(str(f))  # "!!a" parses as "a": a fixed point after one trip
    assert parse_formula(str(again)) == again
    for label in ALL_LABELS:
        assert again.evaluate(label) == f.evaluate(label)


@hypothesis.given(formulas())
def test_from_clauses_is_equivalent(f):
    g = Formula.from_clauses(f.dnf(PROPS), PROPS)
    for label in ALL_LABELS:
        assert g.evaluate(label) == f.evaluate(label)


def test_dnf_hand_cases():
    assert parse_formula("a & !a").dnf(PROPS) == ()
    assert parse_formula("a | !a & b").dnf(PROPS) == (Clause(1, 0), Clause(2, 1))
    assert parse_formula("true | a").dnf(PROPS) == (Clause(0, 0),)
    assert parse_formula("a | a & b").dnf(PROPS) == (Clause(1, 0),)  # subsumed
    assert parse_formula("!(a | b)").dnf(PROPS) == (Clause(0, 3),)


def test_dnf_unknown_proposition_is_named():
    with pytest.raises(UnknownPropositionError, match=r"\['zz'\]"):
        parse_formula("a & zz").dnf(PROPS)


def test_dnf_expansion_cap():
    props = tuple(f"p{i}" for i in range(18))
    text = " & ".join(f"(p{2 * i} | p{2 * i + 1})" for i in range(9))  # 512 clauses
    with pytest.raises(ConfigError, match="more than 256 DNF clauses"):
        parse_formula(text).dnf(props)


def test_label_masks():
    assert label_to_mask({"a", "c"}, PROPS) == 0b101
    assert mask_to_label(0b1010, PROPS) == {"b", "d"}
    with pytest.raises(UnknownPropositionError, match="'x'"):
        label_to_mask({"x"}, PROPS)


def test_label_domains():
    d = LabelDomain.at_most_one(("a", "f"))
    assert d.labels() == (frozenset(), {"a"}, {"f"})
    assert d.witness([Clause(1, 0), Clause(2, 0)], ("a", "f")) is None
    full = LabelDomain.all_subsets(("a", "f"))
    assert full.witness([Clause(1, 0), Clause(2, 0)], ("a", "f")) == 3
    assert len(full.labels()) == 4
    ex = LabelDomain.explicit([{"a"}, {"a", "f"}, set()])
    assert ex.propositions == ("a", "f")
    assert ex.contains({"a", "f"}) and not ex.contains({"f"})
    assert ex.witness([Clause(2, 0)], ("a", "f")) == 3
    assert ex.masks().tolist() == [1, 3, 0]
    # Projection: names outside the target order drop out.
    assert LabelDomain.at_most_one(("a", "x")).masks(("a",)).tolist() == [0, 1]
    # A machine proposition the domain lacks is never true.
    assert d.witness([Clause(0b100, 0)], ("a", "f", "z")) is None


def test_label_domain_errors():
    with pytest.raises(ConfigError, match="more than 16"):
        LabelDomain.all_subsets([f"p{i}" for i in range(17)]).labels()
    with pytest.raises(ConfigError, match="'true'"):
        LabelDomain.all_subsets(["a", "true"])
    with pytest.raises(ConfigError, match=r"repeats the propositions \['a'\]"):
        LabelDomain.at_most_one(["a", "a"])
    with pytest.raises(TypeError, match="not a str"):
        LabelDomain.explicit(["ab"])


def test_all_labels_enumerated_in_mask_order():
    labels = LabelDomain.all_subsets(PROPS).labels()
    assert [label_to_mask(x, PROPS) for x in labels] == list(range(16))
    assert sorted(map(sorted, labels)) == sorted(
        sorted(c) for r in range(5) for c in itertools.combinations(PROPS, r)
    )
