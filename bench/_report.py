"""What every benchmark shares: the summary table it ends with (figure, value, target,
PASS/FAIL), progress lines, and a throw-away PostgreSQL database."""

from __future__ import annotations

import contextlib
import statistics
import sys
import uuid
from collections.abc import AsyncIterator, Sequence


def print_summary(summary: Sequence[tuple[str, str, str, str]]) -> None:
    """Print the rows (figure, value, target, result) aligned, then how many targets failed."""
    w0 = max(len(r[0]) for r in summary)
    w1 = max(len(r[1]) for r in summary)
    header = f"{'figure':<{w0}} {'value':>{w1}} {'target':>7} {'result':>6}"
    print("summary")
    print(header)
    print("-" * len(header))
    for figure, value, target, result in summary:
        print(f"{figure:<{w0}} {value:>{w1}} {target:>7} {result:>6}")
    failed = [r[0] for r in summary if r[3] == "FAIL"]
    print()
    print(f"targets: {'all PASS' if not failed else f'{len(failed)} FAIL'}")


def progress(text: str) -> None:
    """A progress line on stderr (the figures go to stdout)."""
    print(text, file=sys.stderr, flush=True)


def p95(samples: list[float]) -> float:
    """The 95th percentile (the one sample when there is only one)."""
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


@contextlib.asynccontextmanager
async def pg_database(base: str) -> AsyncIterator[str]:
    """A throw-away database on the PostgreSQL server of ``base`` (a URL): its URL, dropped
    afterwards."""
    import asyncpg

    name = f"bt_bench_{uuid.uuid4().hex[:10]}"
    admin = base.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
