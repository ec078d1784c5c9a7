"""One database URL → an async engine with the right settings for its backend.

SQLite (``sqlite+aiosqlite``): WAL, a busy timeout, foreign keys on, and transactions opened
by us — ``BEGIN IMMEDIATE`` for writers, so two processes never both read then both try to
upgrade to a write lock (the case SQLite cannot wait out and answers "database is locked").
PostgreSQL (``postgresql+asyncpg``): a small pool per process; row locks do the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiosqlite
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bannertui.store.notify import NOTIFY, Notifier, notifications_of, notify_params

_AT_COMMIT = "bannertui_at_commit"


def at_commit(session: AsyncSession, fn: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Run ``await fn(session)`` as the write transaction's last statements, after its other
    changes are flushed.  For a hot row every writer updates (the account's balance): its lock
    is then held for the commit alone, not for the rest of the transaction.  An error raised
    by ``fn`` rolls the whole transaction back, as anywhere else in it."""
    session.info.setdefault(_AT_COMMIT, []).append(fn)


async def _run_at_commit(session: AsyncSession) -> None:
    actions = session.info.pop(_AT_COMMIT, None)
    if actions:
        await session.flush()
        for fn in actions:
            await fn(session)


#: ``pg_advisory_xact_lock``'s first key: what the second one numbers.
LOCK_QUEUE, LOCK_AGENT = 1, 2


async def lock(session: AsyncSession, kind: int, *ids: int) -> None:
    """PostgreSQL: take the transaction's exclusive advisory lock on each of ``ids`` (of
    ``kind``: LOCK_QUEUE, LOCK_AGENT), in order, held until it ends.  Rather than a row lock
    (SELECT … FOR NO KEY UPDATE), which needs the right to UPDATE the row: an agent's role and
    the webhook's may route a conversation in a queue without any right to change it."""
    for one in sorted(set(ids)):
        await session.execute(_LOCK, {"kind": kind, "id": one})


_LOCK = sa.text("SELECT pg_advisory_xact_lock(:kind, :id)")


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class DatabaseError(Exception):
    """The database cannot be used as configured; the message names the cause."""


class InvalidDatabaseUrl(DatabaseError):
    """The database URL cannot be used at all (a usage error, not a refusal)."""


class NoDatabase(DatabaseError):
    """A command that only uses a database found none where it was told to look."""


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not a SQLite database (read-only, synchronously: a failed
    aiosqlite connection can outlive the event loop in its thread)."""
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DatabaseError(f"Cannot open the database {path}: {exc}") from None
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB":
            raise DatabaseError(f"{path} is not a SQLite database") from None
        # Busy or locked: the real connection waits for its turn (busy_timeout).
    finally:
        conn.close()


log = logging.getLogger(__name__)
_WRITE = "bannertui_write"
_IDLE_SINCE = "bannertui_idle_since"
#: A pooled PostgreSQL connection idle this long is checked before use.  One the server
#: closed (a restart, a terminated backend) is known closed with no round trip; the ping is
#: for a connection lost without a word.  At 1 s, every reload of a console receiving a
#: text every few seconds began with one.
PING_AFTER_SECONDS = 10.0
T = TypeVar("T")


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for in-memory or another backend)."""
    u = _check_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _check_url(url: str) -> sa.URL:
    try:
        u = make_url(url)
    except Exception as exc:
        raise InvalidDatabaseUrl(f"Invalid database URL: {exc}") from None
    backend, driver = u.get_backend_name(), u.get_driver_name()
    if (backend, driver) not in {("sqlite", "aiosqlite"), ("postgresql", "asyncpg")}:
        raise InvalidDatabaseUrl(
            f"Unsupported database URL {u.render_as_string(hide_password=True)!r}: "
            "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
        )
    return u


class _SqliteConnection(aiosqlite.Connection):
    """aiosqlite's connection, stopped at most once.

    SQLAlchemy ends a connection whose task was cancelled mid-statement (a worker replaced
    by a newer one, the app quitting) with a *graceful* close, shielded, and, when it is
    cancelled again meanwhile, a *forced* one: ``stop()``.  The graceful ``close()`` then
    calls ``stop()`` a second time, after the worker thread has gone: the future it waits on
    is never answered, and the event loop hangs on that task for good when it closes (ctrl+q
    in the same burst as F5, issue #23).  Here a second ``stop()`` returns the first one's
    future."""

    _stopping: asyncio.Future[Any] | None
    _stopped = False

    def stop(self) -> asyncio.Future[Any] | None:
        if self._stopped:
            return self._stopping
        self._stopped = True
        self._stopping = super().stop()
        return self._stopping


