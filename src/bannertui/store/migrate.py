"""Schema migrations (Alembic) driven from the app and the CLI.

``upgrade`` refuses a database written by a newer bannertui (an unknown revision) and a
read-only file, each with an error naming the cause, before touching anything.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from bannertui.store.database import Database, DatabaseError, NoDatabase

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest migration's revision (a test holds it to Alembic's head).  A database already
#: there is checked with one SELECT, without loading Alembic: the console's start-up.
HEAD = "0013"


class SchemaTooNew(DatabaseError):
    """The database was migrated by a newer bannertui."""


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """Alembic's head, read from the migration scripts (:data:`HEAD` is the same, known
    without reading them)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(db: Database) -> str | None:
    """The database's revision (``alembic_version``), None where there is none yet."""
    async with db.engine.connect() as conn:
        try:
            rows = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
        except (OperationalError, ProgrammingError):
            # Not migrated yet only if the table is missing: a locked or unreadable database
            # is its own error, never "empty".
            await conn.rollback()
            if await conn.run_sync(lambda c: sa.inspect(c).has_table("alembic_version")):
                raise
            return None
    return rows[0][0] if rows else None


def _check_known(revision: str | None) -> None:
    if revision is None or revision == HEAD:
        return
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(revision)
    except Exception:
        raise SchemaTooNew(
            f"Database schema is newer than this bannertui (revision {revision}, "
            f"this version knows up to {head_revision()}): upgrade bannertui"
        ) from None


async def _connected(db: Database, step: Awaitable[T]) -> T:
    """``step``, the first to reach the database: a server that cannot be reached or a file
    that cannot be opened becomes one :class:`DatabaseError` naming the URL and the cause."""
    try:
        return await step
    except DBAPIError as exc:
        cause = " ".join(str(exc.orig).split()) or type(exc.orig).__name__
        raise DatabaseError(f"Cannot open the database {db.display_url()}: {cause}") from None
    except OSError as exc:  # refused, unknown host, timed out: before the driver answers
        cause = os.strerror(exc.errno) if isinstance(exc.errno, int) and exc.errno > 0 else ""
        if isinstance(exc, socket.gaierror):
            cause = exc.strerror or str(exc)
        raise DatabaseError(
            f"Cannot connect to the database {db.display_url()}: {cause or exc}"
        ) from None


def _sqlite_foreign_keys(conn: sa.Connection, on: bool) -> None:
    """Outside any transaction (SQLite ignores the pragma inside one)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _check_foreign_keys(conn: sa.Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise DatabaseError(
            f"the migration left {len(broken)} broken reference(s), e.g. {table} row {rowid} "
            f"to {parent}: nothing was changed"
        )


async def _migrate(
    db: Database, step: Callable[[sa.Connection, Config, str], None], target: str
) -> None:
    """Run an Alembic command in one transaction.  SQLite makes a table again to change it
    (Alembic's batch mode): with foreign keys enforced, dropping the old copy of a table
    others refer to (sms_number, 0012) would fail.  They are off while the schema changes,
    and every reference is checked before the commit."""
    cfg = alembic_config()
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.run_sync(_sqlite_foreign_keys, False)
        try:
            async with conn.begin():
                await conn.run_sync(step, cfg, target)
                if db.is_sqlite:
                    await conn.run_sync(_check_foreign_keys)
        finally:
            if db.is_sqlite:
                await conn.run_sync(_sqlite_foreign_keys, True)


async def downgrade(db: Database, target: str) -> str | None:
    """Take the schema back to ``target`` (tests of the migrations; an operator's way back
    to a previous release's schema).  Returns the revision after."""
    await _migrate(db, _downgrade, target)
    return await current_revision(db)


def _downgrade(conn: sa.Connection, cfg: Config, target: str) -> None:
    from alembic import command

    cfg.attributes["connection"] = conn
    command.downgrade(cfg, target)


def _upgrade(conn: sa.Connection, cfg: Config, target: str) -> None:
    from alembic import command

    cfg.attributes["connection"] = conn
    command.upgrade(cfg, target)


async def upgrade(
    db: Database, target: str = "head", *, create: bool = True
) -> tuple[str | None, str]:
    """Bring the schema to ``target``; returns (revision before, revision after).
    ``create`` False: refuse (:class:`NoDatabase`) where there is no bannertui database yet,
    rather than making one (every command but ``db upgrade``, ``db init`` and the demo)."""
    db.prepare_path(create=create)
    try:
        before = await _connected(db, current_revision(db))
        if before is None and not create:
            raise NoDatabase(
                f"No bannertui database at {db.display_url()}: run `bannertui db upgrade` first"
            )
        if before == HEAD and target == "head":
            return before, before
        _check_known(before)
        await _migrate(db, _upgrade, target)
        after = await current_revision(db)
    except OperationalError as exc:
        raise DatabaseError(f"Cannot migrate {db.display_url()}: {exc.orig}") from None
    assert after is not None
    return before, after


async def require_current(db: Database) -> None:
    """Refuse to run on a schema that is not exactly ours (too old: run `db upgrade`)."""
    rev = await current_revision(db)
    _check_known(rev)
    if rev != HEAD:
        raise DatabaseError(
            f"Database schema is at {rev or 'nothing'}, expected {head_revision()}: "
            "run `bannertui db upgrade`"
        )
