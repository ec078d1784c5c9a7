"""The store: migrations, the database URL and file checks, the demo seed, UTC times, SQLite
settings and the schema's constraints, on SQLite and PostgreSQL (real fixtures of
tests/conftest.py: a fresh database per test)."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import col

from bannertui.domain.enums import folder_for
from bannertui.services import Services
from bannertui.store.database import Database, DatabaseError
from bannertui.store.migrate import (
    HEAD,
    SchemaTooNew,
    current_revision,
    downgrade,
    head_revision,
    require_current,
    upgrade,
)
from bannertui.store.models import (
    Account,
    Agent,
    AuditEvent,
    Connector,
    Contact,
    ContactGroup,
    Group,
    Interaction,
    Message,
    Profile,
    ProfileSmsNumber,
    Queue,
    SmsNumber,
    Template,
    TemplateQueue,
    UTCDateTime,
    metadata,
)
from bannertui.store.seed import SeedError, demo_data, is_empty, seed

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


async def _tables(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        return sorted(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def _count(db: Database, model: object) -> int:
    async with db.read() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


async def _counts(db: Database) -> dict[str, int]:
    models = (Account, Agent, Profile, SmsNumber, Queue, Template, Interaction, Message)
    return {m.__name__: await _count(db, m) for m in models}


async def _execute(db: Database, statement: str) -> None:
    async with db.write() as session:
        await session.execute(sa.text(statement))


# --- migrations -------------------------------------------------------------------------


async def test_upgrade_fresh_database_then_idempotent(database_url: str) -> None:
    db = Database(database_url)
    try:
        head = head_revision()
        assert await current_revision(db) is None
        assert await upgrade(db) == (None, head)
        tables = await _tables(db)
        assert set(metadata.tables) | {"alembic_version"} == set(tables)
        assert await upgrade(db) == (head, head)
        assert await upgrade(db) == (head, head)
        assert await _tables(db) == tables
        assert await current_revision(db) == head
        await require_current(db)
    finally:
        await db.dispose()


def test_head_constant_is_alembics_head() -> None:
    """The start-up's check without Alembic compares with HEAD: a new migration bumps it."""
    assert head_revision() == HEAD


async def test_upgrade_keeps_data(seeded: Database) -> None:
    before = await _counts(seeded)
    head = head_revision()
    assert await upgrade(seeded) == (head, head)
    assert await _counts(seeded) == before


async def test_0011_fills_the_search_key_of_the_contacts_stored_before(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        await upgrade(db, "0010")
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO contact (first_name, last_name, number, email, company) "
                    "VALUES ('Inès', 'Petit', '+33612000003', 'INES@example.com', 'Café SARL')"
                )
            )
        await upgrade(db)
        async with db.engine.connect() as conn:
            key = (await conn.execute(sa.text("SELECT search_key FROM contact"))).scalar_one()
        assert key == "ines petit cafe sarl ines@example.com +33612000003"
    finally:
        await db.dispose()


