"""How fast is the Banner? Three figures, each beside a baseline measured in the same run.

a. Start-up: from constructing the app (``app_for``: Database, Services, BannerApp) to the
   first frame written to the driver that shows a usable Banner — ``#agent-info`` names the
   agent and ``#interactions`` lists her open interactions — on a demo database with 12,000
   more messages (alice's two conversations and the inbox), beside a minimal Textual app
   (Header, Input, Footer) from construction to its first frame. Both through
   ``App.run_test()`` (headless, 80×24); 10 runs of each, alternating,
   after one cold run of each (reported apart); each Banner run on a fresh copy of the file.
b. Opening a conversation of 100,000 messages: from highlighting it in ``#interactions`` to
   its ThreadView showing the latest page, beside opening an empty conversation, in the same
   app (before each open the Banner goes back to another conversation and settles). Time:
   10 opens of each, alternating. Memory: tracemalloc, in a second pass (tracing slows
   everything): the peak of what the open allocates; and the RSS growth of the timed pass.
c. Keystroke cost in the message editor, the counter at 1,224 characters: in the Smart
   conversation the editor holds 1,223 characters, then N ``pilot.press("a")`` /
   ``pilot.press("backspace")`` pairs (1,224 ↔ 1,223 characters, 8 credits), beside the same
   presses in a minimal app holding one plain TextArea of the same size and text (no
   counter). ``pilot.press`` waits for the app to go idle (Textual's ``wait_for_idle``
   sleeps in 20 ms steps), so its wall time is mostly sleep: the figure is the process CPU
   time per keystroke, net of the app's idle CPU (the Banner's 0.25 s change poll, cursor
   blink) measured right after over the same wall time. It includes: pilot's dispatch (the
   key event through driver → app → screen → focused TextArea, bindings checked, and
   ``pilot._wait_for_screen()``, which queues a callback on every widget of the screen), the
   TextArea edit (document, soft wrap), the messages that follow (TextArea.Changed →
   MessageEditor → CreditCounter ``measure()`` + ``update()``; MessageEditor.Changed → the
   pane's Send button), layout and repaint into the headless driver.

How "shows" is detected: the condition is checked every ``POLL_S`` (``asyncio.sleep``, so the
app and its database threads run in between), then one ``pilot.pause(0)`` (the screen has
processed what is pending and painted) before the clock stops. Not a tight
``pilot.pause(0)`` loop: each pause queues a callback on every widget and paints, and a loop
that never sleeps keeps the GIL from the aiosqlite threads (each query hands the GIL over a
few times); here that made the Banner's start-up median 881 ms instead of ~60 ms.

Run: ``.venv/bin/python bench/bench_ui.py [--runs N] [--presses N] [--profile] [--only a|b|c]``
(``--profile``: the diagnostics of every figure even when it passes). A figure that misses its
target gets its diagnostics anyway: a cProfile, a timeline, and "what would help" runs in which
a few src methods are replaced in this process only (restored right after; no file changes).
Prints figures and PASS/FAIL against the targets; exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import textual
from sqlmodel import col
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer, Header, Input, OptionList, Static, TextArea
from textual.worker import WorkerCancelled

from _report import print_summary
from bannertui.domain.enums import (
    Direction,
    InteractionStatus,
    MessageStatus,
    MessageType,
    folder_for,
)
from bannertui.domain.sms import measure
from bannertui.services.changes import ChangeWatcher
from bannertui.store.database import Database
from bannertui.store.models import Agent, Interaction, Message, Queue
from bannertui.testing import DEMO_NOW, app_for, prepare_demo_database_async
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.widgets.conversation import ConversationPane
from bannertui.ui.widgets.credit_counter import CreditCounter
from bannertui.ui.widgets.message_editor import MessageEditor, _MessageTextArea
from bannertui.ui.widgets.thread import ThreadView

RUNS = 10
PRESSES = 200  # "a" + backspace pairs
ATTRIBUTION_PRESSES = 40  # pairs per "what would help" run
KEY_ROUNDS = 4  # alternating with / without counter rounds of (c)
HISTORY = 12_000  # extra messages of the start-up database
BIG = 100_000  # messages of the big conversation
BATCH = 10_000  # rows per insert transaction
MEMORY_RUNS = 3
SIZE = (80, 24)
POLL_S = 0.001  # see the module docstring

TARGET_START_RATIO = 1.3
TARGET_OPEN_MS = 300.0
TARGET_OPEN_MB = 30.0
TARGET_KEY_MS = 1.0

MESSAGE_TABLE: sa.Table = Message.__table__  # type: ignore[attr-defined]
INTERACTION_TABLE: sa.Table = Interaction.__table__  # type: ignore[attr-defined]

_TEXTS = (
    "Hello, my order has not arrived yet. Could you check with the carrier please?",
    "Your parcel left the depot this morning; it will be delivered before 18:00.",
    "Thanks! Is it possible to change the delivery address to my office?",
    "Sure: reply with the full address and the floor, we will update the label.",
    "Rappel : votre rendez-vous est confirmé pour mardi à 10 h 30. Merci d'être à l'heure.",
)

Row = tuple[str, str, str, str]  # summary: figure, value, target, result
Figure = tuple[str, str]  # figure, value


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _rss() -> int:
    """Resident set size now, in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


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


