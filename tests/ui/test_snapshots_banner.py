"""Snapshots of the Banner's main screens and dialogs (fixed demo data, fixed clock, UTC).

Each test drives the app with ``run_before`` (keys first, values only where a key cannot do
it), lets it settle, then compares the screen with ``__snapshots__/test_snapshots_banner/``.
Besides the picture, each test asserts what the picture is meant to show, so an update that
records a wrong screen fails anyway.

Settling (``bannertui.testing.settle``) makes the screens reproducible:

* it waits for the workers (except ``start_new``, which waits on the dialog it opened), then
  lets more than one change-poll tick pass (the Banner reloads ≤ 0.25 s after a write such as
  "mark read"), until two screenshots in a row are identical;
* cursor blink is switched off on every TextArea and Input (Textual 8 blinks in tests too:
  a 0.5 s timer could catch the cursor hidden);
* it calls ``screen.refresh_bindings()``: the Banner does not refresh its footer when a pane
  is mounted or removed (its ``check_action`` depends on the pane), so without it the footer
  shows the pane keys or not depending on timing.  With the refresh the footer is the one
  the app means to show.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, RadioButton, Static, TextArea

from bannertui.domain.enums import (
    Direction,
    InteractionStatus,
    MessageStatus,
    MessageType,
    folder_for,
)
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import Interaction, Message
from bannertui.testing import (
    DEMO_NOW,
    app_for,
    demo_app,
    prepare_demo_database,
    settle,
    wait_for_screen,
    wait_until,
)

#: Workers that legitimately wait on a dialog (``push_screen_wait``): never waited for.
_WAITING_ON_A_DIALOG = frozenset({"start_new"})
#: Longer than the Banner's change poll (0.25 s): a reload after a write has happened.
_QUIET = 0.3
NUMBER = "+33 6 12 00 00 08"


# --- helpers -------------------------------------------------------------------------------


async def _settle(pilot: Pilot[Any]) -> None:
    await settle(pilot, skip=_WAITING_ON_A_DIALOG, quiet=_QUIET)


async def _wait_for_screen(pilot: Pilot[Any], name: str) -> None:
    await wait_for_screen(pilot, name, skip=_WAITING_ON_A_DIALOG)


def _text(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


class Seen:
    """What ``run_before`` saw, asserted after the comparison (the app is gone by then)."""

    def __init__(self) -> None:
        self.facts: dict[str, Any] = {}


# --- database set-ups (before the app starts) ----------------------------------------------


def _alice_conversation() -> Any:
    return sa.select(Interaction).where(
        Interaction.agent_id == 1,
        Interaction.status == InteractionStatus.PROGRESSING,
        Interaction.channel == "sms",
    )


async def _add_outcomes(url: str) -> None:
    """Alice's Support conversation gets more of a history: a failed send with its reason, a
    retried one, one still at "sent", and the customer's answer."""
    db = Database(url)
    try:
        async with db.write() as session:
            inter = await session.scalar(_alice_conversation())
            assert inter is not None
            assert inter.local_number is not None
            local, remote = inter.local_number, inter.remote_number

            def msg(
                minutes_ago: int,
                direction: Direction,
                text: str,
                status: MessageStatus,
                error: str | None = None,
                attempts: int = 1,
            ) -> Message:
                at = DEMO_NOW - timedelta(minutes=minutes_ago)
                inbound = direction is Direction.INBOUND
                return Message(
                    interaction_id=inter.id,
                    agent_id=inter.agent_id,
                    queue_id=inter.queue_id,
                    direction=direction,
                    from_number=remote if inbound else local,
                    to_number=local if inbound else remote,
                    remote_number=remote,
                    text=text,
                    encoding="GSM-7",
                    credits=0 if inbound else 1,
                    type=MessageType.NOTIFICATION,
                    sender=None if inbound else local,
                    status=status,
                    folder=folder_for(direction, status),
                    error=error,
                    attempts=0 if inbound else attempts,
                    created_at=at,
                )

            session.add_all(
                [
                    msg(
                        30,
                        Direction.OUTBOUND,
                        "The carrier says it left the depot this morning.",
                        MessageStatus.FAILED,
                        error="Recipient handset unreachable",
                        attempts=3,
                    ),
                    msg(
                        25,
                        Direction.OUTBOUND,
                        "Sorry, trying again: your parcel left the depot this morning.",
                        MessageStatus.SENT,
                    ),
                    msg(20, Direction.INBOUND, "Got it, thanks.", MessageStatus.RECEIVED),
                    msg(
                        10,
                        Direction.OUTBOUND,
                        "Tracking number: FR-55 201 448.",
                        MessageStatus.PENDING,
                        error="Provider timeout",
                        attempts=1,
                    ),
                ]
            )
            inter.last_message_at = DEMO_NOW - timedelta(minutes=10)
            inter.unread = 0
    finally:
        await db.dispose()


async def _add_call(url: str) -> None:
    """A call from +33 6 12 00 00 07 to alice, started 5 minutes before the demo instant."""
    db = Database(url)
    try:
        services = Services(db, clock=lambda: DEMO_NOW - timedelta(minutes=5))
        await services.voice.incoming_call("+33 6 12 00 00 07", "alice")
    finally:
        await db.dispose()


