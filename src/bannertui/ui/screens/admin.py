"""Administration, the "Maker" area (SPEC Q1, Q3, Q4, X4), administrators only: queues and
their SMS channel with members, bots, the blacklist, and the audit trail."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Input,
    Label,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from bannertui.domain.actor import Actor
from bannertui.domain.enums import BotTrigger, MessageType, Role, Strategy
from bannertui.domain.errors import BannerError
from bannertui.domain.text import one_line
from bannertui.services import Services
from bannertui.services.admin import (
    AuditRow,
    ProfileRow,
    ProfileSettings,
    QueueRow,
    QueueSettings,
    TemplateRow,
)
from bannertui.ui.safe import line, rich_plain
from bannertui.ui.screens.base import BaseModal, BaseScreen, typing_pause
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.widgets.footer import KeyFooter
from bannertui.ui.widgets.message_editor import MessageEditor

AUDIT_PAGE = 100


class AdminScreen(BaseScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Banner", id="admin.back"),
        Binding("n", "new", "New", id="admin.new"),
        Binding("e", "edit", "Edit", id="admin.edit"),
        Binding("m", "members", "Members", id="admin.members", show=False),
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
        self.audit_rows: list[AuditRow] = []
        self._audit_filtered = False  # a filter typed, its first page not read yet

    def compose(self) -> ComposeResult:
        with TabbedContent(id="admin-tabs"):
            with TabPane("Queues", id="tab-queues"):
                yield DataTable(id="admin-queues", cursor_type="row", zebra_stripes=True)
            with TabPane("Bots", id="tab-bots"):
                yield DataTable(id="admin-bots", cursor_type="row", zebra_stripes=True)
            with TabPane("Blacklist", id="tab-blacklist"):
                yield DataTable(id="admin-blacklist", cursor_type="row", zebra_stripes=True)
            with TabPane("Templates", id="tab-templates"):
                yield DataTable(id="admin-templates", cursor_type="row", zebra_stripes=True)
            with TabPane("Profiles", id="tab-profiles"):
                yield DataTable(id="admin-profiles", cursor_type="row", zebra_stripes=True)
            with TabPane("Numbers", id="tab-numbers"):
                yield DataTable(id="admin-numbers", cursor_type="row", zebra_stripes=True)
            with TabPane("Provider", id="tab-provider"):
                yield ProviderForm(self.services, self.actor, id="provider-form")
            with TabPane("Audit", id="tab-audit"):
                with Horizontal(id="audit-filters"):
                    yield Input(placeholder="who", id="audit-who", compact=True)
                    yield Input(placeholder="action (prefix)", id="audit-action", compact=True)
                    yield Input(placeholder="text", id="audit-text", compact=True)
                yield DataTable(id="admin-audit", cursor_type="row", zebra_stripes=True)
        yield Static(id="admin-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        _columns(
            self.query_one("#admin-queues", DataTable),
            ("name", "Queue", 12),
            ("on", "On", 3),
            ("number", "Number", 13),
            ("strategy", "Strategy", 12),
            ("sl", "SL s", 5),
            ("members", "Members", 20),
        )
        _columns(
            self.query_one("#admin-bots", DataTable),
            ("queue", "Queue", 12),
            ("trigger", "Trigger", 13),
            ("template", "Template", 24),
            ("on", "On", 3),
        )
        _columns(
            self.query_one("#admin-blacklist", DataTable),
            ("number", "Number", 14),
            ("reason", "Reason", 30),
            ("by", "By", 10),
            ("at", "Since", 10),
        )
        _columns(
            self.query_one("#admin-templates", DataTable),
            ("name", "Template", 20),
            ("kind", "Kind", 12),
            ("queues", "Queues", 16),
            ("text", "Text", 40),
        )
        _columns(
            self.query_one("#admin-profiles", DataTable),
            ("name", "Profile", 22),
            ("role", "Role", 10),
            ("perms", "M D S", 5),
            ("max", "Max", 4),
            ("countries", "Countries", 12),
            ("numbers", "Sender numbers", 28),
        )
        _columns(
            self.query_one("#admin-numbers", DataTable),
            ("number", "Number", 13),
            ("label", "Label", 16),
            ("queue", "Queue", 12),
            ("profiles", "Profiles", 30),
        )
        _columns(
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        tab = self._tab()
        allowed = {
            "new": tab
            in (
                "tab-queues",
                "tab-bots",
                "tab-blacklist",
                "tab-templates",
                "tab-profiles",
                "tab-numbers",
            ),
            "edit": tab in ("tab-queues", "tab-templates", "tab-profiles"),
            "members": tab == "tab-queues",
            "remove": tab in ("tab-bots", "tab-blacklist", "tab-templates", "tab-numbers"),
            "toggle_bot": tab == "tab-bots",
            "older": tab == "tab-audit",
        }
        if tab == "tab-provider" and action in ("new", "edit", "members", "remove"):
            return None
        return allowed.get(action, True) or None

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
        for num in await admin.numbers(self.actor):
            n.add_row(
                num.number,
                rich_plain(one_line(num.label, 16)),
                rich_plain(one_line(num.queue or "–", 12)),
                rich_plain(one_line(", ".join(num.profiles) or "–", 30)),
                key=str(num.id),
            )
        await self._load_audit(None)
        self.refresh_bindings()

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

    def action_new(self) -> None:
        tab = self._tab()
        if tab == "tab-queues":
            self.app.push_screen(QueueDialog(self.services, self.actor, None), self._saved)
        elif tab == "tab-blacklist":
            self.app.push_screen(BlacklistDialog(self.services, self.actor), self._saved)
        elif tab == "tab-bots":
            self.app.push_screen(BotDialog(self.services, self.actor, self.queue_rows), self._saved)

    def action_edit(self) -> None:
        tab = self._tab()
        if tab == "tab-templates":
            key = self._cursor_key("#admin-templates")
            tpl = next((t for t in self.template_rows if str(t.id) == key), None)
            if tpl is not None:
                self.app.push_screen(TemplateDialog(self.services, self.actor, tpl), self._saved)
            return
        if tab == "tab-profiles":
            key = self._cursor_key("#admin-profiles")
            prof = next((p for p in self.profile_rows if str(p.id) == key), None)
            if prof is not None:
                self.app.push_screen(ProfileDialog(self.services, self.actor, prof), self._saved)
            return
        row = self._queue()
        if row is not None:
            self.app.push_screen(QueueDialog(self.services, self.actor, row), self._saved)

    @on(DataTable.RowSelected, "#admin-templates, #admin-profiles")
    def _row_chosen(self) -> None:
        self.action_edit()

    @on(DataTable.RowSelected, "#admin-queues")
    def _queue_chosen(self) -> None:
        self.action_edit()

    def action_members(self) -> None:
        row = self._queue()
        if row is not None:
            self.app.push_screen(MembersDialog(self.services, self.actor, row), self._saved)

    def _saved(self, result: Any) -> None:
        if result:
            self.notify("Saved", markup=False)
            self.load_all()

    @work(group="admin-action", exclusive=True, exit_on_error=False)
    async def action_remove(self) -> None:
        tab = self._tab()
        admin = self.services.admin
        if tab == "tab-blacklist":
            number = self._cursor_key("#admin-blacklist")
            if number is None:
                return
            ok = await self.app.push_screen_wait(
                ConfirmDialog("Blacklist", f"Remove {number} from the blacklist?", confirm="Remove")
            )
            if ok:
                await admin.remove_from_blacklist(self.actor, number)
        elif tab == "tab-bots":
            key = self._cursor_key("#admin-bots")
            if key is None:
                return
            ok = await self.app.push_screen_wait(
                ConfirmDialog("Bots", "Remove this bot?", confirm="Remove")
            )
            if ok:
                await admin.remove_bot(self.actor, int(key))
        elif tab == "tab-templates":
            key = self._cursor_key("#admin-templates")
            if key is None:
                return
            ok = await self.app.push_screen_wait(
                ConfirmDialog(
                    "Templates",
                    "Delete this template? Bots using it stop sending.",
                    confirm="Delete",
                )
            )
            if ok:
                await admin.delete_template(self.actor, int(key))
        elif tab == "tab-numbers":
            key = self._cursor_key("#admin-numbers")
            if key is None:
                return
            ok = await self.app.push_screen_wait(
                ConfirmDialog("SMS numbers", "Remove this number?", confirm="Remove")
            )
            if ok:
                await admin.remove_number(self.actor, int(key))
        else:
            return
        self.load_all()

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


class ProviderForm(Vertical):
    """P1: the account's SMS provider — URL (https only), optional authentication (login and
    password), CA file; *Test connection* before *Save* (Save is enabled by a successful test
    of exactly the values shown).  The password never enters the database: it goes to the
    secret store (a 0600 file), and it is never shown."""

    def __init__(self, services: Services, actor: Actor, *, id: str) -> None:
        super().__init__(id=id)
        self.services = services
        self.actor = actor
        self._tested: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield _row(
            "URL", Input(placeholder="https://sms.example.com/v1/send", id="p-url", compact=True)
        )
        yield _row("Authentication", Checkbox("login and password", id="p-auth", compact=True))
        yield _row(
            "Login", Input(placeholder="letters, digits, _ + . @ -", id="p-login", compact=True)
        )
        yield _row(
            "Password",
            Input(
                password=True, placeholder="(unchanged when empty)", id="p-password", compact=True
            ),
        )
        yield _row("CA file", Input(placeholder="(system CAs)", id="p-ca", compact=True))
        yield Static(id="p-result", classes="hint")
        with Horizontal(classes="dialog-buttons"):
            yield Button("Test connection", id="p-test", variant="primary", compact=True)
            yield Button("Save", id="p-save", disabled=True, compact=True)

    def on_mount(self) -> None:
        self.load()

    @work(group="provider-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        current = await self.services.provider.get()
        self.query_one("#p-url", Input).value = current.url or ""
        self.query_one("#p-auth", Checkbox).value = current.auth_enabled
        self.query_one("#p-login", Input).value = current.login or ""
        self.query_one("#p-ca", Input).value = current.ca_file or ""

    def _values(self) -> tuple[str, bool, str | None, str | None, str | None]:
        auth = self.query_one("#p-auth", Checkbox).value
        login = self.query_one("#p-login", Input).value.strip() or None
        password = self.query_one("#p-password", Input).value or None
        ca = self.query_one("#p-ca", Input).value.strip() or None
        return self.query_one("#p-url", Input).value.strip(), auth, login, password, ca

    @on(Input.Changed, "ProviderForm Input")
    @on(Checkbox.Changed, "ProviderForm Checkbox")
    def _changed(self) -> None:
        self.query_one("#p-save", Button).disabled = self._values() != self._tested

    def _result(self, text: str, bad: bool) -> None:
        result = self.query_one("#p-result", Static)
        result.update(line(text))
        result.set_class(bad, "-bad")

    @on(Button.Pressed, "#p-test")
    @work(group="provider-test", exclusive=True, exit_on_error=False)
    async def test(self) -> None:
        values = self._values()
        url, auth, login, password, ca = values
        self._result("Testing…", False)
        try:
            report = await self.services.provider.test_settings(
                actor=self.actor,
                url=url,
                auth_enabled=auth,
                login=login,
                password=password,
                ca_file=ca,
            )
        except BannerError as exc:
            self._result(exc.message, True)
            return
        self._result(f"{report.result}: {report.message}", not report.ok)
        self._tested = values if report.ok else None
        self.query_one("#p-save", Button).disabled = not report.ok

    @on(Button.Pressed, "#p-save")
    @work(group="provider-save", exclusive=True, exit_on_error=False)
    async def save(self) -> None:
        url, auth, login, password, ca = self._values()
        try:
            await self.services.provider.save(
                actor=self.actor,
                url=url,
                auth_enabled=auth,
                login=login,
                password=password,
                ca_file=ca,
            )
        except BannerError as exc:
            self._result(exc.message, True)
            return
        self.query_one("#p-password", Input).value = ""
        self._tested = None
        self.query_one("#p-save", Button).disabled = True
        self._result("Saved: the dispatcher uses these settings from its next send", False)


class _Form(BaseModal[bool]):
    """A small form: fields, an error line, Save / Cancel (ctrl+s / escape)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save", priority=True),
    ]

    def _error(self, text: str) -> None:
        self.query_one("#dialog-error", Static).update(line(text))

    def _buttons(self) -> ComposeResult:
        yield Static(id="dialog-error", classes="error")
        with Horizontal(classes="dialog-buttons"):
            yield Button("Save ^S", id="save", variant="primary", compact=True)
            yield Button("Cancel", id="cancel", compact=True)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.save()

    def save(self) -> None:  # overridden: starts the worker
        raise NotImplementedError

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


