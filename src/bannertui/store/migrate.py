"""Schema migrations (Alembic) driven from the app and the CLI.

``upgrade`` refuses a database written by a newer bannertui (an unknown revision) and a
read-only file, each with an error naming the cause, before touching anything.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

from bannertui.store.database import Database, DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaTooNew(DatabaseError):
    """The database was migrated by a newer bannertui."""


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(revision)
    except Exception:
        raise SchemaTooNew(
            f"Database schema is newer than this bannertui (revision {revision}, "
            f"this version knows up to {head_revision()}): upgrade bannertui"
        ) from None


def _upgrade(conn: sa.Connection, cfg: Config, target: str) -> None:
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, target)


async def upgrade(db: Database, target: str = "head") -> tuple[str | None, str]:
    """Bring the schema to ``target``; returns (revision before, revision after)."""
    db.prepare_path()
    try:
        before = await current_revision(db)
        _check_known(before)
        if before == head_revision() and target == "head":
            return before, before
        cfg = alembic_config()
        async with db.engine.begin() as conn:
            await conn.run_sync(_upgrade, cfg, target)
        after = await current_revision(db)
    except OperationalError as exc:
        raise DatabaseError(f"Cannot migrate {db.display_url()}: {exc.orig}") from None
    assert after is not None
    return before, after


async def require_current(db: Database) -> None:
    """Refuse to run on a schema that is not exactly ours (too old: run `db upgrade`)."""
    rev = await current_revision(db)
    _check_known(rev)
    if rev != head_revision():
        raise DatabaseError(
            f"Database schema is at {rev or 'nothing'}, expected {head_revision()}: "
            "run `bannertui db upgrade`"
        )
