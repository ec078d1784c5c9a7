"""Does the inbox's data scope (SPEC X6) slow the screens?  Issue [1/8]: with 1,000,000
messages over 10 queues, an agent in 2 queues: an inbox page ≤ 5 ms (the query) and ≤ 100 ms
through the screen; opening a 100,000-message conversation unchanged (≤ 300 ms).

"Before" and "after" in the same process, on the same database: a supervisor's inbox has no
scope clause (``visible_to`` returns none: the query every agent ran before X6), an agent's
has it.  So the baseline is ``sam`` (supervisor), the scoped figure ``alice`` (agent, member
of exactly 2 of the 10 queues), every call alternating between the two.

The database (``bench_inbox.build_inbox_db``, reused with its ``prepare`` and ``shape``
hooks; its own behaviour unchanged): the demo data + N messages (default 1,000,000) over the
last year, ``bench_inbox``'s mix of folders, numbers and contacts, plus

* 10 queues: the demo's Support, Sales and Billing + 7 more, each with its own SMS number
  (Billing gets one); 12 local numbers in all, so ~83 % of the messages are queue-routed
  (``queue_id`` = the queue of their local number) and ~17 % Direct (the agents' numbers
  +33757000001/2, ``queue_id`` NULL);
* 8 more agents ("Smart only": no Direct number), members of Billing and the 7 new queues;
  ``alice`` stays a member of Support and Sales only (checked);
* conversations: 40 closed ones per queue assigned to its members, and 5 per queue ``alice``
  is not a member of assigned to her ("transferred"), half of the queue-routed messages in
  one of their queue's; outbound messages carry the conversation's agent, else a member of
  the queue (70 %) or none (a bot); a Direct send carries one of the agents holding that
  number (alice, chloe, sam, admin), inbound messages none;
* every (N / 100,000)th message is in one more conversation of ``alice``'s in Support (open,
  +33612000020): 100,000 messages at the default size; an empty open one of hers beside it
  (the baseline of opening, as ``bench_ui.py`` b.).

Figures:

1. ``InboxService.page(actor, view, after=…)`` bare (the service call: the agent's row, the
   page, the contacts' names), for each view: the first page, the third (keyset ``after``
   of each actor's own page 2) and a deep one (``after`` = the middle id of the table):
   ``--calls`` calls of each for each actor, alternating; median and p95 wall ms, the
   process CPU ms (less sensitive to what else the machine runs: the machine is shared),
   the scoped/unscoped ratio, the page statement alone in plain ``sqlite3`` (captured from
   the engine, same parameters) and how many index entries of the view the scoped page
   walks (the rows between its first and last id).  Target ≤ 5 ms, judged twice: the page
   statement alone (the query) and the whole page() call (median; the unscoped one beside
   says what this machine makes of it before X6).  Also ``counts()`` and
   ``view_ids(Failed)`` for both.
2. EXPLAIN QUERY PLAN of the scoped page statement (view Received) and of the scoped counts.
3. Through the screen, ``bench_inbox``'s part 1 (``run_screen``: ``app_for(url, login)``,
   ``run_test(size=(80, 24))``, F4, rounds of view switches, ``]`` and ``[``; "shown" = the
   DataTable holds exactly the page ``page()`` returns), four app runs: ``sam``, ``alice``,
   ``alice``, ``sam`` (``bench_inbox.LOGIN`` replaced for each; its counts runs and its
   diagnosis skipped unless ``--diagnose``).  Target: the scoped median ≤ 100 ms.
4. Opening the 100,000-message conversation: ``ConversationService.thread(Actor("alice"),
   id)`` bare beside the same statement without the ownership check
   (``latest_messages(owner=None)``) — ``thread()`` has no scope clause, X6 changed only its
   signature, so "before" is this same code — and through the screen with ``bench_ui.py``'s
   b. (``open_once``: highlighted in ``#interactions`` → its ThreadView shows the latest
   page), beside the empty conversation.  Target ≤ 300 ms.
(The scope's page was made fast with ``ix_message_agent_sent``, migration 0005, after this
benchmark's first runs: a correlated ``EXISTS`` without it walked every message of the
customer's number.  An agent's counts were then ~3 s at 1,000,000 messages; they are counted
in parts that do not overlap, each from one index of migration 0006, ~140 ms.  The figures
before and after are in the closing notes of [1/8].)

Run: ``.venv/bin/python bench/bench_scope.py [--messages N] [--thread M] [--calls C]
[--rounds R] [--opens K] [--counts-runs C] [--no-screen] [--diagnose]``.
About 4 minutes on 2 idle cores with the defaults, 5 to 6 on a loaded machine (building the
file is half of it); the CPU time and how much the machine stretched a CPU-bound loop
(wall / CPU) are printed beside.  Prints the figures and PASS/FAIL against the targets;
exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import textual
from sqlalchemy import event
from sqlmodel import col
from textual.widgets import OptionList

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_inbox as bi
import bench_ui as bu
from _report import print_summary
from bannertui.domain.actor import Actor
from bannertui.domain.enums import InteractionStatus
from bannertui.services import Services
from bannertui.services.conversations import latest_messages
from bannertui.services.inbox import View
from bannertui.store.database import Database
from bannertui.store.models import (
    Agent,
    Interaction,
    Message,
    Profile,
    ProfileSmsNumber,
    Queue,
    QueueAgent,
    SmsNumber,
)
from bannertui.testing import app_for
from bannertui.ui.widgets.thread import ThreadView

DEFAULT_MESSAGES = 1_000_000
DEFAULT_THREAD = 100_000
CALLS = 7  # per (view, page, actor)
COUNTS_RUNS = 2
ROUNDS = 1  # screen rounds over the 7 views, per app run (2 app runs per actor)
OPENS = 7  # conversation opens of each (big, empty)
THREAD_CALLS = 21
SEED = 20_261_103

SCOPED = "alice"  # role agent
UNSCOPED = "sam"  # role supervisor: no scope clause, the query as before X6

NEW_QUEUES = ("Returns", "Claims", "Partners", "Careers", "Loyalty", "Events", "Press")
QUEUE_NUMBERS = [f"+337570000{k}" for k in range(12, 20)]  # Billing, then the new queues
EXTRA_AGENTS = [f"agent{k:02d}" for k in range(1, 9)]
CONVERSATIONS_PER_QUEUE = 40
TRANSFERRED = 5  # per queue alice is not a member of, assigned to her
CONVERSATION_SHARE = 0.5  # of the queue-routed messages
MEMBER_SHARE = 0.7  # of queue-routed outbound messages outside a conversation
THREAD_REMOTE = "+33612000020"
EMPTY_REMOTE = "+33612000021"

TARGET_PAGE_MS = 5.0
TARGET_SCREEN_MS = 100.0
TARGET_OPEN_MS = 300.0

MESSAGE_TABLE: sa.Table = Message.__table__  # type: ignore[attr-defined]
INTERACTION_TABLE: sa.Table = Interaction.__table__  # type: ignore[attr-defined]

Row = tuple[str, str, str, str]  # summary: figure, value, target, result


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _p95(samples: list[float]) -> float:
    return bi._p95(samples)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- the database --------------------------------------------------------------------------


@dataclass
class Conversation:
    id: int
    agent_id: int


@dataclass
class Scenario:
    """``bench_inbox.build_inbox_db``'s ``prepare`` and ``shape``: 10 queues, their numbers,
    members and conversations; each generated message given its queue, agent, conversation."""

    n: int
    thread: int
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    queue_of_number: dict[str, int] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)
    conversations: dict[int, list[Conversation]] = field(default_factory=dict)
    senders: dict[str, list[int]] = field(default_factory=dict)  # Direct number → agents
    logins: dict[str, int] = field(default_factory=dict)
    support: int = 0
    support_number: str = ""
    big_id: int = 0
    empty_id: int = 0
    every: int = 10

    async def prepare(self, db: Database) -> None:
        now = datetime.now(UTC)
        async with db.write() as s:
            smart_only = await s.scalar(
                sa.select(col(Profile.id)).where(col(Profile.name) == "Smart only")
            )
            for login in EXTRA_AGENTS:
                s.add(
                    Agent(
                        login=login,
                        display_name=f"Agent {login[-2:]}",
                        profile_id=int(smart_only or 0),
                        state="available",
                    )
                )
            numbers = []
            for number in QUEUE_NUMBERS:
                num = SmsNumber(number=number, label="bench queue")
                s.add(num)
                numbers.append(num)
            await s.flush()
            billing = (await s.scalars(sa.select(Queue).where(col(Queue.name) == "Billing"))).one()
            billing.sms_number_id = numbers[0].id
            for name, num in zip(NEW_QUEUES, numbers[1:], strict=True):
                s.add(Queue(name=name, sms_number_id=num.id))
            await s.flush()
            self.logins = {
                str(login): int(aid or 0)
                for aid, login in (await s.execute(sa.select(col(Agent.id), col(Agent.login))))
            }
            extra = [self.logins[x] for x in EXTRA_AGENTS]
            queues = (await s.scalars(sa.select(Queue).order_by(col(Queue.id)))).all()
            by_name = {q.name: int(q.id or 0) for q in queues}
            self.support = by_name["Support"]
            for k, name in enumerate(("Billing", *NEW_QUEUES)):
                qid = by_name[name]
                for agent in (extra[k % 8], extra[(k + 1) % 8], extra[(k + 2) % 8]):
                    s.add(QueueAgent(queue_id=qid, agent_id=agent))
            await s.flush()
            for q_id, a_id in await s.execute(
                sa.select(col(QueueAgent.queue_id), col(QueueAgent.agent_id))
            ):
                self.members.setdefault(int(q_id), []).append(int(a_id))
            for number, q_id in await s.execute(
                sa.select(col(SmsNumber.number), col(Queue.id)).join(
                    Queue, col(Queue.sms_number_id) == col(SmsNumber.id)
                )
            ):
                self.queue_of_number[str(number)] = int(q_id)
            self.support_number = next(
                n for n, q in self.queue_of_number.items() if q == self.support
            )
            for a_id, number in await s.execute(
                sa.select(col(Agent.id), col(SmsNumber.number))
                .join(ProfileSmsNumber, col(ProfileSmsNumber.profile_id) == col(Agent.profile_id))
                .join(SmsNumber, col(SmsNumber.id) == col(ProfileSmsNumber.sms_number_id))
                .where(col(SmsNumber.number).not_in(list(self.queue_of_number)))
            ):
                self.senders.setdefault(str(number), []).append(int(a_id or 0))
            alice = self.logins[SCOPED]
            rows = []
            for qid, members in self.members.items():
                number = next(n for n, q in self.queue_of_number.items() if q == qid)
                owners = [members[j % len(members)] for j in range(CONVERSATIONS_PER_QUEUE)]
                if alice not in members:
                    owners += [alice] * TRANSFERRED
                for owner in owners:
                    rows.append(
                        {
                            "channel": "sms",
                            "status": InteractionStatus.CLOSED.value,
                            "queue_id": qid,
                            "agent_id": owner,
                            "remote_number": bi.remote_number(self.rng.randrange(bi.REMOTES)),
                            "local_number": number,
                            "unread": 0,
                            "created_at": now - timedelta(days=200),
                            "assigned_at": now - timedelta(days=200),
                            "closed_at": now - timedelta(days=1),
                        }
                    )
            await s.execute(sa.insert(INTERACTION_TABLE), rows)
            ids = []
            for remote, queue in ((THREAD_REMOTE, self.support), (EMPTY_REMOTE, by_name["Sales"])):
                inter = Interaction(
                    channel="sms",
                    status=InteractionStatus.PROGRESSING,
                    queue_id=queue,
                    agent_id=alice,
                    remote_number=remote,
                    local_number=self.support_number,
                    created_at=now - timedelta(days=366),
                    assigned_at=now - timedelta(days=366),
                    last_message_at=now,
                    unread=0,
                )
                s.add(inter)
                await s.flush()
                ids.append(int(inter.id or 0))
            self.big_id, self.empty_id = ids
            # No unread marker anywhere: opening writes nothing (as bench_ui.py b.).
            await s.execute(sa.update(INTERACTION_TABLE).values(unread=0))
            for iid, q_id, a_id in await s.execute(
                sa.select(col(Interaction.id), col(Interaction.queue_id), col(Interaction.agent_id))
                .where(col(Interaction.status) == InteractionStatus.CLOSED)
                .where(col(Interaction.queue_id).is_not(None))
            ):
                self.conversations.setdefault(int(q_id or 0), []).append(
                    Conversation(int(iid or 0), int(a_id or 0))
                )
        self.every = max(2, self.n // self.thread)

    def shape(self, rows: list[dict[str, Any]], first: int) -> None:
        rng, alice = self.rng, self.logins[SCOPED]
        for k, row in enumerate(rows):
            inbound = row["direction"] == "inbound"
            if (first + k) % self.every == 0:  # the big conversation
                local, remote = self.support_number, THREAD_REMOTE
                row.update(
                    interaction_id=self.big_id,
                    queue_id=self.support,
                    agent_id=None if inbound else alice,
                    from_number=remote if inbound else local,
                    to_number=local if inbound else remote,
                    remote_number=remote,
                    sender=None if inbound else local,
                )
                continue
            local = row["to_number"] if inbound else row["from_number"]
            qid = self.queue_of_number.get(local)
            if qid is None:  # Direct
                row["agent_id"] = None if inbound else rng.choice(self.senders[local])
                continue
            row["queue_id"] = qid
            conv = None
            if rng.random() < CONVERSATION_SHARE:
                conv = rng.choice(self.conversations[qid])
                row["interaction_id"] = conv.id
            if inbound:
                row["agent_id"] = None
            elif conv is not None:
                row["agent_id"] = conv.agent_id
            else:
                member = rng.random() < MEMBER_SHARE
                row["agent_id"] = rng.choice(self.members[qid]) if member else None


@dataclass(frozen=True)
class Built:
    url: str
    path: Path
    scenario: Scenario
    messages: int
    build_s: float
    share: dict[str, float]  # how the messages split
    mid_id: int
    big_last_id: int
    support_conv: int  # the demo's open Support conversation of alice's


async def build(path: Path, n: int, thread: int) -> Built:
    scenario = Scenario(n, thread)
    t0 = time.perf_counter()
    db_info = await bi.build_inbox_db(path, n, prepare=scenario.prepare, shape=scenario.shape)
    alice = scenario.logins[SCOPED]
    with sqlite3.connect(path) as conn:
        total, queued, direct, alice_q = conn.execute(
            "SELECT count(*), count(queue_id), count(*) - count(queue_id), "
            f"(SELECT count(*) FROM queue_agent WHERE agent_id = {alice}) FROM message"
        ).fetchone()
        queues = conn.execute("SELECT count(*) FROM queue").fetchone()[0]
        own = conn.execute(f"SELECT count(*) FROM message WHERE agent_id = {alice}").fetchone()[0]
        mid_id = conn.execute(
            "SELECT id FROM message ORDER BY id LIMIT 1 OFFSET ?", (total // 2,)
        ).fetchone()[0]
        big_last = conn.execute(
            "SELECT max(id), count(*) FROM message WHERE interaction_id = ?", (scenario.big_id,)
        ).fetchone()
    if queues != 10 or alice_q != 2:
        raise RuntimeError(f"expected 10 queues and alice in 2: {queues}, {alice_q}")
    db = Database(db_info.url)
    try:
        support_conv = int((await bu.alice_conversations(db))[0].id or 0)
    finally:
        await db.dispose()
    share = {
        "queue-routed": queued / total,
        "Direct (queue NULL)": direct / total,
        "alice's own sends": own / total,
        "big conversation": big_last[1] / total,
    }
    return Built(
        db_info.url,
        path,
        scenario,
        int(total),
        time.perf_counter() - t0,
        share,
        int(mid_id),
        int(big_last[0]),
        support_conv,
    )


# --- 1. bare service calls -----------------------------------------------------------------


class Capture:
    """The SQL statements an engine runs (for EXPLAIN and the sqlite3 timing)."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self.statements: list[tuple[str, Any]] = []

        @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
        def _seen(_conn: Any, _cursor: Any, statement: str, params: Any, *_a: Any) -> None:
            if self.on:
                self.statements.append((statement, params))

    async def page_sql(self, call: Callable[[], Awaitable[Any]]) -> tuple[str, Any]:
        self.statements, self.on = [], True
        try:
            await call()
        finally:
            self.on = False
        return next(x for x in self.statements if "ORDER BY message.id DESC" in x[0])


