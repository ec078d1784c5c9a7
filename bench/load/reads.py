"""What one Banner reload costs on PostgreSQL, before and after the round-trip changes.

A console's overview (agent, balance, open interactions: the read every live update of a
Banner makes), 1,500 times on one connection, measured as client CPU (this process) and
server CPU (its backend, from /proc), in the same process:

* baseline: what bannertui did before — ``pool_pre_ping`` on every checkout (BEGIN; ;
  ROLLBACK: three round trips) and every read inside BEGIN … ROLLBACK;
* now: a pooled connection checked only after ``PING_AFTER_SECONDS`` idle, reads without a
  transaction around them (store.database).

Run by ``make load`` (it needs the PostgreSQL server scripts/pg.sh starts, through
``BANNERTUI_TEST_PG_URL``); prints the figures and the ratios, never fails.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as harness

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.store.database import Database

CALLS = 1_500


async def measure(url: str, *, baseline: bool) -> tuple[float, float]:
    """(client µs, server µs) per overview."""
    db = Database(url, pool_size=1, ping_after=0.0 if baseline else 3600.0)
    if baseline:  # reads inside BEGIN … ROLLBACK, as before
        db._read = async_sessionmaker(db.engine, expire_on_commit=False)
    services = Services(db)
    try:
        async with db.read() as session:
            backend = int(await session.scalar(sa.text("SELECT pg_backend_pid()")) or 0)
        for _ in range(100):  # warm: statement caches, the pool
            await services.conversations.overview(Actor("load000"))
        client, server = time.process_time(), harness.cpu_seconds(backend)
        for _ in range(CALLS):
            await services.conversations.overview(Actor("load000"))
        return (
            1e6 * (time.process_time() - client) / CALLS,
            1e6 * (harness.cpu_seconds(backend) - server) / CALLS,
        )
    finally:
        await db.dispose()


async def main() -> None:
    args = harness.parse_args(["--backend", "pg", "--consoles", "2", "--queues", "1"])
    url = await harness.fresh_database(args, Path("."))
    try:
        await harness.prepare(url, args)
        rounds = [(await measure(url, baseline=True), await measure(url, baseline=False))]
        rounds.append((await measure(url, baseline=True), await measure(url, baseline=False)))
    finally:
        await harness.drop_database(args, url)
    print(f"== one console overview on PostgreSQL, {CALLS} calls, best of {len(rounds)} rounds")
    before = (min(r[0][0] for r in rounds), min(r[0][1] for r in rounds))
    after = (min(r[1][0] for r in rounds), min(r[1][1] for r in rounds))
    print(
        f"   baseline (pre-ping, BEGIN/ROLLBACK): client {before[0]:.0f} µs, "
        f"server {before[1]:.0f} µs"
    )
    print(
        f"   now (ping after idle, plain reads):   client {after[0]:.0f} µs, "
        f"server {after[1]:.0f} µs"
    )
    print(
        f"   ratio now / baseline: client {after[0] / before[0]:.2f}×, "
        f"server {after[1] / max(before[1], 1e-9):.2f}×"
    )


if __name__ == "__main__":
    asyncio.run(main())
