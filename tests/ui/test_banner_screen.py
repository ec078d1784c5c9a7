"""The Banner screen through Textual's pilot, on a temporary demo database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from textual.css.query import NoMatches
from textual.widgets import OptionList, Static
from textual.worker import WorkerFailed, WorkerState

from bannertui.store.database import Database
from bannertui.store.models import Interaction, Message
from bannertui.testing import (
    app_for,
    demo_app,
    prepare_demo_database_async,
    wait_until,
    workers_done,
)
from bannertui.ui.screens.banner import BannerScreen


def _text(app, selector: str) -> str:
    widget = app.screen.query_one(selector, Static)
    return str(widget.render())


def _shown(app, selector: str) -> str:
    """``_text``, or "" while the widget is not there (the Banner is on top before it has
    composed its widgets; the thread comes with the pane, after the first load)."""
    try:
        return _text(app, selector)
    except NoMatches:
        return ""


async def test_banner_shows_agent_credits_and_open_interactions(tmp_path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "Alice Martin" in _shown(app, "#agent-info"))
        assert "Credits: 500" in _text(app, "#credits")
        options = app.screen.query_one("#interactions", OptionList)
        assert (
            options.option_count == 1
        )  # alice's progressing conversation; the closed one is not listed
        await wait_until(
            pilot, lambda: "my order #4521 has not arrived yet" in _shown(app, "#thread-body")
        )
        await workers_done(pilot)
        thread = _text(app, "#thread-body")
        assert "my order #4521 has not arrived yet" in thread
        assert "▶ you · 02 Nov 09:20 · delivered" in thread


async def test_agent_without_interactions_sees_an_empty_list(tmp_path) -> None:
    app = demo_app(tmp_path, login="bruno")
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: "Bruno Keller" in _shown(app, "#agent-info"))
        await workers_done(pilot)
        assert app.screen.query_one("#interactions", OptionList).option_count == 0
        assert "No interaction selected" in _text(app, "#empty-pane")
        assert "Bruno Keller" in _text(app, "#agent-info")


async def test_unknown_agent_is_named_in_an_error(tmp_path, monkeypatch) -> None:
    # The Banner's workers, kept: the failed first load may end (and leave the app's worker
    # list) before the test looks.
    started = []
    run_worker = BannerScreen.run_worker

    def recording(self, *args, **kwargs):
        worker = run_worker(self, *args, **kwargs)
        started.append(worker)
        return worker

    monkeypatch.setattr(BannerScreen, "run_worker", recording)
    app = demo_app(tmp_path, login="nobody")
    async with app.run_test() as pilot:
        await wait_until(
            pilot, lambda: any("Unknown agent" in str(n.message) for n in app._notifications)
        )
        messages = [n.message for n in app._notifications]
        assert any("Unknown agent" in str(m) for m in messages)
        failed = [w for w in started if w.state is WorkerState.ERROR]
        assert failed, started
        with pytest.raises(WorkerFailed, match="Unknown agent"):
            await app.workers.wait_for_complete(failed)
        assert app.is_running


async def test_untrusted_text_is_shown_literally(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"
    await prepare_demo_database_async(url)
    db = Database(url)
    async with db.write() as session:
        inter = await session.scalar(
            sa.select(Interaction).where(
                Interaction.agent_id == 1, Interaction.status == "progressing"
            )
        )
        assert inter is not None
        last = await session.scalar(
            sa.select(Message).where(Message.interaction_id == inter.id).order_by(Message.id.desc())
        )
        assert last is not None
        last.text = "[bold]pwn[/bold] [@click=app.quit]x[/] \x1b[31mred\x1b]0;title\x07 \u202eevil"
    await db.dispose()
    app = app_for(url, "alice")
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: "[bold]pwn[/bold]" in _shown(app, "#thread-body"))
        await workers_done(pilot)
        thread = _text(app, "#thread-body")
        assert "[bold]pwn[/bold]" in thread
        assert "[@click=app.quit]x[/]" in thread
        assert "\x1b" not in thread
        assert "␛[31mred" in thread
        assert "\u202e" not in thread
        assert app.is_running  # the click markup did not quit the app
