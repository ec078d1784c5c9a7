"""The supervisor's live dashboard (SPEC S1, S2, Q5): readable at 80×24 over SSH, refreshed
from the shared database when anything changes (any process) and every few seconds (waits
grow with time even when nothing is written).  Beside the agents, each SMS connector's last
hour: sent, failed and its latest error (issue #20)."""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Sparkline, Static

from bannertui.domain.actor import Actor
from bannertui.domain.text import one_line
from bannertui.services import Services
from bannertui.services.connectors import ConnectorFigures
from bannertui.services.supervisor import BUCKETS, Dashboard
from bannertui.ui.safe import line, rich_plain
from bannertui.ui.screens.base import LiveScreen
from bannertui.ui.widgets.footer import KeyFooter
from bannertui.ui.widgets.row_table import RowTable

CHANGE_POLL_SECONDS = 0.5
#: Refreshed at least this often (oldest waits and service levels move with the clock).
REFRESH_SECONDS = 5.0

STATE_STYLE = {"available": "green", "busy": "yellow", "away": "yellow", "offline": "dim"}


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"


def since(at: datetime | None, now: datetime) -> str:
    return duration(int((now - at).total_seconds())) if at else ""


class SupervisorScreen(LiveScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Banner", id="supervisor.back"),
        Binding("r", "refresh_now", "Refresh", id="supervisor.refresh"),
    ]

    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.board: Dashboard | None = None
        self.connectors: list[ConnectorFigures] | None = None
        self._loaded_at = 0.0

    def compose(self) -> ComposeResult:
        yield Static(id="board-head")
        with Vertical(id="board"):
            yield RowTable(id="queues")
            with Horizontal(id="board-middle"):
                yield RowTable(id="agents")
                yield Static(id="connectors")
            with Horizontal(id="board-bottom"):
                with Vertical(id="volume-box"):
                    yield Static(id="volume-label")
                    yield Sparkline([], id="volume")
                yield Static(id="failures")
        yield KeyFooter()

    def on_mount(self) -> None:
        queues = self.query_one("#queues", DataTable)
        queues.add_column("Queue", key="name", width=14)
        queues.add_column("Wait", key="waiting", width=5)
        queues.add_column("Busy", key="progress", width=5)
        queues.add_column("SL %", key="sl", width=6)
        queues.add_column("Oldest", key="oldest", width=7)
        queues.add_column("Target", key="target", width=6)
        queues.add_column("Closed", key="closed", width=6)
        agents = self.query_one("#agents", DataTable)
        agents.add_column("Agent", key="name", width=18)
        agents.add_column("State", key="state", width=10)
        agents.add_column("For", key="for", width=6)
        agents.add_column("Open", key="open", width=7)
        self.query_one("#queues").border_title = "Queues"
        self.query_one("#agents").border_title = "Agents"
        self.query_one("#connectors").border_title = "Connectors, last hour"
        self.follow_database(self.services, CHANGE_POLL_SECONDS, first=self.load)

    async def database_checked(self, changed: bool) -> None:
        if changed or time.monotonic() - self._loaded_at >= REFRESH_SECONDS:
            await self._load()

    def action_refresh_now(self) -> None:
        self.load()

    @work(group="board-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        await self._load()

    async def _load(self) -> None:
        self._loaded_at = time.monotonic()
        board = await self.services.supervisor.dashboard(self.actor)
        figures = await self.services.connectors.figures(self.actor)
        self.show(board)
        self.show_connectors(figures)

    def show(self, board: Dashboard) -> None:
        self.board = board
        now = board.at
        failures = board.failures_last_hour
        self.query_one("#board-head", Static).update(
            Content.assemble(
                Content.styled("Supervisor", "bold"),
                f" · {now.astimezone():%H:%M:%S}",
                " · ",
                Content.styled(f"Credits: {board.balance:,}", "bold"),
                " · ",
                Content.styled(
                    f"{failures} failed in the last hour", "$error" if failures else "$success"
                ),
            )
        )
        queues = self.query_one("#queues", DataTable)
        queues.clear()
        for q in board.queues:
            sl = "–" if q.service_level_pct is None else f"{q.service_level_pct:.0f}"
            low = q.service_level_pct is not None and q.service_level_pct < 80
            queues.add_row(
                rich_plain(one_line(q.name, 14), "" if q.enabled else "dim"),
                Text(str(q.waiting), "bold yellow" if q.waiting else ""),
                str(q.in_progress),
                Text(sl, "red" if low else ""),
                duration(q.oldest_wait_s),
                duration(q.service_level_s),
                str(q.out_of_hours) if q.out_of_hours else "",
                key=str(q.id),
            )
        agents = self.query_one("#agents", DataTable)
        agents.clear()
        for a in board.agents:
            agents.add_row(
                rich_plain(one_line(a.display_name, 18)),
                Text(a.state, STATE_STYLE.get(a.state, "")),
                since(a.state_since, now),
                f"{a.open_interactions}/{a.max_simultaneous}",
                key=str(a.id),
            )
        total = sum(board.volume)
        self.query_one("#volume-label", Static).update(
            Content(
                f"SMS last hour: {total:,} ({sum(board.inbound):,} in, {sum(board.outbound):,} out)"
            )
        )
        self.query_one("#volume", Sparkline).data = list(board.volume) or [0] * BUCKETS
        lines = [Content.styled("Latest failures", "bold")]
        for f in board.recent_failures:
            lines.append(line(f"{since(f.at, now)} ago {f.number}: {f.reason}"))
        if not board.recent_failures:
            lines.append(Content("none"))
        self.query_one("#failures", Static).update(Content("\n").join(lines))

    def show_connectors(self, figures: list[ConnectorFigures]) -> None:
        """Per connector: its name, the last hour's sent and failed, its latest error."""
        self.connectors = figures
        lines: list[Content] = []
        for f in figures:
            lines.append(Content.styled(one_line(f.name), "bold"))
            lines.append(
                Content.assemble(
                    f" {f.sent:,} sent · ",
                    Content.styled(f"{f.failed:,} failed", "$error" if f.failed else ""),
                )
            )
            if f.last_error:
                lines.append(Content(" ").append(Content.styled(one_line(f.last_error), "$error")))
        if not figures:
            lines.append(Content("none"))
        self.query_one("#connectors", Static).update(Content("\n").join(lines))

    def action_back(self) -> None:
        self.dismiss(None)
