"""The connectors' service (issue #20): validation naming each refused field, secrets kept
apart, removal refused while in use, figures per connector.  Real databases (SQLite and
PostgreSQL); the adapters are exercised in tests/provider/test_connectors_e2e.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.connectors import ConnectorInUse, InvalidConnector, UnknownConnector
from bannertui.domain.enums import Direction, MessageStatus
from bannertui.domain.errors import InvalidCaFile, InvalidQueue
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import AuditEvent, Connector, Message, SmsNumber

ADMIN = Actor("admin")
SID = "AC" + "0123456789abcdef" * 2


@pytest.fixture
def svc(seeded: Database, clock: Any, tmp_path: Path) -> Services:
    return Services(seeded, clock, secrets_dir=tmp_path)


async def _connectors(db: Database) -> list[tuple[int, str, str]]:
    async with db.read() as session:
        rows = await session.execute(
            sa.select(col(Connector.id), col(Connector.name), col(Connector.type)).order_by(
                col(Connector.id)
            )
        )
        return [(int(i or 0), n, t) for i, n, t in rows.all()]


async def test_the_demo_has_two_connectors(svc: Services) -> None:
    assert await svc.connectors.names(ADMIN) == [(1, "Carrier HTTPS"), (2, "Twilio")]
    twilio = await svc.connectors.get(ADMIN, "twilio")  # by name, case aside
    assert (twilio.id, twilio.type.value) == (2, "twilio")


async def test_add_stores_the_settings_and_the_secret_apart(svc: Services, tmp_path: Path) -> None:
    rec = await svc.connectors.add(
        ADMIN,
        name=" Backup ",
        kind="twilio",
        settings={"account_sid": SID, "public_url": "https://sms.example.com/hooks/"},
        secret="tok-en-123",
    )
    assert (rec.name, rec.type.value, rec.configured) == ("Backup", "twilio", True)
    assert rec.settings["public_url"] == "https://sms.example.com/hooks"
    assert "tok-en-123" not in str(rec.settings)
    secret_file = tmp_path / f"connector-{rec.id}-secret"
    assert secret_file.read_text() == "tok-en-123"
    assert secret_file.stat().st_mode & 0o077 == 0
    async with svc.db.read() as session:
        detail = await session.scalar(
            sa.select(col(AuditEvent.detail)).where(col(AuditEvent.action) == "connector.added")
        )
    assert detail is not None
    assert "tok-en-123" not in detail
    # edit without a secret keeps it; a new one replaces it
    await svc.connectors.edit(ADMIN, rec.id, settings={"account_sid": SID})
    assert secret_file.read_text() == "tok-en-123"
    await svc.connectors.edit(ADMIN, "backup", settings={"account_sid": SID}, secret="new")
    assert secret_file.read_text() == "new"


@pytest.mark.parametrize(
    ("kind", "settings", "secret", "fields"),
    [
        pytest.param("twilio", {"account_sid": "AC123"}, "t", {"account_sid"}, id="bad-sid"),
        pytest.param("twilio", {}, "t", {"account_sid"}, id="no-sid"),
        pytest.param(
            "twilio",
            {"account_sid": SID, "messaging_service_sid": "MGx", "api_base": "http://x"},
            "t",
            {"messaging_service_sid", "api_base"},
            id="two-fields",
        ),
        pytest.param("twilio", {"account_sid": SID}, None, {"secret"}, id="no-token"),
        pytest.param(
            "twilio",
            {"account_sid": SID, "api_key_sid": "SK" + "0" * 32},
            "t",
            {"key_secret"},
            id="api-key-without-its-secret",
        ),
        pytest.param("https-json", {"url": "http://sms.example.com"}, None, {"url"}, id="http"),
        pytest.param(
            "https-json",
            {"url": "https://sms.example.com", "auth_enabled": True, "login": "a b"},
            "p",
            {"login"},
            id="bad-login",
        ),
        pytest.param(
            "https-json",
            {"url": "https://sms.example.com", "auth_enabled": True, "login": "ops"},
            None,
            {"secret"},
            id="auth-without-password",
        ),
    ],
)
async def test_refusals_name_their_fields_and_write_nothing(
    svc: Services, kind: str, settings: dict[str, object], secret: str | None, fields: set[str]
) -> None:
    before = await _connectors(svc.db)
    with pytest.raises(InvalidConnector) as exc:
        await svc.connectors.add(ADMIN, name="New", kind=kind, settings=settings, secret=secret)
    assert set(exc.value.fields) == fields
    assert await _connectors(svc.db) == before


async def test_unknown_type_name_taken_and_bad_ca_file(svc: Services, tmp_path: Path) -> None:
    before = await _connectors(svc.db)
    with pytest.raises(InvalidConnector, match="unknown connector type 'smtp': choose"):
        await svc.connectors.add(ADMIN, name="X", kind="smtp", settings={})
    with pytest.raises(InvalidConnector, match="already named") as taken:
        await svc.connectors.add(
            ADMIN, name="carrier https", kind="https-json", settings={"url": "https://a.example"}
        )
    assert set(taken.value.fields) == {"name"}
    with pytest.raises(InvalidCaFile) as ca:
        await svc.connectors.add(
            ADMIN,
            name="X",
            kind="https-json",
            settings={"url": "https://a.example", "ca_file": str(tmp_path / "none.pem")},
        )
    assert set(ca.value.fields) == {"ca_file"}
    with pytest.raises(InvalidConnector, match="has no setting account_sid"):
        await svc.connectors.add(
            ADMIN, name="X", kind="https-json", settings={"url": "https://a", "account_sid": SID}
        )
    with pytest.raises(UnknownConnector):
        await svc.connectors.get(ADMIN, "nowhere")
    assert await _connectors(svc.db) == before


async def test_remove_is_refused_while_used_and_keeps_the_history(svc: Services) -> None:
    with pytest.raises(ConnectorInUse, match="Support"):
        await svc.connectors.remove(ADMIN, "Carrier HTTPS")
    spare = await svc.connectors.add(
        ADMIN, name="Spare", kind="https-json", settings={"url": "https://a.example"}
    )
    await svc.connectors.add_number(ADMIN, spare.id, "+33757000040")
    with pytest.raises(ConnectorInUse, match=r"\+33757000040"):
        await svc.connectors.remove(ADMIN, spare.id)
    async with svc.db.write() as session:
        await session.execute(sa.delete(SmsNumber).where(col(SmsNumber.number) == "+33757000040"))
        session.add(
            Message(
                connector_id=spare.id,
                direction=Direction.OUTBOUND,
                from_number="+33757000040",
                to_number="+33612000001",
                remote_number="+33612000001",
                text="Hi",
                encoding="gsm7",
                status=MessageStatus.FAILED,
                folder="failed",
                created_at=svc.clock(),
            )
        )
    await svc.connectors.remove(ADMIN, "spare")
    async with svc.db.read() as session:
        kept = await session.scalar(
            sa.select(col(Message.connector_id)).where(col(Message.from_number) == "+33757000040")
        )
        gone = await session.get(Connector, spare.id)
    assert gone is None
    assert kept is None  # the message stays, its connector forgotten


async def test_figures_count_each_connectors_last_hour(svc: Services) -> None:
    now = svc.clock()
    async with svc.db.write() as session:
        for cid, status, error, minutes in [
            (2, MessageStatus.DELIVERED, None, 5),
            (2, MessageStatus.SENT, None, 10),
            (2, MessageStatus.FAILED, "Twilio 21610: unsubscribed", 3),
            (2, MessageStatus.FAILED, "old", 120),  # outside the hour
            (1, MessageStatus.FAILED, "HTTP 400: bad sender", 1),
        ]:
            session.add(
                Message(
                    connector_id=cid,
                    direction=Direction.OUTBOUND,
                    from_number="+33757000011",
                    to_number="+33612000009",
                    remote_number="+33612000009",
                    text="x",
                    encoding="gsm7",
                    status=status,
                    folder="sent" if status != MessageStatus.FAILED else "failed",
                    error=error,
                    created_at=now - timedelta(minutes=minutes),
                )
            )
    before = {f.id: f for f in await svc.connectors.figures(Actor("sam"))}
    twilio = before[2]
    assert (twilio.name, twilio.numbers, twilio.queues) == ("Twilio", 1, 1)
    assert twilio.last_error == "Twilio 21610: unsubscribed"
    assert twilio.failed >= 1
    assert before[1].last_error == "HTTP 400: bad sender"


async def test_a_number_added_by_the_administration_is_an_https_json_connectors(
    svc: Services,
) -> None:
    row = await svc.admin.add_number(ADMIN, "+33757000050", "Night line")
    assert row.connector == "Carrier HTTPS"  # none named: the first https-json one
    with pytest.raises(InvalidQueue, match="Twilio connector"):
        await svc.admin.add_number(ADMIN, "+33757000051", connector="twilio")
    with pytest.raises(InvalidQueue, match="no connector named 'nowhere'"):
        await svc.admin.add_number(ADMIN, "+33757000051", connector="nowhere")
    numbers = {n.number: n.connector for n in await svc.admin.numbers(ADMIN)}
    assert numbers["+33757000011"] == "Twilio"
    assert "+33757000051" not in numbers
