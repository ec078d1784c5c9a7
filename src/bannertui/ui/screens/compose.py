"""Send SMS from anywhere (SPEC I2), reply (I3), forward (I4) and schedule (I7): one dialog.

Recipients are typed numbers (separated by commas, semicolons or new lines) and contacts or
groups ticked in the list under them; each is checked with the Banner's rules as the list
changes, and the bad ones are named.  Sending with bad recipients asks whether to send to the
good ones only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, SelectionList, Static, TextArea
from textual.widgets.selection_list import Selection

from bannertui.domain.actor import Actor
from bannertui.domain.errors import BannerError, InvalidSchedule
from bannertui.domain.text import plural
from bannertui.services import Services
from bannertui.services.drafts import COMPOSE
from bannertui.services.inbox import Recipients, SendReport
from bannertui.services.outbox import measure_for_send
from bannertui.ui.drafts import DraftKeeper
from bannertui.ui.safe import line
from bannertui.ui.screens.base import BaseModal, typing_pause
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.widgets.message_editor import MessageEditor

_SPLIT = re.compile(r"[,;\n]+")
SCHEDULE_FORMAT = "%Y-%m-%d %H:%M"


def split_numbers(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


def parse_schedule(text: str) -> datetime | None:
    """``YYYY-MM-DD HH:MM`` in this terminal's time zone → an aware datetime; empty → None."""
    text = text.strip()
    if not text:
        return None
    try:
        naive = datetime.strptime(text, SCHEDULE_FORMAT)
    except ValueError:
        raise InvalidSchedule(f"{text!r}: expected YYYY-MM-DD HH:MM") from None
    return naive.astimezone()


@dataclass(frozen=True, slots=True)
class ComposeRequest:
    """What the dialog starts with.  ``mode``: "new", "reply" or "forward"."""

    mode: str = "new"
    numbers: tuple[str, ...] = ()
    text: str = ""
    message_ids: tuple[int, ...] = ()
    #: The sender chosen at first (a reply: the number the customer wrote to).
    sender: str | None = None

    @property
    def keeps_a_draft(self) -> bool:
        """Send SMS opened empty (F5) keeps the agent's one Send SMS draft; a reply or a
        forward starts from the messages chosen, and keeps none."""
        return self.mode == "new" and not self.numbers and not self.text

    @property
    def title(self) -> str:
        if self.mode == "reply":
            n = len(self.message_ids)
            return "Reply" if n == 1 else f"Reply to {n} messages"
        if self.mode == "forward":
            return "Forward SMS"
        return "Send SMS"


