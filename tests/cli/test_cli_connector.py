"""``bannertui connector list|show|add|edit|test|remove|numbers|add-number`` (issue #20; SMPP,
issue #21) as real processes, on a copy of a database where the OS account running the suite
(``ME``) is the first administrator, beside the demo data (connectors "Carrier HTTPS", id 1,
https-json, and "Twilio", id 2).  The Twilio commands talk to the real Twilio simulator,
served over loopback HTTPS from a thread of this test process; the secrets land in each
test's own config directory and never in any output.  SMPP's connection test runs the command
in this process, the gateway factory replaced by a fake (:func:`run_here`)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import select
import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import typer
from test_cli_agents import ME, copy_of
from test_cli_commands import Result, make_env, run, sqlite_url

from bannertui.services.gateway import (
    ConnectionCheck,
    ConnectionReport,
    ProviderConfig,
    SmppConfig,
    TwilioConfig,
)
from bannertui.simulator.provider import make_tls
from bannertui.simulator.twilio import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    TwilioSimConfig,
    TwilioSimulator,
)

T = TypeVar("T")
BIN = Path(sys.executable).with_name("bannertui")
CLOSED_URL = "https://127.0.0.1:1/x"
PASSWORD = "https-json-pw-7c1a"
WRONG_TOKEN = "0bad" * 8
BIND_PASSWORD = "smpp-b1nd-4e2d"
SMPP_ADD = ["connector", "add", "SMSC", "--type", "smpp", "--host", "127.0.0.1"]
#: The simulated Twilio account's numbers (mobile numbers our rules accept).
SIM_NUMBERS = ["+33757000050", "+33757000051"]
SECRETS = (PASSWORD, WRONG_TOKEN, DEMO_AUTH_TOKEN, BIND_PASSWORD)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-connector")
    path = root / "template.sqlite3"
    env = make_env(root, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert run(env, "db", "init", "--admin", ME).code == 0
    assert run(env, "db", "seed-demo").code == 0
    return path


@pytest.fixture
def env(template: Path, tmp_path: Path) -> dict[str, str]:
    return copy_of(template, tmp_path)[0]


def secrets_dir(env: dict[str, str]) -> Path:
    """Where the connectors' secret files go: beside the (absent) configuration file."""
    return Path(env["BANNERTUI_CONFIG"]).parent


