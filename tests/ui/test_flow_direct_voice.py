"""Direct SMS (SPEC B4) and voice calls (SPEC B11) through the pilot."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, RadioSet, Select, Static, TextArea

from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import Interaction, Message
from bannertui.testing import (
    app_for,
    demo_url,
    shown_pane,
    text_of,
    wait_for_screen,
    wait_until,
    workers_done,
)
from bannertui.testing import notices as notifications
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.direct_form import DirectSmsDialog
from bannertui.ui.screens.new_interaction import NewInteractionDialog
from bannertui.ui.widgets.credit_counter import CreditCounter
from bannertui.ui.widgets.voice_pane import VoicePane

SIZE = (100, 30)
CALLER = "+33698765432"
#: Workers that wait on the dialog they opened (``push_screen_wait``): not waited for.
WAITING_ON_A_DIALOG = frozenset({"start_new"})


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def items(app: BannerApp) -> list[int]:
    return [i.id for i in banner(app).query_one("#interactions").items]  # type: ignore[attr-defined]


def shown(app: BannerApp, selector: str) -> str:
    """The text of ``selector`` in the Banner, "" while it is not there (a pane is listed
    before it has composed its widgets)."""
    try:
        return text_of(banner(app).query_one(selector, Static))
    except NoMatches:
        return ""


def focused(app: BannerApp, widget_id: str) -> bool:
    return app.focused is not None and app.focused.id == widget_id


def dialog_ready(app: BannerApp, focus: str) -> bool:
    """The dialog on top has run on_mount (it focuses ``focus`` there) and is laid out."""
    try:
        laid_out = app.screen.query_one(".dialog-buttons").region.area > 0
    except NoMatches:
        return False
    return laid_out and focused(app, focus)


async def dialog_open(app: BannerApp, pilot: Pilot[None], name: str, focus: str) -> None:
    await wait_for_screen(pilot, name, skip=WAITING_ON_A_DIALOG)
    await wait_until(pilot, lambda: dialog_ready(app, focus))


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


async def new_dialog(app: BannerApp, pilot: Pilot[None], number: str) -> NewInteractionDialog:
    """n, then the number (the last digit typed); returns once the dialog has it."""
    await pilot.press("n")
    await dialog_open(app, pilot, "NewInteractionDialog", "recipient")
    dialog = app.screen
    assert isinstance(dialog, NewInteractionDialog)
    recipient = dialog.query_one("#recipient", Input)
    recipient.value = number[:-1]
    recipient.cursor_position = len(recipient.value)
    await pilot.press(number[-1])
    await wait_until(pilot, lambda: recipient.value == number)
    return dialog


async def direct_messages(url: str, to: str) -> list[Message]:
    db = Database(url)
    try:
        async with db.read() as session:
            rows = await session.scalars(
                sa.select(Message).where(col(Message.to_number) == to).order_by(col(Message.id))
            )
            return list(rows.all())
    finally:
        await db.dispose()


# --- Direct (B4)


async def test_direct_sms_from_the_selector_sends_from_the_chosen_number(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        before = items(app)
        dialog = await new_dialog(app, pilot, "+33 6 12 00 00 08")
        await pilot.click("#route-direct")
        routing = dialog.query_one("#routing", RadioSet)
        await wait_until(
            pilot,
            lambda: (
                routing.pressed_button is not None and routing.pressed_button.id == "route-direct"
            ),
        )
        await pilot.click("#continue")
        await dialog_open(app, pilot, "DirectSmsDialog", "message-text")
        form = app.screen
        assert isinstance(form, DirectSmsDialog)
        assert form.query_one("#recipient", Input).value == "+33612000008"  # E.164
        sender = form.query_one("#sender", Select)
        assert sender.is_blank()  # two numbers: the agent chooses
        send = form.query_one("#send", Button)
        assert send.disabled  # nothing typed
        assert app.focused is form.query_one("#message-text", TextArea)
        form.query_one("#message-text", TextArea).insert("Your code is 48")
        await pilot.press("2")
        area = form.query_one("#message-text", TextArea)
        await wait_until(pilot, lambda: area.text == "Your code is 482" and not send.disabled)
        assert not send.disabled
        assert form.query_one(CreditCounter).measure.credits == 1

        await pilot.click("#send")  # no sender chosen yet
        await wait_until(
            pilot, lambda: "No sender number" in text_of(form.query_one("#dialog-error", Static))
        )
        assert app.screen is form

        sender.value = "+33757000002"
        await pilot.pause()
        # a person does not click twice within the button's 0.2 s press effect
        await wait_until(pilot, lambda: not send.has_class("-active"))
        await pilot.click("#send")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await wait_until(
            pilot,
            lambda: ("SMS sent to +33612000008 (1 credit).", "information") in notifications(app),
        )
        await wait_until(
            pilot, lambda: "Credits: 499" in text_of(banner(app).query_one("#credits", Static))
        )
        # The Banner reloaded after the send (the balance); a little longer, and its workers
        # done, for an interaction that should not come.
        await pilot.pause(0.3)
        await workers_done(pilot)
        assert items(app) == before  # Direct opens no interaction
    sent = await direct_messages(url, "+33612000008")
    assert len(sent) == 1
    msg = sent[0]
    assert msg.text == "Your code is 482"
    assert msg.status in ("pending", "sent")
    assert (msg.from_number, msg.sender) == ("+33757000002", "+33757000002")
    assert msg.interaction_id is None


async def test_direct_only_agent_goes_straight_to_the_direct_form(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "chloe")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await new_dialog(app, pilot, "+33612000008")
        await pilot.press("enter")  # no routing, no queue: on to the form
        await dialog_open(app, pilot, "DirectSmsDialog", "message-text")
        form = app.screen
        assert isinstance(form, DirectSmsDialog)
        assert form.query_one("#sender", Select).value == "+33757000001"  # her only number
        area = form.query_one("#message-text", TextArea)
        send = form.query_one("#send", Button)
        counter = form.query_one(CreditCounter)
        area.insert("b" * 1224)
        await wait_until(pilot, lambda: not send.disabled)
        await pilot.press("b")  # 1,225 GSM characters: 9 credits
        await wait_until(pilot, lambda: len(area.text) == 1225 and send.disabled)
        assert counter.over_limit
        assert send.disabled
        assert "Credit limit exceeded" in text_of(counter)
        await pilot.press("ctrl+s")
        # Nothing to wait for: a disabled Send does nothing.  A little time, and any worker
        # done, for a send that should not happen.
        await pilot.pause(0.3)
        await workers_done(pilot, skip=WAITING_ON_A_DIALOG)
        assert app.screen is form  # nothing sent
        assert await direct_messages(url, "+33612000008") == []
        area.load_text("")
        await pilot.press(*"Hi")
        await wait_until(pilot, lambda: area.text == "Hi" and not send.disabled)
        assert not send.disabled
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await wait_until(
            pilot,
            lambda: any(m.startswith("SMS sent to +33612000008") for m, _ in notifications(app)),
        )
    sent = await direct_messages(url, "+33612000008")
    assert [(m.text, m.from_number) for m in sent] == [("Hi", "+33757000001")]


# --- Voice (B11)


async def test_incoming_call_sms_to_caller_and_hang_up(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    other = Services(Database(url))
    try:
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            await loaded(app, pilot)
            sms_first = items(app)[0]
            call = await other.voice.incoming_call(CALLER, "alice")
            await wait_until(pilot, lambda: call.id in items(app))
            lst = banner(app).query_one("#interactions", OptionList)
            label = str(lst.get_option_at_index(items(app).index(call.id)).prompt)
            assert "☎" in label
            assert CALLER in label
            assert "call" in label

            await pilot.press("ctrl+down")
            await wait_until(
                pilot,
                lambda: (
                    bool(banner(app).query(VoicePane))
                    and "Call in progress" in shown(app, "#caller")
                ),
            )
            caller = text_of(banner(app).query_one("#caller", Static))
            assert "Call in progress" in caller
            assert CALLER in caller

            await pilot.press("f3")
            await dialog_open(app, pilot, "NewInteractionDialog", "recipient")
            dialog = app.screen
            assert dialog.query_one("#recipient", Input).value == CALLER
            hint = dialog.query_one("#recipient-hint", Static)
            await wait_until(pilot, lambda: "+33 6 98 76 54 32" in text_of(hint))
            support = next(q.id for q in dialog.options.queues if q.name == "Support")  # type: ignore[attr-defined]
            dialog.query_one("#queue", Select).value = support
            await pilot.pause()
            await pilot.click("#continue")
            await wait_until(pilot, lambda: len(items(app)) == 3)
            sms_new = next(i for i in items(app) if i not in (sms_first, call.id))
            await wait_until(
                pilot,
                lambda: (
                    shown_pane(banner(app)) is not None
                    and shown_pane(banner(app)).item.id == sms_new
                ),
            )
            assert call.id in items(app)  # the call goes on: the SMS is a separate interaction

            await pilot.press("escape", "ctrl+up")  # back to the call
            await wait_until(
                pilot,
                lambda: (
                    bool(banner(app).query(VoicePane))
                    and "Call in progress" in shown(app, "#caller")
                ),
            )
            await pilot.press("f8")
            await wait_until(pilot, lambda: call.id not in items(app))
            assert items(app) == [sms_first, sms_new]
        async with other.db.read() as session:
            voice = await session.get(Interaction, call.id)
            sms = await session.get(Interaction, sms_new)
        assert voice is not None
        assert voice.status == "closed"
        assert sms is not None
        assert (sms.channel, sms.status, sms.remote_number) == ("sms", "progressing", CALLER)
    finally:
        await other.db.dispose()