def _columns(table: DataTable[Any], *columns: tuple[str, str, int]) -> None:
    for key, label, width in columns:
        table.add_column(label, key=key, width=width)


def _row(label: str, widget: Any) -> Horizontal:
    return Horizontal(Label(label, classes="field-label wide-label"), widget, classes="field-row")


class QueueDialog(_Form):
    """Q1: a queue's SMS channel."""

    def __init__(self, services: Services, actor: Actor, row: QueueRow | None) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.row = row

    def compose(self) -> ComposeResult:
        s = self.row.settings if self.row else QueueSettings(name="")
        title = f"Queue {s.name}" if self.row else "New queue"
        with Vertical(classes="dialog wide", id="queue-dialog"):
            yield Static(Content.styled(title, "bold"), classes="dialog-title")
            yield _row("Name", Input(s.name, id="q-name", compact=True))
            yield _row("Status", Checkbox("enabled", s.enabled, id="q-enabled", compact=True))
            yield _row("Connector", Input(s.connector, id="q-connector", compact=True))
            yield _row(
                "Number", Input(s.number, placeholder="+33757000099", id="q-number", compact=True)
            )
            yield _row(
                "Strategy",
                Select(
                    [(v.value.replace("_", " "), v.value) for v in Strategy],
                    value=s.strategy,
                    allow_blank=False,
                    id="q-strategy",
                    compact=True,
                ),
            )
            for key, label, value in (
                ("service_level_s", "Service level (s)", s.service_level_s),
                ("max_waiting", "Max waiting (0 = no limit)", s.max_waiting),
                ("max_transfer_s", "Max transfer (s, 0 = none)", s.max_transfer_s),
                ("max_time_in_queue_s", "Max time in queue (s)", s.max_time_in_queue_s),
            ):
                yield _row(label, Input(str(value), id=f"q-{key}", compact=True))
            yield _row(
                "Opening hours",
                Input(
                    s.opening_hours,
                    placeholder="mon-fri 08:00-18:00; sat 09:00-12:00 (empty: always)",
                    id="q-hours",
                    compact=True,
                ),
            )
            yield _row("Time zone", Input(s.timezone, id="q-timezone", compact=True))
            yield _row("Out-of-hours SMS", Input(s.out_of_hours_message, id="q-ooh", compact=True))
            yield _row(
                "Blacklists",
                Horizontal(
                    Checkbox("inbound", s.inbound_blacklist, id="q-inbound-bl", compact=True),
                    Checkbox("outbound", s.outbound_blacklist, id="q-outbound-bl", compact=True),
                    classes="checks",
                ),
            )
            yield from self._buttons()

    def _int(self, key: str, label: str) -> int:
        text = self.query_one(f"#q-{key}", Input).value.strip()
        try:
            return int(text)
        except ValueError:
            from bannertui.services.admin import InvalidQueue

            raise InvalidQueue(f"{label}: a whole number ≥ 0 (got {text!r})") from None

    def save(self) -> None:
        self.save_queue()

    @work(group="queue-save", exclusive=True, exit_on_error=False)
    async def save_queue(self) -> None:
        try:
            base = self.row.settings if self.row else QueueSettings(name="")
            strategy = self.query_one("#q-strategy", Select).value
            settings = replace(
                base,
                name=self.query_one("#q-name", Input).value,
                enabled=self.query_one("#q-enabled", Checkbox).value,
                connector=self.query_one("#q-connector", Input).value,
                number=self.query_one("#q-number", Input).value,
                strategy=str(strategy),
                service_level_s=self._int("service_level_s", "service level"),
                max_waiting=self._int("max_waiting", "max waiting"),
                max_transfer_s=self._int("max_transfer_s", "max transfer"),
                max_time_in_queue_s=self._int("max_time_in_queue_s", "max time in queue"),
                opening_hours=self.query_one("#q-hours", Input).value,
                timezone=self.query_one("#q-timezone", Input).value,
                out_of_hours_message=self.query_one("#q-ooh", Input).value,
                inbound_blacklist=self.query_one("#q-inbound-bl", Checkbox).value,
                outbound_blacklist=self.query_one("#q-outbound-bl", Checkbox).value,
            )
            await self.services.admin.save_queue(
                self.actor, settings, self.row.id if self.row else None
            )
        except BannerError as exc:
            self._error(exc.message)
            return
        self.dismiss(True)


