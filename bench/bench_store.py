"""How does the store hold up on SQLite with a million messages?

1. Bulk insert through the project's own path (SQLAlchemy Core ``insert(message)``
   executemany in ``db.write()`` sessions), beside plain ``sqlite3`` executemany of the same
   rows into a second file created the same way (same schema, indexes and pragmas).
2. The reads the UI pays for, each timed around a fresh ``db.read()`` session: a
   conversation's latest page (``latest_messages``) and one page of an inbox view, with the
   ``EXPLAIN QUERY PLAN`` of each, before and after ``ANALYZE``.

Run: ``.venv/bin/python bench/bench_store.py [--messages N] [--keep PATH]`` (default N =
1,000,000: a few minutes on 2 cores). Prints figures and PASS/FAIL against the targets, never
fails (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from _report import print_summary
from bannertui.domain.enums import Direction, MessageStatus, MessageType, folder_for
from bannertui.domain.sms import measure
from bannertui.services.conversations import latest_messages
from bannertui.store.database import Database
from bannertui.store.migrate import upgrade
from bannertui.store.models import Agent, Interaction, Message, Queue, SmsNumber
from bannertui.store.seed import seed

DEFAULT_MESSAGES = 1_000_000
BATCH = 10_000  # rows per transaction, both paths
PLAIN_ROWS = 200_000  # the plain sqlite3 baseline runs on this many first rows (batch multiple)
INTERACTIONS = 10_000  # small conversations, besides the big one
BIG_SHARE = 0.10  # of all messages, in the one big conversation (100,000 of 1,000,000)
LOOSE_SHARE = 0.10  # direct sends and unrouted inbound: no interaction
DELETED_SHARE = 0.03
DEEP_BACK = 500_000  # the "next page" query starts this many rows back (at most N / 2)
PAGE = 50
WARMUP = 10
REPEATS = 200
TARGET_MS = 5.0
SPAN = timedelta(days=365)  # created_at runs over the last year, increasing with the id
SEED = 20_240_601

#: How SQLAlchemy's SQLite DateTime stores a value (naive UTC text); the plain path writes
#: the same text so both files hold the same values.
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"

MESSAGE_TABLE: sa.Table = Message.__table__  # type: ignore[attr-defined]
INTERACTION_TABLE: sa.Table = Interaction.__table__  # type: ignore[attr-defined]
#: Every column but ``id``, in table order: the INSERT of both paths.
COLUMNS = tuple(c.name for c in MESSAGE_TABLE.columns if c.name != "id")

_OUT_STATUSES = (
    MessageStatus.DELIVERED,
    MessageStatus.SENT,
    MessageStatus.FAILED,
    MessageStatus.BLOCKED,
    MessageStatus.PENDING,
    MessageStatus.SCHEDULED,
    MessageStatus.SENDING,
)
_OUT_WEIGHTS = (72, 12, 8, 3, 3, 1, 1)

_GSM_SENTENCES = (
    "hello your appointment is confirmed for tomorrow at 10:30 please bring your card and an "
    "ID ticket ref A-1234 order delivery parcel today thanks reply STOP to opt out call us "
    "back invoice payment received due balance account update code new address the a of to "
    "on in and we will you can our team agent support sales clinic Lyon Paris Monday Tuesday "
    "12/03 25€ ok yes no sure great when where (see) [link] hi! how are you? fine, thank you."
)
_GSM_WORDS = _GSM_SENTENCES.split()
_UCS2_WORDS = ("fenêtre", "rendez-vous", "être", "bientôt", "reçu", "œuvre", "😀", "très", "hôtel")


def _fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- data ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conv:
    id: int
    agent_id: int
    queue_id: int
    local: str
    remote: str


@dataclass(frozen=True, slots=True)
class SeedInfo:
    agent_ids: list[int]
    queues: list[tuple[int, str]]  # (queue id, its SMS number)
    numbers: list[str]
    max_message_id: int
    max_interaction_id: int


def make_texts(rng: random.Random, count: int = 4096) -> list[tuple[str, str, int]]:
    """(text, encoding, credits) of ``count`` texts of 20–300 characters, ~10 % UCS-2."""
    texts = []
    for _ in range(count):
        length = int(rng.triangular(20, 300, 70))
        ucs2 = rng.random() < 0.10
        words: list[str] = []
        size = 0
        while size < length:
            word = rng.choice(_UCS2_WORDS if ucs2 and rng.random() < 0.2 else _GSM_WORDS)
            words.append(word)
            size += len(word) + 1
        text = " ".join(words)[:length].rstrip()
        m = measure(text)
        texts.append((text, m.encoding.value, m.credits))
    return texts


def _remote(rng: random.Random) -> str:
    return f"+336{rng.randrange(10**8):08d}"


class Messages:
    """Deterministic message rows, one batch at a time (message ``i`` is the i-th inserted)."""

    def __init__(self, n: int, info: SeedInfo, start: datetime, rng: random.Random) -> None:
        self.n = n
        self.rng = rng
        self.info = info
        self.start = start
        self.step = SPAN.total_seconds() / n
        self.texts = make_texts(rng)
        first = info.max_interaction_id + 1
        self.convs = [
            Conv(first + k, rng.choice(info.agent_ids), *rng.choice(info.queues), _remote(rng))
            for k in range(INTERACTIONS + 1)
        ]
        self.big = self.convs[0]
        self.small = self.convs[1:]
        self.counts: Counter[int] = Counter()

    def interaction_rows(self) -> list[dict[str, Any]]:
        rows = []
        for k, c in enumerate(self.convs):
            at = self.start + SPAN * (max(k - 1, 0) / len(self.small))
            last = at + timedelta(days=2)
            open_ = c is self.big or k > len(self.small) - 200
            status = "progressing" if open_ else ("archived" if k % 3 else "closed")
            rows.append(
                {
                    "id": c.id,
                    "channel": "sms",
                    "status": status,
                    "queue_id": c.queue_id,
                    "agent_id": c.agent_id,
                    "remote_number": c.remote,
                    "local_number": c.local,
                    "contact_id": None,
                    "origin_interaction_id": None,
                    "unread": 0,
                    "created_at": at,
                    "assigned_at": at,
                    "last_message_at": last,
                    "closed_at": None if open_ else last,
                    "archived_at": last if status == "archived" else None,
                }
            )
        return rows

    def batch(self, first: int, count: int) -> list[dict[str, Any]]:
        rng, small, n = self.rng, self.small, self.n
        rows = []
        for i in range(first, first + count):
            at = self.start + timedelta(seconds=i * self.step)
            r = rng.random()
            conv: Conv | None
            if r < BIG_SHARE:
                conv = self.big
            elif r < BIG_SHARE + LOOSE_SHARE:
                conv = None
            else:  # conversations live over a stretch of time and interleave
                k = int(i / n * len(small) + rng.gauss(0, 20))
                conv = small[min(max(k, 0), len(small) - 1)]
            inbound = rng.random() < (0.45 if conv else 0.20)
            agent_id: int | None
            queue_id: int | None
            if conv is not None:
                local, remote, agent_id, queue_id = (
                    conv.local,
                    conv.remote,
                    conv.agent_id,
                    conv.queue_id,
                )
                self.counts[conv.id] += 1
            else:
                local, remote = rng.choice(self.info.numbers), _remote(rng)
                agent_id = None if inbound else rng.choice(self.info.agent_ids)
                queue_id = None
            text, encoding, credits = rng.choice(self.texts)
            direction = Direction.INBOUND if inbound else Direction.OUTBOUND
            if inbound:
                status = MessageStatus.RECEIVED
            else:
                status = rng.choices(_OUT_STATUSES, _OUT_WEIGHTS)[0]
            folder = folder_for(direction, status).value
            marketing = not inbound and conv is None and rng.random() < 0.25
            failed = status == MessageStatus.FAILED
            deleted = rng.random() < DELETED_SHARE
            rows.append(
                {
                    "interaction_id": conv.id if conv else None,
                    "agent_id": agent_id,
                    "queue_id": queue_id,
                    "direction": direction.value,
                    "from_number": remote if inbound else local,
                    "to_number": local if inbound else remote,
                    "remote_number": remote,
                    "text": text,
                    "encoding": encoding,
                    "credits": 0 if inbound else credits,
                    "type": (
                        MessageType.MARKETING if marketing else MessageType.NOTIFICATION
                    ).value,
                    "sender": None if inbound or marketing else local,
                    "ret_id": None if inbound else f"{rng.getrandbits(128):032x}",
                    "provider_message_id": f"p2-{rng.getrandbits(96):024x}" if inbound else None,
                    "status": status.value,
                    "folder": folder,
                    "error": "P2 rejected: destination unreachable" if failed else None,
                    "attempts": 0 if inbound else (3 if failed else 1),
                    "next_attempt_at": (
                        at + timedelta(minutes=1) if status == MessageStatus.PENDING else None
                    ),
                    "claimed_by": None,
                    "claimed_at": None,
                    "scheduled_at": (
                        at + timedelta(days=1) if status == MessageStatus.SCHEDULED else None
                    ),
                    "created_at": at,
                    "sent_at": (
                        at + timedelta(seconds=2)
                        if status in (MessageStatus.SENT, MessageStatus.DELIVERED)
                        else None
                    ),
                    "delivered_at": (
                        at + timedelta(seconds=9) if status == MessageStatus.DELIVERED else None
                    ),
                    "deleted": deleted,
                    "deleted_from": folder if deleted else None,
                    "deleted_at": at + timedelta(hours=1) if deleted else None,
                }
            )
        return rows


def _plain_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(SQLITE_TIME)
    if isinstance(value, bool):
        return int(value)
    return value


def to_tuples(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(_plain_value(row[c]) for c in COLUMNS) for row in rows]


# --- set-up ----------------------------------------------------------------------------


async def create(path: Path) -> Database:
    """A database the way the app makes one: migrations, then the demo data."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    await seed(db)
    return db


