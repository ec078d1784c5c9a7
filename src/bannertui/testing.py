"""A ready app on a temporary demo database, for testers' pytest suites.

    from bannertui.testing import demo_app

    async def test_banner(tmp_path):
        app = demo_app(tmp_path, login="alice")
        async with app.run_test() as pilot:
            await pilot.app.workers.wait_for_complete()
            ...

Works with ``snap_compare`` too (the database is prepared before the app's loop starts).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.dom import DOMNode
from textual.pilot import Pilot
from textual.widgets import Input, TextArea
from textual.worker import WorkerCancelled

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.store.database import Database, sqlite_path
from bannertui.store.migrate import upgrade
from bannertui.store.seed import seed
from bannertui.ui.app import BannerApp

#: The instant the demo history is seeded relative to, so screens are reproducible.
DEMO_NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def _migrate_and_seed(url: str, now: datetime) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        await seed(db, now=now)
    finally:
        await db.dispose()


#: SQLite databases made once in this process, by name: a test's database is a copy (a few
#: milliseconds) instead of eight migrations and the seed.
_TEMPLATES: dict[str, Path] = {}
_TEMPLATES_LOCK = threading.Lock()


def sqlite_template(name: str, prepare: Callable[[str], Coroutine[Any, Any, None]]) -> Path:
    """The SQLite file ``prepare(url)`` made, the first time in this process (on a loop of its
    own: call it from a thread, e.g. ``asyncio.to_thread``), checkpointed so that the file
    alone is the whole database: copy it, don't open it."""
    with _TEMPLATES_LOCK:
        path = _TEMPLATES.get(name)
        if path is None:
            directory = Path(tempfile.mkdtemp(prefix="bannertui-template-"))
            atexit.register(shutil.rmtree, directory, True)
            path = directory / "template.sqlite3"
            asyncio.run(prepare(f"sqlite+aiosqlite:///{path}"))
            with contextlib.closing(sqlite3.connect(path)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            _TEMPLATES[name] = path
        return path


async def prepare_demo_database_async(url: str, now: datetime = DEMO_NOW) -> None:
    """Migrate and seed the demo database at ``url``.  A new SQLite file is a copy of one
    prepared once per process (the same migrations and seed, run once)."""
    path = sqlite_path(url)
    if path is None or path.exists():
        await _migrate_and_seed(url, now)
        return
    template = await asyncio.to_thread(
        sqlite_template, f"demo {now.isoformat()}", lambda u: _migrate_and_seed(u, now)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(shutil.copy, template, path)


def prepare_demo_database(directory: Path, now: datetime = DEMO_NOW) -> str:
    """Create, migrate and seed ``directory/demo.sqlite3``; returns its URL.

    Usable from sync and async tests alike: inside a running event loop the preparation runs
    on a loop of its own in a helper thread.
    """
    url = f"sqlite+aiosqlite:///{Path(directory) / 'demo.sqlite3'}"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(prepare_demo_database_async(url, now))
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, prepare_demo_database_async(url, now)).result()
    return url


def app_for(
    url: str,
    login: str = "alice",
    *,
    runtime_dir: Path | None = None,
    replies: list[str] | None = None,
) -> BannerApp:
    """The app on an existing database, logged in as ``login``.

    With ``runtime_dir``, the app also runs the provider simulator, the webhook receiver and
    the dispatcher (as ``bannertui demo`` does), with short delays: a sent message is
    delivered within about a second and each send gets a scripted reply (``replies``).
    """
    from bannertui.gateway import http_gateway

    services = Services(Database(url), gateways=http_gateway, secrets_dir=runtime_dir)
    runtime = None
    if runtime_dir is not None:
        from bannertui.runtime import DEMO_REPLIES, DemoRuntime

        runtime = DemoRuntime(
            services,
            runtime_dir,
            replies=list(DEMO_REPLIES if replies is None else replies),
            receipt_delay_s=0.2,
            reply_delay_s=0.4,
        )
    return BannerApp(services, Actor(login), runtime=runtime)


def demo_app(
    directory: Path,
    login: str = "alice",
    now: datetime = DEMO_NOW,
    *,
    simulator: bool = False,
    replies: list[str] | None = None,
) -> BannerApp:
    """The app on a fresh demo database in ``directory``; ``simulator=True`` adds the
    simulator, webhook receiver and dispatcher (see :func:`app_for`)."""
    url = prepare_demo_database(directory, now)
    return app_for(
        url, login, runtime_dir=directory / "runtime" if simulator else None, replies=replies
    )


#: The least time a wait gives its condition.  A condition is checked every 50 ms, so a long
#: timeout costs nothing when it holds; on a loaded machine (other processes on every core) a
#: step that takes 0.1 s idle can take several seconds, and a test must not fail for that.
WAIT_FLOOR_SECONDS = 30.0


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = WAIT_FLOOR_SECONDS
) -> None:
    """Let the app run until ``condition()`` holds (live updates, deliveries, replies).

    ``timeout`` is raised to :data:`WAIT_FLOOR_SECONDS` when shorter: it only bounds how long
    a failing test takes to say so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(timeout, WAIT_FLOOR_SECONDS)
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {max(timeout, WAIT_FLOOR_SECONDS)} s")
        await pilot.pause(0.05)


#: Longer than the slowest change poll of a screen (the inbox checks every 0.5 s): a reload
#: that follows a write (such as "mark read") has happened after this pause.
QUIET_SECONDS = 0.6


async def workers_done(
    pilot: Pilot[Any], *, skip: frozenset[str] = frozenset(), timeout: float = WAIT_FLOOR_SECONDS
) -> None:
    """Wait for the app's workers, except those named in ``skip`` (workers that wait on a
    dialog they opened, such as ``start_new``, end only when the dialog does)."""
    workers = [w for w in pilot.app.workers if w.name not in skip]
    if workers:
        # A worker cancelled meanwhile (replaced by a newer one of its group, or its pane
        # gone) is done too; one that failed is the test's failure.
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(w.wait() for w in workers), return_exceptions=True), timeout
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, WorkerCancelled):
                raise outcome
    # And nothing is still being mounted: a test that ends then (the pilot's exit) tears the
    # widgets down under a mount, which Textual does not survive (a Select whose Mount came
    # after its overlay was removed raised NoMatches, under load).
    building = getattr(pilot.app, "_building", None)
    if building is not None:
        await wait_until(pilot, lambda: not building(), timeout=timeout)


def freeze(pilot: Pilot[Any]) -> None:
    """Make the screen reproducible: no cursor blink (a 0.5 s timer could catch the cursor
    hidden) and the footer's bindings as the app means them now."""
    for screen in pilot.app.screen_stack:
        for widget in screen.query("TextArea, Input"):
            if isinstance(widget, TextArea | Input) and widget.cursor_blink:
                widget.cursor_blink = False
                if isinstance(widget, TextArea):
                    # A TextArea caches its lines under the same key whether its cursor
                    # blinked away or does not blink: a line drawn in a "blinked away"
                    # half-second (more than 0.5 s between the last key and now, as on a
                    # loaded machine) would stay drawn without its cursor.  Forget them.
                    widget.notify_style_update()
                    widget.refresh()
    pilot.app.screen.refresh_bindings()