class MembersDialog(_Form):
    def __init__(self, services: Services, actor: Actor, row: QueueRow) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="members-dialog"):
            yield Static(
                Content.styled(f"Members of {self.row.settings.name}", "bold"),
                classes="dialog-title",
            )
            yield _row(
                "Agents",
                Input(", ".join(self.row.members), placeholder="alice, bruno", id="members"),
            )
            yield from self._buttons()

    def save(self) -> None:
        self.save_members()

    @work(group="members-save", exclusive=True, exit_on_error=False)
    async def save_members(self) -> None:
        logins = [x.strip() for x in self.query_one("#members", Input).value.split(",")]
        try:
            await self.services.admin.set_members(self.actor, self.row.id, logins)
        except BannerError as exc:
            self._error(exc.message)
            return
        self.dismiss(True)


class BlacklistDialog(_Form):
    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="blacklist-dialog"):
            yield Static(Content.styled("Add to the blacklist", "bold"), classes="dialog-title")
            yield _row("Number", Input(placeholder="+33612345678", id="bl-number"))
            yield _row("Reason", Input(id="bl-reason"))
            yield from self._buttons()

    def save(self) -> None:
        self.add()

    @work(group="blacklist-add", exclusive=True, exit_on_error=False)
    async def add(self) -> None:
        try:
            await self.services.admin.add_to_blacklist(
                self.actor,
                self.query_one("#bl-number", Input).value,
                self.query_one("#bl-reason", Input).value,
            )
        except BannerError as exc:
            self._error(exc.message)
            return
        self.dismiss(True)


