"""The New-interaction flow through the pilot: B1 prerequisites, routing by permissions (B3),
live recipient validation (B2), queue errors; the help screen, the palette and the bindings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col
from textual.binding import Binding
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, RadioSet, Select, Static

from bannertui.domain.phone import partial_hint
from bannertui.store.database import Database
from bannertui.store.models import Connector, Profile
from bannertui.testing import (
    app_for,
    demo_app,
    prepare_demo_database_async,
    wait_for_screen,
    wait_until,
    workers_done,
)
from bannertui.testing import notices as notifications
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.compose import ComposeDialog
from bannertui.ui.screens.direct_form import DirectSmsDialog
from bannertui.ui.screens.help import HelpScreen
from bannertui.ui.screens.new_interaction import NewInteractionDialog

SIZE = (100, 30)
#: Workers that wait on the dialog they opened (``push_screen_wait``): not waited for.
WAITING_ON_A_DIALOG = frozenset({"start_new"})


def text_of(app: BannerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def shown(app: BannerApp, selector: str) -> str:
    """``text_of``, or "" while the widget is not there (a screen is on top before it has
    composed its widgets)."""
    try:
        return text_of(app, selector)
    except NoMatches:
        return ""


def focused(app: BannerApp, widget_id: str) -> bool:
    return app.focused is not None and app.focused.id == widget_id


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def first_load_shown(app: BannerApp) -> bool:
    """The Banner shows the agent (first load done), the list has the focus and the pane of
    the highlighted interaction, if any, is mounted."""
    screen = app.screen
    if not isinstance(screen, BannerScreen) or not shown(app, "#agent-info"):
        return False
    listed = screen.query_one("#interactions", OptionList).option_count
    return focused(app, "interactions") and bool(screen.query(".interaction-pane")) == bool(listed)


async def loaded(app: BannerApp, pilot: Pilot[None]) -> None:
    await wait_until(pilot, lambda: first_load_shown(app))
    await workers_done(pilot)


def dialog_ready(app: BannerApp, focus: str) -> bool:
    """The dialog on top has run on_mount (it focuses ``focus`` there) and is laid out."""
    try:
        laid_out = app.screen.query_one(".dialog-buttons").region.area > 0
    except NoMatches:
        return False
    return laid_out and focused(app, focus)


async def open_new(app: BannerApp, pilot: Pilot[None]) -> NewInteractionDialog:
    await loaded(app, pilot)
    assert app.focused is app.screen.query_one("#interactions")
    await pilot.press("n")
    await wait_for_screen(pilot, "NewInteractionDialog", skip=WAITING_ON_A_DIALOG)
    await wait_until(pilot, lambda: dialog_ready(app, "recipient"))
    dialog = app.screen
    assert isinstance(dialog, NewInteractionDialog)
    assert app.focused is dialog.query_one("#recipient", Input)
    return dialog


async def enter_number(pilot: Pilot[None], dialog: NewInteractionDialog, number: str) -> None:
    """Most of the number at once, the last character typed (keys are slow in the pilot);
    returns once the dialog has handled the typing (its hint is the whole number's)."""
    recipient = dialog.query_one("#recipient", Input)
    recipient.value = number[:-1]
    recipient.cursor_position = len(recipient.value)
    await pilot.press(number[-1])
    expected = partial_hint(number, allowed_regions=dialog.ctx.allowed_regions)
    await wait_until(
        pilot,
        lambda: (
            recipient.value == number
            and str(dialog.query_one("#recipient-hint", Static).render()) == expected
        ),
    )
    assert recipient.value == number


def queue_id(dialog: NewInteractionDialog, name: str) -> int:
    return next(q.id for q in dialog.options.queues if q.name == name and q.id is not None)


def pressed(routing: RadioSet) -> str | None:
    button = routing.pressed_button
    return None if button is None else button.id


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


async def nothing_started(app: BannerApp, pilot: Pilot[None]) -> None:
    """After a refusal in the dialog: its worker has ended, and the Banner has had the time
    to reload (an interaction started by mistake would be listed)."""
    await wait_until(pilot, lambda: not any(w.name == "proceed" for w in app.workers))
    await pilot.pause(0.3)  # longer than the Banner's change poll (0.25 s)
    await workers_done(pilot, skip=WAITING_ON_A_DIALOG)


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
        await wait_until(pilot, lambda: pressed(routing) == "route-direct")
        assert routing.pressed_button.id == "route-direct"
        assert not queue_shown(dialog)  # Direct has no queue
        await pilot.click("#route-smart")
        await wait_until(pilot, lambda: pressed(routing) == "route-smart" and queue_shown(dialog))
        assert queue_shown(dialog)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))


