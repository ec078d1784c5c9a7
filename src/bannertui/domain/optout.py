"""Opt-out and opt-in keywords of inbound SMS (SPEC X1).

An inbound message is a keyword when the whole message, once trimmed, is the keyword:
case and accents do not matter (``arrêt`` is ``ARRET``), nor do punctuation and white
space around it (``"Stop!"``, ``«STOP»``).  ``STOP`` itself may be followed by one more
word (``STOP SMS``, ``STOP ALL``, the usual French ``STOP PUB``); other keywords must
stand alone, so that "cancel appointment" or "end call" opt nobody out.  A sentence
that merely contains a keyword ("please don't stop sending") is not one.  A word that
is both a STOP and a START keyword counts as STOP.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import lru_cache

from bannertui.domain.errors import BannerError

__all__ = [
    "DEFAULT_START",
    "DEFAULT_STOP",
    "KEYWORD_MAX",
    "KEYWORD_MIN",
    "InvalidKeyword",
    "Keyword",
    "classify",
    "fold",
    "parse_keywords",
]

DEFAULT_STOP: tuple[str, ...] = (
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
DEFAULT_START: tuple[str, ...] = ("START", "UNSTOP", "SUBSCRIBE", "YES")

KEYWORD_MIN = 2
KEYWORD_MAX = 20
_LIST_SEPARATORS = re.compile(r"[,\s]+")
_STOP_WITH_WORD = "stop"  # the one keyword that may take a second word: STOP SMS, STOP ALL


class InvalidKeyword(BannerError):
    """A configured keyword that is not 2 to 20 letters."""

    name = "Invalid keyword"


class Keyword(StrEnum):
    STOP = "STOP"
    START = "START"


def fold(text: str) -> str:
    """``text`` without accents, format characters (zero-width, bidi marks) or case."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        char
        for char in decomposed
        if not unicodedata.combining(char) and unicodedata.category(char) != "Cf"
    )
    return kept.casefold()


def _is_separator(char: str) -> bool:
    """Punctuation or white space (including control characters such as new lines)."""
    category = unicodedata.category(char)
    return char.isspace() or category[0] in "PZ" or category == "Cc"


def _words(text: str) -> list[str]:
    """The words of ``text`` split at punctuation and white space."""
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if _is_separator(char):
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


@lru_cache(maxsize=32)
def _folded(keywords: tuple[str, ...]) -> frozenset[str]:
    # Folded the way a message is: a letter may fold to a letter and a punctuation mark
    # (Ŀ -> L·), and the message's word then has no mark.
    return frozenset("".join(_words(fold(keyword))) for keyword in keywords)


def classify(
    text: str,
    stop: tuple[str, ...] = DEFAULT_STOP,
    start: tuple[str, ...] = DEFAULT_START,
) -> Keyword | None:
    """``Keyword.STOP`` or ``Keyword.START`` when ``text`` is such a keyword, else ``None``."""
    words = _words(fold(text))
    if not words or len(words) > 2:
        return None
    first = words[0]
    if first in _folded(tuple(stop)) and (len(words) == 1 or first == _STOP_WITH_WORD):
        return Keyword.STOP
    if len(words) == 1 and first in _folded(tuple(start)):
        return Keyword.START
    return None


def parse_keywords(text: str) -> tuple[str, ...]:
    """The keywords of a comma or space separated list, upper-cased, first spelling kept.

    Each is letters only (accents allowed), 2 to 20 of them; otherwise
    :class:`InvalidKeyword` names it.  An empty list gives ``()``.
    """
    keywords: list[str] = []
    for raw in _LIST_SEPARATORS.split(unicodedata.normalize("NFC", text)):
        if not raw:
            continue
        if not raw.isalpha() or len(_words(fold(raw))) != 1:
            # The second test refuses the rare letters that fold to several words.
            raise InvalidKeyword(f"{raw!r}: letters only")
        if not KEYWORD_MIN <= len(raw) <= KEYWORD_MAX:
            raise InvalidKeyword(f"{raw!r}: {KEYWORD_MIN} to {KEYWORD_MAX} letters")
        keyword = raw.upper()
        if keyword not in keywords:
            keywords.append(keyword)
    return tuple(keywords)
