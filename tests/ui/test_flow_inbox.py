"""The SMS inbox through the pilot (SPEC I1, I3–I6, I9): views and counts, selection, delete
and restore, resend of failed messages, reply and forward, the message in full, search and
filter, pages, and live updates from another process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col
from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, ProgressBar, SelectionList, Static
from textual.widgets._footer import FooterKey

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction, MessageStatus, MessageType, folder_for
from bannertui.domain.sms import measure
from bannertui.services import Services
from bannertui.services.inbox import InboxService, View
from bannertui.store.database import Database
from bannertui.store.models import Account, Message
from bannertui.testing import (
    DEMO_NOW,
    app_for,
    notifications,
    prepare_demo_database_async,
    text_of,
    wait_until,
    workers_done,
)
from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.compose import ComposeDialog
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.screens.inbox import InboxScreen
from bannertui.ui.screens.inbox_filter import FilterDialog
from bannertui.ui.screens.message_detail import MessageDialog
from bannertui.ui.widgets.message_editor import MessageEditor

SIZE = (80, 24)
ALICE_NUMBER = "+33757000001"  # alice's first sender number: not a queue's
FAILED_ID = 7  # the demo's failed message, to +33612000004
UNKNOWN_5 = "+33612000005"  # the demo's inbound message 8
UNKNOWN_4 = "+33612000004"

#: The inbox flows read the whole account's seeded messages: an administrator (an agent sees
#: only their scope, tests/services/test_scope.py), with alice's two sender numbers.
READER = "admin"


# --- helpers -------------------------------------------------------------------------------------


def no_unexpected_error(app: BannerApp) -> None:
    unexpected = [n for n in notifications(app) if "Unexpected error" in n]
    assert not unexpected, unexpected


def inbox(app: BannerApp) -> InboxScreen:
    return next(s for s in app.screen_stack if isinstance(s, InboxScreen))


def table(app: BannerApp) -> DataTable[Any]:
    return inbox(app).query_one("#messages", DataTable)


def shown_ids(app: BannerApp) -> list[int]:
    return [int(str(row.key.value)) for row in table(app).ordered_rows]


def cell(app: BannerApp, message_id: int, column: str) -> str:
    return str(table(app).get_cell(str(message_id), column))


def status_text(app: BannerApp) -> str:
    return text_of(inbox(app).query_one("#inbox-status", Static))


def view_label(app: BannerApp, view: View) -> str:
    views = inbox(app).query_one("#views", OptionList)
    return str(views.get_option_at_index(list(View).index(view)).prompt)


def shown_count(app: BannerApp, view: View) -> int | None:
    label = view_label(app, view)
    if not label.startswith(view.short):
        return None
    tail = label[len(view.short) :].strip().replace(",", "")
    return int(tail) if tail.isdigit() else None


def dialog_title(app: BannerApp) -> str:
    return text_of(app.screen.query_one(".dialog-title", Static))


def failed_message(at_minutes: int, to: str, text: str) -> Message:
    m = measure(text)
    return Message(
        direction=Direction.OUTBOUND,
        from_number=ALICE_NUMBER,
        to_number=to,
        remote_number=to,
        text=text,
        encoding=m.encoding.value,
        credits=m.credits,
        type=MessageType.NOTIFICATION,
        sender=ALICE_NUMBER,
        ret_id=uuid.uuid4().hex,
        status=MessageStatus.FAILED,
        folder=folder_for(Direction.OUTBOUND, MessageStatus.FAILED),
        error="Recipient handset unreachable",
        attempts=1,
        created_at=DEMO_NOW - timedelta(minutes=at_minutes),
    )


def inbound_message(index: int, text: str, remote: str = "+33612000009") -> Message:
    return Message(
        direction=Direction.INBOUND,
        from_number=remote,
        to_number=ALICE_NUMBER,
        remote_number=remote,
        text=text,
        encoding=measure(text).encoding.value,
        credits=0,
        type=MessageType.NOTIFICATION,
        provider_message_id=f"bulk-{index}",
        status=MessageStatus.RECEIVED,
        folder=folder_for(Direction.INBOUND, MessageStatus.RECEIVED),
        created_at=DEMO_NOW - timedelta(minutes=500 - index),
    )


async def demo_url(tmp_path: Path, change: Callable[[Any], Awaitable[None]] | None = None) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    await prepare_demo_database_async(url)
    if change is not None:
        db = Database(url)
        try:
            async with db.write() as session:
                await change(session)
        finally:
            await db.dispose()
    return url


async def stored(url: str, *where: Any) -> list[Message]:
    db = Database(url)
    try:
        async with db.read() as session:
            rows = await session.scalars(sa.select(Message).where(*where).order_by(col(Message.id)))
            return list(rows.all())
    finally:
        await db.dispose()


async def open_inbox(app: BannerApp, pilot: Pilot[None]) -> InboxScreen:
    """F4 from the Banner; waits for the first page and the counts (on screen: the table, the
    views' labels and the status line are filled in the same step as ``page``/``counts``)."""
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
    await workers_done(pilot)
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(app.screen, InboxScreen))
    screen = inbox(app)
    await wait_until(pilot, lambda: screen.page is not None and bool(screen.counts))
    await workers_done(pilot)
    return screen


