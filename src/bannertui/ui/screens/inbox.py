"""The SMS inbox (SPEC I1–I9, X2): views with counts on the left, a page of messages on the
right, multi-select from the keyboard, and the actions on the selection."""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction, MessageStatus
from bannertui.domain.text import one_line, plural
from bannertui.services import Services
from bannertui.services.inbox import (
    PAGE,
    RESEND_CHUNK,
    InboxFilter,
    InboxPage,
    InboxRow,
    PageKey,
    SendReport,
    View,
)
from bannertui.ui.safe import line, rich_plain
from bannertui.ui.screens.base import LiveScreen
from bannertui.ui.screens.compose import ComposeDialog, ComposeRequest
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.widgets.footer import KeyFooter
from bannertui.ui.widgets.row_table import RowTable

#: Longest wait for changes from other processes (dispatcher, webhook, other agents).
CHANGE_POLL_SECONDS = 0.5
#: The counts need one grouped scan of the view index: at most this often.
COUNTS_EVERY_SECONDS = 2.0

STATE_STYLE = {
    MessageStatus.DELIVERED: "green",
    MessageStatus.SENT: "green",
    MessageStatus.FAILED: "red",
    MessageStatus.BLOCKED: "red",
    MessageStatus.PENDING: "yellow",
    MessageStatus.SENDING: "yellow",
    MessageStatus.SCHEDULED: "cyan",
}


def compact(n: int) -> str:
    """A count in at most 5 characters: 999, 9,999, 12k, 1.2M."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M"


def when(at: datetime | None) -> str:
    return at.astimezone().strftime("%d %b %H:%M") if at else ""


def short_when(at: datetime | None, today: datetime) -> str:
    """The table's date: the time today, the day otherwise."""
    if at is None:
        return ""
    local = at.astimezone()
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%d %b")


def state_label(row: InboxRow) -> str:
    """X2: the delivery state, with the reason of a failure or block."""
    label = row.status
    if row.status == MessageStatus.SCHEDULED and row.scheduled_at:
        label = f"scheduled {when(row.scheduled_at)}"
    if row.error and row.status in (MessageStatus.FAILED, MessageStatus.BLOCKED):
        label = f"{label}: {row.error}"
    return label


def state_text(row: InboxRow, width: int | None = None) -> Text:
    return rich_plain(
        one_line(state_label(row), width), STATE_STYLE.get(MessageStatus(row.status), "")
    )


def filter_text(f: InboxFilter) -> str:
    parts = []
    if f.number.strip():
        parts.append(f"number ~ {f.number.strip()}")
    if f.contact.strip():
        parts.append(f"contact ~ {f.contact.strip()}")
    if f.text:
        parts.append(f"text ~ {f.text}")
    if f.since:
        parts.append(f"from {f.since.astimezone():%Y-%m-%d}")
    if f.until:
        parts.append(f"before {f.until.astimezone():%Y-%m-%d}")
    return "Filter: " + ", ".join(parts) + "  (/ to change)"


