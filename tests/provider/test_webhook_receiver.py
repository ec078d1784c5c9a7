"""The webhook receiver (SPEC P5): signed inbound SMS and delivery receipts, on SQLite and
PostgreSQL, in-process over ASGI, plus one round trip through uvicorn on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from bannertui.domain.enums import Direction, Folder, InteractionStatus, MessageStatus, MessageType
from bannertui.domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_headers
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import Interaction, Message, Queue, SmsNumber
from bannertui.web.webhook import (
    DEFAULT_MAX_BODY,
    WebhookServer,
    create_webhook_app,
    load_webhook_secret,
    serve_webhook,
)

SECRET = b"test-webhook-secret-0123456789"
#: The webhook's clock (Unix seconds): the instant the demo is seeded at.
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC).timestamp()
SUPPORT_NUMBER = "+33757000010"
SALES_NUMBER = "+33757000011"
UNKNOWN_NUMBER = "+33757009999"
CUSTOMER = "+33698765432"  # no conversation in the demo
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhook.md"


class WebhookClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- fixtures (kept here: tests/provider has no conftest of ours) -----------------------


@pytest.fixture
def webhook_clock() -> WebhookClock:
    return WebhookClock()


@pytest.fixture
async def client(
    services: Services, webhook_clock: WebhookClock
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_webhook_app(services, SECRET, clock=webhook_clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://webhook.test") as c:
        yield c


@pytest.fixture
async def offline_services(tmp_path: Path) -> AsyncIterator[Services]:
    """Services over a database that is never opened, for requests that must not reach it:
    the file not existing afterwards shows nothing even connected."""
    path = tmp_path / "never-opened.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}")
    yield Services(db)
    await db.dispose()
    assert not path.exists()


@pytest.fixture
async def offline_client(offline_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_webhook_app(offline_services, SECRET, clock=WebhookClock())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://webhook.test") as c:
        yield c


def body_of(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def inbound_payload(**fields: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "from": CUSTOMER,
        "to": SUPPORT_NUMBER,
        "text": "Hello, where is my order?",
        "id": "prov-0001",
    }
    payload.update(fields)
    return payload


async def post(
    client: httpx.AsyncClient,
    path: str,
    payload: object = None,
    *,
    body: bytes | None = None,
    now: float = NOW,
    headers: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST a signed body (``payload`` as JSON, or raw ``body``); ``headers`` override."""
    raw = body if body is not None else body_of(payload)
    sent: dict[str, Any] = signed_headers(SECRET, raw, now)
    sent.update(headers or {})
    return await client.post(path, content=raw, headers=sent)