async def choose_view(app: BannerApp, pilot: Pilot[None], view: View) -> None:
    """Move the highlight of #views (as an agent does with the arrows), back to the table."""
    views = inbox(app).query_one("#views", OptionList)
    views.focus()
    await wait_until(pilot, lambda: views.has_focus)
    start, target = views.highlighted or 0, list(View).index(view)
    for _ in range(abs(target - start)):
        await pilot.press("down" if start < target else "up")
    await wait_until(pilot, lambda: views.highlighted == target)
    await wait_until(
        pilot,
        lambda: (
            inbox(app).page is not None
            and inbox(app).page.view is view  # type: ignore[union-attr]
            and view.label in status_text(app)
        ),
    )
    table(app).focus()
    await wait_until(pilot, lambda: table(app).has_focus)


async def cursor_to(app: BannerApp, pilot: Pilot[None], message_id: int) -> None:
    t = table(app)
    t.focus()
    row = t.get_row_index(str(message_id))
    t.move_cursor(row=row, animate=False)
    await wait_until(pilot, lambda: t.has_focus and t.cursor_row == row)


async def wait_screen(
    app: BannerApp, pilot: Pilot[None], kind: type, *, skip: frozenset[str] = frozenset()
) -> Any:
    """Until a ``kind`` screen is on top, composed, and every worker has ended but those named
    in ``skip`` (a worker that waits on the dialog it opened ends only when the dialog does)."""
    await wait_until(pilot, lambda: isinstance(app.screen, kind) and app.screen.is_mounted)
    await workers_done(pilot, skip=skip)
    return app.screen


# --- I1: views and counts ------------------------------------------------------------------------


