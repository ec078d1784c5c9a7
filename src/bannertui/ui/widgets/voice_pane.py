"""A voice interaction (SPEC B11): the caller, and an SMS action that opens the SMS flow with
the caller's number (the SMS is a separate interaction)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, Static

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.services.conversations import InteractionSummary
from bannertui.ui.messages import InteractionEnded, SmsToNumberRequested
from bannertui.ui.safe import line
from bannertui.ui.screens.base import ReportsWorkerErrors


class VoicePane(ReportsWorkerErrors, Vertical):
    DEFAULT_CSS = """
    VoicePane { height: 1fr; padding: 1 2; }
    VoicePane #caller { height: auto; margin-bottom: 1; }
    VoicePane #voice-actions { height: auto; }
    VoicePane #voice-actions Button { margin-right: 2; }
    """

    def __init__(self, services: Services, actor: Actor, item: InteractionSummary) -> None:
        super().__init__(id=f"voice-{item.id}", classes="interaction-pane")
        self.services = services
        self.actor = actor
        self.item = item

    def compose(self) -> ComposeResult:
        since = self.item.created_at.astimezone().strftime("%H:%M") if self.item.created_at else ""
        yield Static(
            Content.assemble(
                ("☎ Call in progress\n\n", "bold $accent"),
                "Caller: ",
                line(self.item.who_and_number).stylize("bold"),
                f"\nSince {since}",
            ),
            id="caller",
        )
        with Horizontal(id="voice-actions"):
            yield Button("SMS to caller F3", id="sms", variant="primary")
            yield Button("Hang up F8", id="hang-up", variant="error")

    @on(Button.Pressed, "#sms")
    def action_sms(self) -> None:
        self.post_message(SmsToNumberRequested(self.item.remote_number))

    @on(Button.Pressed, "#hang-up")
    def action_hang_up(self) -> None:
        self.hang_up()

    @work(group="hang-up", exclusive=True, exit_on_error=False)
    async def hang_up(self) -> None:
        await self.services.conversations.close(self.actor, self.item.id)
        self.post_message(InteractionEnded(self.item.id))

    def focus_editor(self) -> None:
        for button in self.query("#sms").results(Button):
            button.focus()

    def focus_target(self) -> Widget | None:
        """What :meth:`focus_editor` focuses: the "SMS to caller" button."""
        buttons = self.query("#sms")
        return buttons.first() if buttons else None
