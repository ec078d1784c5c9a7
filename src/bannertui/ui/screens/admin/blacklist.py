"""A number for the blacklist (SPEC Q4)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import (
    Input,
    Static,
)

from bannertui.domain.actor import Actor
from bannertui.domain.errors import BannerError
from bannertui.services import Services
from bannertui.ui.screens.admin.form import AdminForm, field_row


class BlacklistDialog(AdminForm):
    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="blacklist-dialog"):
            yield Static(Content.styled("Add to the blacklist", "bold"), classes="dialog-title")
            yield field_row("Number", Input(placeholder="+33612345678", id="bl-number"))
            yield field_row("Reason", Input(id="bl-reason"))
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
