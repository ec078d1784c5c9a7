"""``bannertui agent add|disable|enable|remove`` (issue #17) as real subprocesses.

On SQLite (every test but the last two) the caller is the OS account running the suite
(``ME``): the database is made once per module by ``db init --admin ME`` and ``db
seed-demo`` (ME the first administrator, beside the demo's alice, bruno, chloe, david, sam and
admin), and copied for each test.  Another agent's commands are run by ME acting as them
(``sms send --agent``), which authenticates them as their own would.

On PostgreSQL (the last two tests; skipped with BANNERTUI_TEST_PG=0) the caller is the
database role the URL logs in as, whatever the OS account, and ``agent add`` creates that
role in its group: checked in ``pg_roles``/``pg_auth_members`` as the superuser.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from test_cli_commands import Result, make_env, run, sqlite_url
from test_cli_identity import audit_actors, dump, sql

ME = pwd.getpwuid(os.getuid()).pw_name
NOT_A_LOGIN = (
    "is not a login (1–63 visible characters, no space, not beginning with pg_ or bannertui_)"
)
NOT_ADMIN = f"bannertui: Not allowed: {ME} is not an administrator: this command is for them\n"


def send_as(login: str) -> list[str]:
    """An administrator's ``sms send`` as ``login``: refused unless they are an active agent."""
    return [
        *("sms", "send", "--agent", login, "--to", "+33612000009"),
        *("--from", "+33757000001", "--text", "hello"),
    ]


def agent_row(path: Path, login: str) -> list[tuple[object, ...]]:
    """(login, display name, profile, role, active) of ``login``: [] when there is none."""
    return sql(
        path,
        "SELECT a.login, a.display_name, p.name, p.role, a.active FROM agent a"
        " JOIN profile p ON p.id = a.profile_id WHERE a.login = ?",
        login,
    )


def audit(path: Path, action: str) -> list[tuple[object, ...]]:
    return sql(path, "SELECT actor, target FROM audit_event WHERE action = ? ORDER BY id", action)


