"""SPEC §7: message templates and their $variables."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bannertui.domain.errors import InvalidTemplate
from bannertui.domain.templates import (
    missing_values,
    render,
    require_template,
    substitute,
    variables,
)

# --- variables -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hello $name, your order $order is ready, $name!", ["name", "order"]),
        ("$b then $a then $b then $c then $a", ["b", "a", "c"]),
        ("$first_name $_private $order2 $a_1_b", ["first_name", "_private", "order2", "a_1_b"]),
        ("$_", ["_"]),
        ("Bonjour $prénom, votre dossier $numéro_dossier", ["prénom", "numéro_dossier"]),
        ("Здравствуйте, $имя", ["имя"]),
        ("$a$b", ["a", "b"]),
        ("$name.", ["name"]),
        ("($name)", ["name"]),
        ("$name's order", ["name"]),
        ("mail: $user@example.com", ["user"]),
        ("no variables here", []),
        ("", []),
    ],
)
def test_variables(template: str, expected: list[str]) -> None:
    assert variables(template) == expected


@pytest.mark.parametrize("template", ["$1abc", "costs $5", "$", "$ name", "$-x", "$€", "$$", "$٣x"])
def test_not_variables(template: str) -> None:
    assert variables(template) == []


def test_double_dollar_is_a_literal_dollar_then_a_variable() -> None:
    assert variables("$$name") == ["name"]
    assert substitute("$$name", {"name": "Ana"}) == "$Ana"


def test_names_are_matched_greedily() -> None:
    assert variables("$name_x") == ["name_x"]
    assert substitute("$name_x $name", {"name": "Ana"}) == "$name_x Ana"


# --- substitute ------------------------------------------------------------------


def test_substitute_replaces_known_variables() -> None:
    assert substitute("Hello $name, order $order.", {"name": "Ana", "order": "A-12"}) == (
        "Hello Ana, order A-12."
    )


def test_substitute_unicode_and_adjacent() -> None:
    assert substitute("Bonjour $prénom !", {"prénom": "Éloïse"}) == "Bonjour Éloïse !"
    assert substitute("$a$b", {"a": "1", "b": "2"}) == "12"


def test_substitute_leaves_unknown_variables_untouched() -> None:
    assert substitute("Hello $name, $unknown", {"name": "Ana"}) == "Hello Ana, $unknown"
    assert substitute("costs $5 or $1abc", {"5": "x", "1abc": "y"}) == "costs $5 or $1abc"


def test_substitute_with_empty_value() -> None:
    assert substitute("Hello $name!", {"name": ""}) == "Hello !"


def test_substitute_does_not_re_expand_values() -> None:
    values = {"a": "$b", "b": "B", "c": "$c"}
    assert substitute("$a $b $c", values) == "$b B $c"


def test_substitute_single_pass_does_not_expand_joined_text() -> None:
    # "$x" is unknown, then "$a" becomes "yz": the result reads "$xyz" but is not expanded.
    assert substitute("$x$a", {"a": "yz", "xyz": "boom"}) == "$xyz"
    assert substitute("$$a", {"a": "b", "b": "boom"}) == "$b"


def test_substitute_values_are_literal_not_regex_replacements() -> None:
    assert substitute("$a", {"a": r"\1 \g<0> \n"}) == r"\1 \g<0> \n"


# --- require_template / render ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (None, "the template was not found"),
        ("", "the template is empty"),
        ("   ", "the template is empty"),
        ("\n\t \u00a0", "the template is empty"),
    ],
)
def test_require_template_refuses_missing_or_empty(text: str | None, detail: str) -> None:
    with pytest.raises(InvalidTemplate) as info:
        require_template(text)
    assert info.value.name == "Invalid template"
    assert info.value.detail == detail
    with pytest.raises(InvalidTemplate):
        render(text, {"name": "Ana"})


def test_require_template_returns_text_unchanged() -> None:
    assert require_template("  Hello $name  ") == "  Hello $name  "


def test_render() -> None:
    assert render("Bonjour $prénom, $unknown", {"prénom": "Ana"}) == "Bonjour Ana, $unknown"


# --- missing_values --------------------------------------------------------------


def test_missing_values() -> None:
    template = "$b $a $c $b $d"
    assert missing_values(template, {"a": "1", "b": "", "d": "4"}) == ["b", "c"]
    assert missing_values(template, {"a": "1", "b": "2", "c": "3", "d": "4"}) == []
    assert missing_values("no variables", {}) == []
    assert missing_values("$prénom", {}) == ["prénom"]


# --- properties ------------------------------------------------------------------

# A small alphabet (ASCII, accented, Cyrillic, digits, "_") makes names collide often.
_names = st.builds(
    str.__add__,
    st.sampled_from("abxyé_п"),
    st.text(alphabet="abxyé_п09", max_size=4),
)


@given(text=st.text().filter(lambda t: "$" not in t), values=st.dictionaries(_names, st.text()))
def test_substitute_is_identity_without_dollar(text: str, values: dict[str, str]) -> None:
    assert substitute(text, values) == text
    assert variables(text) == []


def _template_parts(names: list[str]) -> st.SearchStrategy[str]:
    """Templates mixing free text, lone ``$``, the given names and other names."""
    part = st.one_of(
        st.text(max_size=5),
        st.just("$"),
        _names.map(lambda name: "$" + name),
        st.sampled_from(names).map(lambda name: "$" + name),
    )
    return st.lists(part, max_size=8).map("".join)


@st.composite
def _template_and_values(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A template and values without ``$``; values are often names themselves, so
    that substituted text can join with a preceding ``$`` to spell a variable."""
    names = draw(st.lists(_names, min_size=1, max_size=4, unique=True))
    value = st.one_of(
        st.sampled_from(names),
        st.sampled_from(names).map(lambda name: "-" + name),
        st.text(max_size=5),
    ).filter(lambda text: "$" not in text)
    values = {name: draw(value) for name in names if draw(st.booleans())}
    return draw(_template_parts(names)), values


@given(case=_template_and_values())
def test_substitute_is_idempotent_for_values_without_dollar_or_leading_word_char(
    case: tuple[str, dict[str, str]],
) -> None:
    template, values = case
    # A value starting with a word character can extend a "$" or an unknown
    # "$word" standing just before it ("$x" + "yz" reads "$xyz"): a second pass
    # may then find a new variable.  Without such values, once is enough.
    values = {name: value for name, value in values.items() if not re.match(r"\w", value)}
    once = substitute(template, values)
    assert substitute(once, values) == once


@given(case=_template_and_values())
def test_every_extracted_variable_round_trips(case: tuple[str, dict[str, str]]) -> None:
    template, values = case
    names = variables(template)
    assert len(names) == len(set(names))
    for name in names:
        assert "$" + name in template
    assert missing_values(template, values) == [n for n in names if not values.get(n)]
    assert substitute(template, {}) == template
