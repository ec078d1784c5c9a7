"""The Banner: who is logged in, the balance, open interactions and the selected thread."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from bannertui.services import Services
from bannertui.services.agents import AgentContext
from bannertui.services.conversations import ThreadPage
from bannertui.store.models import Direction, Interaction
from bannertui.ui.safe import line, plain
from bannertui.ui.screens.base import BaseScreen

REFRESH_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    ctx: AgentContext
    balance: int
    interactions: tuple[Interaction, ...]


class BannerScreen(BaseScreen[None]):
    BINDINGS = [
        Binding("j", "cursor_down", "Next", id="banner.next", show=False),
        Binding("k", "cursor_up", "Previous", id="banner.previous", show=False),
        Binding("r", "refresh", "Refresh", id="banner.refresh"),
    ]

    def __init__(self, services: Services, login: str) -> None:
        super().__init__()
        self.services = services
        self.login = login
        self._selected: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="agent-bar")
        with Horizontal(id="banner-body"):
            yield OptionList(id="interactions")
            with VerticalScroll(id="thread"):
                yield Static("Select an interaction.", id="thread-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#interactions", OptionList).border_title = "Open interactions"
        self.query_one("#thread", VerticalScroll).border_title = "Conversation"
        self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self.action_refresh)

    def action_refresh(self) -> None:
        self.load_snapshot()

    def action_cursor_down(self) -> None:
        self.query_one("#interactions", OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#interactions", OptionList).action_cursor_up()

    @work(group="banner-refresh", exclusive=True, exit_on_error=False)
    async def load_snapshot(self) -> None:
        s = self.services
        ctx = await s.agents.context(self.login)
        balance = await s.accounts.balance()
        interactions = await s.conversations.open_interactions(self.login)
        self.show_snapshot(Snapshot(ctx, balance, tuple(interactions)))

    def show_snapshot(self, snap: Snapshot) -> None:
        agent = snap.ctx.agent
        bar = Content.assemble(
            (agent.display_name, "bold"),
            f"  ·  {agent.state}  ·  {snap.ctx.profile.name}  ·  ",
            (f"Credits: {snap.balance}", "bold"),
        )
        self.query_one("#agent-bar", Static).update(bar)
        options = self.query_one("#interactions", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for inter in snap.interactions:
            unread = f" ●{inter.unread}" if inter.unread else ""
            label = Content.assemble(
                (f"{inter.channel.upper():5}", "dim"),
                line(inter.remote_number),
                (unread, "bold $warning"),
            )
            options.add_option(Option(label, id=str(inter.id)))
        if snap.interactions:
            options.highlighted = min(highlighted or 0, len(snap.interactions) - 1)
        else:
            self.query_one("#thread-body", Static).update("No open interaction.")

    @on(OptionList.OptionHighlighted, "#interactions")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self._selected = int(event.option.id)
            self.load_thread(self._selected)

    @work(group="banner-thread", exclusive=True, exit_on_error=False)
    async def load_thread(self, interaction_id: int) -> None:
        page = await self.services.conversations.thread(self.login, interaction_id)
        if interaction_id == self._selected:
            self.show_thread(page)

    def show_thread(self, page: ThreadPage) -> None:
        parts: list[Content] = []
        if page.has_older:
            parts.append(Content.styled("… older messages not shown\n", "dim"))
        for msg in page.messages:
            when = msg.created_at.astimezone().strftime("%d %b %H:%M") if msg.created_at else ""
            if msg.direction == Direction.INBOUND:
                head = Content.styled(f"◀ {msg.remote_number}  {when}\n", "bold $accent")
            else:
                state = msg.status + (f": {msg.error}" if msg.error else "")
                head = Content.assemble(
                    (f"▶ you  {when}  ", "bold $primary"), line(f"[{state}]"), "\n"
                )
            parts.append(head)
            parts.append(plain(msg.text, multiline=True))
            parts.append(Content("\n\n"))
        self.query_one("#thread-body", Static).update(Content.assemble(*parts))
        self.query_one("#thread", VerticalScroll).scroll_end(animate=False)
