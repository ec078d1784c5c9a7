"""An SMS number of the account."""

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


class NumberDialog(AdminForm):
    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="number-dialog"):
            yield Static(Content.styled("Add an SMS number", "bold"), classes="dialog-title")
            yield field_row("Number", Input(placeholder="+33757000099", id="n-number"))
            yield field_row("Label", Input(id="n-label"))
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
