"""The New-interaction flow through the pilot: B1 prerequisites, routing by permissions (B3),
live recipient validation (B2), queue errors; the help screen, the palette and the bindings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from textual.binding import Binding
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, RadioSet, Select, Static

from bannertui.store.database import Database
from bannertui.store.models import Account, Profile
from bannertui.testing import app_for, demo_app, prepare_demo_database_async, wait_until
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.direct_form import DirectSmsDialog
from bannertui.ui.screens.help import HelpScreen
from bannertui.ui.screens.new_interaction import NewInteractionDialog

SIZE = (100, 30)


def text_of(app: BannerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def notifications(app: BannerApp) -> list[tuple[str, str]]:
    return [(str(n.message), str(n.severity)) for n in app._notifications]


async def loaded(app: BannerApp, pilot: Pilot[None]) -> None:
    """The Banner shows the agent (first load done) and the list has the focus."""
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen), 5)
    await app.workers.wait_for_complete()
    await wait_until(pilot, lambda: bool(text_of(app, "#agent-info")), 5)
    await pilot.pause()


async def open_new(app: BannerApp, pilot: Pilot[None]) -> NewInteractionDialog:
    await loaded(app, pilot)
    assert app.focused is app.screen.query_one("#interactions")
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(app.screen, NewInteractionDialog), 5)
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, NewInteractionDialog)
    assert app.focused is dialog.query_one("#recipient", Input)
    return dialog


async def enter_number(pilot: Pilot[None], dialog: NewInteractionDialog, number: str) -> None:
    """Most of the number at once, the last character typed (keys are slow in the pilot)."""
    recipient = dialog.query_one("#recipient", Input)
    recipient.value = number[:-1]
    recipient.cursor_position = len(recipient.value)
    await pilot.press(number[-1])
    await pilot.pause()
    assert recipient.value == number


def queue_id(dialog: NewInteractionDialog, name: str) -> int:
    return next(q.id for q in dialog.options.queues if q.name == name and q.id is not None)


def queue_shown(dialog: NewInteractionDialog) -> bool:
    return dialog.query_one("#queue-row").display and dialog.query_one("#queue").region.area > 0


async def app_with(tmp_path: Path, login: str, change: Any) -> BannerApp:
    """The app on a demo database changed by ``change(session)`` before the app starts."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    db = Database(url)
    try:
        async with db.write() as session:
            await change(session)
    finally:
        await db.dispose()
    return app_for(url, login)


# --- routing by permissions (B3) -----------------------------------------------------------


async def test_direct_and_smart_agent_chooses_the_routing(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        routing = dialog.query_one("#routing", RadioSet)
        assert routing.pressed_button is not None
        assert routing.pressed_button.id == "route-smart"  # Smart first, with its queue
        assert queue_shown(dialog)
        await pilot.click("#route-direct")
        await pilot.pause()
        assert routing.pressed_button.id == "route-direct"
        assert not queue_shown(dialog)  # Direct has no queue
        await pilot.click("#route-smart")
        await pilot.pause()
        assert queue_shown(dialog)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen), 2)


async def test_smart_only_agent_never_sees_the_routing_selector(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="bruno")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        assert not dialog.query("#routing")
        assert not dialog.query("#route-direct")
        assert queue_shown(dialog)
        names = [q.name for q in dialog.options.queues]
        assert names == ["Billing", "Sales", "Support"]
        assert text_of(app, "#authorized") == "Authorized: BE, FR"


async def test_direct_only_agent_gets_neither_selector_nor_queue(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="chloe")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        assert not dialog.query("#routing")
        assert not queue_shown(dialog)


# --- B1: refused before any form opens ---------------------------------------------------------


async def refused_before_the_dialog(app: BannerApp, pilot: Pilot[None], name: str) -> None:
    await loaded(app, pilot)
    await pilot.press("n")
    await wait_until(pilot, lambda: any(name in m for m, _ in notifications(app)), 5)
    await pilot.pause(0.2)
    assert [s for m, s in notifications(app) if name in m] == ["error"]
    assert isinstance(app.screen, BannerScreen)
    assert not any(isinstance(s, NewInteractionDialog) for s in app.screen_stack)
    assert app.is_running


async def test_agent_without_messaging_gets_an_error_and_no_dialog(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="david")
    async with app.run_test(size=SIZE) as pilot:
        await refused_before_the_dialog(app, pilot, "No outgoing messaging permission")


async def test_simultaneous_limit_reached_opens_no_dialog(tmp_path: Path) -> None:
    async def limit_to_one(session: Any) -> None:
        await session.execute(
            sa.update(Profile)
            .where(col(Profile.name) == "Direct and Smart")
            .values(max_simultaneous=1)
        )

    app = await app_with(tmp_path, "alice", limit_to_one)  # alice has one open conversation
    async with app.run_test(size=SIZE) as pilot:
        await refused_before_the_dialog(app, pilot, "Simultaneous interaction limit reached")


async def test_no_provider_configured_opens_no_dialog(tmp_path: Path) -> None:
    async def no_provider(session: Any) -> None:
        await session.execute(sa.update(Account).values(provider_url=None))

    app = await app_with(tmp_path, "alice", no_provider)
    async with app.run_test(size=SIZE) as pilot:
        await refused_before_the_dialog(app, pilot, "No SMS provider configured")


