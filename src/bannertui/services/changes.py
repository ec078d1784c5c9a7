"""Cheap "did anything change?" checks, so screens reload only when the database moved.

SQLite: ``PRAGMA data_version`` on one dedicated connection changes whenever another
connection (this process's pool, another process) commits — no query over the data.
PostgreSQL: the newest message id and the newest interaction change time, two index lookups
(LISTEN/NOTIFY replaces this when team scale needs it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bannertui.store.database import Database

_PG_TOKEN = sa.text(
    "SELECT (SELECT max(id) FROM message),"
    " (SELECT count(*) FROM message WHERE status IN ('pending', 'sending')),"
    " (SELECT max(greatest(created_at, assigned_at, last_message_at, closed_at, archived_at))"
    "  FROM interaction),"
    " (SELECT credits FROM account WHERE id = 1)"
)


class ChangeWatcher:
    def __init__(self, db: Database, interval: float = 0.25) -> None:
        self.db = db
        self.interval = interval
        self._conn: AsyncConnection | None = None
        self._last: Any = None

    async def _token(self) -> Any:
        if self._conn is None:
            self._conn = await self.db.engine.connect()
        # Each check is its own short transaction: an open one would pin an old snapshot.
        async with self._conn.begin():
            if self.db.is_sqlite:
                return (await self._conn.exec_driver_sql("PRAGMA data_version")).scalar()
            return tuple((await self._conn.execute(_PG_TOKEN)).one())

    async def changed(self) -> bool:
        """True when the database changed since the previous call (the first call is True)."""
        token = await self._token()
        moved = bool(token != self._last)
        self._last = token
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
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
