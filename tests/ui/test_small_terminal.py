"""An 80×24 terminal and an empty balance (issue #23 item 13), through the pilot: every line
of the conversation readable, the Keys hint in the footer, and "Insufficient credits" said
before the send is confirmed (the services refusing still)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static, TextArea
from textual.widgets._footer import Footer, FooterKey

from bannertui.domain.actor import Actor
from bannertui.domain.errors import InsufficientCredits
from bannertui.store.database import Database
from bannertui.store.models import Account
from bannertui.testing import (
    app_for,
    prepare_demo_database_async,
    shown_pane,
    wait_until,
    workers_done,
)
from bannertui.testing import notices as notifications
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.screens.direct_form import DirectSmsDialog
from bannertui.ui.widgets.conversation import UNAVAILABLE, ConversationPane
from bannertui.ui.widgets.credit_counter import CreditCounter

SIZE = (80, 24)


async def demo_with_credits(tmp_path: Path, credits: int) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    db = Database(url)
    try:
        async with db.write() as session:
            await session.execute(sa.update(Account).values(credits=credits))
    finally:
        await db.dispose()
    return url


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def pane(app: BannerApp) -> ConversationPane:
    shown = shown_pane(banner(app))
    assert isinstance(shown, ConversationPane)
    return shown


def shown_text(widget: Widget) -> str:
    """What the widget draws in its region now (what does not fit is not there)."""
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, *widget.size)))


async def conversation_shown(app: BannerApp, pilot: Pilot[None]) -> ConversationPane:
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, BannerScreen) and shown_pane(app.screen) is not None,
    )
    await workers_done(pilot)
    await pilot.pause()
    return pane(app)


def footer_keys(app: BannerApp) -> tuple[list[FooterKey], int]:
    """The footer's keys in their order, and the column where the visible part ends (the
    command palette's key, docked right, or the footer's edge)."""
    footer = app.screen.query_one(Footer)
    keys = list(footer.query(FooterKey))
    palette = [k for k in keys if k.has_class("-command-palette")]
    end = palette[0].region.x if palette else footer.region.right
    return [k for k in keys if not k.has_class("-command-palette")], end


def visible(keys: list[FooterKey], end: int) -> list[str]:
    return [k.description for k in keys if k.region.right <= end]


# --- lines --------------------------------------------------------------------------------


async def test_not_available_for_sms_is_whole_at_80x24(tmp_path: Path) -> None:
    """Failed before the fix: "Not available for SMS: Transfer · Private message" (one line,
    cut: Attachment and Video were not shown)."""
    app = app_for(await demo_with_credits(tmp_path, 500), "alice")
    async with app.run_test(size=SIZE) as pilot:
        conversation = await conversation_shown(app, pilot)
        line = conversation.query_one("#unavailable", Static)
        await wait_until(pilot, lambda: line.size.height > 0)
        text = " ".join(shown_text(line).split())
        for name in UNAVAILABLE:
            assert name in text, text


# --- the footer ------------------------------------------------------------------------------


async def test_banner_footer_shows_the_keys_hint_at_80x24(tmp_path: Path) -> None:
    """Failed before the fix: the footer ended "f8 Clos▏^p palette"; "? Keys" came after,
    off the screen."""
    app = app_for(await demo_with_credits(tmp_path, 500), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_shown(app, pilot)
        await wait_until(pilot, lambda: bool(footer_keys(app)[0]))
        keys, end = footer_keys(app)
        assert "Keys" in visible(keys, end), [(k.key_display, k.description) for k in keys]
        assert "New" in visible(keys, end)


async def test_no_footer_key_is_cut_and_the_editor_shows_the_keys_hint(tmp_path: Path) -> None:
    app = app_for(await demo_with_credits(tmp_path, 500), "alice")
    async with app.run_test(size=SIZE) as pilot:
        conversation = await conversation_shown(app, pilot)
        await wait_until(pilot, lambda: bool(footer_keys(app)[0]))
        keys, end = footer_keys(app)
        cut = [k.description for k in keys if k.region.right > end]
        assert not cut, f"cut or hidden on the Banner: {cut}"
        conversation.focus_editor()
        area = conversation.query_one(TextArea)
        await wait_until(pilot, lambda: app.focused is area)
        await pilot.pause()
        keys, end = footer_keys(app)
        assert "Keys" in visible(keys, end), [(k.key_display, k.description) for k in keys]
        cut = [k.description for k in keys if k.region.right > end]
        assert not cut, f"cut or hidden in the editor: {cut}"


# --- credits ------------------------------------------------------------------------------


def counter_text(widget: Any) -> str:
    return str(widget.query_one(CreditCounter).render())


async def test_zero_credits_is_a_warning_under_the_editor(tmp_path: Path) -> None:
    """Failed before the fix: "0 characters · 0 credits · GSM-7" in muted grey, nothing said
    about the empty balance."""
    app = app_for(await demo_with_credits(tmp_path, 0), "alice")
    async with app.run_test(size=SIZE) as pilot:
        conversation = await conversation_shown(app, pilot)  # its workers done
        await pilot.pause()
        assert "Credits: 0 — cannot send" in counter_text(conversation), counter_text(conversation)
        assert conversation.query_one(CreditCounter).has_class("-no-credits")


async def test_insufficient_credits_are_said_before_the_confirmation(tmp_path: Path) -> None:
    """Failed before the fix: ctrl+s asked "Send this SMS …?" and the refusal came after
    Send.  The services refuse still."""
    app = app_for(await demo_with_credits(tmp_path, 0), "alice")
    asked: list[str] = []

    def no_question(_message: object) -> None:
        """Every message the app handles: is a confirmation on screen?"""
        if any(isinstance(s, ConfirmDialog) for s in app.screen_stack):
            asked.append(type(app.screen).__name__)

    async with app.run_test(size=SIZE, message_hook=no_question) as pilot:
        conversation = await conversation_shown(app, pilot)
        conversation.focus_editor()
        area = conversation.query_one(TextArea)
        await wait_until(pilot, lambda: app.focused is area)
        area.insert("Hello")
        await wait_until(pilot, lambda: "5 characters" in counter_text(conversation))
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: (
                bool(asked)
                or any(m.startswith("Insufficient credits") for m, _ in notifications(app))
            ),
        )
        await workers_done(pilot)
        assert not asked, "the confirmation was asked with an empty balance"
        assert [s for m, s in notifications(app) if m.startswith("Insufficient credits")] == [
            "error"
        ]
        assert area.text == "Hello"  # nothing lost
        with pytest.raises(InsufficientCredits):
            await app.services.outbound.send_smart(Actor("alice"), conversation.item.id, "Hello")


async def test_direct_form_warns_of_an_empty_balance_as_it_opens(tmp_path: Path) -> None:
    """Failed before the fix: nothing said until Send."""
    app = app_for(await demo_with_credits(tmp_path, 0), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_shown(app, pilot)
        options = await app.services.agents.outbound_options(app.actor)
        app.push_screen(
            DirectSmsDialog(app.services, app.actor, "+33612000008", options.sender_numbers, [])
        )
        await wait_until(pilot, lambda: isinstance(app.screen, DirectSmsDialog))
        dialog = app.screen
        await workers_done(pilot)
        await pilot.pause()
        assert "Credits: 0 — cannot send" in counter_text(dialog), counter_text(dialog)
        with pytest.raises(InsufficientCredits):
            await app.services.outbound.send_direct(
                app.actor, "+33612000008", options.sender_numbers[0], "Hello"
            )


async def test_agent_bar_warns_at_zero_credits(tmp_path: Path) -> None:
    app = app_for(await demo_with_credits(tmp_path, 0), "alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_shown(app, pilot)
        assert "cannot send" in str(banner(app).query_one("#credits", Static).render())
