"""A message editor: a TextArea with the credit counter under it."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import TextArea
from textual.widgets.text_area import Edit, EditResult

from bannertui.ui.widgets.credit_counter import CreditCounter


class _MessageTextArea(TextArea):
    """A TextArea that updates its editor's counter inside the edit itself, so the text and
    the counter repaint in the same frame (through ``TextArea.Changed`` alone the counter
    would follow in a second frame, a whole-screen compositor pass on every keystroke)."""

    #: A TextArea binds F6 (select the line) and F7 (select all): here those keys are the
    #: app's, People and the dashboard, as everywhere (issue #23 item 5).  The app's priority
    #: bindings already win; disabled, these also leave the footer its usual order (else
    #: F6 and F7 came first, in the editor's place, and pushed F8 Close off at 80 columns).
    SHADOWING_ACTIONS = frozenset({"select_line", "select_all"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.SHADOWING_ACTIONS:
            return False
        return super().check_action(action, parameters)

    def edit(self, edit: Edit) -> EditResult:
        result = super().edit(edit)
        parent = self.parent
        if isinstance(parent, MessageEditor):
            parent.query_one(CreditCounter).text = self.text
        return result


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
        yield _MessageTextArea(
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
        counter.text = text  # already done by the edit, except after undo, redo or load_text
        self.post_message(self.Changed(self, counter.over_limit, not text.strip()))
