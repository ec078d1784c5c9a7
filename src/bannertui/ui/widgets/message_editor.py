"""A message editor: a TextArea with the credit counter under it."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import TextArea

from bannertui.ui.widgets.credit_counter import CreditCounter


class MessageEditor(Vertical):
    DEFAULT_CSS = """
    MessageEditor { height: auto; }
    MessageEditor TextArea { height: 5; min-height: 3; }
    """

    @dataclass
    class Changed(Message):
        editor: MessageEditor
        over_limit: bool
        empty: bool

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = text

    def compose(self) -> ComposeResult:
        yield TextArea(
            self._initial,
            soft_wrap=True,
            tab_behavior="focus",
            placeholder="Type the message…",
            id="message-text",
        )
        yield CreditCounter(self._initial, id="credit-counter")

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    @text.setter
    def text(self, value: str) -> None:
        self.query_one(TextArea).load_text(value)
        self._changed(value)

    @property
    def over_limit(self) -> bool:
        return self.query_one(CreditCounter).over_limit

    def clear(self) -> None:
        self.text = ""

    def focus_text(self) -> None:
        self.query_one(TextArea).focus()

    @on(TextArea.Changed, "#message-text")
    def _on_text(self, event: TextArea.Changed) -> None:
        event.stop()
        self._changed(event.text_area.text)

    def _changed(self, text: str) -> None:
        counter = self.query_one(CreditCounter)
        counter.text = text
        self.post_message(self.Changed(self, counter.over_limit, not text.strip()))
