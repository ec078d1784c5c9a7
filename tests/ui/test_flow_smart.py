"""A Smart SMS conversation through the pilot (SPEC B5–B10): start, templates and variables,
the credit counter and its limits, the confirmation, sending, delivery and replies (with the
simulator), live updates from another process, close and archive."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col
from textual import events
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, Select, Static, TextArea

from bannertui.domain.actor import Actor
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import Interaction, Message
from bannertui.testing import (
    app_for,
    demo_app,
    demo_url,
    notifications,
    prepare_demo_database_async,
    shown_pane,
    text_of,
    wait_until,
    workers_done,
)
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.screens.new_interaction import NewInteractionDialog
from bannertui.ui.widgets.conversation import ConversationPane
from bannertui.ui.widgets.credit_counter import CreditCounter
from bannertui.ui.widgets.message_editor import MessageEditor
from bannertui.ui.widgets.thread import ThreadView

SIZE = (100, 30)
LEA = "+33612000001"  # alice's progressing Support conversation
SUPPORT_NUMBER = "+33757000010"
APPOINTMENT = (
    "Hello $firstname, this is a reminder of your appointment on $date at $time."
    " Reply STOP to opt out."
)


def banner(app: BannerApp) -> BannerScreen:
    return next(s for s in app.screen_stack if isinstance(s, BannerScreen))


def items(app: BannerApp) -> list[int]:
    return [i.id for i in banner(app).query_one("#interactions").items]  # type: ignore[attr-defined]


def pane(app: BannerApp) -> ConversationPane:
    shown = shown_pane(banner(app))
    assert isinstance(shown, ConversationPane)
    return shown


def has_pane(app: BannerApp, interaction_id: int | None = None) -> bool:
    shown = shown_pane(banner(app))
    return shown is not None and (interaction_id is None or shown.item.id == interaction_id)


def thread_text(app: BannerApp) -> str:
    return text_of(pane(app).query_one("#thread-body", Static))


def thread_shows(app: BannerApp, text: str) -> bool:
    """The open pane's thread shows ``text`` (False while a pane is being replaced)."""
    shown = shown_pane(banner(app))
    bodies = shown.query("#thread-body") if shown is not None else None
    return bool(bodies) and text in text_of(bodies.first(Static))


def editor_focused(app: BannerApp) -> bool:
    """The focus is in the open pane's editor (False while that pane is being mounted)."""
    focused = app.focused
    return focused is not None and focused.id == "message-text"


def dialog_up(app: BannerApp, kind: type) -> bool:
    """A ``kind`` dialog is on top, composed."""
    return isinstance(app.screen, kind) and app.screen.is_mounted


def send_focused(app: BannerApp) -> bool:
    """The send confirmation is up with the focus on its Send button (for enter)."""
    focused = app.focused
    return dialog_up(app, ConfirmDialog) and focused is not None and focused.id == "confirm"


def editor(app: BannerApp) -> TextArea:
    return pane(app).query_one("#message-text", TextArea)


def counter(app: BannerApp) -> CreditCounter:
    return pane(app).query_one("#credit-counter", CreditCounter)


def send_button(app: BannerApp) -> Button:
    return pane(app).query_one("#send", Button)


async def conversation_open(app: BannerApp, pilot: Pilot[None]) -> ConversationPane:
    """Wait for the first load: the first interaction's pane with its thread and templates,
    and every worker ended."""
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
    await wait_until(pilot, lambda: has_pane(app))

    def thread_loaded() -> bool:
        views = pane(app).query(ThreadView)  # none until the pane is composed
        return bool(views) and bool(views.first(ThreadView).messages)

    await wait_until(pilot, thread_loaded)
    await wait_until(pilot, lambda: bool(pane(app).query_one("#template-panel").templates))  # type: ignore[attr-defined]
    await workers_done(pilot)
    return pane(app)


async def write(app: BannerApp, pilot: Pilot[None]) -> None:
    """Enter on the list opens the highlighted interaction's editor (as an agent does)."""
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.focused is editor(app))


