"""The inbox's search and filter (SPEC I9): number, contact, text and dates."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from bannertui.domain.errors import BannerError, InvalidDate
from bannertui.services.inbox import InboxFilter
from bannertui.ui.safe import line
from bannertui.ui.screens.base import BaseModal

DATE_FORMAT = "%Y-%m-%d"


def parse_day(text: str) -> datetime | None:
    """``YYYY-MM-DD`` → the start of that day in this terminal's time zone; empty → None."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, DATE_FORMAT).astimezone()
    except ValueError:
        raise InvalidDate(f"{text!r}: expected YYYY-MM-DD") from None


def day_text(at: datetime | None, *, minus_one: bool = False) -> str:
    if at is None:
        return ""
    local = at.astimezone()
    return (local - timedelta(days=1) if minus_one else local).strftime(DATE_FORMAT)


class FilterDialog(BaseModal[InboxFilter | None]):
    """Dismisses with the new filter (empty fields: no filter), or None when cancelled;
    Clear empties the fields and keeps the dialog open."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="filter.cancel"),
        Binding("ctrl+s", "apply", "Apply", id="filter.apply", priority=True),
        Binding("ctrl+l", "clear", "Clear all", id="filter.clear", priority=True),
    ]

    def __init__(self, current: InboxFilter) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        f = self.current
        with Vertical(classes="dialog", id="filter-dialog"):
            yield Static(Content.styled("Search and filter", "bold"), classes="dialog-title")
            for key, label, value, hint in (
                ("number", "Number", f.number, "digits, e.g. 612 00"),
                ("contact", "Contact", f.contact, "name, company or email"),
                ("text", "Text", f.text, "words in the message"),
                ("since", "From", day_text(f.since), "YYYY-MM-DD (included)"),
                ("until", "To", day_text(f.until, minus_one=True), "YYYY-MM-DD (included)"),
            ):
                with Horizontal(classes="field-row"):
                    yield Label(label, classes="field-label")
                    yield Input(value, placeholder=hint, id=f"filter-{key}")
            yield Static(id="dialog-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply ^S", id="apply", variant="primary")
                yield Button("Clear ^L", id="clear")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#filter-number", Input).focus()

    def _value(self, key: str) -> str:
        return self.query_one(f"#filter-{key}", Input).value

    @on(Input.Submitted)
    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        try:
            since = parse_day(self._value("since"))
            to_day = parse_day(self._value("until"))
        except BannerError as exc:
            self.query_one("#dialog-error", Static).update(line(exc.message))
            return
        until = to_day + timedelta(days=1) if to_day is not None else None
        if since is not None and until is not None and until <= since:
            self.query_one("#dialog-error", Static).update(
                Content("Invalid date: the end is before the start")
            )
            return
        self.dismiss(
            InboxFilter(
                number=self._value("number").strip(),
                contact=self._value("contact").strip(),
                text=self._value("text"),
                since=since,
                until=until,
            )
        )

    @on(Button.Pressed, "#clear")
    def action_clear(self) -> None:
        """Empty every field and stay, the focus in the first one: what is typed next is
        the new search (closing sent it to the inbox, whose letters are commands: r opened
        Reply).  Apply (^S) then shows everything; Cancel keeps the filter as it was."""
        for field in self.query(Input):
            field.value = ""
        self.query_one("#dialog-error", Static).update("")
        self.query_one("#filter-number", Input).focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
