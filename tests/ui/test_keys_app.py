"""The app's own keys through the pilot (issue #23 items 2 and 5): F-keys, ctrl+p and ctrl+q
win over a focused widget's bindings, and no key typed after quitting can crash the app."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import TextArea

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.testing import (
    WAIT_FLOOR_SECONDS,
    app_for,
    notifications,
    prepare_demo_database_async,
    shown_pane,
    wait_until,
    workers_done,
)
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.compose import ComposeDialog
from bannertui.ui.screens.help import HelpScreen
from bannertui.ui.screens.inbox import InboxScreen
from bannertui.ui.screens.people import PeopleScreen

SIZE = (100, 30)
SECOND = "+33612000008"  # a second Support conversation for alice (queue 1)

#: What a key names, as the terminal delivers it.
CHARACTERS = {"space": " ", "question_mark": "?"}


async def demo_url(tmp_path: Path, *, second_conversation: bool = False) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    if second_conversation:
        other = Services(Database(url))
        try:
            await other.outbound.start_smart(Actor("alice"), SECOND, 1)
        finally:
            await other.db.dispose()
    return url


def burst(app: BannerApp, keys: list[str]) -> None:
    """The keys as a fast typist's arrive: all queued at once (the pilot's ``press`` waits
    for the app to be idle after each key)."""
    for key in keys:
        character = CHARACTERS.get(key, key if len(key) == 1 else None)
        app.post_message(events.Key(key, character))


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def editor(app: BannerApp) -> TextArea | None:
    """The open conversation's editor (None while a pane is being replaced)."""
    pane = shown_pane(banner(app))
    if pane is None:
        return None
    areas = pane.query("#message-text")
    return areas.first(TextArea) if areas else None


def pane_id(app: BannerApp) -> int | None:
    pane = shown_pane(banner(app))
    return pane.item.id if pane is not None else None


async def writing(app: BannerApp, pilot: Pilot[None]) -> TextArea:
    """The Banner with its first conversation open and the focus in its editor (enter)."""
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
    await wait_until(pilot, lambda: editor(app) is not None)
    await workers_done(pilot)
    await pilot.press("enter")
    await wait_until(pilot, lambda: editor(app) is not None and app.focused is editor(app))
    area = editor(app)
    assert area is not None
    return area


# --- item 5: the app's keys win over the editor's ------------------------------------------------