async def snapshot(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every message and interaction row's mutable state: equal before/after = nothing written."""
    async with db.read() as session:
        messages = (
            await session.execute(
                sa.select(
                    col(Message.id),
                    col(Message.status),
                    col(Message.folder),
                    col(Message.error),
                    col(Message.delivered_at),
                    col(Message.provider_message_id),
                ).order_by(col(Message.id))
            )
        ).all()
        interactions = (
            await session.execute(
                sa.select(
                    col(Interaction.id),
                    col(Interaction.status),
                    col(Interaction.unread),
                    col(Interaction.last_message_at),
                ).order_by(col(Interaction.id))
            )
        ).all()
    return [tuple(r) for r in messages], [tuple(r) for r in interactions]


async def message_count(db: Database, *where: Any) -> int:
    async with db.read() as session:
        query = sa.select(sa.func.count()).select_from(Message)
        if where:
            query = query.where(*where)
        return int(await session.scalar(query) or 0)


async def queue_id_for(db: Database, number: str) -> int:
    async with db.read() as session:
        qid = await session.scalar(
            sa.select(col(Queue.id))
            .join(SmsNumber, col(SmsNumber.id) == col(Queue.sms_number_id))
            .where(col(SmsNumber.number) == number)
        )
    assert qid is not None
    return int(qid)


async def sent_message(db: Database, ret_id: str) -> int:
    """An outbound message the provider accepted (status sent), waiting for its receipt."""
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    async with db.write() as session:
        msg = Message(
            direction=Direction.OUTBOUND,
            from_number="+33757000001",
            to_number=CUSTOMER,
            remote_number=CUSTOMER,
            text="Your parcel ships today.",
            encoding="GSM-7",
            credits=1,
            type=MessageType.NOTIFICATION,
            sender="+33757000001",
            ret_id=ret_id,
            status=MessageStatus.SENT,
            folder=Folder.SENT,
            attempts=1,
            created_at=at,
            sent_at=at,
        )
        session.add(msg)
        await session.flush()
        assert msg.id is not None
        return msg.id


# --- inbound ------------------------------------------------------------------------------


async def test_inbound_is_stored_in_the_queue_conversation(
    client: httpx.AsyncClient, services: Services
) -> None:
    before = await message_count(services.db)
    payload = inbound_payload(received_at="2026-11-02T11:59:58+02:00")
    resp = await post(client, "/v1/inbound", payload)
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["status"] == "stored"
    assert data["duplicate"] is False
    assert isinstance(data["message_id"], int)
    assert await message_count(services.db) == before + 1

    async with services.db.read() as session:
        msg = await session.get(Message, data["message_id"])
        assert msg is not None
        assert msg.provider_message_id == "prov-0001"
        assert msg.direction == Direction.INBOUND
        assert (msg.from_number, msg.to_number) == (CUSTOMER, SUPPORT_NUMBER)
        assert msg.text == "Hello, where is my order?"
        assert msg.status == MessageStatus.RECEIVED
        assert msg.created_at == datetime(2026, 11, 2, 9, 59, 58, tzinfo=UTC)
        assert msg.interaction_id is not None
        inter = await session.get(Interaction, msg.interaction_id)
    assert inter is not None
    assert inter.queue_id == await queue_id_for(services.db, SUPPORT_NUMBER)
    assert inter.remote_number == CUSTOMER
    assert inter.status == InteractionStatus.PROGRESSING  # distributed to a member (Q2)
    assert inter.agent_id is not None
    assert inter.unread == 1


async def test_inbound_to_an_unknown_number_lands_in_the_inbox_only(
    client: httpx.AsyncClient, services: Services
) -> None:
    resp = await post(client, "/v1/inbound", inbound_payload(to=UNKNOWN_NUMBER, id="p-x"))
    assert resp.status_code == 200, resp.text
    async with services.db.read() as session:
        msg = await session.get(Message, resp.json()["message_id"])
    assert msg is not None
    assert (msg.interaction_id, msg.queue_id) == (None, None)


async def test_duplicate_id_is_stored_once(client: httpx.AsyncClient, services: Services) -> None:
    first = await post(client, "/v1/inbound", inbound_payload())
    assert first.status_code == 200
    after_first = await snapshot(services.db)
    again = await post(client, "/v1/inbound", inbound_payload(text="resent by the provider"))
    assert again.status_code == 200
    assert again.json() == {
        "status": "stored",
        "message_id": first.json()["message_id"],
        "duplicate": True,
    }
    assert await snapshot(services.db) == after_first
    assert await message_count(services.db, col(Message.provider_message_id) == "prov-0001") == 1


async def test_concurrent_duplicates_are_stored_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    before = await message_count(services.db)
    payload = inbound_payload(id="prov-race", to=SALES_NUMBER)
    responses = await asyncio.gather(*(post(client, "/v1/inbound", payload) for _ in range(8)))
    assert [r.status_code for r in responses] == [200] * 8
    bodies = [r.json() for r in responses]
    assert len({b["message_id"] for b in bodies}) == 1
    assert sorted(b["duplicate"] for b in bodies) == [False] + [True] * 7
    assert await message_count(services.db) == before + 1


# --- receipts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "folder", "error"),
    [
        ("delivered", None, Folder.SENT, None),
        ("failed", "handset unreachable", Folder.FAILED, "handset unreachable"),
        (
            "failed",  # credentials in a reason shown to agents are masked (SPEC P7)
            "callback https://acme:s3cret@hooks.example failed (Basic YWNtZTpzM2NyZXQ=)",
            Folder.FAILED,
            "callback https://********@hooks.example failed (Basic ********)",
        ),
    ],
)
async def test_receipt_updates_the_status(
    client: httpx.AsyncClient,
    services: Services,
    status: str,
    reason: str | None,
    folder: Folder,
    error: str | None,
) -> None:
    message_id = await sent_message(services.db, "ret-0001")
    resp = await post(
        client, "/v1/receipts", {"retId": "ret-0001", "status": status, "reason": reason}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "recorded", "message_status": status}
    async with services.db.read() as session:
        msg = await session.get(Message, message_id)
    assert msg is not None
    assert (msg.status, msg.folder, msg.error) == (status, folder, error)
    # idempotent, and a late "failed" never overrides "delivered"
    again = await post(client, "/v1/receipts", {"retId": "ret-0001", "status": "failed"})
    assert again.status_code == 200
    assert again.json()["message_status"] == status


