"""8 OS processes send at once against one database holding 100 credits."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bannertui.domain.enums import Direction
from bannertui.store.database import Database
from bannertui.store.models import Account, Message

WORKER = Path(__file__).with_name("send_worker.py")
PROCESSES = 8
ATTEMPTS = 25  # 8 x 25 attempts of 1 or 2 credits: far more than 100 credits


@pytest.mark.slow
async def test_eight_processes_never_overdraw(seeded: Database, database_url: str) -> None:
    async with seeded.write() as session:
        await session.execute(sa.update(Account).values(credits=100))
        before = await session.scalar(sa.select(sa.func.count()).select_from(Message))
    start_at = time.time() + 3.0
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            database_url,
            str(start_at),
            str(ATTEMPTS),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [await p.communicate() for p in procs]
    results = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out))

    errors = [e for r in results for e in r["errors"]]
    assert errors == []  # in particular, no "database is locked" reached a caller
    debited = sum(sum(r["credits"]) for r in results)
    refused = sum(r["refused"] for r in results)
    assert refused > 0, "the test must exhaust the credits"

    async with seeded.read() as session:
        balance = await session.scalar(sa.select(Account.credits))
        rows = (
            await session.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Message.credits), 0)).where(
                    Message.direction == Direction.OUTBOUND, Message.to_number == "+33612000009"
                )
            )
        ).one()
        total = await session.scalar(sa.select(sa.func.count()).select_from(Message))
    assert balance is not None
    assert balance >= 0
    assert debited == 100 - balance  # what callers were told adds up to the debit
    assert rows[1] == debited  # and to what was stored
    assert rows[0] == sum(len(r["credits"]) for r in results)
    assert total == before + rows[0]
    assert balance <= 1  # only a 2-credit message may be refused with 1 credit left


@pytest.mark.parametrize("ping_after", [0.0, 3600.0])
async def test_a_pooled_connection_the_server_closed_is_replaced_unseen(
    seeded: Database, database_url: str, backend: str, ping_after: float
) -> None:
    """A pooled connection whose server process ended (a restart, pg_terminate_backend) is
    replaced before use, with or without the idle ping: the caller never sees it."""
    if backend != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    db = Database(database_url, pool_size=1, ping_after=ping_after)
    try:
        async with db.read() as session:
            pid = await session.scalar(sa.text("SELECT pg_backend_pid()"))
            raw = await (await session.connection()).get_raw_connection()
            driver = raw.driver_connection  # the pooled asyncpg connection
        assert driver is not None
        async with seeded.read() as session:
            assert await session.scalar(sa.text(f"SELECT pg_terminate_backend({int(pid)})"))
        # The driver hears the server close it: waited for (every 10 ms, up to 30 s), not a
        # fixed pause, which a loaded machine can outlast (the server process ends when it
        # gets to it).  What the pool then checks is this same is_closed().
        deadline = time.monotonic() + 30
        while not driver.is_closed():
            assert time.monotonic() < deadline, "the driver never heard the server close it"
            await asyncio.sleep(0.01)
        async with db.read() as session:
            again = await session.scalar(sa.text("SELECT pg_backend_pid()"))
        assert again != pid
        async with db.write() as session:
            await session.execute(sa.update(Account).values(credits=Account.credits + 1))
    finally:
        await db.dispose()