async def test_smart_only_agent_never_sees_the_routing_selector(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="bruno")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        assert not dialog.query("#routing")
        assert not dialog.query("#route-direct")
        assert queue_shown(dialog)
        names = [q.name for q in dialog.options.queues]
        assert names == ["Sales", "Support"]  # his queues (a supervisor sees every queue)
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
    await wait_until(pilot, lambda: any(name in m for m, _ in notifications(app)))
    # The refusal ended the "n" worker (start_new); a little longer for anything that
    # should not come (a second notification, a dialog).
    await wait_until(pilot, lambda: not any(w.name == "start_new" for w in app.workers))
    await pilot.pause(0.2)
    assert [s for m, s in notifications(app) if name in m] == ["error"]
    assert isinstance(app.screen, BannerScreen)
    assert not any(isinstance(s, NewInteractionDialog) for s in app.screen_stack)
    assert app.is_running


async def test_agent_without_messaging_gets_an_error_and_no_dialog(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="david")
    async with app.run_test(size=SIZE) as pilot:
        await refused_before_the_dialog(app, pilot, "No outgoing messaging permission")


@pytest.mark.parametrize(
    ("login", "refusal"),
    [
        ("david", "No outgoing messaging permission"),
        ("bruno", "No Direct SMS permission"),  # the Send SMS form is a Direct send
    ],
)
async def test_f5_checks_the_prerequisites_before_the_send_sms_form(
    tmp_path: Path, login: str, refusal: str
) -> None:
    """Issue #23 item 6: F5 opened the Send SMS form for david; the refusal came at ctrl+s."""
    app = demo_app(tmp_path, login=login)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("f5")
        await wait_until(pilot, lambda: any(refusal in m for m, _ in notifications(app)))
        await wait_until(pilot, lambda: not any(w.group == "send-sms" for w in app.workers))
        assert [s for m, s in notifications(app) if refusal in m] == ["error"]
        assert not any(isinstance(s, ComposeDialog) for s in app.screen_stack)


async def test_f5_opens_the_send_sms_form_at_the_simultaneous_limit(tmp_path: Path) -> None:
    """Sending an SMS from the form starts no interaction: the limit does not apply."""

    async def limit_to_one(session: Any) -> None:
        await session.execute(
            sa.update(Profile)
            .where(col(Profile.name) == "Direct and Smart")
            .values(max_simultaneous=1)
        )

    app = await app_with(tmp_path, "alice", limit_to_one)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("f5")
        await wait_for_screen(pilot, "ComposeDialog")


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
        await session.execute(sa.update(Connector).values(configured=False))

    app = await app_with(tmp_path, "alice", no_provider)
    async with app.run_test(size=SIZE) as pilot:
        await refused_before_the_dialog(app, pilot, "No SMS provider configured")


# --- B2: live validation of the recipient


