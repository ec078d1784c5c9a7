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
from bannertui.services.admin import NumberRow
from bannertui.ui.screens.admin.form import AdminForm, field_row


class NumberDialog(AdminForm):
    """Add one of our numbers, or (``row``) change an existing one's label."""

    def __init__(self, services: Services, actor: Actor, row: NumberRow | None = None) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.row = row

    def compose(self) -> ComposeResult:
        r = self.row
        title = f"SMS number {r.number}" if r else "Add an SMS number"
        with Vertical(classes="dialog", id="number-dialog"):
            yield Static(Content.styled(title, "bold"), classes="dialog-title")
            yield field_row(
                "Number",
                Input(
                    r.number if r else "",
                    placeholder="+33757000099",
                    id="n-number",
                    disabled=r is not None,
                ),
            )
            yield field_row("Label", Input(r.label if r else "", id="n-label"))
            yield from self._buttons()

    def save(self) -> None:
        self.add()

    @work(group="number-add", exclusive=True, exit_on_error=False)
    async def add(self) -> None:
        label = self.query_one("#n-label", Input).value
        try:
            if self.row is not None:
                await self.services.admin.set_number_label(self.actor, self.row.id, label)
            else:
                await self.services.admin.add_number(
                    self.actor, self.query_one("#n-number", Input).value, label
                )
        except BannerError as exc:
            self._error(exc.message)
            return
        self.dismiss(True)