class InboxScreen(LiveScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Banner", id="inbox.back"),
        Binding("space", "toggle_selection", "Select", id="inbox.toggle", show=False),
        Binding("ctrl+a", "select_all", "Page", id="inbox.all", show=False),
        Binding("A", "select_view", "Whole view", id="inbox.view", show=False),
        Binding("x", "clear", "Clear", id="inbox.clear", show=False),
        Binding("r", "reply", "Reply", id="inbox.reply"),
        Binding("f", "forward", "Forward", id="inbox.forward", show=False),
        Binding("d,delete", "delete", "Delete", id="inbox.delete"),
        Binding("u", "restore", "Restore", id="inbox.restore"),
        Binding("R", "resend", "Resend", id="inbox.resend"),
        Binding("slash", "filter", "Filter", id="inbox.filter"),
        Binding("right_square_bracket", "next_page", "Next page", id="inbox.next", show=False),
        Binding(
            "left_square_bracket", "previous_page", "Prev page", id="inbox.previous", show=False
        ),
    ]

    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.view = View.ALL
        self.filters = InboxFilter()
        #: ``after`` keys of the pages before the current one, and the current one's.
        self._keys: list[PageKey | None] = [None]
        self.page: InboxPage | None = None
        self.selected: set[int] = set()
        self.counts: dict[View, int] = {}
        self._counted_at = 0.0
        self._counts_due = False
        #: The view's keys changed: the footer is rebuilt once its first page is shown.
        self._footer_due = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="inbox-body"):
            yield OptionList(*(Option(v.short, id=v.value) for v in View), id="views", markup=False)
            with Vertical(id="inbox-main"):
                yield Static(id="inbox-status")
                yield ProgressBar(id="bulk-progress", show_eta=False)
                yield RowTable(id="messages")
                yield Static(id="preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#messages", DataTable)
        # Narrow columns first, the text last: at 80×24 everything but the end of the text is
        # on screen; the line under the table shows the highlighted message in full.
        table.add_column(" ", key="sel", width=1)
        table.add_column("Date", key="date", width=6)
        table.add_column(" ", key="dir", width=1)
        table.add_column("Contact", key="who", width=12)
        table.add_column("State", key="state", width=9)
        table.add_column("Text", key="text")
        self.query_one("#views", OptionList).highlighted = 0
        self.query_one("#bulk-progress").display = False
        table.focus()
        self.follow_database(
            self.services, CHANGE_POLL_SECONDS, first=lambda: self.load(counts=True)
        )

    # --- loading -------------------------------------------------------------------------

    async def database_checked(self, changed: bool) -> None:
        """A change reloads the page at once and the counts at most every
        COUNTS_EVERY_SECONDS: a change that comes sooner leaves them due, for a later tick."""
        if changed and self.page is not None:
            self._counts_due = True
            await self._load(False)
        if self._counts_due and time.monotonic() - self._counted_at >= COUNTS_EVERY_SECONDS:
            await self._reload_counts()

    async def _reload_counts(self) -> None:
        self._counts_due = False
        self._counted_at = time.monotonic()
        self.show_counts(await self.services.inbox.counts(self.actor))

    @work(group="inbox-load", exclusive=True, exit_on_error=False)
    async def load(self, counts: bool = False) -> None:
        await self._load(counts)

    async def _load(self, counts: bool) -> None:
        inbox = self.services.inbox
        wanted = (self.view, self._keys[-1], self.filters)
        try:
            page = await inbox.page(self.actor, wanted[0], after=wanted[1], filters=wanted[2])
            if (self.view, self._keys[-1], self.filters) == wanted:
                # Else the view, page or filter changed while this one was read (a change
                # check's reload, not cancelled by a switch): the load the change started
                # shows the page that is wanted now.
                self.show_page(page)
        finally:
            if self._footer_due:
                # The footer's keys changed with the view: it is rebuilt (recomposed) only
                # now, after the page; rebuilt on the switch, its recompose, layout and
                # paint ran while the page loaded and held the page back (bench_scope.py).
                self._footer_due = False
                self.refresh_bindings()
        if counts:
            self.load_counts()

    @work(group="inbox-counts", exclusive=True, exit_on_error=False)
    async def load_counts(self) -> None:
        """The counts in a worker of their own: the page load that a view switch starts (it
        cancels the one before) does not cancel them; F4 then a key at once left the views
        without counts until the next change in the database."""
        await self._reload_counts()

    def show_counts(self, counts: dict[View, int]) -> None:
        self.counts = counts
        views = self.query_one("#views", OptionList)
        for index, view in enumerate(View):
            views.replace_option_prompt_at_index(
                index, Content(f"{view.short:<15} {compact(counts.get(view, 0)):>5}")
            )
        self._status()

    def show_page(self, page: InboxPage) -> None:
        self.page = page
        table = self.query_one("#messages", DataTable)
        cursor = table.cursor_row
        current = self._cursor_id()
        table.clear()
        today = datetime.now().astimezone()
        for r in page.rows:
            table.add_row(
                self._mark(r.id),
                short_when(r.created_at, today),
                "←" if r.direction == Direction.INBOUND else "→",
                rich_plain(one_line(r.who, 12)),
                state_text(r, 9),
                rich_plain(one_line(r.text, 70)),
                key=str(r.id),
            )
        if page.rows:
            ids = [r.id for r in page.rows]
            row = ids.index(current) if current in ids else min(cursor, len(ids) - 1)
            table.move_cursor(row=max(row, 0), animate=False)
        self._status()
        self._preview()

    @on(DataTable.RowHighlighted, "#messages")
    def _preview(self) -> None:
        """The highlighted message in two lines: who, when and the state with its reason;
        the start of the text."""
        found = self.query("#preview")
        if not found:
            return  # the table reports its first highlight while the screen is composed
        preview = found.first(Static)
        current = self._cursor_id()
        rows = self._rows([current]) if current is not None else []
        if not rows:
            preview.update("")
            return
        r = rows[0]
        arrow = "from" if r.direction == Direction.INBOUND else "to"
        who = f"{r.contact_name} {r.remote_number}" if r.contact_name else r.remote_number
        head = one_line(f"{arrow} {who} · {when(r.created_at)}")
        preview.update(
            Content.assemble(
                head,
                " · ",
                Content.styled(one_line(state_label(r)), "bold"),
                "\n",
                one_line(r.text),
            )
        )

    def _status(self) -> None:
        page = self.page
        if page is None:
            return
        number = len(self._keys)
        first = (number - 1) * PAGE + 1
        shown = len(page.rows)
        total = self.counts.get(self.view)
        parts = [Content.styled(self.view.label, "bold")]
        if shown:
            of = f" of {total:,}" if total is not None and self.filters.empty else ""
            parts.append(Content(f" · {first:,}–{first + shown - 1:,}{of}"))
        else:
            parts.append(Content(" · no messages"))
        if page.next_after is not None:
            parts.append(Content(" · ] next page"))
        if number > 1:
            parts.append(Content(" · [ previous"))
        if self.selected:
            parts.append(Content.styled(f" · {len(self.selected)} selected", "$accent"))
        if not self.filters.empty:
            parts.append(Content("\n"))
            parts.append(line(filter_text(self.filters)))
        self.query_one("#inbox-status", Static).update(Content.assemble(*parts))

    def _mark(self, message_id: int) -> Text:
        return Text("■" if message_id in self.selected else "□")

    def _cursor_id(self) -> int | None:
        table = self.query_one("#messages", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None

    def _targets(self) -> list[int]:
        """The selection, or the message under the cursor when nothing is selected."""
        if self.selected:
            return sorted(self.selected)
        current = self._cursor_id()
        return [] if current is None else [current]

    def _rows(self, ids: list[int]) -> list[InboxRow]:
        rows = {r.id: r for r in (self.page.rows if self.page else ())}
        return [rows[i] for i in ids if i in rows]

    # --- views and pages -------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#views")
    def _view_chosen(self, event: OptionList.OptionHighlighted) -> None:
        """The list's highlight chooses the view: one way, list → view.  A burst of arrows
        (Up Up Up) moves the highlight three times before the first report arrives: only the
        report of where the list is now counts, the others are stale.  (Acting on each one
        set the highlight back to a stale view, which reported a change again: issue #23
        item 9, three views flipping for ever.)"""
        if event.option_index != event.option_list.highlighted:
            return
        view = View(event.option.id or View.ALL.value)
        if view is not self.view:
            self.show_view(view)

    def show_view(self, view: View) -> None:
        keys_before = self._view_keys()
        self.view = view
        views = self.query_one("#views", OptionList)
        index = list(View).index(view)
        if views.highlighted != index:
            # Chosen from elsewhere: the list follows without reporting it as a choice.
            with self.prevent(OptionList.OptionHighlighted):
                views.highlighted = index
        self._keys = [None]
        self.selected.clear()
        if self._view_keys() != keys_before:
            self._footer_due = True  # rebuilt when the view's first page is shown
        self.load()

    def _view_keys(self) -> tuple[bool | None, ...]:
        return tuple(self.check_action(a, ()) for a in ("restore", "delete", "resend"))

    def action_next_page(self) -> None:
        if self.page is not None and self.page.next_after is not None:
            self._keys.append(self.page.next_after)
            self.load()

    def action_previous_page(self) -> None:
        if len(self._keys) > 1:
            self._keys.pop()
            self.load()

    def action_back(self) -> None:
        self.dismiss(None)

    # --- selection ---------------------------------------------------------------------------

    def action_toggle_selection(self) -> None:
        current = self._cursor_id()
        if current is None:
            return
        self.selected ^= {current}
        table = self.query_one("#messages", DataTable)
        table.update_cell(str(current), "sel", self._mark(current))
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1, animate=False)
        self._status()

    def action_select_all(self) -> None:
        if self.page is None:
            return
        self.selected = {r.id for r in self.page.rows}
        self._repaint_marks()

    @work(group="inbox-select", exclusive=True, exit_on_error=False)
    async def action_select_view(self) -> None:
        """Every message of the view (with the filter), on every page: for bulk work."""
        ids = await self.services.inbox.view_ids(self.actor, self.view, filters=self.filters)
        self.selected = set(ids)
        self._repaint_marks()

    def action_clear(self) -> None:
        self.selected.clear()
        self._repaint_marks()

    def _repaint_marks(self) -> None:
        table = self.query_one("#messages", DataTable)
        for r in self.page.rows if self.page else ():
            table.update_cell(str(r.id), "sel", self._mark(r.id))
        self._status()

    @on(DataTable.RowSelected, "#messages")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_message(int(event.row_key.value))

    # --- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The keys of the view shown, the others off the footer (at 80 columns there is
        no room for dimmed ones)."""
        deleted = self.view is View.DELETED
        if action == "restore":
            return deleted
        if action in ("delete", "reply", "forward"):
            return not deleted
        if action == "resend":
            return self.view in (View.FAILED, View.ALL)
        return True

    def action_reply(self) -> None:
        ids = self._targets()
        if not ids:
            self.notify("Select the messages to reply to", severity="warning")
            return
        self.reply(ids)

    @work(group="inbox-action", exclusive=True, exit_on_error=False)
    async def reply(self, ids: list[int]) -> None:
        inbox = self.services.inbox
        numbers = await inbox.reply_numbers(self.actor, ids)
        sender = await inbox.reply_sender(self.actor, ids)
        self._open_compose(ComposeRequest("reply", tuple(numbers), "", tuple(ids), sender))

    def action_forward(self) -> None:
        ids = self._targets()
        if len(ids) != 1:
            self.notify(
                f"Forward one message at a time ({len(ids)} selected)"
                if ids
                else "Select the message to forward",
                severity="warning",
                markup=False,
            )
            return
        rows = self._rows(ids)
        text = rows[0].text if rows else ""
        self._open_compose(ComposeRequest("forward", (), text, tuple(ids)))

    def _open_compose(self, request: ComposeRequest) -> None:
        self.app.push_screen(ComposeDialog(self.services, self.actor, request), self._sent)

    def _sent(self, report: SendReport | None) -> None:
        if report is None:
            return
        n = len(report.message_ids)
        what = f"{n} SMS" + (
            f" scheduled for {when(report.scheduled_at)}" if report.scheduled_at else " queued"
        )
        self.notify(f"{what} · {plural(report.credits, 'credit')}", markup=False)
        self.selected.clear()
        self.load(counts=True)

    def action_delete(self) -> None:
        ids = self._targets()
        if ids:
            self.delete(ids)

    @work(group="inbox-action", exclusive=True, exit_on_error=False)
    async def delete(self, ids: list[int]) -> None:
        n = len(ids)
        ok = await self.app.push_screen_wait(
            ConfirmDialog(
                "Delete messages" if n > 1 else "Delete the message",
                f"Move {plural(n, 'message')} to Deleted communications? They can be restored.",
                confirm="Delete",
            )
        )
        if not ok:
            return
        moved = await self.services.inbox.delete(self.actor, ids)
        self.notify(f"{moved} deleted", markup=False)
        self.selected.difference_update(ids)
        await self._load(counts=True)

    def action_restore(self) -> None:
        ids = self._targets()
        if ids:
            self.restore(ids)

    @work(group="inbox-action", exclusive=True, exit_on_error=False)
    async def restore(self, ids: list[int]) -> None:
        moved = await self.services.inbox.restore(self.actor, ids)
        self.notify(f"{moved} restored to their views", markup=False)
        self.selected.difference_update(ids)
        await self._load(counts=True)

    def action_resend(self) -> None:
        ids = self._targets()
        if ids:
            self.resend(ids)

    @work(group="inbox-action", exclusive=True, exit_on_error=False)
    async def resend(self, selection: list[int]) -> None:
        """I6: the failed ones of the selection (the others are named, not counted), with
        the credits they need against the balance, asked before anything moves."""
        quote = await self.services.inbox.resend_quote(self.actor, selection)
        ids = list(quote.ids)
        if not ids:
            self.notify(
                "No failed message selected: only failed messages can be resent",
                severity="warning",
            )
            return
        n = len(ids)
        if quote.payable == 0:
            self.notify(
                f"Not enough credits to resend: {plural(quote.credits, 'credit')} needed, "
                f"{quote.balance:,} left"
                + (f" (a resend goes by {RESEND_CHUNK:,} messages)" if n > RESEND_CHUNK else ""),
                severity="error",
                markup=False,
            )
            return
        if n > 1:
            others = (
                f" ({plural(len(selection) - n, 'selected message')} not failed: left as they are.)"
                if len(selection) > n
                else ""
            )
            if quote.short:
                question = (
                    f"Resend {n:,} failed messages? They need {plural(quote.credits, 'credit')} "
                    f"and {quote.balance:,} are left: only the first {quote.payable:,} "
                    f"({plural(quote.payable_credits, 'credit')}) can be resent, "
                    f"{RESEND_CHUNK:,} at a time; the other {n - quote.payable:,} stay failed."
                )
                confirm = f"Resend {quote.payable:,}"
            else:
                question = (
                    f"Resend {n:,} failed messages? They move to SMS pending and are debited "
                    f"again: {plural(quote.credits, 'credit')} of the {quote.balance:,} left."
                )
                confirm = f"Resend {n:,}"
            ok = await self.app.push_screen_wait(
                ConfirmDialog("Resend failed SMS", question + others, confirm=confirm)
            )
            if not ok:
                return
        if quote.short:
            ids = sorted(ids)[: quote.payable]  # the chunks the balance pays for
            n = len(ids)
        bar = self.query_one("#bulk-progress", ProgressBar)
        bar.update(total=n, progress=0)
        bar.display = n > 1

        def progress(done: int, total: int) -> None:
            bar.update(total=total, progress=done)

        try:
            report = await self.services.inbox.resend_failed(self.actor, ids, progress=progress)
        finally:
            bar.display = False
        text = f"{report.requeued:,} moved to SMS pending · {plural(report.credits, 'credit')}"
        if report.skipped:
            text += f" · {report.skipped:,} no longer failed"
        if report.stopped is not None:
            self.notify(
                f"{text}. Stopped: {one_line(report.stopped.message)}",
                severity="error",
                markup=False,
            )
        else:
            self.notify(text, markup=False)
        self.selected.difference_update(report.ids)
        await self._load(counts=True)

    def action_filter(self) -> None:
        from bannertui.ui.screens.inbox_filter import FilterDialog

        self.app.push_screen(FilterDialog(self.filters), self._filtered)

    def _filtered(self, filters: InboxFilter | None) -> None:
        if filters is None:
            return
        self.filters = filters
        self._keys = [None]
        self.selected.clear()
        self.load()

    @work(group="inbox-open", exclusive=True, exit_on_error=False)
    async def open_message(self, message_id: int) -> None:
        from bannertui.ui.screens.message_detail import MessageDialog

        row = await self.services.inbox.message(self.actor, message_id)
        action = await self.app.push_screen_wait(MessageDialog(row))
        if action:
            self.selected = set()
            table = self.query_one("#messages", DataTable)
            if str(message_id) in table.rows:
                table.move_cursor(row=table.get_row_index(str(message_id)), animate=False)
            await self.run_action(action)
