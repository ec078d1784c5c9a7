"""A table of rows (the inbox, people, the dashboard, administration): Home and End move the
cursor to the first and the last row.

Textual's DataTable binds Home and End to its leftmost and rightmost *column*, which moves
nothing in a table whose cursor is a row: an agent pressing End to reach the last message
saw no change (issue #19).  Ctrl+Home and Ctrl+End do the same, as in DataTable."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class RowTable(DataTable[object]):
    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False, id="table.first"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="table.last"),
    ]

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
