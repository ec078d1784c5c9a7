"""Cheap "did anything change?" checks, so screens reload only when the database moved.

SQLite: ``PRAGMA data_version`` on one dedicated connection changes whenever another
connection (this process's pool, another process) commits — no query over the data.

PostgreSQL: LISTEN on the channels write transactions notify at commit (see
:mod:`bannertui.store.database`): a check is a look at a flag, no query at all, however many
consoles are connected.  A watcher follows every change (``CHANGES_CHANNEL``: the inbox, the
supervisor) or, once :meth:`ChangeWatcher.follow_agent` is called (the Banner), only its
agent's channel and the writes that name nobody; then it also reports a change every
``others_every`` seconds, which keeps what the Banner shows of others' work (the credit
balance) that fresh.  A screen need not wait for its next check to hear of a change:
:meth:`ChangeWatcher.on_change` calls it back as the notification arrives.  When the
listening connection is lost (a server restart), the next check reconnects and reports a
change, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection

from bannertui.store.database import Database
from bannertui.store.notify import (
    CHANGES_CHANNEL,
    EVERYONE_CHANNEL,
    agent_topic,
    parse_statuses,
    topic_channel,
)


class ChangeWatcher:
    def __init__(self, db: Database, interval: float = 0.25, *, others_every: float = 15.0) -> None:
        self.db = db
        self.interval = interval
        self.others_every = others_every
        #: The PostgreSQL channels listened to (the agent's, once following one).
        self.channels: tuple[str, ...] = (CHANGES_CHANNEL,)
        self._conn: AsyncConnection | None = None
        self._last: Any = None
        #: PostgreSQL: the asyncpg connection that LISTENs, the channels it listens to, and
        #: whether a NOTIFY came since the last check.
        self._listener: Any = None
        self._listening: tuple[str, ...] = ()
        self._notified = True
        self._reported_at = 0.0
        self._pushed: Callable[[], None] | None = None
        #: Message statuses moved by notifications that carried nothing else (see
        #: store.notify.status_moved), until take_statuses().
        self._statuses: dict[int, str] = {}

    def follow_agent(self, agent_id: int) -> None:
        """Report at once only what concerns this agent's Banner (and writes that name
        nobody); others' changes at most every ``others_every`` seconds."""
        self.channels = (EVERYONE_CHANNEL, topic_channel(agent_topic(agent_id)))

    async def _data_version(self) -> Any:
        if self._conn is None:
            self._conn = await self.db.engine.connect()
        # Each check is its own short transaction: an open one would pin an old snapshot.
        async with self._conn.begin():
            return (await self._conn.exec_driver_sql("PRAGMA data_version")).scalar()

    def on_change(self, callback: Callable[[], None] | None) -> None:
        """PostgreSQL: call ``callback()`` (in the event loop) as soon as a notification
        arrives on a channel listened to, so a screen can check at once rather than at its
        next tick.  The check still says what changed; SQLite has no push (its checks stay on
        the tick), nor has a lost listener until the next check reconnects it."""
        self._pushed = callback

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        moved = parse_statuses(payload)
        if moved is None:
            self._notified = True
        else:
            self._statuses.update(moved)
        if self._pushed is not None:
            self._pushed()

    def take_statuses(self) -> dict[int, str]:
        """Message id → status, for the messages whose status alone moved since the last call
        (PostgreSQL, on an agent's channel): a screen updates them in place, with no read.
        A change reported by :meth:`changed` may have moved others: its reload shows them."""
        moved, self._statuses = self._statuses, {}
        return moved

    async def _listen(self) -> None:
        await self._drop_listener()
        self._conn = await self.db.engine.connect()
        raw = await self._conn.get_raw_connection()
        self._listener = raw.driver_connection
        await self._subscribe()

    async def _subscribe(self) -> None:
        """Listen to ``self.channels`` (and to nothing else) on the open listener."""
        for channel in self.channels:  # the new ones first: no moment with neither
            if channel not in self._listening:
                await self._listener.add_listener(channel, self._on_notify)
        for channel in self._listening:
            if channel not in self.channels:
                await self._listener.remove_listener(channel, self._on_notify)
        self._listening = self.channels

    async def _drop_listener(self) -> None:
        if self._listener is not None:
            for channel in self._listening:
                with contextlib.suppress(Exception):
                    await self._listener.remove_listener(channel, self._on_notify)
            self._listener = None
            self._listening = ()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def changed(self) -> bool:
        """True when the database changed since the previous call (the first call is True)."""
        if self.db.is_sqlite:
            token = await self._data_version()
            moved = bool(token != self._last)
            self._last = token
            return moved
        now = asyncio.get_running_loop().time()
        if self._listener is None or self._listener.is_closed():
            await self._listen()  # (re)connected: whatever happened meanwhile is unknown
            self._notified = False
            self._reported_at = now
            return True
        if self._listening != self.channels:
            await self._subscribe()  # follow_agent was called: nothing is missed meanwhile
        moved = self._notified or (
            self.channels != (CHANGES_CHANNEL,) and now - self._reported_at >= self.others_every
        )
        if moved:
            self._notified = False
            self._reported_at = now
        return moved

    async def wait(self, within: float) -> bool:
        """Poll every ``interval`` until a change, for at most ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if await self.changed():
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        if self.db.is_sqlite:
            conn, self._conn = self._conn, None
            if conn is not None:
                # Quitting may dispose the engine first: closing a connection of a closed
                # database has nothing left to do (it raised "Cannot operate on a closed
                # database" at ctrl+q during start-up, issue #23).
                with contextlib.suppress(ProgrammingError):
                    await conn.close()
            return
        await self._drop_listener()
