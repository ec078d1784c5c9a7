"""An 80×24 terminal, for real (issue #23 item 13): ``bannertui demo`` in a pty of 80×24,
read through pyte.  The Banner, the editor, the New dialog and the help must be readable:
the footer's keys whole (none cut mid-word), a Keys hint in it, and no line cut.

(Not ``test_small_terminal.py``: tests/ui has a module of that name, and without packages
two test modules may not share a name.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pty_terminal import Terminal
from textual.binding import Binding, BindingType
from textual.keys import format_key

from bannertui.ui.app import BannerApp
from bannertui.ui.screens.banner import BannerScreen
from bannertui.ui.screens.confirm import ConfirmDialog
from bannertui.ui.screens.help import HelpScreen
from bannertui.ui.screens.new_interaction import NewInteractionDialog
from bannertui.ui.widgets.conversation import UNAVAILABLE

SIZE = (80, 24)
#: Long enough for the app to react to a key on a loaded 2-core CI machine.
REACT_S = 10.0
#: The command palette's key, docked at the right of a screen's footer.
PALETTE_EDGE = "▏"


def key_display(binding: Binding) -> str:
    """The key as Textual's footer shows it (``App.get_key_display``)."""
    if binding.key_display:
        return binding.key_display
    modifiers, key = binding.parse_key()
    key = format_key(key)
    if "ctrl" in modifiers:
        modifiers.remove("ctrl")
        key = f"^{key}"
    return "+".join([*modifiers, key])


def footer_items(*binding_lists: Iterable[BindingType]) -> set[str]:
    """Every "key description" a footer may show for these bindings."""
    return {
        f"{key_display(b)} {b.description}"
        for bindings in binding_lists
        for b in Binding.make_bindings(bindings)
        if b.show and b.description
    }


#: What the footers of these screens may show, whole.
ITEMS = footer_items(
    BannerApp.BINDINGS,
    BannerScreen.BINDINGS,
    NewInteractionDialog.BINDINGS,
    HelpScreen.BINDINGS,
    ConfirmDialog.BINDINGS,
)


def footer_problem(line: str) -> str | None:
    """None when the footer ``line`` is a row of whole items (left of the palette's key);
    else what is wrong, e.g. "cut: 'f4 In'"."""
    left = line.split(PALETTE_EDGE, 1)[0].rstrip()
    pos = 0
    while pos < len(left):
        if left[pos] == " ":
            pos += 1
            continue
        rest = left[pos:]
        whole = [item for item in ITEMS if rest.startswith(item)]
        whole = [item for item in whole if len(item) == len(rest) or rest[len(item)] == " "]
        if not whole:
            return f"cut or unknown: {rest!r}"
        pos += len(max(whole, key=len))
    return None


def footer_has_keys_hint(line: str) -> bool:
    return any(f"{key} Keys" in line for key in ("?", "f1"))


def joined(lines: list[str]) -> str:
    """The screen's words in one string: a text that wraps is found whole."""
    return " ".join(" ".join(lines).replace("│", " ").replace("█", " ").split())


def banner_with_conversation(term: Terminal) -> list[str]:
    with term.setting_up("alice's Banner with her conversation"):
        term.wait_ready()
        term.wait_for("Type the message…")
        return term.wait_settled(quiet=1.0)  # the thread and the pane's keys are there


def test_banner_lines_are_whole_and_the_footer_has_the_keys_hint(
    terminal: Callable[..., Terminal],
) -> None:
    """Failed before the fix: "Not available for SMS: Transfer · Private message" (the rest
    cut), and the footer ended "f8 Clos▏^p palette", no Keys hint."""
    term = terminal(agent="alice", size=SIZE)
    lines = banner_with_conversation(term)
    lines = term.wait_for(
        lambda lines: "Credits: 500" in lines[0] and "Léa Moreau" in lines[2],
        timeout=REACT_S,
        what="the agent bar and the list",
    )
    text = joined(lines)
    expected = "Not available for SMS: " + " · ".join(UNAVAILABLE)
    assert expected in text, term.report(f"{expected!r} is not whole")
    assert "New (n)" in lines[0], term.report("the agent bar is cut")
    assert footer_has_keys_hint(lines[-1]), term.report("no Keys hint in the footer")


