"""Migration 0008 (issue #17) on a PostgreSQL database that was in use before it.

The database is migrated to 0007 only and written as it was then (plain SQL: the seed and the
models of today need 0008's columns): an account, profiles of each role, agents of each
role plus a disabled one, two queues (Support: alice and bruno; Billing: bruno only), a
conversation of bruno's in Billing, and messages of alice's in every outbound state.  Then
``upgrade`` to head: the agents who existed get their login roles in their groups, what was
queued or sent is ``paid`` (what failed is not), the database enforces the scope for a raw
connection, and the services work on it as the agent's own role.  Down to 0007 and up again
works too.

Roles are the server's, shared by its databases: every login here has a suffix of the test's
own, so a role found afterwards was made by this migration (not left by another test), and
the roles are dropped at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from bannertui.domain.actor import Actor
from bannertui.domain.errors import UnknownAgent
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.migrate import alembic_config, current_revision, head_revision, upgrade

GROUPS = ("bannertui_agents", "bannertui_supervisors", "bannertui_admins")
MOBILE = "+33612345678"
SENDER = "+33757000001"

pytestmark = pytest.mark.pg


@pytest.fixture
def backend() -> str:
    return "postgresql"


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def as_role(url: str, login: str) -> str:
    """``url`` (the owner's) logged in as ``login`` instead (trust on loopback)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{login}@{rest.split('@', 1)[1]}"


@dataclass
class Old:
    """The 0007 database: logins (with the test's suffix) and row ids."""

    url: str
    alice: str
    bruno: str
    sam: str
    ada: str
    dora: str
    support: int
    billing: int
    pending: int
    scheduled: int
    sent: int
    failed: int
    blocked: int
    brunos_sent: int
    billing_inbound: int
    support_inbound: int

    @property
    def logins(self) -> tuple[str, ...]:
        return (self.alice, self.bruno, self.sam, self.ada, self.dora)


_MESSAGE = (
    "INSERT INTO message (interaction_id, agent_id, queue_id, direction, from_number,"
    " to_number, remote_number, text, encoding, credits, type, status, folder, attempts,"
    " created_at, sent_at, deleted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'GSM-7', $9,"
    " 'NOTIFICATION', $10, $11, 0, now(), $12, false) RETURNING id"
)


async def _write_0007_data(conn: asyncpg.Connection, url: str, suffix: str) -> Old:
    logins = {n: f"{n}_{suffix}" for n in ("alice", "bruno", "sam", "ada", "dora")}
    await conn.execute(
        "INSERT INTO account (id, name, credits, provider_url, provider_auth_enabled,"
        " updated_at) VALUES (1, 'Old Center', 100, 'https://127.0.0.1:8443/v1/sms', false,"
        " now())"
    )
    numbers = {}
    for number, label in ((SENDER, "Paris"), ("+33757000010", "Support"), ("+33757000012", "B")):
        numbers[number] = await conn.fetchval(
            "INSERT INTO sms_number (number, label) VALUES ($1, $2) RETURNING id", number, label
        )
    profiles = {}
    for name, role in (("Direct", "agent"), ("Supervisor", "supervisor"), ("Admin", "admin")):
        profiles[role] = await conn.fetchval(
            "INSERT INTO profile (name, role, messaging, direct, smart, max_simultaneous,"
            " authorized_countries) VALUES ($1, $2, true, true, true, 5, 'FR') RETURNING id",
            name,
            role,
        )
    await conn.execute(
        "INSERT INTO profile_sms_number (profile_id, sms_number_id) VALUES ($1, $2)",
        profiles["agent"],
        numbers[SENDER],
    )
    agents = {}
    for key, role, active in (
        ("alice", "agent", True),
        ("bruno", "agent", True),
        ("sam", "supervisor", True),
        ("ada", "admin", True),
        ("dora", "agent", False),
    ):
        agents[key] = await conn.fetchval(
            "INSERT INTO agent (login, display_name, profile_id, state, state_since, active)"
            " VALUES ($1, $1, $2, 'available', now(), $3) RETURNING id",
            logins[key],
            profiles[role],
            active,
        )
    queues = {}
    for name, number in (("Support", "+33757000010"), ("Billing", "+33757000012")):
        queues[name] = await conn.fetchval(
            "INSERT INTO queue (name, enabled, connector, sms_number_id, strategy,"
            " service_level_s, max_waiting, max_transfer_s, max_time_in_queue_s,"
            " out_of_hours_message, opening_hours, timezone, inbound_blacklist,"
            " outbound_blacklist) VALUES ($1, true, 'sms', $2, 'round_robin', 60, 10, 60, 600,"
            " '', '', 'Europe/Paris', false, false) RETURNING id",
            name,
            numbers[number],
        )
    for queue, agent in (("Support", "alice"), ("Support", "bruno"), ("Billing", "bruno")):
        await conn.execute(
            "INSERT INTO queue_agent (queue_id, agent_id) VALUES ($1, $2)",
            queues[queue],
            agents[agent],
        )
    conversation = await conn.fetchval(
        "INSERT INTO interaction (channel, status, queue_id, agent_id, remote_number,"
        " local_number, unread, created_at) VALUES ('sms', 'progressing', $1, $2,"
        " '+33612000091', '+33757000012', 0, now()) RETURNING id",
        queues["Billing"],
        agents["bruno"],
    )

    async def send(status: str, folder: str, credits: int, text: str) -> int:
        return int(
            await conn.fetchval(
                _MESSAGE,
                None,
                agents["alice"],
                None,
                "outbound",
                SENDER,
                MOBILE,
                MOBILE,
                text,
                credits,
                status,
                folder,
                None,
            )
        )

    old_ids = {
        "pending": await send("pending", "pending", 1, "queued before 0008"),
        "scheduled": await send("scheduled", "pending", 1, "for later"),
        "sent": await send("sent", "sent", 2, "sent before 0008"),
        "failed": await send("failed", "failed", 1, "never left"),
        "blocked": await send("blocked", "failed", 1, "blacklisted"),
    }
    await conn.execute("UPDATE message SET sent_at = now() WHERE id = $1", old_ids["sent"])
    brunos_sent = await conn.fetchval(
        _MESSAGE,
        conversation,
        agents["bruno"],
        queues["Billing"],
        "outbound",
        "+33757000012",
        "+33612000091",
        "+33612000091",
        "about your invoice",
        1,
        "sent",
        "sent",
        None,
    )
    billing_inbound = await conn.fetchval(
        _MESSAGE,
        conversation,
        None,
        queues["Billing"],
        "inbound",
        "+33612000091",
        "+33757000012",
        "+33612000091",
        "my invoice is wrong",
        0,
        "received",
        "received",
        None,
    )
    support_inbound = await conn.fetchval(
        _MESSAGE,
        None,
        None,
        queues["Support"],
        "inbound",
        "+33612000092",
        "+33757000010",
        "+33612000092",
        "hello support",
        0,
        "received",
        "received",
        None,
    )
    return Old(
        url=url,
        **logins,
        support=queues["Support"],
        billing=queues["Billing"],
        **old_ids,
        brunos_sent=brunos_sent,
        billing_inbound=billing_inbound,
        support_inbound=support_inbound,
    )


async def _drop_roles(base_url: str, logins: tuple[str, ...]) -> None:
    """The test's own login roles (a role outlives the database that made it)."""
    conn = await asyncpg.connect(plain(base_url))
    try:
        for login in logins:
            await conn.execute(f'DROP ROLE IF EXISTS "{login}"')
    finally:
        await conn.close()


@pytest.fixture
async def old(database_url: str) -> AsyncIterator[Old]:
    """A database at revision 0007 holding the data described above (written as the owner)."""
    db = Database(database_url)
    try:
        assert await upgrade(db, "0007") == (None, "0007")
    finally:
        await db.dispose()
    conn = await asyncpg.connect(plain(database_url))
    try:
        data = await _write_0007_data(conn, database_url, uuid.uuid4().hex[:8])
    finally:
        await conn.close()
    try:
        yield data
    finally:
        await _drop_roles(database_url, data.logins)


async def _role(conn: asyncpg.Connection, login: str) -> tuple[bool, list[str], str | None] | None:
    """(can log in, its bannertui groups, its comment), or None: no such role."""
    row = await conn.fetchrow(
        "SELECT r.rolcanlogin, shobj_description(r.oid, 'pg_authid') AS comment,"
        " ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
        "       WHERE m.member = r.oid AND g.rolname LIKE 'bannertui\\_%' ORDER BY 1) AS groups"
        " FROM pg_roles r WHERE r.rolname = $1",
        login,
    )
    if row is None:
        return None
    return bool(row["rolcanlogin"]), list(row["groups"]), row["comment"]


async def _paid(conn: asyncpg.Connection) -> dict[int, bool]:
    return {r["id"]: r["paid"] for r in await conn.fetch("SELECT id, paid FROM message")}


def _migrate(conn: sa.Connection, cfg: Config, target: str, down: bool) -> None:
    cfg.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(cfg, target)


async def _downgrade(url: str, target: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_migrate, alembic_config(), target, True)
        assert await current_revision(db) == target
    finally:
        await db.dispose()


async def _upgrade_to_head(url: str) -> None:
    db = Database(url)
    try:
        assert await upgrade(db) == ("0007", head_revision())
    finally:
        await db.dispose()


async def _check_roles(owner: asyncpg.Connection, old: Old) -> None:
    assert await _role(owner, old.alice) == (True, ["bannertui_agents"], "bannertui agent")
    assert await _role(owner, old.bruno) == (True, ["bannertui_agents"], "bannertui agent")
    assert await _role(owner, old.sam) == (True, ["bannertui_supervisors"], "bannertui agent")
    assert await _role(owner, old.ada) == (True, ["bannertui_admins"], "bannertui agent")
    # a disabled agent gets no role that could log in
    assert await _role(owner, old.dora) is None


async def _check_alices_scope(old: Old) -> None:
    """alice, on a raw connection as her own role: her messages and her queue's, not
    Billing's (a queue she is not a member of), which she cannot change either."""
    alice = await asyncpg.connect(plain(as_role(old.url, old.alice)))
    try:
        seen = {r["id"] for r in await alice.fetch("SELECT id FROM message")}
        mine = {old.pending, old.scheduled, old.sent, old.failed, old.blocked}
        assert seen >= mine | {old.support_inbound}
        assert seen.isdisjoint({old.brunos_sent, old.billing_inbound})
        status = await alice.execute(
            "UPDATE message SET status = 'failed' WHERE id = $1", old.brunos_sent
        )
        assert status == "UPDATE 0"
        assert await alice.fetchval("SELECT count(*) FROM interaction") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await alice.execute("UPDATE account SET credits = credits + 1000")
    finally:
        await alice.close()
    sam = await asyncpg.connect(plain(as_role(old.url, old.sam)))
    try:  # a supervisor sees every queue
        seen = {r["id"] for r in await sam.fetch("SELECT id FROM message")}
        assert {old.brunos_sent, old.billing_inbound} <= seen
    finally:
        await sam.close()


async def test_upgrading_a_0007_database_gives_roles_payments_and_scope(old: Old) -> None:
    owner = await asyncpg.connect(plain(old.url))
    try:
        for login in old.logins:  # nothing of this test's existed before the migration
            assert await _role(owner, login) is None
        await _upgrade_to_head(old.url)
        await _check_roles(owner, old)
        paid = await _paid(owner)
        assert {k: paid[k] for k in (old.pending, old.scheduled, old.sent, old.brunos_sent)} == {
            old.pending: True,
            old.scheduled: True,
            old.sent: True,
            old.brunos_sent: True,
        }
        assert [paid[k] for k in (old.failed, old.blocked, old.billing_inbound)] == [False] * 3
        # the balance was not charged again for what was paid before
        assert await owner.fetchval("SELECT credits FROM account") == 100
        # (the provider is connector 1 since 0012: issue #20)
        assert await owner.fetchval("SELECT configured FROM connector WHERE id = 1") is True
    finally:
        await owner.close()
    await _check_alices_scope(old)


async def test_the_services_work_as_the_agents_role_after_the_upgrade(old: Old) -> None:
    await _upgrade_to_head(old.url)
    db = Database(as_role(old.url, old.alice))
    try:
        assert await db.session_login() == old.alice
        assert db.agent_role == old.alice
        services = Services(db)
        msg = await services.outbound.send_direct(Actor(old.alice), MOBILE, SENDER, "after 0008")
        assert (msg.status, msg.credits) == ("pending", 1)
        account = await services.accounts.get(Actor(old.alice))
        assert account.credits == 99
        assert account.provider_url is None  # the provider's settings are the administrators'
        # the disabled agent of before is refused
        with pytest.raises(UnknownAgent):
            await services.agents.authenticate(old.dora)
    finally:
        await db.dispose()
    owner = await asyncpg.connect(plain(old.url))
    try:
        row = await owner.fetchrow("SELECT agent_id, paid, text FROM message WHERE id = $1", msg.id)
        assert row is not None
        assert (row["paid"], row["text"]) == (True, "after 0008")
        alice_id = await owner.fetchval("SELECT id FROM agent WHERE login = $1", old.alice)
        assert row["agent_id"] == alice_id
        actors = await owner.fetch("SELECT actor FROM audit_event WHERE action = 'sms.direct'")
        assert [r["actor"] for r in actors] == [old.alice]
    finally:
        await owner.close()


async def test_down_to_0007_and_up_again(old: Old) -> None:
    await _upgrade_to_head(old.url)
    await _downgrade(old.url, "0007")
    owner = await asyncpg.connect(plain(old.url))
    try:
        columns = {
            (r["table_name"], r["column_name"])
            for r in await owner.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_name IN ('message', 'account')"
            )
        }
        assert ("message", "paid") not in columns
        assert ("account", "provider_set") not in columns
        assert not await owner.fetchval(
            "SELECT relrowsecurity FROM pg_class WHERE relname = 'message'"
        )
        assert await owner.fetchval("SELECT count(*) FROM pg_policies") == 0
        # written at 0007 again, after the downgrade: a pending send of bruno's
        again = await owner.fetchval(
            _MESSAGE,
            None,
            await owner.fetchval("SELECT id FROM agent WHERE login = $1", old.bruno),
            None,
            "outbound",
            SENDER,
            MOBILE,
            MOBILE,
            "queued at 0007 again",
            1,
            "pending",
            "pending",
            None,
        )
        await _upgrade_to_head(old.url)
        await _check_roles(owner, old)
        paid = await _paid(owner)
        assert (paid[again], paid[old.pending], paid[old.failed]) == (True, True, False)
    finally:
        await owner.close()
    await _check_alices_scope(old)
