"""A bot of a queue (SPEC Q3)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import (
    Input,
    Select,
    Static,
)

from bannertui.domain.actor import Actor
from bannertui.domain.enums import BotTrigger
from bannertui.domain.errors import BannerError
from bannertui.services import Services
from bannertui.services.admin import (
    QueueRow,
)
from bannertui.ui.safe import line
from bannertui.ui.screens.admin.form import AdminForm, field_row


class BotDialog(AdminForm):
    def __init__(self, services: Services, actor: Actor, queues: list[QueueRow]) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.queues = queues

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="bot-dialog"):
            yield Static(Content.styled("New bot", "bold"), classes="dialog-title")
            yield field_row(
                "Queue",
                Select(
                    [(line(r.settings.name), r.id) for r in self.queues],
                    prompt="Queue",
                    id="bot-queue",
                ),
            )
            yield field_row(
                "Trigger",
                Select(
                    [(t.value.replace("_", " "), t.value) for t in BotTrigger],
                    value=BotTrigger.ON_START.value,
                    allow_blank=False,
                    id="bot-trigger",
                ),
            )
            yield field_row("Template", Input(placeholder="template name", id="bot-template"))
            yield from self._buttons()

    def save(self) -> None:
        self.add()

    @work(group="bot-add", exclusive=True, exit_on_error=False)
    async def add(self) -> None:
        queue = self.query_one("#bot-queue", Select).value
        if not isinstance(queue, int):
            self._error("Choose the queue")
            return
        try:
            await self.services.admin.add_bot(
                self.actor,
                queue,
                str(self.query_one("#bot-trigger", Select).value),
                self.query_one("#bot-template", Input).value.strip(),
            )
        except BannerError as exc:
            self._error(exc.message)
            return
        self.dismiss(True)
