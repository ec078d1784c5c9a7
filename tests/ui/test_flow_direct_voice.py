"""Direct SMS (SPEC B4) and voice calls (SPEC B11) through the pilot."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, Select, Static, TextArea

from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import Interaction, Message
from bannertui.testing import app_for, prepare_demo_database_async, wait_until
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.direct_form import DirectSmsDialog
from bannertui.ui.screens.new_interaction import NewInteractionDialog
from bannertui.ui.widgets.conversation import ConversationPane
from bannertui.ui.widgets.credit_counter import CreditCounter
from bannertui.ui.widgets.voice_pane import VoicePane

SIZE = (100, 30)
CALLER = "+33698765432"


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def items(app: BannerApp) -> list[int]:
    return [i.id for i in banner(app).query_one("#interactions").items]  # type: ignore[attr-defined]


def text_of(widget: Static) -> str:
    return str(widget.render())


def notifications(app: BannerApp) -> list[tuple[str, str]]:
    return [(str(n.message), str(n.severity)) for n in app._notifications]


async def demo_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    return url


async def loaded(app: BannerApp, pilot: Pilot[None]) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen), 5)
    await app.workers.wait_for_complete()
    await wait_until(pilot, lambda: bool(text_of(banner(app).query_one("#agent-info", Static))), 5)
    await pilot.pause()


async def new_dialog(app: BannerApp, pilot: Pilot[None], number: str) -> NewInteractionDialog:
    """n, then the number (the last digit typed)."""
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(app.screen, NewInteractionDialog), 5)
    dialog = app.screen
    assert isinstance(dialog, NewInteractionDialog)
    recipient = dialog.query_one("#recipient", Input)
    recipient.value = number[:-1]
    recipient.cursor_position = len(recipient.value)
    await pilot.press(number[-1])
    await pilot.pause()
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
        await new_dialog(app, pilot, "+33 6 12 00 00 08")
        await pilot.click("#route-direct")
        await pilot.click("#continue")
        await wait_until(pilot, lambda: isinstance(app.screen, DirectSmsDialog), 5)
        form = app.screen
        assert form.query_one("#recipient", Input).value == "+33612000008"  # E.164
        sender = form.query_one("#sender", Select)
        assert sender.is_blank()  # two numbers: the agent chooses
        send = form.query_one("#send", Button)
        assert send.disabled  # nothing typed
        assert app.focused is form.query_one("#message-text", TextArea)
        form.query_one("#message-text", TextArea).insert("Your code is 48")
        await pilot.press("2")
        assert not send.disabled
        assert form.query_one(CreditCounter).measure.credits == 1

        await pilot.click("#send")  # no sender chosen yet
        await wait_until(
            pilot, lambda: "No sender number" in text_of(form.query_one("#dialog-error", Static)), 3
        )
        assert app.screen is form

        sender.value = "+33757000002"
        await pilot.pause()
        # a person does not click twice within the button's 0.2 s press effect
        await wait_until(pilot, lambda: not send.has_class("-active"), 1)
        await pilot.click("#send")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen), 3)
        assert ("SMS sent to +33612000008 (1 credit).", "information") in notifications(app)
        await wait_until(
            pilot, lambda: "Credits: 499" in text_of(banner(app).query_one("#credits", Static)), 3
        )
        await pilot.pause(0.3)
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
        await wait_until(pilot, lambda: isinstance(app.screen, DirectSmsDialog), 5)
        form = app.screen
        assert form.query_one("#sender", Select).value == "+33757000001"  # her only number
        area = form.query_one("#message-text", TextArea)
        send = form.query_one("#send", Button)
        counter = form.query_one(CreditCounter)
        area.insert("b" * 1224)
        await pilot.pause()
        assert not send.disabled
        await pilot.press("b")  # 1,225 GSM characters: 9 credits
        assert counter.over_limit
        assert send.disabled
        assert "Credit limit exceeded" in text_of(counter)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form  # nothing sent
        assert await direct_messages(url, "+33612000008") == []
        area.load_text("")
        await pilot.press(*"Hi")
        assert not send.disabled
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen), 3)
        assert any(m.startswith("SMS sent to +33612000008") for m, _ in notifications(app))
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
            await wait_until(pilot, lambda: call.id in items(app), 2)
            lst = banner(app).query_one("#interactions", OptionList)
            label = str(lst.get_option_at_index(items(app).index(call.id)).prompt)
            assert "☎" in label
            assert CALLER in label
            assert "call" in label

            await pilot.press("ctrl+down")
            await wait_until(pilot, lambda: bool(banner(app).query(VoicePane)), 2)
            caller = text_of(banner(app).query_one("#caller", Static))
            assert "Call in progress" in caller
            assert CALLER in caller

            await pilot.press("f3")
            await wait_until(pilot, lambda: isinstance(app.screen, NewInteractionDialog), 5)
            dialog = app.screen
            assert dialog.query_one("#recipient", Input).value == CALLER
            await pilot.pause()
            assert "+33 6 98 76 54 32" in text_of(dialog.query_one("#recipient-hint", Static))
            support = next(q.id for q in dialog.options.queues if q.name == "Support")  # type: ignore[attr-defined]
            dialog.query_one("#queue", Select).value = support
            await pilot.pause()
            await pilot.click("#continue")
            await wait_until(pilot, lambda: len(items(app)) == 3, 5)
            sms_new = next(i for i in items(app) if i not in (sms_first, call.id))
            await wait_until(
                pilot,
                lambda: (
                    bool(banner(app).query(ConversationPane))
                    and banner(app).query_one(ConversationPane).item.id == sms_new
                ),
                3,
            )
            assert call.id in items(app)  # the call goes on: the SMS is a separate interaction

            await pilot.press("escape", "ctrl+up")  # back to the call
            await wait_until(pilot, lambda: bool(banner(app).query(VoicePane)), 2)
            await pilot.press("f8")
            await wait_until(pilot, lambda: call.id not in items(app), 3)
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