@dataclass
class Timed:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    @property
    def med(self) -> float:
        return statistics.median(self.wall)

    @property
    def p95(self) -> float:
        return _p95(self.wall)

    @property
    def cpu_med(self) -> float:
        return statistics.median(self.cpu)


async def timed(call: Callable[[], Awaitable[Any]], into: Timed) -> Any:
    c0, t0 = time.process_time(), time.perf_counter()
    result = await call()
    into.add(time.perf_counter() - t0, time.process_time() - c0)
    return result


def sql_ms(conn: sqlite3.Connection, sql: tuple[str, Any], runs: int = 5) -> float:
    """The statement alone in plain sqlite3 (this thread), median ms."""
    statement, params = sql
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        conn.execute(statement, params).fetchall()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def walked(conn: sqlite3.Connection, view: View, ids: list[int], after: int | None) -> int:
    """Index entries of ``view`` a page from ``after`` to its last row walks."""
    if not ids:
        return 0
    where = "deleted = 1" if view is View.DELETED else "deleted = 0"
    if view not in (View.ALL, View.DELETED):
        where += f" AND folder = '{view.value}'"
    high = (after - 1) if after is not None else 1 << 62
    return int(
        conn.execute(
            f"SELECT count(*) FROM message WHERE {where} AND id BETWEEN ? AND ?",
            (min(ids), high),
        ).fetchone()[0]
    )


