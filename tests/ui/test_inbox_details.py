"""Issue #19's inbox details, as an agent met them on the demo data: the rows in time order,
Home and End in the tables, a reply from the number the customer wrote to, Space in Send SMS
before any arrow key, "1 credit", the delete question's title, and a resend that says what it
costs against the balance before it is confirmed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from test_flow_inbox import (
    READER,
    SIZE,
    cursor_to,
    demo_url,
    dialog_title,
    failed_message,
    inbox,
    no_unexpected_error,
    open_compose,
    open_inbox,
    shown_ids,
    table,
    wait_screen,
)
from textual.widgets import Select, SelectionList, Static

from bannertui.domain.actor import Actor
from bannertui.services.inbox import View
from bannertui.store.models import Account
from bannertui.testing import app_for, notifications, text_of, wait_until
from bannertui.ui.screens.compose import ComposeDialog
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.screens.inbox import InboxScreen
from bannertui.ui.screens.message_detail import MessageDialog

#: The demo's messages newest first: 4 and 5 (05:00 and 05:10 ago … the oldest) were stored
#: after 1-3 and were listed above them, 12:18 above 16:40.
BY_TIME = [8, 3, 2, 1, 7, 6, 5, 4]
#: Alice's direct SMS that failed: sent from her second number.
FAILED_FROM_SECOND = 7
SECOND_NUMBER = "+33757000002"


async def test_the_inbox_lists_the_newest_first_by_time(tmp_path: Path) -> None:
    app = app_for(await demo_url(tmp_path), READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        assert shown_ids(app) == BY_TIME
        no_unexpected_error(app)


async def test_home_and_end_move_the_cursor_to_the_first_and_last_row(tmp_path: Path) -> None:
    app = app_for(await demo_url(tmp_path), READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        t = table(app)
        await cursor_to(app, pilot, BY_TIME[2])
        await pilot.press("end")
        await wait_until(pilot, lambda: t.cursor_row == t.row_count - 1)
        await pilot.press("home")
        await wait_until(pilot, lambda: t.cursor_row == 0)


async def test_tab_goes_round_the_views_and_the_table_only(tmp_path: Path) -> None:
    app = app_for(await demo_url(tmp_path), READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        screen = inbox(app)
        stops = []
        for _ in range(4):
            await pilot.press("tab")
            await wait_until(pilot, lambda: app.focused is not None)
            focused = app.focused
            assert focused is not None
            assert focused.display, focused
            assert focused.visible, focused
            stops.append(focused.id)
        assert stops == ["views", "messages", "views", "messages"]
        assert app.screen is screen


async def test_a_reply_goes_from_the_number_the_customer_wrote_to(tmp_path: Path) -> None:
    app = app_for(await demo_url(tmp_path), READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await cursor_to(app, pilot, FAILED_FROM_SECOND)
        await pilot.press("r")
        dialog = await wait_screen(app, pilot, ComposeDialog)
        sender = dialog.query_one("#sender", Select)
        await wait_until(pilot, lambda: sender.value == SECOND_NUMBER)
        assert not dialog.query_one("#sender", Select).is_blank()


async def test_space_ticks_the_first_line_of_send_sms_before_any_arrow(tmp_path: Path) -> None:
    app = app_for(await demo_url(tmp_path), READER)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_compose(app, pilot)
        pick = dialog.query_one("#people-pick", SelectionList)
        await wait_until(pilot, lambda: pick.option_count > 0)
        pick.focus()
        await wait_until(pilot, lambda: pick.has_focus)
        await pilot.press("space")
        first = pick.get_option_at_index(0).value
        await wait_until(pilot, lambda: first in pick.selected)


async def test_a_one_credit_message_says_1_credit(tmp_path: Path) -> None:
    app = app_for(await demo_url(tmp_path), READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        row = await app.services.inbox.message(Actor(READER), FAILED_FROM_SECOND)
        assert row.credits == 1
        await cursor_to(app, pilot, FAILED_FROM_SECOND)
        await pilot.press("enter")
        dialog = await wait_screen(app, pilot, MessageDialog, skip=frozenset({"open_message"}))
        shown = " ".join(text_of(s) for s in dialog.query(Static))
        assert "1 credit ·" in shown
        assert "1 credits" not in shown


async def test_the_delete_question_is_about_messages(tmp_path: Path) -> None:
    app = app_for(await demo_url(tmp_path), READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await cursor_to(app, pilot, 8)
        await pilot.press("d")
        await wait_screen(app, pilot, ConfirmDialog, skip=frozenset({"delete"}))
        assert dialog_title(app) == "Delete the message"
        assert "interaction" not in text_of(app.screen.query_one("#question", Static))


async def _resend_all_failed(app: Any, pilot: Any) -> None:
    await open_inbox(app, pilot)
    screen = inbox(app)
    views = screen.query_one("#views")
    views.focus()
    await wait_until(pilot, lambda: views.has_focus)
    for _ in range(list(View).index(View.FAILED)):
        await pilot.press("down")
    await wait_until(pilot, lambda: screen.page is not None and screen.page.view is View.FAILED)
    table(app).focus()
    await pilot.press("ctrl+a")
    await wait_until(pilot, lambda: len(screen.selected) == 3)
    await pilot.press("R")


async def test_a_bulk_resend_says_its_credits_against_the_balance(tmp_path: Path) -> None:
    async def more_failed(session: Any) -> None:
        session.add(failed_message(80, "+33612000006", "Second failed"))
        session.add(failed_message(70, "+33612000007", "Third failed"))
        await session.execute(sa.update(Account).values(credits=467))

    app = app_for(await demo_url(tmp_path, more_failed), READER)
    async with app.run_test(size=SIZE) as pilot:
        await _resend_all_failed(app, pilot)
        confirm = await wait_screen(app, pilot, ConfirmDialog, skip=frozenset({"resend"}))
        question = text_of(confirm.query_one("#question", Static))
        assert "Resend 3 failed messages?" in question
        assert "3 credits of the 467 left" in question
        await pilot.click("#cancel")
        await wait_screen(app, pilot, InboxScreen)


async def test_a_resend_the_balance_cannot_pay_is_refused_before_anything_moves(
    tmp_path: Path,
) -> None:
    async def more_failed(session: Any) -> None:
        session.add(failed_message(80, "+33612000006", "Second failed"))
        session.add(failed_message(70, "+33612000007", "Third failed"))
        await session.execute(sa.update(Account).values(credits=2))

    app = app_for(await demo_url(tmp_path, more_failed), READER)
    async with app.run_test(size=SIZE) as pilot:
        await _resend_all_failed(app, pilot)
        await wait_until(
            pilot,
            lambda: any(
                "Not enough credits to resend: 3 credits needed, 2 left" in n
                for n in notifications(app)
            ),
        )
        assert isinstance(app.screen, InboxScreen)
        counts = await app.services.inbox.counts(Actor(READER))
        assert (counts[View.FAILED], counts[View.PENDING]) == (3, 0)