def choose_template(app: BannerApp, name: str) -> int:
    panel = pane(app).query_one("#template-panel")
    template_id = next(t.id for t in panel.templates if t.name == name)  # type: ignore[attr-defined]
    panel.query_one("#template-select", Select).value = template_id
    return template_id


async def db_messages(url: str, interaction_id: int) -> list[Message]:
    db = Database(url)
    try:
        async with db.read() as session:
            rows = await session.scalars(
                sa.select(Message)
                .where(col(Message.interaction_id) == interaction_id)
                .order_by(col(Message.id))
            )
            return list(rows.all())
    finally:
        await db.dispose()


# --- B5: start -----------------------------------------------------------------------------------


async def test_smart_start_opens_a_new_conversation_with_the_editor_focused(
    tmp_path: Path,
) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_open(app, pilot)
        before = items(app)
        await pilot.press("escape")  # back to the list: n works from there
        await pilot.press("n")
        await wait_until(pilot, lambda: dialog_up(app, NewInteractionDialog))
        dialog = app.screen
        recipient = dialog.query_one("#recipient", Input)
        recipient.value = "+33 6 12 00 00 0"
        recipient.cursor_position = len(recipient.value)
        await pilot.press("8")
        await wait_until(pilot, lambda: recipient.value == "+33 6 12 00 00 08")
        assert dialog.query_one("#routing").pressed_button.id == "route-smart"  # type: ignore[attr-defined]
        support = next(q.id for q in dialog.options.queues if q.name == "Support")  # type: ignore[attr-defined]
        dialog.query_one("#queue", Select).value = support
        await pilot.pause()  # the form repaints with the choice before the click
        await pilot.click("#continue")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await wait_until(pilot, lambda: len(items(app)) == len(before) + 1)
        new_id = next(i for i in items(app) if i not in before)
        await wait_until(pilot, lambda: has_pane(app, new_id))
        await wait_until(pilot, lambda: editor_focused(app))  # the new pane's: the only one
        lst = banner(app).query_one("#interactions", OptionList)
        assert lst.highlighted == items(app).index(new_id)
        title = text_of(pane(app).query_one("#conversation-title", Static))
        assert "+33612000008" in title
        assert "Support" in title
        assert "progressing" in title
        # The pane's thread is read by a worker of its own: wait for it, then look.
        await wait_until(pilot, lambda: "No message yet" in thread_text(app))
        assert "No message yet" in thread_text(app)
        unavailable = text_of(pane(app).query_one("#unavailable", Static))
        assert "Transfer · Private message · Attachment · Video" in unavailable
        assert send_button(app).disabled  # nothing typed yet
    db = Database(url)
    try:
        async with db.read() as session:
            started = await session.get(Interaction, new_id)
    finally:
        await db.dispose()
    assert started is not None
    assert (started.status, started.remote_number, started.queue_id) == (
        "progressing",
        "+33612000008",
        support,
    )


# --- B6: templates and variables


