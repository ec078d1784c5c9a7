"""The load and fault harness's short run (bench/load/run.py --short --faults), as CI runs it.

Each run is a subprocess that starts the webhook receiver, two dispatchers and the console
processes, sends inbound traffic, kills a dispatcher and the receiver with SIGKILL, makes the
provider answer 503 and, on PostgreSQL, restarts the server; it exits non-zero when a message
was lost or duplicated, or something stayed in the outbox.  The PostgreSQL run uses a private
server (scripts/pg.sh with its own state file): the restart must not touch the suite's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "bench" / "load" / "run.py"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _harness(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(HARNESS), "--short", "--faults", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    return out


def _checked(out: str) -> None:
    assert "RESULT: PASS" in out
    for line in (
        "inbound lost (2xx but not stored): 0 ok",
        "replies lost (never reached the provider): 0 ok",
        "retIds accepted twice: 0 ok",
        "left in pending/sending: 0 ok",
        "outbox not empty 60 s after recovery: 0 ok",
    ):
        assert line in out, out[-6000:]
    assert "kill -9 dispatcher-0" in out
    assert "kill -9 webhook receiver" in out


def test_short_load_with_faults_on_sqlite() -> None:
    env = {k: v for k, v in os.environ.items() if k != "BANNERTUI_TEST_PG_URL"}
    out = _harness("--backend", "sqlite", env=env)
    _checked(out)
    print(out)


@pytest.mark.own_pg_server
def test_short_load_with_faults_on_postgresql(tmp_path: Path) -> None:
    if os.environ.get("BANNERTUI_TEST_PG", "1") == "0":
        pytest.skip("BANNERTUI_TEST_PG=0: PostgreSQL tests disabled")
    env = {**os.environ, "BANNERTUI_PG_STATE": str(tmp_path / "pg.env")}
    up = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pg.sh"), "up"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in up.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    try:
        out = _harness("--backend", "pg", env=env)
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "pg.sh"), "down"], env=env, check=False)
    _checked(out)
    assert "PostgreSQL restarted" in out
    print(out)