class Sim:
    """The Twilio simulator, serving from its own event loop in a thread."""

    def __init__(self, cert_dir: Path) -> None:
        self.tls = make_tls(cert_dir)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sim = self._call(self._start())

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _start(self) -> TwilioSimulator:
        sim = TwilioSimulator(TwilioSimConfig(numbers=list(SIM_NUMBERS)), self.tls)
        await sim.start()
        return sim

    @property
    def options(self) -> list[str]:
        return ["--api-base", self.sim.base_url, "--ca-file", str(self.tls.ca)]

    def close(self) -> None:
        self._call(self.sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    served = Sim(tmp_path_factory.mktemp("twilio-tls"))
    try:
        yield served
    finally:
        served.close()


def lines(result: Result) -> list[dict[str, object]]:
    assert (result.code, result.err) == (0, ""), result
    return [json.loads(line) for line in result.out.splitlines()]


def names(env: dict[str, str]) -> list[object]:
    return [o["name"] for o in lines(run(env, "connector", "list"))]


def shows_a_secret(*results: Result) -> bool:
    return any(s in r.out or s in r.err for r in results for s in SECRETS)


def on_terminal(
    env: dict[str, str], args: list[str], answers: list[tuple[str, str]]
) -> tuple[int, str]:
    """``bannertui ARGS`` in a pseudo-terminal (echo on, as a user's): each answer typed once
    its prompt is shown; the exit status and everything the terminal showed."""
    from ptyprocess import PtyProcess  # type: ignore[import-untyped, unused-ignore]

    proc = PtyProcess.spawn([str(BIN), *args], env=env, cwd=str(secrets_dir(env).parent))
    shown = bytearray()
    deadline = time.monotonic() + 60

    def read_until(prompt: bytes | None, start: int) -> int:
        """Until ``prompt`` shows after ``start`` (None: the end); where it ends."""
        while prompt is None or prompt not in shown[start:]:
            ready, _, _ = select.select([proc.fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"waiting for {prompt!r}; shown: {bytes(shown)!r}")
            try:
                data = os.read(proc.fd, 65536)
            except OSError:  # EIO: the process has gone
                data = b""
            if not data:
                if prompt is None:
                    return len(shown)
                raise AssertionError(f"ended before {prompt!r}; shown: {bytes(shown)!r}")
            shown.extend(data)
        return shown.index(prompt, start) + len(prompt)

    try:
        at = 0
        for prompt, answer in answers:
            at = read_until(prompt.encode(), at)
            proc.write(answer.encode() + b"\r")
        read_until(None, at)
        proc.wait()
    finally:
        if proc.isalive():
            proc.terminate(force=True)
    return int(proc.exitstatus or 0), shown.decode("utf-8", "replace")


def point_twilio_at(env: dict[str, str], sim: Sim, token: str, *more: str) -> Result:
    """The demo's Twilio connector (its account SID is the simulator's) at the simulator."""
    return run(
        env,
        *("connector", "edit", "Twilio", *sim.options, "--secret-stdin", *more),
        stdin=f"{token}\n".encode(),
    )


# --- reading ---------------------------------------------------------------------------------


def test_list_and_show_the_demo_connectors(env: dict[str, str]) -> None:
    assert lines(run(env, "connector", "list")) == [
        {
            "id": 1,
            "name": "Carrier HTTPS",
            "type": "https-json",
            "configured": True,
            "enabled": True,
        },
        {"id": 2, "name": "Twilio", "type": "twilio", "configured": True, "enabled": True},
    ]
    carrier = run(env, "connector", "show", "carrier https").json()
    assert list(carrier) == [
        *("id", "name", "type", "configured", "enabled", "settings", "secret", "secret_source"),
        *("last_hour", "queue_count", "number_count", "numbers"),
    ]
    assert (carrier["id"], carrier["type"], carrier["secret"]) == (1, "https-json", None)
    assert carrier["settings"] == {"url": "https://127.0.0.1:8443/v1/sms", "auth_enabled": False}
    last_hour = carrier["last_hour"]
    assert isinstance(last_hour, dict)
    assert set(last_hour) == {"sent", "failed", "last_error"}
    assert carrier["queue_count"] == 2
    assert carrier["numbers"] == ["+33757000001", "+33757000002", "+33757000010"]
    assert carrier["number_count"] == 3

    twilio = run(env, "connector", "show", "2").json()
    assert (twilio["name"], twilio["type"], twilio["numbers"]) == (
        "Twilio",
        "twilio",
        ["+33757000011"],
    )
    assert twilio["settings"] == {"account_sid": DEMO_ACCOUNT_SID}
    assert (twilio["secret"], twilio["secret_source"]) == (None, None)

    assert run(env, "connector", "show", "Nope").error_line(1) == (
        "bannertui: Unknown connector: no connector 'Nope'\n"
    )


# --- add, edit ---------------------------------------------------------------------------------


def test_a_twilio_api_key_takes_its_secret_after_the_auth_token(env: dict[str, str]) -> None:
    key_sid = "SK" + "ab" * 16
    added = run(
        env,
        *("connector", "add", "Keyed", "--type", "twilio", "--account-sid", DEMO_ACCOUNT_SID),
        *("--api-key-sid", key_sid, "--secret-stdin", "--no-test"),
        stdin=b"the-auth-token\nthe-key-secret\n",
    )
    assert added == Result(0, "connector Keyed added (id 3, twilio)\n", "")
    assert (secrets_dir(env) / "connector-3-secret").read_text() == "the-auth-token"
    assert (secrets_dir(env) / "connector-3-key-secret").read_text() == "the-key-secret"
    # without the key's secret: refused, nothing written
    refused = run(
        env,
        *("connector", "add", "Keyless", "--type", "twilio", "--account-sid", DEMO_ACCOUNT_SID),
        *("--api-key-sid", key_sid, "--secret-stdin", "--no-test"),
        stdin=b"the-auth-token\n\n",
    )
    assert refused.code == 2
    assert "API key secret is empty" in refused.err
    assert [c["name"] for c in lines(run(env, "connector", "list"))] == [
        "Carrier HTTPS",
        "Twilio",
        "Keyed",
    ]


def test_add_without_a_test_then_show_and_edit(env: dict[str, str]) -> None:
    added = run(
        env,
        *("connector", "add", "Backup", "--type", "https-json", "--url", CLOSED_URL),
        *("--login", "demo", "--secret-stdin", "--no-test"),
        stdin=f"{PASSWORD}\n".encode(),
    )
    assert added == Result(0, "connector Backup added (id 3, https-json)\n", "")
    secret_file = secrets_dir(env) / "connector-3-secret"
    assert secret_file.read_text(encoding="utf-8") == PASSWORD
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600

    show = run(env, "connector", "show", "backup")
    obj = show.json()
    assert obj["settings"] == {
        "url": CLOSED_URL,
        "auth_enabled": True,
        "login": "demo",
        "ca_file": None,
    }
    assert (obj["secret"], obj["secret_source"]) == ("********", "file")
    assert obj["last_hour"] == {"sent": 0, "failed": 0, "last_error": None}
    assert (obj["queue_count"], obj["number_count"], obj["numbers"]) == (0, 0, [])
    from_env = run({**env, "BANNERTUI_CONNECTOR_3_SECRET": "x"}, "connector", "show", "3")
    assert from_env.json()["secret_source"] == "environment"

    # Only the options given change; no secret asked: the saved one is kept.
    other = "https://127.0.0.1:2/y"
    edited = run(env, "connector", "edit", "Backup", "--url", other, "--name", "Spare", "--no-test")
    assert edited == Result(0, "connector Spare saved\n", "")
    settings = run(env, "connector", "show", "Spare").json()["settings"]
    assert settings == {"url": other, "auth_enabled": True, "login": "demo", "ca_file": None}
    assert secret_file.read_text(encoding="utf-8") == PASSWORD

    # A test that fails saves nothing.
    refused = run(env, "connector", "edit", "Spare", "--url", CLOSED_URL)
    assert refused.error_line(1).startswith("bannertui: Connection test failed: unreachable: ")
    assert run(env, "connector", "show", "Spare").json()["settings"] == settings

    # Without authentication, the password goes.
    assert run(env, "connector", "edit", "3", "--no-auth", "--no-test").code == 0
    assert not secret_file.exists()
    listed = lines(run(env, "connector", "list"))
    assert listed[-1] == {
        "id": 3,
        "name": "Spare",
        "type": "https-json",
        "configured": True,
        "enabled": True,
    }
    assert not shows_a_secret(added, show, edited, refused)


def test_a_failed_test_refuses_to_add(env: dict[str, str]) -> None:
    result = run(
        env,
        *("connector", "add", "Backup", "--type", "https-json", "--url", CLOSED_URL),
        *("--login", "demo", "--secret-stdin"),
        stdin=f"{PASSWORD}\n".encode(),
    )
    assert result.error_line(1) == (
        "bannertui: Connection test failed: unreachable: "
        "The provider could not be reached (ConnectError).\n"
    )
    assert names(env) == ["Carrier HTTPS", "Twilio"]
    assert not secrets_dir(env).exists()
    assert not shows_a_secret(result)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--type", "sms", "--url", CLOSED_URL],
            "Invalid connector: unknown connector type 'sms': choose https-json, twilio, smpp",
        ),
        (["--type", "twilio", "--url", CLOSED_URL], "a twilio connector has no option --url"),
        (["--type", "https-json", "--url", "http://x"], "url: the URL must start with https://"),
        (["--type", "twilio", "--account-sid", "AC1"], "an Account SID is AC followed by 32 hex"),
        (
            ["--type", "https-json", "--url", CLOSED_URL, "--login", "demo", "--no-auth"],
            "--login needs authentication",
        ),
    ],
    ids=["unknown-type", "other-type-option", "http", "bad-sid", "login-without-auth"],
)
def test_add_refusals_are_one_line_and_write_nothing(
    env: dict[str, str], args: list[str], line: str
) -> None:
    result = run(env, "connector", "add", "New", *args, "--no-test", "--secret-stdin", stdin=b"x\n")
    assert line in result.error_line(2 if line.startswith("--") else 1)
    assert names(env) == ["Carrier HTTPS", "Twilio"]