async def test_0012_makes_the_account_provider_connector_1_and_loses_nothing(
    database_url: str,
) -> None:
    """Issue #20: a database of today (0011) with its provider, numbers, queues and messages
    migrates into connector 1 (https-json, the same settings), which every number, queue and
    message then points at; and back."""
    db = Database(database_url)
    statements = [
        "INSERT INTO account (id, name, credits, provider_url, provider_auth_enabled,"
        " provider_login, provider_ca_file) VALUES (1, 'Acme', 42, 'https://sms.example.com/v1',"
        " true, 'ops@example.com', '/etc/ssl/acme.pem')",
        "INSERT INTO sms_number (id, number, label) VALUES (1, '+33757000001', 'Paris'),"
        " (2, '+33757000010', 'Support')",
        "INSERT INTO queue (id, name, enabled, connector, sms_number_id, strategy,"
        " service_level_s, max_waiting, max_transfer_s, max_time_in_queue_s,"
        " out_of_hours_message, opening_hours, timezone, inbound_blacklist, outbound_blacklist)"
        " VALUES (1, 'Support', true, 'carrier', 2, 'round_robin', 60, 0, 0, 0, '', '', 'UTC',"
        " false, false), (2, 'Billing', true, 'carrier', NULL, 'round_robin', 60, 0, 0, 0,"
        " '', '', 'UTC', false, false)",
        "INSERT INTO message (direction, from_number, to_number, remote_number, text, encoding,"
        " credits, type, status, folder, attempts, created_at, deleted, paid) VALUES"
        " ('outbound', '+33757000001', '+33612000001', '+33612000001', 'Hi', 'gsm7', 1,"
        " 'NOTIFICATION', 'delivered', 'sent', 1, '2026-12-01 10:00:00', false, true),"
        " ('inbound', '+33612000001', '+33757000010', '+33612000001', 'Hello', 'gsm7', 0,"
        " 'NOTIFICATION', 'received', 'received', 0, '2026-12-01 10:01:00', false, false)",
    ]
    try:
        await upgrade(db, "0011")
        async with db.engine.begin() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
        await upgrade(db)
        async with db.read() as session:
            [connector] = (await session.scalars(sa.select(Connector))).all()
            numbers = (await session.scalars(sa.select(SmsNumber))).all()
            queues = (await session.scalars(sa.select(Queue))).all()
            messages = (await session.scalars(sa.select(Message))).all()
            account = await session.get(Account, 1)
        assert (connector.id, connector.name, connector.type) == (1, "carrier", "https-json")
        assert connector.settings == {
            "url": "https://sms.example.com/v1",
            "auth_enabled": True,
            "login": "ops@example.com",
            "ca_file": "/etc/ssl/acme.pem",
        }
        assert connector.configured
        assert account is not None
        assert (account.name, account.credits) == ("Acme", 42)
        assert [(n.number, n.connector_id) for n in numbers] == [
            ("+33757000001", 1),
            ("+33757000010", 1),
        ]
        assert sorted((q.name, q.connector_id, q.sms_number_id) for q in queues) == [
            ("Billing", 1, None),
            ("Support", 1, 2),
        ]
        assert sorted((m.text, m.connector_id) for m in messages) == [("Hello", 1), ("Hi", 1)]
        # ... and the provider settings read as before, through the first https-json one
        settings = await Services(db).provider.get()
        assert (settings.url, settings.auth_enabled, settings.login) == (
            "https://sms.example.com/v1",
            True,
            "ops@example.com",
        )
        # A new connector gets the next id (the sequence was moved past 1 on PostgreSQL).
        async with db.write() as session:
            session.add(Connector(name="second", type="twilio", settings={}))
        async with db.read() as session:
            ids = (await session.scalars(sa.select(Connector.id).order_by(Connector.id))).all()
        assert ids == [1, 2]
        async with db.write() as session:
            await session.execute(sa.delete(Connector).where(col(Connector.id) == 2))

        assert await downgrade(db, "0011") == "0011"  # down: the account's provider again
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT provider_url, provider_auth_enabled, provider_login,"
                        " provider_ca_file FROM account"
                    )
                )
            ).one()
            queue_connectors = (
                (await conn.execute(sa.text("SELECT connector FROM queue ORDER BY id")))
                .scalars()
                .all()
            )
        assert tuple(row) == (
            "https://sms.example.com/v1",
            True,
            "ops@example.com",
            "/etc/ssl/acme.pem",
        )
        assert list(queue_connectors) == ["carrier", "carrier"]
    finally:
        await db.dispose()


async def test_require_current_refuses_an_unmigrated_database(database_url: str) -> None:
    db = Database(database_url)
    try:
        with pytest.raises(DatabaseError, match="db upgrade") as exc:
            await require_current(db)
        assert not isinstance(exc.value, SchemaTooNew)
    finally:
        await db.dispose()


async def test_schema_matches_the_models(db: Database) -> None:
    """The migrations build exactly the tables, columns, indexes and constraints of
    models.py (a model change without its migration fails here)."""

    def diff(conn: sa.Connection) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_unknown_revision_is_schema_too_new(seeded: Database) -> None:
    await _execute(seeded, "UPDATE alembic_version SET version_num = '9999'")
    tables = await _tables(seeded)
    counts = await _counts(seeded)

    with pytest.raises(SchemaTooNew) as exc:
        await upgrade(seeded)
    assert isinstance(exc.value, DatabaseError)
    message = str(exc.value)
    assert "9999" in message
    assert head_revision() in message
    assert "upgrade bannertui" in message

    # Nothing else changed.
    assert await current_revision(seeded) == "9999"
    assert await _tables(seeded) == tables
    assert await _counts(seeded) == counts
    with pytest.raises(SchemaTooNew, match="9999"):
        await require_current(seeded)
    # Not even an explicit target gets past the check.
    with pytest.raises(SchemaTooNew):
        await upgrade(seeded, target=head_revision())
    assert await current_revision(seeded) == "9999"


