"""The agent's open interactions (SPEC B13): channel, contact name or number, queue, unread
marker."""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from bannertui.services.conversations import InteractionSummary
from bannertui.ui.safe import line


def label(item: InteractionSummary, selected: bool = False) -> Content:
    icon = "☎" if item.is_voice else "✉"
    unread = Content.styled(f" ●{item.unread}", "bold $warning") if item.unread else Content("")
    where = "call" if item.is_voice else (item.queue_name or "")
    return Content.assemble(
        (f"{icon} ", "$accent" if item.is_voice else "$primary"),
        line(item.who),
        unread,
        "\n  ",
        line(where, 20).stylize("$text-muted"),
    )


class InteractionList(OptionList):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="list.down"),
        Binding("k", "cursor_up", "Up", show=False, id="list.up"),
        Binding("g", "first", "First", show=False, id="list.first"),
        Binding("G", "last", "Last", show=False, id="list.last"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[InteractionSummary] = []

    def show(self, items: list[InteractionSummary], keep: int | None) -> None:
        """Replace the rows, keeping interaction ``keep`` highlighted if it is still open."""
        if [(i.id, i.unread, i.queue_name, i.contact_name) for i in items] == [
            (i.id, i.unread, i.queue_name, i.contact_name) for i in self.items
        ]:
            return
        self.items = list(items)
        self.clear_options()
        self.add_options([Option(label(i), id=str(i.id)) for i in items])
        if not items:
            return
        ids = [i.id for i in items]
        self.highlighted = ids.index(keep) if keep in ids else 0

    def drop(self, interaction_id: int) -> bool:
        """Take interaction ``interaction_id``'s row out now, with no read: the agent has just
        ended it (issue #23 item 14).  The highlight stays on the row it was on, or, if that
        row went, moves to the row that took its place (the one above, at the end); the
        scroll position is kept.  False when the list does not hold it."""
        ids = [i.id for i in self.items]
        if interaction_id not in ids:
            return False
        index = ids.index(interaction_id)
        highlighted = self.highlighted
        del self.items[index]
        self.remove_option(str(interaction_id))  # clamps the highlight to the rows left
        if highlighted is not None and highlighted > index:
            self.highlighted = highlighted - 1  # the same row, one place up
        return True

    @property
    def current(self) -> InteractionSummary | None:
        """The highlighted interaction (None: the list is empty)."""
        index = self.highlighted
        return self.items[index] if index is not None and index < len(self.items) else None

    def select_id(self, interaction_id: int) -> None:
        ids = [i.id for i in self.items]
        if interaction_id in ids:
            self.highlighted = ids.index(interaction_id)
