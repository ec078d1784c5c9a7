"""One inbox message in full (SPEC I3–I6, X2), with the actions that apply to it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from bannertui.domain.enums import Direction, MessageStatus
from bannertui.domain.sms import measure
from bannertui.domain.text import plural
from bannertui.services.inbox import InboxRow
from bannertui.ui.safe import line, plain
from bannertui.ui.screens.base import BaseModal


def _when(row: InboxRow) -> str:
    def fmt(at: object) -> str:
        return at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if at else ""  # type: ignore[attr-defined]

    parts = [f"created {fmt(row.created_at)}"]
    if row.scheduled_at:
        parts.append(f"scheduled {fmt(row.scheduled_at)}")
    if row.sent_at:
        parts.append(f"sent {fmt(row.sent_at)}")
    if row.delivered_at:
        parts.append(f"delivered {fmt(row.delivered_at)}")
    return " · ".join(parts)


class MessageDialog(BaseModal[str | None]):
    """Dismisses with the chosen action's name ("reply", "forward", "delete", "restore",
    "resend") for the inbox to run on this message, or None."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="message.close"),
        Binding("r", "choose('reply')", "Reply", id="message.reply"),
        Binding("f", "choose('forward')", "Forward", id="message.forward"),
        Binding("d,delete", "choose('delete')", "Delete", id="message.delete"),
        Binding("u", "choose('restore')", "Restore", id="message.restore"),
        Binding("R", "choose('resend')", "Resend", id="message.resend"),
    ]

    def __init__(self, row: InboxRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        r = self.row
        inbound = r.direction == Direction.INBOUND
        m = measure(r.text)
        state = r.status + (f": {r.error}" if r.error else "")
        with Vertical(classes="dialog wide", id="message-dialog"):
            yield Static(
                Content.styled("SMS received" if inbound else "SMS sent", "bold"),
                classes="dialog-title",
            )
            yield Static(line(f"From {r.from_number} to {r.to_number}"))
            if r.contact_name:
                yield Static(line(f"Contact: {r.contact_name}"))
            yield Static(line(_when(r)), classes="hint")
            yield Static(line(f"State: {state}"), id="message-state")
            yield Static(
                Content(
                    f"{plural(m.characters, 'character')} · {plural(r.credits, 'credit')}"
                    f" · {m.encoding.value}"
                ),
                classes="hint",
            )
            with VerticalScroll(id="message-body"):
                yield Static(plain(r.text, multiline=True))
            with Horizontal(classes="dialog-buttons"):
                if r.deleted:
                    yield Button("Restore u", id="restore", variant="primary")
                else:
                    yield Button("Reply r", id="reply", variant="primary")
                    yield Button("Forward f", id="forward")
                    if r.status == MessageStatus.FAILED:
                        yield Button("Resend R", id="resend")
                    yield Button("Delete d", id="delete", variant="error")
                yield Button("Close", id="close")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action != "choose":
            return True
        wanted = str(parameters[0]) if parameters else ""
        if wanted == "restore":
            return self.row.deleted
        if wanted == "resend":
            return not self.row.deleted and self.row.status == MessageStatus.FAILED
        return not self.row.deleted

    def action_choose(self, action: str) -> None:
        self.dismiss(action)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "close":
            self.dismiss(None)
        elif event.button.id:
            self.dismiss(event.button.id)

    def action_close(self) -> None:
        self.dismiss(None)