async def test_unknown_ret_id_is_404(client: httpx.AsyncClient, services: Services) -> None:
    before = await snapshot(services.db)
    resp = await post(client, "/v1/receipts", {"retId": "nope", "status": "delivered"})
    assert resp.status_code == 404
    assert resp.json()["error"].startswith("Unknown message: ")
    assert "nope" in resp.json()["error"]
    assert await snapshot(services.db) == before


# --- authentication -----------------------------------------------------------------------
#
# The refusal matrices run as one test per backend (a case per loop step, named in the
# failure message): each test's setup builds and seeds a database, and the refusals happen
# before the services anyway.  Nothing may be written by any of them.


async def refused(
    client: httpx.AsyncClient,
    path: str,
    body: bytes,
    headers: dict[str, Any],
    status: int,
    case: str,
) -> str:
    """POST and check the refusal's status and JSON shape; returns the error text."""
    resp = await client.post(path, content=body, headers=headers)
    assert resp.status_code == status, f"{case}: {resp.status_code} {resp.text}"
    data = resp.json()
    assert list(data) == ["error"], f"{case}: {data}"
    assert isinstance(data["error"], str)
    assert SECRET.decode() not in resp.text, case
    return str(data["error"])


async def test_bad_signature_is_401_and_nothing_written(
    client: httpx.AsyncClient, services: Services
) -> None:
    body = body_of(inbound_payload())
    ts = str(int(NOW))
    good = sign(SECRET, ts, body)
    cases: list[tuple[str, bytes, dict[str, Any]]] = [
        ("wrong secret", body, {SIGNATURE_HEADER: sign(b"another-secret-0123456789", ts, body)}),
        ("body changed after signing", body.replace(b"order", b"ORDER"), {}),
        ("timestamp changed after signing", body, {TIMESTAMP_HEADER: str(int(NOW) + 1)}),
        ("uppercase hex", body, {SIGNATURE_HEADER: "sha256=" + good[7:].upper()}),
        ("no sha256= prefix", body, {SIGNATURE_HEADER: good[7:]}),
        ("not hex", body, {SIGNATURE_HEADER: "sha256=zz"}),
        ("empty", body, {SIGNATURE_HEADER: ""}),
        ("non-ascii bytes", body, {SIGNATURE_HEADER: b"sha256=\xe9\xe9"}),
    ]
    before = await snapshot(services.db)
    for case, sent, override in cases:
        headers: dict[str, Any] = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: good, **override}
        error = await refused(client, "/v1/inbound", sent, headers, 401, case)
        assert error == "bad signature", case
    assert await snapshot(services.db) == before


async def test_stale_timestamp_is_401(
    client: httpx.AsyncClient, services: Services, webhook_clock: WebhookClock
) -> None:
    body = body_of(inbound_payload())
    headers = signed_headers(SECRET, body, NOW)
    before = await snapshot(services.db)
    for skew in (301, -301, 10_000, -NOW):
        webhook_clock.now = NOW + skew  # the request is signed at NOW
        error = await refused(client, "/v1/inbound", body, headers, 401, f"skew {skew}")
        assert error == "stale timestamp"
    assert await snapshot(services.db) == before