class ComposeDialog(BaseModal[SendReport | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="compose.cancel"),
        Binding("ctrl+s", "send", "Send", id="compose.send", priority=True),
    ]

    def __init__(self, services: Services, actor: Actor, request: ComposeRequest) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.request = request
        self.checked: Recipients | None = None
        #: Ticked contacts and groups ("c:ID" / "g:ID") → their label, kept across searches.
        self.ticked: dict[str, str] = {}
        #: The agent's Send SMS draft: the text and the typed numbers (issue #23 item 3).
        self._draft = (
            DraftKeeper(self, services.drafts, actor, COMPOSE) if request.keeps_a_draft else None
        )
        self._text_area: TextArea | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="compose-dialog"):
            yield Static(Content.styled(self.request.title, "bold"), classes="dialog-title")
            with Horizontal(classes="field-row"):
                yield Label("To", classes="field-label")
                yield Input(
                    ", ".join(self.request.numbers),
                    placeholder="+33612345678, +447700900123 …",
                    id="numbers",
                    compact=True,
                )
            with Horizontal(classes="field-row"):
                yield Label("Contacts", classes="field-label")
                yield Input(placeholder="find a contact or group", id="find", compact=True)
            yield SelectionList[str](id="people-pick", classes="indented")
            yield Static(id="recipients-summary", classes="hint indented")
            with Horizontal(classes="field-row"):
                yield Label("From", classes="field-label")
                yield Select[str]([], prompt="Sender (default)", id="sender", compact=True)
            with Horizontal(classes="field-row"):
                yield Label("Send at", classes="field-label")
                yield Input(
                    placeholder="now — or YYYY-MM-DD HH:MM (local time)",
                    id="schedule",
                    compact=True,
                )
            yield MessageEditor(self.request.text, id="editor")
            yield Static(id="dialog-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send ^S", id="send", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.load_context()
        self.search_people("")
        self.check_recipients()
        if self.request.numbers or self.request.mode == "reply":
            self.query_one(MessageEditor).focus_text()
        else:
            self.query_one("#numbers", Input).focus()
        self._text_area = self.query_one(MessageEditor).query_one(TextArea)
        if self._draft is not None:
            self.restore_draft()

    @work(group="draft-restore", exclusive=True, exit_on_error=False)
    async def restore_draft(self) -> None:
        """The Send SMS draft back (its numbers and text), unless the agent typed
        meanwhile; with none, a draft kept from a conversation closed elsewhere, to its
        customer."""
        assert self._draft is not None
        editor = self.query_one(MessageEditor)
        numbers = self.query_one("#numbers", Input)
        row = await self._draft.restore(lambda: not editor.text and not numbers.value)
        if row is None:
            return
        numbers.value = row.recipients
        numbers.cursor_position = len(numbers.value)
        editor.text = row.text
        area = editor.query_one(TextArea)
        area.move_cursor(area.document.end)
        if row.recipients and numbers.has_focus:
            editor.focus_text()  # the numbers are there: the text is what comes next
        if row.adopted_from is not None:
            customer = line(row.adopted_number or "").plain
            self.notify(
                f"Your draft kept from the conversation with {customer} is here.",
                title="Draft restored",
                markup=False,
            )

    async def on_unmount(self) -> None:
        """The dialog goes (cancelled, the app quitting): what was typed is kept."""
        if self._draft is None:
            return
        area = self._text_area
        await self._draft.last_flush(area.text if area is not None else None)

    @work(group="compose-context", exit_on_error=False)
    async def load_context(self) -> None:
        ctx = await self.services.agents.context(self.actor)
        select = self.query_one("#sender", Select)
        numbers = ctx.sender_numbers
        select.set_options([(n, n) for n in numbers])
        if numbers:
            select.prompt = f"Default ({numbers[0]})"
            if self.request.sender in numbers:
                select.value = self.request.sender
        else:
            self._error("No sender number: no SMS number is assigned to your profile")

    # --- recipients --------------------------------------------------------------------------

    @on(Input.Changed, "#find")
    def _find(self, event: Input.Changed) -> None:
        self.search_people(event.value, typed=True)

    @work(group="compose-people", exclusive=True, exit_on_error=False)
    async def search_people(self, text: str, typed: bool = False) -> None:
        await typing_pause(typed)
        people = self.services.people
        groups = [g for g in await people.groups(self.actor) if text.lower() in g.name.lower()]
        contacts = await people.contacts(self.actor, text, limit=50)
        pick = self.query_one("#people-pick", SelectionList)
        pick.clear_options()
        options: list[Selection[str]] = []
        for g in groups:
            key = f"g:{g.id}"
            label = f"Group: {g.name} ({g.members})"
            options.append(Selection(line(label), key, key in self.ticked))
        for c in contacts:
            key = f"c:{c.id}"
            label = f"{c.display_name}  {c.number}"
            options.append(Selection(line(label), key, key in self.ticked))
        pick.add_options(options)
        if options:
            # Space ticks the highlighted line: the first one is, before any arrow key
            # (Space did nothing until an arrow had highlighted a line: issue #19).
            pick.highlighted = 0

    @on(SelectionList.SelectionToggled, "#people-pick")
    def _toggled(self, event: SelectionList.SelectionToggled[str]) -> None:
        key = event.selection.value
        if key in self.ticked:
            del self.ticked[key]
        else:
            self.ticked[key] = str(event.selection.prompt)
        self.check_recipients()

    @on(Input.Changed, "#numbers")
    def _numbers_changed(self, event: Input.Changed) -> None:
        self.check_recipients(typed=True)
        if self._draft is not None:
            self._draft.changed(recipients=event.value)

    def _selection(self) -> tuple[list[str], list[int], list[int]]:
        numbers = split_numbers(self.query_one("#numbers", Input).value)
        contacts = [int(k[2:]) for k in self.ticked if k.startswith("c:")]
        groups = [int(k[2:]) for k in self.ticked if k.startswith("g:")]
        return numbers, contacts, groups

    @work(group="compose-check", exclusive=True, exit_on_error=False)
    async def check_recipients(self, typed: bool = False) -> None:
        await typing_pause(typed)
        numbers, contacts, groups = self._selection()
        summary = self.query_one("#recipients-summary", Static)
        if not (numbers or contacts or groups):
            self.checked = None
            summary.update(Content("No recipient yet"))
            summary.set_class(False, "-bad")
            return
        checked = await self.services.inbox.recipients(
            self.actor, numbers, contact_ids=contacts, group_ids=groups
        )
        self.checked = checked
        n = len(checked.numbers)
        text = f"{n} recipient{'' if n == 1 else 's'}"
        if checked.rejected:
            shown = "; ".join(str(r) for r in checked.rejected[:3])
            more = len(checked.rejected) - 3
            text += f" · rejected: {shown}" + (f" (+{more} more)" if more > 0 else "")
        summary.update(line(text))
        summary.set_class(bool(checked.rejected), "-bad")

    # --- sending -------------------------------------------------------------------------------

    @on(MessageEditor.Changed)
    def _edited(self, event: MessageEditor.Changed) -> None:
        self.query_one("#send", Button).disabled = event.over_limit
        if self._draft is not None:
            self._draft.changed(text=event.editor.text)
        error = self.query_one("#dialog-error", Static)
        if str(error.content):
            error.update("")

    def _error(self, text: str) -> None:
        self.query_one("#dialog-error", Static).update(line(text))

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        if self.query_one("#send", Button).disabled:
            return
        self.send()

    @work(group="compose-send", exclusive=True, exit_on_error=False)
    async def send(self) -> None:
        try:
            measured = measure_for_send(self.query_one(MessageEditor).text)  # Empty, over limit
            scheduled = parse_schedule(self.query_one("#schedule", Input).value)
            numbers, contacts, groups = self._selection()
            checked = await self.services.inbox.recipients(
                self.actor, numbers, contact_ids=contacts, group_ids=groups
            )
            n = len(checked.numbers)
            needed = n * measured.credits
            balance = await self.services.accounts.balance(self.actor)
            # What it costs against the balance, told before it is sent (issue #19); short,
            # nothing is sent (a send to many is paid as a whole).
            cost = (
                f"{n:,} SMS of {plural(measured.credits, 'credit')}: "
                f"{plural(needed, 'credit')} of the {balance:,} left."
            )
            if needed > balance and (n > 1 or checked.rejected):
                self._error(
                    f"Insufficient credits: {n:,} SMS need {needed:,}, "
                    f"{balance:,} left: nothing is sent"
                )
                return
            skip = False
            if checked.rejected:
                if not checked.numbers:
                    self._error("; ".join(str(r) for r in checked.rejected[:3]))
                    return
                bad = len(checked.rejected)
                listed = "\n".join(f"  {r}" for r in checked.rejected[:8])
                more = f"\n  … and {bad - 8} more" if bad > 8 else ""
                question = Content(
                    f"{bad} recipient{'s are' if bad > 1 else ' is'} rejected:\n{listed}{more}\n\n"
                    f"Send to the other {n}? {cost}"
                )
                ok = await self.app.push_screen_wait(
                    ConfirmDialog("Rejected recipients", question, confirm="Send to the others")
                )
                if not ok:
                    return
                skip = True
            elif n > 1:
                ok = await self.app.push_screen_wait(
                    ConfirmDialog(
                        f"Send to {n:,} recipients",
                        Content(f"Send to {n:,} recipients? {cost}"),
                        confirm=f"Send {n:,}",
                    )
                )
                if not ok:
                    return
            sender = self.query_one("#sender", Select).value
            report = await self._dispatch(
                numbers,
                contacts,
                groups,
                sender if isinstance(sender, str) else None,
                scheduled,
                skip,
            )
        except BannerError as exc:
            self._error(exc.message)
            return
        if self._draft is not None:
            await self._draft.finish(clear=True)
        self.dismiss(report)

    async def _dispatch(
        self,
        numbers: list[str],
        contacts: list[int],
        groups: list[int],
        sender: str | None,
        scheduled: datetime | None,
        skip: bool,
    ) -> SendReport:
        inbox = self.services.inbox
        text = self.query_one(MessageEditor).text
        if self.request.mode == "forward":
            return await inbox.forward(
                self.actor,
                list(self.request.message_ids),
                numbers,
                text,
                contact_ids=contacts,
                group_ids=groups,
                sender=sender,
                skip_rejected=skip,
                scheduled_at=scheduled,
            )
        return await inbox.send(
            self.actor,
            numbers,
            text,
            sender=sender,
            contact_ids=contacts,
            group_ids=groups,
            scheduled_at=scheduled,
            skip_rejected=skip,
            action="sms.replied" if self.request.mode == "reply" else "sms.sent",
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
