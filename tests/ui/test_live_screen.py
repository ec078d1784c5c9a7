"""A live screen hears of another process's commit at once on PostgreSQL (the notification
starts its check), and still reloads at most once per interval (ui.screens.base.LiveScreen).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from textual.app import App

from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.ui.screens.base import LiveScreen

TICK = 3.0  # the screen's own interval: longer than the waits below


class Counting(LiveScreen[None]):
    def __init__(self, db: Database, interval: float = TICK) -> None:
        super().__init__()
        self.db = db
        self.interval = interval
        self.changes: list[float] = []
        self.checks = 0

    def on_mount(self) -> None:
        self.follow_database(self.db, self.interval, now=True)

    async def database_checked(self, changed: bool) -> None:
        self.checks += 1
        if changed:
            self.changes.append(time.monotonic())


class Host(App[None]):
    def __init__(self, db: Database, interval: float = TICK) -> None:
        super().__init__()
        self.screen_under_test = Counting(db, interval)

    def on_mount(self) -> None:
        self.push_screen(self.screen_under_test)


async def wait_for_changes(screen: Counting, n: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if len(screen.changes) >= n:
            return True
        await asyncio.sleep(0.02)
    return len(screen.changes) >= n


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
            assert await wait_for_changes(screen, 1, 5.0)  # the first check
            await asyncio.sleep(TICK)  # past the throttle: the next one may come at once
            await other.accounts.add_credits(1, "admin")
            assert await wait_for_changes(screen, 2, 2.0)  # not after the 3 s tick
            await other.accounts.add_credits(1, "admin")
            assert not await wait_for_changes(screen, 3, 1.0)  # throttled: waits for the tick
            assert await wait_for_changes(screen, 3, TICK + 1.0)  # and the tick has it
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
            assert await wait_for_changes(screen, 1, 5.0)  # the first check
            await asyncio.sleep(0.3)
            checks = screen.checks
            await asyncio.sleep(2.0)
            assert screen.checks - checks <= 3  # about one a second, not eight
            await other.accounts.add_credits(1, "admin")
            assert await wait_for_changes(screen, 2, 0.6)
            await other.accounts.add_credits(1, "admin")  # within the interval of that reload
            assert await wait_for_changes(screen, 3, 0.6)  # not left for the next tick
            assert screen.changes[2] - screen.changes[1] >= 0.25  # but throttled
    finally:
        await other.db.dispose()


async def test_a_thread_updates_statuses_in_place_and_only_forward() -> None:
    from datetime import UTC, datetime

    from textual.widgets import Static

    from bannertui.services.conversations import ThreadPage
    from bannertui.store.models import Direction, Message, MessageStatus
    from bannertui.ui.widgets.thread import ThreadView

    def outbound(mid: int, status: MessageStatus) -> Message:
        return Message(
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
    async with app.run_test() as pilot:
        view = app.query_one(ThreadView)
        view.show(
            ThreadPage(
                messages=(outbound(1, MessageStatus.SENDING), outbound(2, MessageStatus.SENT)),
                has_older=False,
            )
        )
        view.statuses_moved({1: "sent", 2: "delivered", 99: "delivered"})
        await pilot.pause()
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
