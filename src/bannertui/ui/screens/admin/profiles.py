"""A profile: role, send modes, sender numbers."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import (
    Checkbox,
    Input,
    Select,
    Static,
)

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Role
from bannertui.domain.errors import BannerError
from bannertui.services import Services
from bannertui.services.admin import (
    ProfileRow,
    ProfileSettings,
)
from bannertui.ui.screens.admin.form import AdminForm, field_error, field_row


class ProfileDialog(AdminForm):
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
            yield field_row("Name", Input(s.name, id="pr-name", compact=True))
            yield field_error("name")
            yield field_row(
                "Role",
                Select(
                    [(r.value, r.value) for r in Role],
                    value=s.role,
                    allow_blank=False,
                    id="pr-role",
                    compact=True,
                ),
            )
            yield field_error("role")
            yield field_row(
                "Permissions",
                Horizontal(
                    Checkbox("Messaging", s.messaging, id="pr-messaging", compact=True),
                    Checkbox("Direct", s.direct, id="pr-direct", compact=True),
                    Checkbox("Smart", s.smart, id="pr-smart", compact=True),
                    classes="checks",
                ),
            )
            yield field_row(
                "Simultaneous max", Input(str(s.max_simultaneous), id="pr-max", compact=True)
            )
            yield field_error("max_simultaneous")
            yield field_row(
                "Countries",
                Input(
                    s.authorized_countries,
                    placeholder="FR,BE,CH — or * for all",
                    id="pr-countries",
                    compact=True,
                ),
            )
            yield field_error("authorized_countries")
            yield field_row(
                "Sender numbers",
                Input(", ".join(s.sender_numbers), id="pr-numbers", compact=True),
            )
            yield field_error("sender_numbers")
            yield from self._buttons()

    def save(self) -> None:
        self.save_profile()

    @work(group="profile-save", exclusive=True, exit_on_error=False)
    async def save_profile(self) -> None:
        raw_max = self.query_one("#pr-max", Input).value.strip()
        refused: dict[str, str] = {}
        if not raw_max.isdigit():  # reported with every other field's refusal
            refused["max_simultaneous"] = f"simultaneous interactions: 0 to 1,000 (got {raw_max!r})"
        try:
            numbers = [n.strip() for n in self.query_one("#pr-numbers", Input).value.split(",")]
            settings = ProfileSettings(
                name=self.query_one("#pr-name", Input).value,
                role=str(self.query_one("#pr-role", Select).value),
                messaging=self.query_one("#pr-messaging", Checkbox).value,
                direct=self.query_one("#pr-direct", Checkbox).value,
                smart=self.query_one("#pr-smart", Checkbox).value,
                max_simultaneous=int(raw_max) if raw_max.isdigit() else 0,
                authorized_countries=self.query_one("#pr-countries", Input).value,
                sender_numbers=tuple(n for n in numbers if n),
            )
            await self.services.admin.save_profile(
                self.actor, settings, self.row.id if self.row else None, refused=refused
            )
        except BannerError as exc:
            self._field_errors(exc.fields, exc.message)
            if not exc.fields:
                self._error(exc.message)
            return
        self.dismiss(True)