# --- URLs and files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "mysql://x",
        "sqlite:///bannertui.sqlite3",
        "sqlite+pysqlite:///bannertui.sqlite3",
        "postgresql://user@localhost/bannertui",
        "postgresql+psycopg2://user@localhost/bannertui",
        "oracle+oracledb://user@localhost/bannertui",
    ],
)
def test_unsupported_url(url: str) -> None:
    with pytest.raises(DatabaseError) as exc:
        Database(url)
    message = str(exc.value)
    assert "Unsupported database URL" in message
    assert url in message
    assert "sqlite+aiosqlite" in message  # says what to use instead


def test_unsupported_url_hides_the_password() -> None:
    with pytest.raises(DatabaseError) as exc:
        Database("mysql+aiomysql://bob:s3cr3t@db.example/app")
    assert "s3cr3t" not in str(exc.value)
    assert "bob" in str(exc.value)


@pytest.mark.parametrize("url", ["not a url", "://", ""])
def test_invalid_url(url: str) -> None:
    with pytest.raises(DatabaseError, match="Invalid database URL"):
        Database(url)


async def test_display_url_hides_the_password() -> None:
    db = Database("postgresql+asyncpg://bob:s3cr3t@127.0.0.1:1/app")
    try:
        assert "s3cr3t" not in db.display_url()
        assert db.path is None
        db.prepare_path()  # nothing to prepare for a server
    finally:
        await db.dispose()


async def test_prepare_path_creates_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "bannertui.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        db.prepare_path()
        assert path.parent.is_dir()
        assert (path.parent.stat().st_mode & 0o777) == 0o700
        assert path.is_file()  # made, empty, by sqlite3 itself: it can be created
    finally:
        await db.dispose()


async def test_prepare_path_parent_is_a_file(tmp_path: Path) -> None:
    # Fails for root too (unlike permission bits): a file cannot be a directory.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    db = Database(f"sqlite+aiosqlite:///{blocker / 'bannertui.sqlite3'}")
    try:
        with pytest.raises(DatabaseError, match="not-a-directory"):
            db.prepare_path()
    finally:
        await db.dispose()


async def test_upgrade_parent_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    db = Database(f"sqlite+aiosqlite:///{blocker / 'bannertui.sqlite3'}")
    try:
        with pytest.raises(DatabaseError):
            await upgrade(db)
        assert blocker.read_text() == "x"
    finally:
        await db.dispose()


async def test_read_only_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    await db.dispose()
    path.chmod(0o444)
    try:
        if os.access(path, os.W_OK):
            pytest.skip(
                "running as root: the file stays writable whatever its mode, so the "
                "read-only refusal cannot be observed (see test_prepare_path_parent_is_a_file)"
            )
        ro = Database(f"sqlite+aiosqlite:///{path}")
        try:
            with pytest.raises(DatabaseError, match="read-only") as exc:
                await upgrade(ro)
            assert str(path) in str(exc.value)
        finally:
            await ro.dispose()
    finally:
        path.chmod(0o644)


async def test_read_only_directory(tmp_path: Path) -> None:
    directory = tmp_path / "locked"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        if os.access(directory, os.W_OK):
            pytest.skip(
                "running as root: the directory stays writable whatever its mode, so the "
                "refusal cannot be observed (see test_prepare_path_parent_is_a_file)"
            )
        db = Database(f"sqlite+aiosqlite:///{directory / 'bannertui.sqlite3'}")
        try:
            with pytest.raises(DatabaseError, match="not writable"):
                db.prepare_path()
        finally:
            await db.dispose()
    finally:
        directory.chmod(0o755)


# --- the demo seed ----------------------------------------------------------------------


async def test_seed_refuses_a_non_empty_database(seeded: Database) -> None:
    before = await _counts(seeded)
    with pytest.raises(SeedError, match="already has agents"):
        await seed(seeded)
    assert await _counts(seeded) == before


