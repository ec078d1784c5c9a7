"""SQLite connections end once, however their task is cancelled (issue #23: ctrl+q in the same
burst as F5 hung the console for good when it closed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from bannertui.store.database import _sqlite_creator

#: Bound on an operation that, when it works, takes milliseconds.
ENDS_WITHIN_SECONDS = 10.0


async def test_a_connection_stopped_while_it_closes_still_closes(tmp_path: Path) -> None:
    """What SQLAlchemy does to a connection whose task is cancelled twice: a graceful close,
    then, cancelled meanwhile, a forced stop.  The close then stopped the worker thread a
    second time, after it had gone, and waited for an answer that never came."""
    url = sa.make_url(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    connection = await _sqlite_creator(url)()
    closing = asyncio.ensure_future(connection.close())
    await asyncio.sleep(0)  # the close is queued on the connection's thread
    stopped = connection.stop()
    await asyncio.wait_for(closing, ENDS_WITHIN_SECONDS)
    assert stopped is not None
    await asyncio.wait_for(stopped, ENDS_WITHIN_SECONDS)
    await asyncio.to_thread(connection._thread.join, ENDS_WITHIN_SECONDS)
    assert not connection._thread.is_alive()


async def test_stopping_twice_waits_for_the_one_thread(tmp_path: Path) -> None:
    url = sa.make_url(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    connection = await _sqlite_creator(url)()
    first, second = connection.stop(), connection.stop()
    assert first is second
    assert first is not None
    await asyncio.wait_for(first, ENDS_WITHIN_SECONDS)