# --- B2: live validation of the recipient


async def test_hint_follows_the_number_as_it_is_typed(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_new(app, pilot)
        await pilot.press(*"+33 6 12")
        await pilot.pause()
        hint = text_of(app, "#recipient-hint")
        assert hint.startswith("France (+33)…"), hint
        assert "+33 6 12" in hint
        await pilot.press(*" 34 56 78")
        await pilot.pause()
        hint = text_of(app, "#recipient-hint")
        assert "· +33 6 12 34 56 78" in hint, hint
        assert not app.screen.query_one("#recipient-hint").has_class("-bad")
        assert app.screen.query_one("#recipient", Input).value == "+33 6 12 34 56 78"


async def test_landline_is_an_invalid_number_live_and_on_continue(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await enter_number(pilot, dialog, "+33 1 23 45 67 89")
        hint = text_of(app, "#recipient-hint")
        assert hint.startswith("Invalid number"), hint
        assert "landline" in hint
        assert dialog.query_one("#recipient-hint").has_class("-bad")
        dialog.query_one("#queue", Select).value = queue_id(dialog, "Support")
        await pilot.pause()
        await pilot.click("#continue")
        await wait_until(pilot, lambda: "Invalid number" in text_of(app, "#dialog-error"), 5)
        assert app.screen is dialog  # the dialog stays open
        assert "Invalid number" in " ".join(m for m, _ in notifications(app))
        assert (
            len(banner(app).query_one("#interactions", OptionList).options) == 1
        )  # nothing started


async def test_country_outside_the_profile_is_not_authorized(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="bruno")  # FR, BE only
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await enter_number(pilot, dialog, "+41 78 123 45 67")
        hint = text_of(app, "#recipient-hint")
        assert hint.startswith("Country not authorized"), hint
        assert dialog.query_one("#recipient-hint").has_class("-bad")
        dialog.query_one("#queue", Select).value = queue_id(dialog, "Support")
        await pilot.pause()
        await pilot.click("#continue")
        await wait_until(
            pilot, lambda: "Country not authorized" in text_of(app, "#dialog-error"), 5
        )
        assert app.screen is dialog
        # typing again clears the error
        await pilot.click("#recipient")
        await pilot.press("end", "backspace")
        await pilot.pause()
        assert dialog.query_one("#recipient", Input).value == "+41 78 123 45 6"
        assert text_of(app, "#dialog-error") == ""


async def test_continue_without_queue_asks_for_one(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="bruno")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await enter_number(pilot, dialog, "+33612000008")
        await pilot.press("enter")
        await pilot.pause()
        assert "Choose a distribution queue" in text_of(app, "#dialog-error")
        assert app.focused is dialog.query_one("#queue", Select)
        assert app.screen is dialog


async def test_queue_without_number_is_no_queue_configured(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await enter_number(pilot, dialog, "+33612000008")
        dialog.query_one("#queue", Select).value = queue_id(dialog, "Billing")
        await pilot.pause()
        await pilot.click("#continue")
        await wait_until(pilot, lambda: "No queue configured" in text_of(app, "#dialog-error"), 5)
        assert app.screen is dialog
        assert app.focused is dialog.query_one("#queue", Select)
        assert any("No queue configured" in m for m, _ in notifications(app))
        items = banner(app).query_one("#interactions", OptionList)
        assert items.option_count == 1  # no interaction was opened in Billing


async def test_escape_cancels_the_dialog(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await enter_number(pilot, dialog, "+33612000008")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen), 2)
        await pilot.pause(0.3)
        assert not any(
            isinstance(s, (NewInteractionDialog, DirectSmsDialog)) for s in app.screen_stack
        )
        assert banner(app).query_one("#interactions", OptionList).option_count == 1


# --- help, palette, bindings (X3)


async def test_question_mark_opens_the_help(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), 2)
        body = text_of(app, "#help-body")
        for needle in ("ctrl+s", "New interaction", "ctrl+r", "F8", "F9", "F3", "ctrl+p"):
            assert needle in body, needle
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen), 2)


async def test_palette_offers_new_interaction_and_runs_it(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("New interaction", "Send message", "Close interaction", "SMS to caller"):
            assert title in titles
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), 2)
        await pilot.press(*"New int")
        results = app.screen.query_one(OptionList)

        def offered() -> bool:
            return any(
                "New interaction" in str(results.get_option_at_index(i).prompt)
                for i in range(results.option_count)
            )

        await wait_until(pilot, offered, 3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, NewInteractionDialog), 5)


def test_every_banner_binding_has_an_id_and_a_description() -> None:
    bindings = [b for b in (*BannerScreen.BINDINGS, *BannerApp.BINDINGS) if isinstance(b, Binding)]
    assert len(bindings) == len(BannerScreen.BINDINGS) + len(BannerApp.BINDINGS)
    for binding in bindings:
        assert binding.id, binding
        assert binding.description, binding
    ids = [b.id for b in bindings]
    assert len(ids) == len(set(ids))
