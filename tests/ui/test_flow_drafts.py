"""Drafts through the pilot (issue #23 item 3: "Drafts vanish").

What an agent types is kept in the database as they type: it comes back after switching
conversations (ctrl+↑ ctrl+↑ ctrl+↓ ctrl+↓), after quitting and after a crash (a new app on the
same database), goes when the message is sent, and is kept — with a notice, and offered again
in Send SMS — when the conversation is closed by another process.  The Direct form and Send
SMS keep one draft each.  Every wait is for a condition (the pilot's helpers of
test_flow_smart.py), never a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.services.drafts import COMPOSE, DIRECT, DraftRow
from bannertui.store.database import Database
from bannertui.testing import (
    WAIT_FLOOR_SECONDS,
    app_for,
    demo_url,
    notifications,
    wait_until,
    workers_done,
)
from bannertui.ui import drafts as ui_drafts
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.compose import ComposeDialog
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.screens.direct_form import DirectSmsDialog
from bannertui.ui.widgets.conversation import ConversationPane
from bannertui.ui.widgets.message_editor import MessageEditor
from bannertui.ui.widgets.thread import ThreadView

SIZE = (100, 30)
ALICE = Actor("alice")
LEA = "+33612000001"  # alice's progressing Support conversation in the demo
SECOND = "+33612000008"
SUPPORT = 1  # the demo's Support queue


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def has_pane(app: BannerApp, interaction_id: int) -> bool:
    panes = banner(app).query(ConversationPane)
    return any(p.item.id == interaction_id and p.display for p in panes)


def pane(app: BannerApp, interaction_id: int) -> ConversationPane:
    return next(
        p for p in banner(app).query(ConversationPane) if p.item.id == interaction_id and p.display
    )


def editor_text(app: BannerApp, interaction_id: int) -> str | None:
    """The text in that conversation's editor; None while its pane is not there."""
    if not has_pane(app, interaction_id):
        return None
    areas = pane(app, interaction_id).query("#message-text")
    return areas.first(TextArea).text if areas else None


