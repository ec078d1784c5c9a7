"""How fast is the contact search, folded for case and accents (issue #19, SPEC I9)?

A database (SQLite in a temporary directory; PostgreSQL too when ``BANNERTUI_TEST_PG_URL``
names a server, as ``make test`` sets it) holds the demo data and N more contacts (default
100,000): first and last names drawn from French, Spanish, German and Portuguese ones, half
of them accented, a company for one in three, an email for one in two, distinct French
mobile numbers.  Each query runs ``services.people.contacts(Actor("admin"), query)`` (the
people screen's and Send SMS's first page: 50 contacts, sorted by name) ``--runs`` times;
the figure is the median over every run of every query.

Baseline, in the same run on the same rows: the search as it was before (each word matched
with ``lower(column) LIKE`` in each of the five columns), which finds accented names one way
only.

Target: median ≤ 20 ms a query on each backend.

Run: ``.venv/bin/python bench/bench_contact_search.py [--contacts N] [--runs R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col

from _report import pg_database, print_summary, progress
from bannertui.domain.actor import Actor
from bannertui.domain.contacts import search_key
from bannertui.services import Services
from bannertui.services.base import like_contains
from bannertui.store.database import Database
from bannertui.store.migrate import upgrade
from bannertui.store.models import Contact
from bannertui.store.seed import seed

TARGET_MS = 20.0
FIRST = [
    "Inès",
    "Ines",
    "Léa",
    "Lea",
    "José",
    "Jose",
    "Jürgen",
    "Jurgen",
    "Zoé",
    "Hélène",
    "Thomas",
    "Marie",
    "João",
    "Joao",
    "Chloé",
    "Noé",
    "Agnès",
    "Björn",
    "Sofía",
    "Ana",
]
LAST = [
    "Moreau",
    "Müller",
    "Muller",
    "Gonçalves",
    "Goncalves",
    "Pérez",
    "Perez",
    "Dubois",
    "Lefèvre",
    "Lefevre",
    "Straße",
    "Strasse",
    "Peña",
    "Pena",
    "Bernard",
    "Petit",
    "Graf",
]
COMPANIES = ["", "", "Café Lumière", "Moreau SARL", "Peña y Hijos", "Müller GmbH"]
QUERIES = [
    "ines",
    "INÈS petit",
    "lea moreau",
    "muller",
    "goncalves",
    "cafe",
    "612 34",
    "zzz-nobody",
    "jose pena",
    "strasse gmbh",
]


def rows(n: int, rng: random.Random) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(COMPANIES)
        email = f"{first[0].lower()}.{i}@example.com" if i % 2 else ""
        number = f"+336{20_000_000 + i:08d}"
        out.append(
            {
                "first_name": first,
                "last_name": last,
                "company": company,
                "email": email,
                "number": number,
                "search_key": search_key(first, last, company, email, number),
            }
        )
    return out


def old_filter(query: str) -> sa.ColumnElement[bool]:
    fields = (Contact.first_name, Contact.last_name, Contact.company, Contact.email, Contact.number)
    return sa.and_(
        *(
            sa.or_(
                *(sa.func.lower(col(f)).like(like_contains(w.lower()), escape="\\") for f in fields)
            )
            for w in query.split()
        )
    )


async def measure(url: str, n: int, runs: int) -> tuple[float, float]:
    db = Database(url)
    try:
        await upgrade(db, create=True)
        await seed(db)
        data = rows(n, random.Random(19))
        async with db.write() as session:
            for start in range(0, n, 10_000):
                await session.execute(sa.insert(Contact), data[start : start + 10_000])
        services = Services(db)
        admin = Actor("admin")
        new: list[float] = []
        old: list[float] = []
        for _ in range(runs):
            for q in QUERIES:
                t = time.perf_counter()
                await services.people.contacts(admin, q, limit=50)
                new.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                async with db.read() as session:
                    (
                        await session.execute(
                            sa.select(col(Contact.id))
                            .where(old_filter(q))
                            .order_by(sa.func.lower(col(Contact.last_name)))
                            .limit(50)
                        )
                    ).all()
                old.append((time.perf_counter() - t) * 1000)
        return statistics.median(new), statistics.median(old)
    finally:
        await db.dispose()


def summary_rows(backend: str, new: float, old: float) -> list[tuple[str, str, str, str]]:
    """The summary's rows of one backend."""
    result = "PASS" if new <= TARGET_MS else "FAIL"
    return [
        (f"{backend}: search (median ms)", f"{new:.1f}", f"≤{TARGET_MS:g}", result),
        (f"{backend}: old search, baseline (ms)", f"{old:.1f}", "", ""),
        (f"{backend}: ratio to the baseline", f"{new / old:.2f}", "", ""),
    ]


async def main_async(args: argparse.Namespace) -> None:
    summary = []
    with tempfile.TemporaryDirectory(prefix="bannertui-search-") as tmp:
        progress(f"SQLite: {args.contacts:,} contacts")
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'search.sqlite3'}"
        summary += summary_rows("sqlite", *await measure(url, args.contacts, args.runs))
    base = os.environ.get("BANNERTUI_TEST_PG_URL")
    if base:
        progress(f"PostgreSQL: {args.contacts:,} contacts")
        async with pg_database(base) as url:
            summary += summary_rows("postgresql", *await measure(url, args.contacts, args.runs))
    else:
        progress("PostgreSQL: BANNERTUI_TEST_PG_URL is not set: not measured")
    print_summary(summary)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