class BotDialog(_Form):
    def __init__(self, services: Services, actor: Actor, queues: list[QueueRow]) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.queues = queues

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="bot-dialog"):
            yield Static(Content.styled("New bot", "bold"), classes="dialog-title")
            yield _row(
                "Queue",
                Select(
                    [(line(r.settings.name), r.id) for r in self.queues],
                    prompt="Queue",
                    id="bot-queue",
                ),
            )
            yield _row(
                "Trigger",
                Select(
                    [(t.value.replace("_", " "), t.value) for t in BotTrigger],
                    value=BotTrigger.ON_START.value,
                    allow_blank=False,
                    id="bot-trigger",
                ),
            )
            yield _row("Template", Input(placeholder="template name", id="bot-template"))
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


class TemplateDialog(_Form):
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
            yield _row("Name", Input(r.name if r else "", id="t-name", compact=True))
            yield _row(
                "Kind",
                Select(
                    [(k.value, k.value) for k in MessageType],
                    value=r.kind if r else MessageType.NOTIFICATION.value,
                    allow_blank=False,
                    id="t-kind",
                    compact=True,
                ),
            )
            yield _row(
                "Queues",
                Input(
                    ", ".join(r.queues) if r else "",
                    placeholder="Support, Sales",
                    id="t-queues",
                    compact=True,
                ),
            )
            yield Static(
                Content("Variables: $name (letters, digits, _), e.g. $firstname"), classes="hint"
            )
            yield MessageEditor(r.text if r else "", id="t-text")
            yield from self._buttons()

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
            self._error(exc.message)
            return
        self.dismiss(True)


