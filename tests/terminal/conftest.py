"""The real-terminal layer (issue #23): ``bannertui demo`` in a pseudo-terminal, read through
a VT100 emulator, keys written in bursts.  The harness is :mod:`pty_terminal`.

Every test in this folder is marked ``terminal`` (``pytest -m "not terminal"`` leaves them
out) and is skipped, with the reason, where there are no pseudo-terminals (Windows).

    def test_something(terminal):
        term = terminal(agent="alice", size=(120, 40))   # a started Terminal
        term.wait_ready()                                 # "Credits:" on screen
        ...

Each console gets its own temporary directory (``BANNERTUI_DATA_DIR`` and a missing
``BANNERTUI_CONFIG`` inside it: ``bannertui demo`` creates and seeds its database there).  At
teardown, pass or fail, every console's process group is killed; the screen of each is
printed, so a failing test's captured output shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pty_terminal import HAVE_PTY, Terminal

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.terminal)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    """A factory: ``terminal(agent="alice", size=(120, 40), args=None)`` starts
    ``bannertui demo --agent AGENT`` (or ``bannertui *args``) in a pty of (columns, lines)."""
    if not HAVE_PTY:
        pytest.skip("no pseudo-terminals on this platform (ptyprocess needs POSIX)")
    started: list[Terminal] = []

    def start(
        agent: str = "alice", size: tuple[int, int] = (120, 40), args: list[str] | None = None
    ) -> Terminal:
        root = tmp_path / f"console-{len(started)}"
        root.mkdir()
        term = Terminal(root, agent, size, args=args)
        started.append(term)
        return term

    try:
        yield start
    finally:
        for term in started:
            try:
                print(term.report("at teardown"))
            finally:
                term.close()
