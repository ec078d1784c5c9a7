"""Drafts, the guarded close and fields typed in one go, in the real console (issue #23
items 3, 4 and 10): what the pilot's per-key pauses hid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pty_terminal import Terminal, keys

#: Long enough for the app to react to a burst on a loaded 2-core CI machine.
REACT_S = 10.0
SIZE = (120, 40)
SECOND = "+33612000008"
DRAFT = "Draft: your parcel leaves Tuesday, 10:00 — ok?"


def _title(lines: list[str]) -> str:
    """The open conversation's title ("✉ Léa Moreau (+33612000001) · Support · …")."""
    titles = [ln[ln.rindex("✉ ") :].rstrip("│ ") for ln in lines if "✉ " in ln and " · " in ln]
    return titles[0] if titles else ""


def _with(text: str) -> Callable[[list[str]], bool]:
    return lambda lines: any(text in ln for ln in lines)


def _open_second(term: Terminal) -> None:
    """alice's Banner, then a Smart conversation with SECOND (n, the number, enter)."""
    with term.setting_up("alice's second conversation, open"):
        term.wait_ready()
        term.wait_for("Type the message…")
        term.type_burst("n")
        term.wait_for("New interaction")
        term.type_burst(SECOND)
        term.press("enter")
        term.wait_for(
            lambda lines: SECOND in _title(lines) and any("Type the message…" in ln for ln in lines)
        )
        term.wait_settled(quiet=0.5)


def test_a_draft_survives_a_switch_and_a_restart(
    terminal: Callable[..., Terminal], tmp_path: Path
) -> None:
    term = terminal(agent="alice", size=SIZE)
    _open_second(term)
    term.type_burst(DRAFT)
    term.wait_for(_with(DRAFT), timeout=REACT_S, what="the draft in the editor")
    # Away and back in one burst: the pane is replaced twice.
    term.type_burst(keys("ctrl+up", "ctrl+down"))
    lines = term.wait_for(
        lambda lines: SECOND in _title(lines) and any(DRAFT in ln for ln in lines),
        timeout=REACT_S,
        what="the second conversation again, with its draft",
    )
    assert term.is_alive(), term.report("the console quit")
    term.press("ctrl+q")
    assert term.wait_exit() == 0, term.report("exit status")
    # The same data directory: the same database.
    again = Terminal(tmp_path / "console-0", "alice", SIZE)
    try:
        again.wait_ready()
        again.wait_for("Type the message…")
        shown = again.wait_for(
            lambda lines: bool(_title(lines)) and any(" characters · " in ln for ln in lines),
            timeout=REACT_S,
            what="a conversation, with its editor",
        )
        if SECOND not in _title(shown):
            again.press("ctrl+down")  # alice has two: the other one
        lines = again.wait_for(
            lambda lines: SECOND in _title(lines) and any(DRAFT in ln for ln in lines),
            timeout=REACT_S,
            what="the draft after a restart",
        )
        assert f"{len(DRAFT)} characters" in "\n".join(lines), again.report("the counter")
    finally:
        print(again.report("at teardown"))
        again.close()


def test_f8_asks_and_letters_typed_then_do_not_answer(terminal: Callable[..., Terminal]) -> None:
    """One key closed a customer's conversation (item 4).  Now F8 asks, naming them, and
    the letters typed on (the agent had not seen the question) answer nothing."""
    term = terminal(agent="alice", size=SIZE)
    with term.setting_up("alice's conversation, open"):
        term.wait_ready()
        title = _title(term.wait_for("Type the message…"))
        assert "Léa Moreau" in title
    term.press("enter")  # into the editor
    term.type_burst(b"Hi" + keys("f8") + b"yes, sure")
    lines = term.wait_for(
        _with("Close the conversation with Léa Moreau?"), timeout=REACT_S, what="the question"
    )
    # "Hi" reached the editor before F8 was read: the question warns about it.
    assert "Your unsent text is discarded." in " ".join(ln.strip("│█ ") for ln in lines), (
        term.report("F8 was read before the text typed ahead of it")
    )
    term.wait_settled(quiet=0.5, timeout=REACT_S)
    assert any("Close interaction" in ln for ln in term.screen_text()), term.report(
        "a letter answered the question"
    )
    term.press("escape")
    lines = term.wait_for(
        lambda lines: not any("Close interaction" in ln for ln in lines),
        timeout=REACT_S,
        what="the question gone",
    )
    assert _title(lines) == title, term.report("the conversation is still open")


def test_fields_typed_in_one_burst_across_tab(terminal: Callable[..., Terminal]) -> None:
    """Keys written in one go after Tab went into the field being left (item 10)."""
    term = terminal(agent="alice", size=SIZE)
    with term.setting_up("Send SMS (F5)"):
        term.wait_ready()
        term.wait_for("Type the message…")
        term.press("f5")
        term.wait_for("Send at")
        term.wait_settled(quiet=0.5)
    term.type_burst(b"+33612345678" + keys("tab") + b"Zoe" + keys("backspace") + b"\xc3\xa9")
    lines = term.wait_for(_with("Zoé"), timeout=REACT_S, what="the contact search")
    to = next((ln for ln in lines if " To " in ln or ln.lstrip("│ ").startswith("To")), "")
    assert "+33612345678" in to, term.report("the To field")
    assert "Zo" not in to, term.report("letters typed after Tab in the To field")
    contacts = next(ln for ln in lines if "Zoé" in ln)
    assert "Contacts" in contacts, term.report("Zoé is not in the Contacts field")