def test_a_name_taken_is_refused_before_the_secret(env: dict[str, str]) -> None:
    add = ["connector", "add", "twilio", "--type", "twilio", "--account-sid", DEMO_ACCOUNT_SID]
    result = run(env, *add)  # no terminal, no --secret-stdin: the name is refused first
    assert result.error_line(1) == (
        "bannertui: Invalid connector: a connector is already named 'twilio'\n"
    )


def test_a_secret_is_never_a_flag_value(env: dict[str, str]) -> None:
    needs = run(env, "connector", "add", "T", "--type", "twilio", "--account-sid", DEMO_ACCOUNT_SID)
    assert "--secret-stdin" in needs.error_line(2)
    flag = run(env, "connector", "add", "T", "--type", "twilio", "--secret", PASSWORD)
    assert flag.code == 2, flag
    assert not shows_a_secret(flag)
    assert names(env) == ["Carrier HTTPS", "Twilio"]


def test_the_secret_is_asked_without_echo_on_a_terminal(env: dict[str, str]) -> None:
    args = ["connector", "add", "Night", "--type", "twilio", "--account-sid", DEMO_ACCOUNT_SID]
    code, shown = on_terminal(
        env,
        [*args, "--no-test"],
        [("Auth token: ", WRONG_TOKEN), ("confirmation: ", WRONG_TOKEN)],
    )
    assert code == 0, shown
    assert "connector Night added (id 3, twilio)" in shown
    assert WRONG_TOKEN not in shown
    assert (secrets_dir(env) / "connector-3-secret").read_text(encoding="utf-8") == WRONG_TOKEN

    # Removing asks for the connector's name: anything else keeps it.
    code, shown = on_terminal(env, ["connector", "remove", "3"], [("to remove it", "y")])
    assert code == 1, shown
    assert "not removed" in shown
    assert names(env) == ["Carrier HTTPS", "Twilio", "Night"]
    code, shown = on_terminal(env, ["connector", "remove", "3"], [("to remove it", "night")])
    # (the terminal may leave a space of the echoed answer's line before it)
    assert (code, shown.splitlines()[-1].strip()) == (0, "connector Night removed"), shown
    assert names(env) == ["Carrier HTTPS", "Twilio"]
    assert not (secrets_dir(env) / "connector-3-secret").exists()


