"""A bot of a queue (SPEC Q3)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import (
    Select,
    Static,
)

from bannertui.domain.actor import Actor
from bannertui.domain.enums import BotTrigger
from bannertui.domain.errors import BannerError
from bannertui.services import Services
from bannertui.services.admin import (
    QueueRow,
    TemplateRow,
)
from bannertui.ui.safe import line
from bannertui.ui.screens.admin.form import AdminForm, field_row


class BotDialog(AdminForm):
    def __init__(self, services: Services, actor: Actor, queues: list[QueueRow]) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.queues = queues
        self.templates: list[TemplateRow] = []

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
            yield field_row(
                "Template", Select([], prompt="Choose the queue first", id="bot-template")
            )
            yield Static(
                Content(
                    "The queue's own templates.  A bot fills $number and $queue; any other "
                    'variable needs a fallback: $firstname|there, $company|"our customer".'
                ),
                classes="hint",
            )
            yield from self._buttons()

    def on_mount(self) -> None:
        self.load_templates()

    @work(group="bot-templates", exclusive=True, exit_on_error=False)
    async def load_templates(self) -> None:
        self.templates = await self.services.admin.templates(self.actor)
        self._offer()

    @on(Select.Changed, "#bot-queue")
    def _offer(self) -> None:
        """The templates the chosen queue offers (another queue's was accepted: issue #19)."""
        queue = self.query_one("#bot-queue", Select).value
        name = next((r.settings.name for r in self.queues if r.id == queue), None)
        pick = self.query_one("#bot-template", Select)
        offered = [t for t in self.templates if name in t.queues]
        pick.set_options([(line(t.name), t.name) for t in offered])
        if name is None:
            pick.prompt = "Choose the queue first"
        else:
            # No queue name in the prompt: a plain str that Select may render as markup.
            pick.prompt = "Template" if offered else "This queue offers no template"

    def save(self) -> None:
        self.add()

    @work(group="bot-add", exclusive=True, exit_on_error=False)
    async def add(self) -> None:
        queue = self.query_one("#bot-queue", Select).value
        if not isinstance(queue, int):
            self._error("Choose the queue")
            return
        template = self.query_one("#bot-template", Select).value
        if not isinstance(template, str):
            self._error("Choose one of the queue's templates")
            return
        try:
            await self.services.admin.add_bot(
                self.actor,
                queue,
                str(self.query_one("#bot-trigger", Select).value),
                template,
            )
        except BannerError as exc:
            self._error(exc.message)
            return
        self.dismiss(True)
