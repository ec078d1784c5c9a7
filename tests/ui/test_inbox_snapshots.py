"""Snapshots of the inbox, the compose dialog and the People screen at 80x24 (fixed demo data,
fixed clock, UTC: see conftest.py).

Each test drives the app with ``run_before``, lets it settle, then compares the screen with
``__snapshots__/test_inbox_snapshots/``.  Besides the picture, each test asserts what the
picture is meant to show, so an update that records a wrong screen fails anyway.

Settling waits for the workers, lets more than one change-poll tick pass (the inbox polls
every 0.5 s and reloads after its own writes), switches the cursor blink off on every Input
and TextArea, and repeats until two screenshots in a row are identical.
"""

from __future__ import annotations

import re
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, TextArea

from bannertui.testing import demo_app, settle, wait_for_screen

SIZE = (80, 24)
#: Longer than the inbox's change poll (0.5 s).
_QUIET = 0.6
LEA = "+33612000001"
LANDLINE = "+33140000000"


async def _settle(pilot: Pilot[Any]) -> None:
    await settle(pilot, quiet=_QUIET)


def _screen_text(pilot: Pilot[Any]) -> str:
    """The current screen's characters, line by line (the SVG screenshot escapes spaces)."""
    strips = pilot.app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def _text(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


class Seen:
    """What ``run_before`` saw, asserted after the comparison (the app is gone by then)."""

    def __init__(self) -> None:
        self.facts: dict[str, Any] = {}


def test_inbox_all_view_80x24(snap_compare, tmp_path) -> None:
    seen = Seen()

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for_screen(pilot, "BannerScreen")
        await _settle(pilot)
        await pilot.press("f4")
        await wait_for_screen(pilot, "InboxScreen")
        await _settle(pilot)
        table = pilot.app.screen.query_one("#messages", DataTable)
        seen.facts["rows"] = table.row_count
        seen.facts["status"] = _text(pilot, "#inbox-status")
        seen.facts["screen"] = _screen_text(pilot)

    # an administrator: the whole account's inbox (an agent sees their scope only)
    assert snap_compare(demo_app(tmp_path, "admin"), terminal_size=SIZE, run_before=run_before)
    assert seen.facts["rows"] == 8
    assert "All communications · 1–8 of 8" in seen.facts["status"]
    shot = seen.facts["screen"]
    for label, count in (
        ("All", 8),
        ("Received", 4),
        ("Sent", 3),
        ("Failed", 1),
        ("Pending", 0),
        ("Deleted", 0),
    ):
        assert re.search(rf"{label} +{count} ", shot), label
    assert "Léa Moreau" in shot
    assert "+33612000004" in shot
    assert "failed" in shot  # the delivery state is on screen at 80×24


def test_compose_dialog_with_a_rejected_recipient_80x24(snap_compare, tmp_path) -> None:
    seen = Seen()

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for_screen(pilot, "BannerScreen")
        await _settle(pilot)
        await pilot.press("f5")
        await wait_for_screen(pilot, "ComposeDialog")
        numbers = pilot.app.screen.query_one("#numbers", Input)
        numbers.focus()
        text = f"{LEA}, {LANDLINE}"
        numbers.value = text[:-1]
        numbers.cursor_position = len(numbers.value)
        await pilot.press(text[-1])
        # The text is set, not typed: the focus stays in the To field.  (A focused TextArea
        # with its blink switched off may or may not draw its cursor, from a cached line.)
        pilot.app.screen.query_one("#message-text", TextArea).load_text("Your order is ready")
        await _settle(pilot)
        seen.facts["summary"] = _text(pilot, "#recipients-summary")
        seen.facts["screen"] = _screen_text(pilot)

    assert snap_compare(demo_app(tmp_path, "alice"), terminal_size=SIZE, run_before=run_before)
    assert "1 recipient" in seen.facts["summary"]
    assert f"rejected: {LANDLINE}: Invalid number" in seen.facts["summary"]
    shot = seen.facts["screen"]
    assert "Send SMS" in shot
    assert "Your order is ready" in shot
    assert "Send ^S" in shot  # the buttons fit in 24 lines


def test_people_screen_80x24(snap_compare, tmp_path) -> None:
    seen = Seen()

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for_screen(pilot, "BannerScreen")
        await _settle(pilot)
        await pilot.press("f6")
        await wait_for_screen(pilot, "PeopleScreen")
        await _settle(pilot)
        seen.facts["rows"] = pilot.app.screen.query_one("#contacts", DataTable).row_count
        seen.facts["screen"] = _screen_text(pilot)

    assert snap_compare(demo_app(tmp_path, "alice"), terminal_size=SIZE, run_before=run_before)
    assert seen.facts["rows"] == 5
    shot = seen.facts["screen"]
    for text in ("All contacts", "Newsletter (3)", "VIP (2)", "5 contacts", "Thomas Bernard"):
        assert text in shot