# --- Twilio: test, numbers ----------------------------------------------------------------------


def test_twilio_connection_test_against_the_simulator(env: dict[str, str], sim: Sim) -> None:
    results = []
    add = [
        *("connector", "add", "Twilio sim", "--type", "twilio"),
        *("--account-sid", DEMO_ACCOUNT_SID, *sim.options, "--secret-stdin"),
    ]
    results.append(run(env, *add, stdin=f"{WRONG_TOKEN}\n".encode()))
    line = results[-1].error_line(1)
    assert line.startswith("bannertui: Connection test failed: authentication refused: ")
    assert "authentication failed" in line
    assert names(env) == ["Carrier HTTPS", "Twilio"]

    results.append(run(env, *add, stdin=f"{DEMO_AUTH_TOKEN}\n".encode()))
    assert results[-1].code == 0, results[-1]
    assert results[-1].out.splitlines() == [
        "connection test: reachable: Twilio accepted the credentials "
        "(account bannertui simulator).",
        "connector Twilio sim added (id 3, twilio)",
    ]
    results.append(run(env, "connector", "test", "Twilio sim"))
    assert results[-1].code == 0, results[-1]
    assert results[-1].out.startswith("reachable: ")

    # A wrong token saved without a test: `connector test` says so, exit status 1.
    edit = ["connector", "edit", "3", "--secret-stdin", "--no-test"]
    results.append(run(env, *edit, stdin=f"{WRONG_TOKEN}\n".encode()))
    assert results[-1] == Result(0, "connector Twilio sim saved\n", "")
    results.append(run(env, "connector", "test", "Twilio sim"))
    assert results[-1].code == 1, results[-1]
    assert results[-1].out.startswith("authentication refused: authentication failed")
    assert results[-1].err == ""
    shown = run(env, "connector", "show", "Twilio sim").json()
    assert (shown["secret"], shown["secret_source"]) == ("********", "file")
    assert not shows_a_secret(*results, Result(0, json.dumps(shown), ""))


