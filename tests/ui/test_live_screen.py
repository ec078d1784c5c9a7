"""A live screen hears of another process's commit at once on PostgreSQL (the notification
starts its check), and still reloads at most once per interval (ui.screens.base.LiveScreen).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from textual.app import App

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.testing import WAIT_FLOOR_SECONDS
from bannertui.ui.screens.base import LiveScreen

TICK = 3.0  # the screen's own interval: longer than the waits below
ADMIN = Actor("admin")


class Counting(LiveScreen[None]):
    """Counts its checks, and says what started each: its tick (or the first check) or a
    notification (``push``: at once, or once the interval since the last change passed)."""

    def __init__(self, db: Database, interval: float = TICK) -> None:
        super().__init__()
        self.db = db
        self.interval = interval
        self.changes: list[float] = []
        self.checks = 0
        #: (time.monotonic(), "first" | "tick" | "push") of each check started.
        self.started: list[tuple[float, str]] = []
        #: What started the check that found each change (as ``changes``).
        self.found_by: list[str] = []
        self.notifications = 0
        self._starting = "tick"

    def on_mount(self) -> None:
        self._starting = "first"
        try:
            self.follow_database(Services(self.db), self.interval, now=True)
        finally:
            self._starting = "tick"

    def _pushed(self) -> None:
        self.notifications += 1
        self._starting = "push"
        try:
            super()._pushed()
        finally:
            self._starting = "tick"

    def _push_due(self) -> None:
        self._starting = "push"
        try:
            super()._push_due()
        finally:
            self._starting = "tick"

    def _poll_changes(self) -> None:
        if not self._checking:
            self.started.append((time.monotonic(), self._starting))
        super()._poll_changes()

    async def database_checked(self, changed: bool) -> None:
        self.checks += 1
        if changed:
            self.changes.append(time.monotonic())
            self.found_by.append(self.started[-1][1])

    def ticks(self) -> int:
        return sum(1 for _, source in self.started if source == "tick")


class Host(App[None]):
    def __init__(self, db: Database, interval: float = TICK) -> None:
        super().__init__()
        self.screen_under_test = Counting(db, interval)

    def on_mount(self) -> None:
        self.push_screen(self.screen_under_test)


async def wait_for(condition: Callable[[], bool], within: float = WAIT_FLOOR_SECONDS) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def wait_for_changes(screen: Counting, n: int, within: float = WAIT_FLOOR_SECONDS) -> bool:
    """Whether the screen has found ``n`` changes within ``within`` seconds (the default
    only bounds how long a failing test takes: it returns as soon as they are found)."""
    return await wait_for(lambda: len(screen.changes) >= n, within)


async def just_after_a_tick(screen: Counting) -> None:
    """Until a check started by the tick has ended: the next tick is a whole tick away, so
    what is measured next is not overtaken by it however slowly the machine runs."""
    ticks = screen.ticks()
    assert await wait_for(lambda: screen.ticks() > ticks and screen.checks == len(screen.started))


async def test_a_notification_starts_the_check_at_once_at_most_once_per_interval(
    seeded: Database, database_url: str, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no push: its checks stay on the tick")
    other = Services(Database(database_url))
    app = Host(seeded)
    try:
        async with app.run_test():
            screen = app.screen_under_test
            assert await wait_for_changes(screen, 1)  # the first check
            await asyncio.sleep(TICK)  # past the throttle: the next one may come at once
            await just_after_a_tick(screen)
            await other.accounts.add_credits(ADMIN, 1)
            assert await wait_for_changes(screen, 2)
            assert screen.found_by[1] == "push"  # at once, not on the 3 s tick
            heard = screen.notifications
            await other.accounts.add_credits(ADMIN, 1)
            assert await wait_for(lambda: screen.notifications > heard)  # the screen heard...
            assert not await wait_for_changes(screen, 3, 1.0)  # ...but throttled: no check yet
            assert await wait_for_changes(screen, 3)  # and the tick has it
            # No check started by a notification within the interval of the last change.
            throttled = [
                t
                for t, source in screen.started
                if source == "push" and screen.changes[1] < t < screen.changes[1] + TICK - 0.05
            ]
            assert throttled == [], (screen.changes, screen.started)
    finally:
        await other.db.dispose()


async def test_on_postgresql_the_tick_is_a_fallback_and_a_throttled_push_is_not_lost(
    seeded: Database, database_url: str, backend: str
) -> None:
    """A screen with a short interval does not check four times a second for nothing when
    notifications do the waking (PUSHED_TICK_SECONDS); a notification within the interval of
    the last reload is checked as soon as the interval has passed, not at the next tick."""
    if backend != "postgresql":
        pytest.skip("SQLite has no push: its checks stay on the tick")
    other = Services(Database(database_url))
    app = Host(seeded, interval=0.25)
    try:
        async with app.run_test():
            screen = app.screen_under_test
            assert await wait_for_changes(screen, 1)  # the first check
            await asyncio.sleep(0.3)
            checks = screen.checks
            await asyncio.sleep(2.0)
            assert screen.checks - checks <= 3  # about one a second, not eight
            await just_after_a_tick(screen)
            await other.accounts.add_credits(ADMIN, 1)
            assert await wait_for_changes(screen, 2)
            assert screen.found_by[1] == "push"  # at once, not on the 1 s tick
            await other.accounts.add_credits(ADMIN, 1)  # within the interval of that reload
            assert await wait_for_changes(screen, 3)
            assert screen.found_by[2] == "push"  # not left for the next tick
            assert screen.changes[2] - screen.changes[1] >= 0.25  # but throttled
    finally:
        await other.db.dispose()


async def test_a_thread_updates_statuses_in_place_and_only_forward() -> None:
    from datetime import UTC, datetime

    from textual.widgets import Static

    from bannertui.domain.enums import Direction, MessageStatus
    from bannertui.services.conversations import ThreadMessage, ThreadPage
    from bannertui.ui.widgets.thread import ThreadView

    def outbound(mid: int, status: MessageStatus) -> ThreadMessage:
        return ThreadMessage(
            id=mid,
            direction=Direction.OUTBOUND,
            from_number="+33757000010",
            to_number="+33612000001",
            remote_number="+33612000001",
            text=f"reply {mid}",
            encoding="GSM7",
            credits=1,
            status=status,
            created_at=datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
        )

    class Host(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield ThreadView(id="thread")

    app = Host()
    async with app.run_test():
        view = app.query_one(ThreadView)
        view.show(
            ThreadPage(
                messages=(outbound(1, MessageStatus.SENDING), outbound(2, MessageStatus.SENT)),
                has_older=False,
            )
        )
        # Statuses move in place, synchronously: each check follows its call directly.
        view.statuses_moved({1: "sent", 2: "delivered", 99: "delivered"})
        assert [m.status for m in view.messages] == ["sent", "delivered"]
        body = str(app.query_one("#thread-body", Static).render())
        assert "delivered" in body
        view.statuses_moved({2: "sent"})  # a late notification: no step back
        assert [m.status for m in view.messages] == ["sent", "delivered"]
        # A page read before the statuses moved, shown after: it keeps them.
        view.show(
            ThreadPage(
                messages=(outbound(1, MessageStatus.SENDING), outbound(2, MessageStatus.SENT)),
                has_older=False,
            )
        )
        assert [m.status for m in view.messages] == ["sent", "delivered"]
        # A failure comes with a reload: a status moved in place never hides it.
        view.show(
            ThreadPage(
                messages=(outbound(1, MessageStatus.FAILED), outbound(2, MessageStatus.SENT)),
                has_older=False,
            )
        )
        assert [m.status for m in view.messages] == ["failed", "delivered"]
        view.statuses_moved({1: "failed", 2: "bogus"})  # never carried in place: ignored
        assert [m.status for m in view.messages] == ["failed", "delivered"]