@dataclass
class PageCase:
    view: View
    depth: str
    after: dict[str, int | None]
    times: dict[str, Timed]
    sql: dict[str, tuple[str, Any]] = field(default_factory=dict)
    sql_ms: dict[str, float] = field(default_factory=dict)
    walked: int = 0


@dataclass
class Bare:
    cases: list[PageCase]
    counts: dict[str, Timed]
    view_ids: dict[str, Timed]
    counts_of: dict[str, dict[View, int]]
    failed_ids: dict[str, int]
    counts_sql: dict[str, tuple[str, Any]]
    ids_sql: dict[str, tuple[str, Any]]


DEPTHS = ("first", "page 3", "middle")


def alternate(items: list[Any], k: int) -> list[Any]:
    return items if k % 2 == 0 else items[::-1]


async def bare_calls(built: Built, calls: int, counts_runs: int) -> Bare:
    """Part 1's figures (and 5.'s, again, with the changes tried)."""
    services = Services(Database(built.url))
    capture = Capture(services.db)
    inbox = services.inbox
    actors = list({login: Actor(login) for login in (UNSCOPED, SCOPED)}.items())
    cases: list[PageCase] = []
    conn = sqlite3.connect(built.path)
    try:
        for view in View:
            chains: dict[str, list[int | None]] = {}
            for login, actor in actors:
                chains[login] = [None]
                for _ in range(2):
                    page = await inbox.page(actor, view, after=chains[login][-1])
                    chains[login].append(page.next_after)
            for depth in DEPTHS:
                after = {
                    login: built.mid_id if depth == "middle" else chains[login][DEPTHS.index(depth)]
                    for login, _ in actors
                }
                cases.append(PageCase(view, depth, after, {x: Timed() for x, _ in actors}))
        gc.collect()
        for k in range(calls):
            _progress(f"  bare page() calls, round {k + 1}/{calls}")
            for case in cases:
                for login, actor in alternate(actors, k):
                    page = await timed(
                        partial(inbox.page, actor, case.view, after=case.after[login]),
                        case.times[login],
                    )
                    if k == 0 and login == SCOPED:
                        ids = [r.id for r in page.rows]
                        case.walked = walked(conn, case.view, ids, case.after[login])
        for case in cases:
            for login, actor in actors:
                case.sql[login] = await capture.page_sql(
                    partial(inbox.page, actor, case.view, after=case.after[login])
                )
                case.sql_ms[login] = sql_ms(conn, case.sql[login])

        counts = {x: Timed() for x, _ in actors}
        ids_times = {x: Timed() for x, _ in actors}
        counts_of: dict[str, dict[View, int]] = {}
        failed: dict[str, int] = {}
        counts_sql: dict[str, tuple[str, Any]] = {}
        ids_sql: dict[str, tuple[str, Any]] = {}
        for k in range(counts_runs):
            _progress(f"  counts() and view_ids(Failed), run {k + 1}/{counts_runs}")
            for login, actor in alternate(actors, k):
                capture.statements, capture.on = [], k == 0
                counts_of[login] = await timed(partial(inbox.counts, actor), counts[login])
                got = await timed(partial(inbox.view_ids, actor, View.FAILED), ids_times[login])
                capture.on = False
                failed[login] = len(got)
                if k == 0:
                    counts_sql[login] = next(x for x in capture.statements if "GROUP BY" in x[0])
                    ids_sql[login] = next(
                        x for x in capture.statements if x[0].startswith("SELECT message.id \n")
                    )
    finally:
        conn.close()
        await services.db.dispose()
    return Bare(cases, counts, ids_times, counts_of, failed, counts_sql, ids_sql)