def test_numbers_and_add_number(env: dict[str, str], sim: Sim) -> None:
    assert point_twilio_at(env, sim, DEMO_AUTH_TOKEN) == Result(
        0,
        "connection test: reachable: Twilio accepted the credentials "
        "(account bannertui simulator).\nconnector Twilio saved\n",
        "",
    )
    assert lines(run(env, "connector", "numbers", "Twilio")) == [
        {"number": number, "in_account": False} for number in SIM_NUMBERS
    ]
    added = run(env, "connector", "add-number", "Twilio", "+33 7 57 00 00 50", "--label", "Nuit")
    assert added == Result(0, "number +33757000050 added to Twilio\n", "")
    assert lines(run(env, "connector", "numbers", "2")) == [
        {"number": SIM_NUMBERS[0], "in_account": True},
        {"number": SIM_NUMBERS[1], "in_account": False},
    ]
    assert run(env, "connector", "show", "Twilio").json()["numbers"] == [
        "+33757000011",
        "+33757000050",
    ]

    refused = run(env, "connector", "add-number", "Twilio", "+33757000099")
    assert refused.error_line(1) == (
        "bannertui: Invalid connector: +33757000099 is not a number of the Twilio account of "
        "Twilio\n"
    )
    # https-json has no listing of its own: our numbers of the connector.
    carrier = lines(run(env, "connector", "numbers", "Carrier HTTPS"))
    assert {o["number"] for o in carrier} == {"+33757000001", "+33757000002", "+33757000010"}


# --- SMPP (issue #21) ---------------------------------------------------------------------------


class FakeGateway:
    """The gateway factory of an in-process run: every adapter answers ``report``; the
    configurations it was given are kept."""

    def __init__(self, report: ConnectionReport) -> None:
        self.report = report
        self.configs: list[ProviderConfig | TwilioConfig | SmppConfig] = []

    def __call__(self, config: ProviderConfig | TwilioConfig | SmppConfig) -> Any:
        self.configs.append(config)
        return self

    async def test_connection(self) -> ConnectionReport:
        return self.report

    async def aclose(self) -> None:
        pass


