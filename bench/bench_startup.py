"""How long from the command to the first Banner with its data, against a bare Textual app?
(issue #18)

Both run in a real pseudo-terminal of 120×40 read through a VT100 emulator
(``tests/terminal/pty_terminal.py``), started alternately (bare, console, console, bare, …) so
that the machine's load falls on both alike:

* the console: ``bannertui demo --agent alice`` on a demo data directory made by one start
  before the measured ones (so the database exists, as on every start but the first); ready
  when the screen shows the agent bar's balance (``Credits:``) and alice's first
  conversation in the list (``Léa Moreau``): the Banner with its data;
* the bare app: a Textual app of a Header, a Static, an Input and a Footer (this file's
  ``BARE_APP``) started by the same Python; ready when its Static's text is on screen.

A time is from just before the process is spawned to the read of the output that made the
screen ready (``Terminal.time_until``).  RSS is the process's resident memory
(``/proc/PID/status`` VmRSS) when ready.  Each start is stopped with ctrl+q.

Target: the console's median ≤ 2× the bare app's median (``--runs`` starts of each, 10).

Run: ``.venv/bin/python bench/bench_startup.py [--runs N]``.  Prints each start, the medians,
their ratio and the RSS of both; exit 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "terminal"))

from pty_terminal import HAVE_PTY, KEYS, Terminal

from _report import print_summary, progress

SIZE = (120, 40)
TARGET_RATIO = 2.0
BARE_READY = "bare app ready"
CONSOLE_READY = ("Credits:", "Léa Moreau")

BARE_APP = textwrap.dedent(
    f'''
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Input, Static


    class Bare(App[None]):
        BINDINGS = [("ctrl+q", "quit", "Quit")]

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("{BARE_READY}")
            yield Input(placeholder="Type here")
            yield Footer()


    Bare().run()
    '''
)


@dataclass
class Start:
    seconds: float
    rss_mb: float


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_once(root: Path, command: list[str] | None, ready: tuple[str, ...]) -> Start:
    term = Terminal(root, agent="alice", size=SIZE, command=command)
    try:
        began = term.started_at
        at = term.time_until(lambda lines: all(any(r in ln for ln in lines) for r in ready))
        memory = rss_mb(term.pid)
        term.type_burst(KEYS["ctrl+q"])
        term.wait_exit()
        return Start(at - began, memory)
    finally:
        term.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="starts of each (default 10)")
    args = parser.parse_args()
    if not HAVE_PTY:
        print("bench_startup: no pseudo-terminals here; nothing measured")
        return 0
    with tempfile.TemporaryDirectory(prefix="bannertui-startup-") as tmp:
        root = Path(tmp)
        bare = root / "bare_app.py"
        bare.write_text(BARE_APP, encoding="utf-8")
        bare_cmd = [sys.executable, str(bare)]
        progress("first start of the demo (creates its database; not measured)")
        start_once(root, None, CONSOLE_READY)
        start_once(root, bare_cmd, (BARE_READY,))
        consoles: list[Start] = []
        bares: list[Start] = []
        for k in range(args.runs):
            order = [("bare", bare_cmd), ("console", None)]
            if k % 2:
                order.reverse()
            for name, cmd in order:
                if name == "bare":
                    s = start_once(root, cmd, (BARE_READY,))
                    bares.append(s)
                else:
                    s = start_once(root, cmd, CONSOLE_READY)
                    consoles.append(s)
                ms, mb = s.seconds * 1000, s.rss_mb
                progress(f"  run {k + 1}/{args.runs} {name:7} {ms:6.0f} ms, RSS {mb:.0f} MB")
    console_med = statistics.median(s.seconds for s in consoles)
    bare_med = statistics.median(s.seconds for s in bares)
    ratio = console_med / bare_med
    console_rss = statistics.median(s.rss_mb for s in consoles)
    bare_rss = statistics.median(s.rss_mb for s in bares)
    print(f"start-up, command to first screen with its data, {args.runs} starts each, interleaved")
    print(
        f"  console (bannertui demo): median {console_med * 1000:.0f} ms "
        f"(min {min(s.seconds for s in consoles) * 1000:.0f}, "
        f"max {max(s.seconds for s in consoles) * 1000:.0f}), RSS {console_rss:.0f} MB"
    )
    print(
        f"  bare Textual app:         median {bare_med * 1000:.0f} ms "
        f"(min {min(s.seconds for s in bares) * 1000:.0f}, "
        f"max {max(s.seconds for s in bares) * 1000:.0f}), RSS {bare_rss:.0f} MB"
    )
    print()
    print_summary(
        [
            (
                "start-up ratio console / bare app (medians)",
                f"{ratio:.2f}",
                f"<= {TARGET_RATIO:g}",
                "PASS" if ratio <= TARGET_RATIO else "FAIL",
            ),
            ("console RSS / bare app RSS", f"{console_rss / bare_rss:.2f}", "-", "-"),
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