# --- databases -----------------------------------------------------------------------------


def message_row(
    n: int,
    *,
    interaction_id: int | None,
    agent_id: int | None,
    queue_id: int | None,
    local: str,
    remote: str,
    inbound: bool,
    minutes_ago: float,
) -> dict[str, Any]:
    """One ``message`` row, every column but id (as ``bench_store.py`` writes them)."""
    text = _TEXTS[n % len(_TEXTS)]
    m = measure(text)
    direction = Direction.INBOUND if inbound else Direction.OUTBOUND
    status = MessageStatus.RECEIVED if inbound else MessageStatus.DELIVERED
    at = DEMO_NOW - timedelta(minutes=minutes_ago)
    return {
        "interaction_id": interaction_id,
        "agent_id": agent_id,
        "queue_id": queue_id,
        "direction": direction.value,
        "from_number": remote if inbound else local,
        "to_number": local if inbound else remote,
        "remote_number": remote,
        "text": text,
        "encoding": m.encoding.value,
        "credits": 0 if inbound else m.credits,
        "type": MessageType.NOTIFICATION.value,
        "sender": None if inbound else local,
        "ret_id": None if inbound else f"bench-ui-{n}",
        "provider_message_id": f"bench-ui-in-{n}" if inbound else None,
        "status": status.value,
        "folder": folder_for(direction, status).value,
        "error": None,
        "attempts": 0 if inbound else 1,
        "next_attempt_at": None,
        "claimed_by": None,
        "claimed_at": None,
        "scheduled_at": None,
        "created_at": at,
        "sent_at": None if inbound else at,
        "delivered_at": None if inbound else at,
        "deleted": False,
        "deleted_from": None,
        "deleted_at": None,
    }


async def insert_messages(db: Database, rows: list[dict[str, Any]]) -> None:
    """SQLAlchemy Core ``insert(message)`` executemany, BATCH rows per transaction."""
    for first in range(0, len(rows), BATCH):
        async with db.write() as session:
            await session.execute(sa.insert(MESSAGE_TABLE), rows[first : first + BATCH])


async def alice_conversations(db: Database) -> list[Interaction]:
    async with db.read() as s:
        alice = await s.scalar(sa.select(col(Agent.id)).where(col(Agent.login) == "alice"))
        rows = await s.scalars(
            sa.select(Interaction)
            .where(col(Interaction.agent_id) == alice)
            .order_by(col(Interaction.id))
        )
        return list(rows.all())


async def count_messages(db: Database) -> int:
    async with db.read() as s:
        return int(await s.scalar(sa.select(sa.func.count()).select_from(Message)) or 0)


async def make_history_db(path: Path) -> int:
    """The demo data + HISTORY messages: 40 % in alice's open Support conversation, 20 % in
    her closed Sales one, 40 % in the inbox (her direct sends, unrouted inbound), over the
    last 30 days.  Returns the number of messages."""
    url = f"sqlite+aiosqlite:///{path}"
    await prepare_demo_database_async(url)
    db = Database(url)
    try:
        support, sales = (await alice_conversations(db))[:2]
        rows = []
        for n in range(HISTORY):
            slot = n % 5
            ago = 60 * 24 * 30 * (1 - n / HISTORY) + 60
            if slot < 3:
                c = support if slot < 2 else sales
                rows.append(
                    message_row(
                        n,
                        interaction_id=c.id,
                        agent_id=c.agent_id,
                        queue_id=c.queue_id,
                        local=c.local_number or "",
                        remote=c.remote_number,
                        inbound=n % 2 == 0,
                        minutes_ago=ago,
                    )
                )
            else:
                inbound = slot == 4
                rows.append(
                    message_row(
                        n,
                        interaction_id=None,
                        agent_id=None if inbound else support.agent_id,
                        queue_id=None,
                        local="+33757000001",
                        remote=f"+336130{n % 100_000:05d}",
                        inbound=inbound,
                        minutes_ago=ago,
                    )
                )
        await insert_messages(db, rows)
        return await count_messages(db)
    finally:
        await db.dispose()


@dataclass(frozen=True)
class BigDb:
    url: str
    support_id: int  # the demo's open conversation: where the Banner goes between opens
    big_id: int
    empty_id: int
    big_last_id: int
    messages: int


async def make_big_db(path: Path) -> BigDb:
    """The demo data + two more open conversations of alice's: BIG messages, and none."""
    url = f"sqlite+aiosqlite:///{path}"
    await prepare_demo_database_async(url)
    db = Database(url)
    try:
        support = (await alice_conversations(db))[0]
        async with db.read() as s:
            sales = await s.scalar(sa.select(col(Queue.id)).where(col(Queue.name) == "Sales"))
        ids = []
        async with db.write() as s:
            for remote, queue in (("+33612000020", support.queue_id), ("+33612000021", sales)):
                inter = Interaction(
                    channel="sms",
                    status=InteractionStatus.PROGRESSING,
                    queue_id=queue,
                    agent_id=support.agent_id,
                    remote_number=remote,
                    local_number=support.local_number,
                    created_at=DEMO_NOW - timedelta(days=200),
                    assigned_at=DEMO_NOW - timedelta(days=200),
                    last_message_at=DEMO_NOW - timedelta(minutes=5),
                    unread=0,
                )
                s.add(inter)
                await s.flush()
                ids.append(int(inter.id or 0))
            # No unread marker anywhere: opening writes nothing (mark_read), so every open
            # is the same work.
            await s.execute(sa.update(INTERACTION_TABLE).values(unread=0))
        big_id, empty_id = ids
        rows = [
            message_row(
                n,
                interaction_id=big_id,
                agent_id=support.agent_id,
                queue_id=support.queue_id,
                local=support.local_number or "",
                remote="+33612000020",
                inbound=n % 2 == 0,
                minutes_ago=(BIG - n) * 2 + 5,
            )
            for n in range(BIG)
        ]
        await insert_messages(db, rows)
        async with db.read() as s:
            last = await s.scalar(
                sa.select(sa.func.max(col(Message.id))).where(col(Message.interaction_id) == big_id)
            )
        total = await count_messages(db)
    finally:
        await db.dispose()
    return BigDb(url, int(support.id or 0), big_id, empty_id, int(last or 0), total)