def run_here(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    gateway: FakeGateway,
    *args: str,
    stdin: bytes = b"",
) -> Result:
    """``bannertui ARGS`` in this process (its one error path included), with ``gateway``
    as the factory the commands open adapters with."""
    import bannertui.gateway
    from bannertui.cli import app
    from bannertui.cli_errors import run as run_command

    for key in [k for k in os.environ if k.startswith("BANNERTUI_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("BANNERTUI_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(bannertui.gateway, "http_gateway", gateway)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    capsys.readouterr()
    code = run_command(typer.main.get_command(app), list(args))
    out, err = capsys.readouterr()
    return Result(code, out, err)


SMPP_DEFAULT_SETTINGS = {
    "host": "127.0.0.1",
    "port": 2775,
    "tls": False,
    "system_id": "acme",
    "system_type": "",
    "bind_mode": "transceiver",
    "concat": "udh8",
    "source_ton": 1,
    "source_npi": 1,
    "window": 10,
    "throughput": 0,
}


def test_smpp_add_show_and_edit(env: dict[str, str]) -> None:
    results = [
        run(
            env,
            *SMPP_ADD,
            *("--system-id", "acme", "--secret-stdin", "--no-test"),
            stdin=f"{BIND_PASSWORD}\n".encode(),
        )
    ]
    assert results[-1] == Result(0, "connector SMSC added (id 3, smpp)\n", "")
    secret_file = secrets_dir(env) / "connector-3-secret"
    assert secret_file.read_text(encoding="utf-8") == BIND_PASSWORD
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600

    results.append(run(env, "connector", "show", "smsc"))
    shown = results[-1].json()
    assert (shown["type"], shown["configured"], shown["enabled"]) == ("smpp", True, True)
    assert shown["settings"] == SMPP_DEFAULT_SETTINGS
    assert (shown["secret"], shown["secret_source"]) == ("********", "file")
    assert (shown["queue_count"], shown["number_count"], shown["numbers"]) == (0, 0, [])
    from_env = run({**env, "BANNERTUI_CONNECTOR_3_SECRET": "x"}, "connector", "show", "3")
    assert from_env.json()["secret_source"] == "environment"
    assert lines(run(env, "connector", "list"))[-1] == {
        "id": 3,
        "name": "SMSC",
        "type": "smpp",
        "configured": True,
        "enabled": True,
    }

    # Only the options given change; the bind password is kept.
    results.append(
        run(
            env,
            *("connector", "edit", "SMSC", "--port", "3550", "--tls", "--bind-mode", "pair"),
            *("--concat", "udh16", "--window", "20", "--throughput", "50"),
            *("--system-type", "VMA", "--source-ton", "5", "--source-npi", "0", "--no-test"),
        )
    )
    assert results[-1] == Result(0, "connector SMSC saved\n", "")
    edited = {
        **SMPP_DEFAULT_SETTINGS,
        "port": 3550,
        "tls": True,
        "bind_mode": "pair",
        "concat": "udh16",
        "window": 20,
        "throughput": 50,
        "system_type": "VMA",
        "source_ton": 5,
        "source_npi": 0,
    }
    assert run(env, "connector", "show", "SMSC").json()["settings"] == edited
    assert secret_file.read_text(encoding="utf-8") == BIND_PASSWORD

    # A refused value names its setting and changes nothing.
    results.append(run(env, "connector", "edit", "SMSC", "--window", "101", "--no-test"))
    assert results[-1].error_line(1) == (
        "bannertui: Invalid connector: window: the window must be 1–100\n"
    )
    assert run(env, "connector", "show", "SMSC").json()["settings"] == edited

    # A new password replaces the saved one; --no-tls turns TLS off.
    results.append(
        run(
            env,
            *("connector", "edit", "3", "--no-tls", "--secret-stdin", "--no-test"),
            stdin=b"the-new-one\n",
        )
    )
    assert results[-1] == Result(0, "connector SMSC saved\n", "")
    assert secret_file.read_text(encoding="utf-8") == "the-new-one"
    assert run(env, "connector", "show", "SMSC").json()["settings"]["tls"] is False
    assert not shows_a_secret(*results)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--system-id", "acme", "--port", "27x5"], "port: the port must be a whole number"),
        (["--system-id", "acme", "--port", "0"], "port: the port must be 1–65535"),
        (["--system-id", "a" * 16], "system_id: at most 15 characters (SMPP 3.4)"),
        (["--system-id", "acme", "--bind-mode", "both"], "bind_mode: choose transceiver or pair"),
        (["--system-id", "acme", "--concat", "udh"], "concat: choose udh8 or udh16 or sar"),
        (
            ["--system-id", "acme", "--source-ton", "9", "--throughput", "-1"],
            "source_ton: the type of number (TON) must be 0–6; "
            "throughput: the throughput must be 0–10000",
        ),
        (
            ["--system-id", "acme", "--account-sid", "AC1"],
            "a smpp connector has no option --account-sid",
        ),
    ],
    ids=["port-text", "port-zero", "long-system-id", "bind-mode", "concat", "two", "foreign"],
)
def test_smpp_add_refusals_name_the_setting_and_write_nothing(
    env: dict[str, str], args: list[str], line: str
) -> None:
    result = run(env, *SMPP_ADD, *args, "--no-test", "--secret-stdin", stdin=b"pw\n")
    assert line in result.error_line(1)
    assert names(env) == ["Carrier HTTPS", "Twilio"]
    assert not secrets_dir(env).exists()