class ProfileDialog(_Form):
    """A profile's permissions (B1, B3)."""

    def __init__(self, services: Services, actor: Actor, row: ProfileRow | None) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.row = row

    def compose(self) -> ComposeResult:
        s = self.row.settings if self.row else ProfileSettings(name="")
        with Vertical(classes="dialog wide", id="profile-dialog"):
            yield Static(
                Content.styled(f"Profile {s.name}" if self.row else "New profile", "bold"),
                classes="dialog-title",
            )
            yield _row("Name", Input(s.name, id="pr-name", compact=True))
            yield _row(
                "Role",
                Select(
                    [(r.value, r.value) for r in Role],
                    value=s.role,
                    allow_blank=False,
                    id="pr-role",
                    compact=True,
                ),
            )
            yield _row(
                "Permissions",
                Horizontal(
                    Checkbox("Messaging", s.messaging, id="pr-messaging", compact=True),
                    Checkbox("Direct", s.direct, id="pr-direct", compact=True),
                    Checkbox("Smart", s.smart, id="pr-smart", compact=True),
                    classes="checks",
                ),
            )
            yield _row(
                "Simultaneous max", Input(str(s.max_simultaneous), id="pr-max", compact=True)
            )
            yield _row(
                "Countries",
                Input(
                    s.authorized_countries,
                    placeholder="FR,BE,CH — or * for all",
                    id="pr-countries",
                    compact=True,
                ),
            )
            yield _row(
                "Sender numbers",
                Input(", ".join(s.sender_numbers), id="pr-numbers", compact=True),
            )
            yield from self._buttons()

    def save(self) -> None:
        self.save_profile()

    @work(group="profile-save", exclusive=True, exit_on_error=False)
    async def save_profile(self) -> None:
        from bannertui.services.admin import InvalidProfile

        raw_max = self.query_one("#pr-max", Input).value.strip()
        try:
            if not raw_max.isdigit():
                raise InvalidProfile(f"simultaneous interactions: 0 to 1,000 (got {raw_max!r})")
            numbers = [n.strip() for n in self.query_one("#pr-numbers", Input).value.split(",")]
            settings = ProfileSettings(
                name=self.query_one("#pr-name", Input).value,
                role=str(self.query_one("#pr-role", Select).value),
                messaging=self.query_one("#pr-messaging", Checkbox).value,
                direct=self.query_one("#pr-direct", Checkbox).value,
                smart=self.query_one("#pr-smart", Checkbox).value,
                max_simultaneous=int(raw_max),
                authorized_countries=self.query_one("#pr-countries", Input).value,
                sender_numbers=tuple(n for n in numbers if n),
            )
            await self.services.admin.save_profile(
                self.actor, settings, self.row.id if self.row else None
            )
        except BannerError as exc:
            self._error(exc.message)
            return
        self.dismiss(True)


class NumberDialog(_Form):
    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="number-dialog"):
            yield Static(Content.styled("Add an SMS number", "bold"), classes="dialog-title")
            yield _row("Number", Input(placeholder="+33757000099", id="n-number"))
            yield _row("Label", Input(id="n-label"))
            yield from self._buttons()

    def save(self) -> None:
        self.add()

    @work(group="number-add", exclusive=True, exit_on_error=False)
    async def add(self) -> None:
        try:
            await self.services.admin.add_number(
                self.actor,
                self.query_one("#n-number", Input).value,
                self.query_one("#n-label", Input).value,
            )
        except BannerError as exc:
            self._error(exc.message)
            return
        self.dismiss(True)
