"""The Banner: who is logged in, the balance, the open interactions and the selected one."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Button, OptionList, Static

from bannertui.domain.actor import Actor
from bannertui.domain.routing import SendMode
from bannertui.services import Services
from bannertui.services.agents import AgentContext
from bannertui.services.conversations import InteractionSummary, Overview
from bannertui.ui.messages import (
    InteractionEnded,
    InteractionOpened,
    MessageSent,
    SmsToNumberRequested,
)
from bannertui.ui.safe import line
from bannertui.ui.screens.base import LiveScreen
from bannertui.ui.widgets.conversation import ConversationPane
from bannertui.ui.widgets.focus_box import FocusBox
from bannertui.ui.widgets.footer import KeyFooter
from bannertui.ui.widgets.interaction_list import InteractionList
from bannertui.ui.widgets.voice_pane import VoicePane

#: Longest wait between two checks for changes from other processes.
CHANGE_POLL_SECONDS = 0.25
#: Conversation panes kept mounted, hidden, besides the one shown (an agent's profile
#: allows a few simultaneous interactions: 5 in the demo).
KEPT_PANES = 6


class BannerScreen(LiveScreen[None]):
    BINDINGS = [
        Binding("n", "new", "New", id="banner.new"),
        Binding("f2", "new", "New", show=False, id="banner.new2"),
        Binding("ctrl+down", "next_interaction", "Next", id="banner.next", priority=True),
        Binding(
            "ctrl+up",
            "previous_interaction",
            "Previous",
            show=False,
            id="banner.previous",
            priority=True,
        ),
        Binding("ctrl+s", "pane('send')", "Send", id="banner.send"),
        Binding("ctrl+r", "pane('replace')", "Replace variables", show=False, id="banner.replace"),
        Binding("f3", "pane('sms')", "SMS to caller", show=False, id="banner.sms_caller"),
        Binding("f8", "pane('close')", "Close", id="banner.close"),
        Binding("f8", "pane('hang_up')", "Hang up", id="banner.hang_up"),
        Binding("f9", "pane('archive')", "Archive", show=False, id="banner.archive"),
        # Enter on the list: the pane's editor takes the focus before the next key is read
        # (as the list's own select, it came after the keys typed behind it: "Hello" typed
        # right after Enter went to the list, whose letters are commands).
        Binding("enter", "open_pane", "Open", show=False, id="banner.open", priority=True),
        Binding("escape", "focus_list", "List", show=False, id="banner.list"),
        Binding("r", "refresh", "Refresh", show=False, id="banner.refresh"),
    ]

    def __init__(self, services: Services, actor: Actor) -> None:
        super().__init__()
        self.services = services
        self.actor = actor
        self.ctx: AgentContext | None = None
        self.selected: int | None = None
        self._pane_lock = asyncio.Lock()
        #: Interactions this console ended: gone from the list at once, and kept out of a
        #: snapshot read before the end that lands after it (they never reopen).
        self._ended_ids: set[int] = set()
        #: Interaction ids in the order their panes were last shown (the last: shown now).
        self._shown_order: list[int] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="agent-bar"):
            yield Static(id="agent-info")
            yield Static(id="credits")
            yield Button("New (n)", id="new", variant="primary", compact=True)
        with Horizontal(id="banner-body"):
            yield InteractionList(id="interactions")
            with FocusBox(id="pane"):
                yield Static(self._empty_text(), id="empty-pane")
        yield KeyFooter()

    @staticmethod
    def _empty_text() -> Content:
        return Content.assemble(
            ("No interaction selected.\n\n", "bold"),
            "Press ",
            ("n", "bold $accent"),
            " for a new SMS, ",
            ("?", "bold $accent"),
            " for every key.",
        )

    def on_mount(self) -> None:
        self.query_one(InteractionList).border_title = "Interactions"
        self.query_one(InteractionList).focus()
        self.follow_database(self.services, CHANGE_POLL_SECONDS, now=True)

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        self._show_pane_focus()

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        self._show_pane_focus()

    def _show_pane_focus(self) -> None:
        """The pane's border lit while the focus is in it (docs/keys.md)."""
        with suppress(NoMatches):  # not composed yet, or being torn down
            self.query_one("#pane", FocusBox).show_focus()

    # --- live data -----------------------------------------------------------------------

    async def database_checked(self, changed: bool) -> None:
        """Reload when the database changed (this process or any other): live updates arrive
        within ~0.25 s without polling the data itself (the first check says "changed").
        Messages whose status alone moved (sent, delivered: PostgreSQL says which) are
        updated in the open conversation without reading anything."""
        moved = self.watcher.take_statuses() if self.watcher is not None else {}
        if changed:
            await self._reload()
        elif moved:
            pane = self._pane()
            if isinstance(pane, ConversationPane):
                pane.statuses_moved(moved)

    def action_refresh(self) -> None:
        self.reload()

    @work(group="banner-reload", exclusive=True, exit_on_error=False)
    async def reload(self) -> None:
        await self._reload()

    async def _reload(self) -> None:
        await self.show_snapshot(await self.services.conversations.overview(self.actor))

    async def show_snapshot(self, snap: Overview) -> None:
        self.ctx = snap.ctx
        agent = snap.ctx.agent
        if self.watcher is not None and agent.id is not None:
            # From now on the Banner reloads at once for its agent's changes only (others'
            # work, e.g. the balance, within the watcher's others_every).
            self.watcher.follow_agent(agent.id)
        _show(
            self.query_one("#agent-info", Static),
            Content.assemble(
                line(agent.display_name).stylize("bold"),
                " · ",
                (agent.state, "$success" if agent.state == "available" else "$warning"),
                " · ",
                line(snap.ctx.profile.name).stylize("$text-muted"),
            ),
        )
        _show(
            self.query_one("#credits", Static),
            Content.styled(f"Credits: {snap.balance}", "bold")
            if snap.balance > 0
            else Content.styled(f"⚠ Credits: {snap.balance} — cannot send", "bold $warning"),
        )
        lst = self.query_one(InteractionList)
        interactions = [i for i in snap.interactions if i.id not in self._ended_ids]
        lst.show(interactions, self.selected)
        ids = {i.id for i in interactions}
        if self.selected is not None and self.selected not in ids:
            await self._show_pane(None)
        elif self.selected is None and interactions and lst.highlighted is not None:
            # The first pane is mounted after the list has been painted: the Banner is
            # usable (agent, balance, list) one frame sooner.
            self.call_after_refresh(self._select, interactions[lst.highlighted].id)
        pane = self._pane()
        if isinstance(pane, ConversationPane):
            current = next((i for i in interactions if i.id == pane.item.id), None)
            if current is not None:
                pane.reload()
                if current.unread:
                    self.mark_read(current.id)
        if any(p.item.id not in ids for p in self._kept_panes() if not p.display):
            self.run_worker(self._prune_locked(), group="banner-pane", exit_on_error=False)

    async def _prune_locked(self) -> None:
        async with self._pane_lock:
            with suppress(NoMatches):
                await self._prune(self.query_one("#pane", Vertical))

    # --- selection ---------------------------------------------------------------------------

    def _pane(self) -> ConversationPane | VoicePane | None:
        """The open pane: a child of #pane (during a swap, the one mounted first).  Looked for
        among #pane's children, not by a query of the whole screen: the footer asks, through
        :meth:`check_action`, once per key each time it refreshes its keys (a few times per
        conversation switch, a close, a dialog closing), and the screen's query walked
        every widget of the thread and the footer each time."""
        return next((pane for pane in self._kept_panes() if pane.display), None)

    def _kept_panes(self) -> list[ConversationPane | VoicePane]:
        """Every pane in #pane, the shown one and the hidden ones kept for switching back."""
        try:
            box = self.query_one("#pane", Vertical)
        except NoMatches:  # not composed yet, or being torn down
            return []
        return [c for c in box.children if isinstance(c, ConversationPane | VoicePane)]

    @on(OptionList.OptionHighlighted, "#interactions")
    async def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            await self._select(int(event.option.id))

    @on(OptionList.OptionSelected, "#interactions")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self._focus_pane()

    async def _select(self, interaction_id: int) -> None:
        if self.selected == interaction_id:
            return
        items = self.query_one(InteractionList).items
        await self._show_pane(next((i for i in items if i.id == interaction_id), None))

    async def _show_pane(self, item: InteractionSummary | None) -> None:
        """Show ``item``'s pane.  Calls may overlap (list events, reloads): the last one wins,
        and the lock keeps one removal/mount at a time."""
        wanted = item.id if item else None
        self.selected = wanted
        async with self._pane_lock:
            if self.selected != wanted:
                return  # superseded while waiting
            current = self._pane()
            if current is not None and item is not None and current.item.id == item.id:
                return
            box = self.query_one("#pane", Vertical)
            focused = self.focused
            # Typing in the pane that goes (ctrl+↑/↓ from the editor): the typing goes on in
            # the new pane's editor, and the old pane keeps the focus until then (hidden
            # first, its editor left the focus to the list, whose keys are commands: "quand"
            # after ctrl+↑ quit at q, issue #23 item 2).
            typing = (
                item is not None
                and current is not None
                and focused is not None
                and current in focused.ancestors_with_self
            )
            if not box.is_attached:
                return  # the app is quitting: Textual refuses every mount from then on
            if item is None:
                await box.remove_children()
                await box.mount(Static(self._empty_text(), id="empty-pane"))
                self.refresh_bindings()
                return
            # The panes of the conversations switched away from stay mounted, hidden:
            # switching back shows one again (a layout and a paint) instead of building its
            # forty widgets (issue #23 benchmark: ≤150 ms from ctrl+↓ to the conversation).
            pane = self._kept(item)
            if pane is None:
                pane = (
                    VoicePane(self.services, self.actor, item)
                    if item.is_voice
                    else ConversationPane(self.services, self.actor, item)
                )
                await box.mount(pane)
            else:
                pane.display = True
                if isinstance(pane, ConversationPane):
                    pane.shown_again(item)
            self._shown_order = [i for i in self._shown_order if i != item.id] + [item.id]
            if typing:
                pane.focus_editor()
            for child in list(box.children):
                if child is pane:
                    continue
                if isinstance(child, ConversationPane):
                    if child.display:  # the one shown until now (the others are hidden)
                        child.display = False
                        child.hidden()
                else:  # a call's pane, the empty pane: built again when wanted
                    await child.remove()
            await self._prune(box)
        self.refresh_bindings()  # the pane keys shown depend on the pane's kind
        if item.unread:
            self.mark_read(item.id)

    def _kept(self, item: InteractionSummary) -> ConversationPane | VoicePane | None:
        """The hidden pane kept for ``item``, if it can show it (a conversation's)."""
        for pane in self._kept_panes():
            if pane.item.id == item.id and isinstance(pane, ConversationPane):
                return None if item.is_voice else pane
        return None

    async def _prune(self, box: Vertical) -> None:
        """Remove the hidden panes of interactions no longer in the list (ended here or
        elsewhere), and the least recently shown beyond :data:`KEPT_PANES`."""
        listed = {i.id for i in self.query_one(InteractionList).items} - self._ended_ids
        hidden = [p for p in self._kept_panes() if not p.display]
        recent = {pid: n for n, pid in enumerate(self._shown_order)}
        hidden.sort(key=lambda p: recent.get(p.item.id, -1))
        going = [p for p in hidden if p.item.id not in listed]
        keep = [p for p in hidden if p.item.id in listed]
        going += keep[: max(0, len(keep) - KEPT_PANES)]
        if going:
            await box.remove_children(going)
            gone = {p.item.id for p in going}
            self._shown_order = [i for i in self._shown_order if i not in gone]

    @work(group="mark-read", exit_on_error=False)
    async def mark_read(self, interaction_id: int) -> None:
        await self.services.conversations.mark_read(self.actor, interaction_id)

    def action_next_interaction(self) -> None:
        self._move(+1)

    def action_previous_interaction(self) -> None:
        self._move(-1)

    def _move(self, step: int) -> None:
        """ctrl+↓/↑: the next conversation, ready to write in (docs/keys.md).  The focus goes
        to the open pane's editor first, so what is typed in the same burst is text, never a
        command of the list; the next pane's editor takes it over once mounted (see
        :meth:`_show_pane`)."""
        lst = self.query_one(InteractionList)
        if not lst.items:
            return
        self._focus_pane(now=True)
        current = lst.highlighted if lst.highlighted is not None else -step
        lst.highlighted = (current + step) % len(lst.items)

    #: Pane actions and the kind of pane that has them.
    PANE_ACTIONS: dict[str, type] = {
        "send": ConversationPane,
        "replace": ConversationPane,
        "archive": ConversationPane,
        "sms": VoicePane,
        "hang_up": VoicePane,
        "close": ConversationPane,
    }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show (and allow) a pane's keys only when such a pane is open."""
        if action == "pane" and parameters:
            kind = self.PANE_ACTIONS.get(str(parameters[0]))
            return kind is not None and isinstance(self._pane(), kind)
        if action == "open_pane":
            return isinstance(self.focused, InteractionList)
        return True

    def action_open_pane(self) -> None:
        lst = self.query_one(InteractionList)
        current, pane = lst.current, self._pane()
        if current is not None and pane is not None and pane.item.id == current.id:
            self._focus_pane(now=True)
        else:  # its pane is still being built: the list's own select, as before
            lst.action_select()

    async def action_pane(self, name: str) -> None:
        pane = self._pane()
        if pane is None:
            return
        await pane.run_action("close_interaction" if name == "close" else name)

    def action_focus_list(self) -> None:
        self.query_one(InteractionList).focus()

    # --- new interactions ----------------------------------------------------------------------

    @on(Button.Pressed, "#new")
    def action_new(self) -> None:
        self.start_new("")

    @on(SmsToNumberRequested)
    def _sms_from_call(self, event: SmsToNumberRequested) -> None:
        self.start_new(event.number)

    @work(group="new", exclusive=True, exit_on_error=False)
    async def start_new(self, number: str) -> None:
        """B1 first: the prerequisites are checked before any form opens."""
        from bannertui.ui.screens.direct_form import DirectSmsDialog
        from bannertui.ui.screens.new_interaction import NewInteractionDialog, NewResult

        options = await self.services.agents.outbound_options(self.actor)
        ctx = await self.services.agents.context(self.actor)
        result: NewResult | None = await self.app.push_screen_wait(
            NewInteractionDialog(self.services, self.actor, ctx, options, number)
        )
        if result is None:
            return
        if result.mode is SendMode.SMART and result.interaction_id is not None:
            self.post_message(InteractionOpened(result.interaction_id))
            return
        templates = await self.services.outbound.templates(self.actor)
        await self.app.push_screen_wait(
            DirectSmsDialog(
                self.services, self.actor, result.number, options.sender_numbers, templates
            )
        )
        self.reload()

    @on(InteractionOpened)
    def _opened(self, event: InteractionOpened) -> None:
        self.open_interaction(event.interaction_id)

    @work(group="banner-reload", exclusive=True, exit_on_error=False)
    async def open_interaction(self, interaction_id: int) -> None:
        await self._reload()
        lst = self.query_one(InteractionList)
        lst.select_id(interaction_id)
        await self._select(interaction_id)
        self.call_after_refresh(self._focus_pane)

    def _focus_pane(self, *, now: bool = False) -> None:
        """The open pane's editor (a call's SMS button) takes the focus; ``now``: before the
        next key is handled (``Widget.focus`` waits for the queued keys: those typed in the
        same burst went to the list, and its letters are commands)."""
        pane = self._pane()
        if pane is None:
            return
        if not now:
            pane.focus_editor()
            return
        target = pane.focus_target()
        if target is not None:
            self.set_focus(target)

    @on(InteractionEnded)
    def _ended(self, event: InteractionEnded) -> None:
        """The pane has ended its interaction (the write is done): its row goes now, with no
        read and no wait for a change check (issue #23 item 14: the list took up to seconds).
        Nothing is awaited here: the screen paints only between its messages, and the old
        pane's teardown (its draft saved, every child stopped) ran here before the list was
        even reloaded.  The next row's pane replaces it in a worker; the reload (balance, a
        conversation routed to the agent now that they have room) follows in the background."""
        self._ended_ids.add(event.interaction_id)
        lst = self.query_one(InteractionList)
        self.set_focus(lst)  # now: the ended pane's editor had it, and its pane goes
        with self.prevent(OptionList.OptionHighlighted):  # the pane is replaced just below
            lst.drop(event.interaction_id)
        if self.selected in (event.interaction_id, None):
            self._show_pane_soon(lst.current)
        self.reload()

    def _show_pane_soon(self, item: InteractionSummary | None) -> None:
        """:meth:`_show_pane` once the screen has painted what changed until now (the pane
        swap is the costly part: a pane's teardown and mount, the footer's keys), and in a
        worker, so the screen goes on painting meanwhile."""
        self.selected = item.id if item else None

        def swap() -> None:
            if self.selected == (item.id if item else None):  # else superseded meanwhile
                self.run_worker(self._show_pane(item), group="banner-pane", exit_on_error=False)

        self.call_after_refresh(swap)

    @on(MessageSent)
    def _sent(self, _event: MessageSent) -> None:
        self.reload()


def _show(static: Static, content: Content) -> None:
    """``static`` shows ``content`` (not updated, laid out and repainted when it already
    does: the Banner reloads after each change in the database)."""
    drawn = (content.plain, tuple(content.spans))
    if getattr(static, "_bannertui_drawn", None) != drawn:
        static._bannertui_drawn = drawn  # type: ignore[attr-defined]
        static.update(content)
