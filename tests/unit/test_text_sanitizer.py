"""Untrusted text made safe to show (bannertui.domain.text): no control, format, line or
paragraph separator or bidirectional control character survives ``safe_text`` or
``one_line``, whatever the Unicode version adds to those sets."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
import regex

from bannertui.domain.text import one_line, safe_text, shows_replaced

# The sets by their Unicode properties, not by a hand list: Cc (C0, DEL, C1), Cf (format:
# bidi marks, zero-width characters, tags...), Zl and Zp (U+2028, U+2029), Bidi_Control.
UNSAFE = regex.compile(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Bidi_Control}]")
ALL_UNSAFE = tuple(
    chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and UNSAFE.match(chr(cp))
)
BIDI_CONTROLS = tuple(c for c in ALL_UNSAFE if regex.match(r"\p{Bidi_Control}", c))
#: Format characters that ordinary text needs: dropped without a trace, never shown.
JOINERS = ("\u200d", "\u200c", "\u00ad", *(chr(cp) for cp in range(0xE0020, 0xE0080)))

ORDINARY = (
    "Ça va ? Déjà l'été, à bientôt — « œuvre » ÀÉÎÕÜ ÿ",
    "مرحبا بك في خدمة العملاء، رقم ٤٢",
    "שלום עולם",
    "नमस्ते दुनिया",
    "👍🏽 🎉 ❤️ 🇫🇷 1️⃣",
    "你好，世界。こんにちは、カタカナ。한국어 텍스트",
    "Tab\tand spaces  kept",
)


def leftovers(shown: str, *, allowed: str = "") -> list[str]:
    return [f"U+{ord(c):04X}" for c in shown if UNSAFE.match(c) and c not in allowed]


def test_the_sets_are_read_from_unicode() -> None:
    for expected in ("\x00", "\x1b", "\x7f", "\x9b", "\u061c", "\u200b", "\u2028", "\u2029"):
        assert expected in ALL_UNSAFE, f"U+{ord(expected):04X}"
    assert {"\u061c", "\u200e", "\u202e", "\u2066", "\u2069"} <= set(BIDI_CONTROLS)
    assert len(ALL_UNSAFE) > 200


SHOWN_BY: dict[str, tuple[Callable[[str], str], str]] = {
    "safe_text": (safe_text, ""),
    "safe_text multiline": (partial(safe_text, multiline=True), "\n"),
    "one_line": (one_line, ""),
    "one_line width": (partial(one_line, width=10), ""),
}


@pytest.mark.parametrize("name", SHOWN_BY)
def test_no_unsafe_code_point_gets_through(name: str) -> None:
    show, allowed = SHOWN_BY[name]
    bad = {f"U+{ord(c):04X}": leftovers(show(f"a{c}b"), allowed=allowed) for c in ALL_UNSAFE}
    assert not {cp: left for cp, left in bad.items() if left}
    everything = "x".join(ALL_UNSAFE)
    assert not leftovers(show(everything), allowed=allowed)


@pytest.mark.parametrize("control", BIDI_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_controls_show_as_the_replacement_character(control: str) -> None:
    assert safe_text(f"a{control}evil") == "a\ufffdevil"
    assert safe_text(f"a{control}evil", multiline=True) == "a\ufffdevil"
    assert one_line(f"a{control}evil") == "a\ufffdevil"


def test_the_arabic_letter_mark_is_shown() -> None:
    # U+061C reorders the text around it like RLM; the hand list of before missed it.
    assert safe_text("\u061cevil") == "\ufffdevil"
    assert one_line("note \u061c1234") == "note \ufffd1234"


@pytest.mark.parametrize(
    "hidden", ["\u200b", "\u2060", "\ufeff", "\u180e", "\u206a", "\U000e0001", "\U0001bca0"]
)
def test_other_invisible_format_characters_are_shown(hidden: str) -> None:
    assert safe_text(f"ST{hidden}OP") == "ST\ufffdOP"
    assert one_line(f"ST{hidden}OP") == "ST\ufffdOP"


@pytest.mark.parametrize("joiner", JOINERS, ids=lambda c: f"U+{ord(c):04X}")
def test_joiners_are_dropped_silently(joiner: str) -> None:
    assert safe_text(f"a{joiner}b") == "ab"
    assert safe_text(f"a{joiner}b", multiline=True) == "ab"
    assert one_line(f"a{joiner}b") == "ab"


def test_emoji_sequences_and_persian_lose_their_joiners_only() -> None:
    assert safe_text("👩\u200d👩\u200d👧") == "👩👩👧"
    scotland = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert safe_text(scotland) == "🏴"
    assert one_line("می\u200cخواهم") == "میخواهم"
    assert safe_text("co\u00adop\u00adera\u00adtion") == "cooperation"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert safe_text(text) == text.replace("\t", "␉")
    assert safe_text(text, multiline=True) == text.replace("\t", "␉")
    assert safe_text(f"{text}\n{text}", multiline=True) == f"{text}\n{text}".replace("\t", "␉")
    assert one_line(text) == " ".join(text.split())


def test_c0_and_del_keep_their_control_pictures() -> None:
    assert safe_text("\x1b[31mred\x07") == "␛[31mred␇"
    assert safe_text("\x00\x7f") == "␀␡"
    assert safe_text("a\x9bb") == "a\ufffdb"
    assert one_line("\x1b]0;title\x07") == "␛]0;title␇"


def test_newlines() -> None:
    assert safe_text("a\r\nb") == "a␍␊b"
    assert safe_text("a\r\nb", multiline=True) == "a\nb"
    assert one_line("a\r\n  b\n") == "a b"


def test_line_and_paragraph_separators_are_line_breaks() -> None:
    # Newlines where newlines are kept; a visible "newline" symbol on one line.
    for separator in ("\u2028", "\u2029"):
        assert safe_text(f"a{separator}b", multiline=True) == "a\nb"
        assert safe_text(f"a{separator}b") == "a\u2424b"
        assert one_line(f"a{separator}b") == "a b"  # whitespace, collapsed like \n


def test_lone_surrogates_are_replaced() -> None:
    for show in (safe_text(f"a{chr(0xD800)}b"), one_line(f"a{chr(0xDFFF)}b")):
        show.encode("utf-8")  # no UnicodeEncodeError
        assert show[0] == "a"
        assert show[-1] == "b"


def test_one_line_cuts_to_width() -> None:
    assert one_line("abcdef", 4) == "abc…"
    assert one_line("a\u200db\u200dc", 3) == "abc"  # the width counts what is shown


@pytest.mark.parametrize(
    ("text", "replaced"),
    [
        ("Mohammad\u200cReza", False),  # ZWNJ: a Persian name keeps it
        ("👩\u200d👩\u200d👧", False),
        ("Léa Moreau", False),
        ("Léa\u061cMoreau", True),  # ARABIC LETTER MARK
        ("Léa\u202eMoreau", True),
        ("Léa\x1b[31m", True),
        ("Léa\nMoreau", True),
        ("L\udcffa", True),
    ],
)
def test_shows_replaced_counts_only_what_is_shown_as_a_placeholder(
    text: str, replaced: bool
) -> None:
    assert shows_replaced(text) is replaced