async def eventually(pilot: Pilot[None], check: Callable[[], Awaitable[bool]]) -> None:
    """Let the app run until the database says ``check()`` (read by another process)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FLOOR_SECONDS
    while not await check():
        if loop.time() > deadline:
            raise TimeoutError(f"not stored within {WAIT_FLOOR_SECONDS} s")
        await pilot.pause(0.05)


async def pane_ready(app: BannerApp, pilot: Pilot[None], interaction_id: int) -> None:
    """That conversation's pane shows its thread and its first reads (the draft's) are done."""
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
    await wait_until(pilot, lambda: has_pane(app, interaction_id))

    await wait_until(pilot, lambda: bool(pane(app, interaction_id).query(ThreadView)))
    await workers_done(pilot)


async def type_in_editor(
    app: BannerApp, pilot: Pilot[None], interaction_id: int, text: str
) -> None:
    """Enter on the list opens the editor (as an agent does); ``text`` is typed there."""
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "message-text")
    await pilot.press(*text)
    await wait_until(pilot, lambda: editor_text(app, interaction_id) == text)


@pytest.fixture
def no_pause_save(monkeypatch: pytest.MonkeyPatch) -> None:
    """No save on a pause in typing within the test: what is stored was saved as the pane or
    dialog went (or the app quit)."""
    monkeypatch.setattr(ui_drafts, "DRAFT_PAUSE_SECONDS", 3600.0)


class Other:
    """Another process on the same database: starts, closes and reads (its own Services)."""

    def __init__(self, url: str) -> None:
        self.services = Services(Database(url))

    async def draft(self, key: int | str) -> DraftRow | None:
        return await self.services.drafts.get(ALICE, key)

    async def close(self) -> None:
        await self.services.db.dispose()


# --- conversations -----------------------------------------------------------------------------


async def test_a_draft_comes_back_after_switching_conversations(
    tmp_path: Path, no_pause_save: None
) -> None:
    url = await demo_url(tmp_path)
    other = Other(url)
    try:
        second = await other.services.outbound.start_smart(ALICE, SECOND, SUPPORT)
        first = (await other.services.conversations.summaries(ALICE))[0].id
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            await pane_ready(app, pilot, first)
            await type_in_editor(app, pilot, first, "Sure, Tuesday")
            for key in ("ctrl+up", "ctrl+up", "ctrl+down", "ctrl+down"):
                await pilot.press(key)
            await wait_until(pilot, lambda: editor_text(app, first) == "Sure, Tuesday")
            # and the other conversation's editor was never given it
            await pilot.press("ctrl+down")
            await pane_ready(app, pilot, second.id)
            assert editor_text(app, second.id) == ""
            await pilot.press("ctrl+up")
            await pane_ready(app, pilot, first)
            assert editor_text(app, first) == "Sure, Tuesday"
        stored = await other.draft(first)
        assert stored is not None
        assert stored.text == "Sure, Tuesday"
        assert await other.draft(second.id) is None
    finally:
        await other.close()


async def test_a_draft_is_stored_while_typing_so_a_crash_keeps_it(tmp_path: Path) -> None:
    """Saved once the typing pauses: the app never left, so nothing else could have."""
    url = await demo_url(tmp_path)
    other = Other(url)
    try:
        first = (await other.services.conversations.summaries(ALICE))[0].id
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            await pane_ready(app, pilot, first)
            await type_in_editor(app, pilot, first, "Your parcel")

            async def stored() -> bool:
                row = await other.draft(first)
                return row is not None and row.text == "Your parcel"

            await eventually(pilot, stored)
            assert app.is_running
    finally:
        await other.close()


async def test_a_draft_comes_back_after_quitting_and_starting_again(
    tmp_path: Path, no_pause_save: None
) -> None:
    url = await demo_url(tmp_path)
    other = Other(url)
    try:
        first = (await other.services.conversations.summaries(ALICE))[0].id
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            await pane_ready(app, pilot, first)
            await type_in_editor(app, pilot, first, "See you")
            await pilot.press("ctrl+q")  # at once: what was just typed is flushed on the way out
        stored = await other.draft(first)
        assert stored is not None
        assert stored.text == "See you"

        again = app_for(url, "alice")
        async with again.run_test(size=SIZE) as pilot:
            await pane_ready(again, pilot, first)
            await wait_until(pilot, lambda: editor_text(again, first) == "See you")
            # the agent goes on where they stopped: the cursor is at the end
            area = pane(again, first).query_one("#message-text", TextArea)
            assert area.cursor_location == area.document.end
    finally:
        await other.close()


async def test_sending_clears_the_draft(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    other = Other(url)
    try:
        first = (await other.services.conversations.summaries(ALICE))[0].id
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            await pane_ready(app, pilot, first)
            await type_in_editor(app, pilot, first, "On its way")

            async def stored() -> bool:
                return await other.draft(first) is not None

            await eventually(pilot, stored)
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "confirm")
            await pilot.press("enter")
            await wait_until(pilot, lambda: editor_text(app, first) == "")

            async def cleared() -> bool:
                return await other.draft(first) is None

            await eventually(pilot, cleared)
            await workers_done(pilot)
        assert await other.draft(first) is None

        again = app_for(url, "alice")
        async with again.run_test(size=SIZE) as pilot:
            await pane_ready(again, pilot, first)
            assert editor_text(again, first) == ""
    finally:
        await other.close()


async def test_a_draft_of_a_conversation_closed_elsewhere_is_kept_with_a_notice(
    tmp_path: Path, no_pause_save: None
) -> None:
    """Another process closes the open conversation: the pane goes, the draft stays, a notice
    says so and where it is, and Send SMS (F5) offers it with the customer's number."""
    url = await demo_url(tmp_path)
    other = Other(url)
    try:
        await other.services.outbound.start_smart(ALICE, SECOND, SUPPORT)
        first = (await other.services.conversations.summaries(ALICE))[0].id
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            await pane_ready(app, pilot, first)
            await type_in_editor(app, pilot, first, "Your refund is on its way")
            await other.services.conversations.close(ALICE, first)
            await wait_until(pilot, lambda: not has_pane(app, first))
            await wait_until(
                pilot,
                lambda: any(
                    "Your draft to Léa Moreau (+33612000001) was kept" in n
                    for n in notifications(app)
                ),
            )
            notice = next(n for n in notifications(app) if "Your draft to" in n)
            assert "closed elsewhere" in notice
            assert "F5" in notice
            kept = await other.draft(first)
            assert kept is not None
            assert (kept.text, kept.closed) == ("Your refund is on its way", True)

            await workers_done(pilot)
            await pilot.press("f5")
            await wait_until(pilot, lambda: isinstance(app.screen, ComposeDialog))
            dialog = app.screen
            editor = dialog.query_one(MessageEditor)
            await wait_until(pilot, lambda: editor.text == "Your refund is on its way")
            assert dialog.query_one("#numbers", Input).value == LEA
            await workers_done(pilot)
        compose = await other.draft(COMPOSE)
        assert compose is not None
        assert (compose.text, compose.recipients) == ("Your refund is on its way", LEA)
        assert await other.draft(first) is None  # moved into Send SMS, not copied
    finally:
        await other.close()


