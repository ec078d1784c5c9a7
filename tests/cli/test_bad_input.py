"""Bad input to every command, as a careless or hostile user types it (issue #16).

Each case runs the installed console script on its own copy of a seeded database and checks
what a person sees: exit code 1 (a refusal) or 2 (unusable input or usage), exactly one line
on stderr, ``bannertui: <cause>`` naming the cause, nothing on stdout, no traceback, and the
database as it was (every row of every table; no file created or left behind).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_cli_commands import make_env, run, sqlite_url
from test_cli_identity import ME, sql

#: The placeholder for the case's own database URL in ``args`` and ``env``.
DB = "{db}"
REFUSED, UNUSABLE = 1, 2
SEND = ["sms", "send", "--agent", "alice", "--from", "+33757000001", "--to", "+33612345678"]
REMINDER = [*SEND, "--template", "Appointment reminder"]


def junk(path: Path) -> None:
    path.write_text("junk\n")


def missing(path: Path) -> None:
    path.unlink()


def newer_schema(path: Path) -> None:
    sql(path, "UPDATE alembic_version SET version_num = 'ffff_from_the_future'")


def near_the_balance_limit(path: Path) -> None:
    sql(path, "UPDATE account SET credits = 999999990")


def a_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def bad_toml(root: Path) -> dict[str, str]:
    (root / "bad.toml").write_text('database_url = "unterminated\n')
    return {"BANNERTUI_CONFIG": str(root / "bad.toml")}


def wrong_type_toml(root: Path) -> dict[str, str]:
    (root / "typed.toml").write_text("pool_size = 'many'\n")
    return {"BANNERTUI_CONFIG": str(root / "typed.toml")}


def latin1_toml(root: Path) -> dict[str, str]:
    (root / "latin1.toml").write_bytes(b"# r\xe9glages\npool_size = 3\n")
    return {"BANNERTUI_CONFIG": str(root / "latin1.toml")}


def config_is_a_directory(root: Path) -> dict[str, str]:
    (root / "conf.d").mkdir()
    return {"BANNERTUI_CONFIG": str(root / "conf.d")}


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str | bytes]
    code: int
    #: A regular expression the error line must match (case-insensitive).
    cause: str
    env: dict[str, str] = field(default_factory=dict)
    stdin: bytes | None = None
    #: Spoils the case's database copy first (junk, missing, …).
    setup: Callable[[Path], None] | None = None
    #: Writes files into the case's folder and returns environment variables.
    config: Callable[[Path], dict[str, str]] | None = None


def case(id: str, args: list[str | bytes], code: int, cause: str, **kw: object) -> object:
    return pytest.param(Case(id, args, code, cause, **kw), id=id)  # type: ignore[arg-type]


CASES = [
    # --- usage: one line, the cause and where to get help, exit 2 ------------------------
    case("unknown-command", ["frobnicate"], UNUSABLE, r"no such command 'frobnicate'.*--help"),
    case("unknown-option", ["--frobnicate"], UNUSABLE, r"no such option.*--frobnicate"),
    case(
        "credits-not-a-number",
        ["account", "add-credits", "ten"],
        UNUSABLE,
        r"'amount'.*integer.*--help",
    ),
    case("port-too-big", ["webhook", "--port", "70000"], UNUSABLE, r"--port.*70000|65535"),
    case("port-not-a-number", ["serve", "--port", "http"], UNUSABLE, r"--port.*integer"),
    case("concurrency-zero", ["dispatch", "--concurrency", "0"], UNUSABLE, r"--concurrency"),
    case("lease-nan", ["dispatch", "--lease-seconds", "nan"], UNUSABLE, r"--lease-seconds"),
    case("lease-inf", ["dispatch", "--lease-seconds", "inf"], UNUSABLE, r"--lease-seconds"),
    case("missing-to", ["sms", "send", "--text", "hi"], UNUSABLE, r"missing option '--to'"),
    case("missing-number", ["check-number"], UNUSABLE, r"missing argument"),
    case("missing-db-value", ["account", "show", "--db"], UNUSABLE, r"--db.*requires an arg"),
    case("fail-rate-2", ["provider-sim", "--fail-rate", "2"], UNUSABLE, r"--fail-rate"),
    case("var-without-value", [*SEND, "--var", "firstname"], UNUSABLE, r"--var.*NAME=VALUE"),
    case("serve-agent-no-demo", ["serve", "--agent", "bob"], UNUSABLE, r"--agent is for --demo"),
    case("serve-wildcard", ["serve", "--host", "0.0.0.0"], UNUSABLE, r"--public-url"),
    case("serve-bad-public-url", ["serve", "--public-url", "ftp://x"], UNUSABLE, r"public"),
    case("init-without-admin", ["db", "init"], UNUSABLE, r"missing option '--admin'"),
    case("password-no-login", ["agent", "password"], UNUSABLE, r"missing argument"),
    case(
        "check-number-bad-allow",
        ["check-number", "+33612345678", "--allow", "ZZ9"],
        UNUSABLE,
        r"ZZ9",
    ),
    case("extra-argument", ["account", "show", "surplus"], UNUSABLE, r"unexpected.*surplus"),
    # --- arguments that are not UTF-8: the same line for every option ----------------------
    case(
        "agent-not-utf8",
        [*SEND[:2], "--agent", b"al\xffice", "--text", "hi", "--to", "+33612345678"],
        UNUSABLE,
        r"^bannertui: --agent: the argument is not valid UTF-8 text$",
    ),
    case(
        "url-not-utf8",
        ["provider", "set", "--url", b"https://h/\xff"],
        UNUSABLE,
        r"^bannertui: --url: the argument is not valid UTF-8 text$",
    ),
    case(
        "url-equals-not-utf8",
        ["provider", "set", b"--url=https://h/\xff"],
        UNUSABLE,
        r"^bannertui: --url: the argument is not valid UTF-8 text$",
    ),
    case(
        "to-not-utf8",
        [*SEND[:6], "--to", b"+336\xff", "--text", "hi"],
        UNUSABLE,
        r"^bannertui: --to: the argument is not valid UTF-8 text$",
    ),
    case(
        "number-not-utf8",
        ["check-number", b"\xed\xa0\x80"],
        UNUSABLE,
        r"^bannertui: the argument is not valid UTF-8 text$",
    ),
    case(
        "db-not-utf8",
        ["account", "show", "--db", b"sqlite+aiosqlite:///x\xff.sqlite3"],
        UNUSABLE,
        r"^bannertui: --db: the argument is not valid UTF-8 text$",
    ),
    case(
        "password-stdin-not-utf8",
        ["agent", "password", "alice", "--password-stdin"],
        UNUSABLE,
        r"standard input is not valid UTF-8",
        stdin=b"\xff\xfepassword\n",
    ),
    case(
        "provider-password-not-utf8",
        ["provider", "set", "--url", "https://sms.example.com", "--login", "u", "--password-stdin"],
        UNUSABLE,
        r"standard input is not valid UTF-8",
        stdin=b"secr\xe9t-password\n",
    ),
    # --- configuration: the file or the variable named, one line ---------------------------
    case("config-bad-toml", ["account", "show"], UNUSABLE, r"bad\.toml.*line 1", config=bad_toml),
    case(
        "config-wrong-type",
        ["account", "show"],
        UNUSABLE,
        r"typed\.toml.*pool_size",
        config=wrong_type_toml,
    ),
    case(
        "config-not-utf8", ["account", "show"], UNUSABLE, r"latin1\.toml.*UTF-8", config=latin1_toml
    ),
    case(
        "config-directory", ["account", "show"], UNUSABLE, r"conf\.d", config=config_is_a_directory
    ),
    case(
        "busy-timeout-abc",
        ["account", "show"],
        UNUSABLE,
        r"BANNERTUI_SQLITE_BUSY_TIMEOUT.*'abc'.*number",
        env={"BANNERTUI_SQLITE_BUSY_TIMEOUT": "abc"},
    ),
    case(
        "busy-timeout-negative",
        ["account", "show"],
        UNUSABLE,
        r"BANNERTUI_SQLITE_BUSY_TIMEOUT",
        env={"BANNERTUI_SQLITE_BUSY_TIMEOUT": "-1"},
    ),
    case(
        "pool-size-zero",
        ["account", "show"],
        UNUSABLE,
        r"BANNERTUI_POOL_SIZE",
        env={"BANNERTUI_POOL_SIZE": "0"},
    ),
    # --- the database: never a traceback, never a database made by mistake -----------------
    case("junk-file-show", ["account", "show"], REFUSED, r"not a (SQLite )?database", setup=junk),
    case("junk-file-upgrade", ["db", "upgrade"], REFUSED, r"not a (SQLite )?database", setup=junk),
    case("junk-file-seed", ["db", "seed-demo"], REFUSED, r"not a (SQLite )?database", setup=junk),
    case(
        "junk-file-send", [*SEND, "--text", "hi"], REFUSED, r"not a (SQLite )?database", setup=junk
    ),
    case(
        "pg-refused-upgrade",
        ["db", "upgrade", "--db", "postgresql+asyncpg://nobody@127.0.0.1:1/x"],
        REFUSED,
        r"cannot connect.*127\.0\.0\.1:1.*refused",
    ),
    case(
        "pg-refused-show",
        ["account", "show", "--db", "postgresql+asyncpg://nobody@127.0.0.1:1/x"],
        REFUSED,
        r"cannot connect.*refused",
    ),
    case(
        "pg-unknown-host",
        ["account", "show", "--db", "postgresql+asyncpg://u@no-such-host.invalid/x"],
        REFUSED,
        r"cannot connect.*no-such-host\.invalid",
    ),
    case(
        "unsupported-url",
        ["account", "show", "--db", "mysql://u@h/x"],
        UNUSABLE,
        r"unsupported database url",
    ),
    case("not-a-url", ["account", "show", "--db", "not a url"], UNUSABLE, r"invalid database url"),
    case(
        "proc-path",
        ["db", "upgrade", "--db", "sqlite+aiosqlite:////proc/x.sqlite3"],
        REFUSED,
        r"/proc",
    ),
    case("directory-path", ["account", "show"], REFUSED, r"is a directory", setup=a_directory),
    case(
        "missing-show", ["account", "show"], REFUSED, r"no database at .*db upgrade", setup=missing
    ),
    case("missing-send", [*SEND, "--text", "hi"], REFUSED, r"no database at", setup=missing),
    case("missing-dispatch", ["dispatch", "--once"], REFUSED, r"no database at", setup=missing),
    case("missing-provider-show", ["provider", "show"], REFUSED, r"no database at", setup=missing),
    case(
        "missing-add-credits",
        ["account", "add-credits", "5"],
        REFUSED,
        r"no database at",
        setup=missing,
    ),
    case(
        "upgrade-missing-directory",
        ["db", "upgrade", "--db", "sqlite+aiosqlite:///{root}/no-such-dir/x.sqlite3"],
        REFUSED,
        r"no-such-dir.*does not exist",
    ),
    case(
        "newer-schema",
        ["account", "show"],
        REFUSED,
        r"newer than this bannertui",
        setup=newer_schema,
    ),
    # --- amounts: bounded, and integers stay integers --------------------------------------
    case(
        "credits-overflow",
        ["account", "add-credits", "99999999999999999999999"],
        UNUSABLE,
        r"invalid amount.*1,000,000,000",
    ),
    case(
        "credits-int64-max",
        ["account", "add-credits", "9223372036854775807"],
        UNUSABLE,
        r"invalid amount.*1,000,000,000",
    ),
    case("credits-zero", ["account", "add-credits", "0"], UNUSABLE, r"invalid amount"),
    case("credits-negative", ["account", "add-credits", "--", "-5"], UNUSABLE, r"invalid amount"),
    case("credits-fraction", ["account", "add-credits", "2.5"], UNUSABLE, r"'amount'.*integer"),
    case(
        "balance-limit",
        ["account", "add-credits", "1000"],
        REFUSED,
        r"balance limit.*1,000,000,000",
        setup=near_the_balance_limit,
    ),
    # --- templates: never a literal $variable sent -----------------------------------------
    case("template-no-variables", REMINDER, REFUSED, r"\$firstname.*\$date.*\$time"),
    case(
        "template-some-variables", [*REMINDER, "--var", "firstname=Ann"], REFUSED, r"\$date.*\$time"
    ),
    case(
        "template-unknown", [*SEND, "--template", "No such template"], REFUSED, r"invalid template"
    ),
    # --- sends and settings refused by the rules, each naming the rule ---------------------
    case(
        "send-bad-number", [*SEND[:6], "--to", "+33 12", "--text", "hi"], REFUSED, r"invalid number"
    ),
    case(
        "send-country",
        [*SEND[:6], "--to", "+12125550123", "--text", "hi"],
        REFUSED,
        r"country not authorized|invalid number",
    ),
    case(
        "send-foreign-sender",
        [*SEND[:4], "--from", "+33612000001", "--to", "+33612345678", "--text", "hi"],
        REFUSED,
        r"sender",
    ),
    case("send-empty", [*SEND, "--text", ""], REFUSED, r"empty message"),
    case("send-too-long", [*SEND, "--text", "a" * 1300], REFUSED, r"credit limit exceeded"),
    case(
        "send-unknown-agent",
        ["sms", "send", "--agent", "nobody", "--to", "+33612345678", "--text", "hi"],
        REFUSED,
        r"unknown agent: nobody",
    ),
    case(
        "provider-http",
        ["provider", "set", "--url", "http://sms.example.com"],
        REFUSED,
        r"invalid provider url",
    ),
    case(
        "provider-ca-missing",
        ["provider", "set", "--url", "https://sms.example.com", "--ca-file", "/no/such/ca.pem"],
        REFUSED,
        r"invalid ca file",
    ),
    case(
        "provider-empty-password",
        ["provider", "set", "--url", "https://sms.example.com", "--login", "u", "--password-stdin"],
        UNUSABLE,
        r"password is empty",
        stdin=b"\n",
    ),
    case(
        "password-too-short",
        ["agent", "password", "alice", "--password-stdin"],
        REFUSED,
        r"10 characters",
        stdin=b"short\n",
    ),
    case(
        "simulate-unknown-agent",
        ["simulate", "call", "+33612345678", "--agent", "nobody"],
        REFUSED,
        r"unknown agent: nobody",
    ),
    case("simulate-call-bad-number", ["simulate", "call", "junk"], REFUSED, r"invalid number"),
    case("init-twice", ["db", "init", "--admin", "eve"], REFUSED, r"administrator"),
    case("webhook-no-secret", ["webhook"], UNUSABLE, r"BANNERTUI_WEBHOOK_SECRET"),
    case(
        "sim-no-secret",
        ["provider-sim", "--webhook-url", "http://127.0.0.1:9"],
        UNUSABLE,
        r"BANNERTUI_WEBHOOK_SECRET",
    ),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the OS account as its administrator and the demo data beside it."""
    root = tmp_path_factory.mktemp("bad-input")
    path = root / "template.sqlite3"
    env = make_env(root, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert run(env, "db", "init", "--admin", ME).code == 0
    assert run(env, "db", "seed-demo").code == 0
    return path


def snapshot(folder: Path) -> dict[str, object]:
    """Every file of ``folder``: a SQLite database as its rows, anything else as its bytes."""
    out: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_dir():
            out[rel] = "dir"
        elif path.suffix == ".sqlite3":
            try:
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                    out[rel] = list(conn.iterdump())
            except sqlite3.DatabaseError:
                out[rel] = path.read_bytes()
        elif not path.name.endswith(("-wal", "-shm")):
            out[rel] = path.read_bytes()
    return out


def test_there_are_at_least_sixty_bad_inputs() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_one_line_and_changes_nothing(
    bad: Case, template: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    path = folder / "bannertui.sqlite3"
    shutil.copy(template, path)
    if bad.setup is not None:
        bad.setup(path)
    url = sqlite_url(path)
    extra = {"BANNERTUI_DATABASE_URL": url, **bad.env}
    if bad.config is not None:
        extra.update(bad.config(folder))
    env = make_env(tmp_path, **extra)
    before = snapshot(folder)

    def fill(arg: str | bytes) -> str | bytes:
        if isinstance(arg, bytes):
            return arg
        return arg.replace(DB, url).replace("{root}", str(tmp_path))

    result = run(env, *[fill(a) for a in bad.args], stdin=bad.stdin, cwd=tmp_path)

    assert "Traceback" not in result.err, result.err
    assert result.code == bad.code, result
    assert result.out == "", result
    assert result.err.endswith("\n"), result.err
    assert result.err.count("\n") == 1, result.err
    line = result.err.rstrip("\n")
    assert line.startswith("bannertui: "), line
    assert re.search(bad.cause, line, re.IGNORECASE), line
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in line), line
    assert snapshot(folder) == before
    assert not (tmp_path / "no-such-dir").exists()
    databases = {p for p in tmp_path.rglob("*.sqlite3") if p.is_file()}
    assert databases <= {path}, databases  # no database made by mistake