async def test_template_fills_the_editor_and_its_variables_are_replaced(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_open(app, pilot)
        choose_template(app, "Appointment reminder")
        await wait_until(pilot, lambda: editor(app).text == APPOINTMENT)

        def variable_inputs() -> list[Input]:
            return list(pane(app).query(".variable Input").results(Input))

        await wait_until(
            pilot, lambda: [i.name for i in variable_inputs()] == ["firstname", "date", "time"]
        )
        inputs = variable_inputs()
        assert not pane(app).query_one("#replace-variables", Button).disabled
        await wait_until(pilot, lambda: not send_button(app).disabled)
        await wait_until(pilot, lambda: inputs[0].region.area > 0)  # laid out: clickable
        await pilot.click("#var-0")
        await wait_until(pilot, lambda: app.focused is inputs[0])
        # tab moves the focus: the next letters wait for it
        await pilot.press(*"Lea", "tab")
        await wait_until(pilot, lambda: app.focused is inputs[1])
        await pilot.press(*"Fri", "tab")
        await wait_until(pilot, lambda: app.focused is inputs[2])
        await pilot.press(*"9h")
        await wait_until(pilot, lambda: [i.value for i in inputs] == ["Lea", "Fri", "9h"])
        await pilot.press("ctrl+r")
        expected = (
            "Hello Lea, this is a reminder of your appointment on Fri at 9h. Reply STOP to opt out."
        )
        await wait_until(pilot, lambda: editor(app).text == expected)
        assert counter(app).measure.characters == len(expected)
        # "(none)" again: the variables go away
        pane(app).query_one("#template-select", Select).clear()
        await wait_until(pilot, lambda: not pane(app).query(".variable Input"))


async def test_a_template_never_silently_replaces_typed_text(tmp_path: Path) -> None:
    """Issue #23 item 8: choosing a template replaced what the agent had typed."""
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_open(app, pilot)
        editor(app).text = "Sure, Tuesday 10:00 works."
        choose_template(app, "Appointment reminder")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")  # keep my text
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        await workers_done(pilot)
        assert editor(app).text == "Sure, Tuesday 10:00 works."
        choose_template(app, "Ticket follow-up")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")  # "Replace"
        await wait_until(pilot, lambda: editor(app).text.startswith("Hi $firstname, your ticket"))
        # the template's own text is replaced by the next template without a question
        choose_template(app, "Appointment reminder")
        await wait_until(pilot, lambda: editor(app).text == APPOINTMENT)
        assert not isinstance(app.screen, ConfirmDialog)


async def test_replace_variables_leaves_empty_ones_and_says_so(tmp_path: Path) -> None:
    """Issue #23 item 8: an empty $time gave "at ." silently; no template gave no feedback."""
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        conv = await conversation_open(app, pilot)
        conv.focus_editor()
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: any("choose a template" in m for m in notifications(app)))
        choose_template(app, "Appointment reminder")
        await wait_until(pilot, lambda: editor(app).text == APPOINTMENT)
        await wait_until(pilot, lambda: len(pane(app).query(".variable Input")) == 3)
        inputs = list(pane(app).query(".variable Input").results(Input))
        inputs[0].value, inputs[1].value = "Lea", "Fri"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: editor(app).text.startswith("Hello Lea,"))
        assert "on Fri at $time." in editor(app).text
        assert any("No value for $time" in m for m in notifications(app))