def quiet_gc() -> None:
    """Collect, then freeze what survives, before a measured stretch. The process keeps
    objects of the apps run before (Textual's ``StylesCache.get_inner_outer`` is an
    ``lru_cache(1024)`` whose keys hold old widgets' style caches): unfrozen, a gen-2
    collection over them (70-180 ms, growing run after run) landed in some start-ups."""
    gc.collect()
    gc.freeze()


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- apps and conditions -------------------------------------------------------------------


class MinimalApp(App[None]):
    """The baseline of (a): what any Textual app costs to start."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Type something")
        yield Footer()


class StylesOnlyApp(MinimalApp):
    """The minimal app with the Banner's three stylesheets: what parsing them costs."""

    CSS_PATH = BannerApp.CSS_PATH


class EditorApp(App[None]):
    """The baseline of (c): one plain TextArea, the size of the Banner's, no counter."""

    def __init__(self, text: str, width: int, height: int) -> None:
        super().__init__()
        self.text = text
        self.area_width = width
        self.area_height = height

    def compose(self) -> ComposeResult:
        area = TextArea(self.text, soft_wrap=True, tab_behavior="focus", id="message-text")
        area.styles.width = self.area_width
        area.styles.height = self.area_height
        yield area

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)


def banner(app: App[Any]) -> BannerScreen | None:
    screen = app.screen
    return screen if isinstance(screen, BannerScreen) else None


def banner_usable(app: App[Any], name: str, count: int) -> bool:
    screen = banner(app)
    if screen is None:
        return False
    info = str(screen.query_one("#agent-info", Static).render())
    return name in info and screen.query_one("#interactions", OptionList).option_count == count


def any_thread(app: App[Any]) -> bool:
    screen = banner(app)
    if screen is None:
        return False
    views = screen.query(ThreadView)
    return bool(views) and bool(views.first().messages)


def pane_of(app: App[Any], interaction_id: int) -> ConversationPane | None:
    screen = banner(app)
    if screen is None:
        return None
    pane = screen._pane()
    if isinstance(pane, ConversationPane) and pane.item.id == interaction_id:
        return pane
    return None


def thread_shown(app: App[Any], interaction_id: int, last_id: int | None) -> bool:
    """The pane of ``interaction_id`` shows its latest page (ending at ``last_id``; None: the
    conversation is empty and says so)."""
    pane = pane_of(app, interaction_id)
    if pane is None:
        return False
    views = pane.query(ThreadView)
    if not views:  # mounted, not composed yet
        return False
    view = views.first()
    if last_id is None:
        return "No message yet" in str(view.query_one("#thread-body", Static).render())
    return bool(view.messages) and view.messages[-1].id == last_id


