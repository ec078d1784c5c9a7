"""A real terminal for end-to-end tests: ``bannertui demo`` in a pseudo-terminal, read through
a VT100 emulator.

The Textual pilot delivers one key at a time and lets the app settle in between, which hides
the bugs a fast typist, a paste or a key-repeat finds.  Here the real console script runs in a
pty of a fixed size (``ptyprocess``); a reader thread feeds everything it writes into a
``pyte`` screen; keys are written to the pty as bytes, a whole burst in one ``os.write``, so
the app's input thread may read them in one go, as it does from a real keyboard.

    term = Terminal(tmp_path, agent="alice", size=(120, 40))   # (columns, lines); started
    with term.setting_up():                    # failures here: SetupError, not the bug
        term.wait_ready()                      # "Credits:" on the Banner
        term.wait_for("Type the message…")     # polls the screen, never a fixed sleep
    term.type_burst(KEYS["ctrl+down"] + b"hello")
    term.wait_settled()                        # the screen stopped changing
    term.assert_idle()                         # and the process uses (almost) no CPU
    term.type_burst(KEYS["ctrl+q"])
    assert term.wait_exit() == 0
    assert "Traceback" not in term.transcript()
    term.close()                               # kills the process group (the fixture does it)

``screen_text()`` is the text, ``cells()`` the characters with their colours (a highlight),
``transcript()`` everything the process wrote, ``report(what)`` all that for a message.
Every wait has a generous timeout (the tests run on a loaded 2-core CI machine) and fails with
the screen and the end of the transcript in its message.  POSIX only: :data:`HAVE_PTY` is
false elsewhere and the ``terminal`` fixture skips.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pyte
from pyte.screens import Char

try:  # POSIX only: ptyprocess imports termios and pty.
    from ptyprocess import PtyProcess

    HAVE_PTY = hasattr(os, "openpty") and sys.platform != "win32"
except ImportError:  # pragma: no cover - Windows
    PtyProcess = None  # type: ignore[assignment,misc]
    HAVE_PTY = False

#: The installed console script of this virtual environment.
BIN = Path(sys.executable).with_name("bannertui")

#: Generous default for every wait: CI is a loaded 2-core machine.
TIMEOUT_S = 30.0

#: Key sequences as an xterm sends them (TERM=xterm-256color, normal cursor-key mode).  A
#: lone ESC followed at once by more keys in the same burst reads as alt+<key>, as on a real
#: terminal: send "escape" in a burst of its own.
KEYS: dict[str, bytes] = {
    "enter": b"\r",
    "escape": b"\x1b",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "backspace": b"\x7f",
    "space": b" ",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "insert": b"\x1b[2~",
    "delete": b"\x1b[3~",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "ctrl+up": b"\x1b[1;5A",
    "ctrl+down": b"\x1b[1;5B",
    "ctrl+right": b"\x1b[1;5C",
    "ctrl+left": b"\x1b[1;5D",
    "shift+up": b"\x1b[1;2A",
    "shift+down": b"\x1b[1;2B",
    "f1": b"\x1bOP",
    "f2": b"\x1bOQ",
    "f3": b"\x1bOR",
    "f4": b"\x1bOS",
    "f5": b"\x1b[15~",
    "f6": b"\x1b[17~",
    "f7": b"\x1b[18~",
    "f8": b"\x1b[19~",
    "f9": b"\x1b[20~",
    "f10": b"\x1b[21~",
    "f11": b"\x1b[23~",
    "f12": b"\x1b[24~",
}
# ctrl+a ... ctrl+z are the C0 codes 0x01 ... 0x1a (ctrl+i is tab, ctrl+m is enter).
KEYS.update({f"ctrl+{chr(c)}": bytes([c - ord("a") + 1]) for c in range(ord("a"), ord("z") + 1)})

_ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")

#: On the Banner once it has loaded its agent (the balance is in the agent bar).
BANNER_READY = "Credits:"

Condition = str | Callable[[list[str]], bool]


class SetupError(RuntimeError):
    """The console did not start, or did not reach the state a test starts from (see
    :meth:`Terminal.setting_up`).  Not an AssertionError: a test marked
    ``xfail(raises=AssertionError)`` for a bug fails for real when its scene cannot be set."""


def keys(*names: str) -> bytes:
    """The bytes of several named keys, e.g. ``keys("up", "up", "up")``, for one burst."""
    return b"".join(KEYS[name] for name in names)


def terminal_env(root: Path, columns: int, lines: int, **extra: str) -> dict[str, str]:
    """The caller's environment without any ``BANNERTUI_*`` or ``TEXTUAL*`` variable, with the
    data directory and the (missing) config file inside ``root`` and an xterm of that size."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BANNERTUI_", "TEXTUAL")) and k not in ("NO_COLOR", "COLUMNS", "LINES")
    }
    env.update(
        BANNERTUI_DATA_DIR=str(root / "data"),
        BANNERTUI_CONFIG=str(root / "no-such-dir" / "config.toml"),
        TERM="xterm-256color",
        COLUMNS=str(columns),
        LINES=str(lines),
    )
    env.update(extra)
    return env


