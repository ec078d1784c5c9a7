"""Untrusted text to Textual content: never markup, never control sequences."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from bannertui.domain.text import one_line, safe_text


def plain(text: str, *, multiline: bool = False) -> Content:
    """A Content that shows ``text`` literally (``[bold]`` stays ``[bold]``)."""
    return Content(safe_text(text, multiline=multiline))


def line(text: str, width: int | None = None) -> Content:
    return Content(one_line(text, width))


def rich_plain(text: str, style: str = "", *, multiline: bool = False) -> Text:
    """For the places that take Rich renderables (DataTable cells, RichLog)."""
    return Text(safe_text(text, multiline=multiline), style=style)
