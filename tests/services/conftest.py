"""Fixtures of the service tests.

``fast_seeded`` means the same as ``seeded`` in tests/conftest.py (a migrated database holding
the demo data seeded at SEED_NOW, on SQLite and PostgreSQL), only faster.  A module opts in by
overriding ``seeded`` with it (see test_outbound.py); other modules keep the real fixture:

- SQLite: the demo database is built once per session and its file copied for each test;
- PostgreSQL: one database is migrated once per session; before each test its rows are
  deleted, its id sequences restarted, and the demo data seeded again (ids match a fresh
  seed).

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


def _reset_script() -> str:
    """Empty every table (children first) and restart the id sequences, in one round trip."""
    lines = ["BEGIN;"]
    lines += [f'DELETE FROM "{t.name}";' for t in reversed(metadata.sorted_tables)]
    for table in metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].name == "id" and pk[0].autoincrement in (True, "auto"):
            lines.append(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), 1, false);"
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
def fast_seed_pg_url() -> Iterator[str]:
    if os.environ.get("BANNERTUI_TEST_PG", "1") == "0":
        pytest.skip("BANNERTUI_TEST_PG=0: PostgreSQL tests disabled")
    base = os.environ.get("BANNERTUI_TEST_PG_URL")
    if not base:
        pytest.fail(
            "PostgreSQL tests need a server: run `make test` (it starts one), or set "
            "BANNERTUI_TEST_PG_URL, or opt out with BANNERTUI_TEST_PG=0"
        )
    name = f"bt_svc_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_plain(base))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _run(admin(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        _run(_migrate_and_seed(url, with_seed=False))
        yield url
    finally:
        _run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
        url: str = request.getfixturevalue("fast_seed_pg_url")
        conn = await asyncpg.connect(_plain(url))
        try:
            await conn.execute(_reset_script())
        finally:
            await conn.close()
        db = Database(url)
        await seed(db, now=SEED_NOW)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def demo(services: Services) -> Demo:
    """Look-ups and small writes on the services' database, outside the code under test."""
    return Demo(services.db)
