"""PostgreSQL is the trust boundary (issue #17): an agent with a console's credentials, on a
raw ``asyncpg`` connection logged in as their own role, can do no more than the console
lets them.  Every attack below is refused by PostgreSQL itself (a privilege, a row-level
security policy, a money function's check), not by our Python, which is not involved: the
connections here are plain asyncpg.  The same operations succeed for the roles allowed them.

The demo data (alice: agent, member of Support and Sales; bruno: agent; sam: supervisor;
admin), plus, written as the owner: a conversation of bruno's in Billing (a queue alice is not
a member of) with a message, bruno's draft, and a message of alice's own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from bannertui.services import Services
from bannertui.store.database import Database

pytestmark = [pytest.mark.pg, pytest.mark.usefixtures("seeded")]

Connect = Callable[[str], Awaitable[asyncpg.Connection]]


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
async def connect(database_url: str) -> AsyncIterator[Connect]:
    """``await connect(login)``: a raw connection to the test database as that role."""
    base = database_url.replace("postgresql+asyncpg://", "postgresql://")
    opened: list[asyncpg.Connection] = []

    async def go(login: str) -> asyncpg.Connection:
        rest = base.split("@", 1)[1]
        conn = await asyncpg.connect(f"postgresql://{login}@{rest}")
        opened.append(conn)
        return conn

    yield go
    for conn in opened:
        await conn.close()


async def owner(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))


class Facts:
    billing: int
    brunos_conversation: int
    brunos_message: int
    alices_message: int
    support: int


@pytest.fixture
async def facts(seeded: Database, database_url: str) -> Facts:
    f = Facts()
    conn = await owner(database_url)
    try:
        ids = {r["login"]: r["id"] for r in await conn.fetch("SELECT login, id FROM agent")}
        f.billing = await conn.fetchval("SELECT id FROM queue WHERE name = 'Billing'")
        f.support = await conn.fetchval("SELECT id FROM queue WHERE name = 'Support'")
        f.brunos_conversation = await conn.fetchval(
            "INSERT INTO interaction (channel, status, queue_id, agent_id, remote_number,"
            " unread, created_at) VALUES ('sms', 'progressing', $1, $2, '+33612000091', 0,"
            " now()) RETURNING id",
            f.billing,
            ids["bruno"],
        )
        message = (
            "INSERT INTO message (interaction_id, agent_id, queue_id, direction, from_number,"
            " to_number, remote_number, text, encoding, credits, type, status, folder,"
            " attempts, created_at, deleted, paid) VALUES ($1, $2, $3, 'outbound',"
            " '+33757000001', '+33612000091', '+33612000091', 'private', 'GSM-7', 1,"
            " 'NOTIFICATION', $4, $5, 0, now(), false, $6) RETURNING id"
        )
        f.brunos_message = await conn.fetchval(
            message, f.brunos_conversation, ids["bruno"], f.billing, "sent", "sent", True
        )
        f.alices_message = await conn.fetchval(
            message, None, ids["alice"], None, "pending", "pending", False
        )
        await conn.execute(
            "INSERT INTO draft (agent_id, slot, text, recipients, updated_at)"
            " VALUES ($1, 'direct', 'bruno typed this', '', now())",
            ids["bruno"],
        )
    finally:
        await conn.close()
    return f


def refused(kind: type[Exception] = asyncpg.InsufficientPrivilegeError) -> Any:
    return pytest.raises(kind)


# --- reading ------------------------------------------------------------------------------


async def test_another_queues_messages_are_not_there(connect: Connect, facts: Facts) -> None:
    alice = await connect("alice")
    assert (
        await alice.fetchval("SELECT count(*) FROM message WHERE queue_id = $1", facts.billing) == 0
    )
    assert (
        await alice.fetchval("SELECT count(*) FROM message WHERE id = $1", facts.brunos_message)
        == 0
    )
    # their own queues' and their own messages are
    assert (
        await alice.fetchval("SELECT count(*) FROM message WHERE id = $1", facts.alices_message)
        == 1
    )
    sam = await connect("sam")
    assert (
        await sam.fetchval("SELECT count(*) FROM message WHERE queue_id = $1", facts.billing) == 1
    )


async def test_another_agents_conversation_is_not_there(connect: Connect, facts: Facts) -> None:
    alice = await connect("alice")
    rows = await alice.fetch("SELECT * FROM interaction WHERE id = $1", facts.brunos_conversation)
    assert rows == []
    # nor can it be closed or taken over
    status = await alice.execute(
        "UPDATE interaction SET status = 'closed' WHERE id = $1", facts.brunos_conversation
    )
    assert status == "UPDATE 0"
    admin = await connect("admin")
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM interaction WHERE id = $1", facts.brunos_conversation
        )
        == 1
    )


async def test_another_agents_draft_is_not_there(connect: Connect, facts: Facts) -> None:
    alice = await connect("alice")
    assert await alice.fetchval("SELECT count(*) FROM draft") == 0
    bruno = await connect("bruno")
    assert await bruno.fetchval("SELECT text FROM draft") == "bruno typed this"


async def test_the_provider_settings_and_password_hashes_are_refused(connect: Connect) -> None:
    for login in ("alice", "sam"):
        conn = await connect(login)
        with refused():
            await conn.fetch("SELECT settings FROM connector")
        with refused():
            await conn.fetch("SELECT * FROM connector")
        with refused():
            await conn.fetch("SELECT password_hash FROM agent")
        with refused():
            await conn.execute("UPDATE connector SET configured = false")
        with refused():
            await conn.execute(
                "INSERT INTO connector (name, type, settings, configured, enabled)"
                " VALUES ('mine', 'https-json', '{}', true, true)"
            )
        # what they may know: the balance, and which connectors there are and can send
        assert await conn.fetchval("SELECT credits FROM account") is not None
        rows = await conn.fetch("SELECT id, name, type, configured FROM connector ORDER BY id")
        assert (rows[0]["id"], rows[0]["configured"]) == (1, True)
    admin = await connect("admin")
    assert await admin.fetchval("SELECT settings FROM connector WHERE id = 1")


# --- money --------------------------------------------------------------------------------


async def test_the_balance_is_not_updated_directly(connect: Connect) -> None:
    for login in ("alice", "sam", "admin"):
        conn = await connect(login)
        with refused():
            await conn.execute("UPDATE account SET credits = credits + 1000")
        with refused():
            await conn.execute("INSERT INTO account (id, name, credits) VALUES (2, 'x', 10)")


async def test_the_debit_function_takes_only_a_sends_own_credits_once(
    connect: Connect, facts: Facts, database_url: str
) -> None:
    alice = await connect("alice")
    before = await alice.fetchval("SELECT credits FROM account")
    # another agent's message, or one paid already, or no message at all: refused
    for ids in ([facts.brunos_message], [0], [facts.alices_message, facts.brunos_message]):
        with refused(asyncpg.PostgresError) as exc:
            await alice.fetchval("SELECT bannertui_charge($1::integer[])", ids)
        assert exc.value.sqlstate == "BT403"
    assert await alice.fetchval("SELECT credits FROM account") == before
    # their own pending send: exactly its credits, once
    assert (
        await alice.fetchval("SELECT bannertui_charge($1::integer[])", [facts.alices_message]) == 1
    )
    assert await alice.fetchval("SELECT credits FROM account") == before - 1
    with refused(asyncpg.PostgresError):
        await alice.fetchval("SELECT bannertui_charge($1::integer[])", [facts.alices_message])
    # a refund is for a failed, unsent message, once; never for a sent one
    assert await alice.fetchval("SELECT bannertui_refund($1)", facts.alices_message) == 0
    with refused(asyncpg.PostgresError):
        await alice.fetchval("SELECT bannertui_refund($1)", facts.brunos_message)
    assert await alice.fetchval("SELECT credits FROM account") == before - 1


async def test_the_paid_mark_and_the_price_are_not_written_directly(
    connect: Connect, facts: Facts
) -> None:
    alice = await connect("alice")
    with refused():
        await alice.execute("UPDATE message SET paid = true WHERE id = $1", facts.alices_message)
    with refused():
        await alice.execute("UPDATE message SET credits = 0 WHERE id = $1", facts.alices_message)


async def test_only_administrators_add_credits(connect: Connect) -> None:
    for login in ("alice", "sam"):
        conn = await connect(login)
        with refused():  # not even allowed to call it
            await conn.fetchval("SELECT bannertui_add_credits(1000, 1000000000)")
    admin = await connect("admin")
    before = await admin.fetchval("SELECT credits FROM account")
    assert await admin.fetchval("SELECT bannertui_add_credits(5, 1000000000)") == before + 5
    with refused(asyncpg.PostgresError):
        await admin.fetchval("SELECT bannertui_add_credits(-5, 1000000000)")


# --- writing as someone else --------------------------------------------------------------


async def test_a_message_as_another_agent_is_refused(connect: Connect, facts: Facts) -> None:
    alice = await connect("alice")
    bruno_id = await alice.fetchval("SELECT id FROM agent WHERE login = 'bruno'")
    insert = (
        "INSERT INTO message (agent_id, queue_id, direction, from_number, to_number,"
        " remote_number, text, encoding, credits, type, status, folder, attempts, created_at,"
        " deleted) VALUES ($1, $2, $3, '+33757000001', '+33612000092', '+33612000092', 'x',"
        " 'GSM-7', 1, 'NOTIFICATION', 'pending', 'pending', 0, now(), false)"
    )
    with refused():
        await alice.execute(insert, bruno_id, None, "outbound")
    with refused():  # nor in a queue they are not a member of, nor as an inbound text
        await alice.execute(insert, None, facts.billing, "outbound")
    me = await alice.fetchval("SELECT id FROM agent WHERE login = 'alice'")
    with refused():
        await alice.execute(insert, me, None, "inbound")
    await alice.execute(insert, me, facts.support, "outbound")  # their own: allowed


async def test_audit_rows_name_the_caller_and_stay(connect: Connect) -> None:
    alice = await connect("alice")
    add = (
        "INSERT INTO audit_event (at, actor, action, target, detail)"
        " VALUES (now(), $1, 'x', '', '')"
    )
    for other in ("admin", "system", "sam as alice", "aliceadmin"):
        with refused():
            await alice.execute(add, other)
    await alice.execute(add, "alice")
    await alice.execute(
        "INSERT INTO audit_event (at, action, target, detail) VALUES (now(), 'y', '', '')"
    )
    assert await alice.fetchval("SELECT actor FROM audit_event WHERE action = 'y'") == "alice"
    for statement in (
        "UPDATE audit_event SET actor = 'admin'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
    ):
        for login in ("alice", "admin"):
            with refused():
                await (await connect(login)).execute(statement)
    admin = await connect("admin")
    await admin.execute(add, "admin as alice")  # acting as an agent: named so
    with refused():
        await admin.execute(add, "alice")


# --- account-level tables and the schema ------------------------------------------------


async def test_queues_and_the_rest_are_the_administrators(connect: Connect, facts: Facts) -> None:
    statements = [
        ("UPDATE queue SET name = 'Mine' WHERE id = $1", facts.support),
        ("DELETE FROM queue_agent WHERE queue_id = $1", facts.support),
        ("UPDATE profile SET role = 'admin' WHERE id > $1", 0),
        ("INSERT INTO blacklist_entry (number, reason, created_by) VALUES ($1, '', '')", "+1"),
        ("UPDATE template SET text = 'x' WHERE id > $1", 0),
    ]
    for login in ("alice", "sam"):
        conn = await connect(login)
        for sql, arg in statements:
            with refused():
                await conn.execute(sql, arg)
        with refused():  # promoting oneself
            await conn.execute("UPDATE agent SET profile_id = 6 WHERE login = $1", login)
        with refused():
            await conn.execute("UPDATE agent SET active = false WHERE login = 'admin'")
    admin = await connect("admin")
    await admin.execute("UPDATE queue SET name = 'Help' WHERE id = $1", facts.support)


async def test_the_schema_is_not_theirs(connect: Connect) -> None:
    for login in ("alice", "sam", "admin"):
        conn = await connect(login)
        for statement in (
            "DROP TABLE message",
            "ALTER TABLE message DISABLE ROW LEVEL SECURITY",
            "DROP POLICY people_read ON message",
            "CREATE TABLE mine (id int)",
            "ALTER FUNCTION bannertui_charge(integer[]) OWNER TO alice",
            "CREATE OR REPLACE FUNCTION bannertui_is_admin() RETURNS boolean"
            " LANGUAGE sql AS 'SELECT true'",
        ):
            with refused((asyncpg.InsufficientPrivilegeError, asyncpg.UndefinedObjectError)):
                await conn.execute(statement)


async def test_no_role_to_become(connect: Connect) -> None:
    alice = await connect("alice")
    for role in (
        "admin",
        "bannertui_admins",
        "bannertui_supervisors",
        "bannertui_dispatch",
        "postgres",
    ):
        with refused():
            await alice.execute(f'SET ROLE "{role}"')
    sam = await connect("sam")
    with refused():
        await sam.execute('SET ROLE "bannertui_admins"')


async def test_a_disabled_agent_cannot_log_in(
    connect: Connect, services: Services, seeded: Database
) -> None:
    from bannertui.domain.actor import Actor

    await services.agents.set_active(Actor("admin"), "bruno", False)
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        await connect("bruno")
    await services.agents.set_active(Actor("admin"), "bruno", True)
    assert await (await connect("bruno")).fetchval("SELECT session_user") == "bruno"


async def test_an_agent_named_like_another_role_is_refused(services: Services) -> None:
    from bannertui.domain.actor import Actor
    from bannertui.domain.errors import NotAllowed

    with pytest.raises(NotAllowed, match="exists and is not a bannertui agent"):
        await services.agents.add(Actor("admin"), "postgres", "DBA", "Direct and Smart")
    name = f"eve{uuid.uuid4().hex[:6]}"
    agent = await services.agents.add(Actor("admin"), name, "Eve", "Supervisor", "supervisor")
    assert agent.login == name
    with pytest.raises(NotAllowed, match="is a supervisor one, not admin"):
        await services.agents.add(Actor("admin"), name + "x", "Eve", "Supervisor", "admin")


async def test_an_administrator_of_another_database_is_no_administrator_here(
    connect: Connect, facts: Facts, database_url: str
) -> None:
    """Roles and their groups are the server's: alice made an administrator in another
    database of the same server joins ``bannertui_admins`` everywhere.  Here she is still an
    agent: every administrator's right here also asks this database's agent table."""
    from bannertui.store.migrate import upgrade
    from bannertui.store.seed import seed

    other_name = f"bt_other_{uuid.uuid4().hex[:8]}"
    superuser = await owner(database_url)
    await superuser.execute(f'CREATE DATABASE "{other_name}"')
    other_url = database_url.rsplit("/", 1)[0] + "/" + other_name
    other = Database(other_url)
    try:
        await upgrade(other)
        await seed(other)
        conn = await owner(other_url)
        await conn.execute("UPDATE profile SET role = 'admin' WHERE name = 'Direct and Smart'")
        await conn.close()
        member = await superuser.fetchval(
            "SELECT pg_has_role('alice', 'bannertui_admins', 'MEMBER')"
        )
        assert member  # the premise: the server's group
        alice = await connect("alice")
        for sql, arg in (
            ("UPDATE queue SET enabled = false WHERE id = $1", facts.support),
            ("DELETE FROM queue_agent WHERE queue_id = $1", facts.support),
            ("UPDATE profile SET role = 'admin' WHERE id = $1", 1),
            ("UPDATE agent SET profile_id = 6 WHERE id = $1", 1),
        ):
            with refused((asyncpg.InsufficientPrivilegeError, asyncpg.PostgresError)):
                status = await alice.execute(sql, arg)
                assert status.endswith(" 0")  # no row of theirs to write: refused as well
                raise asyncpg.InsufficientPrivilegeError("nothing written")
        assert await alice.fetchval("SELECT count(*) FROM account") == 0  # no settings
        assert await alice.fetchval("SELECT count(*) FROM agent") == 0  # no hashes
        assert (
            await alice.fetchval("SELECT count(*) FROM message WHERE queue_id = $1", facts.billing)
            == 0
        )
        with refused(asyncpg.PostgresError):
            await alice.fetchval("SELECT bannertui_add_credits(5, 1000000000)")
    finally:
        await other.dispose()
        await superuser.execute(f'DROP DATABASE IF EXISTS "{other_name}" WITH (FORCE)')
        # the demo's alice is an agent again on the server (her group follows this seed)
        conn = await owner(database_url)
        await conn.execute("SELECT bannertui_set_agent_role('alice', 'bannertui_agents')")
        await conn.close()
        await superuser.close()


async def test_the_reply_probe_tells_nothing_of_another_agents_sends(
    connect: Connect, facts: Facts
) -> None:
    """The policy's helper ``bannertui_replied_to`` answers for the caller's own sends only:
    called with another agent's id it says no, whatever they sent."""
    alice = await connect("alice")
    bruno_id = await alice.fetchval("SELECT id FROM agent WHERE login = 'bruno'")
    me = await alice.fetchval("SELECT id FROM agent WHERE login = 'alice'")
    probe = "SELECT bannertui_replied_to($1, '+33612000091', '+33757000001')"
    assert await alice.fetchval(probe, bruno_id) is False  # bruno did send it
    bruno = await connect("bruno")
    assert await bruno.fetchval(probe, bruno_id) is True
    assert await bruno.fetchval(probe, me) is False