@pytest.mark.parametrize(
    ("key", "screen"),
    [
        ("f6", PeopleScreen),  # TextArea: select line
        ("f4", InboxScreen),
        ("f5", ComposeDialog),
        ("f1", HelpScreen),
        ("ctrl+p", CommandPalette),
    ],
)
async def test_the_app_keys_work_from_the_message_editor(
    tmp_path: Path, key: str, screen: type
) -> None:
    """Issue #23 item 5: in the message editor F6 selected the line instead of opening
    People (the TextArea's own binding won)."""
    app = app_for(await demo_url(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        area = await writing(app, pilot)
        await pilot.press(*"Hello")
        await wait_until(pilot, lambda: area.text == "Hello")
        await pilot.press(key)
        await wait_until(pilot, lambda: isinstance(app.screen, screen))
        assert area.text == "Hello"
        assert area.selected_text == ""


async def test_f7_in_the_message_editor_asks_for_the_dashboard_not_select_all(
    tmp_path: Path,
) -> None:
    """F7 is the supervisor dashboard everywhere (the app's binding): for alice, an agent, it
    says why not; in the editor it selected all the text instead."""
    app = app_for(await demo_url(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        area = await writing(app, pilot)
        await pilot.press(*"Hello")
        await wait_until(pilot, lambda: area.text == "Hello")
        await pilot.press("f7")
        await wait_until(
            pilot, lambda: any("dashboard is for supervisors" in n for n in notifications(app))
        )
        await workers_done(pilot)
        assert area.selected_text == ""
        assert app.focused is area
        assert isinstance(app.screen, BannerScreen)


# --- item 2: nothing typed after quitting crashes the app ----------------------------------------


async def wait_closed(app: BannerApp) -> None:
    """Until the app has stopped (the pilot's waits need a running app)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FLOOR_SECONDS
    while app.is_running:
        assert loop.time() < deadline, "the app did not quit"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("login", ["bruno", "alice"])
@pytest.mark.parametrize(
    "keys",
    [
        ["ctrl+q", "question_mark"],
        ["ctrl+q", "n", "slash", "r", "question_mark"],
        # The F-keys act as the app reads them (priority), as ctrl+q does.
        ["ctrl+q", "f5", "f4", "f6", "f1", "ctrl+p"],
        ["ctrl+q", *"uand ?"],
        ["f4", "ctrl+q"],
        # A worker cancelled mid-query while the app closes: its connection was stopped
        # twice, and the event loop hung for good when it closed (see _SqliteConnection).
        ["f1", "ctrl+q", "f5"],
        ["f5", "ctrl+q"],
    ],
    ids=[
        "ctrl+q?",
        "ctrl+q-then-letters",
        "ctrl+q-then-f-keys",
        "ctrl+q-quand ?",
        "f4-ctrl+q",
        "f1-ctrl+q-f5",
        "f5-ctrl+q",
    ],
)
async def test_keys_typed_with_a_quit_do_not_crash(
    tmp_path: Path, login: str, keys: list[str]
) -> None:
    """Issue #23 item 2: ``q?`` in one burst quit, then ``?`` pushed the help while the app
    was closing: its footer could not be mounted (MountError, a traceback on the terminal).
    Now the app quits, what is typed after ``q`` does nothing, and a screen opened just
    before it is built before the app closes.  (Sent as soon as the Banner is there: alice's
    first conversation may still be opening, which crashed too.)"""
    app = app_for(await demo_url(tmp_path), login)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await workers_done(pilot)
        burst(app, keys)
        await wait_closed(app)
    # Leaving run_test raises what the app raised (the MountError), if anything.
    assert app.return_code == 0


async def test_ctrl_up_in_the_editor_keeps_the_typing_in_an_editor(tmp_path: Path) -> None:
    """Issue #23 item 2, second way: ctrl+↑ in the editor, then ``quand ?``.  The pane that
    had the focus was replaced, the focus fell to the list, ``q`` quit and ``?`` crashed.
    Now the focus goes to the editor of the conversation ctrl+↑ opened, and the words are
    typed there; sent in the same burst as ctrl+↑, they are typed in an editor too (the one
    left, if they reach it first) and never run a command."""
    app = app_for(await demo_url(tmp_path, second_conversation=True), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await writing(app, pilot)
        first = pane_id(app)
        burst(app, ["ctrl+up"])
        await wait_until(pilot, lambda: pane_id(app) not in (None, first))
        await wait_until(pilot, lambda: editor(app) is not None and app.focused is editor(app))
        second = pane_id(app)
        burst(app, [*"quand ?"])

        def typed() -> bool:
            area = editor(app)
            return area is not None and area.text == "quand ?"

        await wait_until(pilot, typed)

        burst(app, ["ctrl+down", *"quand ?"])  # all at once this time
        await wait_until(pilot, lambda: pane_id(app) == first)
        await wait_until(pilot, lambda: editor(app) is not None and app.focused is editor(app))
        await workers_done(pilot)
        assert pane_id(app) != second
        assert app.is_running
        assert app.screen_stack[-1] is banner(app)  # no help, no dialog
        assert len(app.screen_stack) == 2


# --- item 1: what is typed is text, never a command -------------------------------------------


@pytest.mark.parametrize("login", ["bruno", "alice"])
async def test_a_bare_q_never_quits(tmp_path: Path, login: str) -> None:
    """Issue #23 item 1: ``q`` quit at once from the list (and ``q?`` then crashed).  Every
    screen has fields: only ctrl+q quits."""
    app = app_for(await demo_url(tmp_path), login)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await workers_done(pilot)
        app.screen.query_one("#interactions").focus()
        burst(app, ["q"])
        await workers_done(pilot)
        assert app.is_running
        assert isinstance(app.screen, BannerScreen)
        burst(app, ["ctrl+q"])
        await wait_closed(app)
    assert app.return_code == 0


@pytest.mark.parametrize("second", [False, True], ids=["one-conversation", "two"])
@pytest.mark.parametrize("switch", ["ctrl+down", "ctrl+up"])
async def test_prose_typed_after_a_switch_runs_no_command(
    tmp_path: Path, switch: str, second: bool
) -> None:
    """Issue #23 item 1: after start-up the focus is on the list; ctrl+↓ then "Sure, Tuesday
    10:00 works." in one burst ran the list's keys (k switched conversations, r, n, q…).
    Now ctrl+↓/↑ puts the focus in an editor at once: every letter is text.  (With two
    conversations, letters that arrive before the next pane is mounted are typed in the one
    left: keeping them is the drafts' work.)"""
    app = app_for(await demo_url(tmp_path, second_conversation=second), "alice")
    prose = "Sure, Tuesday 10:00 works."
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: pane_id(app) is not None)
        await workers_done(pilot)
        first = pane_id(app)
        app.screen.query_one("#interactions").focus()
        burst(app, [switch, *prose])
        await workers_done(pilot)
        await wait_until(pilot, lambda: isinstance(app.focused, TextArea))
        assert isinstance(app.screen, BannerScreen)  # no dialog, no other screen
        assert app.is_running
        if second:
            await wait_until(pilot, lambda: pane_id(app) not in (None, first))
        else:
            assert pane_id(app) == first
            assert typed(app) == [prose]


def typed(app: BannerApp) -> list[str]:
    """The text of every conversation editor mounted now."""
    return [ed.text for ed in app.screen.query(TextArea).results(TextArea) if ed.text]
