"""`bannertui serve` (SPEC X5): the app in a browser through textual-serve, loopback first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).with_name("bannertui")

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
    env.update(BANNERTUI_DATA_DIR=str(root / "data"), NO_COLOR="1", COLUMNS="200")
    return env


def test_serve_answers_on_loopback_with_the_app_page(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "serve", "--demo", "--agent", "sam", "--port", str(port)],
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        page = None
        while time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert page is not None, "serve did not answer"
        assert page.status_code == 200
        assert "textual" in page.text.lower()
        assert "bannertui" in page.text
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    text = out.decode() + err.decode()
    assert "-m bannertui demo --agent sam" in text
    assert "warning" not in text  # loopback: no warning


def test_serve_on_another_address_warns_that_there_is_no_login(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "serve", "--host", "0.0.0.0", "--port", str(port)],
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.5)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "no login page" in err.decode()