def _sqlite_creator(url: sa.URL) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """What ``create_async_engine(async_creator=…)`` calls for a new SQLite connection: the
    driver's own, with the arguments the dialect would give it, as a :class:`_SqliteConnection`."""
    args, kwargs = url.get_dialect()().create_connect_args(url)

    async def connect() -> aiosqlite.Connection:
        connection = aiosqlite.connect(*args, **kwargs)
        connection.__class__ = _SqliteConnection
        connection._thread.daemon = True  # as SQLAlchemy does: never keeps the process alive
        return await connection

    return connect


class Database:
    """The engine and the two kinds of session: read (deferred) and write (immediate)."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout: float = 30.0,
        pool_size: int = 5,
        application_name: str = "bannertui",
        ping_after: float = PING_AFTER_SECONDS,
        notify_every: float = 0.0,
        create_directory: bool = True,
    ) -> None:
        """``application_name``: what PostgreSQL shows for our connections in
        ``pg_stat_activity`` (the command: "bannertui dispatch", "bannertui webhook"…).
        ``ping_after``: PostgreSQL connections idle in the pool longer than this are checked
        before use (see :meth:`_install_ping`).  ``notify_every``: 0 sends a PostgreSQL write's
        notifications at its commit, in its transaction; more sends them just after it, with
        those of the process's other writes of the same moment, at most once every
        ``notify_every`` seconds (see :class:`Notifier`: for a busy receiver).
        ``create_directory``: creating the SQLite file may create its directory (the app's
        own data directory; not a path someone typed, see :meth:`prepare_path`)."""
        self.url = _check_url(url)
        self.create_directory = create_directory
        self.backend = self.url.get_backend_name()
        self.path = sqlite_path(url)
        self._writer_lock = asyncio.Lock()
        self._writer_loop: asyncio.AbstractEventLoop | None = None
        #: Write transactions of this process committed so far, and an event set at each
        #: (see :meth:`committed`).
        self.commits = 0
        self._committed: asyncio.Event | None = None
        self._committed_loop: asyncio.AbstractEventLoop | None = None
        self.notify_every = notify_every
        #: PostgreSQL: the agent whose own database role this process is connected as
        #: (:meth:`session_agent`), None otherwise (SQLite, the owner, a service role).
        self.agent_role: str | None = None
        self._notifier: Notifier | None = None
        self._notifier_loop: asyncio.AbstractEventLoop | None = None
        kwargs: dict[str, Any] = {}
        if self.backend == "postgresql":
            kwargs.update(
                # At most 2 × pool_size connections, each kept once opened.  With half of
                # them as overflow, closed at every check-in, each burst of a busy receiver
                # opened new ones: a new server process, cold caches and every statement
                # prepared again (6 connections a second under bench/load at 40 texts/s).
                pool_size=2 * pool_size,
                max_overflow=0,
                connect_args={"server_settings": {"application_name": application_name[:63]}},
            )
        if self.backend == "sqlite":
            kwargs["async_creator"] = _sqlite_creator(self.url)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.backend == "sqlite":
            self._install_sqlite_hooks(busy_timeout)
            reads = self.engine
        else:
            self._install_ping(ping_after)
            # A read is its statements alone, no BEGIN … ROLLBACK around them: at READ
            # COMMITTED each statement reads its own snapshot either way, and the two round
            # trips were a third of a console's.
            reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reads_engine = reads
        self._read = async_sessionmaker(reads, expire_on_commit=False)
        self._write = async_sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    async def session_login(self) -> str | None:
        """PostgreSQL: the role this process authenticated as (``session_user``; ``SET ROLE``
        does not change it), which is who the console and the commands act as there; the
        agent's database role when it is one (:attr:`agent_role`).  SQLite: None (the OS
        account is the identity there, bannertui.identity)."""
        if self.is_sqlite:
            return None
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT session_user, bannertui_agent_id() IS NOT NULL,"
                        " bannertui_is_owner() OR bannertui_is_service()"
                    )
                )
            ).one()
        login, is_agent, trusted = str(row[0]), bool(row[1]), bool(row[2])
        if not is_agent and not trusted:
            # a role of the server that is no agent of this database (nor its owner): it may
            # read nothing else, so say so now rather than "permission denied" later
            from bannertui.domain.errors import UnknownAgent

            raise UnknownAgent(login[:64])
        self.agent_role = login if is_agent else None
        return login

    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def _install_ping(self, ping_after: float) -> None:
        """Check a pooled PostgreSQL connection before use when it sat idle ``ping_after``
        seconds or more (a server restart meanwhile leaves it dead); a dead one is replaced,
        so the caller never sees it.  SQLAlchemy's ``pool_pre_ping`` does this on every
        checkout, three round trips each time (BEGIN; ;ROLLBACK): under load that was a
        third of every console's and receiver's traffic, for connections used a moment ago.
        A connection that dies in use (the server went down mid-way) raises a disconnect
        error, which discards every connection of the pool opened before it."""

        @event.listens_for(self.engine.sync_engine, "checkin")
        def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
            record.info[_IDLE_SINCE] = time.monotonic()

        @event.listens_for(self.engine.sync_engine, "checkout")
        def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            if dbapi_conn.driver_connection.is_closed():  # known dead: no round trip
                raise DisconnectionError("connection closed")
            since = record.info.get(_IDLE_SINCE)
            if since is None or time.monotonic() - since < ping_after:
                return  # just connected, or used a moment ago
            try:
                dbapi_conn.ping()
            except Exception as exc:
                raise DisconnectionError(f"connection lost while idle: {exc}") from exc

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

    def prepare_path(self, *, create: bool = True) -> None:
        """Check the SQLite file before anything opens it, so that each way it can be wrong is
        one clear :class:`DatabaseError` (and no driver thread is left behind by a failed
        connection): a directory, not a database, read-only, missing (``create`` False:
        :class:`NoDatabase`), or not creatable.  Creating makes the file's directory
        (owner-only) when the database was opened with ``create_directory``."""
        path = self.path
        if path is None:
            return
        if path.is_dir():
            raise DatabaseError(f"{path} is a directory, not a database file")
        if path.exists():
            _check_sqlite_file(path)
            if not os.access(path, os.W_OK):
                raise DatabaseError(f"Database file is read-only: {path}")
            return
        if not create:
            raise NoDatabase(f"No database at {path}: run `bannertui db upgrade` first")
        if not path.parent.is_dir() and not self.create_directory:
            raise DatabaseError(
                f"Cannot create the database {path}: the directory {path.parent} does not exist"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise DatabaseError(
                f"Cannot create the database directory {path.parent}: {exc.strerror}"
            ) from None
        if not os.access(path.parent, os.W_OK):
            raise DatabaseError(f"Database directory is not writable: {path.parent}")
        try:  # made here, synchronously: see _check_sqlite_file
            sqlite3.connect(path).close()
        except sqlite3.Error as exc:
            raise DatabaseError(f"Cannot create the database {path}: {exc}") from None

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
                await _run_at_commit(session)
            self._note_commit()
        else:
            later: list[tuple[str, str]] = []
            async with self._write() as session, session.begin():
                yield session
                await _run_at_commit(session)
                # Delivered at commit, to the watchers LISTENing on these channels
                # (services.changes); not at all on rollback.
                notifications = notifications_of(session)
                if notifications and self.notify_every > 0:
                    later = notifications
                elif notifications:
                    await session.execute(NOTIFY, notify_params(notifications))
            self._note_commit()
            if later:  # committed: now with the process's other writes of the moment
                await self._notifications_sender().send(later)

    @asynccontextmanager
    async def write_one(self) -> AsyncIterator[AsyncSession]:
        """A write of a single statement (reads may follow it), which notifies nobody (see
        :func:`unnoticed`): for a frequent write that needs no transaction around it.  On
        PostgreSQL the statement commits by itself, with no BEGIN and COMMIT round trips
        (three round trips become one); on SQLite it is a :meth:`write`."""
        if self.is_sqlite:
            async with self.write() as session:
                yield session
        else:
            async with self._read() as session:  # AUTOCOMMIT: each statement commits
                yield session
            self._note_commit()

    def _notifications_sender(self) -> Notifier:
        loop = asyncio.get_running_loop()
        if self._notifier is None or self._notifier_loop is not loop:
            self._notifier = Notifier(self._reads_engine, self.notify_every)
            self._notifier_loop = loop
        return self._notifier

    def committed(self) -> asyncio.Event:
        """An event set each time a write transaction of this process commits (in this event
        loop): a dispatcher running in the same process (the demo's) sends what was just
        queued at once, instead of at its next poll.  Clear it before waiting on it, and
        compare :attr:`commits` before and after to miss none."""
        loop = asyncio.get_running_loop()
        if self._committed is None or self._committed_loop is not loop:
            self._committed = asyncio.Event()
            self._committed_loop = loop
        return self._committed

    def _note_commit(self) -> None:
        self.commits += 1
        if self._committed is not None:
            with contextlib.suppress(RuntimeError):  # no running loop: nobody waits
                if self._committed_loop is asyncio.get_running_loop():
                    self._committed.set()

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
        if self._notifier is not None:
            with contextlib.suppress(Exception):  # (another event loop's: nothing to wait for)
                await self._notifier.drain()  # what was committed is notified before closing
        await self.engine.dispose()