def demo_database_url(root: Path) -> str:
    """The database ``bannertui demo`` opens in a :class:`Terminal` started in ``root`` (its
    data directory, see :func:`terminal_env`).  To start the console on prepared data, create
    it before the console starts (e.g. ``bannertui.testing.prepare_demo_database_async``, then
    any writes through ``Services``): the console seeds only an empty database."""
    return f"sqlite+aiosqlite:///{root / 'data' / 'demo.sqlite3'}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    # Fields after the command name (which may hold spaces), which ends at the last ")".
    fields = stat[stat.rindex(b")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


class Terminal:
    """``bannertui demo --agent AGENT`` (or ``bannertui ARGS``, or any ``command``) in a pty of
    ``size`` = (columns, lines), started at once.  See the module docstring for a tour."""

    def __init__(
        self,
        root: Path,
        agent: str = "alice",
        size: tuple[int, int] = (120, 40),
        *,
        args: list[str] | None = None,
        env: Mapping[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        if not HAVE_PTY:
            raise RuntimeError("no pseudo-terminals on this platform")
        self.columns, self.lines = size
        self.argv = command or [
            str(BIN),
            *(args if args is not None else ["demo", "--agent", agent]),
        ]
        self._screen = pyte.Screen(self.columns, self.lines)
        self._stream = pyte.ByteStream(self._screen)
        self._raw = bytearray()
        self._lock = threading.Lock()
        self._eof = threading.Event()
        self._closing = threading.Event()
        self._reader_error: Exception | None = None
        #: One (time.monotonic() as the read returned, bytes read so far) per read of the
        #: process's output: when what is on screen arrived (see :meth:`time_until`).
        self._arrivals: list[tuple[float, int]] = []
        self.started_at = time.monotonic()
        self.proc = PtyProcess.spawn(
            self.argv,
            cwd=str(root),
            env=dict(env) if env is not None else terminal_env(root, self.columns, self.lines),
            dimensions=(self.lines, self.columns),
            echo=False,
        )
        self.pid: int = self.proc.pid
        self._reader = threading.Thread(target=self._read, name=f"pty-{self.pid}", daemon=True)
        self._reader.start()

    # --- output ----------------------------------------------------------------------------

    def _read(self) -> None:
        fd = self.proc.fd
        try:
            while not self._closing.is_set():
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: every copy of the slave side is closed
                    break
                if not data:
                    break
                arrived = time.monotonic()
                with self._lock:
                    self._raw += data
                    self._stream.feed(data)
                    self._arrivals.append((arrived, len(self._raw)))
        except Exception as e:  # shown by report(): a dead reader is a frozen screen
            self._reader_error = e
        finally:
            self._eof.set()

    def screen_text(self) -> list[str]:
        """The screen now, one string per line (padded with spaces to the width)."""
        with self._lock:
            return list(self._screen.display)

    def cells(self) -> list[list[Char]]:
        """The screen now as rows of pyte ``Char`` (``data``, ``fg``, ``bg``, ``bold``,
        ``reverse``...): what :meth:`screen_text` leaves out, e.g. which option of a list is
        highlighted (shown by its colours alone)."""
        with self._lock:
            buffer = self._screen.buffer
            return [[buffer[y][x] for x in range(self.columns)] for y in range(self.lines)]

    def snapshot(self) -> tuple[tuple[Char, ...], ...]:
        """The screen now, characters and their attributes, for equality checks."""
        return tuple(tuple(row) for row in self.cells())

    def screen_dump(self) -> str:
        """The screen in a frame, for failure messages."""
        rule = "+" + "-" * self.columns + "+"
        body = "\n".join(f"|{row}|" for row in self.screen_text())
        return f"{rule}\n{body}\n{rule}"

    def transcript(self) -> str:
        """Everything the process wrote, decoded, escape sequences removed: what is left on a
        real terminal's scroll-back after the app has gone (a traceback, for instance)."""
        with self._lock:
            raw = bytes(self._raw)
        return _ANSI.sub(b"", raw).decode("utf-8", "replace").replace("\r\n", "\n")

    def report(self, what: str) -> str:
        """``what`` with the process state, the screen, and the end of the transcript."""
        state = "running" if self.is_alive() else f"exited with status {self.exit_status}"
        tail = self.transcript()[-2500:] if not self.is_alive() else ""
        parts = [
            f"{what} ({' '.join(self.argv[1:])}: {state}, "
            f"{time.monotonic() - self.started_at:.1f} s after start)",
            self.screen_dump(),
        ]
        if self._reader_error is not None:
            parts.append(f"the pty reader failed: {self._reader_error!r}")
        if tail.strip():
            parts.append("--- end of the transcript ---\n" + tail)
        return "\n".join(parts)

    # --- waiting -------------------------------------------------------------------------

    @staticmethod
    def _check(condition: Condition, lines: list[str]) -> bool:
        if isinstance(condition, str):
            return condition in "\n".join(lines)
        try:
            return bool(condition(lines))
        except (LookupError, ValueError):  # a predicate reading a screen still being drawn
            return False

    def wait_for(
        self, condition: Condition, timeout: float = TIMEOUT_S, what: str | None = None
    ) -> list[str]:
        """Poll the screen until ``condition`` holds: a substring of the screen (which may
        span lines joined by "\\n"), or a predicate on :meth:`screen_text`.  Returns that
        screen; fails with the screen dump on timeout, or at once if the process exits first."""
        label = what or (repr(condition) if isinstance(condition, str) else "the condition")
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen_text()
            if self._check(condition, lines):
                return lines
            if self._eof.is_set() and not self.is_alive():
                lines = self.screen_text()  # the reader has drained everything
                if self._check(condition, lines):
                    return lines
                raise AssertionError(self.report(f"the process ended before {label} appeared"))
            if time.monotonic() > deadline:
                raise AssertionError(self.report(f"{label} did not appear within {timeout:g} s"))
            time.sleep(0.05)

    @contextlib.contextmanager
    def setting_up(self, what: str = "the test's starting point") -> Iterator[None]:
        """The waits and checks inside set the scene, they are not what the test checks: a
        failure there raises :class:`SetupError` instead of AssertionError."""
        try:
            yield
        except AssertionError as e:
            raise SetupError(f"while setting up {what}: {e}") from None

    def wait_ready(self, text: str = BANNER_READY, timeout: float = TIMEOUT_S) -> list[str]:
        """Wait for the console to be up (``text`` on screen); raises :class:`SetupError`."""
        with self.setting_up("the console"):
            return self.wait_for(text, timeout, what=f"the console ({text!r})")

    def wait_settled(
        self, quiet: float = 1.0, timeout: float = TIMEOUT_S, what: str = "the screen"
    ) -> list[str]:
        """Wait until the screen, characters and colours, has not changed for ``quiet``
        seconds (sampled every 50 ms: a screen flipping between states never passes, even
        if two snapshots a second apart happen to match); returns its text.  On timeout it
        fails with how often and where (which rows) it was still changing."""
        start = time.monotonic()
        deadline = start + timeout
        last, since = self.snapshot(), start
        changes: list[tuple[float, list[int]]] = []
        while True:
            time.sleep(0.05)
            now, at = self.snapshot(), time.monotonic()
            if now != last:
                rows = [y for y, (a, b) in enumerate(zip(last, now, strict=True)) if a != b]
                changes.append((at, rows))
                last, since = now, at
            elif at - since >= quiet:
                return self.screen_text()
            if at > deadline:
                recent = [rows for t, rows in changes if t > at - quiet]
                touched = sorted({y for rows in recent for y in rows})
                raise AssertionError(
                    self.report(
                        f"{what} was still changing after {timeout:g} s: {len(recent)} "
                        f"changes in the last {quiet:g} s, in rows {touched} (text or colour)"
                    )
                )

    # --- input ---------------------------------------------------------------------------

    def type_burst(self, data: str | bytes) -> None:
        """Write ``data`` (text, or key bytes from :data:`KEYS`) to the app in ONE
        ``os.write``, as a fast typist, a paste or a key-repeat delivers it."""
        raw = data.encode() if isinstance(data, str) else data
        written = os.write(self.proc.fd, raw)
        assert written == len(raw), f"the pty took {written} of {len(raw)} bytes in one write"

    def press(self, *names: str) -> None:
        """Named keys (see :data:`KEYS`), all in one burst."""
        self.type_burst(keys(*names))

    # --- the process ---------------------------------------------------------------------

    def is_alive(self) -> bool:
        return bool(self.proc.isalive())

    @property
    def exit_status(self) -> int | None:
        """None while it runs; its exit code; minus the signal number if a signal ended it."""
        if self.is_alive():
            return None
        if self.proc.signalstatus is not None:
            return -int(self.proc.signalstatus)
        return int(self.proc.exitstatus)

    def wait_exit(self, timeout: float = TIMEOUT_S) -> int:
        """Wait for the process to end and its output to be read; returns :attr:`exit_status`."""
        deadline = time.monotonic() + timeout
        while self.is_alive():
            if time.monotonic() > deadline:
                raise AssertionError(self.report(f"the process did not exit within {timeout:g} s"))
            time.sleep(0.05)
        self._eof.wait(5)  # the rest of its output
        status = self.exit_status
        assert status is not None
        return status

    def cpu_percent(self, interval: float = 2.0) -> float:
        """The share of one core the process used over the next ``interval`` seconds."""
        t0, c0 = time.monotonic(), cpu_seconds(self.pid)
        time.sleep(interval)
        t1, c1 = time.monotonic(), cpu_seconds(self.pid)
        return 100.0 * (c1 - c0) / (t1 - t0)

    def assert_idle(self, max_percent: float = 5.0, interval: float = 2.0) -> float:
        """Fail unless the process used at most ``max_percent`` of a core over ``interval``
        seconds (it is back to idle: no busy loop, no endless repaint); returns the figure."""
        assert self.is_alive(), self.report("the process is not running")
        used = self.cpu_percent(interval)
        assert used <= max_percent, self.report(
            f"not idle: {used:.1f}% of a core over {interval:g} s (at most {max_percent:g}%)"
        )
        return used

    # --- timing (bench/bench_terminal.py) ----------------------------------------------------

    def time_until(
        self, condition: Condition, timeout: float = TIMEOUT_S, what: str | None = None
    ) -> float:
        """:meth:`wait_for`, for timings: the screen is checked again as soon as the process
        has written more (how much it wrote is looked at every millisecond), not every 50 ms.
        Returns the ``time.monotonic()`` at which the output that made ``condition`` hold
        arrived: the read of the last bytes the screen then showed (not when the emulator
        had parsed them, which on a busy machine can be tens of milliseconds later).  If
        several reads were parsed between two looks, the time is the last one's: never
        early."""
        label = what or (repr(condition) if isinstance(condition, str) else "the condition")
        deadline = time.monotonic() + timeout
        seen = -1
        while True:
            size = len(self._raw)  # grows before the screen is fed, under the same lock
            if size != seen:
                seen = size
                with self._lock:
                    lines = list(self._screen.display)
                    arrived = self._arrivals[-1][0] if self._arrivals else time.monotonic()
                if self._check(condition, lines):
                    return arrived
            if self._eof.is_set() and not self.is_alive():
                raise AssertionError(self.report(f"the process ended before {label} appeared"))
            if time.monotonic() > deadline:
                raise AssertionError(self.report(f"{label} did not appear within {timeout:g} s"))
            time.sleep(0.001)

    def close(self) -> None:
        """Kill the whole process group (the console and anything it started), reap it, stop
        the reader and close the pty.  Safe to call twice; the fixture always calls it."""
        self._closing.set()
        # The child is a session leader: its process group has its pid, and holds whatever
        # it started.  Killed even when the console has exited (a grandchild may outlive it).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.proc.isalive() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._reader.join(5)
        with contextlib.suppress(OSError):
            self.proc.close(force=True)
