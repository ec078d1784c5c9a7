"""The connectors' service (issue #20; SMPP, issue #21): validation naming each refused field,
secrets kept apart, removal refused while in use, figures per connector.  Real databases
(SQLite and PostgreSQL); the adapters are exercised in tests/provider/test_connectors_e2e.py
(SMPP's "Test connection" here through a fake gateway factory, which records what it is
given)."""

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
from bannertui.domain.errors import InvalidCaFile, InvalidQueue, NotAllowed
from bannertui.services import Services
from bannertui.services.admin import QueueSettings
from bannertui.services.gateway import (
    ConnectionCheck,
    ConnectionReport,
    ProviderConfig,
    SmppConfig,
    TwilioConfig,
)
from bannertui.store.database import Database
from bannertui.store.models import AuditEvent, Connector, Message, SmsNumber

ADMIN = Actor("admin")
SID = "AC" + "0123456789abcdef" * 2
SMPP = {"host": "smsc.example.net", "system_id": "acme"}
BIND_PASSWORD = "b1nd-pw-9f"


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
        pytest.param("smpp", {}, "p", {"host", "system_id"}, id="smpp-empty"),
        pytest.param("smpp", SMPP, None, {"secret"}, id="smpp-no-bind-password"),
        pytest.param("smpp", {**SMPP, "host": "smsc example"}, "p", {"host"}, id="smpp-host"),
        pytest.param("smpp", {**SMPP, "port": "2775a"}, "p", {"port"}, id="smpp-port-text"),
        pytest.param("smpp", {**SMPP, "port": 70000}, "p", {"port"}, id="smpp-port-range"),
        pytest.param(
            "smpp", {**SMPP, "system_id": "a" * 16}, "p", {"system_id"}, id="smpp-long-system-id"
        ),
        pytest.param(
            "smpp", {**SMPP, "system_type": "é"}, "p", {"system_type"}, id="smpp-system-type"
        ),
        pytest.param("smpp", {**SMPP, "bind_mode": "both"}, "p", {"bind_mode"}, id="smpp-bind"),
        pytest.param("smpp", {**SMPP, "concat": "udh"}, "p", {"concat"}, id="smpp-concat"),
        pytest.param(
            "smpp",
            {**SMPP, "source_ton": 7, "source_npi": "x", "window": 0, "throughput": -1},
            "p",
            {"source_ton", "source_npi", "window", "throughput"},
            id="smpp-four-numbers",
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


# --- SMPP (issue #21) ------------------------------------------------------------------------


class FakeGateway:
    """What ``Test connection`` opens: answers ``report``, and remembers the configurations it
    was built from and whether it was closed."""

    def __init__(self, report: ConnectionReport) -> None:
        self.report = report
        self.configs: list[ProviderConfig | TwilioConfig | SmppConfig] = []
        self.closed = 0

    def __call__(self, config: ProviderConfig | TwilioConfig | SmppConfig) -> Any:
        self.configs.append(config)
        return self

    async def test_connection(self) -> ConnectionReport:
        return self.report

    async def aclose(self) -> None:
        self.closed += 1


def _with_gateway(svc: Services, report: ConnectionReport) -> FakeGateway:
    fake = FakeGateway(report)
    svc.connectors.gateways = fake
    return fake


async def _audit_details(svc: Services) -> list[str]:
    async with svc.db.read() as session:
        return [
            str(d)
            for d in (
                await session.scalars(
                    sa.select(col(AuditEvent.detail)).where(
                        col(AuditEvent.action).like("connector.%")
                    )
                )
            ).all()
        ]


async def test_smpp_add_keeps_the_defaults_and_the_bind_password_apart(
    svc: Services, tmp_path: Path
) -> None:
    rec = await svc.connectors.add(
        ADMIN, name="Carrier SMPP", kind="smpp", settings=SMPP, secret=BIND_PASSWORD
    )
    assert (rec.type.value, rec.configured, rec.enabled) == ("smpp", True, True)
    assert dict(rec.settings) == {
        "host": "smsc.example.net",
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
    secret_file = tmp_path / f"connector-{rec.id}-secret"
    assert secret_file.read_text() == BIND_PASSWORD
    assert secret_file.stat().st_mode & 0o077 == 0
    assert not (tmp_path / f"connector-{rec.id}-key-secret").exists()
    async with svc.db.read() as session:
        row = await session.get(Connector, rec.id)
    assert row is not None
    assert BIND_PASSWORD not in str(row.settings)
    details = await _audit_details(svc)
    assert details
    assert not any(BIND_PASSWORD in d for d in details)

    # Edit: the fields as typed (text from a form), the password kept unless one is typed.
    edited = await svc.connectors.edit(
        ADMIN,
        "carrier smpp",
        settings={
            **SMPP,
            "port": "3550",
            "tls": True,
            "bind_mode": "pair",
            "concat": "sar",
            "window": " 20 ",
            "throughput": "50",
            "system_type": "VMA",
        },
    )
    assert {k: edited.settings[k] for k in ("port", "tls", "bind_mode", "concat")} == {
        "port": 3550,
        "tls": True,
        "bind_mode": "pair",
        "concat": "sar",
    }
    assert (edited.settings["window"], edited.settings["throughput"]) == (20, 50)
    assert edited.settings["system_type"] == "VMA"
    assert secret_file.read_text() == BIND_PASSWORD
    await svc.connectors.edit(ADMIN, rec.id, settings=SMPP, secret="another")
    assert secret_file.read_text() == "another"
    assert (await svc.connectors.get(ADMIN, rec.id)).settings["port"] == 2775

    # The services' readings see it, settings included; its figures start at zero.
    records = {r.id: r for r in await svc.connectors.records_for_services()}
    assert records[rec.id].type.value == "smpp"
    assert records[rec.id].settings["host"] == "smsc.example.net"
    figures = {f.id: f for f in await svc.connectors.figures(ADMIN)}
    assert (figures[rec.id].type, figures[rec.id].sent, figures[rec.id].numbers) == ("smpp", 0, 0)


async def test_an_smpp_edit_refused_names_its_fields_and_writes_nothing(
    svc: Services, tmp_path: Path
) -> None:
    rec = await svc.connectors.add(ADMIN, name="SMSC", kind="smpp", settings=SMPP, secret="p")
    before = await svc.connectors.get(ADMIN, rec.id)
    audited = await _audit_details(svc)
    with pytest.raises(InvalidConnector) as exc:
        await svc.connectors.edit(
            ADMIN,
            rec.id,
            settings={**SMPP, "host": "", "window": 101, "concat": "udh7"},
            secret="new",
        )
    assert list(exc.value.fields) == ["host", "window", "concat"]  # FIELDS["smpp"] order
    assert exc.value.fields["window"] == "window: the window must be 1–100"
    assert exc.value.fields["concat"] == "concat: choose udh8 or udh16 or sar"
    assert await svc.connectors.get(ADMIN, rec.id) == before
    assert (tmp_path / f"connector-{rec.id}-secret").read_text() == "p"
    assert await _audit_details(svc) == audited
    with pytest.raises(InvalidConnector, match="smpp has no setting url"):
        await svc.connectors.edit(ADMIN, rec.id, settings={**SMPP, "url": "https://a.example"})


async def test_smpp_test_connection_goes_through_the_gateway_factory(svc: Services) -> None:
    refused = ConnectionReport(ConnectionCheck.BIND_REFUSED, "the SMSC refused the bind")
    fake = _with_gateway(svc, refused)
    report = await svc.connectors.test(
        ADMIN, kind="smpp", settings={**SMPP, "tls": True, "window": "5"}, secret=BIND_PASSWORD
    )
    assert report == refused
    assert not report.ok
    (config,) = fake.configs
    assert isinstance(config, SmppConfig)
    assert (config.connector_id, config.host, config.port, config.system_id) == (
        0,
        "smsc.example.net",
        2775,
        "acme",
    )
    assert (config.password, config.tls, config.window) == (BIND_PASSWORD, True, 5)
    assert BIND_PASSWORD not in repr(config)
    assert fake.closed == 1
    assert await _audit_details(svc) == []  # a test writes nothing

    # No password typed and none saved: refused beside its field, nothing opened.
    with pytest.raises(InvalidConnector) as missing:
        await svc.connectors.test(ADMIN, kind="smpp", settings=SMPP)
    assert dict(missing.value.fields) == {"secret": "secret: the bind password is required"}
    # A refused setting: named, nothing opened.
    with pytest.raises(InvalidConnector) as bad:
        await svc.connectors.test(ADMIN, kind="smpp", settings={**SMPP, "port": 0}, secret="p")
    assert set(bad.value.fields) == {"port"}
    assert len(fake.configs) == 1

    # A saved connector: the saved password when none is typed.
    fake.report = ConnectionReport(ConnectionCheck.REACHABLE, "bound as acme")
    rec = await svc.connectors.add(
        ADMIN, name="SMSC", kind="smpp", settings=SMPP, secret=BIND_PASSWORD
    )
    report = await svc.connectors.test(ADMIN, kind="smpp", settings=SMPP, ref="smsc")
    assert report.ok
    config = fake.configs[-1]
    assert isinstance(config, SmppConfig)
    assert (config.connector_id, config.password) == (rec.id, BIND_PASSWORD)
    with pytest.raises(NotAllowed):
        await svc.connectors.test(Actor("sam"), kind="smpp", settings=SMPP, secret="p")


async def test_smpp_numbers_are_added_not_listed(svc: Services) -> None:
    rec = await svc.connectors.add(ADMIN, name="SMSC", kind="smpp", settings=SMPP, secret="p")
    fake = _with_gateway(svc, ConnectionReport(ConnectionCheck.REACHABLE, "ok"))
    with pytest.raises(InvalidConnector) as refused:
        await svc.connectors.provider_numbers(ADMIN, "smsc")
    assert "an SMPP connector cannot list the carrier's numbers" in refused.value.message
    assert f"bannertui connector add-number {rec.id} NUMBER" in refused.value.message
    assert "bannertui number add NUMBER --connector SMSC" in refused.value.message
    assert fake.configs == []  # nothing asked of the SMSC
    with pytest.raises(NotAllowed):
        await svc.connectors.provider_numbers(Actor("alice"), rec.id)

    # Any valid number: from the connector, from the numbers' administration, from a queue.
    assert await svc.connectors.add_number(ADMIN, rec.id, "+33 7 57 00 00 60") == "+33757000060"
    row = await svc.admin.add_number(ADMIN, "+33757000061", "Night", connector="smsc")
    assert row.connector == "SMSC"
    await svc.admin.save_queue(
        ADMIN, QueueSettings(name="Carrier", connector="SMSC", number="+33757000062")
    )
    assert await svc.connectors.numbers_of("SMSC") == [
        "+33757000060",
        "+33757000061",
        "+33757000062",
    ]
    figures = {f.id: f for f in await svc.connectors.figures(ADMIN)}
    assert (figures[rec.id].numbers, figures[rec.id].queues) == (3, 1)
    with pytest.raises(ConnectorInUse, match="Carrier"):
        await svc.connectors.remove(ADMIN, rec.id)
