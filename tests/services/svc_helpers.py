"""Helpers for the service tests: look demo rows up by name, count rows, poke at the data;
wait for asynchronous work (a notification heard, a transaction waiting for a lock)."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from bannertui.services.changes import ChangeWatcher
from bannertui.store.database import Database
from bannertui.store.models import (
    Account,
    Agent,
    AuditEvent,
    Connector,
    Interaction,
    Message,
    Profile,
    Queue,
    Template,
)

#: How long a test waits for something asynchronous before it fails.  The condition is checked
#: every few milliseconds, so a long bound costs nothing when it holds; on a loaded machine
#: (other processes on every core) what takes 0.1 s idle can take seconds.
WAIT_S = 30.0

#: A channel no code of the application uses: see :func:`caught_up`.
_SENTINEL_CHANNEL = "bannertui_test_caught_up"


async def caught_up(watcher: ChangeWatcher, within: float = WAIT_S) -> None:
    """PostgreSQL: return once ``watcher`` has handled every notification committed before
    this call (its first check must have run: it opens the listening connection).

    A check that a write woke nobody cannot wait for what must not come, and a fixed pause
    before it ("nothing within 0.4 s") proves little on a loaded machine.  It waits for this
    instead: a NOTIFY committed now on a channel of the test's own, on the watcher's listening
    connection.  PostgreSQL delivers a connection's notifications in the order their
    transactions committed, and asyncpg calls them back in the order they arrive, so once
    this one is heard, one the earlier write had (wrongly) sent has been handled."""
    listener: Any = watcher._listener
    assert listener is not None, "call watcher.changed() first"
    heard = asyncio.Event()

    def on_sentinel(*_args: Any) -> None:
        heard.set()

    await listener.add_listener(_SENTINEL_CHANNEL, on_sentinel)
    try:
        async with watcher.db.read() as session:  # AUTOCOMMIT: the NOTIFY commits at once
            await session.execute(sa.text(f"NOTIFY {_SENTINEL_CHANNEL}"))
        await asyncio.wait_for(heard.wait(), within)
    finally:
        await listener.remove_listener(_SENTINEL_CHANNEL, on_sentinel)


async def wait_for_a_lock_wait(db: Database, within: float = WAIT_S) -> None:
    """PostgreSQL: wait until a session of ``db``'s database is blocked on a lock (polling
    every 20 ms) — a concurrent task has reached the row lock it must wait for.  A fixed
    pause before checking it waits proves nothing when the task has not got there yet."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        async with db.read() as session:
            if await session.scalar(query):
                return
        if loop.time() > deadline:
            raise AssertionError(f"no session waited for a lock within {within:g} s")
        await asyncio.sleep(0.02)


class Demo:
    """Reads and small writes on the seeded database, outside the services under test."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def queue_id(self, name: str) -> int:
        async with self.db.read() as session:
            qid = await session.scalar(sa.select(Queue.id).where(Queue.name == name))
        assert qid is not None, name
        return int(qid)

    async def template_id(self, name: str) -> int:
        async with self.db.read() as session:
            tid = await session.scalar(sa.select(Template.id).where(Template.name == name))
        assert tid is not None, name
        return int(tid)

    async def agent_id(self, login: str) -> int:
        async with self.db.read() as session:
            aid = await session.scalar(sa.select(Agent.id).where(Agent.login == login))
        assert aid is not None, login
        return int(aid)

    async def balance(self) -> int:
        async with self.db.read() as session:
            return int(await session.scalar(sa.select(Account.credits)) or 0)

    async def count(self, model: Any, *where: Any) -> int:
        async with self.db.read() as session:
            query = sa.select(sa.func.count()).select_from(model)
            if where:
                query = query.where(*where)
            return int(await session.scalar(query) or 0)

    async def message(self, message_id: int) -> Message:
        async with self.db.read() as session:
            msg = await session.get(Message, message_id)
        assert msg is not None
        return msg

    async def interaction(self, interaction_id: int) -> Interaction:
        async with self.db.read() as session:
            inter = await session.get(Interaction, interaction_id)
        assert inter is not None
        return inter

    async def audit(self, action: str) -> list[AuditEvent]:
        async with self.db.read() as session:
            rows = await session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
            return list(rows.all())

    async def snapshot(self) -> tuple[int, int, int, int]:
        """(balance, messages, interactions, audit events): "nothing was written" compares two."""
        return (
            await self.balance(),
            await self.count(Message),
            await self.count(Interaction),
            await self.count(AuditEvent),
        )

    async def update(self, model: Any, where: Any, **values: Any) -> None:
        async with self.db.write() as session:
            result = await session.execute(sa.update(model).where(where).values(**values))
            assert result.rowcount >= 1  # type: ignore[attr-defined]

    async def set_profile(self, name: str, **values: Any) -> None:
        await self.update(Profile, Profile.name == name, **values)

    async def set_account(self, **values: Any) -> None:
        """The account's values; ``provider_url`` (before connectors, the account's provider):
        None or "" leaves no connector able to send, a URL sets up connector 1 with it."""
        if "provider_url" in values:
            await self.set_provider(values.pop("provider_url"))
        if values:
            await self.update(Account, Account.id == 1, **values)

    async def set_provider(self, url: str | None) -> None:
        async with self.db.write() as session:
            if not url:
                await session.execute(sa.update(Connector).values(configured=False))
                return
            row = await session.get(Connector, 1)
            assert row is not None
            row.settings = {**row.settings, "url": url}
            row.configured = True
