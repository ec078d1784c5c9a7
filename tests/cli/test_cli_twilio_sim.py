"""``bannertui twilio-sim`` as a real subprocess: it starts on a free port, prints where it
listens (and the CA, never the token), answers Twilio's account resource to the right
credentials only, posts status callbacks or not (``--no-callbacks``), and stops on SIGTERM
and SIGINT with status 0.  Every wait is for a condition, with a deadline."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bannertui.simulator.twilio import DEMO_ACCOUNT_SID

BIN = Path(sys.executable).with_name("bannertui")
TOKEN = "cli-sim-token-7f3a9c"
OTHER_SID = "AC" + "fedcba9876543210" * 2
SALES = "+33757000011"
LINE = re.compile(
    r"Twilio simulator listening on (?P<url>https://127\.0\.0\.1:\d+) "
    r"\(account (?P<sid>AC[0-9a-f]{32}), CA: (?P<ca>.+)\)"
)


@dataclass(frozen=True)
class Sim:
    url: str
    sid: str
    ca: Path
    line: str
    proc: subprocess.Popen[bytes]

    def client(self, password: str = TOKEN) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            verify=ssl.create_default_context(cafile=str(self.ca)),
            auth=(self.sid, password),
            timeout=10,
        )


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


@contextlib.contextmanager
def twilio_sim(tmp_path: Path, *args: str, stop: signal.Signals) -> Iterator[Sim]:
    """``bannertui twilio-sim --port 0`` (token from BANNERTUI_SIM_PASSWORD); sends ``stop``
    on the way out and checks it exits 0 with nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
    env.update(
        BANNERTUI_DATA_DIR=str(tmp_path / "data"),
        BANNERTUI_CONFIG=str(tmp_path / "config" / "config.toml"),
        BANNERTUI_SIM_PASSWORD=TOKEN,
    )
    command = [str(BIN), "twilio-sim", "--port", "0", "--cert-dir", str(tmp_path / "certs")]
    proc = subprocess.Popen(
        [*command, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(30.0):
                raise AssertionError("twilio-sim printed nothing within 30 s")
        line = proc.stdout.readline().decode("utf-8").rstrip("\n")
        match = LINE.fullmatch(line)
        assert match, (line, proc.poll(), proc.stderr.read() if proc.poll() is not None else b"")
        yield Sim(match["url"], match["sid"], Path(match["ca"]), line, proc)
        proc.send_signal(stop)
        assert proc.wait(timeout=15) == 0
        assert proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@contextlib.contextmanager
def receiver() -> Iterator[tuple[str, list[str]]]:
    """A plain HTTP endpoint on a free port answering 204; yields its URL and the forms
    posted to it."""
    posted: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            posted.append(self.rfile.read(length).decode())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/status", posted
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def send(sim: Sim, callback: str) -> httpx.Response:
    with sim.client() as client:
        return client.post(
            f"/2010-04-01/Accounts/{sim.sid}/Messages.json",
            data={"To": "+33612000001", "From": SALES, "Body": "hi", "StatusCallback": callback},
        )


def stats(sim: Sim) -> dict[str, int]:
    with sim.client() as client:
        response = client.get("/v1/stats")
    assert response.status_code == 200
    data = response.json()
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_starts_answers_the_account_to_its_credentials_and_stops(
    tmp_path: Path, stop: signal.Signals
) -> None:
    with twilio_sim(tmp_path, stop=stop) as sim:
        assert sim.sid == DEMO_ACCOUNT_SID
        assert sim.ca == tmp_path / "certs" / "ca.pem"
        assert TOKEN not in sim.line
        path = f"/2010-04-01/Accounts/{sim.sid}.json"
        with sim.client() as client:
            response = client.get(path)
        assert response.status_code == 200
        assert response.json()["sid"] == sim.sid
        with sim.client("wrong-token") as client:
            refused = client.get(path)
        assert refused.status_code == 401
        assert refused.json()["code"] == 20003


def test_options_account_numbers_and_callbacks(tmp_path: Path) -> None:
    """``--account-sid`` and ``--number`` shape the account; status callbacks are posted,
    and with ``--no-callbacks`` none is (the sends are accepted all the same)."""
    args = ["--account-sid", OTHER_SID, "--number", SALES, "--receipt-delay", "0"]
    for on in (True, False):
        with (
            receiver() as (callback, posted),
            twilio_sim(
                tmp_path, *args, "--callbacks" if on else "--no-callbacks", stop=signal.SIGTERM
            ) as sim,
        ):
            assert sim.sid == OTHER_SID
            accepted = send(sim, callback)
            assert accepted.status_code == 201, accepted.text
            assert accepted.json()["from"] == SALES
            wait_for(lambda: stats(sim)["pending_webhooks"] == 0, "the deliveries done")
            figures = stats(sim)
            assert figures["accepted"] == 1
            assert figures["webhook_errors"] == 0
            assert figures["callbacks_sent"] == len(posted) == (2 if on else 0)
            if on:
                assert "MessageStatus=sent" in posted[0]
                assert "MessageStatus=delivered" in posted[1]


def test_refuses_a_bad_account_sid(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
    env["BANNERTUI_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [str(BIN), "twilio-sim", "--port", "0", "--account-sid", "nope"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"account_sid must be AC followed by 32 lowercase hex digits" in result.stderr
