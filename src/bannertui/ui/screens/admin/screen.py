"""Administration, the "Maker" area (SPEC Q1, Q3, Q4, X4), administrators only: queues and
their SMS channel with members, bots, the blacklist, templates, profiles, numbers, the SMS
connectors (issue #20), the provider, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import (
    DataTable,
    Input,
    Static,
    TabbedContent,
    TabPane,
)

from bannertui.domain.actor import Actor
from bannertui.domain.text import one_line
from bannertui.services import Services
from bannertui.services.admin import (
    AuditRow,
    NumberRow,
    ProfileRow,
    QueueRow,
    TemplateRow,
)
from bannertui.services.connectors import ConnectorFigures, ConnectorRecord
from bannertui.ui.safe import line, rich_plain
from bannertui.ui.screens.admin.blacklist import BlacklistDialog
from bannertui.ui.screens.admin.bots import BotDialog
from bannertui.ui.screens.admin.connectors import ConnectorDialog, ConnectorNumbersDialog
from bannertui.ui.screens.admin.form import AdminForm, add_columns
from bannertui.ui.screens.admin.numbers import NumberDialog
from bannertui.ui.screens.admin.profiles import ProfileDialog
from bannertui.ui.screens.admin.provider import ProviderForm
from bannertui.ui.screens.admin.queues import MembersDialog, QueueDialog
from bannertui.ui.screens.admin.templates import TemplateDialog
from bannertui.ui.screens.base import BaseScreen, typing_pause
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.widgets.footer import KeyFooter
from bannertui.ui.widgets.row_table import RowTable

AUDIT_PAGE = 100


class AdminScreen(BaseScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Banner", id="admin.back"),
        Binding("n", "new", "New", id="admin.new"),
        Binding("e", "edit", "Edit", id="admin.edit"),
        Binding("m", "members", "Members", id="admin.members", show=False),
        Binding("p", "provider_numbers", "Numbers", id="admin.provider_numbers", show=False),
        Binding("d,delete", "remove", "Remove", id="admin.remove"),
        Binding("space", "toggle_bot", "On/off", id="admin.toggle", show=False),
        Binding("right_square_bracket", "older", "Older", id="admin.older", show=False),
    ]

    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.queue_rows: list[QueueRow] = []
        self.template_rows: list[TemplateRow] = []
        self.profile_rows: list[ProfileRow] = []
        self.number_rows: list[NumberRow] = []
        self.connector_rows: list[ConnectorRecord] = []
        self.connector_figures: dict[int, ConnectorFigures] = {}
        self.audit_rows: list[AuditRow] = []
        self._audit_filtered = False  # a filter typed, its first page not read yet

    def compose(self) -> ComposeResult:
        with TabbedContent(id="admin-tabs"):
            with TabPane("Queues", id="tab-queues"):
                yield RowTable(id="admin-queues")
            with TabPane("Bots", id="tab-bots"):
                yield RowTable(id="admin-bots")
            with TabPane("Blacklist", id="tab-blacklist"):
                yield RowTable(id="admin-blacklist")
            with TabPane("Templates", id="tab-templates"):
                yield RowTable(id="admin-templates")
            with TabPane("Profiles", id="tab-profiles"):
                yield RowTable(id="admin-profiles")
            with TabPane("Numbers", id="tab-numbers"):
                yield RowTable(id="admin-numbers")
            with TabPane("Connectors", id="tab-connectors"):
                yield RowTable(id="admin-connectors")
                yield Static(id="connector-detail", classes="hint")
            with TabPane("Provider", id="tab-provider"):
                yield ProviderForm(self.services, self.actor, id="provider-form")
            with TabPane("Audit", id="tab-audit"):
                with Horizontal(id="audit-filters"):
                    yield Input(placeholder="who", id="audit-who", compact=True)
                    yield Input(placeholder="action (prefix)", id="audit-action", compact=True)
                    yield Input(placeholder="text", id="audit-text", compact=True)
                yield RowTable(id="admin-audit")
        yield Static(id="admin-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        add_columns(
            self.query_one("#admin-queues", DataTable),
            ("name", "Queue", 12),
            ("on", "On", 3),
            ("number", "Number", 13),
            ("strategy", "Strategy", 12),
            ("sl", "SL s", 5),
            ("members", "Members", 20),
        )
        add_columns(
            self.query_one("#admin-bots", DataTable),
            ("queue", "Queue", 12),
            ("trigger", "Trigger", 13),
            ("template", "Template", 24),
            ("on", "On", 3),
        )
        add_columns(
            self.query_one("#admin-blacklist", DataTable),
            ("number", "Number", 14),
            ("reason", "Reason", 30),
            ("by", "By", 10),
            ("at", "Since", 10),
        )
        add_columns(
            self.query_one("#admin-templates", DataTable),
            ("name", "Template", 20),
            ("kind", "Kind", 12),
            ("queues", "Queues", 16),
            ("text", "Text", 40),
        )
        add_columns(
            self.query_one("#admin-profiles", DataTable),
            ("name", "Profile", 22),
            ("role", "Role", 10),
            ("perms", "M D S", 5),
            ("max", "Max", 4),
            ("countries", "Countries", 12),
            ("numbers", "Sender numbers", 28),
        )
        add_columns(
            self.query_one("#admin-numbers", DataTable),
            ("number", "Number", 13),
            ("label", "Label", 16),
            ("queue", "Queue", 12),
            ("connector", "Connector", 14),
            ("profiles", "Profiles", 24),
        )
        add_columns(
            self.query_one("#admin-connectors", DataTable),
            ("name", "Connector", 14),
            ("type", "Type", 10),
            ("configured", "Ready", 5),
            ("numbers", "Nums", 4),
            ("queues", "Queues", 6),
            ("sent", "Sent", 4),
            ("failed", "Fail", 4),
            ("error", "Last error", 15),
        )
        add_columns(
            self.query_one("#admin-audit", DataTable),
            ("at", "When", 12),
            ("who", "Who", 10),
            ("action", "Action", 18),
            ("target", "Target", 16),
            ("detail", "Detail", 40),
        )
        self.load_all()

    def _tab(self) -> str:
        """The active tab; the first before the tabs are mounted (the footer asks
        ``check_action`` as soon as the screen is pushed, which on a loaded machine can be
        before its children are composed)."""
        tabs = self.query(TabbedContent)
        if not tabs:
            return "tab-queues"
        return tabs.first().active or "tab-queues"

    #: The actions each tab answers itself (``new_queues``, ``remove_bots``…): a key is
    #: offered on a tab only where that tab has a handler for it.
    PER_TAB = ("new", "edit", "remove")

    def _handler(self, action: str) -> Callable[[], Any] | None:
        """The active tab's own handler of ``action`` (``<action>_<tab>``), if it has one."""
        handler = getattr(self, f"{action}_{self._tab().removeprefix('tab-')}", None)
        return handler if callable(handler) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.PER_TAB:
            return True if self._handler(action) is not None else None
        tab = self._tab()
        only_on = {
            "members": "tab-queues",
            "toggle_bot": "tab-bots",
            "older": "tab-audit",
            "provider_numbers": "tab-connectors",
        }
        if action in only_on:
            return True if tab == only_on[action] else None
        return True

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    # --- loading ---------------------------------------------------------------------------

    @work(group="admin-load", exclusive=True, exit_on_error=False)
    async def load_all(self) -> None:
        admin = self.services.admin
        self.queue_rows = await admin.queues(self.actor)
        q = self.query_one("#admin-queues", DataTable)
        q.clear()
        for r in self.queue_rows:
            s = r.settings
            q.add_row(
                rich_plain(one_line(s.name, 12)),
                "yes" if s.enabled else "no",
                s.number or "–",
                s.strategy,
                str(s.service_level_s),
                rich_plain(one_line(", ".join(r.members) or "–", 20)),
                key=str(r.id),
            )
        b = self.query_one("#admin-bots", DataTable)
        b.clear()
        for bot in await admin.bots(self.actor):
            b.add_row(
                rich_plain(one_line(bot.queue, 12)),
                bot.trigger,
                rich_plain(one_line(bot.template, 24)),
                "yes" if bot.enabled else "no",
                key=str(bot.id),
            )
        bl = self.query_one("#admin-blacklist", DataTable)
        bl.clear()
        for e in await admin.blacklist(self.actor):
            bl.add_row(
                e.number,
                rich_plain(one_line(e.reason, 30)),
                rich_plain(one_line(e.created_by, 10)),
                e.created_at.astimezone().strftime("%Y-%m-%d") if e.created_at else "",
                key=e.number,
            )
        self.template_rows = await admin.templates(self.actor)
        t = self.query_one("#admin-templates", DataTable)
        t.clear()
        for tpl in self.template_rows:
            t.add_row(
                rich_plain(one_line(tpl.name, 20)),
                tpl.kind,
                rich_plain(one_line(", ".join(tpl.queues) or "–", 16)),
                rich_plain(one_line(tpl.text, 80)),
                key=str(tpl.id),
            )
        self.profile_rows = await admin.profiles(self.actor)
        p = self.query_one("#admin-profiles", DataTable)
        p.clear()
        for prof in self.profile_rows:
            ps = prof.settings
            p.add_row(
                rich_plain(one_line(ps.name, 22)),
                ps.role,
                " ".join("✓" if f else "·" for f in (ps.messaging, ps.direct, ps.smart)),
                str(ps.max_simultaneous),
                rich_plain(one_line(ps.authorized_countries or "none", 12)),
                rich_plain(one_line(", ".join(ps.sender_numbers) or "–", 28)),
                key=str(prof.id),
            )
        n = self.query_one("#admin-numbers", DataTable)
        n.clear()
        self.number_rows = await admin.numbers(self.actor)
        for num in self.number_rows:
            n.add_row(
                num.number,
                rich_plain(one_line(num.label, 16)),
                rich_plain(one_line(num.queue or "–", 12)),
                rich_plain(one_line(num.connector or "–", 14)),
                rich_plain(one_line(", ".join(num.profiles) or "–", 24)),
                key=str(num.id),
            )
        await self._load_connectors()
        await self._load_audit(None)
        self.refresh_bindings()

    async def _load_connectors(self) -> None:
        """The connectors, with the last hour's figures and their numbers and queues."""
        connectors = self.services.connectors
        self.connector_rows = await connectors.connectors(self.actor)
        figures = {f.id: f for f in await connectors.figures(self.actor)}
        self.connector_figures = figures
        c = self.query_one("#admin-connectors", DataTable)
        c.clear()
        for rec in self.connector_rows:
            fig = figures.get(rec.id)
            failed = fig.failed if fig else 0
            c.add_row(
                rich_plain(one_line(rec.name, 14)),
                rec.type.value,
                "yes" if rec.configured else "no",
                str(fig.numbers if fig else 0),
                str(fig.queues if fig else 0),
                str(fig.sent if fig else 0),
                rich_plain(str(failed), "red" if failed else ""),
                rich_plain(one_line(fig.last_error or "–", 200) if fig else "–"),
                key=str(rec.id),
            )

    async def _load_audit(self, before_id: int | None) -> None:
        rows = await self.services.admin.audit_trail(
            self.actor,
            who=self.query_one("#audit-who", Input).value,
            action=self.query_one("#audit-action", Input).value,
            text=self.query_one("#audit-text", Input).value,
            before_id=before_id,
            limit=AUDIT_PAGE,
        )
        a = self.query_one("#admin-audit", DataTable)
        if before_id is None:
            a.clear()
            self.audit_rows = []
        self.audit_rows += rows
        for r in rows:
            a.add_row(
                r.at.astimezone().strftime("%d %b %H:%M"),
                rich_plain(one_line(r.actor, 10)),
                rich_plain(one_line(r.action, 18)),
                rich_plain(one_line(r.target, 16)),
                rich_plain(one_line(r.detail, 200)),
                key=str(r.id),
            )
        more = " · ] older" if len(rows) == AUDIT_PAGE else ""
        self.query_one("#admin-status", Static).update(
            Content(
                f"Audit trail: {len(self.audit_rows):,} event"
                f"{'' if len(self.audit_rows) == 1 else 's'} shown{more}"
            )
        )

    @on(Input.Changed, "#audit-filters Input")
    def _audit_filter(self) -> None:
        self._audit_filtered = True  # the rows shown are the old filter's until it runs
        self.reload_audit(typed=True)

    @work(group="admin-audit", exclusive=True, exit_on_error=False)
    async def reload_audit(self, typed: bool = False) -> None:
        await typing_pause(typed)
        await self._load_audit(None)
        self._audit_filtered = False

    @work(group="admin-audit", exclusive=True, exit_on_error=False)
    async def action_older(self) -> None:
        if self._audit_filtered:
            # A filter typed just now, its reload still waiting (this cancelled it): the
            # first page of the new filter, not older rows of it below the old one's.
            await self._load_audit(None)
            self._audit_filtered = False
        elif self.audit_rows:
            await self._load_audit(self.audit_rows[-1].id)

    # --- actions -----------------------------------------------------------------------------

    def _cursor_key(self, table_id: str) -> str | None:
        table = self.query_one(table_id, DataTable)
        if not table.row_count:
            return None
        value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(value) if value is not None else None

    def _queue(self) -> QueueRow | None:
        key = self._cursor_key("#admin-queues")
        return next((r for r in self.queue_rows if str(r.id) == key), None)

    # --- per tab: New, Edit, Remove ----------------------------------------------------------

    def action_new(self) -> None:
        handler = self._handler("new")
        if handler is not None:
            handler()

    def action_edit(self) -> None:
        handler = self._handler("edit")
        if handler is not None:
            handler()

    @work(group="admin-action", exclusive=True, exit_on_error=False)
    async def action_remove(self) -> None:
        handler = self._handler("remove")
        if handler is not None and await handler():
            self.load_all()

    def _open(self, dialog: AdminForm) -> None:
        self.app.push_screen(dialog, self._saved)

    def _saved(self, result: Any) -> None:
        if result:
            self.notify("Saved", markup=False)
            self.load_all()

    async def _confirmed(self, title: str, question: str, confirm: str) -> bool:
        ok = await self.app.push_screen_wait(ConfirmDialog(title, question, confirm=confirm))
        return ok

    # queues
    def new_queues(self) -> None:
        self._open(QueueDialog(self.services, self.actor, None))

    def edit_queues(self) -> None:
        row = self._queue()
        if row is not None:
            self._open(QueueDialog(self.services, self.actor, row))

    def action_members(self) -> None:
        row = self._queue()
        if row is not None:
            self._open(MembersDialog(self.services, self.actor, row))

    @on(DataTable.RowSelected, "#admin-queues")
    def _queue_chosen(self) -> None:
        self.action_edit()

    # bots
    def new_bots(self) -> None:
        self._open(BotDialog(self.services, self.actor, self.queue_rows))

    async def remove_bots(self) -> bool:
        key = self._cursor_key("#admin-bots")
        if key is None or not await self._confirmed("Bots", "Remove this bot?", "Remove"):
            return False
        await self.services.admin.remove_bot(self.actor, int(key))
        return True

    # blacklist
    def new_blacklist(self) -> None:
        self._open(BlacklistDialog(self.services, self.actor))

    async def remove_blacklist(self) -> bool:
        number = self._cursor_key("#admin-blacklist")
        if number is None or not await self._confirmed(
            "Blacklist", f"Remove {number} from the blacklist?", "Remove"
        ):
            return False
        await self.services.admin.remove_from_blacklist(self.actor, number)
        return True

    # templates
    def new_templates(self) -> None:
        self._open(TemplateDialog(self.services, self.actor, None))

    def edit_templates(self) -> None:
        key = self._cursor_key("#admin-templates")
        tpl = next((t for t in self.template_rows if str(t.id) == key), None)
        if tpl is not None:
            self._open(TemplateDialog(self.services, self.actor, tpl))

    async def remove_templates(self) -> bool:
        key = self._cursor_key("#admin-templates")
        if key is None or not await self._confirmed(
            "Templates", "Delete this template? Bots using it stop sending.", "Delete"
        ):
            return False
        await self.services.admin.delete_template(self.actor, int(key))
        return True

    # profiles
    def new_profiles(self) -> None:
        self._open(ProfileDialog(self.services, self.actor, None))

    def edit_profiles(self) -> None:
        key = self._cursor_key("#admin-profiles")
        prof = next((p for p in self.profile_rows if str(p.id) == key), None)
        if prof is not None:
            self._open(ProfileDialog(self.services, self.actor, prof))

    async def remove_profiles(self) -> bool:
        key = self._cursor_key("#admin-profiles")
        if key is None or not await self._confirmed(
            "Profiles", "Delete this profile? (Refused while an agent has it.)", "Delete"
        ):
            return False
        await self.services.admin.delete_profile(self.actor, int(key))
        return True

    @on(
        DataTable.RowSelected,
        "#admin-templates, #admin-profiles, #admin-numbers, #admin-connectors",
    )
    def _row_chosen(self) -> None:
        self.action_edit()

    # SMS numbers
    def new_numbers(self) -> None:
        self._open(NumberDialog(self.services, self.actor))

    def edit_numbers(self) -> None:
        key = self._cursor_key("#admin-numbers")
        row = next((n for n in self.number_rows if str(n.id) == key), None)
        if row is not None:
            self._open(NumberDialog(self.services, self.actor, row))

    async def remove_numbers(self) -> bool:
        key = self._cursor_key("#admin-numbers")
        if key is None or not await self._confirmed("SMS numbers", "Remove this number?", "Remove"):
            return False
        await self.services.admin.remove_number(self.actor, int(key))
        return True

    # SMS connectors
    def _connector(self) -> ConnectorRecord | None:
        key = self._cursor_key("#admin-connectors")
        return next((c for c in self.connector_rows if str(c.id) == key), None)

    @on(DataTable.RowHighlighted, "#admin-connectors")
    def _connector_detail(self) -> None:
        """The highlighted connector's last hour in full (the table's cells are short)."""
        row = self._connector()
        fig = self.connector_figures.get(row.id) if row is not None else None
        detail = self.query_one("#connector-detail", Static)
        if row is None or fig is None:
            detail.update("")
            return
        detail.update(
            line(
                f"{row.name} ({row.type.value}): {fig.numbers} number(s), {fig.queues} queue(s)."
                f"  Last hour: {fig.sent} sent, {fig.failed} failed; last error: "
                f"{fig.last_error or 'none'}.  p: its numbers at the provider."
            )
        )

    def new_connectors(self) -> None:
        self._open(ConnectorDialog(self.services, self.actor, None))

    def edit_connectors(self) -> None:
        row = self._connector()
        if row is not None:
            self._open(ConnectorDialog(self.services, self.actor, row))

    async def remove_connectors(self) -> bool:
        row = self._connector()
        if row is None or not await self._confirmed(
            "Connectors",
            f"Remove the connector {one_line(row.name, 64)}? (Refused while a queue uses it"
            " or a number belongs to it.)",
            "Remove",
        ):
            return False
        await self.services.connectors.remove(self.actor, row.id)
        return True

    def action_provider_numbers(self) -> None:
        row = self._connector()
        if row is not None:
            self._open(ConnectorNumbersDialog(self.services, self.actor, row))

    @work(group="admin-action", exclusive=True, exit_on_error=False)
    async def action_toggle_bot(self) -> None:
        key = self._cursor_key("#admin-bots")
        if key is None:
            return
        table = self.query_one("#admin-bots", DataTable)
        enabled = str(table.get_cell(key, "on")) != "yes"
        await self.services.admin.set_bot_enabled(self.actor, int(key), enabled)
        self.load_all()

    def action_back(self) -> None:
        self.dismiss(None)
