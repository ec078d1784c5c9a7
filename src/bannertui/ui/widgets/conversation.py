"""A Smart SMS conversation (SPEC B6–B10): the thread, then the message form."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, Static

from bannertui.domain.actor import Actor
from bannertui.domain.errors import EmptyMessage
from bannertui.domain.templates import substitute
from bannertui.services import Services
from bannertui.services.conversations import InteractionSummary, ThreadPage
from bannertui.store.models import InteractionStatus
from bannertui.ui.messages import InteractionEnded, MessageSent
from bannertui.ui.safe import line
from bannertui.ui.screens.base import ReportsWorkerErrors
from bannertui.ui.widgets.credit_counter import CreditCounter
from bannertui.ui.widgets.message_editor import MessageEditor
from bannertui.ui.widgets.template_panel import TemplatePanel, may_replace_text
from bannertui.ui.widgets.thread import ThreadView

#: SPEC B10: shown, but not offered, on Smart SMS interactions.
UNAVAILABLE = ("Transfer", "Private message", "Attachment", "Video")


class ConversationPane(ReportsWorkerErrors, Vertical):
    DEFAULT_CSS = """
    ConversationPane { height: 1fr; }
    ConversationPane #conversation-title {
        height: auto; max-height: 2; padding: 0 1; background: $boost;
    }
    ConversationPane #composer { height: auto; border-top: solid $primary-muted; padding: 0 1; }
    ConversationPane MessageEditor TextArea { height: 4; }
    ConversationPane #actions { height: auto; }
    ConversationPane #actions Button { min-width: 8; margin-right: 1; }
    ConversationPane #unavailable { height: 1; }
    """

    def __init__(self, services: Services, actor: Actor, item: InteractionSummary) -> None:
        super().__init__(id=f"conversation-{item.id}", classes="interaction-pane")
        self.services = services
        self.actor = actor
        self.item = item
        self.page_size = 50
        #: The text a template last put in the editor (replacing it needs no question).
        self._inserted: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="conversation-title")
        yield ThreadView(who=self.item.contact_name, id="thread")
        with Vertical(id="composer"):
            yield TemplatePanel(id="template-panel")
            yield MessageEditor(id="editor")
            with Horizontal(id="actions"):
                yield Button("Send ^S", id="send", variant="primary", disabled=True, compact=True)
                yield Button("Close F8", id="close", compact=True)
                yield Button("Archive F9", id="archive", compact=True)
            yield Static(
                Content.assemble(
                    ("Not available for SMS: ", "$text-muted"),
                    (" · ".join(UNAVAILABLE), "strike $text-muted"),
                ),
                id="unavailable",
            )

    def _title(self) -> Content:
        return Content.assemble(
            ("✉ ", "$primary"),
            line(self.item.who_and_number),
            " · ",
            line(self.item.queue_name or "no queue"),
            " · ",
            (self.item.status, "bold"),
        )

    def on_mount(self) -> None:
        self.load_templates()
        self.reload()

    @property
    def progressing(self) -> bool:
        return self.item.status == InteractionStatus.PROGRESSING

    # --- data ----------------------------------------------------------------------------

    def reload(self) -> None:
        loaded = max((len(v.messages) for v in self.query(ThreadView)), default=0)
        self.load_thread(max(self.page_size, loaded))

    @work(group="thread", exclusive=True, exit_on_error=False)
    async def load_thread(self, limit: int) -> None:
        page = await self.services.conversations.thread(self.actor, self.item.id, limit=limit)
        for view in self.query(ThreadView):  # none while the pane is being replaced
            view.show(page)

    def statuses_moved(self, moved: dict[int, str]) -> None:
        """Messages' statuses moved (sent, delivered), nothing else: shown without a read."""
        for view in self.query(ThreadView):
            view.statuses_moved(moved)

    @on(ThreadView.OlderWanted)
    def _older(self, event: ThreadView.OlderWanted) -> None:
        self.load_older(event.before_id)

    @work(group="thread-older", exclusive=True, exit_on_error=False)
    async def load_older(self, before_id: int) -> None:
        page: ThreadPage = await self.services.conversations.thread(
            self.actor, self.item.id, limit=self.page_size, before_id=before_id
        )
        for view in self.query(ThreadView):
            view.prepend(page)

    @work(group="templates", exclusive=True, exit_on_error=False)
    async def load_templates(self) -> None:
        if self.item.queue_id is None:
            return
        templates = await self.services.outbound.templates(self.actor, self.item.queue_id)
        self.query_one(TemplatePanel).set_templates(templates)

    # --- the form --------------------------------------------------------------------------

    @on(TemplatePanel.Chosen)
    def _template_chosen(self, event: TemplatePanel.Chosen) -> None:
        if event.template_id is not None:
            self.fill_from_template(event.template_id)

    @work(group="template-text", exclusive=True, exit_on_error=False)
    async def fill_from_template(self, template_id: int) -> None:
        text = await self.services.outbound.template_text(
            self.actor, template_id, self.item.queue_id
        )
        editor = self.query_one(MessageEditor)
        if await may_replace_text(self.app, editor.text, self._inserted):
            editor.text = self._inserted = text

    @on(TemplatePanel.Replaced)
    def _replaced(self, event: TemplatePanel.Replaced) -> None:
        editor = self.query_one(MessageEditor)
        editor.text = substitute(editor.text, event.values)

    @on(MessageEditor.Changed)
    def _edited(self, event: MessageEditor.Changed) -> None:
        self.query_one("#send", Button).disabled = (
            event.over_limit or event.empty or not self.progressing
        )

    def action_replace(self) -> None:
        self.query_one(TemplatePanel).replace_variables()

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        editor = self.query_one(MessageEditor)
        if self.query_one("#send", Button).disabled:
            if not editor.text.strip():
                self.notify(EmptyMessage("type a message first").message, severity="warning")
            return
        from bannertui.ui.screens.confirm import ConfirmDialog

        credits = editor.query_one(CreditCounter).measure.credits
        question = Content.assemble(
            "Send this SMS to ",
            line(self.item.who_and_number),
            f" from queue {line(self.item.queue_name or '').plain}? It uses "
            f"{credits} credit{'s' if credits != 1 else ''}.",
        )
        text = editor.text
        template_id = self.query_one(TemplatePanel).template_id

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.send(text, template_id)

        self.app.push_screen(ConfirmDialog("Send SMS", question, confirm="Send"), confirmed)

    @work(group="send", exclusive=True, exit_on_error=False)
    async def send(self, text: str, template_id: int | None) -> None:
        await self.services.outbound.send_smart(
            self.actor, self.item.id, text, template_id=template_id
        )
        editor = self.query_one(MessageEditor)
        editor.clear()
        self.query_one(TemplatePanel).reset()
        self.post_message(MessageSent(self.item.id))
        self.reload()

    @on(Button.Pressed, "#close")
    def action_close_interaction(self) -> None:
        self._confirm_end(archive=False)

    @on(Button.Pressed, "#archive")
    def action_archive(self) -> None:
        self._confirm_end(archive=True)

    def _confirm_end(self, archive: bool) -> None:
        """Closing a customer's conversation is never one key (F8, F9, Enter on a button):
        one question naming the customer, answered with Enter on its button; no letter
        answers it, so prose typed after a stray F8 cannot."""
        from bannertui.ui.screens.confirm import ConfirmDialog

        verb = "Archive" if archive else "Close"
        question = Content.assemble(
            f"{verb} the conversation with ",
            line(self.item.who),
            "?" if not archive else "? It leaves your list and is kept in the inbox.",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.end(archive=archive)
            else:
                self.focus_editor()

        self.app.push_screen(
            ConfirmDialog(f"{verb} interaction", question, confirm=verb, letters=False), answered
        )

    @work(group="end", exclusive=True, exit_on_error=False)
    async def end(self, archive: bool) -> None:
        if archive:
            await self.services.conversations.archive(self.actor, self.item.id)
        else:
            await self.services.conversations.close(self.actor, self.item.id)
        self.notify(
            f"Interaction with {line(self.item.who).plain} {'archived' if archive else 'closed'}.",
            markup=False,
        )
        self.post_message(InteractionEnded(self.item.id))

    def focus_editor(self) -> None:
        for editor in self.query(MessageEditor):
            editor.focus_text()

    def focus_target(self) -> Widget | None:
        """What :meth:`focus_editor` focuses: the editor's text area."""
        areas = self.query("MessageEditor TextArea")
        return areas.first() if areas else None
