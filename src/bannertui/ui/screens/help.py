"""The help screen (SPEC X3): every key binding, by where it works, built from the bindings
(:mod:`bannertui.ui.keymap`)."""

from __future__ import annotations

import functools
import textwrap

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.widgets import Static

from bannertui.ui.keymap import tables
from bannertui.ui.screens.base import BaseModal

#: The key column: two spaces, the keys, a space; a description wraps under its own start.
KEY_WIDTH = 18
INDENT = 2 + KEY_WIDTH + 1


def _wrapped(text: str, width: int | None) -> list[str]:
    """``text`` cut into lines of at most ``width`` cells (None: one line); words kept whole
    unless longer than a line."""
    if width is None or width <= 0:
        return [text]
    lines = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    return lines


@functools.lru_cache(maxsize=8)
def help_content(width: int | None = None) -> Content:
    """Every key table of :mod:`bannertui.ui.keymap` (the same as docs/keys.md's), laid out
    for ``width`` cells: a description longer than the room after its keys goes on under
    its own start, not at the left edge (at 80×24 it wrapped to column 0).  Kept per width:
    the layout asks for the height, then the render for the same lines."""
    room = None if width is None else max(20, width - INDENT)
    parts: list[Content] = []
    for table in tables():
        parts.append(Content.styled(f"{table.section.title}\n", "bold $accent"))
        if table.section.note:
            note_room = None if width is None else max(20, width - 2)
            for note in _wrapped(table.section.note, note_room):
                parts.append(Content.styled(f"  {note}\n", "$text-muted"))
        for row in table.rows:
            keys = row.keys if len(row.keys) <= KEY_WIDTH else f"{row.keys}\n{'':<{KEY_WIDTH + 2}}"
            needs = f" · {row.needs}" if row.needs else ""
            lines = _wrapped(row.text + needs, room)
            # the description, then its profile need (muted), line by line
            split = len(row.text)
            parts.append(Content.styled(f"  {keys:<{KEY_WIDTH}}", "bold"))
            parts.append(Content(" "))
            done = 0
            for number, text in enumerate(lines):
                if number:
                    parts.append(Content(" " * INDENT))
                start = (row.text + needs).index(text, done)
                end = start + len(text)
                plain, muted = text[: max(0, split - start)], text[max(0, split - start) :]
                parts.append(Content.assemble(plain, (muted, "$text-muted"), "\n"))
                done = end
        parts.append(Content("\n"))
    return Content.assemble(*parts)


class HelpBody(Static):
    """The tables, laid out again for the width the help has (a resize included)."""

    def render(self) -> Content:
        return help_content(self.content_size.width or None)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(help_content(width or None).plain.splitlines())


class HelpScreen(BaseModal[None]):
    BINDINGS = [
        Binding("escape", "dismiss_help", "Close", id="help.close"),
        Binding("question_mark", "dismiss_help", "Close", show=False, id="help.close2"),
        Binding("q", "dismiss_help", "Close", show=False, id="help.close3"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide", id="help-dialog"):
            yield Static(Content.styled("Keys", "bold"), classes="dialog-title")
            yield HelpBody(id="help-body")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
