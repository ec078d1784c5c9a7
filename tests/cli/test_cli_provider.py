"""``bannertui provider|account|sms`` as real subprocesses, on one demo database per module.

Every run gets ``BANNERTUI_DATA_DIR`` and ``BANNERTUI_CONFIG`` inside a temporary directory
(and no other ``BANNERTUI_*`` variable from the caller); the password file therefore lands in
the test's own config directory.  ``provider test`` talks to a real ``bannertui provider-sim``
subprocess over loopback HTTPS.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import selectors
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from forked_cli import run_cli

from bannertui.simulator.provider import make_tls

BIN = Path(sys.executable).with_name("bannertui")

PASSWORD = "s3cr3t-pass"
SHOW_KEYS = ["url", "auth_enabled", "login", "password", "password_source", "ca_file"]
CLOSED_URL = "https://127.0.0.1:1/sms"
SIM_LINE = re.compile(
    r"Provider simulator listening on (?P<url>https://127\.0\.0\.1:\d+/v1/sms) \(CA: (?P<ca>.+)\)"
)
ALICE_SEND = ["sms", "send", "--agent", "alice", "--to", "+33612000009", "--from", "+33757000001"]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, object]:
        """The one JSON object a successful command prints."""
        assert (self.code, self.err) == (0, ""), self
        assert self.out.endswith("\n")
        assert self.out.count("\n") == 1, self.out
        obj = json.loads(self.out)
        assert isinstance(obj, dict)
        return obj

    def error_line(self, code: int) -> str:
        """The single ``bannertui: ...`` line on stderr of a failed run (nothing on stdout)."""
        assert self.code == code, self
        assert self.out == "", self
        assert self.err.endswith("\n"), self.err
        assert self.err.count("\n") == 1, self.err
        assert self.err.startswith("bannertui: "), self.err
        return self.err

    def shows(self, secret: str) -> bool:
        return secret in self.out or secret in self.err


def make_env(root: Path, config_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
    env.update(
        BANNERTUI_DATA_DIR=str(root / "data"),
        BANNERTUI_CONFIG=str(config_dir / "config.toml"),
        COLUMNS="200",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str, stdin: bytes | None = None) -> Result:
    proc = run_cli(args, env=env, cwd=Path(env["BANNERTUI_DATA_DIR"]).parent, stdin=stdin)
    return Result(
        proc.returncode,
        proc.stdout.decode("utf-8"),
        proc.stderr.decode("utf-8", "backslashreplace"),
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-provider")


@pytest.fixture(scope="module")
def db_url(root: Path) -> str:
    """The demo data beside this OS account as the first administrator (``db init``): the
    commands run as the OS account, and the administrators' commands need one."""
    url = f"sqlite+aiosqlite:///{root / 'demo.sqlite3'}"
    env = make_env(root, root / "seed-config")
    me = pwd.getpwuid(os.getuid()).pw_name
    assert run(env, "db", "init", "--admin", me, "--db", url).code == 0
    result = run(env, "db", "seed-demo", "--db", url)
    assert result == Result(0, "demo data loaded\n", ""), result
    return url


@dataclass(frozen=True)
class Cli:
    root: Path
    config_dir: Path
    db_url: str

    @property
    def password_file(self) -> Path:
        return self.config_dir / "provider-password"

    def env(self, **extra: str) -> dict[str, str]:
        return make_env(self.root, self.config_dir, BANNERTUI_DATABASE_URL=self.db_url, **extra)

    def __call__(self, *args: str, stdin: bytes | None = None, **extra: str) -> Result:
        return run(self.env(**extra), *args, stdin=stdin)

    def set_provider(self, url: str, *args: str, password: str | None = None) -> Result:
        if password is None:
            return self("provider", "set", "--url", url, *args)
        return self(
            "provider",
            "set",
            "--url",
            url,
            *args,
            "--password-stdin",
            stdin=f"{password}\n".encode(),
        )


@pytest.fixture
def cli(root: Path, db_url: str, tmp_path: Path) -> Cli:
    """The module's database, with this test's own (empty) config directory."""
    return Cli(root, tmp_path / "config", db_url)


@dataclass(frozen=True)
class SimProcess:
    url: str
    ca: Path
    proc: subprocess.Popen[bytes]