async def test_empty_template_is_refused_as_invalid_template(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_open(app, pilot)
        choose_template(app, "Draft (empty)")
        await wait_until(pilot, lambda: any("Invalid template" in m for m in notifications(app)))
        assert editor(app).text == ""  # the refusal ended the template's read: nothing filled
        assert send_button(app).disabled


# --- B7: the credit counter and its limits


async def test_counter_updates_on_each_keystroke(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_open(app, pilot)
        await write(app, pilot)
        assert text_of(counter(app)) == "0 characters · 0 credits · GSM-7"
        assert send_button(app).disabled
        # The counter follows the text in the edit itself: once a keystroke is in the text the
        # counter shows it, with no further wait.  Send follows through a message: waited for.
        await pilot.press("H")
        await wait_until(pilot, lambda: editor(app).text == "H")
        assert text_of(counter(app)) == "1 character · 1 credit · GSM-7"
        await wait_until(pilot, lambda: not send_button(app).disabled)
        await pilot.press("i")
        await wait_until(pilot, lambda: editor(app).text == "Hi")
        assert text_of(counter(app)) == "2 characters · 1 credit · GSM-7"
        await pilot.press("{")  # GSM extension table: still GSM-7, two septets
        await wait_until(pilot, lambda: editor(app).text == "Hi{")
        assert counter(app).measure.characters == 3
        assert counter(app).measure.units == 4
        assert not counter(app).has_class("-unicode")
        await pilot.press("backspace", "backspace", "backspace")
        await wait_until(pilot, lambda: editor(app).text == "")
        assert counter(app).measure.characters == 0
        await wait_until(pilot, lambda: send_button(app).disabled)


async def test_send_is_disabled_past_eight_credits_gsm(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_open(app, pilot)
        await write(app, pilot)
        editor(app).insert("a" * 1223)
        await pilot.press("a")  # 1,224: 8 credits, the most allowed
        await wait_until(pilot, lambda: len(editor(app).text) == 1224)
        assert counter(app).measure.characters == 1224
        assert counter(app).measure.credits == 8
        assert not counter(app).over_limit
        await wait_until(pilot, lambda: not send_button(app).disabled)
        await pilot.press("a")  # 1,225
        await wait_until(pilot, lambda: len(editor(app).text) == 1225)
        assert counter(app).measure.characters == 1225
        assert counter(app).over_limit
        assert counter(app).has_class("-over-limit")
        assert "Credit limit exceeded" in text_of(counter(app))
        await wait_until(pilot, lambda: send_button(app).disabled)
        # ctrl+s is refused: no confirmation.  The send action shows nothing when it refuses:
        # count its runs, so the check below follows one.
        conv = pane(app)
        sends: list[None] = []
        real_send = conv.action_send

        def counted_send() -> None:
            sends.append(None)
            real_send()

        conv.action_send = counted_send  # type: ignore[method-assign]
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(sends))
        assert isinstance(app.screen, BannerScreen)  # the action has returned: nothing opened
        await pilot.press("backspace")
        await wait_until(pilot, lambda: len(editor(app).text) == 1224)
        assert not counter(app).over_limit
        assert not counter(app).has_class("-over-limit")
        await wait_until(pilot, lambda: not send_button(app).disabled)


async def test_unicode_text_is_flagged_and_limited_to_536_characters(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice")
    async with app.run_test(size=SIZE) as pilot:
        await conversation_open(app, pilot)
        await write(app, pilot)
        await pilot.press("ж")
        await wait_until(pilot, lambda: editor(app).text == "ж")
        assert counter(app).has_class("-unicode")
        shown = text_of(counter(app))
        assert shown.startswith("⚠ Unicode")
        assert "(ж)" in shown
        assert "UCS-2" in shown
        editor(app).insert("ж" * 534)
        await pilot.press("ж")  # 536: 8 credits
        await wait_until(pilot, lambda: len(editor(app).text) == 536)
        assert counter(app).measure.characters == 536
        assert counter(app).measure.credits == 8
        assert counter(app).has_class("-unicode")
        await wait_until(pilot, lambda: not send_button(app).disabled)
        await pilot.press("ж")  # 537
        await wait_until(pilot, lambda: len(editor(app).text) == 537)
        assert counter(app).over_limit
        assert counter(app).has_class("-over-limit")
        await wait_until(pilot, lambda: send_button(app).disabled)
        await pilot.press("backspace")
        await wait_until(pilot, lambda: len(editor(app).text) == 536)
        assert counter(app).has_class("-unicode")
        assert not counter(app).has_class("-over-limit")
        await wait_until(pilot, lambda: not send_button(app).disabled)


# --- B8, B9: confirmation, sending, delivery


async def test_confirmation_cancel_sends_nothing_and_confirm_queues_the_message(
    tmp_path: Path,
) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        conv = await conversation_open(app, pilot)
        shown_before = len(conv.query_one(ThreadView).messages)
        await write(app, pilot)
        editor(app).insert("See you on Frida")
        await pilot.press("y")
        await wait_until(pilot, lambda: editor(app).text == "See you on Friday")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: dialog_up(app, ConfirmDialog))
        question = text_of(app.screen.query_one("#question", Static))
        assert LEA in question
        assert "Support" in question
        assert "1 credit" in question
        await pilot.click("#cancel")
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        # The answer has been handled (the dialog is gone).  No wait can show that nothing
        # was sent: a margin for its callback, then any send it started has to end.
        await pilot.pause(0.3)
        await workers_done(pilot)
        assert len(await db_messages(url, conv.item.id)) == shown_before
        assert editor(app).text == "See you on Friday"  # kept for another try
        assert "Credits: 500" in text_of(banner(app).query_one("#credits", Static))

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: dialog_up(app, ConfirmDialog))
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: "See you on Friday" in thread_text(app))
        last = conv.query_one(ThreadView).messages[-1]
        assert (last.direction, last.text, last.status) == (
            "outbound",
            "See you on Friday",
            "pending",
        )
        assert "pending" in thread_text(app).rsplit("▶ you", 1)[-1]
        await wait_until(
            pilot, lambda: "Credits: 499" in text_of(banner(app).query_one("#credits", Static))
        )
        assert editor(app).text == ""
        await wait_until(pilot, lambda: send_button(app).disabled)
    stored = await db_messages(url, conv.item.id)
    assert len(stored) == shown_before + 1
    assert (stored[-1].from_number, stored[-1].to_number) == (SUPPORT_NUMBER, LEA)


