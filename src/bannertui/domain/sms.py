"""How long an SMS is, in characters, encoding units and credits (pure, no I/O).

Rules:

* **Encoding.** A text is GSM-7 when every character is in the GSM 03.38 default
  alphabet or its extension table (Unicode consortium mapping, so 0x09 is ``Ç``);
  otherwise it is UCS-2 ("Unicode"). The basic table's ESC (0x1B) is not a character a
  user can type: a literal ``"\\x1b"`` makes the text UCS-2. Extension characters
  (``^ { } \\ [ ] ~ | €`` and form feed) cost 2 septets (ESC + code).
* **GSM-7 credits.** Up to 160 septets is 1 credit. Longer texts are split in segments
  of 153 septets; an escape pair is never split between two segments: when it does not
  fit in what is left of a segment it starts the next one and the slot is wasted.
* **UCS-2 credits.** Up to 70 UTF-16 code units is 1 credit. Longer texts are split in
  segments of 67 units; a surrogate pair (a character above U+FFFF) is never split,
  by the same greedy rule. A lone surrogate counts as 1 unit.
* **Maximum.** :data:`MAX_CREDITS` (8) credits: at most 1,224 GSM-7 septets or 536
  UCS-2 units (fewer when slots are wasted at segment ends). More is over the limit.
* The empty text is 0 characters, 0 units, 0 credits, GSM-7.

``characters`` is what a person sees: the number of extended grapheme clusters
(Unicode UAX #29), so ``"e\\u0301"``, a ZWJ emoji sequence, a flag and ``"\\r\\n"`` each
count as 1. ``units`` is septets for GSM-7 and UTF-16 code units for UCS-2.

Everything is done with C-level string operations (a regex character-class scan,
``bytes.translate``, ``str.count``, ``str.find``, ``encode``, sets); the only
Python-level loop walks the 2-unit characters of a multi-segment message, never every
character.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import regex  # type: ignore[import-untyped, unused-ignore]

MAX_CREDITS = 8

GSM7_SINGLE_SEPTETS = 160
GSM7_SEGMENT_SEPTETS = 153
UCS2_SINGLE_UNITS = 70
UCS2_SEGMENT_UNITS = 67

# GSM 03.38 default alphabet, 0x00-0x7F, in code order. 0x1B (ESC) is left out: it
# introduces the extension table and is not a character in its own right.
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ" + "ÆæßÉ"  # 0x1B ESC omitted between Ξ and Æ
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table (each is ESC + code, 2 septets): 0x0A FF, 0x14 ^, 0x28 {, 0x29 },
# 0x2F \, 0x3C [, 0x3D ~, 0x3E ], 0x40 |, 0x65 €.
_EXTENSION_TABLE = "\x0c^{}\\[~]|€"

# The extension table's codes, in the order of _EXTENSION_TABLE.
_EXTENSION_CODES = (0x0A, 0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65)

#: The default alphabet as a string indexed by code (``GSM_BASIC[0x09] == "Ç"``); index 0x1B
#: holds ESC (``"\x1b"``), which introduces the extension table and is no character.
GSM_BASIC: str = _BASIC_TABLE[:0x1B] + "\x1b" + _BASIC_TABLE[0x1B:]
#: The extension table: code (after ESC) → character (``GSM_EXTENSION[0x65] == "€"``).
GSM_EXTENSION: Mapping[int, str] = MappingProxyType(
    dict(zip(_EXTENSION_CODES, _EXTENSION_TABLE, strict=True))
)

GSM7_BASIC: frozenset[str] = frozenset(_BASIC_TABLE)
GSM7_EXTENSION: frozenset[str] = frozenset(_EXTENSION_TABLE)
_GSM_ALL: frozenset[str] = GSM7_BASIC | GSM7_EXTENSION

# One C-level scan: does the whole text consist of GSM characters?
_GSM_RUN = re.compile("[" + re.escape("".join(sorted(_GSM_ALL))) + "]*")
# ASCII fast path: bytes.translate deletes with a 256-entry table in C.
_GSM_ASCII_BYTES = bytes(sorted(ord(c) for c in _GSM_ALL if ord(c) < 128))
_EXT_ASCII = "".join(c for c in _EXTENSION_TABLE if c.isascii())
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+")

_LAST_BMP = "\uffff"

# Code points that may join a neighbour into one grapheme cluster (UAX #29 rules
# GB6-GB9c, GB11-GB13). If a text has none of them, every code point is its own
# cluster except CR LF (GB3). CR LF is counted with str.count.
_JOINING: Any = regex.compile(
    r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}"
    r"\p{GCB=Regional_Indicator}\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}]"
)
_GRAPHEME: Any = regex.compile(r"\X")


class Encoding(enum.StrEnum):
    """How the text travels over the air."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SmsMeasure:
    """The size of one SMS text."""

    characters: int  # extended grapheme clusters
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    credits: int

    @property
    def unicode(self) -> bool:
        """True when the text goes as UCS-2."""
        return self.encoding is Encoding.UCS2

    @property
    def over_limit(self) -> bool:
        """True when the text needs more than :data:`MAX_CREDITS` credits."""
        return self.credits > MAX_CREDITS

    def as_dict(self) -> dict[str, object]:
        """Plain values, e.g. for JSON; the encoding as its string value."""
        return {
            "characters": self.characters,
            "encoding": self.encoding.value,
            "units": self.units,
            "credits": self.credits,
            "unicode": self.unicode,
            "over_limit": self.over_limit,
        }


