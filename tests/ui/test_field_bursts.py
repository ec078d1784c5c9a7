"""Keys typed in one burst across fields (issue #23 item 10): each key lands in the field
that has the focus when it is typed, Tab and shift+Tab included, and a scheduled message is
sent at the time typed just before ctrl+s."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col
from test_keys_app import SIZE, burst, demo_url, editor
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from bannertui.domain.enums import MessageStatus
from bannertui.store.database import Database
from bannertui.store.models import Message
from bannertui.testing import app_for, wait_until, workers_done
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.compose import ComposeDialog
from bannertui.ui.widgets.message_editor import MessageEditor

NUMBER = "+33612345678"


def dialog(app: BannerApp) -> ComposeDialog:
    screen = app.screen
    assert isinstance(screen, ComposeDialog)
    return screen


def field(app: BannerApp, name: str) -> Input:
    return dialog(app).query_one(f"#{name}", Input)


def error_text(app: BannerApp) -> str:
    return str(dialog(app).query_one("#dialog-error", Static).content)


async def open_compose(app: BannerApp, pilot: Pilot[None]) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
    await workers_done(pilot)
    await pilot.press("f5")
    await wait_until(pilot, lambda: isinstance(app.screen, ComposeDialog))
    await wait_until(pilot, lambda: app.focused is field(app, "numbers"))
    await workers_done(pilot)


async def test_letters_typed_after_tab_go_to_the_next_field(tmp_path: Path) -> None:
    """Tab was a binding of the screen, run once the key had gone round the focused input:
    the letters typed right after it still went into the field it left."""
    app = app_for(await demo_url(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot)
        burst(app, [*NUMBER, "tab", *"Anna"])
        await wait_until(pilot, lambda: field(app, "find").value == "Anna")
        assert field(app, "numbers").value == NUMBER
        # (a field reached by Tab has its text selected, as in any form: end keeps it)
        burst(app, ["shift+tab", "end", *", +33612345679"])
        await wait_until(pilot, lambda: field(app, "numbers").value.endswith("79"))
        assert field(app, "numbers").value == NUMBER + ", +33612345679"
        assert field(app, "find").value == "Anna"


async def test_a_time_typed_just_before_ctrl_s_is_the_one_used(tmp_path: Path) -> None:
    """The reproduction: after "already passed", shift+Tab back to the schedule, ctrl+U,
    a new time and ctrl+S in one burst sent the message at once (or at the wrong time)."""
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot)
        field(app, "numbers").value = NUMBER
        field(app, "schedule").value = "2020-01-02 10:00"
        editor = dialog(app).query_one(MessageEditor)
        editor.text = "See you on Tuesday."
        editor.focus_text()
        await wait_until(pilot, lambda: isinstance(app.focused, TextArea))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "already passed" in error_text(app))
        burst(app, ["shift+tab", "ctrl+u", *"2099-03-04 10:30", "ctrl+s"])
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await workers_done(pilot)
    db = Database(url)
    try:
        async with db.read() as session:
            rows = list(
                await session.scalars(
                    sa.select(Message).where(col(Message.text) == "See you on Tuesday.")
                )
            )
    finally:
        await db.dispose()
    assert len(rows) == 1
    status, scheduled_at = rows[0].status, rows[0].scheduled_at
    assert status == MessageStatus.SCHEDULED
    assert scheduled_at is not None
    expected = datetime(2099, 3, 4, 10, 30).astimezone()
    assert scheduled_at.replace(tzinfo=scheduled_at.tzinfo or expected.tzinfo) == expected


async def test_editing_keys_in_a_burst_act_where_they_were_typed(tmp_path: Path) -> None:
    """A key bound by the field itself (backspace, home, ctrl+u…) ran once it had gone round
    the screen and back to the app, after the letters typed behind it: "abc⌫d" gave "abc"."""
    app = app_for(await demo_url(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot)
        burst(app, [*"abc", "backspace", "d", "home", "x", "end", "y"])
        await wait_until(pilot, lambda: field(app, "numbers").value.endswith("y"))
        assert field(app, "numbers").value == "xabdy"
        burst(app, ["ctrl+u", *"+336"])
        await wait_until(pilot, lambda: field(app, "numbers").value.endswith("6"))
        assert field(app, "numbers").value == "+336"


async def test_prose_typed_right_after_enter_on_the_list_goes_into_the_editor(
    tmp_path: Path,
) -> None:
    """Enter on the list focused the editor a few messages later: "Hello, see you" typed in
    the same burst went to the list first, where letters are commands."""
    app = app_for(await demo_url(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: editor(app) is not None)
        await workers_done(pilot)
        app.screen.query_one("#interactions").focus()
        await wait_until(pilot, lambda: app.focused is app.screen.query_one("#interactions"))
        prose = "Hello, see you at 10:00 — ok?"
        burst(app, ["enter", *prose])
        await wait_until(pilot, lambda: (area := editor(app)) is not None and area.text == prose)
        assert app.focused is editor(app)
