"""How long does a big contacts import take, from the file's bytes to the report (issue #19)?

The file: N rows (default 100,000, the most one import takes) in Latin-1 with ``;`` and
French headers (``Prénom;Nom;Téléphone;Email;Société;Groupes``), accented names, one row in
100 bad (a number that is no mobile, a short row, a bad email, in turn), a group for one row
in ten.  Timed: ``decode_csv`` (UTF-8 fails, charset-normalizer recognises the encoding) and
``services.people.import_csv`` with a progress callback, on a fresh demo database (SQLite in
a temporary directory; PostgreSQL too when ``BANNERTUI_TEST_PG_URL`` is set), as the import
dialog runs them.  The report's counts are checked.

Baseline, in the same run: Python's ``csv`` module merely reading the same bytes (decoded as
Latin-1, known in advance) into lists of cells.

Target: ≤ 10 s to the report.

Run: ``.venv/bin/python bench/bench_csv_import.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from _report import pg_database, print_summary, progress
from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.services.people.csv_import import decode_csv
from bannertui.store.database import Database
from bannertui.store.migrate import upgrade
from bannertui.store.seed import seed

TARGET_S = 10.0
FIRST = ["Inès", "Léa", "José", "Zoé", "Hélène", "Agnès", "Noé", "Thomas", "Marie", "Björn"]
LAST = ["Lefèvre", "Gonçalves", "Müller", "Pérez", "Moreau", "Dubois", "Peña", "Bernard"]


def make_file(rows: int) -> tuple[bytes, int]:
    """The file's bytes and how many of its rows are bad."""
    rng = random.Random(19)
    out = ["Prénom;Nom;Téléphone;Email;Société;Groupes"]
    bad = 0
    for i in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        number = f"+33 6 30 {i // 10_000 % 100:02d} {i // 100 % 100:02d} {i % 100:02d}"
        email = f"{i}@example.com"
        group = "Clients fidèles" if i % 10 == 0 else ""
        if i % 100 == 50:
            bad += 1
            kind = i // 100 % 3
            if kind == 0:
                number = "+33 1 23 45 67 89"  # a landline
            elif kind == 1:
                out.append(f"{first};{last};{number}")  # short
                continue
            else:
                email = "not-an-email"
        out.append(f"{first};{last};{number};{email};Société {i % 50};{group}")
    return ("\r\n".join(out) + "\r\n").encode("latin-1"), bad


async def import_once(url: str, data: bytes) -> tuple[float, int, int, int]:
    db = Database(url)
    try:
        await upgrade(db, create=True)
        await seed(db)
        services = Services(db)
        calls = 0

        def seen(done: int, total: int) -> None:
            nonlocal calls
            calls += 1

        t = time.perf_counter()
        text = decode_csv(data, "contacts.csv")
        report = await services.people.import_csv(Actor("admin"), text, progress=seen)
        elapsed = time.perf_counter() - t
        return elapsed, report.created, len(report.rejected), calls
    finally:
        await db.dispose()


def baseline(data: bytes) -> float:
    t = time.perf_counter()
    rows = list(csv.reader(io.StringIO(data.decode("latin-1"), newline=""), delimiter=";"))
    assert rows
    return time.perf_counter() - t


async def main_async(args: argparse.Namespace) -> None:
    data, bad = make_file(args.rows)
    progress(f"{args.rows:,} rows, {len(data):,} bytes, {bad:,} bad")
    base = baseline(data)
    summary = [("csv module reading the file (s)", f"{base:.2f}", "", "")]
    targets = [("sqlite", None)]
    if os.environ.get("BANNERTUI_TEST_PG_URL"):
        targets.append(("postgresql", os.environ["BANNERTUI_TEST_PG_URL"]))
    for backend, server in targets:
        progress(f"importing on {backend}")
        if server is None:
            with tempfile.TemporaryDirectory(prefix="bannertui-csv-") as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'import.sqlite3'}"
                elapsed, created, rejected, calls = await import_once(url, data)
        else:
            async with pg_database(server) as url:
                elapsed, created, rejected, calls = await import_once(url, data)
        assert (created, rejected) == (args.rows - bad, bad), (created, rejected)
        assert calls >= args.rows // 1000
        summary.append(
            (
                f"{backend}: bytes to report (s)",
                f"{elapsed:.2f}",
                f"≤{TARGET_S:g}",
                "PASS" if elapsed <= TARGET_S else "FAIL",
            )
        )
        summary.append((f"{backend}: ratio to the csv module", f"{elapsed / base:.0f}", "", ""))
    print_summary(summary)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