def _first_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"provider-sim printed nothing within {timeout} s")
    line = proc.stdout.readline().decode("utf-8")
    if not line:
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        raise AssertionError(f"provider-sim exited ({proc.wait()}): {stderr}")
    return line


@contextlib.contextmanager
def provider_sim(cli: Cli, cert_dir: Path, *args: str, **extra: str) -> Iterator[SimProcess]:
    """``bannertui provider-sim --port 0`` in the background; SIGTERM on the way out."""
    proc = subprocess.Popen(
        [str(BIN), "provider-sim", "--port", "0", "--cert-dir", str(cert_dir), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli.env(**extra),
    )
    try:
        line = _first_line(proc, 30.0)
        match = SIM_LINE.fullmatch(line.rstrip("\n"))
        assert match, line
        yield SimProcess(match["url"], Path(match["ca"]), proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == 0, proc.returncode  # SIGTERM is a normal stop


# --- provider set ---------------------------------------------------------------------------------


def test_set_refuses_http(cli: Cli) -> None:
    line = cli.set_provider("http://x").error_line(1)
    assert line == "bannertui: Invalid provider URL: the URL must start with https://\n"


def test_set_refuses_credentials_in_the_url_without_echoing_them(cli: Cli) -> None:
    result = cli.set_provider(f"https://demo:{PASSWORD}@127.0.0.1:1/sms")
    line = result.error_line(1)
    assert line.startswith("bannertui: Invalid provider URL: ")
    assert not result.shows(PASSWORD)


def test_set_refuses_a_bad_login(cli: Cli) -> None:
    result = cli.set_provider(CLOSED_URL, "--login", "bad user", password=PASSWORD)
    line = result.error_line(1)
    assert line.startswith("bannertui: Invalid login: ")
    assert "' '" in line
    assert not result.shows(PASSWORD)
    assert not cli.password_file.exists()


def test_set_login_needs_a_password_source(cli: Cli) -> None:
    line = cli.set_provider(CLOSED_URL, "--login", "demo").error_line(2)
    assert "--password-stdin" in line
    assert not cli.password_file.exists()


def test_set_refuses_a_missing_ca_file(cli: Cli, tmp_path: Path) -> None:
    line = cli.set_provider(CLOSED_URL, "--ca-file", str(tmp_path / "nope.pem")).error_line(1)
    assert line.startswith("bannertui: Invalid CA file: ")
    assert line.rstrip().endswith("nope.pem does not exist")


def test_set_with_password_then_show(cli: Cli) -> None:
    set_result = cli.set_provider(CLOSED_URL, "--login", "demo", password=PASSWORD)
    assert set_result == Result(0, f"provider set: {CLOSED_URL} as demo\n", "")
    assert stat.S_IMODE(cli.password_file.stat().st_mode) == 0o600
    assert cli.password_file.read_text(encoding="utf-8") == PASSWORD
    assert sorted(p.name for p in cli.config_dir.iterdir()) == ["provider-password"]

    show = cli("provider", "show")
    obj = show.json()
    assert list(obj) == SHOW_KEYS
    assert obj == {
        "url": CLOSED_URL,
        "auth_enabled": True,
        "login": "demo",
        "password": "********",
        "password_source": "file",
        "ca_file": None,
    }
    for result in (set_result, show):
        assert not result.shows(PASSWORD)

    from_env = cli("provider", "show", BANNERTUI_PROVIDER_PASSWORD="another-secret").json()
    assert (from_env["password"], from_env["password_source"]) == ("********", "environment")
    assert "another-secret" not in json.dumps(from_env)


def test_show_password_from_environment_only(cli: Cli) -> None:
    assert cli.set_provider(CLOSED_URL, "--login", "demo", password=PASSWORD).code == 0
    cli.password_file.unlink()
    obj = cli("provider", "show").json()
    assert (obj["password"], obj["password_source"]) == (None, None)
    obj = cli("provider", "show", BANNERTUI_PROVIDER_PASSWORD=PASSWORD).json()
    assert (obj["password"], obj["password_source"]) == ("********", "environment")


def test_set_without_login_clears_the_password(cli: Cli, tmp_path: Path) -> None:
    assert cli.set_provider(CLOSED_URL, "--login", "demo", password=PASSWORD).code == 0
    assert cli.password_file.exists()
    ca = make_tls(tmp_path / "tls").ca
    result = cli.set_provider(CLOSED_URL, "--ca-file", str(ca))
    assert result == Result(0, f"provider set: {CLOSED_URL}\n", "")
    assert not cli.password_file.exists()
    assert cli("provider", "show").json() == {
        "url": CLOSED_URL,
        "auth_enabled": False,
        "login": None,
        "password": None,
        "password_source": None,
        "ca_file": str(ca.resolve()),
    }


def test_show_with_a_readable_password_file_is_one_line(cli: Cli) -> None:
    assert cli.set_provider(CLOSED_URL, "--login", "demo", password=PASSWORD).code == 0
    cli.password_file.chmod(0o644)
    result = cli("provider", "show")
    line = result.error_line(1)
    assert f"chmod 600 {cli.password_file}" in line
    assert not result.shows(PASSWORD)


def test_test_with_a_readable_password_file_is_one_line(cli: Cli) -> None:
    assert cli.set_provider(CLOSED_URL, "--login", "demo", password=PASSWORD).code == 0
    cli.password_file.chmod(0o644)
    result = cli("provider", "test")
    line = result.error_line(1)
    assert f"chmod 600 {cli.password_file}" in line
    assert not result.shows(PASSWORD)


def test_set_refuses_an_empty_password(cli: Cli) -> None:
    assert cli.set_provider(CLOSED_URL, "--login", "demo", password="old-password").code == 0
    result = cli.set_provider(CLOSED_URL, "--login", "demo", password="")
    assert result.code != 0, result
    assert result.err.startswith("bannertui: ")


# --- provider test --------------------------------------------------------------------------------


def test_test_closed_port_is_unreachable(cli: Cli) -> None:
    url = f"https://127.0.0.1:{closed_port()}/v1/sms"
    assert cli.set_provider(url, "--login", "demo", password=PASSWORD).code == 0
    result = cli("provider", "test")
    assert result == Result(
        1, "unreachable: The provider could not be reached (ConnectError).\n", ""
    )
    assert not result.shows(PASSWORD)


def test_test_against_the_simulator(cli: Cli, tmp_path: Path) -> None:
    with provider_sim(cli, tmp_path / "sim-certs") as sim:
        assert sim.ca == tmp_path / "sim-certs" / "ca.pem"
        assert sim.ca.is_file()

        # Without the CA, the simulator's private authority is not trusted.
        assert cli.set_provider(sim.url) == Result(0, f"provider set: {sim.url}\n", "")
        result = cli("provider", "test")
        assert result.code == 1, result
        assert result.out.startswith("tls failure: ")

        assert cli.set_provider(sim.url, "--ca-file", str(sim.ca)).code == 0
        result = cli("provider", "test")
        assert result == Result(
            0, "reachable: The provider is reachable (HTTP 400 to an empty test request).\n", ""
        )


def test_test_against_the_simulator_with_credentials(cli: Cli, tmp_path: Path) -> None:
    sim_password = "sim-only-pw-9d2e"
    with provider_sim(
        cli, tmp_path / "sim-certs", "--login", "demo", BANNERTUI_SIM_PASSWORD=sim_password
    ) as sim:
        ca = ["--ca-file", str(sim.ca)]
        results = []

        results.append(cli.set_provider(sim.url, "--login", "demo", *ca, password=sim_password))
        assert results[-1].code == 0, results[-1]
        results.append(cli("provider", "test"))
        assert results[-1] == Result(
            0,
            "reachable: The provider is reachable and accepted the credentials "
            "(HTTP 400 to an empty test request).\n",
            "",
        )

        results.append(cli.set_provider(sim.url, "--login", "demo", *ca, password=PASSWORD))
        results.append(cli("provider", "test"))
        assert results[-1] == Result(
            1,
            "authentication refused: The provider refused the login and password (HTTP 401).\n",
            "",
        )

        # The environment variable wins over the (wrong) file.
        results.append(cli("provider", "test", BANNERTUI_PROVIDER_PASSWORD=sim_password))
        assert results[-1].code == 0, results[-1]
        assert results[-1].out.startswith("reachable: ")

        assert cli.set_provider(sim.url, *ca).code == 0  # no login: refused
        results.append(cli("provider", "test"))
        assert results[-1].out.startswith("authentication refused: "), results[-1]

        for result in results:
            assert not result.shows(sim_password), result
            assert not result.shows(PASSWORD), result


@pytest.mark.parametrize("problem", ["deleted", "not-pem"])
def test_test_with_an_unusable_ca_file_is_one_line(cli: Cli, tmp_path: Path, problem: str) -> None:
    ca = make_tls(tmp_path / "tls").ca
    assert cli.set_provider(CLOSED_URL, "--ca-file", str(ca)).code == 0
    if problem == "deleted":
        ca.unlink()
    else:
        ca.write_text("not a certificate\n", encoding="utf-8")
    result = cli("provider", "test")
    assert result.code == 1, result
    assert "Traceback" not in result.err, result.err
    assert result.err.count("\n") <= 1, result.err
    assert result.err.startswith("bannertui: Invalid CA file: "), result.err


def test_set_refuses_a_ca_file_that_is_not_pem(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n", encoding="utf-8")
    line = cli.set_provider(CLOSED_URL, "--ca-file", str(bad)).error_line(1)
    assert line.startswith("bannertui: Invalid CA file: ")
    assert "is not a PEM certificate file" in line


# --- account --------------------------------------------------------------------------------------


def test_account_show_and_add_credits(cli: Cli) -> None:
    before = cli("account", "show").json()
    # the provider's URL for administrators (the CLI's caller is one); whether one is set up
    # for everyone
    assert list(before) == ["name", "credits", "provider_set", "provider_url"]
    assert before["provider_set"] is True
    assert before["name"] == "Demo Contact Center"
    assert isinstance(before["credits"], int)
    added = cli("account", "add-credits", "5").json()
    assert added == {"credits": before["credits"] + 5}
    assert cli("account", "show").json()["credits"] == added["credits"]


def test_account_add_zero_credits(cli: Cli) -> None:
    before = cli("account", "show").json()["credits"]
    line = cli("account", "add-credits", "0").error_line(2)
    assert line == (
        "bannertui: Invalid amount: the credits to add must be a whole number from 1 to "
        "1,000,000,000 (got 0)\n"
    )
    assert cli("account", "show").json()["credits"] == before


def test_account_add_credits_not_a_number(cli: Cli) -> None:
    result = cli("account", "add-credits", "five")
    assert result.code == 2, result
    assert result.out == ""


# --- sms send -------------------------------------------------------------------------------------


def test_sms_send(cli: Cli) -> None:
    before = cli("account", "show").json()["credits"]
    obj = cli(*ALICE_SEND, "--text", "hi").json()
    assert list(obj) == ["retId", "credits", "status"]
    assert re.fullmatch(r"[0-9a-f]{32}", str(obj["retId"])), obj
    assert (obj["credits"], obj["status"]) == (1, "pending")
    assert cli("account", "show").json()["credits"] == before - 1
    again = cli(*ALICE_SEND, "--text", "hi").json()
    assert again["retId"] != obj["retId"]


def test_sms_send_with_a_template(cli: Cli) -> None:
    obj = cli(
        *ALICE_SEND,
        "--template",
        "Appointment reminder",
        "--var",
        "firstname=Léa",
        "--var",
        "$date=12/11",
        "--var",
        "time=10:00",
    ).json()
    assert (obj["credits"], obj["status"]) == (1, "pending")


def test_sms_send_without_direct_permission(cli: Cli) -> None:
    args = ["sms", "send", "--agent", "bruno", "--to", "+33612000009", "--text", "hi"]
    line = cli(*args, "--from", "+33757000001").error_line(1)
    assert line.startswith("bannertui: No Direct SMS permission")


@pytest.mark.parametrize("template", ["Draft (empty)", "No such template"])
def test_sms_send_invalid_template(cli: Cli, template: str) -> None:
    line = cli(*ALICE_SEND, "--template", template).error_line(1)
    assert line.startswith("bannertui: Invalid template")


@pytest.mark.parametrize("var", ["novalue", "=value"])
def test_sms_send_malformed_var(cli: Cli, var: str) -> None:
    line = cli(*ALICE_SEND, "--template", "Ticket follow-up", "--var", var).error_line(2)
    assert "--var expects NAME=VALUE" in line
