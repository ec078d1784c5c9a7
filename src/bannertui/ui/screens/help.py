"""The help screen (SPEC X3): every key binding, by where it works, built from the bindings
(:mod:`bannertui.ui.keymap`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from bannertui.ui.keymap import tables
from bannertui.ui.screens.base import BaseModal


def help_content() -> Content:
    """Every key table of :mod:`bannertui.ui.keymap` (the same as docs/keys.md's)."""
    parts: list[Content] = []
    for table in tables():
        parts.append(Content.styled(f"{table.section.title}\n", "bold $accent"))
        if table.section.note:
            parts.append(Content.styled(f"  {table.section.note}\n", "$text-muted"))
        for row in table.rows:
            needs = (f" · {row.needs}", "$text-muted") if row.needs else ""
            parts.append(
                Content.assemble((f"  {row.keys:<18}", "bold"), " ", row.text, needs, "\n")
            )
        parts.append(Content("\n"))
    return Content.assemble(*parts)


class HelpScreen(BaseModal[None]):
    BINDINGS = [
        Binding("escape", "dismiss_help", "Close", id="help.close"),
        Binding("question_mark", "dismiss_help", "Close", show=False, id="help.close2"),
        Binding("q", "dismiss_help", "Close", show=False, id="help.close3"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide", id="help-dialog"):
            yield Static(Content.styled("Keys", "bold"), classes="dialog-title")
            yield Static(help_content(), id="help-body")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
