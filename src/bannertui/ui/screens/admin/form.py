"""The administration's forms: fields, an error line, Save / Cancel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import (
    Button,
    DataTable,
    Label,
    Static,
)

from bannertui.ui.safe import line
from bannertui.ui.screens.base import BaseModal


class AdminForm(BaseModal[bool]):
    """A small form: fields, an error line, Save / Cancel (ctrl+s / escape)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save", priority=True),
    ]

    def on_mount(self) -> None:
        for error in self.query(".field-error"):
            error.display = False

    def _error(self, text: str) -> None:
        self.query_one("#dialog-error", Static).update(line(text))

    def _field_errors(self, fields: Mapping[str, str], message: str = "") -> None:
        """Each refused field's reason beside it (``#err-<field>``), the others cleared; the
        error line says how many, or the one (``message``: the refusal's own words)."""
        for error in self.query(".field-error").results(Static):
            why = fields.get((error.id or "").removeprefix("err-"), "")
            error.update(line(why))
            error.display = bool(why)
        if len(fields) > 1:
            self._error(f"{len(fields)} fields to correct: see beside each")
        elif fields:
            self._error(message or next(iter(fields.values())))

    def _buttons(self) -> ComposeResult:
        yield Static(id="dialog-error", classes="error")
        with Horizontal(classes="dialog-buttons"):
            yield Button("Save ^S", id="save", variant="primary", compact=True)
            yield Button("Cancel", id="cancel", compact=True)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.save()

    def save(self) -> None:  # overridden: starts the worker
        raise NotImplementedError

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


def add_columns(table: DataTable[Any], *columns: tuple[str, str, int]) -> None:
    for key, label, width in columns:
        table.add_column(label, key=key, width=width)


def field_row(label: str, widget: Any) -> Horizontal:
    return Horizontal(Label(label, classes="field-label wide-label"), widget, classes="field-row")


def field_error(field: str) -> Static:
    """Where a refusal of ``field`` is shown, under its row (hidden while there is none)."""
    return Static(id=f"err-{field}", classes="error field-error")