_EMPTY = SmsMeasure(characters=0, encoding=Encoding.GSM7, units=0, credits=0)


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM 03.38 basic or extension table."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _GSM_ASCII_BYTES)
    return _GSM_RUN.fullmatch(text) is not None


def non_gsm_characters(text: str) -> list[str]:
    """The distinct characters that force UCS-2, in order of first appearance."""
    if is_gsm7(text):
        return []
    first = _GSM_RUN.match(text)
    start = first.end() if first is not None else 0
    return list(dict.fromkeys(c for c in text[start:] if c not in _GSM_ALL))


def measure(text: str) -> SmsMeasure:
    """Characters, encoding, units and credits of ``text``. Never raises for any ``str``."""
    if not text:
        return _EMPTY
    length = len(text)

    if text.isascii():
        characters = length - text.count("\r\n")
        if text.encode("ascii").translate(None, _GSM_ASCII_BYTES):
            return _ucs2(text, characters, length, "")  # e.g. ESC, TAB, NUL, backquote
        return _gsm7(text, characters, "".join(c for c in _EXT_ASCII if c in text))

    if _GSM_RUN.fullmatch(text) is not None:
        # No GSM character joins a neighbour into a cluster: only CR LF does.
        characters = length - text.count("\r\n")
        return _gsm7(text, characters, "".join(c for c in _EXTENSION_TABLE if c in text))

    # ASCII characters never join a neighbour (bar CR LF) and are never astral, so only
    # the distinct non-ASCII ones need looking at.
    distinct = "".join(set(_ASCII_RUNS.sub("", text)))
    if _JOINING.search(distinct) is None:
        characters = length - text.count("\r\n")
    else:
        characters = len(_GRAPHEME.findall(text))
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    return _ucs2(text, characters, units, distinct)