async def test_f4_opens_the_inbox_with_the_counts_of_each_view(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        expected = await app.services.inbox.counts(Actor(READER))
        assert expected[View.ALL] == 8  # the demo history
        for view in View:
            assert shown_count(app, view) == expected[view], view_label(app, view)
        assert shown_ids(app) == [8, 3, 2, 1, 7, 6, 5, 4]  # newest first (issue #19)
        assert "All communications" in status_text(app)
        assert "1–8" in status_text(app)
        no_unexpected_error(app)


async def test_a_view_chosen_while_the_counts_load_does_not_lose_them(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The counts load after the first page, in a worker of their own: the page load a view
    switch starts does not cancel them (they stayed blank until the next change)."""
    url = await demo_url(tmp_path)
    release = asyncio.Event()
    calls: list[str] = []
    counts = InboxService.counts

    async def held(self: InboxService, actor: Actor) -> dict[View, int]:
        try:
            await release.wait()
        except asyncio.CancelledError:
            calls.append("cancelled")
            raise
        calls.append("counted")
        return await counts(self, actor)

    monkeypatch.setattr(InboxService, "counts", held)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
        await workers_done(pilot)
        await pilot.press("f4")
        await wait_until(
            pilot, lambda: isinstance(app.screen, InboxScreen) and inbox(app).page is not None
        )
        await choose_view(app, pilot, View.RECEIVED)  # the counts are still loading
        release.set()
        await wait_until(pilot, lambda: bool(inbox(app).counts))
        assert calls[0] == "counted"
        assert shown_count(app, View.ALL) == 8
        no_unexpected_error(app)


def count_pages(monkeypatch: Any) -> list[View]:
    """The views whose page is read from now on, in order (InboxService.page counted)."""
    pages: list[View] = []
    page = InboxService.page

    async def counted(self: InboxService, actor: Actor, view: View, **kw: Any) -> Any:
        pages.append(view)
        return await page(self, actor, view, **kw)

    monkeypatch.setattr(InboxService, "page", counted)
    return pages


async def test_arrows_in_a_burst_on_the_views_settle_on_one_view(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Issue #23 item 9: shift+tab to the views and Up Up Up in one burst made the selected
    view flip between three views for ever (each highlight loaded its view, and loading set
    the highlight again, which reported another change).  Now the list settles on the view
    three steps up (the list wraps: All → Deleted → Did not trigger → SMS pending), stays
    there, and the burst reads at most one page per key."""
    url = await demo_url(tmp_path)
    pages = count_pages(monkeypatch)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inbox(app, pilot)
        views = screen.query_one("#views", OptionList)
        await pilot.press("shift+tab")
        await wait_until(pilot, lambda: views.has_focus)
        assert views.highlighted == 0
        assert screen.view is View.ALL
        before = len(pages)
        target = View.PENDING  # three steps up from All communications, wrapping
        for _ in range(3):  # as the terminal delivers them: all queued at once
            app.post_message(events.Key("up", None))

        def settled() -> bool:
            return (
                views.highlighted == list(View).index(target)
                and screen.view is target
                and screen.page is not None
                and screen.page.view is target
            )

        await wait_until(pilot, settled)
        # Stable over several of the screen's change checks (each CHANGE_POLL_SECONDS):
        # every state seen at a check is the settled one, and no page is read any more.
        seen: list[tuple[int | None, View]] = []
        checked = screen.database_checked

        async def watching(changed: bool) -> None:
            seen.append((views.highlighted, screen.view))
            await checked(changed)

        monkeypatch.setattr(screen, "database_checked", watching)
        loads = len(pages)
        await wait_until(pilot, lambda: len(seen) >= 4)
        assert set(seen) == {(list(View).index(target), target)}, seen
        assert settled()
        assert len(pages) == loads, pages[loads:]
        assert 1 <= loads - before <= 3, pages[before:]
        assert pages[-1] is target
        no_unexpected_error(app)


async def test_opening_the_inbox_reads_its_page_once(tmp_path: Path, monkeypatch: Any) -> None:
    """The first change check after opening reported "changed" (every watcher's first check
    does) and read the page just shown again, half a second later: with nothing changed, the
    page is read once, however many checks follow."""
    url = await demo_url(tmp_path)
    pages = count_pages(monkeypatch)
    checks: list[bool] = []
    checked = InboxScreen.database_checked

    async def watching(self: InboxScreen, changed: bool) -> None:
        checks.append(changed)
        await checked(self, changed)

    monkeypatch.setattr(InboxScreen, "database_checked", watching)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await wait_until(pilot, lambda: len(checks) >= 3)
        await workers_done(pilot)
        assert checks[:3] == [False, False, False]
        assert pages == [View.ALL]
        no_unexpected_error(app)


def footer_actions(app: BannerApp) -> set[str]:
    """The footer's keys that act (the others are shown dimmed)."""
    return {k.action for k in inbox(app).query(FooterKey) if not k.has_class("-disabled")}


async def test_the_footer_keys_follow_the_view(tmp_path: Path) -> None:
    """Restore in Deleted communications only, Resend in All and SMS failed (the others
    dimmed): the footer is rebuilt when a view with other keys shows its first page."""
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await wait_until(pilot, lambda: {"delete", "resend"} <= footer_actions(app))
        assert "restore" not in footer_actions(app)
        for view, shown, hidden in (
            (View.DELETED, {"restore"}, {"delete", "resend", "reply"}),
            (View.SENT, {"delete", "reply"}, {"restore", "resend"}),
            (View.RECEIVED, {"delete", "reply"}, {"restore", "resend"}),
            (View.FAILED, {"delete", "resend"}, {"restore"}),
        ):
            await choose_view(app, pilot, view)
            await wait_until(
                pilot,
                lambda shown=shown, hidden=hidden: (
                    shown <= footer_actions(app) and not hidden & footer_actions(app)
                ),
            )
        no_unexpected_error(app)


async def test_the_delivery_state_is_on_screen_at_80x24(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)

        def lines() -> list[str]:
            return [strip.text for strip in app.screen._compositor.render_strips()]

        await wait_until(pilot, lambda: any("+33612000004" in line for line in lines()))
        row = next(line for line in lines() if "+33612000004" in line)
        assert "failed" in row, row


# --- selection -----------------------------------------------------------------------------------


async def test_space_selects_ctrl_a_selects_the_page_and_x_clears(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inbox(app, pilot)
        assert "selected" not in status_text(app)
        await cursor_to(app, pilot, 8)
        await pilot.press("space")  # marks 8, moves to 3 (the next in time)
        await pilot.press("space")  # marks 3
        await wait_until(pilot, lambda: screen.selected == {8, 3})
        assert cell(app, 8, "sel") == "■"
        assert cell(app, 3, "sel") == "■"
        assert cell(app, 2, "sel") == "□"
        assert "2 selected" in status_text(app)
        await cursor_to(app, pilot, 3)
        await pilot.press("space")  # unmarks 3
        await wait_until(pilot, lambda: screen.selected == {8})
        assert cell(app, 3, "sel") == "□"
        assert "1 selected" in status_text(app)

        await pilot.press("ctrl+a")
        await wait_until(pilot, lambda: screen.selected == set(range(1, 9)))
        assert all(cell(app, i, "sel") == "■" for i in range(1, 9))
        assert "8 selected" in status_text(app)

        await pilot.press("x")
        await wait_until(pilot, lambda: screen.selected == set())
        assert all(cell(app, i, "sel") == "□" for i in range(1, 9))
        assert "selected" not in status_text(app)


# --- I5: delete and restore ----------------------------------------------------------------------


async def test_delete_asks_then_moves_to_deleted_and_u_restores(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inbox(app, pilot)
        await cursor_to(app, pilot, 8)  # received
        await pilot.press("space")
        await wait_until(pilot, lambda: screen.selected == {8})
        await cursor_to(app, pilot, 6)  # sent
        await pilot.press("space")
        await wait_until(pilot, lambda: screen.selected == {8, 6})
        await pilot.press("d")
        # the delete worker waits on the question
        confirm = await wait_screen(app, pilot, ConfirmDialog, skip=frozenset({"delete"}))
        assert dialog_title(app) == "Delete messages"
        assert "Move 2 messages to Deleted communications" in text_of(
            confirm.query_one("#question", Static)
        )
        # cancel first: nothing moves
        await pilot.click("#cancel")
        await wait_screen(app, pilot, InboxScreen)  # the delete worker had its answer, ended
        await pilot.pause(0.3)  # no wait can show that nothing moved: a margin for it
        assert (await app.services.inbox.counts(Actor(READER)))[View.DELETED] == 0
        assert 8 in shown_ids(app)

        await pilot.press("d")
        await wait_screen(app, pilot, ConfirmDialog, skip=frozenset({"delete"}))
        await pilot.click("#confirm")
        await wait_screen(app, pilot, InboxScreen)
        await wait_until(pilot, lambda: 8 not in shown_ids(app) and 6 not in shown_ids(app))
        counts = await app.services.inbox.counts(Actor(READER))
        assert counts[View.DELETED] == 2
        assert counts[View.ALL] == 6
        assert counts[View.RECEIVED] == 3
        assert counts[View.SENT] == 2
        await wait_until(pilot, lambda: shown_count(app, View.DELETED) == 2)
        for view in View:
            assert shown_count(app, view) == counts[view], view
        assert screen.selected == set()

        await choose_view(app, pilot, View.DELETED)
        assert shown_ids(app) == [8, 6]
        await cursor_to(app, pilot, 8)
        await pilot.press("u")
        await wait_until(pilot, lambda: shown_ids(app) == [6])
        counts = await app.services.inbox.counts(Actor(READER))
        assert counts[View.DELETED] == 1
        assert counts[View.RECEIVED] == 4  # back where it came from
        assert counts[View.SENT] == 2
        assert 8 in [
            r.id for r in (await app.services.inbox.page(Actor(READER), View.RECEIVED)).rows
        ]
        await wait_until(pilot, lambda: shown_count(app, View.RECEIVED) == 4)
        no_unexpected_error(app)
    [m8] = await stored(url, col(Message.id) == 8)
    assert (m8.deleted, m8.folder) == (False, "received")


# --- I6: resend failed ---------------------------------------------------------------------------


async def test_r_on_a_failed_message_moves_it_to_pending(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await cursor_to(app, pilot, FAILED_ID)
        await pilot.press("R")  # one message: no confirmation
        await wait_until(pilot, lambda: "pending" in cell(app, FAILED_ID, "state"))
        await wait_until(
            pilot, lambda: any("1 moved to SMS pending" in n for n in notifications(app))
        )
        assert isinstance(app.screen, InboxScreen)  # the resend is done and asked nothing
        row = await app.services.inbox.message(Actor(READER), FAILED_ID)
        assert (row.status, row.folder, row.error) == ("pending", "pending", None)
        counts = await app.services.inbox.counts(Actor(READER))
        assert (counts[View.FAILED], counts[View.PENDING]) == (0, 1)
        await wait_until(pilot, lambda: shown_count(app, View.PENDING) == 1)
        no_unexpected_error(app)


async def test_bulk_resend_asks_naming_the_count_and_shows_the_progress_bar(
    tmp_path: Path,
) -> None:
    async def more_failed(session: Any) -> None:
        session.add(failed_message(80, "+33612000006", "Second failed"))
        session.add(failed_message(70, "+33612000007", "Third failed"))

    url = await demo_url(tmp_path, more_failed)
    app = app_for(url, READER)
    release = asyncio.Event()
    seen: list[tuple[int, int]] = []

    async def slow_resend(login: str, ids: list[int], *, progress: Any = None) -> Any:
        def report(done: int, total: int) -> None:
            seen.append((done, total))
            progress(done, total)

        report(0, len(ids))
        await release.wait()  # hold the work so the bar can be seen
        return await InboxService.resend_failed(app.services.inbox, login, ids, progress=report)

    app.services.inbox.resend_failed = slow_resend  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        bar = inbox(app).query_one("#bulk-progress", ProgressBar)
        assert not bar.display
        await choose_view(app, pilot, View.FAILED)
        assert len(shown_ids(app)) == 3
        failed_ids = set(shown_ids(app))
        await pilot.press("ctrl+a")
        await wait_until(pilot, lambda: inbox(app).selected == failed_ids)
        await pilot.press("R")
        waiting = frozenset({"resend"})  # it waits on the question, then on ``release``
        confirm = await wait_screen(app, pilot, ConfirmDialog, skip=waiting)
        assert dialog_title(app) == "Resend failed SMS"
        assert "Resend 3 failed messages?" in text_of(confirm.query_one("#question", Static))
        assert "Resend 3" in str(confirm.query_one("#confirm").label)  # type: ignore[attr-defined]
        await pilot.click("#confirm")
        await wait_screen(app, pilot, InboxScreen, skip=waiting)
        await wait_until(pilot, lambda: bar.display)
        assert bar.total == 3
        release.set()
        await wait_until(pilot, lambda: not bar.display)
        await wait_until(pilot, lambda: shown_ids(app) == [])
        assert seen[-1] == (3, 3)
        counts = await app.services.inbox.counts(Actor(READER))
        assert (counts[View.FAILED], counts[View.PENDING]) == (0, 3)
        await wait_until(
            pilot, lambda: any("3 moved to SMS pending" in n for n in notifications(app))
        )
        no_unexpected_error(app)
    rows = await stored(url, col(Message.id).in_(failed_ids))
    assert {(m.status, m.folder) for m in rows} == {("pending", "pending")}


async def test_bulk_resend_of_a_mixed_selection_names_only_the_failed_ones(
    tmp_path: Path,
) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await pilot.press("ctrl+a")
        await wait_until(pilot, lambda: inbox(app).selected == set(range(1, 9)))
        await pilot.press("R")

        def moved() -> bool:
            return any("moved to SMS pending" in n for n in notifications(app))

        # either it asks (naming the failed ones only) or it is done at once
        await wait_until(
            pilot,
            lambda: (isinstance(app.screen, ConfirmDialog) and app.screen.is_mounted) or moved(),
        )
        if isinstance(app.screen, ConfirmDialog):
            question = text_of(app.screen.query_one("#question", Static))
            assert "Resend 8" not in question, question
            await pilot.click("#confirm")
        await wait_until(pilot, moved)
        assert not any("no longer failed" in n for n in notifications(app)), notifications(app)


# --- I3, I4: reply and forward -------------------------------------------------------------------


async def test_reply_to_two_numbers_prefills_both_and_sends_one_message_each(
    tmp_path: Path,
) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await cursor_to(app, pilot, 8)  # from +33612000005
        await pilot.press("space")
        await cursor_to(app, pilot, 7)  # to +33612000004
        await pilot.press("space")
        await wait_until(pilot, lambda: inbox(app).selected == {8, 7})
        await pilot.press("r")
        dialog = await wait_screen(app, pilot, ComposeDialog)
        assert dialog_title(app) == "Reply to 2 messages"
        numbers = dialog.query_one("#numbers", Input).value
        assert UNKNOWN_5 in numbers
        assert UNKNOWN_4 in numbers
        await wait_until(
            pilot, lambda: "2 recipients" in text_of(dialog.query_one("#recipients-summary"))
        )
        await wait_until(pilot, lambda: dialog.query(MessageEditor).first().has_focus_within)
        await pilot.press(*"On it")
        # ctrl+s is a priority key: it must not overtake the last letters
        await wait_until(pilot, lambda: dialog.query_one(MessageEditor).text == "On it")
        await pilot.press("ctrl+s")
        # several recipients: what it costs is asked first (issue #19)
        confirm = await wait_screen(app, pilot, ConfirmDialog, skip=frozenset({"send"}))
        question = text_of(confirm.query_one("#question", Static))
        balance = await app.services.accounts.balance(Actor(READER))
        assert f"Send to 2 recipients? 2 SMS of 1 credit: 2 credits of the {balance:,} left." in (
            question
        )
        await pilot.click("#confirm")
        await wait_screen(app, pilot, InboxScreen)
        await wait_until(pilot, lambda: any("2 SMS queued" in n for n in notifications(app)))
        no_unexpected_error(app)
    sent = await stored(url, col(Message.text) == "On it")
    assert sorted(m.to_number for m in sent) == [UNKNOWN_4, UNKNOWN_5]
    assert all(m.direction == "outbound" and m.status == "pending" for m in sent)


async def test_forward_of_two_is_refused_and_of_one_prefills_the_text(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await cursor_to(app, pilot, 6)
        await pilot.press("space", "space")
        await pilot.press("f")
        await wait_until(
            pilot, lambda: "Forward one message at a time (2 selected)" in notifications(app)
        )
        assert isinstance(app.screen, InboxScreen)  # refused: the action is done, no dialog

        await pilot.press("x")
        await wait_until(pilot, lambda: inbox(app).selected == set())
        await cursor_to(app, pilot, 6)
        await pilot.press("space")
        await pilot.press("f")
        dialog = await wait_screen(app, pilot, ComposeDialog)
        assert dialog_title(app) == "Forward SMS"
        original = (await app.services.inbox.message(Actor(READER), 6)).text
        assert dialog.query_one(MessageEditor).text == original
        assert dialog.query_one("#numbers", Input).value == ""
        dialog.query_one("#numbers", Input).value = "+33612000009"
        dialog.query_one(MessageEditor).text = "FW: " + original
        await pilot.press("ctrl+s")
        await wait_screen(app, pilot, InboxScreen)
        await wait_until(pilot, lambda: any("1 SMS queued" in n for n in notifications(app)))
        no_unexpected_error(app)
    [sent] = await stored(url, col(Message.to_number) == "+33612000009")
    assert (sent.text, sent.direction) == ("FW: " + original, "outbound")


# --- the message in full -------------------------------------------------------------------------


async def test_enter_shows_the_whole_text_literally(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    body = "Look: [bold]x[/bold] and \x1b[31mred and a long tail " + "word " * 20 + "END"
    other = Services(Database(url))
    try:
        await other.inbound.receive("+33612000009", ALICE_NUMBER, body, "odd-1")
    finally:
        await other.db.dispose()
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        [newest] = shown_ids(app)[:1]
        # the table shows a safe, shortened line
        assert "\x1b" not in cell(app, newest, "text")
        await cursor_to(app, pilot, newest)
        await pilot.press("enter")
        # open_message waits on the dialog it opened
        dialog = await wait_screen(app, pilot, MessageDialog, skip=frozenset({"open_message"}))
        body_widget = dialog.query_one("#message-body Static", Static)
        shown = text_of(body_widget)
        assert "[bold]x[/bold]" in shown
        assert "␛[31mred" in shown
        assert "END" in shown  # the whole text, not the table's cut
        assert "\x1b" not in shown
        visual = body_widget.visual
        assert not [s for s in getattr(visual, "spans", []) if "bold" in str(s.style)]
        await wait_until(pilot, lambda: "[bold]x[/bold]" in app.export_screenshot())
        screen = app.export_screenshot()
        assert "[bold]x[/bold]" in screen
        assert "\x1b[31m" not in screen
        await pilot.press("escape")
        await wait_screen(app, pilot, InboxScreen)
        no_unexpected_error(app)


async def test_message_dialog_keys_delete_and_restore_that_message(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await cursor_to(app, pilot, 6)
        await pilot.press("enter")
        dialog = await wait_screen(app, pilot, MessageDialog, skip=frozenset({"open_message"}))
        assert "State: delivered" in text_of(dialog.query_one("#message-state", Static))
        assert not dialog.query("#restore")
        await pilot.press("d")
        confirm = await wait_screen(
            app, pilot, ConfirmDialog, skip=frozenset({"open_message", "delete"})
        )
        assert "Move 1 message to Deleted" in text_of(confirm.query_one("#question", Static))
        await pilot.press("y")
        await wait_until(pilot, lambda: 6 not in shown_ids(app))
        assert (await app.services.inbox.message(Actor(READER), 6)).deleted

        await choose_view(app, pilot, View.DELETED)
        await cursor_to(app, pilot, 6)
        await pilot.press("enter")
        dialog = await wait_screen(app, pilot, MessageDialog, skip=frozenset({"open_message"}))
        assert dialog.query("#restore")
        assert not dialog.query("#reply")
        await pilot.press("u")
        await wait_until(pilot, lambda: shown_ids(app) == [])
        row = await app.services.inbox.message(Actor(READER), 6)
        assert (row.deleted, row.folder) == (False, "sent")
        no_unexpected_error(app)


async def test_f4_f6_and_escape_move_between_the_screens(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await pilot.press("f6")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PeopleScreen")
        await pilot.press("f4")
        await wait_screen(app, pilot, InboxScreen)
        assert [type(s).__name__ for s in app.screen_stack][1:] == ["BannerScreen", "InboxScreen"]
        await pilot.press("escape")
        await wait_screen(app, pilot, BannerScreen)
        assert len(app.screen_stack) == 2
        no_unexpected_error(app)


# --- I9: search and filter -----------------------------------------------------------------------


async def apply_filter(app: BannerApp, pilot: Pilot[None], **fields: str) -> FilterDialog:
    await pilot.press("slash")
    dialog = await wait_screen(app, pilot, FilterDialog)
    for key in ("number", "contact", "text", "since", "until"):
        dialog.query_one(f"#filter-{key}", Input).value = fields.get(key, "")
    await pilot.press("ctrl+s")  # the callers wait for what follows: the inbox, or an error
    return dialog


async def test_filter_by_number_and_by_text_narrows_the_table(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await apply_filter(app, pilot, number="612 00 00 02")
        await wait_screen(app, pilot, InboxScreen)
        await wait_until(pilot, lambda: shown_ids(app) == [5, 4])
        assert "number ~ 612 00 00 02" in status_text(app)

        await apply_filter(app, pilot, contact="moreau sarl")
        await wait_screen(app, pilot, InboxScreen)
        await wait_until(pilot, lambda: shown_ids(app) == [3, 2, 1])
        assert "contact ~ moreau sarl" in status_text(app)

        await apply_filter(app, pilot, text="PARCEL")
        await wait_screen(app, pilot, InboxScreen)
        await wait_until(pilot, lambda: shown_ids(app) == [6])
        assert "text ~ PARCEL" in status_text(app)

        await pilot.press("slash")
        await wait_screen(app, pilot, FilterDialog)
        await pilot.press("ctrl+l")  # clear all: the dialog stays, empty
        await pilot.press("ctrl+s")
        await wait_screen(app, pilot, InboxScreen)
        await wait_until(pilot, lambda: len(shown_ids(app)) == 8)
        assert "Filter" not in status_text(app)
        no_unexpected_error(app)


@pytest.mark.parametrize("how", ["ctrl+l", "button"])
async def test_clear_empties_the_filter_and_keeps_the_dialog_for_typing(
    tmp_path: Path, how: str
) -> None:
    """Issue #23 item 11: "Clear ^L" closed the dialog, and the letters typed next were
    inbox commands (r opened Reply).  Clear empties every field, the dialog stays open with
    the focus in its first field: what is typed next is the new search."""
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await apply_filter(app, pilot, number="612", text="parcel", since="2026-01-01")
        await wait_screen(app, pilot, InboxScreen)
        await pilot.press("slash")
        dialog = await wait_screen(app, pilot, FilterDialog)
        dialog.query_one("#filter-text", Input).focus()
        await wait_until(pilot, lambda: app.focused is dialog.query_one("#filter-text"))
        if how == "button":
            await pilot.click("#clear")
        else:
            await pilot.press("ctrl+l")
        number = dialog.query_one("#filter-number", Input)
        await wait_until(pilot, lambda: app.focused is number)
        assert app.screen is dialog
        assert all(v.value == "" for v in dialog.query(Input))
        for key in "rfd":  # a fast typist's letters, all queued at once
            app.post_message(events.Key(key, key))
        await wait_until(pilot, lambda: number.value == "rfd")
        await workers_done(pilot)
        assert app.screen is dialog  # no Reply, Forward or Delete opened
        assert [type(s).__name__ for s in app.screen_stack][-2:] == ["InboxScreen", "FilterDialog"]
        await pilot.press("escape")  # cancel: the filter applied before stays
        await wait_screen(app, pilot, InboxScreen)
        assert "number ~ 612" in status_text(app)
        no_unexpected_error(app)


async def test_filter_with_a_bad_date_says_invalid_date(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        dialog = await apply_filter(app, pilot, since="2026-13-45")

        def error() -> str:
            return text_of(dialog.query_one("#dialog-error", Static))

        await wait_until(pilot, lambda: "Invalid date" in error())
        assert isinstance(app.screen, FilterDialog)  # refused in the same step: still open
        dialog.query_one("#filter-since", Input).value = "2026-11-03"
        dialog.query_one("#filter-until", Input).value = "2026-11-01"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Invalid date: the end is before the start" in error())
        assert isinstance(app.screen, FilterDialog)
        dialog.query_one("#filter-until", Input).value = ""
        # a valid day applies
        dialog.query_one("#filter-since", Input).value = "2026-11-03"
        await pilot.press("ctrl+s")
        await wait_screen(app, pilot, InboxScreen)
        await wait_until(pilot, lambda: shown_ids(app) == [])
        no_unexpected_error(app)


# --- pages ---------------------------------------------------------------------------------------


async def test_brackets_page_forward_and_back(tmp_path: Path) -> None:
    async def many(session: Any) -> None:
        session.add_all(inbound_message(i, f"Bulk message {i}") for i in range(120))

    url = await demo_url(tmp_path, many)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        assert shown_count(app, View.ALL) == 128
        first = shown_ids(app)
        assert len(first) == 50
        # the first status line comes before the counts; the next poll names the total
        await wait_until(pilot, lambda: "1–50 of 128" in status_text(app))
        assert "] next page" in status_text(app)
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: "51–100 of 128" in status_text(app))
        second = shown_ids(app)
        assert len(second) == 50
        in_order = await app.services.inbox.view_ids(Actor(READER), View.ALL)
        assert first + second == in_order[:100]  # the pages follow each other in time
        assert "[ previous" in status_text(app)
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: "101–128 of 128" in status_text(app))
        third = shown_ids(app)
        assert len(third) == 28
        assert "next page" not in status_text(app)
        assert sorted(first + second + third) == sorted(
            r for r in await app.services.inbox.view_ids(Actor(READER), View.ALL)
        )
        await pilot.press("right_square_bracket")  # no further page: stays
        # "]" shows nothing when it does nothing: a key with a visible effect, handled after
        # it, tells that it has been handled; a page load it started would be a worker
        await pilot.press("ctrl+a")
        await wait_until(pilot, lambda: "28 selected" in status_text(app))
        await pilot.pause(0.2)
        await workers_done(pilot)
        assert shown_ids(app) == third
        assert "101–128 of 128" in status_text(app)
        await pilot.press("x")
        await wait_until(pilot, lambda: "selected" not in status_text(app))
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: "51–100 of 128" in status_text(app))
        assert shown_ids(app) == second
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: "1–50 of 128" in status_text(app))
        assert shown_ids(app) == first
        no_unexpected_error(app)


# --- live updates --------------------------------------------------------------------------------


async def test_a_message_received_by_another_process_shows_without_a_key(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    other = Services(Database(url))
    try:
        app = app_for(url, READER)
        async with app.run_test(size=SIZE) as pilot:
            await open_inbox(app, pilot)
            assert len(shown_ids(app)) == 8
            await other.inbound.receive("+33612000009", ALICE_NUMBER, "Live hello", "live-1")
            await wait_until(pilot, lambda: len(shown_ids(app)) == 9)
            newest = shown_ids(app)[0]
            assert cell(app, newest, "text") == "Live hello"
            assert cell(app, newest, "dir") == "←"
            no_unexpected_error(app)
    finally:
        await other.db.dispose()


async def test_counts_follow_a_message_received_by_another_process(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    other = Services(Database(url))
    try:
        app = app_for(url, READER)
        async with app.run_test(size=SIZE) as pilot:
            await open_inbox(app, pilot)
            assert shown_count(app, View.ALL) == 8
            await other.inbound.receive("+33612000009", ALICE_NUMBER, "Live hello", "live-1")
            await wait_until(pilot, lambda: len(shown_ids(app)) == 9)
            # COUNTS_EVERY_SECONDS is 2: give the counts that long and a poll more
            await wait_until(pilot, lambda: shown_count(app, View.ALL) == 9)
            assert shown_count(app, View.RECEIVED) == 5
    finally:
        await other.db.dispose()


# --- I2, I7: send SMS from anywhere (F5) ---------------------------------------------------------

LEA = "+33612000001"
THOMAS = "+33612000002"
LANDLINE = "+33140000000"  # Paris landline: no SMS


async def open_compose(app: BannerApp, pilot: Pilot[None]) -> ComposeDialog:
    """F5 from the Banner; waits for the dialog's focus and its first reads."""
    await wait_until(pilot, lambda: isinstance(app.screen, BannerScreen))
    await workers_done(pilot)
    await pilot.press("f5")
    dialog = await wait_screen(app, pilot, ComposeDialog)
    assert dialog_title(app) == "Send SMS"
    await wait_until(pilot, lambda: app.focused is dialog.query_one("#numbers", Input))
    await workers_done(pilot)
    return dialog


async def type_numbers(pilot: Pilot[None], dialog: ComposeDialog, numbers: str) -> None:
    """The numbers as typed (the last character pressed, so the checks run as on typing)."""
    field = dialog.query_one("#numbers", Input)
    field.value = numbers[:-1]
    field.cursor_position = len(field.value)
    await pilot.press(numbers[-1])
    await wait_until(pilot, lambda: field.value == numbers)


async def type_message(pilot: Pilot[None], dialog: ComposeDialog, text: str) -> None:
    """Typed in the editor; returns once it holds the text (ctrl+s, a priority key, must not
    overtake the last letters)."""
    editor = dialog.query_one(MessageEditor)
    editor.focus_text()
    await wait_until(pilot, lambda: editor.has_focus_within)
    await pilot.press(*text)
    await wait_until(pilot, lambda: editor.text.endswith(text))


def summary(dialog: ComposeDialog) -> str:
    return text_of(dialog.query_one("#recipients-summary", Static))


def dialog_error(dialog: ComposeDialog) -> str:
    return text_of(dialog.query_one("#dialog-error", Static))


async def test_compose_names_a_rejected_number_and_sends_to_the_good_one_only(
    tmp_path: Path,
) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_compose(app, pilot)
        assert "No recipient yet" in summary(dialog)
        await type_numbers(pilot, dialog, f"{LEA}, {LANDLINE}")
        await wait_until(pilot, lambda: "rejected" in summary(dialog))
        assert "1 recipient" in summary(dialog)
        assert f"{LANDLINE}: Invalid number" in summary(dialog)
        assert LEA not in summary(dialog)
        await type_message(pilot, dialog, "Hi")
        await pilot.press("ctrl+s")
        # the dialog's send worker waits on the question
        confirm = await wait_screen(app, pilot, ConfirmDialog, skip=frozenset({"send"}))
        assert dialog_title(app) == "Rejected recipients"
        question = text_of(confirm.query_one("#question", Static))
        assert LANDLINE in question
        assert "Invalid number" in question
        assert "Send to the other 1?" in question
        await pilot.click("#confirm")
        await wait_screen(app, pilot, BannerScreen)
        await wait_until(pilot, lambda: any("1 SMS queued" in n for n in notifications(app)))
        no_unexpected_error(app)
    sent = await stored(url, col(Message.text) == "Hi")
    assert [(m.to_number, m.from_number, m.status) for m in sent] == [
        (LEA, ALICE_NUMBER, "pending")
    ]


async def test_compose_refuses_an_empty_message(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_compose(app, pilot)
        await type_numbers(pilot, dialog, LEA)
        await wait_until(pilot, lambda: "1 recipient" in summary(dialog))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Empty message" in dialog_error(dialog))
        assert app.screen is dialog  # the refusal ends the send: the dialog stays
        no_unexpected_error(app)
    assert await stored(url, col(Message.to_number) == LEA, col(Message.id) > 8) == []


async def test_compose_refuses_a_schedule_in_the_past(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_compose(app, pilot)
        await type_numbers(pilot, dialog, LEA)
        dialog.query_one("#schedule", Input).value = "2020-01-01 10:00"
        await type_message(pilot, dialog, "Later")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Invalid schedule" in dialog_error(dialog))
        assert app.screen is dialog  # the refusal ends the send: the dialog stays
        dialog.query_one("#schedule", Input).value = "tomorrow"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "expected YYYY-MM-DD HH:MM" in dialog_error(dialog))
        assert "Invalid schedule" in dialog_error(dialog)
        no_unexpected_error(app)
    assert await stored(url, col(Message.text) == "Later") == []


async def test_compose_with_a_future_schedule_stores_a_scheduled_message(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_compose(app, pilot)
        await type_numbers(pilot, dialog, LEA)
        dialog.query_one("#schedule", Input).value = "2099-06-01 09:30"  # TZ=UTC in these tests
        await type_message(pilot, dialog, "Later")
        await pilot.press("ctrl+s")
        await wait_screen(app, pilot, BannerScreen)
        await wait_until(
            pilot,
            lambda: any("1 SMS scheduled for 2099-06-01 09:30" in n for n in notifications(app)),
        )
        no_unexpected_error(app)
    [m] = await stored(url, col(Message.text) == "Later")
    assert (m.to_number, m.status, m.folder) == (LEA, "scheduled", "pending")
    assert m.scheduled_at is not None
    assert m.scheduled_at.replace(tzinfo=None).isoformat() == "2099-06-01T09:30:00"


async def test_compose_to_a_ticked_group_sends_to_its_members(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_compose(app, pilot)
        pick = dialog.query_one("#people-pick", SelectionList)
        await wait_until(pilot, lambda: pick.option_count == 7)  # 2 groups, 5 contacts
        prompts = [str(pick.get_option_at_index(i).prompt) for i in range(pick.option_count)]
        vip = prompts.index("Group: VIP (2)")
        pick.focus()
        await wait_until(pilot, lambda: pick.has_focus)
        pick.highlighted = vip
        await pilot.press("space")
        await wait_until(pilot, lambda: "2 recipients" in summary(dialog))
        assert "rejected" not in summary(dialog)
        await type_message(pilot, dialog, "VIP news")
        await pilot.press("ctrl+s")
        await wait_screen(app, pilot, ConfirmDialog, skip=frozenset({"send"}))
        await pilot.click("#confirm")
        await wait_screen(app, pilot, BannerScreen)
        await wait_until(pilot, lambda: any("2 SMS queued" in n for n in notifications(app)))
        no_unexpected_error(app)
    sent = await stored(url, col(Message.text) == "VIP news")
    assert sorted(m.to_number for m in sent) == [LEA, THOMAS]


async def test_a_send_to_several_the_balance_cannot_pay_sends_nothing(tmp_path: Path) -> None:
    async def poor(session: Any) -> None:
        await session.execute(sa.update(Account).values(credits=1))

    url = await demo_url(tmp_path, poor)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_compose(app, pilot)
        await type_numbers(pilot, dialog, f"{UNKNOWN_4}, {UNKNOWN_5}")
        await wait_until(pilot, lambda: "2 recipients" in summary(dialog))
        await type_message(pilot, dialog, "Hello both")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: (
                "Insufficient credits: 2 SMS need 2, 1 left: nothing is sent"
                in text_of(dialog.query_one("#dialog-error", Static))
            ),
        )
        assert app.screen is dialog
        no_unexpected_error(app)
    assert await stored(url, col(Message.text) == "Hello both") == []


async def test_f5_opens_the_compose_dialog_from_the_inbox_too(tmp_path: Path) -> None:
    url = await demo_url(tmp_path)
    app = app_for(url, READER)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(app, pilot)
        await pilot.press("f5")
        await wait_screen(app, pilot, ComposeDialog)
        assert dialog_title(app) == "Send SMS"
        await pilot.press("escape")
        await wait_screen(app, pilot, InboxScreen)
