"""Untrusted text made safe to show: control and format characters never reach the terminal.

SMS bodies, contact names, template text and provider errors come from outside.  Rich and
Textual pass ESC/CSI/OSC sequences through even with markup off, and invisible format
characters (bidi marks, overrides and isolates, zero-width spaces, tags) can hide or reorder
text.  The unsafe set is read from the Unicode properties (the ``regex`` module's Unicode
database), not from a hand list: every code point of general category Cc, Cf, Zl or Zp, or
with the Bidi_Control property, plus lone surrogates.  Each one becomes:

* C0 and DEL: their Control Pictures, ``␀`` … ``␟`` (ESC shows as ``␛``) and ``␡``;
* C1 controls, bidi controls (U+061C, U+200E/F, U+202A–E, U+2066–9) and every other
  format character (U+200B, U+2060, U+FEFF, U+E0001…): U+FFFD ``�``, so hidden text shows;
* the format characters that ordinary text needs, dropped silently: ZWJ U+200D and ZWNJ
  U+200C (emoji sequences, Persian), SOFT HYPHEN U+00AD and the tag characters
  U+E0020–U+E007F (emoji flag tag sequences: the flag shows as its base, 🏴);
* line breaks: with ``multiline``, LF is kept, CR dropped and LINE / PARAGRAPH SEPARATOR
  (U+2028, U+2029) become LF; on one line LF shows as ``␊``, CR as ``␍`` and both
  separators as ``␤`` (U+2424).  :func:`one_line` collapses every whitespace run, these
  included, to one space first;
* a lone surrogate (it cannot be written as UTF-8): ``?``.

Speed: text for which ``str.isprintable()`` holds (no Cc, Cf, Cs, Zl, Zp, nor any
unassigned, private-use or non-ASCII space character) is returned as it is, in one C-level
scan (no unsafe code point is printable: tests/unit/test_text_sanitizer.py tries each one
through this path).  Other text goes through ``str.translate`` with a table filled the first
time each code point is met (one ``regex`` match per new code point).
"""

from __future__ import annotations

from typing import Any

import regex  # type: ignore[import-untyped, unused-ignore]

_UNSAFE: Any = regex.compile(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Bidi_Control}]")
#: Format characters that legitimate text needs: dropped rather than shown.
_DROPPED = frozenset({0x200C, 0x200D, 0x00AD, *range(0xE0020, 0xE0080)})
_SEPARATORS = frozenset({0x2028, 0x2029})
#: Safe code points remembered by a table, at most (unsafe ones always are, a few hundred).
_MAX_REMEMBERED = 65_536


def _shown(cp: int, multiline: bool) -> str | int:
    """What code point ``cp`` shows as: itself (an int) or its replacement."""
    if not _UNSAFE.match(chr(cp)):
        return cp
    if multiline:
        if cp == 0x0A:
            return cp
        if cp == 0x0D:
            return ""  # CR of CRLF adds nothing visible
        if cp in _SEPARATORS:
            return "\n"
    if cp < 0x20:
        return chr(0x2400 + cp)  # Control Pictures: ␀ … ␟ (ESC shows as ␛)
    if cp == 0x7F:
        return "\u2421"  # ␡
    if cp in _SEPARATORS:
        return "\u2424"  # ␤
    if cp in _DROPPED:
        return ""
    return "\ufffd"


class _Table(dict[int, str | int]):
    """A ``str.translate`` table that decides each code point when it first meets it."""

    def __init__(self, multiline: bool) -> None:
        super().__init__()
        self.multiline = multiline

    def __missing__(self, cp: int) -> str | int:
        shown = _shown(cp, self.multiline)
        if shown != cp or len(self) < _MAX_REMEMBERED:
            self[cp] = shown
        return shown


_ONE_LINE = _Table(multiline=False)
_MULTI_LINE = _Table(multiline=True)


def _surrogate_safe(text: str) -> str:
    # Lone surrogates cannot be written to a UTF-8 terminal.
    return text.encode("utf-8", "replace").decode("utf-8") if has_lone_surrogate(text) else text


def _translated(text: str, table: _Table) -> str:
    if text.isprintable():
        return text
    return _surrogate_safe(text).translate(table)


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (it cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def safe_text(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control and format character replaced (see the module's rules).

    With ``multiline``, newlines are kept (CR dropped, U+2028/U+2029 made newlines);
    otherwise they show as ␊ (␤ for U+2028/U+2029).
    """
    return _translated(text, _MULTI_LINE if multiline else _ONE_LINE)


def shows_replaced(text: str) -> bool:
    """True when :func:`safe_text` would show something of ``text`` as a placeholder (a
    control or hidden format character, a line break, a lone surrogate); the joiners and soft
    hyphens it only drops do not count: a name may hold them ("Mohammad\u200cReza")."""
    if text.isprintable():
        return False
    if has_lone_surrogate(text):
        return True
    return any(_ONE_LINE[ord(c)] not in (ord(c), "") for c in text)


def one_line(text: str, width: int | None = None) -> str:
    """Safe, single line, whitespace runs collapsed, cut to ``width`` with an ellipsis."""
    flat = _translated(" ".join(text.split()), _ONE_LINE)
    if width is not None and len(flat) > width:
        return flat[: max(width - 1, 0)] + "…"
    return flat


def plural(n: int, word: str) -> str:
    """``1 credit``, ``2 credits``, ``1,224 characters``: a count and its (English) noun."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
