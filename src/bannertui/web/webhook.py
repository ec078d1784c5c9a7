"""The webhook receiver (SPEC P5): inbound SMS and delivery receipts, signed by the provider.

Every POST is checked in this order, and nothing is written for a refused request:

1. both authentication headers are present, the timestamp is an integer of Unix seconds
   within ``MAX_SKEW_SECONDS`` of our clock (401);
2. the body is read with a cap: the ``Content-Length`` header first, then the bytes counted
   while they stream in (413);
3. the signature verifies over the raw body bytes (401);
4. the JSON has the documented fields and types (400, naming the field);
5. the services accept it (400 with the service's message, 404 for an unknown ``retId``).

The wire format is documented for provider integrators in ``docs/webhook.md``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bannertui.config import Secrets
from bannertui.domain.errors import BannerError, NotFound
from bannertui.domain.masking import mask_credentials
from bannertui.domain.signing import MAX_SKEW_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from bannertui.services import Services
from bannertui.services.inbound import ReceiptStatus
from bannertui.web.serving import LoopbackServer
from bannertui.web.twilio_hooks import Refused as _Refused
from bannertui.web.twilio_hooks import twilio_routes

logger = logging.getLogger(__name__)

#: The largest request body accepted, in bytes (larger: 413).
DEFAULT_MAX_BODY = 64 * 1024
#: The environment variable holding the shared secret, and its minimum length.
SECRET_ENV = "BANNERTUI_WEBHOOK_SECRET"
MIN_SECRET_CHARS = 16
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090

INBOUND_PATH = "/v1/inbound"
RECEIPTS_PATH = "/v1/receipts"
HEALTH_PATH = "/healthz"

#: A timestamp is ASCII digits only (no sign, no fraction, no spaces), at most 12 of them.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
#: The longest retId we ever issue (the column's width): longer ones are refused as invalid.
_MAX_RET_ID = 64


def _error(status: int, error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


# --- secrets and signing (both sides) --------------------------------------------------


def load_webhook_secret(env: Mapping[str, str] | None = None) -> bytes:
    """The shared secret from ``BANNERTUI_WEBHOOK_SECRET`` (:class:`bannertui.config.Secrets`;
    ``env``: that mapping instead of the process's environment), as its UTF-8 bytes, used
    exactly (no trimming).  ValueError when it is unset, empty, or shorter than 16
    characters; the message never contains the value."""
    value = Secrets.value(Secrets.of(env).webhook_secret)
    if not value:
        raise ValueError(
            f"{SECRET_ENV} is not set: the webhook receiver needs the secret it shares with "
            f"the SMS provider (at least {MIN_SECRET_CHARS} characters)"
        )
    if len(value) < MIN_SECRET_CHARS:
        raise ValueError(
            f"{SECRET_ENV} is too short ({len(value)} characters): use at least "
            f"{MIN_SECRET_CHARS} characters, for example a random hex string"
        )
    return value.encode("utf-8")


# --- checks, in order --------------------------------------------------------------------


def _check_timestamp(request: Request, clock: Callable[[], float]) -> str:
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    signature = request.headers.get(SIGNATURE_HEADER)
    if timestamp is None or signature is None:
        raise _Refused(401, f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        raise _Refused(401, "bad timestamp: expected an integer of Unix seconds")
    if abs(clock() - int(timestamp)) > MAX_SKEW_SECONDS:
        raise _Refused(401, "stale timestamp")
    return timestamp


async def _read_body(request: Request, max_body: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isascii() or not length.isdigit():
            raise _Refused(400, "invalid Content-Length header")
        if int(length) > max_body:
            raise _Refused(413, f"request body larger than {max_body} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise _Refused(413, f"request body larger than {max_body} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_signature(request: Request, secret: bytes, timestamp: str, body: bytes) -> None:
    signature = request.headers.get(SIGNATURE_HEADER, "")
    # compare_digest refuses non-ASCII str: such a header is simply wrong.
    if not signature.isascii() or not verify(secret, timestamp, body, signature):
        raise _Refused(401, "bad signature")


def _parse_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise _Refused(400, "malformed JSON: the body must be a UTF-8 JSON object") from None
    if not isinstance(data, dict):
        raise _Refused(400, "malformed JSON: the body must be a JSON object")
    return data


def _text(value: object, field: str) -> str:
    """A string the database can store: valid Unicode (no lone surrogate) and no NUL."""
    if not isinstance(value, str):
        raise _Refused(400, f"{field} must be a string")
    if "\x00" in value:
        raise _Refused(400, f"{field} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(400, f"{field} must be valid Unicode text") from None
    return value


def _required(data: Mapping[str, Any], field: str) -> str:
    if field not in data or data[field] is None:
        raise _Refused(400, f"{field} is required")
    return _text(data[field], field)


def _optional(data: Mapping[str, Any], field: str) -> str | None:
    value = data.get(field)
    return None if value is None else _text(value, field)


def _instant(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise _Refused(400, f"{field} must be an ISO 8601 date and time") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise _Refused(400, f"{field} must include a timezone (Z or ±HH:MM)")
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise _Refused(400, f"{field} is out of range") from None


# --- the app ------------------------------------------------------------------------------

Handler = Callable[[dict[str, Any]], Awaitable[JSONResponse]]


def create_webhook_app(
    services: Services,
    secret: bytes,
    *,
    clock: Callable[[], float] = time.time,
    max_body: int = DEFAULT_MAX_BODY,
    secrets_dir: Path | None = None,
) -> Starlette:
    """The receiver as an ASGI app.  ``clock`` (Unix seconds) judges the timestamp's skew;
    the services keep their own clock for what they store.  The Twilio connectors' paths
    (:mod:`bannertui.web.twilio_hooks`) are served too; ``secrets_dir``: where their auth
    tokens are (None: the services')."""
    if not secret:
        raise ValueError("the webhook secret must not be empty")

    def endpoint(handle: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                timestamp = _check_timestamp(request, clock)
                body = await _read_body(request, max_body)
                _check_signature(request, secret, timestamp, body)
                return await handle(_parse_object(body))
            except ClientDisconnect:
                logger.info("webhook %s: the client went away mid-body", request.url.path)
                return _error(400, "client disconnected")
            except _Refused as refused:
                logger.info("webhook %s refused: %s", request.url.path, refused.error)
                return _error(refused.status, refused.error)
            except NotFound as exc:
                logger.info("webhook %s refused: %s", request.url.path, exc.message)
                return _error(404, exc.message)
            except BannerError as exc:
                logger.info("webhook %s refused: %s", request.url.path, exc.message)
                return _error(400, exc.message)
            except Exception:
                logger.exception("webhook %s failed", request.url.path)
                return _error(500, "internal error")

        return run

    async def inbound(data: dict[str, Any]) -> JSONResponse:
        from_number = _required(data, "from")
        to_number = _required(data, "to")
        text = _required(data, "text")
        provider_id = _required(data, "id")
        received_at = _instant(_optional(data, "received_at"), "received_at")
        result = await services.inbound.receive(
            from_number, to_number, text, provider_id, received_at
        )
        return JSONResponse(
            {"status": "stored", "message_id": result.message.id, "duplicate": not result.created}
        )

    async def receipts(data: dict[str, Any]) -> JSONResponse:
        ret_id = _required(data, "retId")
        if not 1 <= len(ret_id) <= _MAX_RET_ID:
            raise _Refused(400, f"retId must be 1–{_MAX_RET_ID} characters")
        status = _required(data, "status")
        if status not in {s.value for s in ReceiptStatus}:
            raise _Refused(400, 'status must be "delivered" or "failed"')
        reason = _optional(data, "reason")
        if reason:  # shown to agents: never a URL's userinfo or Basic credentials (SPEC P7)
            reason = mask_credentials(reason)
        message = await services.inbound.record_receipt(ret_id, status, reason)
        return JSONResponse({"status": "recorded", "message_status": message.status})

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, exc.detail)

    return Starlette(
        routes=[
            Route(INBOUND_PATH, endpoint(inbound), methods=["POST"]),
            Route(RECEIPTS_PATH, endpoint(receipts), methods=["POST"]),
            Route(HEALTH_PATH, healthz, methods=["GET"]),
            *twilio_routes(
                services,
                lambda request: _read_body(request, max_body),
                secrets_dir=secrets_dir if secrets_dir is not None else services.secrets_dir,
            ),
        ],
        exception_handlers={HTTPException: http_error},
    )


# --- serving it ---------------------------------------------------------------------------


async def serve_webhook(
    services: Services,
    secret: bytes,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve the receiver in the current event loop until cancelled (a graceful stop: in-flight
    requests finish).  ``ready`` is set once the socket listens; a port that cannot be bound
    raises OSError before that."""
    async with WebhookServer(services, secret, host, port) as server:
        if ready is not None:
            ready.set()
        await server.wait()


class WebhookServer(LoopbackServer):
    """The receiver served for real on loopback (CLI, demo, tests, bench)::

    async with WebhookServer(services, secret) as server:
        httpx.post(server.url + "/v1/inbound", content=body, headers=signed_headers(...))
    """

    def __init__(
        self,
        services: Services,
        secret: bytes,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        clock: Callable[[], float] = time.time,
        max_body: int = DEFAULT_MAX_BODY,
        secrets_dir: Path | None = None,
    ) -> None:
        super().__init__(
            create_webhook_app(
                services, secret, clock=clock, max_body=max_body, secrets_dir=secrets_dir
            ),
            host=host,
            port=port,
        )

    async def __aenter__(self) -> WebhookServer:
        await self.start()
        return self