async def test_skew_of_exactly_300_s_is_accepted(
    client: httpx.AsyncClient, webhook_clock: WebhookClock
) -> None:
    for n, skew in enumerate((300, -300)):
        webhook_clock.now = NOW + skew
        resp = await post(client, "/v1/inbound", inbound_payload(id=f"prov-skew-{n}"))
        assert resp.status_code == 200, (skew, resp.text)


async def test_non_integer_timestamp_is_401(client: httpx.AsyncClient, services: Services) -> None:
    body = body_of(inbound_payload())
    before = await snapshot(services.db)
    for ts in ("1793613600.0", "1793613600.5", "abc", "", " 1793613600", "-1", "1.79e9", "0x1"):
        signed = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(SECRET, ts, body)}
        error = await refused(client, "/v1/inbound", body, signed, 401, repr(ts))
        assert error.startswith("bad timestamp"), ts
    headers: dict[str, Any] = {**signed_headers(SECRET, body, NOW)}
    headers[TIMESTAMP_HEADER] = "١٧٩٣٦١٣٦٠٠".encode()  # Arabic-Indic digits: not ASCII
    await refused(client, "/v1/inbound", body, headers, 401, "non-ascii digits")
    assert await snapshot(services.db) == before


async def test_missing_headers_are_401(client: httpx.AsyncClient, services: Services) -> None:
    body = body_of(inbound_payload())
    before = await snapshot(services.db)
    for path in ("/v1/inbound", "/v1/receipts"):
        for missing in (
            [TIMESTAMP_HEADER],
            [SIGNATURE_HEADER],
            [TIMESTAMP_HEADER, SIGNATURE_HEADER],
        ):
            headers = signed_headers(SECRET, body, NOW)
            for name in missing:
                del headers[name]
            error = await refused(client, path, body, headers, 401, f"{path} without {missing}")
            assert error.startswith("missing "), error
    assert await snapshot(services.db) == before


# --- validation ---------------------------------------------------------------------------


async def test_malformed_json_is_400(client: httpx.AsyncClient, services: Services) -> None:
    cases = {
        "garbage": b"{not json",
        "empty": b"",
        "truncated": body_of(inbound_payload())[:-1],
        "array": b"[1, 2]",
        "string": b'"text"',
        "null": b"null",
        "not utf-8": b"\xff\xfe{}",
        "deep nesting": b"[" * 50_000,
    }
    before = await snapshot(services.db)
    for case, body in cases.items():
        error = await refused(
            client, "/v1/inbound", body, signed_headers(SECRET, body, NOW), 400, case
        )
        assert error.startswith("malformed JSON"), (case, error)
    assert await snapshot(services.db) == before


WRONG_FIELDS: list[tuple[str, object, str]] = [
    ("/v1/inbound", inbound_payload(text=42), "text"),
    ("/v1/inbound", {k: v for k, v in inbound_payload().items() if k != "from"}, "from"),
    ("/v1/inbound", inbound_payload(to=None), "to"),
    ("/v1/inbound", inbound_payload(to=["+33757000010"]), "to"),
    ("/v1/inbound", inbound_payload(id=7), "id"),
    ("/v1/inbound", inbound_payload(id=True), "id"),
    ("/v1/inbound", inbound_payload(text="nul \x00 inside"), "text"),
    ("/v1/inbound", inbound_payload(text="lone \ud800 surrogate"), "text"),
    ("/v1/inbound", inbound_payload(received_at="yesterday"), "received_at"),
    ("/v1/inbound", inbound_payload(received_at="2026-11-02T09:59:58"), "received_at"),
    ("/v1/inbound", inbound_payload(received_at=1793613598), "received_at"),
    ("/v1/inbound", inbound_payload(received_at="0001-01-01T00:00:00+01:00"), "received_at"),
    ("/v1/receipts", {"status": "delivered"}, "retId"),
    ("/v1/receipts", {"retId": 12, "status": "delivered"}, "retId"),
    ("/v1/receipts", {"retId": "", "status": "delivered"}, "retId"),
    ("/v1/receipts", {"retId": "r" * 65, "status": "delivered"}, "retId"),
    ("/v1/receipts", {"retId": "ret-0001", "status": "bounced"}, "status"),
    ("/v1/receipts", {"retId": "ret-0001", "status": "DELIVERED"}, "status"),
    ("/v1/receipts", {"retId": "ret-0001"}, "status"),
    ("/v1/receipts", {"retId": "ret-0001", "status": "failed", "reason": 3}, "reason"),
]