async def test_simulator_delivers_and_the_reply_shows_in_the_open_thread(tmp_path: Path) -> None:
    app = demo_app(tmp_path, login="alice", simulator=True, replies=["Thanks, got it"])
    async with app.run_test(size=SIZE) as pilot:
        conv = await conversation_open(app, pilot)
        await write(app, pilot)
        editor(app).insert("Your parcel left the warehous")
        await pilot.press("e", "ctrl+s")
        await wait_until(pilot, lambda: send_focused(app))
        await pilot.press("enter")  # the Send button has the focus

        def outbound() -> Message | None:
            sent = [
                m
                for m in conv.query_one(ThreadView).messages
                if m.text == "Your parcel left the warehouse"
            ]
            return sent[-1] if sent else None

        await wait_until(pilot, lambda: outbound() is not None)
        await wait_until(pilot, lambda: outbound().status == "delivered")  # type: ignore[union-attr]
        await wait_until(pilot, lambda: "Thanks, got it" in thread_text(app))
        reply = conv.query_one(ThreadView).messages[-1]
        assert (reply.direction, reply.text) == ("inbound", "Thanks, got it")
        assert "delivered" in thread_text(app)
        assert has_pane(app, conv.item.id)  # still the same open conversation
        assert app.is_running


# --- live updates from another process


