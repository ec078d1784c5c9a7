"""Who is acting, from the command line (issue [1/8]): the OS account of the process, never a
name someone typed or set in the environment.

Each reproduction from real use is a test here.  The suite runs as one OS account (the one
``pwd.getpwuid(os.getuid())`` names, ``root`` in CI); a database either has no agent of that
login (the caller is unknown), makes it an agent (``alice``'s record renamed), or makes it
its first administrator (``bannertui db init --admin``).
"""

from __future__ import annotations

import os
import pwd
import sqlite3
from pathlib import Path

import pytest
from test_cli_commands import Result, make_env, run, sqlite_url

ME = pwd.getpwuid(os.getuid()).pw_name
SEND_AS_SAM = ["sms", "send", "--agent", "sam", "--to", "+33612000009", "--text", "hello"]


def dump(path: Path) -> list[str]:
    """Every row of every table: "nothing was written" is this unchanged."""
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def sql(path: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
    return rows


def seeded(tmp_path: Path, name: str = "demo.sqlite3") -> tuple[dict[str, str], Path]:
    path = tmp_path / name
    env = make_env(tmp_path, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert run(env, "db", "seed-demo") == Result(0, "demo data loaded\n", "")
    return env, path


@pytest.fixture
def unknown(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The demo database; the OS account running the tests has no agent record in it."""
    env, path = seeded(tmp_path)
    assert sql(path, "SELECT count(*) FROM agent WHERE login = ?", ME) == [(0,)]
    return env, path


@pytest.fixture
def agent(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The demo database where the OS account is an agent (alice's Direct + Smart profile)."""
    env, path = seeded(tmp_path)
    sql(path, "UPDATE agent SET login = ? WHERE login = 'alice'", ME)
    return env, path


@pytest.fixture
def admin(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A database initialised with the OS account as its first administrator, then the demo
    data loaded beside it."""
    path = tmp_path / "team.sqlite3"
    env = make_env(tmp_path, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert run(env, "db", "init", "--admin", ME, "--name", "Ops") == Result(
        0, f"administrator {ME} created\n", ""
    )
    assert run(env, "db", "seed-demo") == Result(0, "demo data loaded\n", "")
    return env, path


def audit_actors(path: Path, action: str) -> list[object]:
    return [r[0] for r in sql(path, "SELECT actor FROM audit_event WHERE action = ?", action)]


# --- reproductions ----------------------------------------------------------------------


def test_console_as_an_unknown_os_account_is_refused_even_naming_admin(unknown) -> None:  # type: ignore[no-untyped-def]
    env, path = unknown
    before = dump(path)
    line = run(env, "--agent", "admin").error_line(1)
    assert line == f"bannertui: Unknown agent: {ME}\n"
    assert dump(path) == before


def test_user_and_logname_do_not_change_who_is_acting(unknown) -> None:  # type: ignore[no-untyped-def]
    env, _ = unknown
    line = run({**env, "USER": "admin", "LOGNAME": "admin"}).error_line(1)
    assert line == f"bannertui: Unknown agent: {ME}\n"


@pytest.mark.parametrize(
    "args",
    [
        ["provider", "set", "--url", "https://sms.example.com/api"],
        ["account", "add-credits", "5000"],
        SEND_AS_SAM,
        ["account", "show"],
        ["simulate", "sms", "--from", "+33612000009", "--to", "+33757000001", "--text", "x"],
    ],
    ids=["provider-set", "add-credits", "sms-send-as-sam", "account-show", "simulate-sms"],
)
def test_commands_refuse_an_unknown_os_account(unknown, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    env, path = unknown
    before = dump(path)
    line = run(env, *args).error_line(1)
    assert line == f"bannertui: Unknown agent: {ME}\n"
    assert dump(path) == before  # nothing written: balance, outbox and audit trail alike


# --- an agent who is not an administrator -----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["provider", "set", "--url", "https://sms.example.com/api"],
        ["provider", "show"],
        ["account", "add-credits", "5000"],
        SEND_AS_SAM,
        ["--agent", "admin"],
        ["simulate", "call", "+33612000009"],
    ],
    ids=["provider-set", "provider-show", "add-credits", "sms-as-sam", "console-as", "sim-call"],
)
def test_an_agent_cannot_act_as_administrator_or_as_someone_else(agent, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    env, path = agent
    before = dump(path)
    line = run(env, *args).error_line(1)
    assert line.startswith(f"bannertui: Not allowed: {ME} is not an administrator"), line
    assert dump(path) == before


def test_an_agent_sends_as_themself_and_the_audit_names_them(agent) -> None:  # type: ignore[no-untyped-def]
    env, path = agent
    args = ["sms", "send", "--to", "+33612000009", "--from", "+33757000001", "--text", "hi"]
    result = run(env, *args)
    assert result.code == 0, result
    assert audit_actors(path, "sms.direct") == [ME]
    # naming themself with --agent is the same
    assert run(env, *args, "--agent", ME).code == 0
    assert audit_actors(path, "sms.direct") == [ME, ME]


def test_account_show_is_for_every_agent(agent) -> None:  # type: ignore[no-untyped-def]
    env, _ = agent
    assert run(env, "account", "show").json()["credits"] == 500


# --- an administrator -------------------------------------------------------------------


def test_an_administrator_acting_as_an_agent_is_audited_as_such(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    result = run(env, *SEND_AS_SAM)
    assert result.code == 0, result
    assert audit_actors(path, "sms.direct") == [f"{ME} as sam"]


def test_an_administrator_adds_credits_audited_under_their_login(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    assert run(env, "account", "add-credits", "5").json() == {"credits": 505}
    assert audit_actors(path, "credits.added") == [ME]


def test_acting_as_an_unknown_agent_names_it(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    line = run(env, "sms", "send", "--agent", "nobody", "--to", "+33612000009", "--text", "x")
    assert line.error_line(1) == "bannertui: Unknown agent: nobody\n"
    assert dump(path) == before


# --- db init ------------------------------------------------------------------------------


def test_db_init_makes_the_first_administrator_once(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    env = make_env(tmp_path, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert run(env, "db", "init", "--admin", "ops").code == 0
    rows = sql(
        path,
        "SELECT a.login, p.role FROM agent a JOIN profile p ON p.id = a.profile_id",
    )
    assert rows == [("ops", "admin")]
    assert audit_actors(path, "agent.created") == ["system"]
    before = dump(path)
    line = run(env, "db", "init", "--admin", ME).error_line(1)
    assert "has an administrator already (ops)" in line
    assert dump(path) == before


def test_db_init_refuses_a_database_that_has_an_administrator(unknown) -> None:  # type: ignore[no-untyped-def]
    env, path = unknown
    before = dump(path)
    line = run(env, "db", "init", "--admin", ME).error_line(1)
    assert "has an administrator already (admin)" in line
    assert dump(path) == before


def test_seed_demo_into_a_used_database_needs_an_administrator(agent) -> None:  # type: ignore[no-untyped-def]
    env, path = agent
    before = dump(path)
    line = run(env, "db", "seed-demo").error_line(1)
    assert line.startswith(f"bannertui: Not allowed: {ME} is not an administrator"), line
    assert dump(path) == before


def test_seed_demo_beside_administrators_keeps_them(admin) -> None:  # type: ignore[no-untyped-def]
    _, path = admin
    logins = [r[0] for r in sql(path, "SELECT login FROM agent ORDER BY login")]
    assert {ME, "alice", "admin"} <= set(logins)
    role = sql(
        path,
        "SELECT p.role FROM agent a JOIN profile p ON p.id = a.profile_id WHERE a.login = ?",
        ME,
    )
    assert role == [("admin",)]


def test_seed_demo_twice_is_refused_even_for_an_administrator(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    line = run(env, "db", "seed-demo").error_line(1)
    assert "beyond its administrators" in line
    assert dump(path) == before