async def test_wrong_types_and_missing_fields_are_400_naming_the_field(
    client: httpx.AsyncClient, services: Services
) -> None:
    await sent_message(services.db, "ret-0001")  # so a receipt is refused for its fields only
    before = await snapshot(services.db)
    for path, payload, field in WRONG_FIELDS:
        body = body_of(payload)
        case = f"{path} {body[:80]!r}"
        error = await refused(client, path, body, signed_headers(SECRET, body, NOW), 400, case)
        assert error.startswith(field + " "), (case, error)
    assert await snapshot(services.db) == before


async def test_invalid_inbound_is_400_with_the_service_message(
    client: httpx.AsyncClient, services: Services
) -> None:
    seventeen = "+3361234567890123"
    assert len(seventeen) == 17
    cases: list[tuple[dict[str, str], str]] = [
        ({"from": seventeen}, "Invalid inbound message: from must be a phone number"),
        ({"to": "   "}, "Invalid inbound message: to must be"),
        ({"id": ""}, "Invalid inbound message: a provider message id"),
        ({"id": "i" * 129}, "Invalid inbound message: a provider message id"),
        ({"text": "x" * 10_001}, "Invalid inbound message: text longer than"),
    ]
    before = await snapshot(services.db)
    for fields, start in cases:
        body = body_of(inbound_payload(**fields))
        headers = signed_headers(SECRET, body, NOW)
        error = await refused(client, "/v1/inbound", body, headers, 400, str(fields)[:60])
        assert error.startswith(start), error
    assert await snapshot(services.db) == before


# --- body cap -----------------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A valid inbound body of exactly ``size`` bytes (JSON allows trailing whitespace)."""
    body = body_of(inbound_payload(id="prov-big"))
    return body + b" " * (size - len(body))


async def test_body_at_the_cap_is_accepted(client: httpx.AsyncClient) -> None:
    resp = await post(client, "/v1/inbound", body=padded(DEFAULT_MAX_BODY))
    assert resp.status_code == 200, resp.text


async def test_oversized_body_is_413_and_nothing_written(
    client: httpx.AsyncClient, services: Services
) -> None:
    before = await snapshot(services.db)
    resp = await post(client, "/v1/inbound", body=padded(DEFAULT_MAX_BODY + 1))
    assert resp.status_code == 413
    assert "larger than" in resp.json()["error"]
    assert await snapshot(services.db) == before


async def test_oversized_streamed_body_without_length_is_413(
    client: httpx.AsyncClient, services: Services
) -> None:
    """No Content-Length (chunked): the cap is enforced by counting the streamed bytes."""
    body = padded(DEFAULT_MAX_BODY + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    before = await snapshot(services.db)
    request = client.build_request(
        "POST", "/v1/inbound", content=chunks(), headers=signed_headers(SECRET, body, NOW)
    )
    assert "content-length" not in request.headers
    resp = await client.send(request)
    assert resp.status_code == 413
    assert await snapshot(services.db) == before


async def test_an_oversized_content_length_is_refused_before_reading(
    offline_services: Services,
) -> None:
    """A declared length over the cap answers 413 without reading a byte of the body."""
    app = create_webhook_app(offline_services, SECRET, clock=WebhookClock())
    headers = signed_headers(SECRET, b"{}", NOW)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/inbound",
        "raw_path": b"/v1/inbound",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(10**9).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8090),
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": "request body larger than 65536 bytes"}


async def test_a_small_cap_is_honoured(offline_services: Services) -> None:
    app = create_webhook_app(offline_services, SECRET, clock=WebhookClock(), max_body=100)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://webhook.test") as c:
        resp = await post(c, "/v1/inbound", inbound_payload(text="x" * 100))
    assert resp.status_code == 413
    assert resp.json() == {"error": "request body larger than 100 bytes"}