def _gsm7(text: str, characters: int, ext_chars: str) -> SmsMeasure:
    """``ext_chars``: the distinct extension characters present in ``text``."""
    length = len(text)
    if not ext_chars:
        septets = length
        credits = 1 if septets <= GSM7_SINGLE_SEPTETS else -(-septets // GSM7_SEGMENT_SEPTETS)
    elif length > GSM7_SINGLE_SEPTETS:  # surely several segments: the positions are needed
        wide = _positions(text, ext_chars)
        septets = length + len(wide)
        credits = _greedy(text, wide, GSM7_SEGMENT_SEPTETS)
    else:
        septets = length + sum(map(text.count, ext_chars))
        if septets <= GSM7_SINGLE_SEPTETS:
            credits = 1
        else:
            credits = _greedy(text, _positions(text, ext_chars), GSM7_SEGMENT_SEPTETS)
    return SmsMeasure(characters, Encoding.GSM7, septets, credits)


def _ucs2(text: str, characters: int, units: int, distinct: str) -> SmsMeasure:
    """``distinct``: the distinct non-ASCII characters of ``text`` (any order)."""
    if units <= UCS2_SINGLE_UNITS:
        credits = 1
    elif units == len(text):
        credits = -(-units // UCS2_SEGMENT_UNITS)
    else:  # some characters above U+FFFF take 2 units
        astral = "".join(c for c in distinct if c > _LAST_BMP)
        credits = _greedy(text, _positions(text, astral), UCS2_SEGMENT_UNITS)
    return SmsMeasure(characters, Encoding.UCS2, units, credits)


def _positions(text: str, wide_chars: str) -> list[int]:
    """Sorted indices in ``text`` of every occurrence of the characters in ``wide_chars``."""
    found: list[int] = []
    for c in wide_chars:
        i = text.find(c)
        while i >= 0:
            found.append(i)
            i = text.find(c, i + 1)
    found.sort()
    return found


def _greedy(text: str, wide: list[int], segment: int) -> int:
    """Segments needed when the characters at indices ``wide`` take 2 slots and may not
    be split, every other character 1 slot, packing each segment as full as it goes."""
    full = 0  # segments closed
    used = 0  # slots used in the open segment, 1..segment once anything is placed
    after = 0  # index just after the last character placed
    for pos in wide:
        used += pos - after  # the run of 1-slot characters before this one
        if used > segment:
            full += (used - 1) // segment
            used = (used - 1) % segment + 1
        if used + 2 > segment:
            full += 1
            used = 2
        else:
            used += 2
        after = pos + 1
    used += len(text) - after
    if used > segment:
        full += (used - 1) // segment
        used = (used - 1) % segment + 1
    return full + (1 if used else 0)


def segments(text: str) -> list[str]:
    """The parts ``text`` travels in, exactly as :func:`measure` counts them.

    ``len(segments(text)) == measure(text).credits`` and ``"".join(segments(text)) ==
    text`` for every ``str``: no part for the empty text; the whole text when it fits in
    one SMS (160 septets / 70 UTF-16 units); otherwise greedy parts of at most 153 septets
    / 67 units, each as full as it goes, never splitting an extension character's escape
    pair or a character above U+FFFF (it starts the next part). Over-limit texts are split
    the same way (more than :data:`MAX_CREDITS` parts). A lone surrogate is 1 unit, as in
    :func:`measure`, so a high and a low surrogate given as two code points may be split.
    """
    if not text:
        return []
    m = measure(text)
    if m.credits == 1:
        return [text]
    if m.encoding is Encoding.GSM7:
        wide = "".join(c for c in _EXTENSION_TABLE if c in text)
        segment = GSM7_SEGMENT_SEPTETS
    else:
        wide = "".join(c for c in set(text) if c > _LAST_BMP)
        segment = UCS2_SEGMENT_UNITS
    return _split(text, _positions(text, wide) if wide else [], segment)


def _split(text: str, wide: list[int], segment: int) -> list[str]:
    """The parts of :func:`_greedy`'s packing (same rule, same count), as slices."""
    parts: list[str] = []
    start = 0  # index where the open part starts
    used = 0  # slots used in the open part
    after = 0  # index just after the last character placed
    for pos in [*wide, len(text)]:
        run = pos - after  # the 1-slot characters before this one
        while used + run > segment:
            cut = after + segment - used
            parts.append(text[start:cut])
            start = after = cut
            run -= segment - used
            used = 0
        used += run
        if pos == len(text):
            break
        if used + 2 > segment:
            parts.append(text[start:pos])
            start, used = pos, 0
        used += 2
        after = pos + 1
    if start < len(text):
        parts.append(text[start:])
    return parts
