"""Issue #23 item 14: after F8 / F9 (and the confirmation) the Banner's list took seconds to
drop the conversation, although the close was written at once.

The list waited for the old pane's teardown (awaited by the Banner's message handler, during
which the screen neither handled its change checks nor painted), then for a full re-read of
the database.  Now the row goes as soon as the pane says the write is done, from that alone:
here every change check is an hour away and every read of the Banner's overview is held (a
busy database), or the old pane's teardown is held, and the row still goes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_keys_app import SIZE, banner, demo_url, pane_id
from textual import events

from bannertui.domain.actor import Actor
from bannertui.services.conversations import ConversationService, Overview
from bannertui.store.database import Database
from bannertui.store.models import Interaction
from bannertui.testing import WAIT_FLOOR_SECONDS, app_for, wait_until, workers_done
from bannertui.ui.app import BannerApp
from bannertui.ui.screens import banner as banner_module
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.widgets.conversation import ConversationPane
from bannertui.ui.widgets.interaction_list import InteractionList


def listed(app: BannerApp) -> list[int]:
    """The interactions the list shows, in order (its rows, not only its model)."""
    lst = banner(app).query_one(InteractionList)
    return [int(lst.get_option_at_index(i).id or 0) for i in range(lst.option_count)]


async def until(condition: Callable[[], bool], what: Callable[[], str]) -> None:
    """Let the app run until ``condition()`` holds, with plain sleeps (the pilot's waits
    wait for every widget of the screen to drain its queue, and a held teardown keeps the
    old pane's from ever draining); fails with ``what()`` after WAIT_FLOOR_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FLOOR_SECONDS
    while not condition():
        assert loop.time() < deadline, f"{what()}, {WAIT_FLOOR_SECONDS:g} s on"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("key", ["f8", "f9"])
@pytest.mark.parametrize("held", ["reads", "pane-teardown"])
async def test_the_row_goes_right_after_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, held: str
) -> None:
    # No change check can update the list during the test: the first runs at mount, the
    # next an hour later.
    monkeypatch.setattr(banner_module, "CHANGE_POLL_SECONDS", 3600.0)
    url = await demo_url(tmp_path, second_conversation=True)
    app = app_for(url, "alice")
    gate = asyncio.Event()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(listed(app)) == 2 and pane_id(app) == listed(app)[0])
        await workers_done(pilot)
        first, second = listed(app)
        if held == "reads":
            # A read started from now on waits until the end of the test, then returns what
            # the database held before the close (a read that began before the write and
            # lands after it): it must not bring the row back either.
            before: Overview = await app.services.conversations.overview(Actor("alice"))
            assert [i.id for i in before.interactions] == [first, second]

            async def held_read(self: ConversationService, actor: Actor) -> Overview:
                await gate.wait()
                return before

            monkeypatch.setattr(ConversationService, "overview", held_read)
        else:

            async def held_teardown(self: Any) -> None:
                await gate.wait()

            monkeypatch.setattr(ConversationPane, "on_unmount", held_teardown, raising=False)

        await pilot.press(key)
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        app.post_message(events.Key("enter", "\r"))  # on the dialog's focused button
        try:
            await until(
                lambda: listed(app) == [second],
                lambda: f"the list shows {listed(app)} after the confirmation, not [{second}]",
            )
            lst = banner(app).query_one(InteractionList)
            assert [i.id for i in lst.items] == [second]
            assert lst.highlighted == 0
            assert app.focused is lst
        finally:
            gate.set()  # the held read or teardown ends (else the app could not even quit)
        await until(lambda: pane_id(app) == second, lambda: "the next conversation is not open")
        await workers_done(pilot)
        await banner(app).reload().wait()  # another read: it keeps the row out too
        await pilot.pause()
        assert listed(app) == [second]
        assert pane_id(app) == second

    db = Database(url)
    try:
        async with db.read() as session:
            row = await session.get(Interaction, first)
    finally:
        await db.dispose()
    assert row is not None
    assert row.status == ("archived" if key == "f9" else "closed")