async def test_reply_from_another_process_shows_live_with_unread_marker(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    other = Services(Database(url))
    try:
        second = await other.outbound.start_smart(Actor("alice"), "+33612000008", 1)  # Support
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            conv = await conversation_open(app, pilot)
            assert items(app) == [conv.item.id, second.id]
            await other.inbound.receive(LEA, SUPPORT_NUMBER, "New reply", "p-x")
            await wait_until(pilot, lambda: "New reply" in thread_text(app))

            lst = banner(app).query_one("#interactions", OptionList)

            def label(index: int) -> str:
                return str(lst.get_option_at_index(index).prompt)

            # the open one is marked read at once (the marker may flash for one refresh)
            await wait_until(pilot, lambda: "●" not in label(0))
            await other.inbound.receive("+33612000008", SUPPORT_NUMBER, "Me too", "p-y")
            await wait_until(pilot, lambda: "●1" in label(1))
            assert "+33612000008" in label(1)
            # the list has its update; a move of the selection would follow it: a margin
            await pilot.pause(0.3)
            assert has_pane(app, conv.item.id)  # the selection did not move
            await pilot.press("ctrl+down")
            await wait_until(pilot, lambda: has_pane(app, second.id))
            await wait_until(pilot, lambda: thread_shows(app, "Me too"))
            await wait_until(pilot, lambda: "●" not in label(1))
    finally:
        await other.db.dispose()


# --- B10: close and archive


async def test_f9_archives_and_f8_closes(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    other = Services(Database(url))
    try:
        second = await other.outbound.start_smart(Actor("alice"), "+33612000008", 2)  # Sales
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            conv = await conversation_open(app, pilot)
            first = conv.item.id
            assert items(app) == [first, second.id]
            await pilot.press("f9")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("enter")
            await wait_until(pilot, lambda: items(app) == [second.id])
            await wait_until(pilot, lambda: has_pane(app, second.id))
            await wait_until(pilot, lambda: any("archived" in m for m in notifications(app)))
            await workers_done(pilot)  # the second pane's reads
            await pilot.press("f8")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("enter")
            await wait_until(pilot, lambda: items(app) == [])
            await wait_until(pilot, lambda: not has_pane(app))
            await wait_until(pilot, lambda: bool(banner(app).query("#empty-pane")))
            await wait_until(pilot, lambda: any("closed" in m for m in notifications(app)))
            await wait_until(pilot, lambda: app.focused is banner(app).query_one("#interactions"))
        async with other.db.read() as session:
            statuses = {
                i.id: i.status
                for i in (
                    await session.scalars(
                        sa.select(Interaction).where(col(Interaction.id).in_([first, second.id]))
                    )
                ).all()
            }
        assert statuses == {first: "archived", second.id: "closed"}
    finally:
        await other.db.dispose()


@pytest.mark.parametrize("key", ["f8", "f9", "close-button"])
async def test_closing_a_conversation_is_never_one_key(tmp_path: Path, key: str) -> None:
    """Issue #23 item 4: F8, F9 or Enter on "Close F8" ended the customer's conversation at
    once.  Now one question names the customer; prose typed after a stray key (letters,
    spaces) does not answer it, Escape keeps the conversation and its draft."""
    url = await demo_url(tmp_path)
    app = app_for(url, "alice")
    async with app.run_test(size=SIZE) as pilot:
        conv = await conversation_open(app, pilot)
        first = conv.item.id
        conv.query_one(MessageEditor).text = "Sure, Tuesday"
        if key == "close-button":
            conv.query_one("#close", Button).focus()
            await pilot.press("enter")
        else:
            conv.focus_editor()
            await pilot.press(key)
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        question = str(app.screen.query_one("#question", Static).render())
        assert conv.item.who in question, question
        for char in "yes no, you know":  # in one burst, as typed
            app.post_message(events.Key(char if char != " " else "space", char))
        await workers_done(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        assert items(app)[0] == first
        assert has_pane(app, first)
        assert conv.query_one(MessageEditor).text == "Sure, Tuesday"
    db = Database(url)
    try:
        async with db.read() as session:
            row = await session.get(Interaction, first)
    finally:
        await db.dispose()
    assert row is not None
    assert row.status not in ("closed", "archived")


async def test_change_check_during_a_pane_switch_does_not_fail(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    other = Services(Database(url))
    try:
        await other.outbound.start_smart(Actor("alice"), "+33612000008", 1)
        app = app_for(url, "alice")
        async with app.run_test(size=SIZE) as pilot:
            conv = await conversation_open(app, pilot)
            screen = banner(app)
            snapshot = await app.services.conversations.overview(Actor("alice"))
            # What ctrl+down does: show the second interaction (the old pane is removed)...
            switch = asyncio.create_task(screen._show_pane(snapshot.interactions[1]))
            for _ in range(500):
                await asyncio.sleep(0)
                if screen._pane() is conv and not conv.query(ThreadView):
                    # ...and the change check's snapshot arrives while it is half removed.
                    await screen.show_snapshot(snapshot)
                    break
            await switch
            await wait_until(pilot, lambda: has_pane(app, snapshot.interactions[1].id))
    finally:
        await other.db.dispose()


async def test_sent_and_delivered_update_the_open_thread_without_a_reload_on_postgresql(
    tmp_path: Path, database_url: str, backend: str
) -> None:
    """On PostgreSQL "sent" and "delivered" arrive in the notification itself: the open
    thread shows them with no overview read (on SQLite every commit means a reload)."""
    if backend != "postgresql":
        pytest.skip("status payloads are PostgreSQL notifications")
    await prepare_demo_database_async(database_url)
    app = app_for(database_url, "alice", runtime_dir=tmp_path / "runtime")
    async with app.run_test(size=SIZE) as pilot:
        conv = await conversation_open(app, pilot)
        overviews = 0
        service = app.services.conversations
        real_overview = service.overview

        async def counting_overview(login: str):  # type: ignore[no-untyped-def]
            nonlocal overviews
            overviews += 1
            return await real_overview(login)

        service.overview = counting_overview  # type: ignore[method-assign]
        await write(app, pilot)
        editor(app).insert("On its way")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: send_focused(app))
        await pilot.press("enter")

        def outbound() -> Message | None:
            sent = [m for m in conv.query_one(ThreadView).messages if m.text == "On its way"]
            return sent[-1] if sent else None

        await wait_until(pilot, lambda: outbound() is not None)
        await wait_until(pilot, lambda: overviews >= 1)  # the reload after its own send
        after_send = overviews
        await wait_until(pilot, lambda: outbound().status == "delivered")  # type: ignore[union-attr]
        assert "On its way" in thread_text(app)
        assert overviews == after_send  # sent, then delivered: no reload
