"""The command palette (ctrl+p, SPEC X3; issue #23 item 12): built from the bindings, it
offers each command once, only what the agent may do, and only what works on the screen
it was opened from."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.testing import app_for, prepare_demo_database_async, wait_until, workers_done
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.inbox import InboxScreen
from bannertui.ui.widgets.conversation import ConversationPane
from bannertui.ui.widgets.thread import ThreadView
from bannertui.ui.widgets.voice_pane import VoicePane

SIZE = (100, 30)
LEA = "+33612000001"  # alice's Support conversation in the demo
SUPPORT_NUMBER = "+33757000010"
CALLER = "+33698765432"
#: The conversation commands: offered only while a Smart SMS conversation is open.
CONVERSATION = {"Send message", "Replace variables", "Close interaction", "Archive interaction"}
#: The call commands: offered only while a voice call is open.
CALL = {"Hang up", "SMS to caller"}


async def demo_url(tmp_path: Path, *, replies: int = 0) -> str:
    """The demo database; ``replies`` more texts from Léa in alice's conversation (more than
    a page of the thread: older ones to load)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    if replies:
        other = Services(Database(url))
        try:
            for n in range(replies):
                await other.inbound.receive(LEA, SUPPORT_NUMBER, f"reply {n}", f"older-{n}")
        finally:
            await other.db.dispose()
    return url


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


async def loaded(app: BannerApp, pilot: Pilot[None], pane: type | None = None) -> None:
    """The Banner with the agent read (and ``pane``'s kind of interaction open)."""
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
    await wait_until(pilot, lambda: banner(app).ctx is not None)
    if pane is not None:
        await wait_until(pilot, lambda: bool(banner(app).query(pane)))
    await workers_done(pilot)


def offered(app: BannerApp) -> list[str]:
    """What the palette would offer on the screen now on top."""
    return [command.title for command in app.get_system_commands(app.screen)]


def listed(palette: CommandPalette) -> list[str]:
    options = palette.query_one(CommandList)
    return [
        str(options.get_option_at_index(i).hit.text)  # type: ignore[attr-defined]
        for i in range(options.option_count)
    ]


async def open_palette(app: BannerApp, pilot: Pilot[None]) -> CommandPalette:
    """ctrl+p, once the palette lists its commands (discovered by a worker)."""
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
    palette = app.screen
    assert isinstance(palette, CommandPalette)
    await wait_until(pilot, lambda: palette.query_one(CommandList).option_count > 0)
    await workers_done(pilot)
    return palette


async def palette_titles(app: BannerApp, pilot: Pilot[None]) -> list[str]:
    return listed(await open_palette(app, pilot))


# --- item 12: who may do what ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "supervisor", "admin"),
    [("alice", False, False), ("sam", True, False), ("admin", True, True)],
)
async def test_the_palette_offers_the_dashboard_and_administration_to_whom_may_open_them(
    tmp_path: Path, login: str, supervisor: bool, admin: bool
) -> None:
    """Issue #23 item 12: ctrl+p offered Administration and the supervisor dashboard to
    alice, an agent, and refused them once chosen."""
    app = app_for(await demo_url(tmp_path), login)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        titles = await palette_titles(app, pilot)
        assert ("Supervisor dashboard" in titles) is supervisor
        assert ("Administration" in titles) is admin
        assert "Inbox" in titles  # what every agent may open


async def test_commands_are_those_the_profile_allows(tmp_path: Path) -> None:
    """david's profile has no outgoing messaging: nothing that sends is offered (New
    interaction and Send SMS were, and refused once chosen)."""
    app = app_for(await demo_url(tmp_path), "david")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        titles = offered(app)
        assert "New interaction" not in titles
        assert "Send SMS" not in titles
        assert {"Inbox", "People", "Keys", "Quit"} <= set(titles)


# --- item 12: each command once -----------------------------------------------------------------


async def test_each_command_is_offered_once(tmp_path: Path) -> None:
    """Issue #23 item 12: "Keys" was offered twice (ours, and Textual's own help panel)."""
    app = app_for(await demo_url(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot, ConversationPane)
        titles = await palette_titles(app, pilot)
        twice = [title for title, n in Counter(titles).items() if n > 1]
        assert twice == []
        assert titles.count("Keys") == 1
        assert titles.count("Quit") == 1


# --- item 12: only what works on this screen -------------------------------------------------


async def test_call_commands_only_with_a_call_and_conversation_ones_only_with_a_conversation(
    tmp_path: Path,
) -> None:
    """Issue #23 item 12: Hang up was offered with no call (alice's Smart conversation open);
    with the call open, the conversation's commands were offered too."""
    url = await demo_url(tmp_path)
    other = Services(Database(url))
    try:
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            await loaded(app, pilot, ConversationPane)
            titles = set(offered(app))
            assert titles >= CONVERSATION
            assert not CALL & titles

            call = await other.voice.incoming_call(CALLER, "alice")
            await wait_until(
                pilot,
                lambda: call.id in [i.id for i in banner(app).query_one("#interactions").items],  # type: ignore[attr-defined]
            )
            await pilot.press("ctrl+down")
            await loaded(app, pilot, VoicePane)
            titles = set(offered(app))
            assert titles >= CALL
            assert not CONVERSATION & titles
            assert "Load older" not in titles
    finally:
        await other.db.dispose()


async def test_no_conversation_commands_without_a_conversation(tmp_path: Path) -> None:
    """bruno has no open interaction: nothing to send, close, archive, hang up or load."""
    app = app_for(await demo_url(tmp_path), "bruno")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        titles = set(offered(app))
        assert not (CONVERSATION | CALL) & titles
        assert "Load older" not in titles
        assert "Next interaction" not in titles  # nothing to move to
        assert "New interaction" in titles


async def test_the_inbox_commands_are_offered_on_the_inbox(tmp_path: Path) -> None:
    """On the inbox, ctrl+p offers the inbox's own commands (the palette is a screen of its
    own: the commands of "the screen on top" were the palette's, none)."""
    app = app_for(await demo_url(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await workers_done(pilot)
        titles = await palette_titles(app, pilot)
        assert {"Reply", "Forward", "Delete", "Filter", "Back to the Banner"} <= set(titles)
        assert "Inbox" not in titles  # already there
        assert not (CONVERSATION | CALL) & set(titles)  # the Banner's, under the inbox
        assert "New interaction" not in titles


# --- item 12: Load older ------------------------------------------------------------------------


async def test_load_older_is_in_the_palette_and_loads_the_older_messages(tmp_path: Path) -> None:
    """Issue #23 item 12: the palette lacked Load older (``[`` in the thread)."""
    app = app_for(await demo_url(tmp_path, replies=60), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot, ConversationPane)
        thread = banner(app).query_one(ThreadView)
        await wait_until(pilot, lambda: thread.has_older)
        shown = len(thread.messages)
        palette = await open_palette(app, pilot)
        assert "Load older" in listed(palette)
        await pilot.press(*"load older")
        await wait_until(pilot, lambda: listed(palette)[:1] == ["Load older"])
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(thread.messages) > shown)
        assert isinstance(app.screen, BannerScreen)


async def test_a_command_runs_its_key_s_action(tmp_path: Path) -> None:
    """Chosen in the palette, a command does what its key does (here F4: the inbox)."""
    app = app_for(await demo_url(tmp_path), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await open_palette(app, pilot)
        await pilot.press(*"inbox")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, InboxScreen))
