"""The receiver's Twilio paths (issue #20): inbound texts and status callbacks of each Twilio
connector, at ``/twilio/<connector id>/inbound`` and ``/twilio/<connector id>/status``.

Every POST is checked in this order, and nothing is written for a refused request:

1. the connector exists and is of type ``twilio`` (404);
2. the body is read with the receiver's cap (413), form-encoded;
3. ``X-Twilio-Signature`` verifies — with the official ``twilio`` package's
   ``RequestValidator``, over the URL Twilio called (the connector's public URL and the path,
   with its query) and the form fields — with the connector's auth token (401);
4. the same signed request was not already taken (409, *replayed request*): Twilio's
   signature has no timestamp, so the receiver remembers the signatures it accepted for
   ``REPLAY_WINDOW_S`` (Twilio's own retries of a request we did not take are taken);
5. the fields are there (400, naming the field), and the services accept it.

Twilio answers STOP and START itself (its opt-out handling): the opt-out is recorded as
ours is (X1) and no confirmation of ours is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bannertui.domain.enums import ConnectorType
from bannertui.domain.errors import BannerError, NotFound
from bannertui.domain.masking import mask_credentials
from bannertui.domain.text import one_line
from bannertui.services import Services
from bannertui.services.connectors import ConnectorRecord
from bannertui.services.inbound import ProviderStatus
from bannertui.store.secrets import SecretError

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
INBOUND_PATH = "/twilio/{connector_id:int}/inbound"
STATUS_PATH = "/twilio/{connector_id:int}/status"
#: How long an accepted signature is remembered (a replay within it is refused).
REPLAY_WINDOW_S = 24 * 3600.0
REPLAY_MAX = 200_000
#: How often the connectors' settings and tokens are read again.
REFRESH_S = 5.0
UNKNOWN_RETRY_S = 1.0

#: Twilio's MessageStatus values, in our terms (None: nothing to record yet).
STATUSES: dict[str, ProviderStatus | None] = {
    "accepted": ProviderStatus.ACCEPTED,
    "scheduled": ProviderStatus.ACCEPTED,
    "queued": ProviderStatus.ACCEPTED,
    "sending": ProviderStatus.ACCEPTED,
    "sent": ProviderStatus.ACCEPTED,
    "delivered": ProviderStatus.DELIVERED,
    "read": ProviderStatus.DELIVERED,
    "undelivered": ProviderStatus.FAILED,
    "failed": ProviderStatus.FAILED,
    "canceled": ProviderStatus.FAILED,
    "receiving": None,
    "received": None,
}
#: What a few of Twilio's delivery error codes mean, for the agents.
ERROR_CODES = {
    "30001": "queue overflow",
    "30002": "account suspended",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "carrier violation (filtered)",
    "30008": "unknown error",
    "21610": "the recipient unsubscribed (STOP)",
}


class Refused(Exception):
    """A request refused before it reaches the services: status and plain-text reason (the
    receiver's own paths refuse the same way)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


class _Connectors:
    """The Twilio connectors and their validators, read again every ``REFRESH_S``."""

    def __init__(self, services: Services, secrets_dir: Path | None) -> None:
        self.services = services
        self.secrets_dir = secrets_dir
        self._at = -REFRESH_S
        self._by_id: dict[int, tuple[ConnectorRecord, RequestValidator | None]] = {}
        self._lock = asyncio.Lock()

    def _stale(self, cid: int) -> bool:
        """Read again every REFRESH_S, and for a connector not known yet (one just added),
        but then at most once a second: unknown ids posted in a loop cost no more."""
        age = time.monotonic() - self._at
        return age >= REFRESH_S or (cid not in self._by_id and age >= UNKNOWN_RETRY_S)

    async def get(self, cid: int) -> tuple[ConnectorRecord, RequestValidator | None]:
        if self._stale(cid):
            async with self._lock:
                if self._stale(cid):
                    await self._load()
        found = self._by_id.get(cid)
        if found is None:
            raise Refused(404, f"no Twilio connector {cid}")
        return found

    async def _load(self) -> None:
        records = await self.services.connectors.records_for_services()
        by_id: dict[int, tuple[ConnectorRecord, RequestValidator | None]] = {}
        for rec in records:
            if rec.type is not ConnectorType.TWILIO:
                continue
            try:
                token = rec.secrets(self.secrets_dir).get()
            except SecretError as exc:
                logger.warning("Twilio connector %s: %s", rec.id, exc)
                token = None
            by_id[rec.id] = (rec, RequestValidator(token) if token else None)
        self._by_id = by_id
        self._at = time.monotonic()


class _Seen:
    """The signatures accepted lately (bounded, oldest forgotten first)."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        at = self._seen.get(key)
        return at is not None and time.monotonic() - at < REPLAY_WINDOW_S

    def add(self, key: str) -> None:
        self._seen[key] = time.monotonic()
        self._seen.move_to_end(key)
        while len(self._seen) > REPLAY_MAX:
            self._seen.popitem(last=False)


def _public_url(request: Request, rec: ConnectorRecord) -> str:
    """The URL Twilio signed: the connector's public URL and the path (and query) asked."""
    public = rec.settings.get("public_url")
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if public:
        return str(public).rstrip("/") + path
    return str(request.url)


def _field(data: dict[str, str], name: str, *, required: bool = True) -> str:
    value = data.get(name, "")
    if required and not value:
        raise Refused(400, f"missing field {name}")
    return value


def twilio_routes(
    services: Services,
    read_body: Callable[[Request], Awaitable[bytes]],
    *,
    secrets_dir: Path | None = None,
) -> list[Route]:
    connectors = _Connectors(services, secrets_dir)
    seen = _Seen()

    def endpoint(
        handle: Callable[[int, ConnectorRecord, dict[str, str], Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            path = request.url.path
            try:
                cid = int(request.path_params["connector_id"])
                rec, validator = await connectors.get(cid)
                body = await read_body(request)
                try:
                    pairs = parse_qsl(
                        body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)
                    )
                except (UnicodeDecodeError, ValueError):
                    raise Refused(400, "the body is not form-encoded UTF-8") from None
                data = dict(pairs)
                signature = request.headers.get(SIGNATURE_HEADER, "")
                if validator is None:
                    raise Refused(401, f"the auth token of connector {cid} is not set")
                if not signature or not validator.validate(
                    _public_url(request, rec), data, signature
                ):
                    raise Refused(401, "bad signature")
                key = hashlib.sha256(f"{cid}\0{path}\0{signature}".encode()).hexdigest()
                if key in seen:
                    raise Refused(409, "replayed request")
                response = await handle(cid, rec, data, request)
                seen.add(key)
                return response
            except ClientDisconnect:
                logger.info("webhook %s: the client went away mid-body", path)
                return JSONResponse({"error": "client disconnected"}, status_code=400)
            except Refused as refused:
                logger.info("webhook %s refused: %s", path, refused.error)
                return JSONResponse({"error": refused.error}, status_code=refused.status)
            except NotFound as exc:
                logger.info("webhook %s refused: %s", path, exc.message)
                return JSONResponse({"error": exc.message}, status_code=404)
            except BannerError as exc:
                logger.info("webhook %s refused: %s", path, exc.message)
                return JSONResponse({"error": exc.message}, status_code=400)
            except Exception:
                logger.exception("webhook %s failed", path)
                return JSONResponse({"error": "internal error"}, status_code=500)

        return run

    async def inbound(
        cid: int, rec: ConnectorRecord, data: dict[str, str], _request: Request
    ) -> Response:
        result = await services.inbound.receive(
            _field(data, "From"),
            _field(data, "To"),
            _field(data, "Body", required=False),
            _field(data, "MessageSid"),
            connector_id=cid,
            provider_confirms_optout=True,
        )
        del rec
        # Twilio reads TwiML: an empty response sends nothing back.
        return Response(
            '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
            media_type="text/xml",
            headers={"X-Bannertui-Message": str(result.message.id)},
        )

    async def status(
        cid: int, rec: ConnectorRecord, data: dict[str, str], request: Request
    ) -> Response:
        del rec
        raw = _field(data, "MessageStatus").lower()
        if raw not in STATUSES:
            raise Refused(400, f"unknown MessageStatus {one_line(raw, 40)!r}")
        outcome = STATUSES[raw]
        if outcome is None:
            return JSONResponse({"status": "ignored"})
        code = data.get("ErrorCode", "")
        reason = None
        if outcome is ProviderStatus.FAILED:
            meaning = ERROR_CODES.get(code, "")
            reason = one_line(
                mask_credentials(
                    f"Twilio {raw}"
                    + (f" ({code}{': ' + meaning if meaning else ''})" if code else "")
                ),
                300,
            )
        segments_raw = data.get("NumSegments", "")
        segments = int(segments_raw) if segments_raw.isdigit() else None
        message = await services.inbound.provider_status(
            cid,
            _field(data, "MessageSid"),
            outcome,
            ret_id=request.query_params.get("retId") or None,
            reason=reason,
            segments=segments,
        )
        return JSONResponse({"status": "recorded", "message_status": message.status})

    return [
        Route(INBOUND_PATH, endpoint(inbound), methods=["POST"]),
        Route(STATUS_PATH, endpoint(status), methods=["POST"]),
    ]