# --- SQLite: the OS account is the caller ---------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ME the first administrator (``db init``), then the demo data beside them."""
    root = tmp_path_factory.mktemp("cli-agents")
    path = root / "template.sqlite3"
    env = make_env(root, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert run(env, "db", "init", "--admin", ME, "--name", "Ops") == Result(
        0, f"administrator {ME} created\n", ""
    )
    assert run(env, "db", "seed-demo") == Result(0, "demo data loaded\n", "")
    return path


def copy_of(template: Path, tmp_path: Path) -> tuple[dict[str, str], Path]:
    path = tmp_path / "team.sqlite3"
    with sqlite3.connect(template) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    return make_env(tmp_path, BANNERTUI_DATABASE_URL=sqlite_url(path)), path


@pytest.fixture
def admin(template: Path, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The module's database, this test's own copy: ME is an administrator."""
    env, path = copy_of(template, tmp_path)
    assert agent_row(path, ME) == [(ME, "Ops", "Administrator", "admin", 1)]
    return env, path


@pytest.fixture
def agent(template: Path, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The module's database, this test's own copy, where ME is a mere agent (alice's
    profile instead of the Administrator one)."""
    env, path = copy_of(template, tmp_path)
    sql(
        path,
        "UPDATE agent SET profile_id = (SELECT id FROM profile WHERE name = 'Direct and Smart')"
        " WHERE login = ?",
        ME,
    )
    assert agent_row(path, ME) == [(ME, "Ops", "Direct and Smart", "agent", 1)]
    return env, path


# --- agent add --------------------------------------------------------------------------------


def test_an_administrator_adds_an_agent_who_can_then_act(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    assert agent_row(path, "zoe") == []
    result = run(env, "agent", "add", "zoe", "--profile", "Direct and Smart", "--name", "Zoé Z")
    assert result == Result(0, "agent zoe added\n", "")
    assert agent_row(path, "zoe") == [("zoe", "Zoé Z", "Direct and Smart", "agent", 1)]
    assert audit(path, "agent.created")[-1] == (ME, "agent:zoe")
    # zoe is an agent now: the administrator sends as her (audited as such)
    sent = run(env, *send_as("zoe"))
    assert sent.code == 0, sent
    assert sent.json()["status"] == "pending"
    assert audit_actors(path, "sms.direct") == [f"{ME} as zoe"]


@pytest.mark.parametrize(
    ("login", "profile", "role", "shown"),
    [
        ("sup2", "Supervisor", "supervisor", "sup2"),
        ("ops2", "Administrator", "admin", "ops2"),
        ("x" * 63, "Smart only", "agent", "x" * 63),  # the longest login
        ("  padded  ", "Smart only", None, "padded"),  # spaces around it are not its
    ],
    ids=["supervisor", "admin", "63-characters", "stripped"],
)
def test_add_with_the_profiles_role_and_default_name(
    admin,  # type: ignore[no-untyped-def]
    login: str,
    profile: str,
    role: str | None,
    shown: str,
) -> None:
    env, path = admin
    args = ["agent", "add", login, "--profile", profile]
    if role is not None:
        args += ["--role", role]
    assert run(env, *args) == Result(0, f"agent {shown} added\n", "")
    rows = agent_row(path, shown)
    expected_role = role or "agent"
    assert rows == [(shown, shown, profile, expected_role, 1)]  # the name defaults to the login


@pytest.mark.parametrize(
    ("profile", "role", "line"),
    [
        ("Supervisor", "agent", "the profile 'Supervisor' is a supervisor one, not agent"),
        (
            "Administrator",
            "supervisor",
            "the profile 'Administrator' is an admin one, not supervisor",
        ),
        ("Direct and Smart", "admin", "the profile 'Direct and Smart' is an agent one, not admin"),
    ],
    ids=["supervisor-as-agent", "admin-as-supervisor", "agent-as-admin"],
)
def test_add_refuses_a_role_that_is_not_the_profiles(
    admin, profile: str, role: str, line: str
) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    result = run(env, "agent", "add", "zoe", "--profile", profile, "--role", role)
    assert result.error_line(1) == f"bannertui: Not allowed: {line}: the role is the profile's\n"
    assert dump(path) == before


def test_add_refuses_a_role_that_is_no_role(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    result = run(env, "agent", "add", "zoe", "--profile", "Supervisor", "--role", "boss")
    assert (
        result.error_line(2) == "bannertui: --role must be agent, supervisor or admin, not 'boss'\n"
    )
    assert dump(path) == before


def test_add_refuses_an_unknown_profile(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    line = run(env, "agent", "add", "zoe", "--profile", "Nope").error_line(1)
    assert line == "bannertui: Not allowed: no profile named 'Nope'\n"
    assert dump(path) == before


@pytest.mark.parametrize(
    ("login", "shown"),
    [
        ("z o", "'z o'"),
        ("pg_zoe", "'pg_zoe'"),
        ("PG_zoe", "'PG_zoe'"),
        ("bannertui_zoe", "'bannertui_zoe'"),
        ("x" * 64, repr("x" * 64)),
        ("é" * 32, repr("é" * 32)),  # 32 characters, 64 bytes
        ("   ", "''"),
    ],
    ids=["space", "pg_", "PG_", "bannertui_", "64-characters", "64-bytes", "blank"],
)
def test_add_refuses_a_bad_login(admin, login: str, shown: str) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    line = run(env, "agent", "add", login, "--profile", "Supervisor").error_line(1)
    assert line == f"bannertui: Not allowed: {shown} {NOT_A_LOGIN}\n"
    assert dump(path) == before


@pytest.mark.parametrize("login", ["alice", " alice", ME], ids=["alice", "padded", "themself"])
def test_add_refuses_an_existing_login(admin, login: str) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    line = run(env, "agent", "add", login, "--profile", "Supervisor").error_line(1)
    assert line == f"bannertui: Not allowed: {login.strip()} is an agent already\n"
    assert dump(path) == before


# --- administrators only ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["add", "zoe", "--profile", "Direct and Smart"],
        ["add", "zoe", "--profile", "Administrator", "--role", "admin"],
        ["disable", "alice"],
        ["enable", "alice"],
        ["remove", "bruno"],
    ],
    ids=["add", "add-admin", "disable", "enable", "remove"],
)
def test_an_agent_who_is_not_an_administrator_is_refused(agent, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    env, path = agent
    before = dump(path)
    assert run(env, "agent", *args).error_line(1) == NOT_ADMIN
    assert dump(path) == before


# --- agent disable / enable -------------------------------------------------------------------


def test_a_disabled_agent_is_refused_until_enabled_again(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    assert run(env, *send_as("alice")).code == 0  # before: alice may act
    sends = sql(path, "SELECT count(*) FROM message")

    assert run(env, "agent", "disable", "alice") == Result(0, "agent alice disabled\n", "")
    assert agent_row(path, "alice") == [("alice", "Alice Martin", "Direct and Smart", "agent", 0)]
    before = dump(path)
    assert run(env, *send_as("alice")).error_line(1) == "bannertui: Unknown agent: alice\n"
    assert dump(path) == before  # nothing sent, nothing charged
    assert sql(path, "SELECT count(*) FROM message") == sends

    assert run(env, "agent", "enable", "alice") == Result(0, "agent alice enabled\n", "")
    assert agent_row(path, "alice")[0][-1] == 1
    again = run(env, *send_as("alice"))
    assert again.code == 0, again
    assert audit(path, "agent.disabled") == [(ME, "agent:alice")]
    assert audit(path, "agent.enabled") == [(ME, "agent:alice")]
    assert audit_actors(path, "sms.direct") == [f"{ME} as alice", f"{ME} as alice"]


@pytest.mark.parametrize("command", ["disable", "enable", "remove"])
def test_an_unknown_login_is_named(admin, command: str) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    assert (
        run(env, "agent", command, "nobody").error_line(1) == "bannertui: Unknown agent: nobody\n"
    )
    assert dump(path) == before


@pytest.mark.parametrize("command", ["disable", "remove"])
def test_an_administrator_does_not_disable_or_remove_themself(admin, command: str) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    line = run(env, "agent", command, ME).error_line(1)
    assert line == f"bannertui: Not allowed: you cannot {command} yourself\n"
    assert dump(path) == before
    assert agent_row(path, ME)[0][-1] == 1
    assert run(env, "account", "show").json()["credits"] == 500  # ME still acts


# --- agent remove -----------------------------------------------------------------------------


def test_remove_an_agent_with_no_history(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    # bruno: no message or conversation of his, a member of two queues
    bruno = "(SELECT id FROM agent WHERE login = 'bruno')"
    assert sql(path, f"SELECT count(*) FROM message WHERE agent_id = {bruno}") == [(0,)]
    assert sql(path, f"SELECT count(*) FROM interaction WHERE agent_id = {bruno}") == [(0,)]
    assert sql(path, f"SELECT count(*) FROM queue_agent WHERE agent_id = {bruno}") == [(2,)]
    members = sql(path, "SELECT count(*) FROM queue_agent")[0][0]
    assert isinstance(members, int)

    assert run(env, "agent", "remove", "bruno") == Result(0, "agent bruno removed\n", "")
    assert agent_row(path, "bruno") == []
    assert sql(path, "SELECT count(*) FROM queue_agent") == [(members - 2,)]
    assert audit(path, "agent.removed") == [(ME, "agent:bruno")]
    assert run(env, *send_as("bruno")).error_line(1) == "bannertui: Unknown agent: bruno\n"


def test_an_agent_just_added_can_be_removed_and_added_again(admin) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    assert run(env, "agent", "add", "zoe", "--profile", "Supervisor").code == 0
    assert run(env, "agent", "remove", "zoe") == Result(0, "agent zoe removed\n", "")
    assert agent_row(path, "zoe") == []
    assert run(env, "agent", "add", "zoe", "--profile", "Smart only").code == 0
    assert agent_row(path, "zoe") == [("zoe", "zoe", "Smart only", "agent", 1)]


@pytest.mark.parametrize("login", ["alice", "chloe"], ids=["conversations", "a-message"])
def test_remove_refuses_an_agent_with_history(admin, login: str) -> None:  # type: ignore[no-untyped-def]
    env, path = admin
    before = dump(path)
    line = run(env, "agent", "remove", login).error_line(1)
    assert line == (
        f"bannertui: Not allowed: {login} has messages or conversations on record: disable "
        "them instead (`bannertui agent disable`)\n"
    )
    assert dump(path) == before
    assert agent_row(path, login)[0][-1] == 1


# --- PostgreSQL: the database role is the caller ----------------------------------------------


@pytest.fixture
def backend() -> str:
    """``database_url`` (tests/conftest.py) on PostgreSQL: a throw-away database there."""
    return "postgresql"


def as_role(url: str, login: str) -> str:
    """``url`` logged in as ``login`` (trust on loopback; peer or a password in production)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{login}@{rest.split('@', 1)[1]}"


def pg(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    """``query`` as the superuser of the test server (``url`` is its)."""

    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


def role(url: str, login: str) -> tuple[bool, list[str], str | None] | None:
    """(can log in, its bannertui groups, its comment); None: there is no such role."""
    rows = pg(
        url,
        "SELECT r.rolcanlogin, shobj_description(r.oid, 'pg_authid') AS comment,"
        " ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        "       WHERE m.member = r.oid AND g.rolname LIKE 'bannertui\\_%' ORDER BY 1) AS groups"
        " FROM pg_roles r WHERE r.rolname = $1",
        login,
    )
    if not rows:
        return None
    return bool(rows[0]["rolcanlogin"]), list(rows[0]["groups"]), rows[0]["comment"]


def login_of(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0]


@pytest.fixture
def pg_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The demo data in a PostgreSQL database, loaded by its owner (the test server's
    superuser), who is no agent there, and neither is the OS account running the suite."""
    env = make_env(tmp_path)
    assert run(env, "db", "seed-demo", "--db", database_url) == Result(0, "demo data loaded\n", "")
    assert pg(database_url, "SELECT 1 FROM agent WHERE login = $1", ME) == []
    return env


@pytest.fixture
def new_login(database_url: str) -> Iterator[str]:
    """A login no role of the server has; its role dropped afterwards (roles outlive the
    database that made them)."""
    login = f"zoe_{uuid.uuid4().hex[:8]}"
    assert role(database_url, login) is None
    yield login
    pg(database_url, f'DROP ROLE IF EXISTS "{login}"')


def test_on_postgresql_the_caller_is_the_database_role(database_url: str, pg_env) -> None:  # type: ignore[no-untyped-def]
    owner = database_url
    alice = as_role(owner, "alice")
    # alice's role, whatever the OS account (ME, who is no agent here): not an administrator
    shown = run(pg_env, "account", "show", "--db", alice).json()
    assert shown == {"name": "Demo Contact Center", "credits": 500, "provider_set": True}
    send = ["sms", "send", "--to", "+33612000009", "--from", "+33757000001", "--text", "hi"]
    sent = run(pg_env, *send, "--db", alice)
    assert sent.json()["status"] == "pending"
    actors = pg(owner, "SELECT actor FROM audit_event WHERE action = 'sms.direct'")
    assert [r["actor"] for r in actors] == ["alice"]
    assert run(pg_env, "agent", "disable", "bruno", "--db", alice).error_line(1) == (
        "bannertui: Not allowed: alice is not an administrator: this command is for them\n"
    )
    # the administrator's role sees the provider's URL
    assert "provider_url" in run(pg_env, "account", "show", "--db", as_role(owner, "admin")).json()
    # a role that is no agent of this database (the owner, here a superuser)
    unknown = f"bannertui: Unknown agent: {login_of(owner)}\n"
    assert run(pg_env, "account", "show", "--db", owner).error_line(1) == unknown
    before = pg(owner, "SELECT count(*) FROM agent")
    result = run(pg_env, "agent", "add", "zoe", "--profile", "Supervisor", "--db", owner)
    assert result.error_line(1) == unknown
    assert pg(owner, "SELECT count(*) FROM agent") == before


def test_on_postgresql_agent_add_makes_the_login_role(
    database_url: str,
    pg_env,  # type: ignore[no-untyped-def]
    new_login: str,
) -> None:
    owner = database_url
    admin = ["--db", as_role(owner, "admin")]
    theirs = ["--db", as_role(owner, new_login)]
    result = run(
        pg_env, "agent", "add", new_login, "--profile", "Supervisor", "--role", "supervisor", *admin
    )
    assert result == Result(0, f"agent {new_login} added\n", "")
    assert role(owner, new_login) == (True, ["bannertui_supervisors"], "bannertui agent")
    # they connect as their role and act as themselves
    shown = run(pg_env, "account", "show", *theirs).json()
    assert (shown["credits"], "provider_url" in shown) == (500, False)

    assert run(pg_env, "agent", "disable", new_login, *admin).code == 0
    assert role(owner, new_login) == (False, [], "bannertui agent")
    line = run(pg_env, "account", "show", *theirs).error_line(1)
    assert line.startswith("bannertui: Cannot open the database "), line
    assert f'role "{new_login}" is not permitted to log in' in line

    assert run(pg_env, "agent", "enable", new_login, *admin).code == 0
    assert role(owner, new_login) == (True, ["bannertui_supervisors"], "bannertui agent")
    assert run(pg_env, "account", "show", *theirs).json()["credits"] == 500

    assert run(pg_env, "agent", "remove", new_login, *admin).code == 0
    assert role(owner, new_login) == (False, [], "bannertui agent")
    assert pg(owner, "SELECT 1 FROM agent WHERE login = $1", new_login) == []
    # a login naming a role it did not make (the superuser) is refused, nothing written
    superuser = login_of(owner)
    was = role(owner, superuser)
    result = run(pg_env, "agent", "add", superuser, "--profile", "Supervisor", *admin)
    assert result.error_line(1) == (
        f"bannertui: Not allowed: the database role {superuser} exists and is not a bannertui"
        " agent\n"
    )
    assert pg(owner, "SELECT 1 FROM agent WHERE login = $1", superuser) == []
    assert role(owner, superuser) == was
