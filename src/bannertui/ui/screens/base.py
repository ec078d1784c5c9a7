"""What every bannertui screen shares: the one error policy for its workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from bannertui.domain.errors import BannerError
from bannertui.domain.text import one_line
from bannertui.services import Services
from bannertui.services.changes import ChangeWatcher
from bannertui.ui.widgets.footer import KeyFooter

R = TypeVar("R")

#: The same error is not shown again within this many seconds.
REPEAT_SECONDS = 10.0
#: A search or filter field queries the database once typing pauses this long: "dupont" is one
#: read, not six.  Each keystroke starts the field's exclusive worker, which cancels the one
#: still waiting, so only the last keystroke's worker reads.
TYPING_PAUSE_SECONDS = 0.15


async def typing_pause(pause: bool) -> None:
    """In a field's worker: wait for the typing to pause (``pause``: started by a keystroke)."""
    if pause:
        await asyncio.sleep(TYPING_PAUSE_SECONDS)


def report_worker_error(screen: Screen[Any] | App[Any], event: Worker.StateChanged) -> None:
    """Expected refusals → a notification with the SPEC name; anything else → a notification
    naming the exception (never markup: the text may carry provider or user input)."""
    if event.state is not WorkerState.ERROR:
        return
    error = event.worker.error
    text = (
        error.message
        if isinstance(error, BannerError)
        else f"Unexpected error: {type(error).__name__}: {error}"
    )
    text = one_line(text)  # a provider's or a contact's words may be in it
    # A background refresh that keeps failing (database gone...) says so once, not each tick.
    now = time.monotonic()
    app = screen.app if isinstance(screen, Screen) else screen
    last: tuple[str, float] | None = getattr(app, "_last_worker_error", None)
    if last is not None and last[0] == text and now - last[1] < REPEAT_SECONDS:
        return
    app._last_worker_error = (text, now)  # type: ignore[attr-defined]
    if isinstance(error, BannerError):
        screen.notify(text, severity="error", markup=False)
    else:
        screen.notify(
            text,
            title="bannertui",
            severity="error",
            markup=False,
            timeout=15,
        )


class ReportsWorkerErrors:
    """For widgets that run workers: their Worker.StateChanged stops at the widget (it does not
    bubble), so they report through the same policy as screens."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        screen = getattr(self, "screen", None)
        if isinstance(screen, Screen):
            report_worker_error(screen, event)


class BaseScreen(Screen[R]):
    """Worker.StateChanged does not bubble: each screen reports its own workers' errors."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)


#: On PostgreSQL a notification starts a screen's check: its tick only notices a lost
#: listener and brings the periodic refresh (ChangeWatcher.others_every), so it runs at most
#: this often (each tick is a worker: four a second on each of 200 idle consoles, for
#: nothing).
PUSHED_TICK_SECONDS = 1.0


class LiveScreen(BaseScreen[R]):
    """A screen that follows the shared database, whoever writes it (this process, another
    console, the dispatcher, the webhook): one cheap change check (services.changes: no query
    over the data) every ``interval`` seconds on SQLite, and :meth:`database_checked` with
    its answer.  On PostgreSQL a notification starts the check at once, or, when the screen
    reloaded less than ``interval`` ago, as soon as ``interval`` has passed; the tick is
    then only a fallback (:data:`PUSHED_TICK_SECONDS`).  A text shows as soon as it is
    stored, and a screen still reloads at most once per ``interval``.  At most one check
    runs at a time; a slow one is not stacked, and a notification that arrives during it
    starts another after it."""

    watcher: ChangeWatcher | None = None
    _checking = False
    _changed_at = 0.0  # time.monotonic() of the last check that found a change
    _push_pending = False  # a notification came during a check
    _push_timer: Timer | None = None  # a throttled notification's check, scheduled

    def follow_database(
        self,
        services: Services,
        interval: float,
        *,
        now: bool = False,
        first: Callable[[], object] | None = None,
    ) -> None:
        """Start following (from on_mount); ``now``: check at once, not after ``interval``.
        ``first``: the screen's first load, started once the watcher knows where the
        database stands, so that the first check reports only what changed since (else it
        says "changed", as every first check does, and the page just read is read again)."""
        db = services.db
        self.watcher = ChangeWatcher(db, interval=interval)
        self.watcher.on_change(self._notified)
        if first is not None:
            self._checking = True
            self._first_load(first)
        elif now:
            self._poll_changes()
        tick = interval if db.is_sqlite else max(interval, PUSHED_TICK_SECONDS)
        self.set_interval(tick, self._poll_changes)

    def _notified(self) -> None:
        # Called by the database driver, outside the app's context: what follows (timers,
        # workers) runs from the screen's own message queue.
        if self.is_mounted:
            self.call_later(self._pushed)

    def _pushed(self) -> None:
        watcher = self.watcher
        if watcher is None or not self.is_mounted:
            return
        if self._checking:
            self._push_pending = True
            return
        wait = watcher.interval - (time.monotonic() - self._changed_at)
        if wait <= 0:
            self._poll_changes()
        elif self._push_timer is None:
            self._push_timer = self.set_timer(wait, self._push_due)

    def _push_due(self) -> None:
        self._push_timer = None
        if self.is_mounted:
            self._poll_changes()

    def _poll_changes(self) -> None:
        if not self._checking:
            self._checking = True
            self.check_changes()

    @work(group="live-watch", exit_on_error=False)
    async def _first_load(self, first: Callable[[], object]) -> None:
        try:
            if self.watcher is not None:
                await self.watcher.changed()  # "changed", as a first check: where it stands
        finally:
            self._checking = False
            if self.is_mounted:
                first()
            if self._push_pending and self.watcher is not None:
                self._push_pending = False
                self._pushed()

    @work(group="live-watch", exit_on_error=False)
    async def check_changes(self) -> None:
        try:
            if self.watcher is not None:
                changed = await self.watcher.changed()
                if changed:
                    self._changed_at = time.monotonic()
                await self.database_checked(changed)
        finally:
            self._checking = False
            if self._push_pending and self.watcher is not None:
                self._push_pending = False
                self._pushed()

    async def database_checked(self, changed: bool) -> None:
        """What the screen does after a check (``changed``: the database moved)."""
        raise NotImplementedError

    async def on_unmount(self) -> None:
        watcher, self.watcher = self.watcher, None  # no check starts after this
        if watcher is not None:
            watcher.on_change(None)
            await watcher.close()


class BaseModal(ModalScreen[R]):
    """A dialog over another screen, with a footer of its own keys: the screen under it shows
    its footer too, and its keys do not work while the dialog is open."""

    # The app's F1 (priority) opens the help; this one puts it in the dialog's footer, which
    # shows the dialog's keys only.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "app.help", "Keys", id="dialog.help"),
    ]

    def on_mount(self) -> None:
        # Textual calls on_mount of every class in the MRO: subclasses keep their own.
        if self.is_attached:
            self.mount(KeyFooter())
        # Else the app is quitting (Textual detaches everything at once and refuses mounts):
        # a dialog opened just before q or ctrl+q is never shown (issue #23 item 2).

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)