def plan_lines(conn: sqlite3.Connection, sql: tuple[str, Any]) -> list[str]:
    statement, params = sql
    rows = conn.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
    depth: dict[int, int] = {0: 0}
    out = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, 0) + 1
        out.append("  " * depth[node] + detail)
    return out


def received_first(bare: Bare) -> PageCase:
    return next(c for c in bare.cases if c.view is View.RECEIVED and c.depth == "first")


def print_plans(path: Path, bare: Bare) -> None:
    print("2. EXPLAIN QUERY PLAN (sqlite3; the statements the engine ran in 1.)")
    received = received_first(bare)
    with sqlite3.connect(path) as conn:
        for title, sql in (
            ("scoped page(Received), first page:", received.sql[SCOPED]),
            ("the same page unscoped (the query as before X6):", received.sql[UNSCOPED]),
            ("scoped counts():", bare.counts_sql[SCOPED]),
        ):
            print(f"   {title}")
            for line in plan_lines(conn, sql):
                print(f"   {line}")
    statement, params = received.sql[SCOPED]
    print("   the scoped page statement (view Received, first page):")
    print("\n".join("     " + line.strip() for line in statement.splitlines()))
    print(f"     parameters: {params}")
    print()


def print_bare(bare: Bare, title: str, tag: str) -> tuple[bool, list[Row]]:
    print(title)
    header = (
        f"{'view':<15} {'page':<6} {'before ms':>9} {'p95':>6} {'scoped ms':>9} {'p95':>6} "
        f"{'ratio':>5} {'cpu b/s ms':>10} {'sql b/s ms':>10} {'walked':>6} {'result':>6}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for case in bare.cases:
        u, s = case.times[UNSCOPED], case.times[SCOPED]
        good = s.med * 1000 <= TARGET_PAGE_MS
        ok = ok and good
        print(
            f"{case.view.short:<15} {case.depth:<6} {_ms(u.med):>9} {_ms(u.p95):>6} "
            f"{_ms(s.med):>9} {_ms(s.p95):>6} {s.med / u.med:>5.2f} "
            f"{_ms(u.cpu_med):>4}/{_ms(s.cpu_med):<5} "
            f"{case.sql_ms[UNSCOPED]:>4.1f}/{case.sql_ms[SCOPED]:<5.1f} "
            f"{case.walked:>6} {verdict(good):>6}"
        )

    def pool(login: str, what: str) -> list[float]:
        return [t for c in bare.cases for t in getattr(c.times[login], what)]

    all_u, all_s = pool(UNSCOPED, "wall"), pool(SCOPED, "wall")
    cpu_u, cpu_s = pool(UNSCOPED, "cpu"), pool(SCOPED, "cpu")
    sql_u = [c.sql_ms[UNSCOPED] for c in bare.cases]
    sql_s = [c.sql_ms[SCOPED] for c in bare.cases]
    med_u, med_s = statistics.median(all_u), statistics.median(all_s)
    print(
        f"{'every page':<22} {_ms(med_u):>9} {_ms(_p95(all_u)):>6} {_ms(med_s):>9} "
        f"{_ms(_p95(all_s)):>6} {med_s / med_u:>5.2f} "
        f"{_ms(statistics.median(cpu_u)):>4}/{_ms(statistics.median(cpu_s)):<5} "
        f"{statistics.median(sql_u):>4.1f}/{statistics.median(sql_s):<5.1f}"
    )
    calls = len(bare.cases[0].times[SCOPED].wall)
    print(
        f"   before = {UNSCOPED!r} (supervisor: no scope clause, the query of every agent "
        f"before X6), scoped = {SCOPED!r} (agent, 2 of 10 queues);\n"
        f"   ms = wall time of the bare page() (its agent row + the page + the names), median "
        f"of {calls} calls, p95 beside; cpu b/s = process\n   CPU ms per call (median), "
        "before/scoped; sql b/s = the page statement alone in plain sqlite3, median ms; "
        "walked =\n   entries of the view's index between the scoped page's first and last "
        "row (the rows SQLite reads to fill it)"
    )
    c_u, c_s = bare.counts[UNSCOPED], bare.counts[SCOPED]
    v_u, v_s = bare.view_ids[UNSCOPED], bare.view_ids[SCOPED]
    runs = len(c_s.wall)
    print(
        f"   counts(): before {_ms(c_u.med)} ms (cpu {_ms(c_u.cpu_med)}), scoped "
        f"{_ms(c_s.med)} ms (cpu {_ms(c_s.cpu_med)}) = {c_s.med / c_u.med:.1f}×; medians of "
        f"{runs} each"
    )
    for login, label in ((UNSCOPED, "before"), (SCOPED, "scoped")):
        shown = bare.counts_of[login]
        print(f"     {label}: " + ", ".join(f"{v.short} {shown[v]:,}" for v in View))
    print(
        f"   view_ids(Failed): before {_ms(v_u.med)} ms ({bare.failed_ids[UNSCOPED]:,} ids), "
        f"scoped {_ms(v_s.med)} ms ({bare.failed_ids[SCOPED]:,} ids) = "
        f"{v_s.med / v_u.med:.1f}×"
    )
    worst = max(bare.cases, key=lambda c: c.times[SCOPED].med)
    worst_sql = max(bare.cases, key=lambda c: c.sql_ms[SCOPED])
    sql_ok = worst_sql.sql_ms[SCOPED] <= TARGET_PAGE_MS
    print(
        f"   target: a scoped page ≤ {TARGET_PAGE_MS:g} ms: the page statement "
        f"{verdict(sql_ok)} (worst {worst_sql.sql_ms[SCOPED]:.1f} ms, "
        f"{worst_sql.view.short}/{worst_sql.depth}); the whole page() call {verdict(ok)} "
        f"(worst median {_ms(worst.times[SCOPED].med)} ms; before X6 "
        f"{_ms(max(c.times[UNSCOPED].med for c in bare.cases))} ms)"
    )
    print()
    rows: list[Row] = [
        (
            f"{tag} page() before → scoped, median ms (p95)",
            f"{_ms(med_u)} → {_ms(med_s)} ({_ms(_p95(all_u))} → {_ms(_p95(all_s))})",
            "figure",
            "-",
        ),
        (
            f"{tag} page() cpu ms, before → scoped",
            f"{_ms(statistics.median(cpu_u))} → {_ms(statistics.median(cpu_s))}",
            "figure",
            "-",
        ),
        (
            f"{tag} worst scoped page() ({worst.view.short}/{worst.depth}), median ms",
            _ms(worst.times[SCOPED].med),
            f"≤ {TARGET_PAGE_MS:g}",
            verdict(ok),
        ),
        (
            f"{tag} worst scoped page statement alone ({worst_sql.view.short}/"
            f"{worst_sql.depth}), ms",
            f"{worst_sql.sql_ms[SCOPED]:.1f}",
            f"≤ {TARGET_PAGE_MS:g}",
            verdict(sql_ok),
        ),
        (
            f"{tag} counts() before → scoped, median ms",
            f"{_ms(c_u.med)} → {_ms(c_s.med)}",
            "figure",
            "-",
        ),
        (
            f"{tag} view_ids(Failed) before → scoped, ms",
            f"{_ms(v_u.med)} → {_ms(v_s.med)}",
            "figure",
            "-",
        ),
    ]
    return ok and sql_ok, rows


# --- 3. through the screen -----------------------------------------------------------------


async def _no_diagnosis(*_args: Any) -> None:
    return None


#: The app runs of 3., in this order (ABBA: the machine's load drifts over a run).
SCREEN_ORDER = (UNSCOPED, SCOPED, SCOPED, UNSCOPED)


async def screens(built: Built, rounds: int, diagnose: bool) -> dict[str, list[bi.ScreenRun]]:
    runs: dict[str, list[bi.ScreenRun]] = {UNSCOPED: [], SCOPED: []}
    for k, login in enumerate(SCREEN_ORDER):
        _progress(f"the inbox screen as {login} ({k + 1}/{len(SCREEN_ORDER)}) …")
        changes: list[tuple[Any, str, Any]] = [
            (bi, "LOGIN", login),
            (bi, "COUNTS_RUNS", 0),  # measured bare in 1.
            (bi, "SELECT_RUNS", 1),
        ]
        if not diagnose:
            changes.append((bi, "diagnose_screen", _no_diagnosis))
        with bi.patched(*changes):
            runs[login].append(await bi.run_screen(built.url, rounds, diagnose))
    return runs


def pooled(runs: list[bi.ScreenRun], op: str, what: str) -> list[float]:
    return [x for run in runs for x in getattr(run.ops[op], what)]


def print_screens(runs: dict[str, list[bi.ScreenRun]]) -> tuple[bool, list[Row]]:
    u, s = runs[UNSCOPED], runs[SCOPED]
    print(
        "3. the inbox through the screen (bench_inbox part 1): app_for(url, login)."
        f"run_test(size={bi.SIZE}), F4, then {len(s[0].ops['switch'].ui) // 7} round(s) over "
        f"the 7 views;\n   app runs in the order {', '.join(SCREEN_ORDER)} (switch = #views "
        "highlight → page 1 shown; `]` / `[` = the key → the next / previous page shown)"
    )
    header = (
        f"{'operation':<10} {'n':>3} {'before ms':>9} {'p95':>6} {'scoped ms':>9} {'p95':>6} "
        f"{'ratio':>5} {'bare b/s ms':>11} {'in-app page() b/s':>17} {'result':>6}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    rows: list[Row] = []
    for name in ("switch", "next", "previous"):
        ui_u, ui_s = pooled(u, name, "ui"), pooled(s, name, "ui")
        mu, ms = statistics.median(ui_u), statistics.median(ui_s)
        good = ms * 1000 <= TARGET_SCREEN_MS
        ok = ok and good
        bare_u, bare_s = (statistics.median(pooled(x, name, "bare")) for x in (u, s))
        app_u, app_s = (statistics.median(pooled(x, name, "service_in_app")) for x in (u, s))
        print(
            f"{name:<10} {len(ui_s):>3} {_ms(mu):>9} {_ms(_p95(ui_u)):>6} {_ms(ms):>9} "
            f"{_ms(_p95(ui_s)):>6} {ms / mu:>5.2f} {_ms(bare_u):>5}/{_ms(bare_s):<5} "
            f"{_ms(app_u):>8}/{_ms(app_s):<8} {verdict(good):>6}"
        )
        rows.append(
            (
                f"3. screen {name}: before → scoped median ms (p95)",
                f"{_ms(mu)} → {_ms(ms)} ({_ms(_p95(ui_u))} → {_ms(_p95(ui_s))})",
                f"≤ {TARGET_SCREEN_MS:g}",
                verdict(good),
            )
        )

    def each(runs: list[bi.ScreenRun], what: str) -> str:
        return " / ".join(_ms(getattr(run, what)) for run in runs)

    print(
        "   bare b/s = the same page() alone right after each operation; in-app page() = the "
        "screen's own call, timed in the app"
    )
    print(
        f"   F4 → first page shown, ms: before {each(u, 'open_first')}, scoped "
        f"{each(s, 'open_first')}; → counts shown: before {each(u, 'open_counts')}, scoped "
        f"{each(s, 'open_counts')}"
    )
    sel_u = [x for run in u for x in run.select_ui]
    sel_s = [x for run in s for x in run.select_ui]
    print(
        f"   `A` (select the whole Failed view): before {_ms(statistics.median(sel_u))} ms "
        f"({u[0].selected:,} messages), scoped {_ms(statistics.median(sel_s))} ms "
        f"({s[0].selected:,})"
    )
    print(
        "   the unscoped figures are what a screen operation costs before X6 on this machine "
        "at this moment (the same run)"
    )
    for login, login_runs in runs.items():
        for run in login_runs:
            if run.diagnosis is not None:
                print(f"   diagnosis, {login}:")
                bi.print_diagnosis(run.diagnosis)
    print()
    open_u = statistics.median(run.open_counts for run in u)
    open_s = statistics.median(run.open_counts for run in s)
    rows.append(
        (
            "3. F4 → counts shown, before → scoped ms",
            f"{_ms(open_u)} → {_ms(open_s)}",
            "figure",
            "-",
        )
    )
    return ok, rows


# --- 4. the 100,000-message conversation ---------------------------------------------------


@dataclass
class ThreadRun:
    bare: Timed
    statement: Timed
    empty: Timed
    shown: int
    opens: dict[str, list[float]]
    loaded: int
    has_older: bool


async def thread_figures(built: Built, opens: int) -> ThreadRun:
    sc = built.scenario
    services = Services(Database(built.url))
    actor = Actor(SCOPED)
    bare, statement, empty = Timed(), Timed(), Timed()
    try:
        page = await services.conversations.thread(actor, sc.big_id)
        if page.messages[-1].id != built.big_last_id:
            raise RuntimeError("the big conversation's latest page is not its latest messages")

        async def no_owner() -> Any:
            async with services.db.read() as session:
                return await latest_messages(session, sc.big_id)

        gc.collect()
        for k in range(THREAD_CALLS):
            calls = [
                (lambda: services.conversations.thread(actor, sc.big_id), bare),
                (no_owner, statement),
                (lambda: services.conversations.thread(actor, sc.empty_id), empty),
            ]
            for call, into in calls if k % 2 == 0 else calls[::-1]:
                await timed(call, into)
    finally:
        await services.db.dispose()

    # Through the screen: bench_ui.py b.'s open_once, on this database.
    big = bu.BigDb(built.url, built.support_conv, sc.big_id, sc.empty_id, built.big_last_id, 0)
    app = app_for(built.url, SCOPED)
    cases = [("big", big.big_id, big.big_last_id), ("empty", big.empty_id, None)]
    times: dict[str, list[float]] = {c[0]: [] for c in cases}
    async with app.run_test(size=(100, 30)) as pilot:
        await bu.poll(pilot, lambda: bu.banner_usable(app, "Alice Martin", 3))
        await bu.settle(pilot)
        for _label, target, last in cases:  # a first open of each, not counted
            await bu.open_once(pilot, big, target, last)
        for k in range(opens):
            _progress(f"  open run {k + 1}/{opens}")
            for label, target, last in cases if k % 2 == 0 else cases[::-1]:
                seconds, _grown = await bu.open_once(pilot, big, target, last)
                times[label].append(seconds)
        await bu.open_once(pilot, big, big.big_id, big.big_last_id)
        pane = bu.pane_of(app, big.big_id)
        assert pane is not None
        view = pane.query_one(ThreadView)
        loaded, has_older = len(view.messages), view.has_older
        assert app.screen.query_one("#interactions", OptionList).option_count == 3
    await app.services.db.dispose()
    return ThreadRun(bare, statement, empty, len(page.messages), times, loaded, has_older)


def print_thread(run: ThreadRun, size: int) -> tuple[bool, list[Row]]:
    big, empty = (statistics.median(run.opens[k]) for k in ("big", "empty"))
    good = big * 1000 <= TARGET_OPEN_MS
    print(
        f"4. opening alice's {size:,}-message conversation (in the file of 1.; latest page "
        f"{run.loaded} messages, has older: {run.has_older})"
    )
    print(
        f"   bare ConversationService.thread(Actor('alice'), id): median {_ms(run.bare.med)} ms "
        f"(p95 {_ms(run.bare.p95)}, cpu {_ms(run.bare.cpu_med)}); the same statement without "
        f"the ownership check\n   (latest_messages, owner=None) {_ms(run.statement.med)} ms; "
        f"thread() of the empty conversation {_ms(run.empty.med)} ms; {THREAD_CALLS} calls "
        "each, alternating\n   (thread() has no scope clause: X6 changed its signature only, "
        "so this is the code as before)"
    )
    print(
        "   through the screen (bench_ui.py b.: highlighted in #interactions → its ThreadView "
        f"shows the latest page), {len(run.opens['empty'])} opens of each, alternating:\n"
        f"   big median {_ms(big)} ms (min {_ms(min(run.opens['big']))}, max "
        f"{_ms(max(run.opens['big']))}), empty median {_ms(empty)} ms; target "
        f"≤ {TARGET_OPEN_MS:g} ms: {verdict(good)}"
    )
    print()
    return good, [
        (
            f"4. open {size:,}-msg conversation, median ms (empty)",
            f"{_ms(big)} ({_ms(empty)})",
            f"≤ {TARGET_OPEN_MS:g}",
            verdict(good),
        ),
        (
            "4. thread() bare, median ms (no owner check)",
            f"{_ms(run.bare.med)} ({_ms(run.statement.med)})",
            "figure",
            "-",
        ),
    ]


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES, metavar="N")
    parser.add_argument("--thread", type=int, default=DEFAULT_THREAD, metavar="M")
    parser.add_argument("--calls", type=int, default=CALLS, metavar="C", help="per page case")
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, metavar="R", help="screen rounds per app run"
    )
    parser.add_argument("--opens", type=int, default=OPENS, metavar="K", help="of each thread")
    parser.add_argument("--counts-runs", type=int, default=COUNTS_RUNS, metavar="C")
    parser.add_argument("--no-screen", action="store_true", help="skip parts 3 and 4")
    parser.add_argument("--diagnose", action="store_true", help="bench_inbox's screen diagnosis")
    args = parser.parse_args()
    if args.messages < bi.BATCH or not args.messages // max(1, args.thread) >= 2:
        parser.error(f"--messages ≥ {bi.BATCH:,} and ≥ 2 × --thread")
    if min(args.calls, args.rounds, args.opens, args.counts_runs) < 1:
        parser.error("--calls, --rounds, --opens and --counts-runs ≥ 1")
    return args


