"""SPEC X1: opt-out (STOP) and opt-in (START) keywords of inbound SMS."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bannertui.domain.errors import BannerError
from bannertui.domain.optout import (
    DEFAULT_START,
    DEFAULT_STOP,
    InvalidKeyword,
    Keyword,
    classify,
    fold,
    parse_keywords,
)

# --- the defaults ----------------------------------------------------------------------------


def test_default_keywords() -> None:
    assert DEFAULT_STOP == (
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "ARRET",
        "ARRÊT",
        "DESABONNER",
        "DÉSABONNER",
    )
    assert DEFAULT_START == ("START", "UNSTOP", "SUBSCRIBE", "YES")


def test_keyword_is_a_str_enum() -> None:
    assert Keyword.STOP == "STOP"
    assert Keyword.START == "START"
    assert str(Keyword.STOP) == "STOP"
    assert [member.value for member in Keyword] == ["STOP", "START"]


@pytest.mark.parametrize("word", DEFAULT_STOP)
def test_every_default_stop_word_is_stop(word: str) -> None:
    assert classify(word) is Keyword.STOP
    assert classify(word.lower()) is Keyword.STOP
    assert classify(word.title()) is Keyword.STOP


@pytest.mark.parametrize("word", DEFAULT_START)
def test_every_default_start_word_is_start(word: str) -> None:
    assert classify(word) is Keyword.START
    assert classify(word.lower()) is Keyword.START


# --- classify: what counts -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop",
        "sToP",
        "  STOP  ",
        "\tSTOP\n",
        "STOP.",
        "Stop!",
        "STOP!!!",
        "...stop...",
        "«STOP»",
        '"STOP"',
        "(stop)",
        "¡STOP!",
        "STOP\u00a0",  # no-break space
        "\u200bSTOP\u200b",  # zero-width spaces
        "ST\u200bOP",
        "ＳＴＯＰ",  # full-width letters
        "arret",
        "Arrêt",
        "ARRÊT",
        "arrêt.",
        "Arre\u0302t",  # decomposed accent
        "désabonner",
        "DESABONNER",
        "Désabonner !",
        "Unsubscribe",
        "STOPALL",
        "stopall",
        "cancel",
        "END",
        "quit",
        # STOP followed by one word
        "STOP SMS",
        "STOP ALL",
        "stop all",
        "Stop pub",
        "STOP   SMS",
        "STOP, merci",
        "STOP-SMS",
        "stop please",
        "STOP 36180",
        "STOP!! SMS!!",
    ],
)
def test_stop(text: str) -> None:
    assert classify(text) is Keyword.STOP


@pytest.mark.parametrize(
    "text",
    [
        "START",
        "start",
        "Start.",
        " yes ",
        "YES!",
        "Yes",
        "unstop",
        "Subscribe",
        "«START»",
    ],
)
def test_start(text: str) -> None:
    assert classify(text) is Keyword.START


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "!!!",
        "please don't stop sending",
        "don't stop",
        "Please stop sending me these messages",
        "STOP SMS NOW",
        "stop sending me ads",
        "I want to stop",
        "STOPPED",
        "stops",
        "STOP2",
        "S.T.O.P",
        "S T O P",
        "unstoppable",
        "Cancel my appointment",
        "cancel appointment",  # only STOP itself takes a second word
        "end call",
        "quit smoking",
        "Arrêt maladie",
        "yes please",  # START keywords must stand alone
        "Yes, I will come tomorrow",
        "START SMS",
        "start again",
        "Hello",
        "Bonjour, je voudrais un rendez-vous",
        "🛑 STOP",
        "STOP" * 100,
        "x" * 10_000,
    ],
)
def test_not_a_keyword(text: str) -> None:
    assert classify(text) is None


def test_a_long_message_of_one_keyword_is_still_the_keyword() -> None:
    assert classify("STOP" + " " * 5000) is Keyword.STOP
    assert classify("!" * 1000 + "stop" + "." * 1000) is Keyword.STOP


# --- classify: configured lists --------------------------------------------------------------


def test_custom_lists() -> None:
    stop = ("HALT", "FIN")
    start = ("GO",)
    assert classify("halt", stop, start) is Keyword.STOP
    assert classify("Fin.", stop, start) is Keyword.STOP
    assert classify("go", stop, start) is Keyword.START
    assert classify("STOP", stop, start) is None
    assert classify("START", stop, start) is None
    assert classify("HALT SMS", stop, start) is None  # only STOP takes a second word


def test_stop_with_a_word_needs_stop_in_the_list() -> None:
    assert classify("STOP SMS", ("STOP",), ()) is Keyword.STOP
    assert classify("STOP SMS", ("ARRET",), ()) is None
    assert classify("STOP", ("ARRET",), ()) is None


def test_keywords_are_compared_without_case_or_accents() -> None:
    assert classify("arret", ("ARRÊT",), ()) is Keyword.STOP
    assert classify("ARRÊT", ("arret",), ()) is Keyword.STOP
    assert classify("STRASSE", ("straße",), ()) is Keyword.STOP


def test_a_letter_that_folds_to_a_letter_and_a_mark() -> None:
    assert fold("AĿ") == "al·"
    assert parse_keywords("aŀ") == ("AĿ",)
    assert classify("aĿ", ("AĿ",), ()) is Keyword.STOP


def test_a_word_in_both_lists_is_stop() -> None:
    assert classify("yes", ("YES",), ("YES",)) is Keyword.STOP


def test_empty_lists_match_nothing() -> None:
    assert classify("STOP", (), ()) is None
    assert classify("START", (), ()) is None


def test_lists_may_be_any_sequence_of_str() -> None:
    assert classify("halt", ["HALT"], ["GO"]) is Keyword.STOP  # type: ignore[arg-type]


# --- fold ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ARRÊT", "arret"),
        ("Désabonner", "desabonner"),
        ("ＳＴＯＰ", "stop"),
        ("St\u200bop", "stop"),
        ("\u202eSTOP", "stop"),  # bidi override
        ("Straße", "strasse"),
        ("ǅ", "dz"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


# --- parse_keywords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", ("STOP",)),
        ("stop, arret", ("STOP", "ARRET")),
        ("stop arret  fin", ("STOP", "ARRET", "FIN")),
        ("stop,arret,,fin,", ("STOP", "ARRET", "FIN")),
        (" STOP ,\n ARRÊT\t", ("STOP", "ARRÊT")),
        ("arre\u0302t", ("ARRÊT",)),  # decomposed accent: composed first
        ("stop, STOP, Stop", ("STOP",)),
        ("ARRET, ARRÊT", ("ARRET", "ARRÊT")),
        ("ok", ("OK",)),
        ("a" * 20, ("A" * 20,)),
        ("", ()),
        (" , ,", ()),
        ("стоп", ("СТОП",)),
        (", ".join(DEFAULT_STOP), DEFAULT_STOP),
        (" ".join(DEFAULT_START), DEFAULT_START),
    ],
)
def test_parse_keywords(text: str, expected: tuple[str, ...]) -> None:
    assert parse_keywords(text) == expected


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("STOP, X", "'X'"),
        ("a", "'a'"),
        ("STOP, " + "A" * 21, "'" + "A" * 21 + "'"),
        ("STOP2", "'STOP2'"),
        ("STOP-ALL", "'STOP-ALL'"),
        ("STOP;ARRET", "'STOP;ARRET'"),
        ("stop_all", "'stop_all'"),
        ("S.T.O.P", "'S.T.O.P'"),
        ("STOP!", "'STOP!'"),
        ("🛑", "'🛑'"),
        ("\ufdfa", "'\ufdfa'"),  # one letter that folds to four words
    ],
)
def test_invalid_keywords_are_named(text: str, bad: str) -> None:
    with pytest.raises(InvalidKeyword) as caught:
        parse_keywords(text)
    error = caught.value
    assert isinstance(error, BannerError)
    assert error.name == "Invalid keyword"
    assert error.detail is not None
    assert error.detail.startswith(bad)


def test_invalid_keyword_details_say_why() -> None:
    with pytest.raises(InvalidKeyword, match="letters only"):
        parse_keywords("STOP2")
    with pytest.raises(InvalidKeyword, match="2 to 20 letters"):
        parse_keywords("X")
    with pytest.raises(InvalidKeyword, match="2 to 20 letters"):
        parse_keywords("X" * 21)


# --- properties ------------------------------------------------------------------------------

WORDS = st.sampled_from(DEFAULT_STOP + DEFAULT_START)
PUNCTUATION = st.text(alphabet=" \t\n.,;:!?'\"«»()-…¡¿", max_size=5)


@given(text=st.text(max_size=300))
def test_classify_never_raises(text: str) -> None:
    assert classify(text) in (None, Keyword.STOP, Keyword.START)


@given(word=WORDS, before=PUNCTUATION, after=PUNCTUATION, upper=st.booleans())
def test_surrounding_punctuation_and_case_do_not_matter(
    word: str, before: str, after: str, upper: bool
) -> None:
    text = before + (word.upper() if upper else word.lower()) + after
    expected = Keyword.STOP if word in DEFAULT_STOP else Keyword.START
    assert classify(text) is expected


@given(word=WORDS, form=st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
def test_unicode_forms_do_not_matter(word: str, form: str) -> None:
    expected = Keyword.STOP if word in DEFAULT_STOP else Keyword.START
    assert classify(unicodedata.normalize(form, word)) is expected  # type: ignore[arg-type]


@given(words=st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=3, max_size=8))
def test_three_words_or_more_are_never_a_keyword(words: list[str]) -> None:
    assert classify(" ".join(words)) is None


@given(
    words=st.lists(
        st.text(alphabet=st.characters(categories=["L"]), min_size=2, max_size=20),
        min_size=1,
        max_size=6,
    ),
    separator=st.sampled_from([",", " ", ", ", "\n", " , "]),
)
def test_parsed_keywords_are_classified(words: list[str], separator: str) -> None:
    try:
        keywords = parse_keywords(separator.join(words))
    except InvalidKeyword:
        return  # e.g. a letter that upper-cases or composes to more letters
    for keyword in keywords:
        assert classify(keyword, stop=keywords, start=()) is Keyword.STOP
        assert classify(keyword.lower(), stop=(), start=keywords) is Keyword.START
