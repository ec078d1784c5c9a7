"""A ready app on a temporary demo database, for testers' pytest suites.

    from bannertui.testing import demo_app

    async def test_banner(tmp_path):
        app = demo_app(tmp_path, login="alice")
        async with app.run_test() as pilot:
            await pilot.app.workers.wait_for_complete()
            ...

Works with ``snap_compare`` too (the database is prepared before the app's loop starts).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.migrate import upgrade
from bannertui.store.seed import seed
from bannertui.ui.app import BannerApp

#: The instant the demo history is seeded relative to, so screens are reproducible.
DEMO_NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def prepare_demo_database_async(url: str, now: datetime = DEMO_NOW) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        await seed(db, now=now)
    finally:
        await db.dispose()


def prepare_demo_database(directory: Path, now: datetime = DEMO_NOW) -> str:
    """Create, migrate and seed ``directory/demo.sqlite3``; returns its URL.

    Usable from sync and async tests alike: inside a running event loop the preparation runs
    on a loop of its own in a helper thread.
    """
    url = f"sqlite+aiosqlite:///{Path(directory) / 'demo.sqlite3'}"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(prepare_demo_database_async(url, now))
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, prepare_demo_database_async(url, now)).result()
    return url


def app_for(url: str, login: str = "alice") -> BannerApp:
    """The app on an existing database, logged in as ``login``."""
    return BannerApp(Services(Database(url)), login=login)


def demo_app(directory: Path, login: str = "alice", now: datetime = DEMO_NOW) -> BannerApp:
    """The app on a fresh demo database in ``directory``."""
    return app_for(prepare_demo_database(directory, now), login)