# --- the snapshots -------------------------------------------------------------------------


def test_main_screen_conversation_open_80x24(snap_compare, tmp_path: Path) -> None:
    seen = Seen()

    async def run_before(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("enter")  # open the highlighted conversation: focus its editor
        await _settle(pilot)
        seen.facts["agent"] = _text(pilot, "#agent-info")
        seen.facts["thread"] = _text(pilot, "#thread-body")
        seen.facts["focused"] = pilot.app.focused.id if pilot.app.focused else None

    assert snap_compare(demo_app(tmp_path, "alice"), terminal_size=(80, 24), run_before=run_before)
    assert "Alice Martin" in seen.facts["agent"]
    assert "my order #4521 has not arrived yet" in seen.facts["thread"]
    assert seen.facts["focused"] == "message-text"


def test_new_dialog_number_typed_80x24(snap_compare, tmp_path: Path) -> None:
    seen = Seen()

    async def run_before(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("n")
        await _wait_for_screen(pilot, "NewInteractionDialog")
        await pilot.press(*NUMBER)
        await _settle(pilot)
        seen.facts["value"] = pilot.app.screen.query_one("#recipient", Input).value
        seen.facts["hint"] = _text(pilot, "#recipient-hint")

    assert snap_compare(demo_app(tmp_path, "alice"), terminal_size=(80, 24), run_before=run_before)
    assert seen.facts["value"] == NUMBER
    assert "France" in seen.facts["hint"]
    assert "Invalid" not in seen.facts["hint"]


def test_direct_form_unicode_warning_80x24(snap_compare, tmp_path: Path) -> None:
    seen = Seen()
    text = "Votre reçu est prêt."

    async def run_before(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("n")
        await _wait_for_screen(pilot, "NewInteractionDialog")
        await pilot.press(*NUMBER)
        await pilot.press("tab")  # the routing choice
        await pilot.press("down")  # "Direct: a one-off SMS" (the mark follows the arrow)
        direct = pilot.app.screen.query_one("#route-direct", RadioButton)
        await wait_until(pilot, lambda: direct.value)
        assert direct.value
        await pilot.press("enter")  # continue, from any field
        await _wait_for_screen(pilot, "DirectSmsDialog")
        await pilot.press(*text)
        await _settle(pilot)
        seen.facts["counter"] = _text(pilot, "#credit-counter")
        seen.facts["send_disabled"] = pilot.app.screen.query_one("#send", Button).disabled

    assert snap_compare(demo_app(tmp_path, "alice"), terminal_size=(80, 24), run_before=run_before)
    assert "⚠ Unicode" in seen.facts["counter"]
    assert "ç ê" in seen.facts["counter"]
    assert seen.facts["send_disabled"] is False


def test_smart_conversation_over_limit_80x24(snap_compare, tmp_path: Path) -> None:
    seen = Seen()

    async def run_before(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("enter")  # into the conversation's editor
        await _settle(pilot)
        area = pilot.app.screen.query_one("#message-text", TextArea)
        # 1,224 characters set at once (the editor's own path for templates), then the
        # 1,225th typed: the counter turns to the error and Send is disabled.
        area.load_text("a" * 1224)
        area.move_cursor(area.document.end)
        await pilot.press("a")
        await _settle(pilot)
        seen.facts["length"] = len(area.text)
        seen.facts["counter"] = _text(pilot, "#credit-counter")
        seen.facts["send_disabled"] = pilot.app.screen.query_one("#send", Button).disabled

    assert snap_compare(demo_app(tmp_path, "alice"), terminal_size=(80, 24), run_before=run_before)
    assert seen.facts["length"] == 1225
    assert "Credit limit exceeded" in seen.facts["counter"]
    assert seen.facts["send_disabled"] is True


def test_conversation_with_failed_message_100x30(snap_compare, tmp_path: Path) -> None:
    url = prepare_demo_database(tmp_path)
    asyncio.run(_add_outcomes(url))
    seen = Seen()

    async def run_before(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        seen.facts["thread"] = _text(pilot, "#thread-body")

    assert snap_compare(app_for(url, "alice"), terminal_size=(100, 30), run_before=run_before)
    thread = seen.facts["thread"]
    assert "failed: Recipient handset unreachable" in thread
    assert "retrying: Provider timeout" in thread
    assert "my order #4521 has not arrived yet" in thread


def test_voice_pane_80x24(snap_compare, tmp_path: Path) -> None:
    url = prepare_demo_database(tmp_path)
    asyncio.run(_add_call(url))
    seen = Seen()

    async def run_before(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        lst = pilot.app.screen.query_one("#interactions", OptionList)
        assert lst.option_count == 2
        await pilot.press("down")  # the call, below the Support conversation
        await _settle(pilot)
        seen.facts["caller"] = _text(pilot, "#caller")

    assert snap_compare(app_for(url, "alice"), terminal_size=(80, 24), run_before=run_before)
    assert "Call in progress" in seen.facts["caller"]
    assert "+33612000007" in seen.facts["caller"]
    assert "Since 09:55" in seen.facts["caller"]
