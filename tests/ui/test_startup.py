"""What the console does before its first screen (issue #18): the Banner's start loads
neither Alembic (the schema is at HEAD) nor the services it does not show."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bannertui.testing import demo_url


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
