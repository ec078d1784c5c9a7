"""SPEC §7: message templates and their $variables."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bannertui.domain.errors import InvalidTemplate, MissingTemplateVariables
from bannertui.domain.templates import (
    missing_values,
    render,
    require_filled,
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
    assert render("Bonjour $prénom, $x|y", {"prénom": "Ana"}) == "Bonjour Ana, y"


@pytest.mark.parametrize(
    ("template", "values", "detail"),
    [
        # issue #16: the demo's "Appointment reminder" with no values, then only firstname
        (
            "Hello $firstname, this is a reminder of your appointment on $date at $time.",
            {},
            "$firstname, $date, $time",
        ),
        (
            "Hello $firstname, this is a reminder of your appointment on $date at $time.",
            {"firstname": "Léa"},
            "$date, $time",
        ),
        ("Bonjour $prénom, $unknown", {"prénom": "Ana"}, "$unknown"),
        ("Hello $name!", {"name": ""}, "$name"),  # an empty value is an empty gap
        ("$a|x and $a", {}, "$a"),  # one occurrence with no fallback is enough
        ('$a|"" then', {}, "$a"),  # an empty fallback fills nothing
        ("$b $a $b", {"x": "1"}, "$b, $a"),  # in order of first appearance, once each
    ],
)
def test_render_refuses_unfilled_variables(
    template: str, values: dict[str, str], detail: str
) -> None:
    with pytest.raises(MissingTemplateVariables) as info:
        render(template, values)
    assert info.value.name == "Template variables missing"
    assert info.value.detail == detail
    assert str(info.value) == f"Template variables missing: {detail}"
    # an "Invalid template" for this send: callers refusing those refuse this too
    assert isinstance(info.value, InvalidTemplate)


def test_require_filled_adds_a_hint_after_the_names() -> None:
    with pytest.raises(MissingTemplateVariables) as info:
        require_filled("Hi $firstname", {}, hint="give it a fallback")
    assert str(info.value) == "Template variables missing: $firstname (give it a fallback)"
    assert require_filled("Hi $firstname|there", {}) == "Hi $firstname|there"


def test_render_fills_everything_or_nothing_is_left() -> None:
    template = "Hello $firstname, this is a reminder of your appointment on $date at $time."
    values = {"firstname": "Léa", "date": "12/11", "time": "10:30", "unused": "x"}
    assert render(template, values) == (
        "Hello Léa, this is a reminder of your appointment on 12/11 at 10:30."
    )
    # a value is never expanded again, even when it reads like a variable
    assert render("$a $b", {"a": "$b", "b": "B"}) == "$b B"
    # "$5" and "$" are no variables: nothing is missing
    assert render("costs $5 or $", {}) == "costs $5 or $"


# --- missing_values --------------------------------------------------------------


def test_missing_values() -> None:
    template = "$b $a $c $b $d"
    assert missing_values(template, {"a": "1", "b": "", "d": "4"}) == ["b", "c"]
    assert missing_values(template, {"a": "1", "b": "2", "c": "3", "d": "4"}) == []
    assert missing_values("no variables", {}) == []
    assert missing_values("$prénom", {}) == ["prénom"]


def test_missing_values_with_fallbacks() -> None:
    template = 'Hello $firstname|there, on $date|soon at $time|"a time to agree"'
    assert missing_values(template, {}) == []
    assert missing_values(template, {"firstname": ""}) == []
    # an occurrence without a fallback still needs a value
    assert missing_values("$a|x $a", {}) == ["a"]
    assert missing_values("$a|x $a", {"a": "1"}) == []
    # "|" with no text after it is no fallback
    assert missing_values("$a| then", {}) == ["a"]
    assert missing_values("$a|", {}) == ["a"]
    assert missing_values('$a|""', {}) == ["a"]


# --- fallbacks (SPEC §7) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        # the value when there is one, the fallback when it is missing or empty
        ("Hello $firstname|there today", {"firstname": "Léa"}, "Hello Léa today"),
        ("Hello $firstname|there today", {}, "Hello there today"),
        ("Hello $firstname|there today", {"firstname": ""}, "Hello there today"),
        # punctuation is part of an unquoted fallback, so it goes with it; quotes keep it
        ("Hello $firstname|there!", {}, "Hello there!"),
        ("Hello $firstname|there!", {"firstname": "Léa"}, "Hello Léa"),
        ('Hello $firstname|"there"!', {"firstname": "Léa"}, "Hello Léa!"),
        # the text runs to the next whitespace or "$"
        ("Hi $firstname|there, bye", {}, "Hi there, bye"),
        ("on $date|soon\tor\nlater", {}, "on soon\tor\nlater"),
        ("$a|x$b", {"b": "B"}, "xB"),
        ("$a|x$b|y", {}, "xy"),
        ("$a|x|y z", {}, "x|y z"),
        ("$a|€5 off", {}, "€5 off"),
        # quotes: two words, or any text up to the closing quote; the quotes go
        ('Hello $firstname|"dear customer", bye', {}, "Hello dear customer, bye"),
        ('Hello $firstname|"dear customer", bye', {"firstname": "Léa"}, "Hello Léa, bye"),
        ('$a|"x y"z', {}, "x yz"),
        ('$a|"$b is not a variable"', {"b": "B"}, "$b is not a variable"),
        ('$a|"" then', {"a": "A"}, "A then"),
        ('$a|"" then', {}, " then"),
        # no closing quote: the unquoted rule, to the next whitespace
        ('$a|"x y', {}, '"x y'),
        # "|" with nothing after it: no fallback, the "|" is text
        ("$a| b", {"a": "A"}, "A| b"),
        ("$a| b", {}, "$a| b"),
        ("$a|", {"a": "A"}, "A|"),
        # a fallback is never expanded, a value is never expanded
        ("$a|$b", {"b": "B"}, "$a|B"),
        ("$a|x", {"a": "$b|y", "b": "B"}, "$b|y"),
        # the variable's name is still greedy
        ("$name_x|y $name|z", {"name": "N"}, "y N"),
        ("$$name|x", {}, "$x"),
    ],
)
def test_fallbacks(template: str, values: dict[str, str], expected: str) -> None:
    assert substitute(template, values) == expected


def test_variables_with_fallbacks() -> None:
    assert variables('Hi $firstname|there, $date|"some day" at $time') == [
        "firstname",
        "date",
        "time",
    ]
    # a quoted fallback is text: what looks like a variable in it is none
    assert variables('$a|"for $b"') == ["a"]
    assert variables("$a|x$b") == ["a", "b"]


def test_substitute_without_fallback_keeps_its_rules() -> None:
    # an unknown $word with no fallback stays as it is; an empty value empties it
    assert substitute("Hello $name, $unknown", {"name": ""}) == "Hello , $unknown"


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
    missing = missing_values(template, values)
    assert missing == [n for n in names if n in missing]  # a sub-list, in order
    assert all(not values.get(n) for n in missing)  # a name with a value is never missing
    if "|" not in template:  # no fallbacks: missing means no value
        assert missing == [n for n in names if not values.get(n)]
        assert substitute(template, {}) == template


@given(case=_template_and_values())
def test_render_refuses_exactly_when_something_is_missing(
    case: tuple[str, dict[str, str]],
) -> None:
    template, values = case
    if not template.strip():
        return
    missing = missing_values(template, values)
    if missing:
        with pytest.raises(MissingTemplateVariables) as info:
            render(template, values)
        assert info.value.detail == ", ".join("$" + n for n in missing)
    else:
        assert render(template, values) == substitute(template, values)
    # values for every variable fill everything
    full = {n: "v" for n in variables(template)}
    assert missing_values(template, full) == []


_fallback_text = st.text(
    alphabet=st.characters(blacklist_characters='"$', blacklist_categories=("Cs",)), min_size=1
)


@given(
    name=_names,
    value=st.one_of(st.none(), st.just(""), st.text().filter(lambda t: "$" not in t)),
    fallback=_fallback_text,
    before=st.text().filter(lambda t: not t.endswith("$")),
    after=st.text().filter(lambda t: "$" not in t),
)
def test_a_quoted_fallback_fills_a_missing_or_empty_value(
    name: str, value: str | None, fallback: str, before: str, after: str
) -> None:
    # "after" has no "$": nothing after the placeholder is a variable
    template = f'{before.replace("$", "")}${name}|"{fallback}"{after}'
    values = {} if value is None else {name: value}
    expected = value if value else fallback
    assert substitute(template, values) == before.replace("$", "") + expected + after
    assert name not in missing_values(template, values)


@given(name=_names, fallback=st.text(min_size=1).filter(lambda t: not re.search(r"[\s$]", t)))
def test_an_unquoted_fallback_runs_to_whitespace_or_dollar(name: str, fallback: str) -> None:
    if fallback.startswith('"'):
        return  # a quoted fallback (tested above)
    assert substitute(f"${name}|{fallback} rest", {}) == f"{fallback} rest"
    assert substitute(f"${name}|{fallback}$", {}) == f"{fallback}$"
    assert substitute(f"${name}|{fallback}", {name: "V"}) == "V"