async def test_seed_loads_the_demo(seeded: Database) -> None:
    data = demo_data()
    assert not await is_empty(seeded)
    history = data["history"]
    conversations = [h for h in history if h["kind"] == "conversation"]
    expected = {
        Account: 1,
        SmsNumber: len(data["sms_numbers"]),
        Profile: len(data["profiles"]),
        ProfileSmsNumber: sum(len(p.get("sms_numbers", [])) for p in data["profiles"]),
        Agent: len(data["agents"]),
        Queue: len(data["queues"]),
        Template: len(data["templates"]),
        TemplateQueue: sum(len(t.get("queues", [])) for t in data["templates"]),
        Group: len(data["groups"]),
        Contact: len(data["contacts"]),
        ContactGroup: sum(len(c.get("groups", [])) for c in data["contacts"]),
        Interaction: len(conversations),
        Message: sum(len(h["messages"]) for h in conversations)
        + sum(1 for h in history if h["kind"] != "conversation"),
    }
    got = {model: await _count(seeded, model) for model in expected}
    assert got == expected
    # The demo as the other tests rely on it.
    assert (got[Agent], got[Queue], got[Template]) == (6, 3, 5)

    async with seeded.read() as session:
        logins = set((await session.scalars(sa.select(Agent.login))).all())
        assert logins == {a["login"] for a in data["agents"]}
        queues = {q.name: q for q in (await session.scalars(sa.select(Queue))).all()}
        assert set(queues) == {"Support", "Sales", "Billing"}
        assert queues["Billing"].sms_number_id is None
        account = await session.get(Account, 1)
        assert account is not None
        assert account.credits == data["account"]["credits"]
        connectors = {c.name: c for c in (await session.scalars(sa.select(Connector))).all()}
        assert set(connectors) == {c["name"] for c in data["connectors"]}
        assert connectors["Carrier HTTPS"].id == 1  # the account's first
        assert (
            connectors["Carrier HTTPS"].settings["url"] == data["connectors"][0]["settings"]["url"]
        )
        sales = queues["Sales"]
        assert sales.connector_id == connectors["Twilio"].id
        sales_number = await session.get(SmsNumber, sales.sms_number_id)
        assert sales_number is not None
        assert sales_number.connector_id == connectors["Twilio"].id
        for msg in (await session.scalars(sa.select(Message))).all():
            assert msg.folder == folder_for(msg.direction, msg.status)
            assert (msg.ret_id is None) == (msg.direction == "inbound")
            assert (msg.provider_message_id is None) == (msg.direction == "outbound")


async def test_seed_is_all_or_nothing(db: Database) -> None:
    data = demo_data()
    data["agents"][-1]["profile"] = "No such profile"
    with pytest.raises(SeedError, match="No such profile"):
        await seed(db, data)
    assert await is_empty(db)
    assert await _count(db, SmsNumber) == 0
    assert await _count(db, Account) == 0


# --- UTC --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Paris")),
        datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2027, 1, 1, 5, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
    ids=["paris-dst", "new-york-ambiguous", "utc-year-end", "offset+05:30"],
)
async def test_utc_round_trip(db: Database, moment: datetime) -> None:
    async with db.write() as session:
        event = AuditEvent(at=moment, actor="t", action="utc")
        session.add(event)
        await session.flush()
        event_id = event.id
    async with db.read() as session:
        back = await session.scalar(sa.select(AuditEvent.at).where(AuditEvent.id == event_id))
        # Comparing with an aware value in another zone finds the row.
        found = await session.scalar(
            sa.select(AuditEvent.id).where(AuditEvent.at == moment.astimezone(UTC))
        )
    assert back is not None
    assert back.tzinfo is not None
    assert back.utcoffset() == timedelta(0)
    # (not `back == moment`: Python never finds an ambiguous wall time equal across zones)
    assert back == moment.astimezone(UTC)
    assert back.timestamp() == moment.timestamp()
    assert (back.tzinfo is UTC) or (back.tzname() == "UTC")
    assert found == event_id


async def test_utc_ordering_across_zones(db: Database) -> None:
    base = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    # Later instants written in zones whose wall clock reads earlier.
    moments = [
        base,
        (base + timedelta(hours=1)).astimezone(ZoneInfo("America/Los_Angeles")),
        (base + timedelta(hours=2)).astimezone(ZoneInfo("Pacific/Honolulu")),
    ]
    async with db.write() as session:
        session.add_all(
            [AuditEvent(at=m, actor="t", action=f"o{i}") for i, m in enumerate(moments)]
        )
    async with db.read() as session:
        actions = (
            await session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.at))
        ).all()
        later = (
            await session.scalars(
                sa.select(AuditEvent.action).where(
                    AuditEvent.at
                    > (base + timedelta(minutes=30)).astimezone(ZoneInfo("Asia/Tokyo"))
                )
            )
        ).all()
    assert list(actions) == ["o0", "o1", "o2"]
    assert sorted(later) == ["o1", "o2"]


def test_naive_datetime_is_refused_by_the_column_type() -> None:
    column = UTCDateTime()
    for dialect in (sa.dialects.sqlite.dialect(), sa.dialects.postgresql.dialect()):  # type: ignore[attr-defined]
        with pytest.raises(ValueError, match="naive"):
            column.process_bind_param(datetime(2026, 1, 1, 12, 0), dialect)
        assert column.process_bind_param(None, dialect) is None


