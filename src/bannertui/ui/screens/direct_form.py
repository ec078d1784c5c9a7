"""The Direct SMS form (SPEC B4): a one-off SMS from one of the profile's numbers."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from bannertui.domain.actor import Actor
from bannertui.domain.errors import BannerError, InsufficientCredits
from bannertui.services import Services
from bannertui.services.drafts import DIRECT
from bannertui.services.outbound import TemplateChoice
from bannertui.ui.drafts import DraftKeeper
from bannertui.ui.safe import line
from bannertui.ui.screens.base import BaseModal
from bannertui.ui.widgets.credit_counter import CreditCounter
from bannertui.ui.widgets.message_editor import MessageEditor
from bannertui.ui.widgets.template_panel import TemplatePanel, may_replace_text


class DirectSmsDialog(BaseModal[bool]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="direct.cancel"),
        Binding("ctrl+s", "send", "Send", id="direct.send", priority=True),
        Binding("ctrl+r", "replace", "Replace variables", id="direct.replace"),
    ]

    def __init__(
        self,
        services: Services,
        actor: Actor,
        number: str,
        sender_numbers: tuple[str, ...],
        templates: list[TemplateChoice],
    ) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.number = number
        self.sender_numbers = sender_numbers
        #: The text a template last put in the editor (replacing it needs no question).
        self._inserted: str | None = None
        self.templates = templates
        #: The agent's Direct draft (one per agent, restored into a form to its number).
        self._draft = DraftKeeper(self, services.drafts, actor, DIRECT)
        self._draft.recipients = number
        self._text_area: TextArea | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="direct-dialog"):
            yield Static(Content.styled("Direct SMS", "bold"), classes="dialog-title")
            with Horizontal(classes="field-row"):
                yield Label("To", classes="field-label")
                yield Input(self.number, disabled=True, id="recipient")
            with Horizontal(classes="field-row"):
                yield Label("From", classes="field-label")
                yield Select[str](
                    [(n, n) for n in self.sender_numbers],
                    prompt="Sender number",
                    value=self.sender_numbers[0] if len(self.sender_numbers) == 1 else Select.NULL,
                    id="sender",
                )
            yield TemplatePanel(self.templates, id="template-panel")
            yield MessageEditor(id="editor")
            yield Static(id="dialog-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send ^S", id="send", variant="primary", disabled=True)
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        if not self.sender_numbers:
            self.query_one("#dialog-error", Static).update(
                Content("No sender number: no SMS number is assigned to your profile")
            )
        self.query_one(MessageEditor).focus_text()
        self._text_area = self.query_one(MessageEditor).query_one(TextArea)
        self.restore_draft()
        self.load_balance()

    @work(group="balance", exclusive=True, exit_on_error=False)
    async def load_balance(self) -> None:
        """The account's credits under the editor, as the form opens: "Credits: 0 — cannot
        send" is said before the agent writes, not at Send (the services refuse still)."""
        try:
            balance: int | None = await self.services.accounts.balance(self.actor)
        except BannerError:
            balance = None  # no account: Send says why
        self.query_one(CreditCounter).balance = balance

    @work(group="draft-restore", exclusive=True, exit_on_error=False)
    async def restore_draft(self) -> None:
        """The Direct draft written to this number back in the editor, unless the agent
        typed meanwhile."""
        editor = self.query_one(MessageEditor)
        row = await self._draft.restore(lambda: not editor.text, number=self.number)
        if row is None:
            return
        self._draft.recipients = self.number
        editor.text = row.text
        area = editor.query_one(TextArea)
        area.move_cursor(area.document.end)
        if row.adopted_from is not None:
            self.notify(
                f"Your kept draft to {self.number} is back in the editor.",
                title="Draft restored",
                markup=False,
            )

    async def on_unmount(self) -> None:
        """The form goes (cancelled, the app quitting): what was typed is kept."""
        area = self._text_area
        await self._draft.last_flush(area.text if area is not None else None)

    @on(TemplatePanel.Chosen)
    def _template_chosen(self, event: TemplatePanel.Chosen) -> None:
        if event.template_id is not None:
            self.fill_from_template(event.template_id)

    @work(group="template-text", exclusive=True, exit_on_error=False)
    async def fill_from_template(self, template_id: int) -> None:
        try:
            text = await self.services.outbound.template_text(self.actor, template_id)
        except BannerError as exc:
            self.query_one("#dialog-error", Static).update(line(exc.message))
            raise
        editor = self.query_one(MessageEditor)
        if await may_replace_text(self.app, editor.text, self._inserted):
            editor.text = self._inserted = text

    @on(TemplatePanel.Replaced)
    def _replaced(self, event: TemplatePanel.Replaced) -> None:
        from bannertui.domain.templates import substitute

        editor = self.query_one(MessageEditor)
        editor.text = substitute(editor.text, event.values)

    def action_replace(self) -> None:
        self.query_one(TemplatePanel).replace_variables()

    @on(MessageEditor.Changed)
    def _edited(self, event: MessageEditor.Changed) -> None:
        self.query_one("#send", Button).disabled = event.over_limit or event.empty
        self._draft.changed(text=event.editor.text)
        error = self.query_one("#dialog-error", Static)
        if str(error.content):  # clear an old error once, not on every key
            error.update("")

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        if self.query_one("#send", Button).disabled:
            return
        sender = self.query_one("#sender", Select).value
        editor = self.query_one(MessageEditor)
        self.send(
            sender if isinstance(sender, str) else None,
            editor.text,
            self.query_one(TemplatePanel).template_id,
        )

    @work(group="direct-send", exclusive=True, exit_on_error=False)
    async def send(self, sender: str | None, text: str, template_id: int | None) -> None:
        try:
            msg = await self.services.outbound.send_direct(
                self.actor, self.number, sender, text, template_id=template_id
            )
        except BannerError as exc:
            self.query_one("#dialog-error", Static).update(line(exc.message))
            if isinstance(exc, InsufficientCredits):
                self.load_balance()  # the counter says it too, with the balance now
            raise
        await self._draft.finish(clear=True)
        credits = f"{msg.credits} credit{'s' if msg.credits != 1 else ''}"
        self.app.notify(f"SMS sent to {self.number} ({credits}).", title="Direct SMS", markup=False)
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
