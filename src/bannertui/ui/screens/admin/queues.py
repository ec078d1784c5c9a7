"""A queue's SMS channel (SPEC Q1) and its members."""

from __future__ import annotations

from dataclasses import replace

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import (
    Checkbox,
    Input,
    Select,
    SelectionList,
    Static,
)
from textual.widgets.selection_list import Selection

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Strategy
from bannertui.domain.errors import BannerError
from bannertui.services import Services
from bannertui.services.admin import (
    QueueRow,
    QueueSettings,
    validate_queue,
)
from bannertui.ui.safe import line
from bannertui.ui.screens.admin.form import AdminForm, field_error, field_row


class QueueDialog(AdminForm):
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
            yield field_row("Name", Input(s.name, id="q-name", compact=True))
            yield field_error("name")
            yield field_row("Status", Checkbox("enabled", s.enabled, id="q-enabled", compact=True))
            yield field_row(
                "Connector",
                Select[str](
                    # The queue's own until the names are read (on_mount): its value kept.
                    [(line(s.connector), s.connector)] if s.connector else [],
                    value=s.connector or Select.NULL,
                    prompt="The number's (else the first)",
                    id="q-connector",
                    compact=True,
                ),
            )
            yield field_error("connector")
            yield field_row(
                "Number", Input(s.number, placeholder="+33757000099", id="q-number", compact=True)
            )
            yield field_error("number")
            yield field_row(
                "Strategy",
                Select(
                    [(v.value.replace("_", " "), v.value) for v in Strategy],
                    value=s.strategy,
                    allow_blank=False,
                    id="q-strategy",
                    compact=True,
                ),
            )
            yield field_error("strategy")
            for key, label, value in (
                ("service_level_s", "Service level (s)", s.service_level_s),
                ("max_waiting", "Max waiting (0 = no limit)", s.max_waiting),
                ("max_transfer_s", "Max transfer (s, 0 = none)", s.max_transfer_s),
                ("max_time_in_queue_s", "Max time in queue (s)", s.max_time_in_queue_s),
            ):
                yield field_row(label, Input(str(value), id=f"q-{key}", compact=True))
                yield field_error(key)
            yield field_row(
                "Opening hours",
                Input(
                    s.opening_hours,
                    placeholder="mon-fri 08:00-18:00; sat 09:00-12:00 (empty: always)",
                    id="q-hours",
                    compact=True,
                ),
            )
            yield field_error("opening_hours")
            yield field_row("Time zone", Input(s.timezone, id="q-timezone", compact=True))
            yield field_error("timezone")
            yield field_row(
                "Out-of-hours SMS", Input(s.out_of_hours_message, id="q-ooh", compact=True)
            )
            yield field_error("out_of_hours_message")
            yield field_row(
                "Blacklists",
                Horizontal(
                    Checkbox("inbound", s.inbound_blacklist, id="q-inbound-bl", compact=True),
                    Checkbox("outbound", s.outbound_blacklist, id="q-outbound-bl", compact=True),
                    classes="checks",
                ),
            )
            yield from self._buttons()

    def on_mount(self) -> None:
        self.load_connectors()

    @work(group="queue-connectors", exclusive=True, exit_on_error=False)
    async def load_connectors(self) -> None:
        """The account's connectors to choose from (a name typed was refused only on
        saving)."""
        names = [name for _id, name in await self.services.connectors.names(self.actor)]
        pick = self.query_one("#q-connector", Select)
        current = pick.value
        pick.set_options([(line(n), n) for n in names])
        if isinstance(current, str) and current in names:
            pick.value = current

    def _int(self, key: str, label: str, refused: dict[str, str]) -> int:
        """The field's whole number; not one, its refusal goes in ``refused`` (reported with
        every other field's) and 0 stands in for it."""
        text = self.query_one(f"#q-{key}", Input).value.strip()
        try:
            return int(text)
        except ValueError:
            refused[key] = f"{label}: a whole number ≥ 0 (got {text!r})"
            return 0

    def _connector(self) -> str:
        """The chosen connector's name; none chosen: "" (the number's, else the first)."""
        value = self.query_one("#q-connector", Select).value
        return value if isinstance(value, str) else ""

    def save(self) -> None:
        self.save_queue()

    @work(group="queue-save", exclusive=True, exit_on_error=False)
    async def save_queue(self) -> None:
        refused: dict[str, str] = {}
        try:
            base = self.row.settings if self.row else QueueSettings(name="")
            strategy = self.query_one("#q-strategy", Select).value
            settings = replace(
                base,
                name=self.query_one("#q-name", Input).value,
                enabled=self.query_one("#q-enabled", Checkbox).value,
                connector=self._connector(),
                number=self.query_one("#q-number", Input).value,
                strategy=str(strategy),
                service_level_s=self._int("service_level_s", "service level", refused),
                max_waiting=self._int("max_waiting", "max waiting", refused),
                max_transfer_s=self._int("max_transfer_s", "max transfer", refused),
                max_time_in_queue_s=self._int("max_time_in_queue_s", "max time in queue", refused),
                opening_hours=self.query_one("#q-hours", Input).value,
                timezone=self.query_one("#q-timezone", Input).value,
                out_of_hours_message=self.query_one("#q-ooh", Input).value,
                inbound_blacklist=self.query_one("#q-inbound-bl", Checkbox).value,
                outbound_blacklist=self.query_one("#q-outbound-bl", Checkbox).value,
            )
            if refused:  # with every other field's refusal, at once
                validate_queue(settings, refused)
            await self.services.admin.save_queue(
                self.actor, settings, self.row.id if self.row else None
            )
        except BannerError as exc:
            self._field_errors(exc.fields, exc.message)
            if not exc.fields:
                self._error(exc.message)
            return
        self.dismiss(True)


class MembersDialog(AdminForm):
    """The agents a queue distributes to, ticked from every agent (with their simultaneous
    limit): typed as free text, a misspelt login was only refused on saving (issue #19)."""

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
            yield Static(Content("space ticks or unticks an agent"), classes="hint")
            yield SelectionList[str](id="members")
            yield from self._buttons()

    def on_mount(self) -> None:
        self.load_roster()

    @work(group="members-roster", exclusive=True, exit_on_error=False)
    async def load_roster(self) -> None:
        roster = await self.services.admin.roster(self.actor)
        pick = self.query_one("#members", SelectionList)
        members = set(self.row.members)
        pick.add_options(
            [
                Selection(
                    line(
                        f"{a.login} · {a.display_name} · {a.profile}, up to "
                        f"{a.max_simultaneous} at once" + ("" if a.active else " · disabled")
                    ),
                    a.login,
                    a.login in members,
                )
                for a in roster
            ]
        )
        if roster:
            pick.highlighted = 0
        pick.focus()

    def save(self) -> None:
        self.save_members()

    @work(group="members-save", exclusive=True, exit_on_error=False)
    async def save_members(self) -> None:
        logins = list(self.query_one("#members", SelectionList).selected)
        try:
            await self.services.admin.set_members(self.actor, self.row.id, logins)
        except BannerError as exc:
            self._error(exc.message)
            return
        self.dismiss(True)