# --- the Direct form and Send SMS ----------------------------------------------------------------


async def direct_form(app: BannerApp, pilot: Pilot[None], number: str) -> DirectSmsDialog:
    senders = ("+33757000001", "+33757000002")
    form = DirectSmsDialog(app.services, app.actor, number, senders, [])
    app.push_screen(form)
    await wait_until(pilot, lambda: app.screen is form and form.is_mounted)
    await wait_until(pilot, lambda: app.focused is form.query_one("#message-text"))
    await workers_done(pilot)
    return form


async def test_the_direct_form_keeps_one_draft_until_sent(
    tmp_path: Path, no_pause_save: None
) -> None:
    url = await demo_url(tmp_path)
    other = Other(url)
    try:
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
            await workers_done(pilot)
            form = await direct_form(app, pilot, SECOND)
            await pilot.press(*"Your code is 482")
            area = form.query_one("#message-text", TextArea)
            await wait_until(pilot, lambda: area.text == "Your code is 482")
            await pilot.press("escape")  # cancel: the draft stays
            await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))

            async def stored() -> bool:
                row = await other.draft(DIRECT)
                return row is not None and (row.text, row.recipients) == (
                    "Your code is 482",
                    SECOND,
                )

            await eventually(pilot, stored)
            # a form to another number does not take it
            form = await direct_form(app, pilot, LEA)
            assert form.query_one(MessageEditor).text == ""
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
            # the form to its number does
            form = await direct_form(app, pilot, SECOND)
            editor = form.query_one(MessageEditor)
            await wait_until(pilot, lambda: editor.text == "Your code is 482")
            form.query_one("#sender", Select).value = "+33757000002"
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
            await wait_until(pilot, lambda: any("SMS sent to" in n for n in notifications(app)))
            await workers_done(pilot)
        assert await other.draft(DIRECT) is None
    finally:
        await other.close()


async def open_compose(app: BannerApp, pilot: Pilot[None]) -> ComposeDialog:
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
    await workers_done(pilot)
    await pilot.press("f5")
    await wait_until(pilot, lambda: isinstance(app.screen, ComposeDialog))
    dialog = app.screen
    assert isinstance(dialog, ComposeDialog)
    await wait_until(pilot, lambda: dialog.is_mounted and app.focused is not None)
    await workers_done(pilot)
    return dialog


async def test_send_sms_keeps_its_draft_and_recipients_until_sent(
    tmp_path: Path, no_pause_save: None
) -> None:
    url = await demo_url(tmp_path)
    other = Other(url)
    try:
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            dialog = await open_compose(app, pilot)
            numbers = dialog.query_one("#numbers", Input)
            await wait_until(pilot, lambda: app.focused is numbers)
            await pilot.press(*SECOND)
            await wait_until(pilot, lambda: numbers.value == SECOND)
            editor = dialog.query_one(MessageEditor)
            editor.focus_text()
            await wait_until(pilot, lambda: editor.has_focus_within)
            await pilot.press(*"Closed on Monday")
            await wait_until(pilot, lambda: editor.text == "Closed on Monday")
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        stored = await other.draft(COMPOSE)
        assert stored is not None
        assert (stored.text, stored.recipients) == ("Closed on Monday", SECOND)

        again = app_for(url, "alice")
        async with again.run_test(size=SIZE) as pilot:
            dialog = await open_compose(again, pilot)
            editor = dialog.query_one(MessageEditor)
            await wait_until(pilot, lambda: editor.text == "Closed on Monday")
            assert dialog.query_one("#numbers", Input).value == SECOND
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: isinstance(again.screen, BannerScreen))
            await wait_until(pilot, lambda: any("queued" in n for n in notifications(again)))
            await workers_done(pilot)
            assert await other.draft(COMPOSE) is None
            dialog = await open_compose(again, pilot)
            assert dialog.query_one(MessageEditor).text == ""
            assert dialog.query_one("#numbers", Input).value == ""
    finally:
        await other.close()
