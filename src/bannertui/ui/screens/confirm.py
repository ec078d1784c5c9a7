"""A yes/no question (SPEC B8 send confirmation, deletes, bulk resends)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from bannertui.ui.screens.base import BaseModal


class ConfirmDialog(BaseModal[bool]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("y", "letter(True)", "Yes", show=False, id="confirm.yes"),
        Binding("n", "letter(False)", "No", show=False, id="confirm.no"),
    ]

    def __init__(
        self,
        title: str,
        question: Content | str,
        *,
        confirm: str = "Confirm",
        letters: bool = True,
    ) -> None:
        """``letters``: ``y`` and ``n`` answer too.  False where the question may come while
        an agent is typing (a stray F8 in the middle of a reply): only the buttons answer."""
        super().__init__()
        self.title_text = title
        self.question = question if isinstance(question, Content) else Content(question)
        self.confirm_label = confirm
        self.letters = letters

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog"):
            yield Static(Content.styled(self.title_text, "bold"), classes="dialog-title")
            yield Static(self.question, id="question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.confirm_label, id="confirm", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    def action_letter(self, yes: bool) -> None:
        if self.letters:
            self.dismiss(yes)

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
