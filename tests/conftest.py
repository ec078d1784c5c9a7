"""Shared fixtures: a migrated database on SQLite and on a real PostgreSQL server.

`make test` starts PostgreSQL (scripts/pg.sh) and sets BANNERTUI_TEST_PG_URL.  The
PostgreSQL half of the `backend` fixture is skipped only when BANNERTUI_TEST_PG=0, and the
run then says so in its summary; without a server and without that opt-out it fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

from bannertui.gateway import http_gateway
from bannertui.services import Services
from bannertui.store.database import Database, sqlite_path
from bannertui.store.migrate import upgrade
from bannertui.store.seed import seed
from bannertui.testing import sqlite_template

# Hypothesis profiles.  "ci" has no per-example deadline: on a cold cache or a loaded machine
# an example can take far longer than the default 200 ms without anything being wrong (it
# failed tests/unit/test_sms.py once), and a failure prints the blob that reproduces it.
# "dev" is Hypothesis's defaults.  HYPOTHESIS_PROFILE names one; otherwise CI (set by CI
# services, e.g. CI=true) selects "ci", and a developer's machine "dev".  Both derive from
# Hypothesis's "default" profile, not from whatever it loaded itself on seeing CI.
_HYPOTHESIS_DEFAULTS = settings.get_profile("default")
settings.register_profile("ci", _HYPOTHESIS_DEFAULTS, deadline=None, print_blob=True)
settings.register_profile("dev", _HYPOTHESIS_DEFAULTS)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

PG_DISABLED = os.environ.get("BANNERTUI_TEST_PG", "1") == "0"
PG_URL = os.environ.get("BANNERTUI_TEST_PG_URL")

#: A fixed instant for the demo seed, so tests see the same history every run.
SEED_NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs on every core (pytest-xdist, ``--dist loadgroup``).  The PostgreSQL
    tests share one server, whose roles belong to every database on it: a test disabling
    alice's role would refuse another database's alice meanwhile.  They run one after the
    other on one worker, beside the rest (but a test on a server of its own)."""
    for item in items:
        if item.get_closest_marker("own_pg_server") is not None:
            continue
        if "postgresql" in item.name or item.get_closest_marker("pg") is not None:
            item.add_marker(pytest.mark.xdist_group("postgresql"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if PG_DISABLED:
        terminalreporter.write_line(
            "BANNERTUI_TEST_PG=0: the PostgreSQL half of the store and service tests was SKIPPED",
            yellow=True,
            bold=True,
        )
    elif PG_URL:
        terminalreporter.write_line("store and service tests ran on SQLite and PostgreSQL")


async def _pg_admin(url: str):  # type: ignore[no-untyped-def]
    import asyncpg

    return await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))


def pg_database_url() -> str:
    if PG_DISABLED:
        pytest.skip("BANNERTUI_TEST_PG=0: PostgreSQL tests disabled")
    if not PG_URL:
        pytest.fail(
            "PostgreSQL tests need a server: run `make test` (it starts one), or set "
            "BANNERTUI_TEST_PG_URL, or opt out with BANNERTUI_TEST_PG=0"
        )
    return PG_URL


class PgDatabases:
    """Creates throw-away databases on the test server and drops them afterwards."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.names: list[str] = []

    async def create(self) -> str:
        name = f"bt_{uuid.uuid4().hex[:12]}"
        conn = await _pg_admin(self.base)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.names.append(name)
        return self.base.rsplit("/", 1)[0] + "/" + name

    async def drop_all(self) -> None:
        if not self.names:
            return
        conn = await _pg_admin(self.base)
        try:
            for name in self.names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, tmp_path, request) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bannertui.sqlite3'}"
        return
    # On the suite's server only as one of the PostgreSQL group (pytest_collection_modifyitems):
    # a module that makes ``backend`` PostgreSQL marks itself ``pg``.
    assert request.node.get_closest_marker("xdist_group") is not None, (
        f"{request.node.nodeid} uses PostgreSQL but is not in the postgresql group: mark it pg"
    )
    dbs = PgDatabases(pg_database_url())
    try:
        yield await dbs.create()
    finally:
        await dbs.drop_all()


async def _migrated(url: str) -> None:
    database = Database(url)
    try:
        await upgrade(database)
    finally:
        await database.dispose()


class _MigratedTemplates:
    """One database migrated to HEAD per backend and session; each test's ``db`` is a copy
    (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL) instead of eight
    migrations.  The migrations themselves are tested from empty databases
    (tests/store/test_models_and_migrations.py, tests/store/test_pg_upgrade_0008.py)."""

    def __init__(self) -> None:
        self.pg: str | None = None  # the template database's name

    async def sqlite_copy(self, path: Path) -> None:
        template = await asyncio.to_thread(sqlite_template, "migrated", _migrated)
        shutil.copy(template, path)

    async def pg_copy(self, url: str) -> None:
        """Replace the empty database at ``url`` with a copy of the migrated template."""
        base = pg_database_url()
        if self.pg is None:
            name = f"bt_tmpl_{uuid.uuid4().hex[:10]}"
            conn = await _pg_admin(base)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            database = Database(base.rsplit("/", 1)[0] + "/" + name)
            try:
                await upgrade(database)
            finally:
                await database.dispose()
            self.pg = name
        import asyncpg

        target = url.rsplit("/", 1)[1]
        conn = await _pg_admin(base)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            # The template's last backend may still be exiting after its pool closed.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while True:
                try:
                    await conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{self.pg}"')
                    break
                except asyncpg.ObjectInUseError:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        finally:
            await conn.close()

    def drop(self) -> None:
        if self.pg is None:
            return
        name = self.pg

        async def go() -> None:
            conn = await _pg_admin(pg_database_url())
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(go())


_TEMPLATES = _MigratedTemplates()


@pytest.fixture(scope="session", autouse=True)
def _drop_templates() -> Iterator[None]:
    yield
    _TEMPLATES.drop()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    path = sqlite_path(database_url)
    if path is not None:
        await _TEMPLATES.sqlite_copy(path)
    else:
        await _TEMPLATES.pg_copy(database_url)
    database = Database(database_url)
    await upgrade(database)  # at HEAD already: one SELECT
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def seeded(db: Database) -> Database:
    await seed(db, now=SEED_NOW)
    return db


class FixedClock:
    """A clock tests can move."""

    def __init__(self, start: datetime = SEED_NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def services(seeded: Database, clock: FixedClock) -> Services:
    return Services(seeded, clock, gateways=http_gateway)
