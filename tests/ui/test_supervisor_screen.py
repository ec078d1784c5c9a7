"""The supervisor's dashboard through the pilot (SPEC S1, S2): who may open it, what it
shows, live refresh from another process, and a snapshot at 80×24."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.testing import (
    DEMO_NOW,
    prepare_demo_database,
    settle,
    wait_for_screen,
    wait_until,
    workers_done,
)
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.supervisor import SupervisorScreen

SIZE = (80, 24)
SUPPORT_NUMBER = "+33757000010"


def fixed_app(url: str, login: str) -> BannerApp:
    """The app with the demo's clock (the history is seeded relative to it)."""
    return BannerApp(Services(Database(url), clock=lambda: DEMO_NOW), Actor(login))


def cell(table: DataTable[Any], row: str, column: str) -> str:
    return str(table.get_cell(row, column))


async def started(app: BannerApp, pilot: Pilot[Any]) -> None:
    """The app is up: the Banner on top, its first load shown, its workers done."""
    await wait_until(
        pilot, lambda: isinstance(app.screen, BannerScreen) and app.screen.ctx is not None
    )
    await workers_done(pilot)


async def open_board(app: BannerApp, pilot: Pilot[Any]) -> SupervisorScreen:
    """F7, then the dashboard on top with its first board shown and its workers done."""
    await started(app, pilot)
    await pilot.press("f7")
    await wait_for_screen(pilot, "SupervisorScreen")
    screen = app.screen
    assert isinstance(screen, SupervisorScreen)
    await wait_until(pilot, lambda: screen.board is not None)
    await workers_done(pilot)
    return screen


async def test_an_agent_is_refused_by_name(tmp_path: Path) -> None:
    app = fixed_app(prepare_demo_database(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("f7")
        await wait_until(
            pilot, lambda: any("Not allowed" in str(n.message) for n in app._notifications)
        )
        # The refusal ended F7's worker; a little longer for a dashboard that should not open.
        await workers_done(pilot)
        await pilot.pause(0.3)
        assert not isinstance(app.screen, SupervisorScreen)
        messages = [str(n.message) for n in app._notifications]
        assert any("Not allowed" in m and "supervisors" in m for m in messages), messages


async def test_the_dashboard_shows_queues_agents_and_the_balance(tmp_path: Path) -> None:
    app = fixed_app(prepare_demo_database(tmp_path), "sam")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_board(app, pilot)
        board = screen.board
        assert board is not None
        queues = screen.query_one("#queues", DataTable)
        assert queues.row_count == len(board.queues) == 3
        support = next(q for q in board.queues if q.name == "Support")
        assert cell(queues, str(support.id), "progress") == str(support.in_progress)
        agents = screen.query_one("#agents", DataTable)
        assert agents.row_count == len(board.agents)
        alice = next(a for a in board.agents if a.login == "alice")
        assert cell(agents, str(alice.id), "open") == f"{alice.open_interactions}/5"
        head = str(screen.query_one("#board-head", Static).render())
        assert "Credits: 500" in head
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SupervisorScreen))
        assert not isinstance(app.screen, SupervisorScreen)


async def test_an_inbound_sms_from_another_process_shows_live(tmp_path: Path) -> None:
    url = prepare_demo_database(tmp_path)
    other = Services(Database(url), clock=lambda: DEMO_NOW - timedelta(seconds=1))
    app = fixed_app(url, "sam")
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_board(app, pilot)
            assert screen.board is not None
            before = sum(screen.board.inbound)
            await other.inbound.receive("+33612000077", SUPPORT_NUMBER, "Hello?", "sup-live-1")
            await wait_until(
                pilot,
                lambda: screen.board is not None and sum(screen.board.inbound) == before + 1,
            )
            label = str(screen.query_one("#volume-label", Static).render())
            assert f"{before + 1} in" in label
    finally:
        await other.db.dispose()


def test_dashboard_snapshot_80x24(tmp_path: Path, snap_compare: Any) -> None:
    app = fixed_app(prepare_demo_database(tmp_path), "sam")

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_board(pilot.app, pilot)  # type: ignore[arg-type]
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