async def seed_info(db: Database) -> SeedInfo:
    async with db.read() as s:
        agent_ids = [a for a in await s.scalars(sa.select(col(Agent.id))) if a is not None]
        queues = [
            (int(q or 0), str(num))
            for q, num in (
                await s.execute(
                    sa.select(col(Queue.id), col(SmsNumber.number)).join(
                        SmsNumber, col(Queue.sms_number_id) == col(SmsNumber.id)
                    )
                )
            ).all()
        ]
        numbers = [str(x) for x in await s.scalars(sa.select(col(SmsNumber.number)))]
        max_msg = await s.scalar(sa.select(sa.func.max(col(Message.id))))
        max_inter = await s.scalar(sa.select(sa.func.max(col(Interaction.id))))
    return SeedInfo(agent_ids, queues, numbers, int(max_msg or 0), int(max_inter or 0))


def plain_connect(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the pragmas of ``Database``'s connect hook."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


# --- insert ----------------------------------------------------------------------------


@dataclass
class InsertFigures:
    ours_all: float = 0.0
    ours_first: float = 0.0
    plain_first: float = 0.0
    generate: float = 0.0
    to_tuples: float = 0.0
    executemany: bool | None = None


async def insert_messages(
    db: Database, plain: sqlite3.Connection, gen: Messages, n: int, plain_rows: int
) -> InsertFigures:
    fig = InsertFigures()

    def _seen(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, many: bool) -> None:
        if fig.executemany is None and statement.startswith("INSERT INTO message"):
            fig.executemany = many

    event.listen(db.engine.sync_engine, "before_cursor_execute", _seen)
    stmt = sa.insert(MESSAGE_TABLE)
    plain_sql = (
        f"INSERT INTO message ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    )
    started = time.perf_counter()
    for b, first in enumerate(range(0, n, BATCH)):
        t0 = time.perf_counter()
        rows = gen.batch(first, min(BATCH, n - first))
        fig.generate += time.perf_counter() - t0
        tuples = None
        if first < plain_rows:
            t0 = time.perf_counter()
            tuples = to_tuples(rows)
            fig.to_tuples += time.perf_counter() - t0

        async def ours(rows: list[dict[str, Any]] = rows) -> float:
            t0 = time.perf_counter()
            async with db.write() as session:
                await session.execute(stmt, rows)
            return time.perf_counter() - t0

        def theirs(tuples: list[tuple[Any, ...]]) -> float:
            t0 = time.perf_counter()
            plain.execute("BEGIN IMMEDIATE")
            plain.executemany(plain_sql, tuples)
            plain.execute("COMMIT")
            return time.perf_counter() - t0

        if tuples is None:
            fig.ours_all += await ours()
        else:  # alternate which goes first, so neither always meets the other's leftovers
            if b % 2:
                fig.plain_first += theirs(tuples)
                t = await ours()
            else:
                t = await ours()
                fig.plain_first += theirs(tuples)
            fig.ours_all += t
            fig.ours_first += t
        done = first + len(rows)
        if done % 100_000 == 0 or done == n:
            _progress(f"  inserted {done:>9,} / {n:,}  ({time.perf_counter() - started:.0f} s)")
    event.remove(db.engine.sync_engine, "before_cursor_execute", _seen)
    return fig


# --- queries ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    run: Callable[[AsyncSession], Awaitable[int]]  # returns the number of rows shown


@dataclass
class Timing:
    rows: int
    median: float
    p95: float
    plain_median: float
    sql: str
    params: tuple[Any, ...]
    plan: list[str] = field(default_factory=list)


def view_query(
    folder: str | None, *, deleted: bool = False, before_id: int | None = None
) -> sa.Select[Message]:
    """One page of an inbox view, the way the services will ask: keyset on id."""
    query = sa.select(Message).where(col(Message.deleted) == (sa.true() if deleted else sa.false()))
    if folder is not None:
        query = query.where(col(Message.folder) == folder)
    if before_id is not None:
        query = query.where(col(Message.id) < before_id)
    return query.order_by(col(Message.id).desc()).limit(PAGE)


def thread_case(label: str, interaction_id: int, before_id: int | None = None) -> Case:
    async def run(session: AsyncSession) -> int:
        page = await latest_messages(session, interaction_id, PAGE, before_id)
        return len(page.messages)

    return Case(label, run)


def view_case(
    label: str, folder: str | None, *, deleted: bool = False, before_id: int | None = None
) -> Case:
    async def run(session: AsyncSession) -> int:
        query = view_query(folder, deleted=deleted, before_id=before_id)
        return len((await session.scalars(query)).all())

    return Case(label, run)


async def once(db: Database, case: Case) -> int:
    async with db.read() as session:  # the UI opens a session per page: timed with it
        return await case.run(session)


async def driver_sql(db: Database, case: Case) -> tuple[int, str, tuple[Any, ...]]:
    """One run with a hook on: (rows, the SELECT and parameters the driver got)."""
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def hook(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _m: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, tuple(params)))

    event.listen(db.engine.sync_engine, "before_cursor_execute", hook)
    try:
        rows = await once(db, case)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", hook)
    return rows, *seen[-1]


def plan_ok(plan: list[str]) -> bool:
    """One index range, rows already in order: no full scan, no sort."""
    text = " ".join(plan)
    return "USING" in text and "SCAN message" not in text and "TEMP B-TREE" not in text


def short_sql(sql: str) -> str:
    sql = " ".join(sql.split())
    return re.sub(r"^SELECT .*? FROM", "SELECT message.* FROM", sql)


async def run_queries(db: Database, plain: sqlite3.Connection, cases: list[Case]) -> list[Timing]:
    """Time every case, round-robin (one run of each in turn), so that whatever else the
    machine does spreads over all of them alike; then the same for the plain SQL."""
    found = [await driver_sql(db, case) for case in cases]
    ours: list[list[float]] = [[] for _ in cases]
    for rep in range(WARMUP + REPEATS):
        for k, case in enumerate(cases):
            t0 = time.perf_counter()
            await once(db, case)
            if rep >= WARMUP:
                ours[k].append(time.perf_counter() - t0)
    # The same SQL and parameters on a plain sqlite3 connection: what SQLite alone costs.
    theirs: list[list[float]] = [[] for _ in cases]
    for rep in range(WARMUP + REPEATS):
        for k, (_rows, sql, params) in enumerate(found):
            t0 = time.perf_counter()
            plain.execute(sql, params).fetchall()
            if rep >= WARMUP:
                theirs[k].append(time.perf_counter() - t0)
    timings = []
    for (rows, sql, params), samples, plain_samples in zip(found, ours, theirs, strict=True):
        plan = [
            "  " * (3 if parent else 0) + detail
            for _id, parent, _nu, detail in plain.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        ]
        timings.append(
            Timing(
                rows,
                statistics.median(samples),
                _p95(samples),
                statistics.median(plain_samples),
                sql,
                params,
                plan,
            )
        )
    return timings


def print_timings(title: str, cases: list[Case], timings: list[Timing]) -> None:
    width = max(len(c.label) for c in cases)
    header = (
        f"{'query':<{width}} {'rows':>4} {'median ms':>9} {'p95 ms':>7} "
        f"{'plain ms':>8} {'ratio':>6} {'target':>7} {'result':>6}"
    )
    print(title)
    print(header)
    print("-" * len(header))
    for case, t in zip(cases, timings, strict=True):
        verdict = "PASS" if t.median * 1000 <= TARGET_MS else "FAIL"
        print(
            f"{case.label:<{width}} {t.rows:>4} {_fmt_ms(t.median):>9} {_fmt_ms(t.p95):>7} "
            f"{_fmt_ms(t.plain_median):>8} {t.median / t.plain_median:>6.1f} "
            f"{'≤' + f'{TARGET_MS:.0f}':>7} {verdict:>6}"
        )
    print()


def print_plans(cases: list[Case], timings: list[Timing], before: list[Timing] | None) -> None:
    for case, t in zip(cases, timings, strict=True):
        if before is not None:
            old = before[cases.index(case)]
            if old.plan == t.plan:
                print(f"- {case.label}: same plan as before ANALYZE")
                continue
            print(f"- {case.label}: PLAN CHANGED after ANALYZE")
        else:
            print(f"- {case.label}")
            print(f"    {short_sql(t.sql)}")
            print(f"    params {t.params!r}")
        for line in t.plan:
            print(f"    > {line}")
        if not plan_ok(t.plan):
            print("    ! not a single index range in id order")
    print()


# --- main ------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES, metavar="N")
    parser.add_argument("--keep", type=Path, metavar="PATH", help="keep the database here")
    args = parser.parse_args()
    if args.messages < 2 * BATCH:
        parser.error(f"--messages must be at least {2 * BATCH:,}")
    if args.keep is not None and args.keep.exists():
        parser.error(f"--keep: {args.keep} exists; give a new path")
    return args


Summary = list[tuple[str, str, str, str]]  # (figure, value, target, result)


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def same_rows(a: Path, b: Path, ids: list[int]) -> bool:
    """Whole rows equal in both files (the two paths stored the same values)?"""
    q = f"SELECT * FROM message WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id"
    with sqlite3.connect(a) as ca, sqlite3.connect(b) as cb:
        return ca.execute(q, ids).fetchall() == cb.execute(q, ids).fetchall()


async def set_up(ours: Path, plain: Path, n: int) -> tuple[Database, SeedInfo, Messages]:
    t0 = time.perf_counter()
    db = await create(ours)
    db_plain = await create(plain)
    info = await seed_info(db)
    if await seed_info(db_plain) != info:
        raise RuntimeError("the two databases differ after seeding")
    start = datetime.now(UTC).replace(microsecond=0) - SPAN
    gen = Messages(n, info, start, random.Random(SEED))
    interactions = gen.interaction_rows()
    for d in (db, db_plain):
        async with d.write() as session:
            await session.execute(sa.insert(INTERACTION_TABLE), interactions)
    await db_plain.dispose()
    print(
        f"set-up: 2 files × (upgrade() + seed() + {len(interactions):,} interactions) in "
        f"{time.perf_counter() - t0:.1f} s; SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sa.__version__}, aiosqlite"
    )
    print()
    return db, info, gen


async def insert_section(
    db: Database, info: SeedInfo, gen: Messages, ours_path: Path, plain_path: Path
) -> Summary:
    n = gen.n
    plain_rows = min(PLAIN_ROWS, n)
    plain = plain_connect(plain_path)
    _progress(f"inserting {n:,} messages …")
    fig = await insert_messages(db, plain, gen, n, plain_rows)
    plain.close()
    ours_rate_all = n / fig.ours_all
    ours_rate_first = plain_rows / fig.ours_first
    plain_rate = plain_rows / fig.plain_first
    ratio = ours_rate_first / plain_rate
    base = info.max_message_id
    same = same_rows(ours_path, plain_path, [base + 1, base + plain_rows // 2, base + plain_rows])
    remove_db(plain_path)

    print(f"bulk insert, {BATCH:,} rows per transaction (BEGIN IMMEDIATE … COMMIT), 28 columns")
    print(
        "  ours : await session.execute(sa.insert(Message.__table__), [dict, …]) in "
        f"db.write(); driver executemany: {fig.executemany}"
    )
    print(
        "  plain: sqlite3 executemany(prepared INSERT, [tuple, …]) into a second file made "
        "the same way\n"
        "         (upgrade + seed: same indexes; pragmas of Database's connect hook: WAL, "
        "synchronous=NORMAL,\n         foreign_keys=ON, busy_timeout)"
    )
    print(
        f"  both get the same first {plain_rows:,} rows (batches interleaved, alternating "
        f"which goes first); spot-checked rows identical: {same}"
    )
    print(
        f"  not timed: generating the rows {fig.generate:.1f} s; dicts → tuples for plain "
        f"{fig.to_tuples:.1f} s (ours converts datetimes and bools inside its timing)"
    )
    header = f"{'path':<40} {'rows':>10} {'seconds':>8} {'rows/s':>9}"
    print(header)
    print("-" * len(header))
    lines = [
        (f"ours, first {plain_rows:,} rows", plain_rows, fig.ours_first),
        (f"plain sqlite3, first {plain_rows:,} rows", plain_rows, fig.plain_first),
        (f"ours, all {n:,} rows", n, fig.ours_all),
    ]
    if n > plain_rows:
        lines.append(
            (f"ours, rows {plain_rows + 1:,}–{n:,}", n - plain_rows, fig.ours_all - fig.ours_first)
        )
    for label, rows, seconds in lines:
        print(f"{label:<40} {rows:>10,} {seconds:>8.2f} {rows / seconds:>9,.0f}")
    print(f"ratio ours / plain, same first {plain_rows:,} rows: {ratio:.2f}")
    print()
    return [
        (f"insert rows/s, ours, all {n:,}", f"{ours_rate_all:,.0f}", "figure", "-"),
        (f"insert rows/s, ours, first {plain_rows:,}", f"{ours_rate_first:,.0f}", "figure", "-"),
        (f"insert rows/s, plain, first {plain_rows:,}", f"{plain_rate:,.0f}", "figure", "-"),
        ("insert ratio ours / plain (same rows)", f"{ratio:.2f}", "figure", "-"),
    ]


async def query_section(db: Database, info: SeedInfo, gen: Messages, path: Path) -> Summary:
    n = gen.n
    async with db.read() as s:
        max_id = int(await s.scalar(sa.select(sa.func.max(col(Message.id)))) or 0)
        total = int(await s.scalar(sa.select(sa.func.count()).select_from(Message)) or 0)
    mid = len(gen.small) // 2  # an older conversation of ordinary length
    small = min(gen.small[mid - 50 : mid + 50], key=lambda c: abs(gen.counts[c.id] - 80))
    back = min(DEEP_BACK, n // 2)
    last_id = max_id - back
    big_mid = info.max_message_id + n // 2
    cases = [
        thread_case(f"thread latest 50, big conv ({gen.counts[gen.big.id]:,} msgs)", gen.big.id),
        thread_case(f"thread latest 50, small conv ({gen.counts[small.id]} msgs)", small.id),
        thread_case(f"thread older 50, big conv, id < {big_mid:,}", gen.big.id, big_mid),
        view_case("view failed, page 1", "failed"),
        view_case("view received, page 1", "received"),
        view_case("view sent, page 1", "sent"),
        view_case("view All, page 1", None),
        view_case("view Deleted, page 1", None, deleted=True),
        view_case(f"view All, next page id < {last_id:,} ({back:,} back)", None, before_id=last_id),
        view_case(f"view received, next page id < {last_id:,}", "received", before_id=last_id),
    ]
    print(
        f"queries on {total:,} messages; each run timed around `async with db.read()` + the "
        f"query + building the ORM objects;\n{WARMUP} warm-up runs, then {REPEATS} timed. "
        "plain ms = the same SQL and parameters on a plain sqlite3\nconnection (fetchall of "
        "tuples, no session): SQLite's own share. ratio = median / plain."
    )
    print()
    reader = sqlite3.connect(path, isolation_level=None)
    before = await run_queries(db, reader, cases)
    reader.close()
    print_timings(
        "1. without ANALYZE (as the app runs: nothing in src/ runs ANALYZE)", cases, before
    )

    t0 = time.perf_counter()
    async with db.write() as s:
        await s.execute(sa.text("ANALYZE"))
    analyze_s = time.perf_counter() - t0
    await db.dispose()  # new connections load the fresh statistics
    reader = sqlite3.connect(path, isolation_level=None)
    after = await run_queries(db, reader, cases)
    reader.close()
    print_timings(f"2. after ANALYZE (took {analyze_s:.1f} s; fresh connections)", cases, after)

    print("EXPLAIN QUERY PLAN, without ANALYZE")
    print_plans(cases, before, None)
    print("EXPLAIN QUERY PLAN, after ANALYZE")
    print_plans(cases, after, before)

    summary: Summary = []
    for case, b, a in zip(cases, before, after, strict=True):
        worst = max(b.median, a.median) * 1000
        summary.append(
            (
                f"{case.label}: median ms, no ANALYZE / ANALYZE",
                f"{_fmt_ms(b.median)} / {_fmt_ms(a.median)}",
                f"≤ {TARGET_MS:.0f}",
                "PASS" if worst <= TARGET_MS else "FAIL",
            )
        )
    plans = [t.plan for t in before + after]
    ok = sum(map(plan_ok, plans))
    summary.append(
        (
            "plans: one index range, no sort",
            f"{ok}/{len(plans)}",
            "all",
            "PASS" if ok == len(plans) else "FAIL",
        )
    )
    return summary


async def bench(n: int, work: Path, keep: Path | None) -> Summary:
    """Prints the sections; returns the summary rows."""
    ours_path, plain_path = work / "ours.db", work / "plain.db"
    db, info, gen = await set_up(ours_path, plain_path, n)
    summary = await insert_section(db, info, gen, ours_path, plain_path)
    summary += await query_section(db, info, gen, ours_path)
    await db.dispose()
    with sqlite3.connect(ours_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = conn.execute("SELECT count(*) FROM message").fetchone()[0]
    size = ours_path.stat().st_size
    summary.append(
        ("database file size", f"{size / 2**20:,.0f} MiB, {size / total:,.0f} B/msg", "figure", "-")
    )
    if keep is not None:
        shutil.move(ours_path, keep)
        print(f"kept the database: {keep}")
    return summary


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bannertui-bench-store-"))
    fate = f"the database is kept as {args.keep}" if args.keep else "removed at the end"
    print(f"bench_store: {args.messages:,} messages on SQLite, in {work} ({fate})")
    print(f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f}")
    print()
    try:
        summary = asyncio.run(bench(args.messages, work, args.keep))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    summary.append(("peak RSS of the process", f"{rss:,.0f} MiB", "figure", "-"))
    summary.append(("total runtime", f"{time.perf_counter() - started:.0f} s", "figure", "-"))
    summary.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.2f}", "figure", "-"))

    print_summary(summary)


if __name__ == "__main__":
    main()
