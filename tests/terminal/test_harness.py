"""The harness itself, and the one scenario that works today: start, see the Banner, quit."""

from __future__ import annotations

import os
import time

import pytest
from pty_terminal import KEYS, cpu_seconds, keys


def test_keys_are_xterm_sequences() -> None:
    assert KEYS["f1"] == b"\x1bOP"
    assert KEYS["f8"] == b"\x1b[19~"
    assert KEYS["f12"] == b"\x1b[24~"
    assert all(f"f{n}" in KEYS for n in range(1, 13))
    assert KEYS["ctrl+down"] == b"\x1b[1;5B"
    assert KEYS["ctrl+up"] == b"\x1b[1;5A"
    assert KEYS["shift+tab"] == b"\x1b[Z"
    assert (KEYS["enter"], KEYS["escape"]) == (b"\r", b"\x1b")
    assert (KEYS["ctrl+a"], KEYS["ctrl+q"], KEYS["ctrl+z"]) == (b"\x01", b"\x11", b"\x1a")
    assert keys("up", "up", "up") == b"\x1b[A" * 3


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_cpu_seconds_counts_this_process() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.monotonic() + 10
    while cpu_seconds(os.getpid()) - before < 0.05 and time.monotonic() < deadline:
        sum(range(10_000))  # burn some CPU
    assert cpu_seconds(os.getpid()) - before >= 0.05


def test_console_starts_shows_the_banner_and_quits_cleanly(terminal) -> None:
    """alice at 80×24: the agent bar and the interaction list; ctrl+q ends it with status 0
    and nothing but the app's own output (no traceback) on the terminal."""
    term = terminal(agent="alice", size=(80, 24))
    screen = "\n".join(term.wait_ready())
    assert "Alice Martin" in screen, term.report("no agent name in the agent bar")
    term.wait_for("Interactions")
    term.wait_for("Léa Moreau")  # alice's open conversation, in the list
    term.press("ctrl+q")
    assert term.wait_exit() == 0, term.report("ctrl+q")
    assert not term.is_alive()
    assert "Traceback" not in term.transcript(), term.report("a traceback on the terminal")


def test_close_kills_the_process_group(terminal) -> None:
    term = terminal(agent="alice")
    term.wait_ready()
    assert term.is_alive()
    term.close()
    assert not term.is_alive()
    assert term.exit_status == -9  # SIGKILL
    with pytest.raises(ProcessLookupError):
        os.killpg(term.pid, 0)  # nothing left in its group
