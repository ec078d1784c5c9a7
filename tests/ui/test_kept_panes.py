"""The panes of the conversations switched away from are kept, hidden, and shown again on
switching back (issue #23 benchmark: ctrl+↓ to the conversation ≤150 ms; building a pane's
forty widgets took most of it).  One pane is shown at a time, what was typed is still there,
and a kept pane goes with its interaction, ended here or elsewhere."""

from __future__ import annotations

from pathlib import Path

from test_keys_app import SECOND, SIZE, banner, demo_url, editor, writing

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.testing import app_for, shown_pane, wait_until, workers_done
from bannertui.ui.app import BannerApp
from bannertui.ui.widgets.conversation import ConversationPane


def panes(app: BannerApp) -> list[ConversationPane]:
    return list(banner(app).query(ConversationPane).results(ConversationPane))


def shown(app: BannerApp) -> list[ConversationPane]:
    return [p for p in panes(app) if p.display]


async def test_switching_back_shows_the_same_pane_with_its_text(tmp_path: Path) -> None:
    app = app_for(await demo_url(tmp_path, second_conversation=True), "alice")
    async with app.run_test(size=SIZE) as pilot:
        area = await writing(app, pilot)
        first = shown_pane(banner(app))
        await pilot.press(*"Half a sentence")
        await wait_until(pilot, lambda: area.text == "Half a sentence")

        await pilot.press("ctrl+down")
        await wait_until(pilot, lambda: shown_pane(banner(app)) not in (None, first))
        await workers_done(pilot)
        assert len(shown(app)) == 1
        assert first in panes(app)  # kept, hidden
        assert not first.display

        await pilot.press("ctrl+up")
        await wait_until(pilot, lambda: shown_pane(banner(app)) is first)
        await wait_until(pilot, lambda: app.focused is editor(app))
        assert editor(app) is area
        assert area.text == "Half a sentence"
        assert len(shown(app)) == 1
        await workers_done(pilot)


async def test_a_kept_pane_goes_with_its_interaction_closed_elsewhere(tmp_path: Path) -> None:
    url = await demo_url(tmp_path, second_conversation=True)
    other = Services(Database(url))
    try:
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            await writing(app, pilot)
            first = shown_pane(banner(app))
            await pilot.press("ctrl+down")
            await wait_until(pilot, lambda: shown_pane(banner(app)) not in (None, first))
            await workers_done(pilot)
            assert first in panes(app)

            await other.conversations.close(Actor("alice"), first.item.id)
            await wait_until(pilot, lambda: first not in panes(app))
            second = shown_pane(banner(app))
            assert second is not None
            assert second.item.remote_number == SECOND
            assert len(panes(app)) == 1
            await workers_done(pilot)
    finally:
        await other.db.dispose()


async def test_a_pane_ended_here_is_not_kept(tmp_path: Path) -> None:
    """F8, Enter: the next conversation is shown and the closed one's pane is gone."""
    app = app_for(await demo_url(tmp_path, second_conversation=True), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await writing(app, pilot)
        first = shown_pane(banner(app))
        await pilot.press("ctrl+down", "ctrl+up")
        await wait_until(pilot, lambda: shown_pane(banner(app)) is first)
        await workers_done(pilot)
        assert len(panes(app)) == 2  # the other one kept

        await pilot.press("f8")
        await wait_until(pilot, lambda: app.screen is not banner(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: first not in panes(app))
        await wait_until(pilot, lambda: shown_pane(banner(app)) is not None)
        assert shown_pane(banner(app)).item.id != first.item.id
        assert len(panes(app)) == 1
        await workers_done(pilot)
