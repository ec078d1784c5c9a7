"""A conversation thread: the latest page of messages, older pages loaded on demand.

The loaded window is rendered as one Content (not one widget per message), so a long
conversation costs what its loaded pages cost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message as TMessage
from textual.widgets import Static

from bannertui.domain.enums import Direction, MessageStatus
from bannertui.services.conversations import ThreadMessage, ThreadPage
from bannertui.ui.safe import line, plain

_STATE_STYLE = {
    MessageStatus.PENDING: "$text-muted",
    MessageStatus.SCHEDULED: "$text-muted",
    MessageStatus.SENDING: "$text-muted",
    MessageStatus.SENT: "$primary",
    MessageStatus.DELIVERED: "$success",
    MessageStatus.FAILED: "$error",
    MessageStatus.BLOCKED: "$error",
}


#: How far along a message is: a status only moves forward when updated in place.
_PROGRESS: dict[str, int] = {
    MessageStatus.SCHEDULED: 0,
    MessageStatus.PENDING: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.SENT: 3,
    MessageStatus.DELIVERED: 4,
}


def state_label(msg: ThreadMessage) -> Content:
    """X2: the delivery state, with the reason of a failure."""
    style = _STATE_STYLE.get(MessageStatus(msg.status), "")
    if msg.error and msg.status in (MessageStatus.FAILED, MessageStatus.BLOCKED):
        return Content.assemble((f"{msg.status}: ", style), line(msg.error, 80).stylize(style))
    if msg.status == MessageStatus.PENDING and msg.error and msg.attempts:
        return Content.assemble(("retrying: ", style), line(msg.error, 60).stylize(style))
    return Content.styled(str(msg.status), style)


def render_messages(
    messages: tuple[ThreadMessage, ...], has_older: bool, who: str | None = None
) -> Content:
    """The thread; an inbound message is headed by ``who`` (the contact's name), else by its
    number."""
    parts: list[Content] = []
    if has_older:
        parts.append(Content.styled("↑ older messages: scroll up or press [\n\n", "$text-muted"))
    for msg in messages:
        when = msg.created_at.astimezone().strftime("%d %b %H:%M") if msg.created_at else ""
        if msg.direction == Direction.INBOUND:
            parts.append(
                Content.assemble(
                    ("◀ ", "bold $accent"),
                    line(who or msg.remote_number).stylize("bold $accent"),
                    (f" · {when}\n", "bold $accent"),
                )
            )
        else:
            parts.append(
                Content.assemble((f"▶ you · {when} · ", "bold $primary"), state_label(msg), "\n")
            )
        parts.append(plain(msg.text, multiline=True))
        parts.append(Content("\n\n"))
    if not messages:
        parts.append(Content.styled("No message yet: write the first one below.", "$text-muted"))
    return Content.assemble(*parts)


class ThreadView(VerticalScroll, can_focus=True):
    BINDINGS = [
        Binding("left_square_bracket", "load_older", "Older", show=False, id="thread.older"),
    ]

    DEFAULT_CSS = """
    ThreadView { height: 1fr; padding: 0 1; }
    """

    @dataclass
    class OlderWanted(TMessage):
        view: ThreadView
        before_id: int

    def __init__(self, *, who: str | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.who = who  # the contact's name, heading their messages (else their number)
        self.messages: tuple[ThreadMessage, ...] = ()
        self._drawn: tuple[str, tuple[object, ...]] | None = None  # see _refresh_body
        #: Statuses moved in place (statuses_moved): a page read before they moved, shown
        #: after, keeps them.
        self._moved: dict[int, str] = {}
        self.has_older = False
        self._loading_older = False

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="thread-body")

    def show(self, page: ThreadPage, *, keep_older: bool = True) -> None:
        """Show the latest page; older pages already loaded stay above it."""
        at_bottom = self.scroll_y >= self.max_scroll_y - 1
        latest = page.messages
        if keep_older and self.messages and latest:
            first_new = latest[0].id
            older = tuple(m for m in self.messages if m.id < first_new)
            self.messages = older + latest
            self.has_older = self.has_older if older else page.has_older
        else:
            self.messages = latest
            self.has_older = page.has_older
        self.messages = self._advanced(self.messages)
        self._refresh_body()
        if at_bottom:
            self.call_after_refresh(self.scroll_end, animate=False)

    def prepend(self, page: ThreadPage) -> None:
        """Older messages arrived (scrolling up)."""
        self._loading_older = False
        height_before = self.virtual_size.height
        self.messages = page.messages + self.messages
        self.has_older = page.has_older
        self._refresh_body()

        def keep_position() -> None:
            self.scroll_y += self.virtual_size.height - height_before

        self.call_after_refresh(keep_position)

    def statuses_moved(self, moved: dict[int, str]) -> None:
        """Update the statuses of the messages shown that moved forward (a notification that
        arrives late never takes a message back from delivered to sent)."""
        for mid, status in moved.items():
            if status in _PROGRESS and _PROGRESS[status] > _PROGRESS.get(
                self._moved.get(mid, ""), -1
            ):
                self._moved[mid] = status
        advanced = self._advanced(self.messages)
        if advanced is not self.messages:
            self.messages = advanced
            self._refresh_body()

    def _advanced(self, messages: tuple[ThreadMessage, ...]) -> tuple[ThreadMessage, ...]:
        """The messages with their statuses moved forward to those moved in place (new
        frozen rows; the same tuple if none moved).  A failed or blocked message stays so:
        those come with a reload, never in place."""
        out = list(messages)
        changed = False
        for i, msg in enumerate(messages):
            status = self._moved.get(msg.id)
            if (
                status is not None
                and msg.status in _PROGRESS
                and _PROGRESS[status] > _PROGRESS[msg.status]
            ):
                out[i] = replace(msg, status=status)
                changed = True
        return tuple(out) if changed else messages

    def _refresh_body(self) -> None:
        """Draw the messages, unless they look as drawn already: the Banner reloads the open
        thread after each change in the database (its own draft saves too), and a redraw
        of the same thread was a layout and a repaint for nothing."""
        content = render_messages(self.messages, self.has_older, self.who)
        drawn = (content.plain, tuple(content.spans))
        if drawn == self._drawn:
            return
        self._drawn = drawn
        self.query_one("#thread-body", Static).update(content)

    def load_older(self) -> None:
        if self.has_older and self.messages and not self._loading_older:
            self._loading_older = True
            self.post_message(self.OlderWanted(self, self.messages[0].id))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 and old > 0:
            self.load_older()

    def action_load_older(self) -> None:
        self.load_older()
