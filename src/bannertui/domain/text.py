"""Untrusted text made safe to show: control characters become visible placeholders.

SMS bodies, contact names, template text and provider errors come from outside.  Rich and
Textual pass ESC/CSI/OSC sequences through even with markup off, so every control character
(C0, DEL, C1) and every bidirectional override is replaced before anything renders it.
"""

from __future__ import annotations

_BIDI = {
    0x200E, 0x200F,  # LRM, RLM
    0x202A, 0x202B, 0x202C, 0x202D, 0x202E,  # embeddings and overrides
    0x2066, 0x2067, 0x2068, 0x2069,  # isolates
}  # fmt: skip


def _placeholder(cp: int) -> str:
    if cp < 0x20:
        return chr(0x2400 + cp)  # Control Pictures: ␀ … ␟ (ESC shows as ␛)
    if cp == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"


def _build_table(keep_newlines: bool) -> dict[int, str]:
    table = {cp: _placeholder(cp) for cp in range(0x20)}
    table[0x7F] = _placeholder(0x7F)
    table.update({cp: "\ufffd" for cp in range(0x80, 0xA0)})
    table.update({cp: "\ufffd" for cp in _BIDI})
    if keep_newlines:
        del table[0x0A]
        table[0x0D] = ""  # CR of CRLF adds nothing visible
    return table


_ONE_LINE = _build_table(keep_newlines=False)
_MULTI_LINE = _build_table(keep_newlines=True)


def _surrogate_safe(text: str) -> str:
    # Lone surrogates cannot be written to a UTF-8 terminal.
    return text.encode("utf-8", "replace").decode("utf-8") if has_lone_surrogate(text) else text


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (it cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def safe_text(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character replaced by a visible placeholder.

    With ``multiline``, newlines are kept (CR dropped); otherwise they show as ␊.
    """
    return _surrogate_safe(text).translate(_MULTI_LINE if multiline else _ONE_LINE)


def one_line(text: str, width: int | None = None) -> str:
    """Safe, single line, whitespace runs collapsed, cut to ``width`` with an ellipsis."""
    flat = " ".join(_surrogate_safe(text).split())
    flat = flat.translate(_ONE_LINE)
    if width is not None and len(flat) > width:
        return flat[: max(width - 1, 0)] + "…"
    return flat


def plural(n: int, word: str) -> str:
    """``1 credit``, ``2 credits``, ``1,224 characters``: a count and its (English) noun."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
