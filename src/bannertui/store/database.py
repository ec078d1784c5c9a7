"""One database URL → an async engine with the right settings for its backend.

SQLite (``sqlite+aiosqlite``): WAL, a busy timeout, foreign keys on, and transactions opened
by us — ``BEGIN IMMEDIATE`` for writers, so two processes never both read then both try to
upgrade to a write lock (the case SQLite cannot wait out and answers "database is locked").
PostgreSQL (``postgresql+asyncpg``): a small pool per process; row locks do the rest.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

#: The PostgreSQL channel every write transaction notifies (services.changes listens).
CHANGES_CHANNEL = "bannertui_changes"
NOTIFY_CHANGES = sa.text(f"SELECT pg_notify('{CHANGES_CHANNEL}', '')")


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class DatabaseError(Exception):
    """The database cannot be used as configured; the message names the cause."""


_WRITE = "bannertui_write"
T = TypeVar("T")


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for in-memory or another backend)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _check_url(url: str) -> sa.URL:
    try:
        u = make_url(url)
    except Exception as exc:
        raise DatabaseError(f"Invalid database URL: {exc}") from None
    backend, driver = u.get_backend_name(), u.get_driver_name()
    if (backend, driver) not in {("sqlite", "aiosqlite"), ("postgresql", "asyncpg")}:
        raise DatabaseError(
            f"Unsupported database URL {u.render_as_string(hide_password=True)!r}: "
            "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
        )
    return u


class Database:
    """The engine and the two kinds of session: read (deferred) and write (immediate)."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0, pool_size: int = 5) -> None:
        self.url = _check_url(url)
        self.backend = self.url.get_backend_name()
        self.path = sqlite_path(url)
        self._writer_lock = asyncio.Lock()
        self._writer_loop: asyncio.AbstractEventLoop | None = None
        kwargs: dict[str, Any] = {}
        if self.backend == "postgresql":
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.backend == "sqlite":
            self._install_sqlite_hooks(busy_timeout)
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def _install_sqlite_hooks(self, busy_timeout: float) -> None:
        ms = int(busy_timeout * 1000)

        @event.listens_for(self.engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # We open transactions ourselves (see _on_begin).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {ms}")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()
            # SQLite's own lower() folds ASCII letters only: searches ignore case for every
            # letter ("élodie" finds "Élodie"), as they do on PostgreSQL.
            dbapi_conn.create_function("lower", 1, _lower, deterministic=True)

        @event.listens_for(self.engine.sync_engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            write = conn.get_execution_options().get(_WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    def prepare_path(self) -> None:
        """Create the SQLite file's directory (owner-only) and refuse a read-only file early."""
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise DatabaseError(
                f"Cannot create the database directory {self.path.parent}: {exc.strerror}"
            ) from None
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise DatabaseError(f"Database file is read-only: {self.path}")
        if not os.access(self.path.parent, os.W_OK):
            raise DatabaseError(f"Database directory is not writable: {self.path.parent}")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; SQLite readers never block writers in WAL mode."""
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on any error.

        On SQLite it holds the write lock from its first statement; the busy timeout makes
        writers of other processes wait instead of failing.  Writers of this process take
        turns first, in arrival order (an asyncio lock): SQLite's busy handler polls with
        growing sleeps, so many writers waiting on it overtake each other and some wait very
        long (a webhook receiver under load: p99 0.9 s instead of 0.1 s).  Do not open a
        write inside another write of the same task.
        """
        if self.is_sqlite:
            async with self._writers(), self._write() as session, session.begin():
                yield session
        else:
            async with self._write() as session, session.begin():
                yield session
                # Delivered at commit, to every LISTENing watcher (services.changes); not at
                # all on rollback.  Several in one transaction fold into one.
                await session.execute(NOTIFY_CHANGES)

    def _writers(self) -> asyncio.Lock:
        """This event loop's writer lock (a Database may be used by one loop after another,
        as the command line does: prepare, then run the app)."""
        loop = asyncio.get_running_loop()
        if self._writer_loop is not loop:
            self._writer_lock = asyncio.Lock()
            self._writer_loop = loop
        return self._writer_lock

    async def run_write(self, fn: Callable[..., Awaitable[T]], *args: Any, attempts: int = 5) -> T:
        """Run ``await fn(session, *args)`` in a write transaction, retrying the whole
        transaction when SQLite reports the database locked past its busy timeout (rare:
        only under extreme contention), so "database is locked" never reaches a caller."""
        for attempt in range(attempts):
            try:
                async with self.write() as session:
                    result: T = await fn(session, *args)
                return result
            except OperationalError as exc:
                if not self.is_sqlite or "locked" not in str(exc.orig) or attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.05 * (2**attempt) * (1 + random.random()))
        raise AssertionError("unreachable")

    async def dispose(self) -> None:
        await self.engine.dispose()