async def poll(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Until ``condition()``, then until the screen has processed what is pending and
    painted (see the module docstring)."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(POLL_S)
    await pilot.pause(0)


class FirstFrame:
    """When the app first wrote a frame to its (headless) driver while ``condition()`` held:
    the moment a person would see it.  Installed on the app instance before it runs."""

    def __init__(self, app: App[Any], condition: Callable[[], bool]) -> None:
        self.at: float | None = None
        display = app._display

        def _display(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if self.at is None and renderable is not None and condition():
                self.at = time.perf_counter()

        app._display = _display  # type: ignore[method-assign]

    async def wait(self, timeout: float = 30.0) -> float:
        deadline = time.perf_counter() + timeout
        while self.at is None:
            if time.perf_counter() > deadline:
                raise TimeoutError("no usable frame in time")
            await asyncio.sleep(POLL_S)
        return self.at


async def settle(pilot: Pilot[Any]) -> None:
    """No worker left running, and nothing more to process (untimed)."""
    for _ in range(2):
        if pilot.app.workers:
            # an exclusive worker (a newer reload) cancels the one it replaces
            with suppress(WorkerCancelled):
                await pilot.app.workers.wait_for_complete()
        await pilot.pause()


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


def profile_pick(
    prof: cProfile.Profile, wanted: list[tuple[str, str, str]], per: int
) -> list[tuple[str, float, float]]:
    """(label, calls per unit, cumulative ms per unit) of the ``(file suffix, function,
    label)`` entries of a profile."""
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


# --- a. start-up ---------------------------------------------------------------------------


@dataclass
class StartRun:
    built: float  # constructing the app (Database, Services, BannerApp)
    running: float  # + run_test() entered: the app is running, BannerScreen pushed
    usable: float  # + agent shown and interactions listed
    thread: float  # + the highlighted conversation's thread shown


async def start_banner(
    template: Path, work: Path, expected: int, prof: cProfile.Profile | None = None
) -> StartRun:
    """One start-up on a fresh copy of ``template``; ``prof`` profiles it up to usable."""
    path = work / "run.sqlite3"
    shutil.copyfile(template, path)
    quiet_gc()
    if prof is not None:
        prof.enable()
    t0 = time.perf_counter()
    app = app_for(f"sqlite+aiosqlite:///{path}", "alice")
    t_built = time.perf_counter()
    frame = FirstFrame(app, lambda: banner_usable(app, "Alice Martin", expected))
    async with app.run_test(size=SIZE) as pilot:
        t_running = time.perf_counter()
        t_usable = await frame.wait()
        if prof is not None:
            prof.disable()
        await poll(pilot, lambda: any_thread(app))
        t_thread = time.perf_counter()
        await settle(pilot)
    await app.services.db.dispose()
    remove_db(path)
    return StartRun(t_built - t0, t_running - t0, t_usable - t0, t_thread - t0)


async def start_app(make: Callable[[], App[None]]) -> float:
    quiet_gc()
    t0 = time.perf_counter()
    app = make()
    frame = FirstFrame(app, lambda: bool(app.screen.query(Input)))
    async with app.run_test(size=SIZE) as pilot:
        t_mounted = await frame.wait()
        await settle(pilot)
    return t_mounted - t0


def import_seconds(code: str, repeats: int = 3) -> float:
    """Median wall time of a fresh interpreter running ``code`` (imports only)."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


async def section_start(work: Path, runs: int, force: bool) -> list[Figure]:
    template = work / "history.sqlite3"
    total = await make_history_db(template)
    expected = 1  # alice's open interactions in the demo data (the Sales one is closed)

    cold_banner = await start_banner(template, work, expected)
    cold_minimal = await start_app(MinimalApp)
    banners: list[StartRun] = []
    minimals: list[float] = []
    for k in range(runs):
        _progress(f"  start-up run {k + 1}/{runs}")
        if k % 2 == 0:
            banners.append(await start_banner(template, work, expected))
            minimals.append(await start_app(MinimalApp))
        else:
            minimals.append(await start_app(MinimalApp))
            banners.append(await start_banner(template, work, expected))

    usable = statistics.median(r.usable for r in banners)
    minimal = statistics.median(minimals)
    ratio = usable / minimal
    print(f"a. start-up to the first usable Banner ({total:,} messages in the database)")
    print(
        f"   {runs} runs of each, alternating, after one cold run of each; headless "
        f"{SIZE[0]}×{SIZE[1]}; each Banner run on a fresh copy of the file"
    )
    header = f"{'':<54} {'median ms':>9} {'min ms':>7} {'max ms':>7} {'cold ms':>8}"
    print(header)
    print("-" * len(header))
    lines = [
        ("Banner: app constructed (Database, Services, App)", "built"),
        ("Banner: + run_test() entered (running, screen pushed)", "running"),
        ("Banner: + agent shown, interactions listed = USABLE", "usable"),
        ("Banner: + the first conversation's thread shown", "thread"),
    ]
    for label, attr in lines:
        values = [getattr(r, attr) for r in banners]
        print(
            f"{label:<54} {_ms(statistics.median(values)):>9} {_ms(min(values)):>7} "
            f"{_ms(max(values)):>7} {_ms(getattr(cold_banner, attr)):>8}"
        )
    print(
        f"{'minimal app (Header, Input, Footer): first frame':<54} {_ms(minimal):>9} "
        f"{_ms(min(minimals)):>7} {_ms(max(minimals)):>7} {_ms(cold_minimal):>8}"
    )
    print(f"ratio usable Banner / minimal app (medians): {ratio:.2f}")
    failed = ratio > TARGET_START_RATIO
    if failed or force:
        await diagnose_start(template, work, expected)
    print()
    return [
        ("a. usable Banner, median ms (minimal app)", f"{_ms(usable)} ({_ms(minimal)})"),
        ("a. start-up ratio Banner / minimal app", f"{ratio:.2f}"),
    ]


async def timeline_start(template: Path, work: Path, expected: int) -> None:
    """One more start-up with marks: when each service call and change check starts and
    ends, and when connections open (methods wrapped for this run only)."""
    path = work / "run.sqlite3"
    shutil.copyfile(template, path)
    marks: list[tuple[float, str]] = []
    statements = 0
    t0 = time.perf_counter()

    def mark(label: str) -> None:
        marks.append((time.perf_counter() - t0, label))

    def timed(name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            mark(f"{name} …")
            try:
                return await fn(*args, **kwargs)
            finally:
                mark(f"{name} done")

        return wrapper

    orig_mount = BannerScreen.on_mount
    orig_pane_mount = ConversationPane.on_mount

    def on_mount(self: BannerScreen) -> None:
        mark("BannerScreen composed, on_mount")
        orig_mount(self)

    def pane_mount(self: ConversationPane) -> None:
        mark("ConversationPane composed, on_mount")
        orig_pane_mount(self)

    with patched(
        (ConversationPane, "on_mount", pane_mount),
        (ChangeWatcher, "changed", timed("change check: watcher.changed()", ChangeWatcher.changed)),
        (BannerScreen, "on_mount", on_mount),
        (BannerScreen, "show_snapshot", timed("show_snapshot()", BannerScreen.show_snapshot)),
    ):
        app = app_for(f"sqlite+aiosqlite:///{path}", "alice")
        mark("app constructed")
        s = app.services
        for service, name in (
            (s.conversations, "overview"),
            (s.conversations, "thread"),
            (s.outbound, "templates"),
        ):
            setattr(
                service, name, timed(f"{type(service).__name__}.{name}()", getattr(service, name))
            )

        def counted(*_a: Any) -> None:
            nonlocal statements
            statements += 1

        engine = s.db.engine.sync_engine
        sa.event.listen(engine, "before_cursor_execute", counted)
        sa.event.listen(engine, "connect", lambda *_a: mark("  a new SQLite connection"))
        async with app.run_test(size=SIZE) as pilot:
            mark("run_test() entered")
            await FirstFrame(app, lambda: banner_usable(app, "Alice Martin", expected)).wait()
            mark("USABLE: agent shown, interactions listed")
            usable_statements = statements
            await poll(pilot, lambda: any_thread(app))
            mark("thread shown")
            await settle(pilot)
        await s.db.dispose()
    remove_db(path)
    usable_at = next(at for at, label in marks if label.startswith("USABLE"))
    print("   where the time goes — one more start-up, with marks (their cost included):")
    previous = 0.0
    for at, label in marks:
        if at > usable_at:
            break
        print(f"   {at * 1000:7.1f} ms (+{(at - previous) * 1000:5.1f})  {label}")
        previous = at
    print(f"   {usable_statements} SQL statements before usable (BEGIN, queries, PRAGMAs)")


async def diagnose_start(template: Path, work: Path, expected: int) -> None:
    imp_banner = import_seconds("import bannertui.ui.app")
    imp_textual = import_seconds("import textual.app, textual.widgets; textual.widgets.Input")
    imp_python = import_seconds("pass")
    print(
        "   not in the figure (imported before the clock starts), a fresh interpreter: "
        f"`import bannertui.ui.app` {_ms(imp_banner)} ms,\n   `import textual.app, "
        f"textual.widgets` {_ms(imp_textual)} ms, nothing {_ms(imp_python)} ms"
    )
    minimal, styled = [], []
    for _ in range(5):
        minimal.append(await start_app(MinimalApp))
        styled.append(await start_app(StylesOnlyApp))
    print(
        "   the Banner's 3 stylesheets, on the minimal app: mounted in "
        f"{_ms(statistics.median(styled))} ms vs {_ms(statistics.median(minimal))} ms "
        "(medians of 5)"
    )
    await timeline_start(template, work, expected)

    prof = cProfile.Profile()
    await start_banner(template, work, expected, prof)
    wanted = [
        ("textual/css/stylesheet.py", "parse", "Stylesheet.parse (the .tcss files)"),
        ("textual/css/stylesheet.py", "apply", "Stylesheet.apply (CSS on each widget)"),
        ("textual/widget.py", "_compose", "Widget._compose (compose() of each)"),
        ("textual/screen.py", "_refresh_layout", "Screen._refresh_layout (layout)"),
        ("textual/_compositor.py", "_render_chops", "Compositor._render_chops (paint)"),
        ("bannertui/ui/screens/banner.py", "_reload", "BannerScreen._reload (main thread)"),
        ("bannertui/ui/screens/banner.py", "show_snapshot", "  of it show_snapshot"),
        ("bannertui/ui/screens/banner.py", "_show_pane", "    of it _show_pane (pane mount)"),
        ("textual/pilot.py", "_wait_for_screen", "Pilot._wait_for_screen (harness)"),
    ]
    print(
        "   cProfile of one more start-up, construction to usable, main thread (times "
        "inflated by the profiler;\n   coroutines count once per resume):"
    )
    print(f"     {'function':<44} {'calls':>6} {'cum ms':>7}")
    for label, calls, cum in profile_pick(prof, wanted, 1):
        print(f"     {label:<44} {calls:>6.0f} {cum:>7.1f}")


# --- b. a conversation of 100,000 messages -------------------------------------------------


async def back_to_support(pilot: Pilot[Any], big: BigDb) -> list[int]:
    app = pilot.app
    lst = app.screen.query_one("#interactions", OptionList)
    ids = [int(o.id or 0) for o in lst.options]
    lst.highlighted = ids.index(big.support_id)
    await poll(pilot, lambda: pane_of(app, big.support_id) is not None)
    await settle(pilot)
    quiet_gc()
    return ids


async def open_once(
    pilot: Pilot[Any], big: BigDb, target: int, last_id: int | None
) -> tuple[float, int]:
    """(seconds, RSS growth) to open ``target`` from the Support conversation, settled."""
    ids = await back_to_support(pilot, big)
    rss0 = _rss()
    t0 = time.perf_counter()
    pilot.app.screen.query_one("#interactions", OptionList).highlighted = ids.index(target)
    await poll(pilot, lambda: thread_shown(pilot.app, target, last_id))
    elapsed = time.perf_counter() - t0
    await settle(pilot)
    return elapsed, _rss() - rss0


async def open_traced(
    pilot: Pilot[Any], big: BigDb, target: int, last_id: int | None
) -> tuple[int, int]:
    """(peak, retained) bytes traced by tracemalloc while opening ``target``, settled."""
    ids = await back_to_support(pilot, big)
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    pilot.app.screen.query_one("#interactions", OptionList).highlighted = ids.index(target)
    await poll(pilot, lambda: thread_shown(pilot.app, target, last_id))
    await settle(pilot)
    current, peak = tracemalloc.get_traced_memory()
    return peak - base, current - base


async def section_open(work: Path, runs: int, force: bool) -> list[Figure]:
    t0 = time.perf_counter()
    big = await make_big_db(work / "big.sqlite3")
    _progress(f"  big database ready in {time.perf_counter() - t0:.1f} s")
    app = app_for(big.url, "alice")
    cases = [("100,000 messages", big.big_id, big.big_last_id), ("empty", big.empty_id, None)]
    times: dict[str, list[float]] = {c[0]: [] for c in cases}
    rss: dict[str, list[int]] = {c[0]: [] for c in cases}
    peaks: dict[str, list[int]] = {c[0]: [] for c in cases}
    kept: dict[str, list[int]] = {c[0]: [] for c in cases}
    prof = None
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(pilot, lambda: banner_usable(app, "Alice Martin", 3))
        await settle(pilot)
        for _label, target, last in cases:  # a first open of each, not counted
            await open_once(pilot, big, target, last)
        for k in range(runs):
            _progress(f"  open run {k + 1}/{runs}")
            for label, target, last in cases if k % 2 == 0 else cases[::-1]:
                seconds, grown = await open_once(pilot, big, target, last)
                times[label].append(seconds)
                rss[label].append(grown)
        await open_once(pilot, big, big.big_id, big.big_last_id)
        pane = pane_of(app, big.big_id)
        assert pane is not None
        view = pane.query_one(ThreadView)
        loaded, has_older = len(view.messages), view.has_older
        tracemalloc.start()
        for k in range(MEMORY_RUNS):
            for label, target, last in cases if k % 2 == 0 else cases[::-1]:
                peak, retained = await open_traced(pilot, big, target, last)
                peaks[label].append(peak)
                kept[label].append(retained)
        tracemalloc.stop()
        t_big, t_empty = (statistics.median(times[c[0]]) * 1000 for c in cases)
        mb_big, mb_empty = (statistics.median(peaks[c[0]]) / 2**20 for c in cases)
        failed = t_big > TARGET_OPEN_MS or mb_big - mb_empty > TARGET_OPEN_MB
        if failed or force:
            await back_to_support(pilot, big)
            prof = cProfile.Profile()
            prof.enable()
            await open_once(pilot, big, big.big_id, big.big_last_id)
            prof.disable()
    await app.services.db.dispose()

    print(
        "b. opening a conversation: highlighted in #interactions → its ThreadView shows the "
        f"latest page\n   database: {big.messages:,} messages; the big conversation shows "
        f"{loaded} (has older: {has_older}); {runs} opens of each, alternating, from the\n"
        "   Support conversation (settled), after one uncounted open of each; memory: "
        f"tracemalloc in {MEMORY_RUNS} more opens of each; 100×30"
    )
    header = (
        f"{'conversation':<18} {'median ms':>9} {'min ms':>7} {'max ms':>7} "
        f"{'traced peak MiB':>15} {'retained MiB':>12} {'RSS growth MiB':>14}"
    )
    print(header)
    print("-" * len(header))
    for label, _target, _last in cases:
        ts = times[label]
        print(
            f"{label:<18} {_ms(statistics.median(ts)):>9} {_ms(min(ts)):>7} {_ms(max(ts)):>7} "
            f"{statistics.median(peaks[label]) / 2**20:>15.2f} "
            f"{statistics.median(kept[label]) / 2**20:>12.2f} "
            f"{statistics.median(rss[label]) / 2**20:>14.2f}"
        )
    print(
        f"difference big - empty: {t_big - t_empty:.1f} ms, traced peak {mb_big - mb_empty:.2f} MiB"
    )
    if prof is not None:
        print("   cProfile of one more open of the big conversation, by cumulative time:")
        print(profile_text(prof, "cumulative", 25))
    print()
    return [
        ("b. open 100,000-msg conversation, median ms (empty)", f"{t_big:.1f} ({t_empty:.1f})"),
        ("b. open: traced peak MiB more than empty", f"{mb_big - mb_empty:.2f}"),
    ]


# --- c. keystrokes -------------------------------------------------------------------------


@dataclass
class KeyRun:
    wall: float  # seconds for all presses
    cpu: float  # process CPU seconds for all presses
    idle_cpu: float  # process CPU seconds over the same wall time, idle, right after
    keystrokes: int

    def us(self, seconds: float) -> float:
        return seconds / self.keystrokes * 1e6

    @property
    def net_us(self) -> float:
        return self.us(self.cpu - self.idle_cpu)


async def press_pairs(pilot: Pilot[Any], pairs: int) -> KeyRun:
    await settle(pilot)
    quiet_gc()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for _ in range(pairs):
        await pilot.press("a")
        await pilot.press("backspace")
    cpu1, t1 = time.process_time(), time.perf_counter()
    await asyncio.sleep(t1 - t0)  # the app idles: its timers run, nobody types
    return KeyRun(t1 - t0, cpu1 - cpu0, time.process_time() - cpu1, 2 * pairs)


async def screen_wait_us(pilot: Pilot[Any], n: int = 200) -> float:
    """CPU µs of one ``pilot._wait_for_screen()`` (pilot.press calls it once per press)."""
    await settle(pilot)
    cpu0 = time.process_time()
    for _ in range(n):
        await pilot._wait_for_screen()
    return (time.process_time() - cpu0) / n * 1e6


async def banner_editor(pilot: Pilot[Any]) -> tuple[TextArea, CreditCounter]:
    """Alice's Smart conversation opened (Enter), the editor holding 1,223 characters, the
    cursor at the end."""
    app = pilot.app
    await poll(pilot, lambda: any_thread(app))
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    screen = banner(app)
    assert screen is not None
    editor = screen.query_one(MessageEditor)
    editor.text = "a" * 1223
    area = editor.query_one(TextArea)
    area.move_cursor(area.document.end)
    await settle(pilot)
    assert app.focused is area
    return area, editor.query_one(CreditCounter)


async def banner_keys(url: str, pairs: int) -> KeyRun:
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await banner_editor(pilot)
        await press_pairs(pilot, 5)
        run = await press_pairs(pilot, pairs)
    await app.services.db.dispose()
    return run


def editor_without_counter() -> list[tuple[Any, str, Any]]:
    """A patch set: the same editor without its counter — the text area edits as a plain
    TextArea (no counter update inside the edit) and MessageEditor neither updates its
    counter nor posts Changed (so the Send button is left alone too)."""

    def _changed(self: MessageEditor, text: str) -> None:
        return None

    return [(MessageEditor, "_changed", _changed), (_MessageTextArea, "edit", TextArea.edit)]


async def section_keys(work: Path, pairs: int, force: bool) -> list[Figure]:
    """The target figure: the Banner's editor with its counter against the same editor in
    the same Banner without it (``editor_without_counter``: the TextArea edits, nothing is
    measured, the counter and the Send button are left alone), alternating fresh apps.  A
    minimal app holding one plain TextArea is shown beside them: the cost of the Banner's
    bigger screen, which is not the counter's."""
    url = f"sqlite+aiosqlite:///{work / 'keys.sqlite3'}"
    await prepare_demo_database_async(url)
    app: BannerApp = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        area, counter = await banner_editor(pilot)
        size, box = area.size, area.region.size  # the text; with border and padding
        await pilot.press("a")
        at_limit = (counter.measure.characters, counter.measure.credits, counter.over_limit)
        await pilot.press("backspace")
        assert at_limit == (1224, 8, False), at_limit
        assert counter.measure.characters == 1223
        await press_pairs(pilot, 10)  # warm-up
        ours_wait = await screen_wait_us(pilot)
        widgets = len(list(app.screen.walk_children(with_self=True)))
    await app.services.db.dispose()

    rounds = KEY_ROUNDS
    with_counter: list[KeyRun] = []
    without: list[KeyRun] = []
    for _ in range(rounds):
        with_counter.append(await banner_keys(url, pairs // rounds))
        with patched(*editor_without_counter()):
            without.append(await banner_keys(url, pairs // rounds))

    plain = EditorApp("a" * 1223, box.width, box.height)
    async with plain.run_test(size=SIZE) as pilot:
        plain_area = plain.query_one(TextArea)
        await settle(pilot)
        assert plain.focused is plain_area
        assert plain_area.size == size, (plain_area.size, size)
        await press_pairs(pilot, 10)
        theirs = await press_pairs(pilot, pairs)
        assert len(plain_area.text) == 1223
        theirs_wait = await screen_wait_us(pilot)

    ours_us = statistics.median(r.net_us for r in with_counter)
    bare_us = statistics.median(r.net_us for r in without)
    diff_ms = (ours_us - bare_us) / 1000
    failed = diff_ms > TARGET_KEY_MS
    print(
        f"c. keystrokes in the editor at 1,223 ↔ 1,224 characters ({pairs} 'a' + backspace "
        f"pairs = {2 * pairs} presses,\n   in {rounds} alternating rounds of fresh apps; text "
        f"area {size.width}×{size.height} with soft wrap; the Banner's screen has {widgets} "
        "widgets)"
    )
    header = (
        f"{'app':<46} {'wall µs/key':>11} {'CPU µs/key':>10} {'idle CPU µs/key':>15} "
        f"{'net CPU µs/key':>14}"
    )
    print(header)
    print("-" * len(header))
    for label, runs in (
        ("Banner: Smart conversation, with counter", with_counter),
        ("Banner: the same editor without the counter", without),
        ("minimal app: plain TextArea", [theirs]),
    ):
        print(
            f"{label:<46} {statistics.median(r.us(r.wall) for r in runs):>11.0f} "
            f"{statistics.median(r.us(r.cpu) for r in runs):>10.0f} "
            f"{statistics.median(r.us(r.idle_cpu) for r in runs):>15.0f} "
            f"{statistics.median(r.net_us for r in runs):>14.0f}"
        )
    print(
        f"the counter's cost (net CPU, medians): {diff_ms * 1000:.0f} µs per keystroke; "
        f"rounds with / without: {', '.join(f'{r.net_us:.0f}' for r in with_counter)} / "
        f"{', '.join(f'{r.net_us:.0f}' for r in without)}\n"
        f"the Banner's bigger screen over a plain TextArea app: "
        f"{(bare_us - theirs.net_us) / 1000:.2f} ms per keystroke, of which "
        f"{(ours_wait - theirs_wait) / 1000:.2f} ms is pilot._wait_for_screen() (a callback "
        "queued on every widget: a test-harness cost)"
    )
    if failed or force:
        await diagnose_keys(url, pairs)
    print()
    return [
        (
            "c. keystroke net CPU µs, with counter (without)",
            f"{ours_us:.0f} ({bare_us:.0f})",
        ),
        ("c. keystroke: ms more than without the counter", f"{diff_ms:.2f}"),
        (
            "c. Banner without counter over a plain TextArea app, ms",
            f"{(bare_us - theirs.net_us) / 1000:.2f}",
        ),
    ]


async def diagnose_keys(url: str, pairs: int) -> None:
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await banner_editor(pilot)
        await press_pairs(pilot, 5)
        prof = cProfile.Profile()
        prof.enable()
        await press_pairs(pilot, pairs // 4)
        prof.disable()
    await app.services.db.dispose()
    keys = 2 * (pairs // 4)
    wanted = [
        ("widgets/_text_area.py", "_on_key", "TextArea._on_key (the edit)"),
        ("bannertui/ui/widgets/message_editor.py", "_on_text", "MessageEditor._on_text"),
        ("bannertui/domain/sms.py", "measure", "  of it measure()"),
        ("bannertui/ui/widgets/credit_counter.py", "_show", "  of it CreditCounter._show"),
        ("bannertui/ui/widgets/conversation.py", "_edited", "ConversationPane._edited"),
        ("textual/screen.py", "_refresh_layout", "Screen._refresh_layout (layout)"),
        ("textual/_compositor.py", "_render_chops", "Compositor._render_chops (repaint)"),
        ("textual/widget.py", "render_lines", "Widget.render_lines (widgets drawn)"),
        ("textual/pilot.py", "_wait_for_screen", "Pilot._wait_for_screen"),
    ]
    print(
        f"   cProfile of {keys} more keystrokes in the Banner (times inflated by the "
        "profiler; compare rows, not with the figures above):"
    )
    print(f"     {'function':<40} {'calls/key':>9} {'cum ms/key':>10}")
    for label, calls, cum in profile_pick(prof, wanted, keys):
        print(f"     {label:<40} {calls:>9.1f} {cum:>10.2f}")

    variants: list[tuple[str, list[Any]]] = [
        ("as is", []),
        ("editor without counter (no Changed either)", editor_without_counter()),
    ]
    results: dict[str, list[float]] = {label: [] for label, _ in variants}
    for _ in range(2):
        for label, changes in variants:
            with patched(*changes):
                results[label].append((await banner_keys(url, ATTRIBUTION_PRESSES)).net_us)
    print(
        "   what would help (src replaced in this process only; net CPU µs/key, median of 2 "
        f"runs of {ATTRIBUTION_PRESSES} pairs):"
    )
    for label, _ in variants:
        print(f"     {label:<44} {statistics.median(results[label]):>7.0f}")


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=RUNS, metavar="N")
    parser.add_argument("--presses", type=int, default=PRESSES, metavar="N", help="pairs")
    parser.add_argument("--profile", action="store_true", help="diagnose every figure")
    parser.add_argument(
        "--only", choices=("a", "b", "c"), action="append", help="run these figures only"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.presses < 4:
        parser.error("--runs must be ≥ 1 and --presses ≥ 4")
    return args


async def bench(args: argparse.Namespace, work: Path) -> list[Figure]:
    only = set(args.only or "abc")
    figures: list[Figure] = []
    if "a" in only:
        figures += await section_start(work, args.runs, args.profile)
    if "b" in only:
        figures += await section_open(work, args.runs, args.profile)
    if "c" in only:
        figures += await section_keys(work, args.presses, args.profile)
    return figures


def judge(figure: str, value: str) -> tuple[str, str]:
    """(target, result) of a summary figure."""
    number = float(value.split()[0])
    targets = {
        "a. start-up ratio Banner / minimal app": TARGET_START_RATIO,
        "b. open 100,000-msg conversation, median ms (empty)": TARGET_OPEN_MS,
        "b. open: traced peak MiB more than empty": TARGET_OPEN_MB,
        "c. keystroke: ms more than without the counter": TARGET_KEY_MS,
    }
    if figure not in targets:
        return "figure", "-"
    target = targets[figure]
    return f"≤ {target:g}", "PASS" if number <= target else "FAIL"


def main() -> None:
    args = parse_args()
    os.environ["TZ"] = "UTC"
    time.tzset()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bannertui-bench-ui-"))
    print(
        f"bench_ui: Textual {textual.__version__}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f}"
    )
    print()
    try:
        figures = asyncio.run(bench(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary: list[Row] = [(f, v, *judge(f, v)) for f, v in figures]
    summary.append(("total runtime", f"{time.perf_counter() - started:.0f} s", "figure", "-"))
    summary.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.2f}", "figure", "-"))

    print_summary(summary)


if __name__ == "__main__":
    main()
