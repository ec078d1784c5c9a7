"""SMS length rules: encoding, units, credits and grapheme count (bannertui.domain.sms)."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from bannertui.domain.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    MAX_CREDITS,
    Encoding,
    SmsMeasure,
    is_gsm7,
    measure,
    non_gsm_characters,
)

# --- an independent copy of the Unicode consortium GSM 03.38 mapping (GSM0338.TXT) -----------

_BASIC_NON_ASCII = {
    0x01: 0x00A3, 0x03: 0x00A5, 0x04: 0x00E8, 0x05: 0x00E9, 0x06: 0x00F9, 0x07: 0x00EC,
    0x08: 0x00F2, 0x09: 0x00C7, 0x0B: 0x00D8, 0x0C: 0x00F8, 0x0E: 0x00C5, 0x0F: 0x00E5,
    0x10: 0x0394, 0x12: 0x03A6, 0x13: 0x0393, 0x14: 0x039B, 0x15: 0x03A9, 0x16: 0x03A0,
    0x17: 0x03A8, 0x18: 0x03A3, 0x19: 0x0398, 0x1A: 0x039E, 0x1C: 0x00C6, 0x1D: 0x00E6,
    0x1E: 0x00DF, 0x1F: 0x00C9, 0x24: 0x00A4, 0x40: 0x00A1, 0x5B: 0x00C4, 0x5C: 0x00D6,
    0x5D: 0x00D1, 0x5E: 0x00DC, 0x5F: 0x00A7, 0x60: 0x00BF, 0x7B: 0x00E4, 0x7C: 0x00F6,
    0x7D: 0x00F1, 0x7E: 0x00FC, 0x7F: 0x00E0,
}  # fmt: skip
# Same code as in ASCII: @ $ LF CR _ and 0x20-0x7A except the remapped ones above.
_BASIC_ASCII = {0x00: 0x40, 0x02: 0x24, 0x0A: 0x0A, 0x0D: 0x0D, 0x11: 0x5F} | {
    code: code for code in range(0x20, 0x7B) if code not in _BASIC_NON_ASCII
}
REF_BASIC = frozenset(chr(u) for u in (_BASIC_NON_ASCII | _BASIC_ASCII).values())
REF_EXTENSION = frozenset(
    chr(u) for u in (0x000C, 0x005E, 0x007B, 0x007D, 0x005C, 0x005B, 0x007E, 0x005D, 0x007C, 0x20AC)
)
REF_ALL = REF_BASIC | REF_EXTENSION

GRAPHEME = regex.compile(r"\X")


def reference(text: str) -> tuple[Encoding, int, int]:
    """(encoding, units, credits), slowly and obviously: one step per character."""
    if not text:
        return Encoding.GSM7, 0, 0
    if all(c in REF_ALL for c in text):
        encoding, single, segment = Encoding.GSM7, 160, 153
        sizes = [2 if c in REF_EXTENSION else 1 for c in text]
    else:
        encoding, single, segment = Encoding.UCS2, 70, 67
        sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
    units = sum(sizes)
    if units <= single:
        return encoding, units, 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > segment:
            segments, used = segments + 1, size
        else:
            used += size
    return encoding, units, segments


# --- tables ------------------------------------------------------------------------------------


def test_tables_match_the_unicode_mapping() -> None:
    assert len(REF_BASIC) == 127  # 128 codes minus ESC
    assert GSM7_BASIC == REF_BASIC
    assert GSM7_EXTENSION == REF_EXTENSION
    assert "Ç" in GSM7_BASIC
    assert "\x1b" not in GSM7_BASIC
    assert {"\n", "\r", " "} <= GSM7_BASIC


@pytest.mark.parametrize("char", sorted(REF_ALL))
def test_every_table_character_alone_is_gsm7(char: str) -> None:
    m = measure(char)
    assert m.encoding is Encoding.GSM7
    assert is_gsm7(char)
    assert non_gsm_characters(char) == []
    assert m.units == (2 if char in REF_EXTENSION else 1)
    assert m.characters == 1
    assert m.credits == 1


@pytest.mark.parametrize(
    "char",
    [
        "\x1b",  # ESC: the escape itself is not a character
        "\xa0",  # NBSP: GSM0338.TXT's display fallback for 0x1B, not a character either
        "ç",  # lowercase c cedilla: only the capital is at 0x09
        "`",
        "\t",
        "\x00",
        "ê",
        "ж",
        "😀",
        "\ud800",
    ],
)
def test_characters_outside_the_tables_make_ucs2(char: str) -> None:
    for text in (char, "Hello " + char, "é€" + char):
        m = measure(text)
        assert m.encoding is Encoding.UCS2
        assert m.unicode
        assert not is_gsm7(text)
        assert non_gsm_characters(text) == [char]


def test_non_gsm_characters_are_distinct_in_order_of_first_appearance() -> None:
    assert non_gsm_characters("ça, c'est Жжç\x1bж€ç") == ["ç", "Ж", "ж", "\x1b"]
    assert non_gsm_characters("") == []
    assert non_gsm_characters("Hello {name} €5") == []


# --- boundaries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "credits"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4), (1224, 8), (1225, 9)],
)
@pytest.mark.parametrize("char", ["a", "é"])  # ASCII fast path and the general path
def test_gsm7_boundaries(length: int, credits: int, char: str) -> None:
    m = measure(char * length)
    assert (m.encoding, m.units, m.credits, m.characters) == (
        Encoding.GSM7,
        length,
        credits,
        length,
    )
    assert m.over_limit is (credits > MAX_CREDITS)


@pytest.mark.parametrize(
    ("length", "credits"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4), (536, 8), (537, 9)],
)
@pytest.mark.parametrize("char", ["ç", "ж", "`"])
def test_ucs2_boundaries(length: int, credits: int, char: str) -> None:
    m = measure(char * length)
    assert (m.encoding, m.units, m.credits, m.characters) == (
        Encoding.UCS2,
        length,
        credits,
        length,
    )
    assert m.over_limit is (credits > MAX_CREDITS)


def test_maximum_is_eight_credits() -> None:
    assert MAX_CREDITS == 8
    assert not measure("a" * 1224).over_limit
    assert measure("a" * 1225).over_limit
    assert not measure("ж" * 536).over_limit
    assert measure("ж" * 537).over_limit


def test_empty_text() -> None:
    assert measure("") == SmsMeasure(0, Encoding.GSM7, 0, 0)
    assert not measure("").over_limit
    assert is_gsm7("")


# --- extension characters and surrogate pairs ---------------------------------------------------


@pytest.mark.parametrize("char", ["€", "[", "\x0c"])
def test_extension_characters_cost_two_septets(char: str) -> None:
    m = measure(char * 80)
    assert (m.characters, m.units, m.credits, m.encoding) == (80, 160, 1, Encoding.GSM7)
    m = measure(char * 81)
    assert (m.characters, m.units, m.credits) == (81, 162, 2)
    m = measure(char * 612)  # 1,224 septets, but 76 pairs fill a 153-septet segment
    assert (m.units, m.credits, m.over_limit) == (1224, 9, True)
    m = measure("é" + char * 80)
    assert (m.units, m.credits) == (161, 2)


def test_extension_characters_mixed_with_basic_ones() -> None:
    assert measure("[]{}").units == 8
    assert measure("a\x0cb").units == 4  # form feed is an extension character


def test_escape_pair_is_not_split_across_the_153_boundary() -> None:
    # 152 + 2 = 154 > 153: the € opens segment 2 and one septet of segment 1 is wasted.
    assert measure("a" * 152 + "€" + "a" * 6).credits == 1  # 160 septets: single message
    assert measure("a" * 152 + "€" + "a" * 7).credits == 2  # 161 septets: 152 | 2 + 7
    assert measure("a" * 152 + "€" + "a" * 151).credits == 2  # 305: 152 | 153
    m = measure("a" * 152 + "€" + "a" * 152)  # 306 septets would fit in 2 x 153 ...
    assert (m.units, m.credits) == (306, 3)  # ... but the pair cannot straddle: 152 | 153 | 1
    # With 151 before it, the pair ends exactly on the boundary.
    assert measure("a" * 151 + "€" + "a" * 153).credits == 2  # 153 | 153
    assert measure("a" * 151 + "€" + "a" * 154).credits == 3


def test_surrogate_pair_is_not_split_across_the_67_boundary() -> None:
    m = measure("ж" * 66 + "😀" + "ж" * 4)
    assert (m.units, m.credits) == (72, 2)  # 66 | 2 + 4
    assert measure("ж" * 66 + "😀" + "ж" * 2).credits == 1  # 70 units: single message
    m = measure("ж" * 66 + "😀" + "ж" * 66)  # 134 units would fit in 2 x 67 ...
    assert (m.units, m.credits) == (134, 3)  # ... but the pair cannot straddle
    assert measure("ж" * 65 + "😀" + "ж" * 67).credits == 2  # 67 | 67
    m = measure("😀" * 36)
    assert (m.characters, m.units, m.credits) == (36, 72, 2)  # 33 pairs (66) | 3 pairs


# --- characters: grapheme clusters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "characters"),
    [
        ("e\u0301", 1),  # combining acute
        ("a\u0308\u0323", 1),  # two combining marks
        ("👩\u200d👩\u200d👧\u200d👦", 1),  # ZWJ family
        ("👍🏽", 1),  # skin-tone modifier
        ("🇫🇷🇧🇪", 2),  # two flags
        ("\u1100\u1161\u11a8", 1),  # Hangul jamo L V T
        ("क्षि", 1),  # Devanagari conjunct (UAX #29 GB9c)
        ("\r\n", 1),
        ("a\r\nb", 3),
        ("\n\r", 2),
        ("é\r\nж", 3),
        ("😀", 1),
    ],
)
def test_characters_are_grapheme_clusters(text: str, characters: int) -> None:
    assert measure(text).characters == characters


def test_crlf_is_one_character_but_two_septets() -> None:
    m = measure("Hi\r\nBye")
    assert (m.characters, m.units, m.encoding) == (6, 7, Encoding.GSM7)


def test_zwj_emoji_units_and_credits() -> None:
    family = "👩\u200d👩\u200d👧"
    m = measure(family)
    assert (m.characters, m.units, m.credits, m.encoding) == (1, 8, 1, Encoding.UCS2)


# --- robustness ---------------------------------------------------------------------------------


def test_lone_surrogates_and_nul_do_not_raise() -> None:
    assert measure("\ud800") == SmsMeasure(1, Encoding.UCS2, 1, 1)
    assert measure("\udfff" * 71).credits == 2
    assert measure("a\ud83d\ude00b").units == 4  # two lone halves: 1 unit each
    assert measure("\x00").encoding is Encoding.UCS2
    assert measure("\x00" * 200).credits == 3
    assert measure("\ud800" + "😀" * 40 + "\x00").units == 82


def test_as_dict() -> None:
    m = measure("ça" * 40)
    assert m.as_dict() == {
        "characters": 80,
        "encoding": "UCS-2",
        "units": 80,
        "credits": 2,
        "unicode": True,
        "over_limit": False,
    }
    assert list(m.as_dict()) == [
        "characters",
        "encoding",
        "units",
        "credits",
        "unicode",
        "over_limit",
    ]
    assert measure("Hi €").as_dict() == {
        "characters": 4,
        "encoding": "GSM-7",
        "units": 5,
        "credits": 1,
        "unicode": False,
        "over_limit": False,
    }
    assert measure("a" * 1225).as_dict()["over_limit"] is True


def test_measure_is_frozen() -> None:
    m = measure("x")
    with pytest.raises(AttributeError):
        m.credits = 3  # type: ignore[misc]


# --- properties ---------------------------------------------------------------------------------

ANY_CHAR = st.characters(exclude_categories=())  # every code point, surrogates included
PLAIN = "aZ0 .é\nΔ@"
EXTENSION = "€[^\x0c|"
BMP_NON_GSM = "çжê\x1b`"
ASTRAL = "😀𝄞"
JOINERS = "\u0301\u200d\U0001f3fd\U0001f1eb\U0001f1f7\u1100\u1161\u11a8\u094d\u0915\r\n"


def runs(alphabet: str, max_len: int = 1300) -> st.SearchStrategy[str]:
    """Long texts made of runs of one character, so segment boundaries get exercised."""
    run = st.tuples(st.sampled_from(alphabet), st.integers(1, 170))
    return st.lists(run, max_size=16).map(lambda rs: "".join(c * n for c, n in rs)[:max_len])


def texts(alphabet: str) -> st.SearchStrategy[str]:
    return st.one_of(st.text(st.sampled_from(alphabet), max_size=1300), runs(alphabet))


@settings(max_examples=300)
@given(st.text(ANY_CHAR))
def test_measure_never_raises(text: str) -> None:
    m = measure(text)
    assert m.credits >= (1 if text else 0)
    assert m.characters <= len(text)
    assert m.as_dict()["units"] == m.units


@given(st.one_of(st.text(ANY_CHAR), texts(PLAIN + EXTENSION + ASTRAL + JOINERS)))
def test_characters_are_extended_grapheme_clusters(text: str) -> None:
    assert measure(text).characters == len(GRAPHEME.findall(text))


@given(
    st.one_of(texts(PLAIN + EXTENSION), texts(PLAIN + EXTENSION + BMP_NON_GSM + ASTRAL)),
    st.one_of(ANY_CHAR, st.sampled_from(PLAIN + EXTENSION + BMP_NON_GSM + ASTRAL)),
)
def test_appending_a_character_never_lowers_credits(text: str, char: str) -> None:
    assert measure(text + char).credits >= measure(text).credits


@given(st.one_of(st.text(ANY_CHAR), texts(PLAIN + EXTENSION + BMP_NON_GSM)))
def test_gsm7_exactly_when_every_character_is_in_the_tables(text: str) -> None:
    in_tables = all(c in REF_ALL for c in text)
    assert is_gsm7(text) is in_tables
    assert (measure(text).encoding is Encoding.GSM7) is in_tables
    assert non_gsm_characters(text) == list(dict.fromkeys(c for c in text if c not in REF_ALL))


@given(texts(PLAIN + EXTENSION))
def test_gsm7_units_are_septets(text: str) -> None:
    m = measure(text)
    assert m.encoding is Encoding.GSM7
    assert m.units == sum(2 if c in REF_EXTENSION else 1 for c in text)


@settings(max_examples=300)
@given(
    st.one_of(
        texts(PLAIN + EXTENSION),
        texts(PLAIN + BMP_NON_GSM + ASTRAL),
        texts(PLAIN + EXTENSION + BMP_NON_GSM + ASTRAL),
    )
)
def test_encoding_units_and_credits_match_a_naive_reference(text: str) -> None:
    m = measure(text)
    assert (m.encoding, m.units, m.credits) == reference(text)
    assert m.over_limit is (m.credits > MAX_CREDITS)