async def settle(
    pilot: Pilot[Any], *, skip: frozenset[str] = frozenset(), quiet: float = QUIET_SECONDS
) -> None:
    """Let the app run until two screenshots in a row, ``quiet`` seconds apart with every
    worker done, are identical (for snapshots: under load a reload or a scroll may land one
    frame later than on an idle machine)."""
    previous = None
    for _ in range(30):
        await workers_done(pilot, skip=skip)
        await pilot.pause(quiet)
        await workers_done(pilot, skip=skip)
        freeze(pilot)
        await pilot.pause()
        await pilot.pause()
        shot = pilot.app.export_screenshot()
        if shot == previous:
            return
        previous = shot
    raise AssertionError("the screen kept changing")


async def wait_for_screen(
    pilot: Pilot[Any],
    name: str,
    *,
    skip: frozenset[str] = frozenset(),
    timeout: float = WAIT_FLOOR_SECONDS,
) -> None:
    """Let the app run until the screen class ``name`` is on top, then until its workers end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(timeout, WAIT_FLOOR_SECONDS)
    while type(pilot.app.screen).__name__ != name:
        if loop.time() > deadline:
            raise TimeoutError(f"{name} did not open (screen: {pilot.app.screen!r})")
        await pilot.pause(0.02)
    await workers_done(pilot, skip=skip)
    await pilot.pause()


def shown_pane(screen: DOMNode) -> Any:
    """The conversation pane the Banner ``screen`` shows (the panes of conversations switched
    away from are kept, hidden, for switching back), or None."""
    from bannertui.ui.widgets.conversation import ConversationPane

    for pane in screen.query(ConversationPane):
        if pane.display:
            return pane
    return None


def text_of(widget: Any) -> str:
    """What a Static (or any widget) shows, as plain text."""
    return str(widget.render())


def notifications(app: Any) -> list[str]:
    """The messages of the app's notifications still on screen, oldest first."""
    return [str(n.message) for n in app._notifications]


def notices(app: Any) -> list[tuple[str, str]]:
    """(message, severity) of the app's notifications still on screen, oldest first."""
    return [(str(n.message), str(n.severity)) for n in app._notifications]


async def demo_url(directory: Path) -> str:
    """A migrated and seeded demo database in ``directory``, from an async test; its URL."""
    url = f"sqlite+aiosqlite:///{Path(directory) / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    return url
