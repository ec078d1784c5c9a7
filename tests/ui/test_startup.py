"""What the console does before its first screen (issue #18): the demo's runtime starts once
the Banner shows its data, and the Banner's start loads neither Alembic (the schema is at
HEAD) nor the services and screens it does not show."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.testing import demo_url, wait_until
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen


class RecordingRuntime:
    """A runtime that notes whether the Banner showed its data when it was started."""

    def __init__(self, app_ref: list[BannerApp]) -> None:
        self.app_ref = app_ref
        self.banner_had_data: bool | None = None

    async def run(self) -> None:
        screen = self.app_ref[0].screen
        self.banner_had_data = isinstance(screen, BannerScreen) and screen.ctx is not None


async def test_the_runtime_starts_after_the_banner_shows_its_data(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    ref: list[BannerApp] = []
    runtime = RecordingRuntime(ref)
    app = BannerApp(Services(Database(url)), Actor("alice"), runtime=runtime)
    ref.append(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: runtime.banner_had_data is not None)
        assert runtime.banner_had_data is True


def test_a_current_schema_and_the_banners_services_load_no_more_than_they_need(
    tmp_path: Path,
) -> None:
    import asyncio

    url = asyncio.run(demo_url(tmp_path))
    code = f"""
import asyncio, json, sys
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.migrate import upgrade

async def main():
    db = Database({url!r})
    before = await upgrade(db)
    services = Services(db)
    services.conversations, services.agents, services.accounts, services.drafts
    await db.dispose()
    print(json.dumps({{"upgrade": before, "modules": sorted(sys.modules)}}))

asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    result = json.loads(out)
    assert result["upgrade"][0] == result["upgrade"][1]  # nothing to migrate
    modules = set(result["modules"])
    assert "alembic" not in modules
    for unused in ("admin", "inbox", "supervisor", "web_login", "people.service"):
        assert f"bannertui.services.{unused}" not in modules, unused
