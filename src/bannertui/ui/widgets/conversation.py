"""A Smart SMS conversation (SPEC B6–B10): the thread, then the message form."""

from __future__ import annotations

import asyncio
import contextlib

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, Static, TextArea

from bannertui.domain.actor import Actor
from bannertui.domain.enums import InteractionStatus
from bannertui.domain.errors import BannerError, EmptyMessage, InsufficientCredits
from bannertui.domain.templates import substitute
from bannertui.services import Services
from bannertui.services.conversations import InteractionSummary, ThreadPage
from bannertui.ui.drafts import FLUSH_TIMEOUT_SECONDS, DraftKeeper
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
        #: What the agent types, kept in the database (issue #23 item 3).
        self._draft = DraftKeeper(self, services.drafts, actor, item.id)
        #: The editor's text area, read once more as the pane goes (its children are gone by
        #: then; a change still on its way to the pane is not lost).
        self._text_area: TextArea | None = None

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
        self._text_area = self.query_one(MessageEditor).query_one(TextArea)
        self.restore_draft()
        self.load_templates()
        self.reload()

    async def on_unmount(self) -> None:
        """The pane goes (another conversation shown, this one ended, the app quitting): what
        was typed since the last save is saved now.  Textual awaits this before the next pane
        mounts, so that pane's restore reads it.  A draft of a conversation closed elsewhere
        (the pane goes because another console or process closed it) is kept, and the agent
        is told where to find it."""
        area = self._text_area
        row = await self._draft.last_flush(area.text if area is not None else None)
        if self._draft.finished or self._draft.blank:
            return
        if row is None:  # unchanged since the last save: is the conversation still open?
            try:
                row = await asyncio.wait_for(
                    self.services.drafts.get(self.actor, self.item.id), FLUSH_TIMEOUT_SECONDS
                )
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception:
                return  # no longer theirs, or the database gone: nothing to tell
        if row is not None and row.closed:
            with contextlib.suppress(Exception):  # the app may be quitting
                self.app.notify(
                    f"Your draft to {line(self.item.who_and_number).plain} was kept: the "
                    "conversation was closed elsewhere. It comes back in Send SMS (F5) or "
                    "in your next SMS to this number.",
                    title="Draft kept",
                    severity="warning",
                    timeout=15,
                    markup=False,
                )

    def hidden(self) -> None:
        """The Banner switched to another conversation and keeps this pane, hidden: what was
        typed since the last save is saved now, as when a pane goes."""
        area = self._text_area
        if area is not None and not self._draft.finished:
            self.run_worker(self._draft.flush(area.text), group="draft-save", exit_on_error=False)

    def shown_again(self, item: InteractionSummary) -> None:
        """Shown again after :meth:`hidden`: its title, thread and balance as they are now
        (they are not followed while hidden); the editor is as the agent left it."""
        if item != self.item:
            self.item = item
            self.query_one("#conversation-title", Static).update(self._title())
        self.reload()

    @property
    def progressing(self) -> bool:
        return self.item.status == InteractionStatus.PROGRESSING

    # --- data ----------------------------------------------------------------------------

    def reload(self) -> None:
        loaded = max((len(v.messages) for v in self.query(ThreadView)), default=0)
        self.load_thread(max(self.page_size, loaded))
        self.load_balance()

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

    @work(group="draft-restore", exclusive=True, exit_on_error=False)
    async def restore_draft(self) -> None:
        """The conversation's draft back in the editor, unless the agent typed meanwhile."""
        editor = self.query_one(MessageEditor)
        row = await self._draft.restore(lambda: not editor.text)
        if row is None:
            return
        editor.text = row.text
        area = editor.query_one(TextArea)
        area.move_cursor(area.document.end)  # go on where they stopped
        if row.adopted_from is not None:
            self.notify(
                f"Your kept draft to {line(self.item.who_and_number).plain} is back in the editor.",
                title="Draft restored",
                markup=False,
            )

    @work(group="templates", exclusive=True, exit_on_error=False)
    async def load_templates(self) -> None:
        if self.item.queue_id is None:
            return
        templates = await self.services.outbound.templates(self.actor, self.item.queue_id)
        panels = self.query(TemplatePanel)
        if panels:  # none once the pane is being replaced (a switch while this read ran)
            panels.first().set_templates(templates)

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
        self._draft.changed(text=event.editor.text)

    def action_replace(self) -> None:
        self.query_one(TemplatePanel).replace_variables()

    @work(group="balance", exclusive=True, exit_on_error=False)
    async def load_balance(self) -> None:
        """The account's credits under the editor: "Credits: 0 — cannot send" is said before
        the agent writes, not after they confirm (read again as the database moves)."""
        try:
            balance: int | None = await self.services.accounts.balance(self.actor)
        except BannerError:
            balance = None  # no account: the send says why
        self.show_balance(balance)

    def show_balance(self, balance: int | None) -> None:
        """The balance under the editor (None: unknown), e.g. from the Banner's snapshot."""
        for counter in self.query(CreditCounter):
            counter.balance = balance

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        editor = self.query_one(MessageEditor)
        if self.query_one("#send", Button).disabled:
            if not editor.text.strip():
                self.notify(EmptyMessage("type a message first").message, severity="warning")
            return
        credits = editor.query_one(CreditCounter).measure.credits
        self.ask_to_send(editor.text, self.query_one(TemplatePanel).template_id, credits)

    @work(group="send-check", exclusive=True, exit_on_error=False)
    async def ask_to_send(self, text: str, template_id: int | None, credits: int) -> None:
        """SPEC B8's confirmation, once the balance is read: an SMS it cannot pay for is
        refused now, by its SPEC name, not after the agent has said Send (the services still
        refuse it, should other sends take the credits meanwhile)."""
        from bannertui.ui.screens.confirm import ConfirmDialog

        balance = await self.services.accounts.balance(self.actor)
        self.show_balance(balance)
        if balance < credits:
            raise InsufficientCredits(f"{credits} needed, {balance} left")
        question = Content.assemble(
            "Send this SMS to ",
            line(self.item.who_and_number),
            f" from queue {line(self.item.queue_name or '').plain}? It uses "
            f"{credits} credit{'s' if credits != 1 else ''} of the {balance} left.",
        )

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.send(text, template_id)

        self.app.push_screen(ConfirmDialog("Send SMS", question, confirm="Send"), confirmed)

    @work(group="send", exclusive=True, exit_on_error=False)
    async def send(self, text: str, template_id: int | None) -> None:
        await self.services.outbound.send_smart(
            self.actor, self.item.id, text, template_id=template_id
        )
        await self._draft.sent()
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
        unsent = bool(self.query_one(MessageEditor).text.strip())
        question = Content.assemble(
            f"{verb} the conversation with ",
            line(self.item.who),
            "?" if not archive else "? It leaves your list and is kept in the inbox.",
            " Your unsent text is discarded." if unsent else "",
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
        # Ended by the agent, after a question that said so: their unsent text goes with it
        # (closed elsewhere, it is kept: see on_unmount).
        await self._draft.finish(clear=True)
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
