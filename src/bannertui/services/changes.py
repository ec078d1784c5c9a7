"""Cheap "did anything change?" checks, so screens reload only when the database moved.

SQLite: ``PRAGMA data_version`` on one dedicated connection changes whenever another
connection (this process's pool, another process) commits — no query over the data.
PostgreSQL: LISTEN on the channel every write transaction notifies at commit
(:data:`bannertui.store.database.CHANGES_CHANNEL`): a check is a look at a flag, no query at
all, however many consoles are connected.  When the listening connection is lost (a server
restart), the next check reconnects and reports a change, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bannertui.store.database import CHANGES_CHANNEL, Database


class ChangeWatcher:
    def __init__(self, db: Database, interval: float = 0.25) -> None:
        self.db = db
        self.interval = interval
        self._conn: AsyncConnection | None = None
        self._last: Any = None
        #: PostgreSQL: the asyncpg connection that LISTENs, and whether a NOTIFY came.
        self._listener: Any = None
        self._notified = True

    async def _data_version(self) -> Any:
        if self._conn is None:
            self._conn = await self.db.engine.connect()
        # Each check is its own short transaction: an open one would pin an old snapshot.
        async with self._conn.begin():
            return (await self._conn.exec_driver_sql("PRAGMA data_version")).scalar()

    def _on_notify(self, *_: Any) -> None:
        self._notified = True

    async def _listen(self) -> None:
        await self._drop_listener()
        self._conn = await self.db.engine.connect()
        raw = await self._conn.get_raw_connection()
        self._listener = raw.driver_connection
        await self._listener.add_listener(CHANGES_CHANNEL, self._on_notify)

    async def _drop_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.remove_listener(CHANGES_CHANNEL, self._on_notify)
            self._listener = None
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
        if self._listener is None or self._listener.is_closed():
            await self._listen()  # (re)connected: whatever happened meanwhile is unknown
            self._notified = False
            return True
        moved, self._notified = self._notified, False
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
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
            return
        await self._drop_listener()
