"""Keys as they really arrive (issue #23): bursts written in one go to the real console.

Each test reproduces a bug reported from real use; while the code had the bug it was marked
``xfail(strict=True)``, and the mark went with the fix (a test that starts passing under the
mark turns the run red: XPASS).  ``raises=AssertionError``: the scene is set
inside ``term.setting_up()`` (a failure there is a ``SetupError``), so a console that does not
start or reach the starting point, or a broken harness, fails for real.
"""

from __future__ import annotations

import contextlib

from pty_terminal import Terminal

from bannertui.services.inbox import View

#: Long enough for the app to react to a burst on a loaded 2-core CI machine.
REACT_S = 10.0


def test_quit_and_help_in_one_burst_leave_no_traceback(terminal) -> None:
    term = terminal(agent="bruno")
    term.wait_ready()
    term.type_burst("q?")
    # q quits and ? opens the help: either may win, but nothing may crash.
    term.wait_settled(timeout=REACT_S)
    if term.is_alive():
        with contextlib.suppress(OSError):  # it may be exiting right now
            term.press("ctrl+q")
    status = term.wait_exit()
    transcript = term.transcript()
    for sign in ("Traceback", "MountError", "Error:"):
        assert sign not in transcript, term.report(f"{sign!r} on the terminal")
    assert status == 0, term.report("exit status")


def _title_line(lines: list[str]) -> str:
    """The open conversation's title: "✉ Léa Moreau (+33612000001) · Support · progressing"."""
    titles = [ln[ln.rindex("✉ ") :].rstrip("│ ") for ln in lines if "✉ " in ln and " · " in ln]
    return titles[0] if titles else ""  # (the list's "✉ Léa Moreau" is left of it)


def test_prose_after_ctrl_down_goes_to_the_editor(terminal) -> None:
    prose = "Sure, Tuesday 10:00 works."
    term = terminal(agent="alice")
    with term.setting_up("alice's conversation, open"):
        term.wait_ready()
        title = _title_line(term.wait_for("Type the message…"))
        assert "Léa Moreau" in title, term.report("alice's conversation")
    term.press("ctrl+down")  # the conversation switch (alice has one: it stays selected)
    term.type_burst(prose)
    # (the counter follows the editor a moment later: both are waited for, on one screen)
    counter = f"{len(prose)} characters"
    lines = term.wait_for(
        lambda lines: any(prose in ln for ln in lines) and counter in "\n".join(lines),
        timeout=REACT_S,
        what=f"{prose!r} in the message editor, and its counter",
    )
    assert counter in "\n".join(lines), term.report("the credit counter")
    assert _title_line(lines) == title, term.report("another conversation is shown")
    assert term.is_alive(), term.report("the console quit")
    # A dialog or another screen brings its own footer: this one is still the Banner's.
    assert "^↓ Next" in lines[-1], term.report("another screen or a dialog is open")


#: The inbox's views, as the list shows them (short) and as the status line names them.
SHORT_TO_LABEL = {v.short: v.label for v in View}


def _highlighted_view(term: Terminal) -> str | None:
    """The view the list highlights: the one row of the list whose background differs."""
    cells = term.cells()
    rows = range(1, 1 + len(SHORT_TO_LABEL))
    backgrounds = {y: cells[y][3].bg for y in rows}
    odd = [y for y in rows if list(backgrounds.values()).count(backgrounds[y]) == 1]
    if len(odd) != 1:
        return None
    text = "".join(c.data for c in cells[odd[0]][1:24]).strip("│ ")
    return next((s for s in SHORT_TO_LABEL if text.startswith(s)), None)


def test_views_settle_after_a_burst_of_up_keys(terminal) -> None:
    term = terminal(agent="alice")
    with term.setting_up("the inbox, its views focused"):
        term.wait_ready()
        term.press("f4")
        term.wait_for(lambda lines: "All communications ·" in lines[0], what="the first page")
        term.wait_for(lambda lines: lines[1].split("│")[1].split() == ["All", "6"], what="counts")
        term.press("shift+tab")  # from the table to the views
        term.wait_settled(quiet=0.5)
    # The inbox at rest is not free (~10-13% of a core here: its and the Banner's change
    # checks every 0.25 s); "back to idle" is measured against that, the bug is at 65-90%.
    at_rest = term.cpu_percent(interval=2.0)
    term.press("up", "up", "up")
    term.wait_settled(quiet=1.0, timeout=REACT_S, what="the inbox after Up Up Up")
    term.assert_idle(max_percent=max(5.0, min(2 * at_rest, 30.0)), interval=2.0)
    shown = _highlighted_view(term)
    assert shown is not None, term.report("no single highlighted view")
    status = term.screen_text()[0].split("╮", 1)[-1].strip()  # right of the views' box
    assert status.startswith(SHORT_TO_LABEL[shown]), term.report(
        f"the list highlights {shown!r}, the table shows another view"
    )
