"""Run the ``bannertui`` console script as a real process, without paying its start-up each time.

A CLI test used to spawn the console script: half a second of interpreter start and imports
per run, several hundred runs.  Here one helper process (the "zygote", this file run as a
script) starts once per test process, imports the CLI and what its commands load, and forks a
child for each run.  The child is a real process as the script's: its own environment,
working directory, argv (bytes decoded as Python decodes them), stdin, stdout and stderr on
their file descriptors, exit code, atexit hooks, and no state shared with other runs.  Only
the imports are already done.

A run whose environment would change how the interpreter itself starts (``PYTHON*``,
``LANG``/``LC_*`` differing from the zygote's) is spawned as before.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

BIN = Path(sys.executable).with_name("bannertui")

#: What the commands import on first use, loaded once in the zygote.
PRELOAD = (
    "bannertui.cli",
    "bannertui.cli_errors",
    "bannertui.services",
    "bannertui.services.accounts",
    "bannertui.services.agents",
    "bannertui.services.admin",
    "bannertui.services.outbound",
    "bannertui.services.provider_settings",
    "bannertui.store.database",
    "bannertui.store.migrate",
    "bannertui.store.seed",
    "bannertui.gateway",
    "bannertui.gateway.factory",
    "sqlalchemy.ext.asyncio",
    "aiosqlite",
    "asyncpg",
    "alembic.command",
)


def _interpreter_env(env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in env.items() if k.startswith(("PYTHON", "LC_")) or k in ("LANG", "PATH")
    }


class _Zygote:
    def __init__(self) -> None:
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        self.env = dict(os.environ)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(req_r), str(resp_w)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(req_r, resp_w),
        )
        os.close(req_r)
        os.close(resp_w)
        self._buf = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _send(self, obj: object) -> None:
        data = pickle.dumps(obj)
        os.write(self._req_w, struct.pack("!I", len(data)) + data)

    def _line(self, timeout: float | None) -> str | None:
        while b"\n" not in self._buf:
            ready, _, _ = select.select([self._resp_r], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self._resp_r, 4096)
            if not chunk:
                raise RuntimeError("the CLI zygote exited")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode("ascii")

    def run(
        self,
        argv: Sequence[str | bytes],
        env: Mapping[str, str],
        cwd: Path,
        stdin: bytes | None,
        timeout: float,
    ) -> subprocess.CompletedProcess[bytes]:
        with tempfile.TemporaryDirectory(prefix="bannertui-cli-") as tmp:
            d = Path(tmp)
            stdin_path = None
            if stdin is not None:
                stdin_path = d / "stdin"
                stdin_path.write_bytes(stdin)
            out, err = d / "stdout", d / "stderr"
            self._send(
                (
                    [os.fsencode(a) for a in argv],
                    dict(env),
                    str(cwd),
                    None if stdin_path is None else str(stdin_path),
                    str(out),
                    str(err),
                )
            )
            pid_line = self._line(30)
            if pid_line is None:
                raise RuntimeError("the CLI zygote did not answer")
            pid = int(pid_line)
            status = self._line(timeout)
            if status is None:
                os.kill(pid, signal.SIGKILL)
                self._line(30)
                raise subprocess.TimeoutExpired([str(a) for a in argv], timeout)
            return subprocess.CompletedProcess(
                list(argv), int(status), out.read_bytes(), err.read_bytes()
            )


_zygote: _Zygote | None = None


def _shutdown() -> None:
    if _zygote is not None and _zygote.alive():
        _zygote.proc.kill()
        _zygote.proc.wait()


atexit.register(_shutdown)


def run_cli(
    args: Sequence[str | bytes],
    *,
    env: Mapping[str, str],
    cwd: Path,
    stdin: bytes | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run([bannertui, *args], …)`` with stdout and stderr captured."""
    global _zygote
    argv: list[str | bytes] = [str(BIN), *args]
    if os.environ.get("BANNERTUI_TEST_FORK", "1") == "0" or not hasattr(os, "fork"):
        return _spawn(argv, env, cwd, stdin, timeout)
    if _zygote is None or not _zygote.alive():
        _zygote = _Zygote()
    if _interpreter_env(env) != _interpreter_env(_zygote.env):
        return _spawn(argv, env, cwd, stdin, timeout)
    return _zygote.run(argv, env, cwd, stdin, timeout)


def _spawn(
    argv: Sequence[str | bytes],
    env: Mapping[str, str],
    cwd: Path,
    stdin: bytes | None,
    timeout: float,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        argv,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


# --- the zygote -------------------------------------------------------------------------


def _child(request: tuple[list[bytes], dict[str, str], str, str | None, str, str]) -> None:
    """In the forked child: become ``bannertui ARGS`` and exit as it would."""
    argv, env, cwd, stdin_path, out, err = request
    code = 1
    try:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        fd = os.open(stdin_path or os.devnull, os.O_RDONLY)
        os.dup2(fd, 0)
        os.close(fd)
        for target, path in ((1, out), (2, err)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, target)
            os.close(fd)
        sys.argv = [os.fsdecode(a) for a in argv]
        from bannertui.cli import main

        try:
            main()
            code = 0
        except SystemExit as exit_:
            if exit_.code is None:
                code = 0
            elif isinstance(exit_.code, int):
                code = exit_.code
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        # As the interpreter ends: join the threads left running, then the atexit hooks.
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(code)


def _serve(req_fd: int, resp_fd: int) -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    reader = os.fdopen(req_fd, "rb", buffering=0)
    while True:
        head = reader.read(4)
        if len(head) < 4:
            return
        (size,) = struct.unpack("!I", head)
        data = b""
        while len(data) < size:
            chunk = reader.read(size - len(data))
            if not chunk:
                return
            data += chunk
        request = pickle.loads(data)
        pid = os.fork()
        if pid == 0:
            os.close(req_fd)
            os.close(resp_fd)
            _child(request)
        os.write(resp_fd, f"{pid}\n".encode("ascii"))
        _, status = os.waitpid(pid, 0)
        os.write(resp_fd, f"{os.waitstatus_to_exitcode(status)}\n".encode("ascii"))


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))
