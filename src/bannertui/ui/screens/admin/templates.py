"""A template, and the queues it belongs to."""

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
from bannertui.domain.enums import MessageType
from bannertui.domain.errors import BannerError
from bannertui.domain.templates import variables
from bannertui.services import Services
from bannertui.services.admin import (
    TemplateRow,
)
from bannertui.ui.screens.admin.form import AdminForm, field_error, field_row
from bannertui.ui.widgets.message_editor import MessageEditor


class TemplateDialog(AdminForm):
    """A template: name, kind, the queues that offer it, and its text with the counter."""

    def __init__(self, services: Services, actor: Actor, row: TemplateRow | None) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.row = row

    def compose(self) -> ComposeResult:
        r = self.row
        with Vertical(classes="dialog wide", id="template-dialog"):
            yield Static(
                Content.styled(f"Template {r.name}" if r else "New template", "bold"),
                classes="dialog-title",
            )
            yield field_row("Name", Input(r.name if r else "", id="t-name", compact=True))
            yield field_error("name")
            yield field_row(
                "Kind",
                Select(
                    [(k.value, k.value) for k in MessageType],
                    value=r.kind if r else MessageType.NOTIFICATION.value,
                    allow_blank=False,
                    id="t-kind",
                    compact=True,
                ),
            )
            yield field_error("kind")
            yield field_row(
                "Queues",
                Input(
                    ", ".join(r.queues) if r else "",
                    placeholder="Support, Sales",
                    id="t-queues",
                    compact=True,
                ),
            )
            yield field_error("queues")
            yield Static(
                Content(
                    "Variables: $name (letters, digits, _), e.g. $firstname; a fallback for an "
                    'empty value: $firstname|there or $company|"our customer"'
                ),
                classes="hint",
            )
            yield MessageEditor(r.text if r else "", id="t-text")
            yield field_error("text")
            yield Static(self._found(r.text if r else ""), id="t-variables", classes="hint")
            yield from self._buttons()

    @staticmethod
    def _found(text: str) -> Content:
        """The variables the text holds, as the agents' panel will offer them."""
        names = variables(text)
        return Content(
            "Variables found: " + ", ".join(f"${n}" for n in names) if names else "No variable"
        )

    def on_message_editor_changed(self, event: MessageEditor.Changed) -> None:
        self.query_one("#t-variables", Static).update(self._found(event.editor.text))

    def save(self) -> None:
        self.save_template()

    @work(group="template-save", exclusive=True, exit_on_error=False)
    async def save_template(self) -> None:
        queues = [q.strip() for q in self.query_one("#t-queues", Input).value.split(",")]
        try:
            await self.services.admin.save_template(
                self.actor,
                name=self.query_one("#t-name", Input).value,
                text=self.query_one(MessageEditor).text,
                kind=str(self.query_one("#t-kind", Select).value),
                queues=[q for q in queues if q],
                template_id=self.row.id if self.row else None,
            )
        except BannerError as exc:
            self._field_errors(exc.fields, exc.message)
            if not exc.fields:
                self._error(exc.message)
            return
        self.dismiss(True)