async def test_naive_datetime_is_refused_on_write(db: Database) -> None:
    with pytest.raises(StatementError) as exc:
        async with db.write() as session:
            session.add(AuditEvent(at=datetime(2026, 1, 1, 12, 0), actor="t", action="naive"))
    # SQLAlchemy wraps the column type's ValueError; the cause is kept.
    assert isinstance(exc.value.orig, ValueError)
    assert "naive" in str(exc.value.orig)
    assert await _count(db, AuditEvent) == 0


async def test_sqlite_text_written_by_another_tool_reads_as_utc(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'raw.sqlite3'}")
    try:
        await upgrade(db)
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO audit_event (at, actor, action, target, detail) VALUES "
                "('2026-01-01 12:00:00', 'x', 'naive-text', '', ''), "
                "('2026-01-01T12:00:00+02:00', 'x', 'offset-text', '', '')"
            )
        async with db.read() as session:
            result = await session.execute(sa.select(AuditEvent.action, AuditEvent.at))
            rows = {action: at for action, at in result.all()}
        assert rows["naive-text"] == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        assert rows["offset-text"] == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
        assert all(v.utcoffset() == timedelta(0) for v in rows.values())
    finally:
        await db.dispose()


# --- SQLite settings --------------------------------------------------------------------


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.sqlite3'}", busy_timeout=12.5)
    try:
        await upgrade(db)
        async with db.engine.connect() as conn:

            async def pragma(name: str) -> object:
                return (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()

            assert str(await pragma("journal_mode")).lower() == "wal"
            assert await pragma("foreign_keys") == 1
            assert await pragma("busy_timeout") == 12500
            assert await pragma("synchronous") == 1  # NORMAL
        # Every pooled connection gets them, including the write sessions'.
        async with db.write() as session:
            fk = await session.scalar(sa.text("PRAGMA foreign_keys"))
            mode = await session.scalar(sa.text("PRAGMA journal_mode"))
        assert fk == 1
        assert str(mode).lower() == "wal"
    finally:
        await db.dispose()


# --- constraints ------------------------------------------------------------------------


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            session.add(Agent(login="ghost", display_name="Ghost", profile_id=987654))
    assert await _count(db, Agent) == 0


#: Each must be refused by the schema itself, whatever the code above it does.
VIOLATIONS = [
    "UPDATE account SET credits = -1",
    "UPDATE message SET status = 'bogus'",
    "UPDATE message SET folder = 'inbox'",
    "UPDATE message SET direction = 'sideways'",
    "UPDATE message SET type = 'PROMO'",
    "UPDATE message SET credits = -1",
    "UPDATE interaction SET status = 'paused'",
    "UPDATE interaction SET channel = 'fax'",
    "UPDATE agent SET state = 'sleeping'",
    "UPDATE profile SET role = 'root'",
    "UPDATE profile SET max_simultaneous = -1",
    "UPDATE template SET kind = 'PROMO'",
    "UPDATE queue SET strategy = 'random'",
    "UPDATE queue SET service_level_s = -1",
    "UPDATE queue SET sms_number_id = (SELECT id FROM sms_number WHERE number = '+33757000010')",
    "UPDATE message SET ret_id = 'same' WHERE direction = 'outbound'",
    "UPDATE message SET provider_message_id = 'same' WHERE direction = 'inbound'",
    "UPDATE agent SET login = 'same'",
]


async def test_constraints_hold_on_both_backends(seeded: Database) -> None:
    before = await _counts(seeded)
    accepted = []
    for statement in VIOLATIONS:
        try:
            await _execute(seeded, statement)
        except IntegrityError:
            continue
        accepted.append(statement)
    assert accepted == [], "the schema accepted these statements"
    assert await _counts(seeded) == before
    async with seeded.read() as session:
        assert await session.scalar(sa.select(Account.credits)) == 500


@pytest.mark.parametrize("where", ["proc", "directory", "junk"])
async def test_an_unusable_sqlite_path_is_refused_before_any_driver_thread(
    tmp_path: Path, where: str
) -> None:
    """Issue #16: after the clean error for an unopenable path, aiosqlite's worker thread
    sometimes outlived the event loop ("Exception in thread … Event loop is closed").  The
    path is now checked synchronously, so no connection (and no thread) is ever started."""
    path = {
        "proc": Path("/proc/x.sqlite3"),
        "directory": tmp_path,
        "junk": tmp_path / "junk.sqlite3",
    }[where]
    if where == "junk":
        path.write_text("junk\n")
    before = {t.ident for t in threading.enumerate()}
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        with pytest.raises(DatabaseError):
            await upgrade(db)
        started = [t.name for t in threading.enumerate() if t.ident not in before]
        assert started == []
    finally:
        await db.dispose()
    if where == "junk":
        assert path.read_text() == "junk\n"