# --- the rest of the surface ----------------------------------------------------------------


async def test_healthz_needs_no_auth(offline_client: httpx.AsyncClient) -> None:
    resp = await offline_client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


async def test_unknown_paths_and_methods_answer_json(
    offline_client: httpx.AsyncClient,
) -> None:
    missing = await offline_client.get("/v1/nothing")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found"}
    wrong = await offline_client.get("/v1/inbound")
    assert wrong.status_code == 405
    assert wrong.json() == {"error": "Method Not Allowed"}


def test_signed_headers_round_trip() -> None:
    headers = signed_headers(SECRET, b"{}", now=1793613600.9)
    assert headers[TIMESTAMP_HEADER] == "1793613600"
    assert headers[SIGNATURE_HEADER] == sign(SECRET, "1793613600", b"{}")
    assert headers["Content-Type"] == "application/json"


def test_the_documented_signature_example_is_right() -> None:
    secret = b"demo-webhook-secret-0123456789"
    body = (
        b'{"from":"+33612345678","to":"+33757000010","text":"Hello, is my order shipped?",'
        b'"id":"prov-0001","received_at":"2026-11-02T09:59:58Z"}'
    )
    expected = "sha256=3275cf4cfc3d2606a2175c77e5ff512927b58a63a86e43e121257666b2441d8e"
    assert sign(secret, "1793613600", body) == expected
    doc = DOCS.read_text(encoding="utf-8")
    assert expected in doc
    assert body.decode() in doc


def test_load_webhook_secret() -> None:
    assert load_webhook_secret({"BANNERTUI_WEBHOOK_SECRET": "s" * 16}) == b"s" * 16
    with pytest.raises(ValueError, match="BANNERTUI_WEBHOOK_SECRET is not set"):
        load_webhook_secret({})
    with pytest.raises(ValueError, match="BANNERTUI_WEBHOOK_SECRET is not set"):
        load_webhook_secret({"BANNERTUI_WEBHOOK_SECRET": ""})
    with pytest.raises(ValueError, match="too short") as info:
        load_webhook_secret({"BANNERTUI_WEBHOOK_SECRET": "hunter2-secret"})
    assert "hunter2" not in str(info.value)


# --- for real, over loopback HTTP -------------------------------------------------------------


async def test_served_by_uvicorn_on_loopback(services: Services) -> None:
    async with WebhookServer(services, SECRET, port=0, clock=WebhookClock()) as server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
            assert (await c.get("/healthz")).json() == {"status": "ok"}
            stored = await post(c, "/v1/inbound", inbound_payload(id="prov-http"))
            assert stored.status_code == 200, stored.text
            assert stored.json()["duplicate"] is False
            refused = await post(c, "/v1/inbound", inbound_payload(id="x"), now=NOW - 301)
            assert refused.status_code == 401
            too_big = await post(c, "/v1/inbound", body=padded(DEFAULT_MAX_BODY + 1))
            assert too_big.status_code == 413
    assert await message_count(services.db, col(Message.provider_message_id) == "prov-http") == 1
    with (
        socket.socket() as s,
        pytest.raises(ConnectionRefusedError),
    ):  # stopped: nothing listens any more
        s.connect(("127.0.0.1", server.port))


async def test_a_taken_port_raises_oserror(offline_services: Services) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="already in use"):
            async with WebhookServer(offline_services, SECRET, port=taken.getsockname()[1]):
                pass


