"""How fast is the SMS inbox (SPEC I1, I6)? Two figures, each beside a baseline measured in
the same run.

1. Views and pages on a million messages, THROUGH THE SCREEN: a SQLite file in a temporary
   directory holds the demo data + N messages (default 1,000,000; SQLAlchemy Core
   ``insert(message)`` executemany, 10,000 rows per transaction) over the last year, in
   every folder (received 40 %, sent 43 %, failed 7 %, pending 7 %, not triggered 3 %; 3 % of
   all deleted), with 40,000 other-party numbers of which a few hundred are contacts (a
   quarter of the messages are with one, so each page looks names up).  The app runs
   headless (``app_for(url, "alice")``, ``run_test(size=(80, 24))``), F4 opens the inbox,
   then, in rounds over the seven views:

   * switch: ``#views`` highlights another view → ``#messages`` shows that view's first page;
   * ``]``: the key → the next page shown (twice per view); ``[``: the key → the page before.

   "Shown" = the DataTable's row keys are exactly the ids of the page ``InboxService.page``
   returns (computed before, untimed); the condition is checked every ``POLL_S``
   (``asyncio.sleep``, so the app's worker and the aiosqlite threads run in between), then
   one ``pilot.pause(0)`` (the screen has processed what is pending and painted) before the
   clock stops — the approach of ``bench_ui.py`` (see its docstring: a tight
   ``pilot.pause(0)`` loop starves the database threads).  Keys go in the way the terminal
   driver sends them (``driver.send_message(events.Key(...))``), not through ``pilot.press``,
   which waits for the app to go idle in 20 ms sleeps.  Baseline: the same
   ``InboxService.page`` call (same view, same ``after``) timed bare, right after each screen
   operation, on the app's own Database.  Also: ``counts()`` (the grouped scan the screen runs
   at most every 2 s), opening the inbox (F4 → first page, → counts shown) and ``A`` (select
   the whole Failed view) beside ``view_ids``.

2. Bulk resend (I6) on a fresh demo database (its own file: the million-message one holds
   pending messages a dispatcher would take), the provider simulator in a child process
   (``bannertui provider-sim --port 0``, as ``bench_dispatch.py`` runs it), the real
   :class:`Dispatcher` (concurrency 32, ``run_once``) over loopback HTTPS:

   * plain: M pending messages (``enqueue``, as ``bench_dispatch.py`` fills the outbox)
     dispatched — the dispatcher's plain rate of [3/7];
   * resend: M messages failed for good the way the dispatcher leaves them (claimed, then
     ``fail_permanently``: status failed, credits refunded), requeued with
     ``services.inbox.resend_failed(Actor("alice"), ids)``, then dispatched.

   Each rate runs from its start (``run_once`` / ``resend_failed``) to the moment the last
   send is accepted by the simulator (the HTTP answer back at the client); also shown up to
   ``run_once``'s return (outcomes written).  Three rounds of one plain and one resend run,
   the order alternating; the best of each is compared (as ``bench_dispatch.py`` does), each
   round's ratio and the client CPU per message are shown beside it (less sensitive to
   whatever else the machine runs).  Before each timed run (untimed): the WAL checkpointed,
   the garbage collected and frozen, so that both paths start alike.  Checks: ``/v1/stats``
   moved by exactly M accepted sends and no duplicate, every message ``sent`` in the
   database, the balance debited once per resent message.

Run: ``.venv/bin/python bench/bench_inbox.py [--messages N] [--resend M] [--rounds R]
[--dispatch-rounds R] [--profile] [--only 1|2]`` (``--profile``: the diagnostics even when
the targets pass; a missed target gets them anyway: cProfile of the slow part, and for the
screen a "what would help" run with a src method replaced in this process only).  About 3
to 5 minutes on 2 cores with the defaults.  Prints figures and PASS/FAIL against the targets;
exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import random
import re
import shutil
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import textual
from sqlmodel import col
from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList
from textual.worker import WorkerCancelled

from _report import print_summary
from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction, MessageStatus, MessageType, folder_for
from bannertui.domain.sms import measure
from bannertui.gateway.http import HttpProvider
from bannertui.services import Services
from bannertui.services.dispatch import Dispatcher, DispatchPolicy, DispatchStats
from bannertui.services.gateway import OutcomeKind, ProviderConfig, SendOutcome, SendPayload
from bannertui.services.inbox import PAGE, RESEND_CHUNK, InboxService, View
from bannertui.services.outbox import OutboundDraft, enqueue, fail_permanently
from bannertui.store.database import Database
from bannertui.store.models import Account, Agent, Contact, Message, SmsNumber
from bannertui.testing import app_for, prepare_demo_database_async
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.inbox import InboxScreen

DEFAULT_MESSAGES = 1_000_000
DEFAULT_RESEND = 10_000
ROUNDS = 3  # rounds over the 7 views: 21 switches, 42 `]`, 21 `[`
NEXT_PER_VIEW = 2  # `]` presses after each switch
BATCH = 10_000  # rows per insert transaction
CONTACTS = 400
REMOTES = 40_000  # distinct other-party numbers
CONTACT_SHARE = 0.25  # of the messages, with a contact's number
DELETED_SHARE = 0.03
SPAN = timedelta(days=365)
SEED = 20_261_102
SIZE = (80, 24)
POLL_S = 0.001  # see the module docstring
COUNTS_RUNS = 7
SELECT_RUNS = 3
LOGIN = "alice"

CONCURRENCY = 32
DISPATCH_ROUNDS = 3  # plain + resend each, the order alternating
PROFILE_MESSAGES = 2_000  # per profiled run (the profiler slows sends ~3×)
OUTBOX_BATCH = 1_000  # messages per enqueue transaction
WARMUP = 200  # sends before the timed runs (imports, TLS, caches)
SENDER = "+33757000001"  # the demo's alice number
BIN = Path(sys.executable).with_name("bannertui")
_LISTENING = re.compile(r"listening on (https://\S+) \(CA: (.+)\)\s*$")

TARGET_MS = 100.0
TARGET_RATIO = 0.8

MESSAGE_TABLE: sa.Table = Message.__table__  # type: ignore[attr-defined]
CONTACT_TABLE: sa.Table = Contact.__table__  # type: ignore[attr-defined]

#: The order the rounds visit the views in; the inbox opens on All.
VIEW_ORDER = (
    View.RECEIVED,
    View.SENT,
    View.FAILED,
    View.PENDING,
    View.NOT_TRIGGERED,
    View.DELETED,
    View.ALL,
)

#: (direction, status, weight): received 40, sent 43, failed 7, pending 7, not triggered 3.
_KINDS = (
    (Direction.INBOUND, MessageStatus.RECEIVED, 40),
    (Direction.OUTBOUND, MessageStatus.DELIVERED, 36),
    (Direction.OUTBOUND, MessageStatus.SENT, 7),
    (Direction.OUTBOUND, MessageStatus.FAILED, 7),
    (Direction.OUTBOUND, MessageStatus.BLOCKED, 3),
    (Direction.OUTBOUND, MessageStatus.PENDING, 4),
    (Direction.OUTBOUND, MessageStatus.SCHEDULED, 2),
    (Direction.OUTBOUND, MessageStatus.SENDING, 1),
)
_ERRORS = {
    MessageStatus.FAILED: (
        "P2 rejected: destination unreachable",
        "gave up after 12 attempts: HTTP 503",
        "P2 rejected: invalid destination number",
    ),
    MessageStatus.BLOCKED: ("blacklisted number", "the recipient opted out (STOP)"),
}
_FIRST = ("Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules", "Manon", "Arthur", "Inès", "Paul")
_LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau")
_COMPANIES = ("", "", "Acme", "Globex", "Initech", "Umbrella", "Soylent", "Hooli")
_SENTENCES = (
    "hello your appointment is confirmed for tomorrow at 10:30 please bring your card and an "
    "ID ticket ref A-1234 order delivery parcel today thanks reply STOP to opt out call us "
    "back invoice payment received due balance account update code new address the a of to "
    "on in and we will you can our team agent support sales clinic Lyon Paris Monday Tuesday "
    "12/03 25€ ok yes no sure great when where (see) [link] hi! how are you? fine, thank you."
)
_WORDS = _SENTENCES.split()
_UCS2_WORDS = ("fenêtre", "rendez-vous", "être", "bientôt", "reçu", "œuvre", "😀", "très", "hôtel")

Row = tuple[str, str, str, str]  # summary: figure, value, target, result


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def remote_number(k: int) -> str:
    return f"+33698{k:06d}"


@contextmanager
def patched(*changes: tuple[Any, str, Any]) -> Iterator[None]:
    """Replace attributes (``(owner, name, value)``) for the block; restored after."""
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in changes]
    try:
        for owner, name, value in changes:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def profile_text(prof: cProfile.Profile, sort: str, limit: int) -> str:
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats(sort).print_stats(limit)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    site = str(Path(textual.__file__).parent.parent) + "/"
    return "\n".join(
        "    " + line.replace(site, "").replace(str(Path.cwd()) + "/", "")
        for line in lines[start:]
        if line.strip()
    )


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- 1. the million-message database ---------------------------------------------------------


def make_texts(rng: random.Random, count: int = 2048) -> list[tuple[str, str, int]]:
    """(text, encoding, credits) of ``count`` texts of 20–300 characters, ~10 % UCS-2."""
    texts = []
    for _ in range(count):
        length = int(rng.triangular(20, 300, 70))
        ucs2 = rng.random() < 0.10
        words: list[str] = []
        size = 0
        while size < length:
            word = rng.choice(_UCS2_WORDS if ucs2 and rng.random() < 0.2 else _WORDS)
            words.append(word)
            size += len(word) + 1
        text = " ".join(words)[:length].rstrip()
        m = measure(text)
        texts.append((text, m.encoding.value, m.credits))
    return texts


@dataclass(frozen=True)
class InboxDb:
    url: str
    messages: int  # all of them, the demo's included
    contacts: int
    build_s: float
    generate_s: float
    insert_s: float


class Generator:
    """Deterministic ``message`` rows (every column but id), one batch at a time."""

    def __init__(
        self, n: int, rng: random.Random, agent_id: int, locals_: list[str], contacts: list[str]
    ) -> None:
        self.n = n
        self.rng = rng
        self.agent_id = agent_id
        self.locals = locals_
        self.contacts = contacts
        self.texts = make_texts(rng)
        self.end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        self.step = SPAN.total_seconds() / n
        self.kinds = [(d, s) for d, s, _ in _KINDS]
        weights = [w for _, _, w in _KINDS]
        self.cum = [sum(weights[: k + 1]) for k in range(len(weights))]

    def batch(self, first: int, count: int) -> list[dict[str, Any]]:
        rng, rows = self.rng, []
        start = self.end - SPAN
        for i in range(first, first + count):
            at = start + timedelta(seconds=i * self.step)
            direction, status = rng.choices(self.kinds, cum_weights=self.cum)[0]
            inbound = direction is Direction.INBOUND
            if rng.random() < CONTACT_SHARE:
                remote = rng.choice(self.contacts)
            else:
                remote = remote_number(rng.randrange(REMOTES))
            local = rng.choice(self.locals)
            text, encoding, credits = rng.choice(self.texts)
            folder = folder_for(direction, status).value
            deleted = rng.random() < DELETED_SHARE
            errors = _ERRORS.get(status)
            rows.append(
                {
                    "interaction_id": None,
                    "agent_id": None if inbound else self.agent_id,
                    "queue_id": None,
                    "direction": direction.value,
                    "from_number": remote if inbound else local,
                    "to_number": local if inbound else remote,
                    "remote_number": remote,
                    "text": text,
                    "encoding": encoding,
                    "credits": 0 if inbound else credits,
                    "type": MessageType.NOTIFICATION.value,
                    "sender": None if inbound else local,
                    "ret_id": None if inbound else f"bench-inbox-{i:09d}",
                    "provider_message_id": f"bench-inbox-in-{i:09d}" if inbound else None,
                    "status": status.value,
                    "folder": folder,
                    "error": errors[i % len(errors)] if errors else None,
                    "attempts": 0 if inbound else (3 if status == MessageStatus.FAILED else 1),
                    "next_attempt_at": (
                        at + timedelta(minutes=1) if status == MessageStatus.PENDING else None
                    ),
                    "claimed_by": "bench:1" if status == MessageStatus.SENDING else None,
                    "claimed_at": at if status == MessageStatus.SENDING else None,
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


async def build_inbox_db(
    path: Path,
    n: int,
    *,
    prepare: Callable[[Database], Awaitable[None]] | None = None,
    shape: Callable[[list[dict[str, Any]], int], None] | None = None,
) -> InboxDb:
    """The demo data, CONTACTS more contacts, then ``n`` messages.

    For other benchmarks (``bench_scope.py``), both None here: ``prepare(db)`` runs once the
    demo data is in, before anything is read from it (more numbers, queues, agents…);
    ``shape(rows, first)`` may change each batch of generated rows (rows ``first`` …) in
    place before it is inserted (which queue, agent, conversation a message belongs to)."""
    t0 = time.perf_counter()
    url = f"sqlite+aiosqlite:///{path}"
    await prepare_demo_database_async(url)
    db = Database(url)
    rng = random.Random(SEED)
    try:
        if prepare is not None:
            await prepare(db)
        async with db.read() as s:
            agent_id = await s.scalar(sa.select(col(Agent.id)).where(col(Agent.login) == LOGIN))
            locals_ = [str(x) for x in await s.scalars(sa.select(col(SmsNumber.number)))]
            taken = set(await s.scalars(sa.select(col(Contact.number))))
        numbers = [remote_number(k) for k in sorted(rng.sample(range(REMOTES), CONTACTS * 2))]
        numbers = [x for x in numbers if x not in taken][:CONTACTS]
        now = datetime.now(UTC)
        contacts = [
            {
                "first_name": rng.choice(_FIRST),
                "last_name": rng.choice(_LAST),
                "number": number,
                "email": f"contact{k}@example.com" if k % 3 else "",
                "company": rng.choice(_COMPANIES),
                "created_at": now,
            }
            for k, number in enumerate(numbers)
        ]
        async with db.write() as s:
            await s.execute(sa.insert(CONTACT_TABLE), contacts)
        gen = Generator(n, rng, int(agent_id or 0), locals_, numbers)
        stmt = sa.insert(MESSAGE_TABLE)
        generate = insert = 0.0
        for first in range(0, n, BATCH):
            t = time.perf_counter()
            rows = gen.batch(first, min(BATCH, n - first))
            if shape is not None:
                shape(rows, first)
            generate += time.perf_counter() - t
            t = time.perf_counter()
            async with db.write() as s:
                await s.execute(stmt, rows)
            insert += time.perf_counter() - t
            done = first + len(rows)
            if done % 100_000 == 0 or done == n:
                _progress(f"  inserted {done:>9,} / {n:,}  ({time.perf_counter() - t0:.0f} s)")
        async with db.read() as s:
            total = int(await s.scalar(sa.select(sa.func.count()).select_from(Message)) or 0)
    finally:
        await db.dispose()
    return InboxDb(url, total, len(contacts), time.perf_counter() - t0, generate, insert)


# --- 1. through the screen ---------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """One page the screen must show: of ``view``, page ``number`` (1-based), fetched with
    ``after``, whose rows are ``ids`` (the DataTable's row keys)."""

    view: View
    number: int
    after: int | None
    ids: tuple[str, ...]
    names: int  # rows showing a contact's name


async def expected_pages(inbox: InboxService, pages: int) -> dict[View, list[Expected]]:
    out: dict[View, list[Expected]] = {}
    for view in View:
        after: int | None = None
        out[view] = []
        for number in range(1, pages + 1):
            page = await inbox.page(Actor(LOGIN), view, after=after)
            ids = tuple(str(r.id) for r in page.rows)
            names = sum(r.contact_name is not None for r in page.rows)
            out[view].append(Expected(view, number, after, ids, names))
            if page.next_after is None:
                break
            after = page.next_after
    return out


def inbox_screen(app: BannerApp) -> InboxScreen | None:
    screen = app.screen
    return screen if isinstance(screen, InboxScreen) else None


def shows(app: BannerApp, exp: Expected) -> bool:
    """The inbox shows ``exp``: its view, its page number, exactly its rows."""
    screen = inbox_screen(app)
    if screen is None or screen.view is not exp.view or len(screen._keys) != exp.number:
        return False
    tables = screen.query("#messages").results(DataTable)
    table = next(tables, None)  # None: pushed, not composed yet
    return table is not None and tuple(str(k.value) for k in table.rows) == exp.ids


def showing(app: BannerApp, exp: Expected) -> Callable[[], bool]:
    return lambda: shows(app, exp)


def send_key(app: BannerApp, key: str, char: str | None) -> None:
    """The key as the terminal driver delivers one (no wait for idle, unlike pilot.press)."""
    event = events.Key(key, char)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


async def poll(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Until ``condition()``, then until the screen has processed what is pending and
    painted (see the module docstring)."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(POLL_S)
    await pilot.pause(0)


async def settle(pilot: Pilot[Any]) -> None:
    """No worker left running, and nothing more to process (untimed)."""
    for _ in range(2):
        if pilot.app.workers:
            with suppress(WorkerCancelled):
                await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@dataclass
class Marks:
    """What the screen's own calls took, during the last operation (wrapped for the run)."""

    service: float = 0.0
    show: float = 0.0
    calls: int = 0

    def reset(self) -> None:
        self.service = self.show = 0.0
        self.calls = 0


@dataclass
class OpTimes:
    ui: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    service_in_app: list[float] = field(default_factory=list)
    show_page: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)  # the screen's page() calls per operation


@dataclass
class ScreenRun:
    ops: dict[str, OpTimes]
    per_view: dict[View, OpTimes]  # switches, by the view switched to
    counts: list[float]
    counts_shown: dict[View, int]
    open_first: float
    open_counts: float
    select_ui: list[float]
    select_bare: list[float]
    selected: int
    rows_per_view: dict[View, int]
    names_per_page: float
    table_rows_visible: int
    diagnosis: Diagnosis | None = None


@dataclass
class Diagnosis:
    """One more round under cProfile (switches and `]` apart), and switches with the
    screen's ``refresh_bindings()`` (the Footer's recompose) replaced by a no-op."""

    switch: cProfile.Profile
    next: cProfile.Profile
    ops: int  # of each kind, profiled
    as_is: list[float] = field(default_factory=list)
    no_bindings: list[float] = field(default_factory=list)


async def timed_op(
    pilot: Pilot[Any],
    marks: Marks,
    times: OpTimes,
    start: Callable[[], None],
    exp: Expected,
    inbox: InboxService,
) -> float:
    """One screen operation (``start()`` until ``exp`` shown), then the bare service call."""
    app = pilot.app
    assert isinstance(app, BannerApp)
    await settle(pilot)
    marks.reset()
    t0 = time.perf_counter()
    start()
    await poll(pilot, lambda: shows(app, exp))
    elapsed = time.perf_counter() - t0
    times.ui.append(elapsed)
    times.service_in_app.append(marks.service)
    times.show_page.append(marks.show)
    times.calls.append(marks.calls)
    await settle(pilot)
    t0 = time.perf_counter()
    page = await InboxService.page(inbox, Actor(LOGIN), exp.view, after=exp.after)
    times.bare.append(time.perf_counter() - t0)
    if tuple(str(r.id) for r in page.rows) != exp.ids:
        raise RuntimeError(f"{exp.view} page {exp.number} changed under the benchmark")
    return elapsed


def highlight(app: BannerApp, view: View) -> Callable[[], None]:
    def go() -> None:
        screen = inbox_screen(app)
        assert screen is not None
        screen.query_one("#views", OptionList).highlighted = list(View).index(view)

    return go


async def run_screen(url: str, rounds: int, profile: bool) -> ScreenRun:
    # The pages the screen must show, from the service (untimed; warms the file cache too).
    services = Services(Database(url))
    try:
        expected = await expected_pages(services.inbox, NEXT_PER_VIEW + 1)
        rows_per_view = await services.inbox.counts(Actor(LOGIN))
        failed_ids = await services.inbox.view_ids(Actor(LOGIN), View.FAILED)
    finally:
        await services.db.dispose()
    pages = [e for v in View for e in expected[v]]
    names_per_page = statistics.mean(e.names for e in pages)

    marks = Marks()
    show_page = InboxScreen.show_page

    def timed_show(self: InboxScreen, page: Any) -> None:
        t0 = time.perf_counter()
        show_page(self, page)
        marks.show += time.perf_counter() - t0

    ops = {name: OpTimes() for name in ("switch", "next", "previous")}
    per_view = {v: OpTimes() for v in View}
    app = app_for(url, LOGIN)
    inbox = app.services.inbox
    service_page = inbox.page

    async def timed_page(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await service_page(*args, **kwargs)
        finally:
            marks.service += time.perf_counter() - t0
            marks.calls += 1

    inbox.page = timed_page  # type: ignore[method-assign]
    diagnosis: Diagnosis | None = None
    with patched((InboxScreen, "show_page", timed_show)):
        async with app.run_test(size=SIZE) as pilot:
            await poll(pilot, lambda: isinstance(app.screen, BannerScreen))
            await settle(pilot)
            # Open the inbox: F4 → the first page of All, then its counts.
            t0 = time.perf_counter()
            send_key(app, "f4", None)
            await poll(pilot, lambda: shows(app, expected[View.ALL][0]))
            open_first = time.perf_counter() - t0
            await poll(pilot, lambda: bool((s := inbox_screen(app)) and s.counts))
            open_counts = time.perf_counter() - t0
            screen = inbox_screen(app)
            assert screen is not None
            counts_shown = dict(screen.counts)
            table = screen.query_one("#messages", DataTable)
            visible = table.size.height - 1  # minus the header row

            for r in range(rounds):
                _progress(f"  screen round {r + 1}/{rounds}")
                for view in VIEW_ORDER:
                    pages_of = expected[view]
                    elapsed = await timed_op(
                        pilot, marks, ops["switch"], highlight(app, view), pages_of[0], inbox
                    )
                    per_view[view].ui.append(elapsed)
                    per_view[view].bare.append(ops["switch"].bare[-1])
                    for number in range(1, min(NEXT_PER_VIEW, len(pages_of) - 1) + 1):
                        await timed_op(
                            pilot,
                            marks,
                            ops["next"],
                            lambda: send_key(app, "right_square_bracket", "]"),
                            pages_of[number],
                            inbox,
                        )
                    if len(pages_of) > 1:
                        last = min(NEXT_PER_VIEW, len(pages_of) - 1)
                        await timed_op(
                            pilot,
                            marks,
                            ops["previous"],
                            lambda: send_key(app, "left_square_bracket", "["),
                            pages_of[last - 1],
                            inbox,
                        )

            # counts(): the grouped scan, bare, on the app's Database, the screen idle.
            await settle(pilot)
            counts = []
            for _ in range(COUNTS_RUNS):
                t0 = time.perf_counter()
                await inbox.counts(Actor(LOGIN))
                counts.append(time.perf_counter() - t0)

            # A: every message of the Failed view selected, beside view_ids.
            await timed_op(
                pilot,
                marks,
                OpTimes(),
                highlight(app, View.FAILED),
                expected[View.FAILED][0],
                inbox,
            )
            select_ui, select_bare = [], []
            for k in range(SELECT_RUNS):  # which goes first alternates
                for bare in (k % 2, 1 - k % 2):
                    await settle(pilot)
                    if bare:
                        t0 = time.perf_counter()
                        ids = await inbox.view_ids(Actor(LOGIN), View.FAILED)
                        select_bare.append(time.perf_counter() - t0)
                        assert len(ids) == len(failed_ids)
                        continue
                    t0 = time.perf_counter()
                    send_key(app, "A", "A")
                    await poll(pilot, lambda: len(screen.selected) == len(failed_ids))
                    select_ui.append(time.perf_counter() - t0)
                    send_key(app, "x", "x")
                    await poll(pilot, lambda: not screen.selected)

            slow = any(statistics.median(t.ui) * 1000 > TARGET_MS for t in ops.values())
            if profile or slow:
                diagnosis = await diagnose_screen(pilot, expected)
            await settle(pilot)
    await app.services.db.dispose()
    return ScreenRun(
        ops,
        per_view,
        counts,
        counts_shown,
        open_first,
        open_counts,
        select_ui,
        select_bare,
        len(failed_ids),
        rows_per_view,
        names_per_page,
        visible,
        diagnosis,
    )


async def switch_round(pilot: Pilot[Any], expected: dict[View, list[Expected]]) -> list[float]:
    """One switch to each view (untimed settle before each); the seconds of each."""
    app = pilot.app
    assert isinstance(app, BannerApp)
    times = []
    for view in VIEW_ORDER:
        await settle(pilot)
        t0 = time.perf_counter()
        highlight(app, view)()
        await poll(pilot, showing(app, expected[view][0]))
        times.append(time.perf_counter() - t0)
    return times


async def diagnose_screen(pilot: Pilot[Any], expected: dict[View, list[Expected]]) -> Diagnosis:
    """cProfile of one more round (main thread: the app and the worker's coroutine; SQLite
    runs in aiosqlite's threads, not in here), then "what would help": switches without
    ``refresh_bindings()`` (replaced in this process only), alternating with as-is rounds."""
    app = pilot.app
    assert isinstance(app, BannerApp)
    diag = Diagnosis(cProfile.Profile(), cProfile.Profile(), 0)
    for view in VIEW_ORDER:
        await settle(pilot)
        diag.switch.enable()
        highlight(app, view)()
        await poll(pilot, showing(app, expected[view][0]))
        diag.switch.disable()
        await settle(pilot)
        diag.next.enable()
        send_key(app, "right_square_bracket", "]")
        await poll(pilot, showing(app, expected[view][1]))
        diag.next.disable()
        diag.ops += 1
    for _ in range(2):
        diag.as_is += await switch_round(pilot, expected)
        with patched((InboxScreen, "refresh_bindings", lambda self: None)):
            diag.no_bindings += await switch_round(pilot, expected)
    return diag


def profile_pick(
    prof: cProfile.Profile, wanted: list[tuple[str, str, str]], per: int
) -> list[tuple[str, float, float]]:
    """(label, calls per unit, cumulative ms per unit) of the ``(file suffix, function,
    label)`` entries of a profile (a coroutine counts once per resume)."""
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    rows = []
    for suffix, func, label in wanted:
        calls = cum = 0.0
        for (filename, _line, name), (_cc, nc, _tt, ct, _callers) in stats.items():
            if name == func and filename.endswith(suffix):
                calls += nc
                cum += ct
        rows.append((label, calls / per, cum / per * 1000))
    return rows


SCREEN_WANTED = [
    ("bannertui/ui/screens/inbox.py", "show_view", "InboxScreen.show_view (the switch)"),
    ("textual/widget.py", "recompose", "  Widget.recompose (the Footer's)"),
    ("textual/widgets/_footer.py", "compose", "  Footer.compose (bindings changed)"),
    ("textual/screen.py", "_refresh_layout", "Screen._refresh_layout (layout)"),
    ("textual/_compositor.py", "_render_chops", "Compositor._render_chops (paint)"),
    ("textual/css/stylesheet.py", "apply", "Stylesheet.apply (CSS on widgets)"),
    ("bench/bench_inbox.py", "timed_show", "InboxScreen.show_page (table fill)"),
    ("textual/widgets/_data_table.py", "add_row", "  DataTable.add_row"),
]


def print_diagnosis(diag: Diagnosis) -> None:
    print(
        f"   diagnosis: cProfile of {diag.ops} more switches and {diag.ops} more `]` (main "
        "thread; times inflated by the profiler,\n   compare rows; SQLite runs in aiosqlite's "
        "threads, not in here):"
    )
    print(
        f"     {'function':<44} {'switch: calls':>13} {'cum ms':>7} "
        f"{'`]`: calls':>10} {'cum ms':>7}"
    )
    picked = zip(
        profile_pick(diag.switch, SCREEN_WANTED, diag.ops),
        profile_pick(diag.next, SCREEN_WANTED, diag.ops),
        strict=True,
    )
    for (label, c1, ms1), (_, c2, ms2) in picked:
        print(f"     {label:<44} {c1:>13.1f} {ms1:>7.1f} {c2:>10.1f} {ms2:>7.1f}")
    print("   the switches' profile, by own time:")
    print(profile_text(diag.switch, "tottime", 12))
    as_is, without = statistics.median(diag.as_is), statistics.median(diag.no_bindings)
    print(
        "   what would help (src replaced in this process only): switches with "
        "InboxScreen.refresh_bindings() a no-op\n   (the Footer keeps its keys: no recompose) "
        f"{_ms(without)} ms vs {_ms(as_is)} ms as is (medians of {len(diag.as_is)} each, "
        "alternating rounds)"
    )


def sql_plans(path: Path) -> list[str]:
    """EXPLAIN QUERY PLAN of the counts query and of a page of each kind (plain sqlite3)."""
    queries = {
        "counts()": "SELECT deleted, folder, count(*) FROM message GROUP BY deleted, folder",
        "page(All)": "SELECT id FROM message WHERE deleted = 0 ORDER BY id DESC LIMIT 51",
        "page(Failed)": (
            "SELECT id FROM message WHERE deleted = 0 AND folder = 'failed' "
            "ORDER BY id DESC LIMIT 51"
        ),
    }
    out = []
    with sqlite3.connect(path) as conn:
        for label, sql in queries.items():
            plan = "; ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            out.append(f"{label}: {plan}")
    return out


async def section_screen(work: Path, n: int, rounds: int, profile: bool) -> list[Row]:
    path = work / "inbox.sqlite3"
    _progress(f"building the database: {n:,} messages …")
    built = await build_inbox_db(path, n)
    size = file_size(path)
    print(
        f"set-up: demo data + {built.contacts} contacts + {n:,} messages = {built.messages:,} "
        f"in {built.build_s:.1f} s (generating rows {built.generate_s:.1f} s, Core executemany "
        f"{built.insert_s:.1f} s = {n / built.insert_s:,.0f} rows/s); {size / 2**20:,.0f} MiB"
    )
    for line in sql_plans(path):
        print(f"  plan {line}")
    print()
    _progress("the inbox screen …")
    run = await run_screen(built.url, rounds, profile)

    views = ", ".join(f"{v.label} {run.rows_per_view[v]:,}" for v in View)
    print(
        f"1. the inbox through the screen: app_for(url, {LOGIN!r}).run_test(size={SIZE}), F4; "
        f"{rounds} rounds over the 7 views\n   ({len(run.ops['switch'].ui)} switches, "
        f"{len(run.ops['next'].ui)} `]`, {len(run.ops['previous'].ui)} `[`); a page = {PAGE} "
        f"rows ({run.table_rows_visible} visible at 80×24), {run.names_per_page:.1f} of them "
        f"with a contact's name on average\n   views: {views}"
    )
    header = (
        f"{'operation':<44} {'n':>3} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} "
        f"{'bare ms':>7} {'bare p95':>8} {'ratio':>6} {'target':>7} {'result':>6}"
    )
    print(header)
    print("-" * len(header))
    labels = {
        "switch": "switch view: #views highlight → page 1 shown",
        "next": "`]`: key → the next page shown",
        "previous": "`[`: key → the page before shown",
    }
    summary: list[Row] = []
    for name, label in labels.items():
        t = run.ops[name]
        med, bare = statistics.median(t.ui), statistics.median(t.bare)
        verdict = "PASS" if med * 1000 <= TARGET_MS else "FAIL"
        print(
            f"{label:<44} {len(t.ui):>3} {_ms(med):>9} {_ms(_p95(t.ui)):>7} {_ms(max(t.ui)):>7} "
            f"{_ms(bare):>7} {_ms(_p95(t.bare)):>8} {med / bare:>6.1f} "
            f"{'≤ ' + f'{TARGET_MS:.0f}':>7} {verdict:>6}"
        )
        summary.append(
            (
                f"1. {label.split(':')[0]}: median ms (p95; bare page())",
                f"{_ms(med)} ({_ms(_p95(t.ui))}; {_ms(bare)})",
                f"≤ {TARGET_MS:.0f}",
                verdict,
            )
        )
    print(
        "   bare = the same InboxService.page() call (view, after) alone, right after, on the "
        "app's Database; ratio = median / bare"
    )
    print("   where a screen operation's time goes (medians, ms):")
    print(
        f"     {'operation':<10} {'total':>6} {'page() in app':>13} {'show_page()':>11} {'rest':>6}"
    )
    for name in labels:
        t = run.ops[name]
        total, svc, show = (statistics.median(x) for x in (t.ui, t.service_in_app, t.show_page))
        print(
            f"     {name:<10} {_ms(total):>6} {_ms(svc):>13} {_ms(show):>11} "
            f"{_ms(total - svc - show):>6}"
        )
    calls = sorted({c for t in run.ops.values() for c in t.calls})
    print(
        "     page() in app: the screen's own call (it made "
        f"{' or '.join(map(str, calls))} per operation), timed around its await: the query\n"
        "     in aiosqlite's thread plus the wait for the event loop to resume it; show_page: "
        "DataTable clear + 50 add_row +\n     cursor + status line; rest: the key or highlight "
        "event, the worker starting, the bindings and Footer,\n     layout, the poll's 1 ms "
        "grain, processing what is pending and painting"
    )
    print("   switches by view (median ms, screen / bare page()):")
    print(
        "     "
        + ", ".join(
            f"{v.value} {_ms(statistics.median(run.per_view[v].ui))}/"
            f"{_ms(statistics.median(run.per_view[v].bare))}"
            for v in VIEW_ORDER
        )
    )
    c_med = statistics.median(run.counts)
    ok_counts = all(run.counts_shown[v] == run.rows_per_view[v] for v in View)
    print(
        f"   counts() (one grouped scan, {COUNTS_RUNS} runs): median {_ms(c_med)} ms, min "
        f"{_ms(min(run.counts))}, max {_ms(max(run.counts))}; at most every "
        f"2 s in the background = {c_med / 2 * 100:.0f} % of one core while changes arrive; "
        f"counts shown right: {ok_counts}"
    )
    print(
        f"   opening the inbox (F4): first page shown in {_ms(run.open_first)} ms, counts "
        f"shown in {_ms(run.open_counts)} ms"
    )
    s_med, sb_med = statistics.median(run.select_ui), statistics.median(run.select_bare)
    print(
        f"   `A` (select the whole Failed view, {run.selected:,} messages): median "
        f"{_ms(s_med)} ms through the screen, view_ids() bare {_ms(sb_med)} ms "
        f"({SELECT_RUNS} runs)"
    )
    if run.diagnosis is not None:
        print_diagnosis(run.diagnosis)
    print()
    remove_db(path)
    summary += [
        ("1. counts() grouped scan, median ms", _ms(c_med), "figure", "-"),
        (
            "1. open inbox F4 → page 1 shown, ms (→ counts)",
            f"{_ms(run.open_first)} ({_ms(run.open_counts)})",
            "figure",
            "-",
        ),
        (
            f"1. `A` whole Failed view ({run.selected:,}), median ms (bare)",
            f"{_ms(s_med)} ({_ms(sb_med)})",
            "figure",
            "-",
        ),
    ]
    return summary


# --- 2. bulk resend through the dispatcher -------------------------------------------------


def message_text(i: int) -> str:
    """The mix of ``bench_dispatch.py``: GSM-7 and UCS-2, 1 to 4 credits."""
    kind = i % 10
    if kind == 0:
        return f"Привет {i}, ваш заказ готов 😀"
    if kind == 1:
        return f"#{i} " + "Напоминание: встреча в среду в 14:00. " * 3
    if kind == 2:
        return f"#{i} " + "Your parcel [ref {A-12}] costs 25€ ~ paid. " * 8
    if kind == 3:
        return f"Order {i}: " + "delivery confirmed for tomorrow morning, " * 14
    return f"Hello {i}, your appointment is confirmed for Tuesday at 10:30."


def trusting(ca: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca) if ca else None)


class SimulatorProcess:
    """``bannertui provider-sim --port 0`` in a child process; reads back its URL and CA."""

    def __init__(self, root: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
        env.update(
            BANNERTUI_DATA_DIR=str(root / "data"),
            BANNERTUI_CONFIG=str(root / "no-such-dir" / "config.toml"),
        )
        self.err = (root / "simulator.err").open("w+b")
        self.proc = subprocess.Popen(
            [str(BIN), "provider-sim", "--port", "0", "--cert-dir", str(root / "certs")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.err,
            env=env,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = _LISTENING.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.url = match.group(1)
        self.ca = Path(match.group(2))
        self.stats_url = self.url.rsplit("/v1/", 1)[0] + "/v1/stats"

    def stats(self) -> dict[str, int]:
        response = httpx.get(self.stats_url, verify=trusting(self.ca), timeout=10)
        response.raise_for_status()
        data = response.json()
        assert isinstance(data, dict)
        return data

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


class LastAccepted:
    """The HttpProvider, noting when each accepted send came back (the simulator took it)."""

    def __init__(self, inner: HttpProvider) -> None:
        self.inner = inner
        self.at = 0.0
        self.accepted = 0

    async def send(self, payload: SendPayload) -> SendOutcome:
        outcome = await self.inner.send(payload)
        if outcome.kind is OutcomeKind.ACCEPTED:
            self.at = time.perf_counter()
            self.accepted += 1
        return outcome

    async def aclose(self) -> None:
        await self.inner.aclose()


async def fill(db: Database, n: int, start: int) -> list[int]:
    """Queue ``n`` pending messages (debited), OUTBOX_BATCH per write transaction."""
    ids: list[int] = []
    for first in range(start, start + n, OUTBOX_BATCH):
        now = datetime.now(UTC)
        async with db.write() as session:
            for i in range(first, min(first + OUTBOX_BATCH, start + n)):
                draft = OutboundDraft(
                    to_number=f"+33612{i % 1_000_000:06d}",
                    from_number=SENDER,
                    text=message_text(i),
                    sender=SENDER,
                    agent_id=1,
                )
                ids.append((await enqueue(session, draft, now)).id or 0)
    return ids


async def fail_for_good(db: Database, ids: list[int]) -> None:
    """As the dispatcher leaves a permanent failure: claimed (attempts 1), then
    ``fail_permanently`` (status failed, folder failed, the reason, credits refunded)."""
    for first in range(0, len(ids), OUTBOX_BATCH):
        chunk = ids[first : first + OUTBOX_BATCH]
        now = datetime.now(UTC)
        async with db.write() as session:
            await session.execute(
                sa.update(Message)
                .where(col(Message.id).in_(chunk))
                .values(
                    status=MessageStatus.SENDING,
                    claimed_by="bench:failed",
                    claimed_at=now,
                    attempts=1,
                )
                .execution_options(synchronize_session=False)
            )
            for mid in chunk:
                assert await fail_permanently(session, mid, "P2 rejected: HTTP 400", now)


def checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def balance(db: Database) -> int:
    async with db.read() as s:
        return int(await s.scalar(sa.select(col(Account.credits))) or 0)


async def statuses(db: Database, ids: list[int]) -> dict[str, int]:
    async with db.read() as s:
        rows = await s.execute(
            sa.select(col(Message.status), sa.func.count())
            .where(col(Message.id).between(min(ids), max(ids)))
            .group_by(col(Message.status))
        )
        return {str(k): int(v) for k, v in rows.all()}


@dataclass
class Run:
    label: str
    n: int
    to_accepted: float  # start → the last send accepted
    to_return: float  # start → run_once returned (outcomes written)
    resend_s: float  # resend_failed itself (0 for plain)
    client_cpu: float
    server_cpu: float
    detail: str = ""
    ok: bool = True

    @property
    def rate(self) -> float:
        return self.n / self.to_accepted

    @property
    def rate_return(self) -> float:
        return self.n / self.to_return


@dataclass
class ResendBench:
    sim: SimulatorProcess
    services: Services
    path: Path  # the SQLite file
    concurrency: int
    index: int = 0

    @property
    def db(self) -> Database:
        return self.services.db

    async def outbox(self, n: int) -> list[int]:
        self.index += n
        return await fill(self.db, n, self.index - n)

    async def run(
        self, label: str, ids: list[int], resend: bool, prof: cProfile.Profile | None = None
    ) -> Run:
        provider = LastAccepted(HttpProvider(ProviderConfig(url=self.sim.url, ca_file=self.sim.ca)))
        dispatcher = Dispatcher(self.db, provider, DispatchPolicy(concurrency=self.concurrency))
        before = await asyncio.to_thread(self.sim.stats)
        credits_before = await balance(self.db)
        # Both paths start alike: the WAL folded back into the file (filling the outbox wrote
        # it), and what the set-up allocated collected and frozen (no full collection of it
        # inside the timed run).
        await asyncio.to_thread(checkpoint, self.path)
        gc.collect()
        gc.freeze()
        server, cpu = self.sim.cpu_seconds(), time.process_time()
        if prof is not None:
            prof.enable()
        start = time.perf_counter()
        resend_s = 0.0
        requeued = ""
        debited_ok = True
        expected_spent = 0
        if resend:
            report = await self.services.inbox.resend_failed(Actor(LOGIN), ids)
            resend_s = time.perf_counter() - start
            requeued = (
                f"requeued {report.requeued:,}, skipped {report.skipped}, "
                f"{report.credits:,} credits; "
            )
            debited_ok = report.requeued == len(ids) and report.stopped is None
            expected_spent = report.credits
        try:
            stats: DispatchStats = await dispatcher.run_once()
        finally:
            returned = time.perf_counter()
            if prof is not None:
                prof.disable()
            await provider.aclose()
        client_cpu, server_cpu = time.process_time() - cpu, self.sim.cpu_seconds() - server
        after = await asyncio.to_thread(self.sim.stats)
        delta = {k: after[k] - before[k] for k in ("requests", "accepted", "duplicates")}
        spent = credits_before - await balance(self.db)
        # plain: debited at enqueue, before the clock; accepted sends keep it spent
        debited_ok = debited_ok and spent == expected_spent
        in_db = await statuses(self.db, ids)
        ok = (
            delta == {"requests": len(ids), "accepted": len(ids), "duplicates": 0}
            and in_db == {"sent": len(ids)}
            and stats.sent == len(ids)
            and provider.accepted == len(ids)
            and debited_ok
        )
        detail = (
            f"{requeued}sent {stats.sent:,}, retried {stats.retried}; /v1/stats "
            f"+{delta['accepted']:,} accepted, +{delta['duplicates']} dup; DB "
            f"{', '.join(f'{k} {v:,}' for k, v in in_db.items())}; balance -{spent:,}"
        )
        return Run(
            label,
            len(ids),
            provider.at - start,
            returned - start,
            resend_s,
            client_cpu,
            server_cpu,
            detail,
            ok,
        )

    async def plain(self, n: int, prof: cProfile.Profile | None = None) -> Run:
        ids = await self.outbox(n)
        return await self.run("plain", ids, resend=False, prof=prof)

    async def resend(self, n: int, prof: cProfile.Profile | None = None) -> Run:
        ids = await self.outbox(n)
        await fail_for_good(self.db, ids)
        return await self.run("resend", ids, resend=True, prof=prof)


def own_time_by_package(prof: cProfile.Profile) -> dict[str, float]:
    """Own time (tottime) summed by package: robust where cumulative times are not (SQLAlchemy
    runs its async work in greenlets, which cProfile's call stacks do not follow)."""
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.items():
        if "site-packages/" in filename:
            group = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        elif "/bannertui/" in filename:
            group = "bannertui (src)"
        elif "/bench/" in filename:
            group = "this benchmark"
        elif filename == "~":
            if "socket" in name or "_ssl" in name:
                group = "C: socket and ssl"
            elif "poll" in name:
                group = "C: select/epoll/poll"
            elif "sqlite3" in name or "SimpleQueue" in name:
                group = "C: queue to aiosqlite's thread"
            else:
                group = "C: other built-ins"
        else:
            path = Path(filename)
            group = "stdlib " + (path.parent.name if path.parent.name == "asyncio" else path.stem)
        out[group] = out.get(group, 0.0) + tt
    return out


def dispatch_diagnosis(
    plain: tuple[Run, cProfile.Profile], resend: tuple[Run, cProfile.Profile]
) -> str:
    (p_run, p_prof), (r_run, r_prof) = plain, resend
    p_own, r_own = own_time_by_package(p_prof), own_time_by_package(r_prof)
    groups = sorted(set(p_own) | set(r_own), key=lambda g: -(p_own.get(g, 0) + r_own.get(g, 0)))
    out = [
        f"   diagnosis: cProfile of one more plain and one more resend run of {p_run.n:,} "
        f"messages each ({p_run.rate:.0f} and {r_run.rate:.0f}\n   msgs/s under the profiler; "
        f"resend_failed {r_run.resend_s * 1000:.0f} ms of it); main thread's own time by "
        "package, µs per message:",
        f"     {'package':<34} {'plain':>7} {'resend':>7}",
    ]
    for g in groups[:14]:
        out.append(
            f"     {g:<34} {p_own.get(g, 0) / p_run.n * 1e6:>7.0f} "
            f"{r_own.get(g, 0) / r_run.n * 1e6:>7.0f}"
        )
    out.append(
        f"     {'total':<34} {sum(p_own.values()) / p_run.n * 1e6:>7.0f} "
        f"{sum(r_own.values()) / r_run.n * 1e6:>7.0f}"
    )
    out.append("   the resend run's functions, by own time:")
    out.append(profile_text(r_prof, "tottime", 15))
    return "\n".join(out)


async def section_resend(work: Path, n: int, rounds: int, profile: bool) -> list[Row]:
    root = work / "resend"
    root.mkdir()
    path = root / "resend.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    await prepare_demo_database_async(url)
    services = Services(Database(url))
    sim = SimulatorProcess(root)
    runs: list[Run] = []
    profile_out = ""
    started = time.perf_counter()
    try:
        async with services.db.write() as session:
            await session.execute(sa.update(Account).values(credits=100_000_000))
        b = ResendBench(sim, services, path, CONCURRENCY)
        await b.plain(WARMUP)
        await b.resend(WARMUP)
        for r in range(rounds):
            _progress(f"  dispatch round {r + 1}/{rounds} ({time.perf_counter() - started:.0f} s)")
            if r % 2 == 0:
                runs.append(await b.plain(n))
                runs.append(await b.resend(n))
            else:
                runs.append(await b.resend(n))
                runs.append(await b.plain(n))
        plain = max((x for x in runs if x.label == "plain"), key=lambda x: x.rate)
        resend = max((x for x in runs if x.label == "resend"), key=lambda x: x.rate)
        ratio = resend.rate / plain.rate
        if profile or ratio < TARGET_RATIO:
            _progress("  profiling one plain and one resend run …")
            m = min(n, PROFILE_MESSAGES)
            p_prof, r_prof = cProfile.Profile(), cProfile.Profile()
            p_run = await b.plain(m, prof=p_prof)
            r_run = await b.resend(m, prof=r_prof)
            profile_out = dispatch_diagnosis((p_run, p_prof), (r_run, r_prof))
    finally:
        sim.stop()
        await services.db.dispose()

    print(
        f"2. bulk resend: {n:,} messages, Dispatcher(concurrency {CONCURRENCY}).run_once() over "
        "loopback HTTPS to `bannertui provider-sim`\n   (child process), fresh demo database; "
        f"{rounds} rounds, order alternating, after {WARMUP} warm-up sends of each"
    )
    header = (
        f"{'round':>5} {'path':<6} {'resend_failed s':>15} {'to accepted s':>13} "
        f"{'msgs/s':>7} {'to return s':>11} {'msgs/s':>7} {'cli µs/msg':>10} "
        f"{'sim µs/msg':>10}  checks"
    )
    print(header)
    print("-" * len(header))
    for i, run in enumerate(runs):
        print(
            f"{i // 2 + 1:>5} {run.label:<6} "
            f"{(f'{run.resend_s:.2f}' if run.label == 'resend' else '-'):>15} "
            f"{run.to_accepted:>13.2f} {run.rate:>7.0f} {run.to_return:>11.2f} "
            f"{run.rate_return:>7.0f} {run.client_cpu / run.n * 1e6:>10.0f} "
            f"{run.server_cpu / run.n * 1e6:>10.0f}  {'OK' if run.ok else 'MISMATCH'}: "
            f"{run.detail}"
        )
    ratio_return = resend.rate_return / plain.rate_return
    pairs = [
        next(x for x in runs[k : k + 2] if x.label == "resend").rate
        / next(x for x in runs[k : k + 2] if x.label == "plain").rate
        for k in range(0, len(runs), 2)
    ]
    cpu = {
        label: statistics.median(x.client_cpu / x.n for x in runs if x.label == label)
        for label in ("plain", "resend")
    }
    verified = all(x.ok for x in runs)
    verdict = "PASS" if ratio >= TARGET_RATIO and verified else "FAIL"
    resend_times = [x.resend_s for x in runs if x.label == "resend"]
    resend_med = statistics.median(resend_times)
    print()
    print(
        f"   best of each: resend {resend.rate:.0f} / plain {plain.rate:.0f} msgs/s = "
        f"{ratio:.2f}× (to the last accepted send; to run_once's return: {ratio_return:.2f}×)"
    )
    print(
        f"   each round's resend / plain: {', '.join(f'{x:.2f}' for x in pairs)}; client CPU "
        f"per message, medians: plain {cpu['plain'] * 1e6:.0f} µs, resend "
        f"{cpu['resend'] * 1e6:.0f} µs (plain / resend = {cpu['plain'] / cpu['resend']:.2f})"
    )
    print(
        f"   resend_failed({n:,} ids) itself: {', '.join(f'{t:.2f}' for t in resend_times)} s "
        f"({n / resend_med:,.0f} msgs/s; {resend_med / resend.to_accepted * 100:.1f} % of the "
        f"best resend run; {n // RESEND_CHUNK} transactions of {RESEND_CHUNK})"
    )
    print(
        "   verify: every send accepted once, every message sent, balance debited once per "
        f"resent message: {'OK' if verified else 'MISMATCH'}"
    )
    print(f"   target: resend ≥ {TARGET_RATIO:.1f}× the plain rate: {verdict}")
    if profile_out:
        print(profile_out)
    print()
    return [
        (
            f"2. resend {n:,} → accepted, msgs/s (plain)",
            f"{resend.rate:.0f} ({plain.rate:.0f})",
            "figure",
            "-",
        ),
        (
            "2. ratio resend / plain rate, best of each",
            f"{ratio:.2f}",
            f"≥ {TARGET_RATIO:.1f}",
            verdict,
        ),
        (
            "2. ratio resend / plain, each round",
            ", ".join(f"{x:.2f}" for x in pairs),
            "figure",
            "-",
        ),
        (
            "2. client CPU/msg ratio plain / resend",
            f"{cpu['plain'] / cpu['resend']:.2f}",
            "figure",
            "-",
        ),
        (f"2. resend_failed({n:,}) itself, median s", f"{resend_med:.2f}", "figure", "-"),
    ]


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES, metavar="N")
    parser.add_argument("--resend", type=int, default=DEFAULT_RESEND, metavar="M")
    parser.add_argument("--rounds", type=int, default=ROUNDS, metavar="R", help="over 7 views")
    parser.add_argument(
        "--dispatch-rounds", type=int, default=DISPATCH_ROUNDS, metavar="R", help="of part 2"
    )
    parser.add_argument("--profile", action="store_true", help="diagnose even when passing")
    parser.add_argument("--only", choices=("1", "2"), action="append", help="these parts only")
    args = parser.parse_args()
    if args.messages < BATCH or args.resend < 100 or min(args.rounds, args.dispatch_rounds) < 1:
        parser.error(f"--messages ≥ {BATCH:,}, --resend ≥ 100, --rounds and --dispatch-rounds ≥ 1")
    return args


async def bench(args: argparse.Namespace, work: Path) -> list[Row]:
    only = set(args.only or "12")
    rows: list[Row] = []
    if "1" in only:
        t0 = time.perf_counter()
        rows += await section_screen(work, args.messages, args.rounds, args.profile)
        rows.append(("1. runtime of part 1", f"{time.perf_counter() - t0:.0f} s", "figure", "-"))
    if "2" in only:
        _progress("bulk resend …")
        t0 = time.perf_counter()
        rows += await section_resend(work, args.resend, args.dispatch_rounds, args.profile)
        rows.append(("2. runtime of part 2", f"{time.perf_counter() - t0:.0f} s", "figure", "-"))
    return rows


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bannertui-bench-inbox-"))
    print(
        f"bench_inbox: {args.messages:,} messages, resend {args.resend:,}; Textual "
        f"{textual.__version__}, SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average at start "
        f"{os.getloadavg()[0]:.2f}"
    )
    print()
    try:
        summary = asyncio.run(bench(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary.append(("total runtime", f"{time.perf_counter() - started:.0f} s", "figure", "-"))
    summary.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.2f}", "figure", "-"))

    print_summary(summary)


if __name__ == "__main__":
    main()