def test_smpp_needs_its_host_system_id_and_bind_password(env: dict[str, str]) -> None:
    add = ["connector", "add", "SMSC", "--type", "smpp", "--no-test"]
    missing = run(env, *add, "--secret-stdin", stdin=b"pw\n")
    assert missing.error_line(1) == (
        "bannertui: Invalid connector: host: the SMSC's host name or address is required; "
        "system_id: the system id the SMSC gave you is required\n"
    )
    # no terminal and no --secret-stdin: refused, nothing written
    no_terminal = run(env, *add, "--host", "smsc.example.net", "--system-id", "acme")
    assert "--secret-stdin" in no_terminal.error_line(2)
    empty = run(
        env,
        *add,
        "--host",
        "smsc.example.net",
        "--system-id",
        "acme",
        "--secret-stdin",
        stdin=b"\n",
    )
    assert "the secret is empty" in empty.error_line(2)
    other_type = run(env, "connector", "add", "X", "--type", "https-json", "--host", "a.example")
    assert "a https-json connector has no option --host" in other_type.error_line(1)
    assert names(env) == ["Carrier HTTPS", "Twilio"]


def test_the_bind_password_is_asked_without_echo_on_a_terminal(env: dict[str, str]) -> None:
    code, shown = on_terminal(
        env,
        [*SMPP_ADD, "--system-id", "acme", "--no-test"],
        [("Bind password: ", BIND_PASSWORD), ("confirmation: ", BIND_PASSWORD)],
    )
    assert code == 0, shown
    assert "connector SMSC added (id 3, smpp)" in shown
    assert BIND_PASSWORD not in shown
    secret_file = secrets_dir(env) / "connector-3-secret"
    assert secret_file.read_text(encoding="utf-8") == BIND_PASSWORD


def test_smpp_numbers_are_added_not_listed(env: dict[str, str]) -> None:
    add = [*SMPP_ADD, "--system-id", "acme", "--secret-stdin", "--no-test"]
    assert run(env, *add, stdin=b"pw\n").code == 0
    refused = run(env, "connector", "numbers", "SMSC")
    assert refused.error_line(1).startswith(
        "bannertui: Invalid connector: an SMPP connector cannot list the carrier's numbers: "
        "add each one the carrier gave you with `bannertui connector add-number 3 NUMBER`"
    )
    added = run(env, "connector", "add-number", "SMSC", "+33 7 57 00 00 70", "--label", "Carrier")
    assert added == Result(0, "number +33757000070 added to SMSC\n", "")
    assert run(env, "number", "add", "+33757000071", "--connector", "smsc").code == 0
    assert run(env, "connector", "show", "SMSC").json()["numbers"] == [
        "+33757000070",
        "+33757000071",
    ]