def stretch() -> float:
    """How much the machine stretches a CPU-bound stretch of this process right now: wall
    time / CPU time of a pure-Python loop (1.0 on an idle machine)."""
    ratios = []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        x = 0
        for i in range(2_000_000):
            x += i * i
        ratios.append((time.perf_counter() - t0) / max(1e-9, time.process_time() - c0))
    return statistics.median(ratios)


async def bench(args: argparse.Namespace, work: Path) -> list[Row]:
    path = work / "scope.sqlite3"
    _progress(f"building the database: {args.messages:,} messages …")
    cpu0 = time.process_time()
    built = await build(path, args.messages, args.thread)
    size = bi.file_size(path)
    print(
        f"set-up: demo data + {args.messages:,} messages = {built.messages:,} in "
        f"{built.build_s:.0f} s (cpu {time.process_time() - cpu0:.0f} s), {size / 2**20:,.0f} "
        f"MiB; 10 queues, {SCOPED!r} in 2 (Support, Sales)\n   "
        + ", ".join(f"{k} {v:.1%}" for k, v in built.share.items())
    )
    print()
    rows: list[Row] = [("set-up: build the file, s", f"{built.build_s:.0f}", "figure", "-")]

    _progress("bare service calls …")
    bare = await bare_calls(built, args.calls, args.counts_runs)
    _ok, got = print_bare(
        bare, "1. InboxService.page() bare, before X6 (unscoped) and scoped", "1."
    )
    rows += got
    print_plans(path, bare)

    if not args.no_screen:
        runs = await screens(built, args.rounds, args.diagnose)
        _ok, got = print_screens(runs)
        rows += got
        _progress("opening the big conversation …")
        thread = await thread_figures(built, args.opens)
        _ok, got = print_thread(thread, args.thread)
        rows += got

    bi.remove_db(path)
    return rows


def main() -> None:
    args = parse_args()
    started, cpu0 = time.perf_counter(), time.process_time()
    load0, stretch0 = os.getloadavg()[0], stretch()
    work = Path(tempfile.mkdtemp(prefix="bannertui-bench-scope-"))
    print(
        f"bench_scope: {args.messages:,} messages, thread {args.thread:,}; Textual "
        f"{textual.__version__}, SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average at start "
        f"{load0:.2f}, CPU-bound wall/CPU {stretch0:.2f}"
    )
    print()
    try:
        summary = asyncio.run(bench(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    summary.append(
        ("total runtime, s (CPU time of this process)", f"{wall:.0f} ({cpu:.0f})", "figure", "-")
    )
    summary.append(
        (
            "load average (1 min) at start → end",
            f"{load0:.2f} → {os.getloadavg()[0]:.2f}",
            "figure",
            "-",
        )
    )
    summary.append(
        (
            "CPU-bound loop wall/CPU at start → end (1.0 idle)",
            f"{stretch0:.2f} → {stretch():.2f}",
            "figure",
            "-",
        )
    )
    print_summary(summary)


if __name__ == "__main__":
    main()