def test_new_dialog_is_readable_at_80x24(terminal: Callable[..., Terminal]) -> None:
    """Failed before the fix: the routing radios both drew ● (colour alone told them apart)
    and the footer said "esc Cancel" alone."""
    term = terminal(agent="alice", size=SIZE)
    banner_with_conversation(term)
    term.type_burst("n")
    lines = term.wait_for("Continue ⏎", timeout=REACT_S, what="the New dialog")
    lines = term.wait_for(
        lambda lines: "Keys" in lines[-1] or "Cancel" in lines[-1],
        timeout=REACT_S,
        what="the dialog's footer",
    )
    text = joined(lines)
    for whole in (
        "New interaction",
        "Authorized: BE, CH, DE, ES, FR, GB",
        "Smart: a conversation in a queue",
        "Direct: a one-off SMS",
        "Continue ⏎",
        "Cancel esc",
    ):
        assert whole in text, term.report(f"{whole!r} is not whole")
    smart = next(ln for ln in lines if "Smart: a conversation" in ln)
    direct = next(ln for ln in lines if "Direct: a one-off SMS" in ln)
    assert "●" in smart, term.report("the chosen routing has no ● mark")
    assert "○" in direct, term.report("the other routing has no ○ mark")
    assert "●" not in direct, term.report("both routings are marked ●")
    problem = footer_problem(lines[-1])
    assert problem is None, term.report(f"the dialog's footer: {problem}")
    assert footer_has_keys_hint(lines[-1]), term.report("no Keys hint in the dialog's footer")


def _help_body_rows(term: Terminal) -> list[tuple[str, bool]]:
    """The help's visible rows inside its frame: (text, starts bold)."""
    cells = term.cells()
    rows: list[tuple[str, bool]] = []
    for y, row in enumerate(cells):
        text = "".join(c.data for c in row)
        inner = set(text[1:-1])
        if not text.startswith("█") or inner <= {"▀"} or inner <= {"▄"}:
            continue  # outside the dialog, or its top and bottom edges
        body = text[1:].rstrip().rstrip("█▄▇▆▅▃▂▁ ")
        if not body.strip():
            continue
        first = next(x for x, c in enumerate(cells[y][1:], 1) if c.data != " ")
        rows.append((body, cells[y][first].bold))
    return rows


def test_help_wraps_its_lines_under_the_description(terminal: Callable[..., Terminal]) -> None:
    term = terminal(agent="alice", size=SIZE)
    banner_with_conversation(term)
    term.press("f1")
    term.wait_for("Everywhere", timeout=REACT_S, what="the help")
    lines = term.wait_settled(quiet=0.5, timeout=REACT_S, what="the help")  # and its footer
    problem = footer_problem(lines[-1])
    assert problem is None, term.report(f"the help's footer: {problem}")
    rows = _help_body_rows(term)
    # In the body a row starts at the frame's padding only for a section's title (bold);
    # key rows and the lines a long description wraps to are indented.
    flush = [text for text, bold in rows if not text[1:].startswith(" ") and not bold]
    assert not flush, term.report(f"lines wrapped to the left edge: {flush}")


def test_footers_are_whole_on_the_banner_and_in_the_editor(
    terminal: Callable[..., Terminal],
) -> None:
    term = terminal(agent="alice", size=SIZE)
    banner_with_conversation(term)
    lines = term.wait_for(
        lambda lines: footer_has_keys_hint(lines[-1]), timeout=REACT_S, what="the footer"
    )
    problem = footer_problem(lines[-1])
    assert problem is None, term.report(f"the Banner's footer: {problem}")
    term.press("enter")  # into the conversation's editor
    term.type_burst("Hello")
    lines = term.wait_for("5 characters", timeout=REACT_S, what="the text in the editor")
    assert footer_has_keys_hint(lines[-1]), term.report("no Keys hint in the editor's footer")
    problem = footer_problem(lines[-1])
    assert problem is None, term.report(f"the editor's footer: {problem}")
