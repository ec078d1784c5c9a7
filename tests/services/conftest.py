"""Fixtures of the service tests.

``fast_seeded`` means the same as ``seeded`` in tests/conftest.py (a migrated database holding
the demo data seeded at SEED_NOW, on SQLite and PostgreSQL), only faster.  A module opts in by
overriding ``seeded`` with it (see test_outbound.py); other modules keep the real fixture:

- SQLite: the demo database is built once per session and its file copied for each test;
- PostgreSQL: one database is migrated and seeded once per session, and each table copied
  aside; before each test every table is emptied and refilled from its copy, and the id
  sequences set where the seed left them (ids match a fresh seed; the agents' database roles
  are given back by the same triggers as the seed's inserts).

Creating, migrating and seeding a database for each of several hundred tests would take
minutes; this takes a few milliseconds per test.  The migrations and the seed themselves
are tested in tests/store/test_models_and_migrations.py with the real fixtures.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from svc_helpers import Demo

from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.migrate import upgrade
from bannertui.store.models import metadata
from bannertui.store.seed import seed

#: Must equal tests/conftest.py's SEED_NOW (checked against the clock fixture below).
SEED_NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _run(coro: Any) -> Any:
    """Run a coroutine to completion in a thread of its own, away from pytest-asyncio's loops."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _migrate_and_seed(url: str, *, with_seed: bool) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        if with_seed:
            await seed(db, now=SEED_NOW)
    finally:
        await db.dispose()


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


#: The schema holding a copy of every table as the seed left it (PostgreSQL).
SNAPSHOT = "fast_seed_snapshot"


def _id_sequences() -> list[str]:
    """The tables whose ``id`` is a serial column."""
    names = []
    for table in metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].name == "id" and pk[0].autoincrement in (True, "auto"):
            names.append(table.name)
    return names


def _snapshot_script() -> str:
    """Copy every table, as seeded, into the SNAPSHOT schema."""
    lines = [f'CREATE SCHEMA "{SNAPSHOT}";']
    lines += [
        f'CREATE TABLE "{SNAPSHOT}"."{t.name}" AS TABLE "{t.name}";' for t in metadata.sorted_tables
    ]
    return "\n".join(lines)


async def _reset_script(conn: asyncpg.Connection) -> str:
    """Put every table back as the seed left it, in one round trip: empty them (children
    first), copy the seeded rows back (parents first: the triggers give the agents' roles
    back, as the seed does), and set each id sequence where the seed left it."""
    rows = await conn.fetch(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND is_generated = 'NEVER' ORDER BY ordinal_position"
    )
    columns: dict[str, list[str]] = {}
    for row in rows:
        columns.setdefault(row["table_name"], []).append(f'"{row["column_name"]}"')
    lines = ["BEGIN;"]
    lines += [f'DELETE FROM "{t.name}";' for t in reversed(metadata.sorted_tables)]
    for t in metadata.sorted_tables:
        names = ", ".join(columns[t.name])
        lines.append(
            f'INSERT INTO "{t.name}" ({names}) OVERRIDING SYSTEM VALUE '
            f'SELECT {names} FROM "{SNAPSHOT}"."{t.name}";'
        )
    for name in _id_sequences():
        lines.append(
            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
            f'coalesce((SELECT max(id) FROM "{name}"), 0) + 1, false);'
        )
    lines.append("COMMIT;")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def fast_seed_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seeded-template") / "template.sqlite3"
    _run(_migrate_and_seed(f"sqlite+aiosqlite:///{path}", with_seed=True))
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


@pytest.fixture(scope="session")
def fast_seed_pg_url() -> Iterator[tuple[str, str]]:
    """The session's seeded PostgreSQL database, and the script that puts it back as seeded."""
    if os.environ.get("BANNERTUI_TEST_PG", "1") == "0":
        pytest.skip("BANNERTUI_TEST_PG=0: PostgreSQL tests disabled")
    base = os.environ.get("BANNERTUI_TEST_PG_URL")
    if not base:
        pytest.fail(
            "PostgreSQL tests need a server: run `make test` (it starts one), or set "
            "BANNERTUI_TEST_PG_URL, or opt out with BANNERTUI_TEST_PG=0"
        )
    name = f"bt_svc_{uuid.uuid4().hex[:12]}"

    async def admin(url: str, sql: str) -> str:
        conn = await asyncpg.connect(_plain(url))
        try:
            await conn.execute(sql)
            return await _reset_script(conn) if sql == snapshot else ""
        finally:
            await conn.close()

    snapshot = _snapshot_script()

    _run(admin(base, f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        _run(_migrate_and_seed(url, with_seed=True))
        yield url, _run(admin(url, snapshot))
    finally:
        _run(admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def fast_seeded(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, clock: Any
) -> AsyncIterator[Database]:
    assert clock.now == SEED_NOW
    if backend == "sqlite":
        template: Path = request.getfixturevalue("fast_seed_sqlite_template")
        path = tmp_path / "bannertui.sqlite3"
        shutil.copyfile(template, path)
        db = Database(f"sqlite+aiosqlite:///{path}")
    else:
        url, reset = request.getfixturevalue("fast_seed_pg_url")
        conn = await asyncpg.connect(_plain(url))
        try:
            await conn.execute(reset)
        finally:
            await conn.close()
        db = Database(url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def demo(services: Services) -> Demo:
    """Look-ups and small writes on the services' database, outside the code under test."""
    return Demo(services.db)