async def test_serve_webhook_signals_ready_and_stops_when_cancelled(
    offline_services: Services,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ready = asyncio.Event()
    task = asyncio.create_task(serve_webhook(offline_services, SECRET, port=port, ready=ready))
    await asyncio.wait_for(ready.wait(), 10)
    async with httpx.AsyncClient(timeout=10) as c:
        health = await c.get(f"http://127.0.0.1:{port}/healthz")
    assert health.json() == {"status": "ok"}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.1", port))


# --- malformed HTTP, over a raw socket: the documented JSON errors too ----------------------


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response: status, headers (lower-case names), body (by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split(" ")[1]), headers, body


async def exchange(port: int, request: bytes, answers: int = 1) -> list[tuple[int, Any, bytes]]:
    """Send raw bytes, read ``answers`` responses, then check the server closed the
    connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            responses = [await read_response(reader) for _ in range(answers)]
            assert await reader.read() == b""  # closed: nothing after the error
    finally:
        writer.close()
    return responses


def raw_post(*header_lines: str, body: bytes = b"{}", signed: bool = True) -> bytes:
    headers = signed_headers(SECRET, body, NOW) if signed else {}
    lines = [
        "POST /v1/inbound HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
        *header_lines,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


BAD_LENGTH = "invalid Content-Length header"
BAD_ENCODING = "invalid Transfer-Encoding header"
MALFORMED = "malformed HTTP request"

MALFORMED_REQUESTS = {
    "length-with-letters": (raw_post("Content-Length: 12abc"), BAD_LENGTH),
    "length-negative": (raw_post("Content-Length: -1"), BAD_LENGTH),
    "length-with-sign": (raw_post("Content-Length: +2"), BAD_LENGTH),
    "length-list": (raw_post("Content-Length: 2, 2"), BAD_LENGTH),
    "length-overflow": (raw_post("Content-Length: " + "9" * 30), BAD_LENGTH),
    "two-conflicting-lengths": (raw_post("Content-Length: 2", "Content-Length: 3"), BAD_LENGTH),
    "two-equal-lengths": (raw_post("Content-Length: 2", "Content-Length: 2"), BAD_LENGTH),
    "encoding-junk": (raw_post("Transfer-Encoding: junk"), BAD_ENCODING),
    "encoding-chunked-then-junk": (raw_post("Transfer-Encoding: chunked, junk"), BAD_ENCODING),
    "encoding-and-length": (
        raw_post("Transfer-Encoding: chunked", "Content-Length: 2", body=b"2\r\n{}\r\n0\r\n\r\n"),
        BAD_ENCODING,
    ),
    "bad-chunk-size": (
        raw_post("Transfer-Encoding: chunked", body=b"zz\r\n{}\r\n0\r\n\r\n"),
        MALFORMED,
    ),
    "bad-header-name": (raw_post("Bad Header: 1", signed=False), MALFORMED),
    "bad-http-version": (b"GET /healthz HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", MALFORMED),
    "not-http": (b"HELLO\r\n\r\n", MALFORMED),
    "tls-to-plain-http": (
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32,
        MALFORMED,
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED_REQUESTS))
async def test_malformed_http_gets_the_documented_json_error(
    offline_services: Services, case: str
) -> None:
    """Framing the HTTP server itself refuses (before the app sees the request) answers the
    documented ``400 {"error": ...}`` in JSON, not the server's plain text; nothing is read
    from or written to the database (offline_services checks it was never opened)."""
    request, error = MALFORMED_REQUESTS[case]
    async with WebhookServer(offline_services, SECRET, port=0, clock=WebhookClock()) as server:
        [(status, headers, body)] = await exchange(server.port, request)
        assert (status, json.loads(body)) == (400, {"error": error})
        assert headers["content-type"] == "application/json"
        assert headers["connection"] == "close"
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
            assert (await c.get("/healthz")).json() == {"status": "ok"}  # still serving


async def test_a_malformed_request_after_a_good_one_on_the_same_connection(
    offline_services: Services,
) -> None:
    good = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    bad = raw_post("Content-Length: 12abc")
    async with WebhookServer(offline_services, SECRET, port=0, clock=WebhookClock()) as server:
        [first, second] = await exchange(server.port, good + bad, answers=2)
    assert (first[0], json.loads(first[2])) == (200, {"status": "ok"})
    assert (second[0], json.loads(second[2])) == (400, {"error": BAD_LENGTH})


def test_the_malformed_http_errors_are_documented() -> None:
    doc = DOCS.read_text(encoding="utf-8")
    for error in (BAD_LENGTH, BAD_ENCODING, MALFORMED):
        assert f'| 400 | `{{"error": "{error}"}}` |' in doc  # the table of status codes
        assert f'| `{{"error": "{error}"}}` |\n' in doc  # the table of malformed requests