async def test_hint_follows_the_number_as_it_is_typed(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_new(app, pilot)
        await pilot.press(*"+33 6 12")
        await wait_until(pilot, lambda: "+33 6 12" in text_of(app, "#recipient-hint"))
        hint = text_of(app, "#recipient-hint")
        assert hint.startswith("France (+33)…"), hint
        assert "+33 6 12" in hint
        await pilot.press(*" 34 56 78")
        await wait_until(pilot, lambda: "+33 6 12 34 56 78" in text_of(app, "#recipient-hint"))
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
        await wait_until(pilot, lambda: "Invalid number" in text_of(app, "#dialog-error"))
        assert app.screen is dialog  # the dialog stays open
        await wait_until(pilot, lambda: any("Invalid number" in m for m, _ in notifications(app)))
        await nothing_started(app, pilot)
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
        await wait_until(pilot, lambda: "Country not authorized" in text_of(app, "#dialog-error"))
        assert app.screen is dialog
        # typing again clears the error
        await pilot.click("#recipient")
        await pilot.press("end", "backspace")
        await wait_until(
            pilot,
            lambda: (
                dialog.query_one("#recipient", Input).value == "+41 78 123 45 6"
                and text_of(app, "#dialog-error") == ""
            ),
        )
        assert dialog.query_one("#recipient", Input).value == "+41 78 123 45 6"
        assert text_of(app, "#dialog-error") == ""


async def test_queue_without_number_is_no_queue_configured(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="sam")  # a supervisor: Billing is no agent's queue
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        opened_before = banner(app).query_one("#interactions", OptionList).option_count
        await enter_number(pilot, dialog, "+33612000008")
        dialog.query_one("#queue", Select).value = queue_id(dialog, "Billing")
        await pilot.pause()
        await pilot.click("#continue")
        await wait_until(
            pilot,
            lambda: (
                "No queue configured" in text_of(app, "#dialog-error") and focused(app, "queue")
            ),
        )
        assert app.screen is dialog
        assert app.focused is dialog.query_one("#queue", Select)
        await wait_until(
            pilot, lambda: any("No queue configured" in m for m, _ in notifications(app))
        )
        await nothing_started(app, pilot)
        items = banner(app).query_one("#interactions", OptionList)
        assert items.option_count == opened_before  # no interaction was opened in Billing


async def test_escape_cancels_the_dialog(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_new(app, pilot)
        await enter_number(pilot, dialog, "+33612000008")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await workers_done(pilot)  # start_new ended with the dialog
        await pilot.pause(0.3)  # and nothing else opens, nothing is started
        await workers_done(pilot)
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
        await wait_until(
            pilot, lambda: isinstance(app.screen, HelpScreen) and bool(shown(app, "#help-body"))
        )
        body = text_of(app, "#help-body")
        for needle in ("ctrl+s", "New interaction", "ctrl+r", "F8", "F9", "F3", "ctrl+p"):
            assert needle in body, needle
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))


async def test_palette_offers_new_interaction_and_runs_it(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("New interaction", "Send message", "Close interaction"):
            assert title in titles
        assert "SMS to caller" not in titles  # a conversation is open, not a call
        await pilot.press("ctrl+p")
        # typed into the palette's search field, not into the Banner ("n" is New there)
        await wait_until(
            pilot, lambda: isinstance(app.screen, CommandPalette) and isinstance(app.focused, Input)
        )
        search = app.focused
        assert isinstance(search, Input)
        await pilot.press(*"New int")
        results = app.screen.query_one(OptionList)

        def offered() -> bool:
            return search.value == "New int" and any(
                "New interaction" in str(results.get_option_at_index(i).prompt)
                for i in range(results.option_count)
            )

        await wait_until(pilot, offered)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, NewInteractionDialog))


def test_every_banner_binding_has_an_id_and_a_description() -> None:
    bindings = [b for b in (*BannerScreen.BINDINGS, *BannerApp.BINDINGS) if isinstance(b, Binding)]
    assert len(bindings) == len(BannerScreen.BINDINGS) + len(BannerApp.BINDINGS)
    for binding in bindings:
        assert binding.id, binding
        assert binding.description, binding
    ids = [b.id for b in bindings]
    assert len(ids) == len(set(ids))