def test_smpp_connection_test_through_the_gateway_factory(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean_logging: None,
) -> None:
    refused = FakeGateway(
        ConnectionReport(ConnectionCheck.BIND_REFUSED, "the SMSC answered ESME_RINVPASWD")
    )
    add = [*SMPP_ADD, "--system-id", "acme", "--port", "3550", "--secret-stdin"]
    results = [run_here(env, monkeypatch, capsys, refused, *add, stdin=b"wrong\n")]
    assert results[-1].error_line(1) == (
        "bannertui: Connection test failed: bind refused: the SMSC answered ESME_RINVPASWD\n"
    )
    (config,) = refused.configs
    assert isinstance(config, SmppConfig)
    assert (config.host, config.port, config.system_id, config.password) == (
        "127.0.0.1",
        3550,
        "acme",
        "wrong",
    )
    assert names(env) == ["Carrier HTTPS", "Twilio"]
    assert not secrets_dir(env).exists()

    bound = FakeGateway(ConnectionReport(ConnectionCheck.REACHABLE, "bound as acme"))
    results.append(
        run_here(env, monkeypatch, capsys, bound, *add, stdin=f"{BIND_PASSWORD}\n".encode())
    )
    assert results[-1] == Result(
        0, "connection test: reachable: bound as acme\nconnector SMSC added (id 3, smpp)\n", ""
    )
    results.append(run_here(env, monkeypatch, capsys, bound, "connector", "test", "SMSC"))
    assert results[-1] == Result(0, "reachable: bound as acme\n", "")
    config = bound.configs[-1]
    assert isinstance(config, SmppConfig)
    assert (config.connector_id, config.password) == (3, BIND_PASSWORD)  # the saved one

    results.append(run_here(env, monkeypatch, capsys, refused, "connector", "test", "3"))
    assert results[-1] == Result(1, "bind refused: the SMSC answered ESME_RINVPASWD\n", "")
    # an edit whose test fails saves nothing
    results.append(
        run_here(env, monkeypatch, capsys, refused, "connector", "edit", "SMSC", "--window", "5")
    )
    assert results[-1].error_line(1).startswith("bannertui: Connection test failed: bind refused")
    assert run(env, "connector", "show", "SMSC").json()["settings"]["window"] == 10
    assert not shows_a_secret(*results)


# --- remove ------------------------------------------------------------------------------------


def test_remove_is_refused_while_in_use_and_confirmed(env: dict[str, str]) -> None:
    in_use = run(env, "connector", "remove", "Carrier HTTPS", "--yes")
    assert in_use.error_line(1).startswith("bannertui: Connector in use: Carrier HTTPS serves ")
    add = ["connector", "add", "Spare", "--type", "https-json", "--url", CLOSED_URL, "--no-test"]
    assert run(env, *add).code == 0
    unconfirmed = run(env, "connector", "remove", "Spare")
    assert "--yes" in unconfirmed.error_line(2)
    assert names(env) == ["Carrier HTTPS", "Twilio", "Spare"]
    assert run(env, "connector", "remove", "spare", "--yes") == Result(
        0, "connector Spare removed\n", ""
    )
    assert names(env) == ["Carrier HTTPS", "Twilio"]


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["show", "1"],
        ["test", "1"],
        ["add", "X", "--type", "https-json", "--url", CLOSED_URL, "--no-test"],
        ["edit", "1", "--url", CLOSED_URL, "--no-test"],
        ["remove", "2", "--yes"],
        ["numbers", "1"],
        ["add-number", "1", "+33757000098"],
    ],
    ids=lambda args: args[0],
)
def test_an_agent_is_refused(env: dict[str, str], args: list[str]) -> None:
    path = Path(env["BANNERTUI_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as conn:  # ME becomes an agent of the demo's agent profile
        conn.execute(
            "UPDATE agent SET profile_id = (SELECT id FROM profile WHERE role = 'agent' LIMIT 1)"
            " WHERE login = ?",
            (ME,),
        )
    assert "Not allowed" in run(env, "connector", *args).error_line(1)
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM connector ORDER BY id")] == [
            "Carrier HTTPS",
            "Twilio",
        ]
