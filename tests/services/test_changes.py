"""The change check the live screens poll (services.changes), on both backends: a commit by
another connection or process is seen, a read or a rolled-back write is not, and on
PostgreSQL a lost listening connection reports a change and listens again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from svc_helpers import WAIT_S, caught_up

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.services.changes import ChangeWatcher
from bannertui.services.outbox import mark_sent_many
from bannertui.store.database import Database
from bannertui.store.models import Account


class FixedNow:
    now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def settle(watcher: ChangeWatcher, db: Database) -> None:
    """Past the first check (always True), and past anything still in flight."""
    assert await watcher.changed() is True
    if not db.is_sqlite:
        await caught_up(watcher)  # not a fixed pause: whatever was in flight has arrived
        await watcher.changed()  # and is taken


async def test_a_commit_elsewhere_is_seen_once(seeded: Database, database_url: str) -> None:
    watcher = ChangeWatcher(seeded, interval=0.02)
    other = Services(Database(database_url))
    try:
        await settle(watcher, seeded)
        assert await watcher.changed() is False
        await other.accounts.add_credits(Actor("admin"), 5)
        assert await watcher.wait(WAIT_S) is True
        assert await watcher.changed() is False
    finally:
        await watcher.close()
        await other.db.dispose()


async def test_a_delivery_receipt_is_seen(seeded: Database, database_url: str) -> None:
    """A status change alone (sent → delivered) must reach the screens."""
    other = Services(Database(database_url))
    msg = await other.outbound.send_direct(Actor("alice"), "+33612000001", "+33757000001", "Hi")
    assert msg.ret_id is not None
    async with other.db.write() as session:  # the provider accepted it
        assert await mark_sent_many(session, [msg.id or 0], FixedNow.now) == 1
    watcher = ChangeWatcher(seeded, interval=0.02)
    try:
        await settle(watcher, seeded)
        await other.inbound.record_receipt(msg.ret_id, "delivered")
        assert await watcher.wait(WAIT_S) is True
    finally:
        await watcher.close()
        await other.db.dispose()


async def test_reads_and_rolled_back_writes_are_not_changes(seeded: Database) -> None:
    watcher = ChangeWatcher(seeded, interval=0.02)
    try:
        await settle(watcher, seeded)
        async with seeded.read() as session:
            await session.scalar(sa.select(Account.credits))

        async def rolled_back() -> None:
            async with seeded.write() as session:
                await session.execute(sa.update(Account).values(credits=Account.credits + 1))
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await rolled_back()
        if not seeded.is_sqlite:  # SQLite's check reads the version itself: nothing in flight
            await caught_up(watcher)  # a notification they had sent would have arrived
        assert await watcher.wait(0.3) is False
    finally:
        await watcher.close()


async def test_postgresql_reconnects_after_losing_its_listener(
    seeded: Database, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    watcher = ChangeWatcher(seeded, interval=0.02)
    try:
        await settle(watcher, seeded)
        listener: Any = watcher._listener
        await listener.close()  # what a server restart does to it
        assert await watcher.changed() is True  # unknown meanwhile: reported as a change
        assert watcher._listener is not listener
        await Services(seeded).accounts.add_credits(Actor("admin"), 1)
        assert await watcher.wait(WAIT_S) is True
    finally:
        await watcher.close()


async def test_postgresql_calls_back_as_the_notification_arrives(
    seeded: Database, database_url: str, backend: str
) -> None:
    """The screen hears of a commit without waiting for its next check; the check then says
    so (and the callback is not called for a rolled-back write)."""
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    import asyncio

    watcher = ChangeWatcher(seeded, interval=0.02)
    other = Services(Database(database_url))
    pushed = asyncio.Event()
    try:
        await settle(watcher, seeded)
        watcher.on_change(pushed.set)

        async def rolled_back() -> None:
            async with other.db.write() as session:
                await session.execute(sa.update(Account).values(credits=Account.credits + 1))
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await rolled_back()
        await caught_up(watcher)  # not a fixed pause: a notification sent would have arrived
        assert not pushed.is_set()
        await other.accounts.add_credits(Actor("admin"), 5)
        await asyncio.wait_for(pushed.wait(), WAIT_S)  # no check in between
        assert await watcher.changed() is True
        watcher.on_change(None)
        pushed.clear()
        await other.accounts.add_credits(Actor("admin"), 5)
        assert await watcher.wait(WAIT_S) is True
        assert not pushed.is_set()
    finally:
        await watcher.close()
        await other.db.dispose()
