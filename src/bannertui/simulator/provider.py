"""The local HTTPS SMS gateway used by the demo and the tests (SPEC P6).

It speaks the provider side of SPEC P2: ``POST {path}`` with the exact 7-key JSON, strictly
validated (400 ``{"error": ..., "field": ...}`` naming the field), optional HTTP Basic auth
(401 ``{"error": "authentication refused"}``), idempotent per ``retId`` (a repeated retId is
answered ``{"status": "accepted", "duplicate": true}`` and not recorded again).

Faults can be injected, drawn from one seeded random generator: ``fail_rate`` answers with
``status`` (429 carries ``Retry-After: 1``), ``timeout_rate`` hangs ``hang_s`` seconds;
neither records anything.  ``latency_ms`` delays every send request.

When ``webhook_url`` is set, each accepted send gets a delivery receipt posted to
``{webhook_url}/v1/receipts`` after ``receipt_delay_s``, and, when ``replies`` is not empty,
a scripted reply from the recipient posted to ``{webhook_url}/v1/inbound`` after
``reply_delay_s``.  Both are signed with :func:`bannertui.domain.signing.sign`, posted in
background tasks with a few retries, and never take the server down.

Control endpoints for tests and benchmarks in another process: ``GET /v1/stats`` (counters)
and ``GET /v1/sent?after=N&limit=M`` (accepted sends, in order).  They require the same
Basic auth as the send endpoint when it is configured.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import ipaddress
import json
import logging
import random
import re
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import phonenumbers
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bannertui.domain.phone import check_number
from bannertui.domain.signing import signed_headers
from bannertui.domain.sms import MAX_CREDITS, measure
from bannertui.files import write_private
from bannertui.simulator.base import LoopbackSimulator, WebhookError, stop_on_signals
from bannertui.web.serving import LoopbackServer, TlsFiles

__all__ = [
    "DELIVERY_FAILURE_REASONS",
    "P2_FIELDS",
    "LoopbackServer",
    "PayloadError",
    "SentRecord",
    "Simulator",
    "SimulatorConfig",
    "TlsFiles",
    "WebhookError",
    "decode_json",
    "make_tls",
    "run_simulator",
    "validate_payload",
]

logger = logging.getLogger(__name__)

#: The P2 keys, in the order SendPayload.as_json writes them.
P2_FIELDS = ("type", "sender", "to", "retId", "isUnicode", "text", "credits")
MESSAGE_TYPES = frozenset({"NOTIFICATION", "MARKETING"})
MAX_RET_ID = 64
MAX_ALPHA_SENDER = 11

RECEIPTS_PATH = "/v1/receipts"
INBOUND_PATH = "/v1/inbound"
STATS_PATH = "/v1/stats"
SENT_PATH = "/v1/sent"
MAX_PAGE = 1000
MAX_BODY = 64 * 1024

#: What a failed receipt says, drawn with the simulator's random generator.
DELIVERY_FAILURE_REASONS = (
    "handset unreachable",
    "number not in service",
    "rejected by the carrier",
    "handset memory full",
)

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# Alphanumeric sender IDs: letters, digits, space and a few signs, at least one letter.
_ALPHA_SENDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .&_-]*")
_HAS_LETTER = re.compile(r"[A-Za-z]")

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server.key"
TLS_IDENTITIES = ("127.0.0.1", "localhost", "::1")
#: Reuse existing certificates only when they stay valid at least this long.
_MIN_REMAINING_VALIDITY = timedelta(days=30)


# --- configuration ------------------------------------------------------------------------


@dataclass
class SimulatorConfig:
    """How the simulator behaves.  Rates are shares in [0, 1]; times are seconds."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free port (read it back from Simulator.port)
    path: str = "/v1/sms"
    login: str | None = None  # Basic auth is required when set
    password: str | None = field(default=None, repr=False)
    webhook_url: str | None = None  # e.g. "http://127.0.0.1:8090"
    webhook_secret: bytes = field(default=b"", repr=False)
    receipt_delay_s: float = 0.5
    delivery_fail_rate: float = 0.0
    fail_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_s: float = 30.0
    latency_ms: float = 0.0
    status: int = 503  # the HTTP status of injected failures
    replies: list[str] = field(default_factory=list)
    reply_delay_s: float = 2.0
    seed: int | None = None
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = 4  # 1 try + 3 retries on connection errors and 5xx
    webhook_backoff_s: float = 0.2  # doubled after each failed attempt
    #: Webhook posts in flight at once, as a provider's pool of senders: the others wait
    #: their turn (their timeout starts with their attempt).  Unbounded, a slow receiver had
    #: thousands of receipts queued inside the HTTP client, timing out and retried, and the
    #: client's pool spent more CPU on the queue than the receiver on the posts.
    webhook_concurrency: int = 16

    def __post_init__(self) -> None:
        for name in ("delivery_fail_rate", "fail_rate", "timeout_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if self.fail_rate + self.timeout_rate > 1.0:
            raise ValueError("fail_rate + timeout_rate must not exceed 1")
        for name in (
            "receipt_delay_s",
            "hang_s",
            "latency_ms",
            "reply_delay_s",
            "webhook_backoff_s",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.webhook_timeout_s <= 0:
            raise ValueError("webhook_timeout_s must be positive")
        if self.webhook_attempts < 1:
            raise ValueError("webhook_attempts must be at least 1")
        if self.webhook_concurrency < 1:
            raise ValueError("webhook_concurrency must be at least 1")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, not {self.port}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP error status (4xx or 5xx), not {self.status}")
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/', not {self.path!r}")
        if self.path in (STATS_PATH, SENT_PATH):
            raise ValueError(f"path {self.path!r} is reserved for the control endpoints")
        if self.webhook_url is not None:
            self.webhook_url = self.webhook_url.rstrip("/")
            if not self.webhook_url.startswith(("http://", "https://")):
                raise ValueError(f"webhook_url must be an http(s) URL, not {self.webhook_url!r}")
            if not self.webhook_secret:
                raise ValueError("webhook_secret is required when webhook_url is set")
        if any(not isinstance(reply, str) or not reply for reply in self.replies):
            raise ValueError("replies must be non-empty strings")

    @property
    def auth_required(self) -> bool:
        return self.login is not None


# --- payload validation -------------------------------------------------------------------


class PayloadError(ValueError):
    """A P2 payload is refused; ``field`` names the offending key (or "body")."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_sender(sender: str) -> None:
    if sender.startswith("+"):
        if not _E164.fullmatch(sender):
            raise PayloadError("sender", "a numeric sender must be in E.164 format (+ and digits)")
        try:
            number = phonenumbers.parse(sender, None)
        except phonenumbers.NumberParseException as exc:
            raise PayloadError("sender", "not a valid phone number") from exc
        if not phonenumbers.is_valid_number(number):
            raise PayloadError("sender", "not a valid phone number")
        return
    if len(sender) > MAX_ALPHA_SENDER:
        raise PayloadError(
            "sender", f"an alphanumeric sender is at most {MAX_ALPHA_SENDER} characters"
        )
    if not _ALPHA_SENDER.fullmatch(sender) or not _HAS_LETTER.search(sender):
        raise PayloadError(
            "sender",
            "expected an E.164 number or an alphanumeric sender "
            "(letters, digits, space, . & _ -; at least one letter)",
        )


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise PayloadError(key, "duplicate key")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise PayloadError("body", f"{name} is not JSON")


def decode_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate keys, no NaN/Infinity; :class:`PayloadError` else."""
    try:
        return json.loads(
            raw, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError("body", "invalid JSON") from exc


def validate_payload(data: object) -> dict[str, Any]:
    """Check a decoded P2 body; return it, or raise :class:`PayloadError` naming the field.

    Keys are checked first (missing, then unknown), then each field in P2 order, then the
    fields that depend on the text (``isUnicode`` and ``credits`` against :func:`measure`).
    """
    if not isinstance(data, dict):
        raise PayloadError("body", "expected a JSON object")
    for key in P2_FIELDS:
        if key not in data:
            raise PayloadError(key, "missing field")
    for key in data:
        if key not in P2_FIELDS:
            raise PayloadError(str(key), "unknown field")

    kind, sender, to = data["type"], data["sender"], data["to"]
    ret_id, is_unicode, text, credits = (
        data["retId"],
        data["isUnicode"],
        data["text"],
        data["credits"],
    )
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise PayloadError("type", "expected NOTIFICATION or MARKETING")
    if sender is None:
        if kind != "MARKETING":
            raise PayloadError("type", "must be MARKETING when sender is null")
    elif isinstance(sender, str):
        _check_sender(sender)
    else:
        raise PayloadError("sender", "expected a string or null")
    if not isinstance(to, str):
        raise PayloadError("to", "expected a string")
    if not _E164.fullmatch(to):
        raise PayloadError("to", "expected an E.164 number (+ and digits)")
    verdict = check_number(to)
    if not verdict.valid or verdict.e164 != to:
        raise PayloadError("to", f"invalid number ({verdict.detail or 'not E.164'})")
    if not isinstance(ret_id, str):
        raise PayloadError("retId", "expected a string")
    if not ret_id or len(ret_id) > MAX_RET_ID:
        raise PayloadError("retId", f"expected 1 to {MAX_RET_ID} characters")
    if not isinstance(is_unicode, bool):
        raise PayloadError("isUnicode", "expected a boolean")
    if not isinstance(text, str):
        raise PayloadError("text", "expected a string")
    if not text:
        raise PayloadError("text", "must not be empty")
    if not _is_int(credits):
        raise PayloadError("credits", "expected an integer")

    size = measure(text)
    if is_unicode != size.unicode:
        raise PayloadError(
            "isUnicode", f"the text is {size.encoding.value}: isUnicode must be {size.unicode}"
        )
    if size.credits > MAX_CREDITS:
        raise PayloadError(
            "credits", f"the text needs {size.credits} credits, more than the {MAX_CREDITS} allowed"
        )
    if credits != size.credits:
        raise PayloadError("credits", f"the text costs {size.credits}, not {credits}")
    return data


# --- TLS ---------------------------------------------------------------------------------------


def _tls_files_valid(files: TlsFiles) -> bool:
    """Whether existing files form a usable set: the key matches the certificate, which the CA
    signed, covers every loopback identity and stays valid long enough."""
    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        chain = x509.load_pem_x509_certificates(files.cert.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        leaf = chain[0]
        if key.public_key() != leaf.public_key():
            return False
        leaf.verify_directly_issued_by(ca)
        soon = datetime.now(UTC) + _MIN_REMAINING_VALIDITY
        if min(leaf.not_valid_after_utc, ca.not_valid_after_utc) < soon:
            return False
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = set(san.get_values_for_type(x509.DNSName))
        addresses = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
        for identity in TLS_IDENTITIES:
            try:
                ipaddress.ip_address(identity)
            except ValueError:
                if identity not in names:
                    return False
            else:
                if identity not in addresses:
                    return False
        # The final word: can a server context load the pair?
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            str(files.cert), str(files.key)
        )
    except Exception:  # unreadable, unparsable, mismatched, InvalidSignature...: make new ones
        return False
    return True


def make_tls(cert_dir: Path) -> TlsFiles:
    """A CA and a loopback server certificate in ``cert_dir`` (created mode 0700).

    Writes ``ca.pem``, ``server.pem`` (certificate chain) and ``server.key`` (mode 0600);
    files already there are reused when they are valid together, else all are replaced.
    """
    cert_dir = Path(cert_dir)
    cert_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    files = TlsFiles(ca=cert_dir / CA_FILE, cert=cert_dir / CERT_FILE, key=cert_dir / KEY_FILE)
    if _tls_files_valid(files):
        if files.key.stat().st_mode & 0o077:
            files.key.chmod(0o600)
        return files

    ca = trustme.CA(organization_name="bannertui provider simulator")
    leaf = ca.issue_cert(*TLS_IDENTITIES, common_name="127.0.0.1")
    # The key first, the CA last: a crash half-way leaves an invalid set, redone next time.
    write_private(files.key, leaf.private_key_pem.bytes(), 0o600)
    write_private(files.cert, b"".join(blob.bytes() for blob in leaf.cert_chain_pems), 0o644)
    write_private(files.ca, ca.cert_pem.bytes(), 0o644)
    return files


# --- the simulator ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentRecord:
    seq: int  # 1-based order of acceptance
    id: str  # the provider message id returned to the client
    payload: dict[str, Any]
    accepted_at: str  # ISO 8601 UTC

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "accepted_at": self.accepted_at,
            "payload": self.payload,
        }


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _error(
    status: int,
    message: str,
    *,
    field_name: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"error": message}
    if field_name is not None:
        body["field"] = field_name
    return JSONResponse(body, status_code=status, headers=headers)


class Simulator(LoopbackSimulator):
    """The simulated SMS gateway.  Use ``async with Simulator(config, tls) as sim: ...``."""

    def __init__(self, config: SimulatorConfig, tls: TlsFiles) -> None:
        super().__init__(tls)
        self.config = config
        self.rng = random.Random(config.seed)
        #: Accepted sends, once per retId, in order of acceptance.
        self.accepted: dict[str, dict[str, Any]] = {}
        self.records: list[SentRecord] = []
        self.requests = 0
        self.duplicates = 0
        self.rejected = 0
        self.unauthorized = 0
        self.injected_failures = 0
        self.injected_timeouts = 0
        self.receipts_sent = 0
        self.inbound_sent = 0
        self.webhook_errors = 0
        self.disconnected = 0
        self._ids: dict[str, str] = {}
        self._reply_index = 0
        self._webhook_slots = asyncio.Semaphore(config.webhook_concurrency)
        self.app = Starlette(
            routes=[
                Route(config.path, self._handle_send, methods=["POST"]),
                Route(STATS_PATH, self._handle_stats, methods=["GET"]),
                Route(SENT_PATH, self._handle_sent, methods=["GET"]),
            ]
        )
        self._server = LoopbackServer(self.app, host=config.host, port=config.port, tls=tls)

    # --- lifecycle (LoopbackSimulator) ---

    @property
    def url(self) -> str:
        """The send endpoint, e.g. ``https://127.0.0.1:8443/v1/sms``."""
        return self.base_url + self.config.path

    def _webhook_client(self) -> httpx.AsyncClient:
        slots = self.config.webhook_concurrency
        return httpx.AsyncClient(
            timeout=self.config.webhook_timeout_s,
            limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots),
            headers={"User-Agent": "bannertui-simulator"},
            follow_redirects=False,
        )

    def stats(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "accepted": len(self.accepted),
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "unauthorized": self.unauthorized,
            "injected_failures": self.injected_failures,
            "disconnected": self.disconnected,
            "injected_timeouts": self.injected_timeouts,
            "receipts_sent": self.receipts_sent,
            "inbound_sent": self.inbound_sent,
            "webhook_errors": self.webhook_errors,
            "pending_webhooks": len(self._tasks),
        }

    # --- HTTP handlers ---

    def _authorized(self, request: Request) -> bool:
        if not self.config.auth_required:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        login, sep, password = decoded.partition(b":")
        expected_login = (self.config.login or "").encode("utf-8")
        expected_password = (self.config.password or "").encode("utf-8")
        # Both comparisons always run: no early exit on the login.
        ok_login = hmac.compare_digest(login, expected_login)
        ok_password = hmac.compare_digest(password, expected_password)
        return bool(sep) and ok_login and ok_password

    def _refuse_auth(self) -> Response:
        self.unauthorized += 1
        return _error(
            401,
            "authentication refused",
            headers={"WWW-Authenticate": 'Basic realm="bannertui-simulator"'},
        )

    async def _handle_send(self, request: Request) -> Response:
        self.requests += 1
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        if not self._authorized(request):
            return self._refuse_auth()

        roll = self.rng.random()
        if roll < self.config.timeout_rate:
            self.injected_timeouts += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.config.hang_s)
            return _error(504, "injected timeout")
        if roll < self.config.timeout_rate + self.config.fail_rate:
            self.injected_failures += 1
            headers = {"Retry-After": "1"} if self.config.status == 429 else {}
            return JSONResponse(
                {"error": "injected failure"}, status_code=self.config.status, headers=headers
            )

        try:
            body = await request.body()
        except ClientDisconnect:  # the client gave up (timeout, killed): nothing to answer
            self.disconnected += 1
            return Response(status_code=499)
        if len(body) > MAX_BODY:
            self.rejected += 1
            return _error(413, f"body: larger than {MAX_BODY} bytes", field_name="body")
        try:
            payload = validate_payload(decode_json(body))
        except PayloadError as exc:
            self.rejected += 1
            return _error(400, str(exc), field_name=exc.field)

        # No await from here on: checking and recording a retId is atomic.
        ret_id: str = payload["retId"]
        if ret_id in self.accepted:
            self.duplicates += 1
            return JSONResponse({"status": "accepted", "duplicate": True, "id": self._ids[ret_id]})
        provider_id = f"sim-{uuid.uuid4().hex}"
        self.accepted[ret_id] = payload
        self._ids[ret_id] = provider_id
        self.records.append(SentRecord(len(self.records) + 1, provider_id, payload, _now_iso()))
        self._schedule_webhooks(payload)
        return JSONResponse({"status": "accepted", "duplicate": False, "id": provider_id})

    async def _handle_stats(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._refuse_auth()
        return JSONResponse(self.stats())

    async def _handle_sent(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._refuse_auth()
        try:
            after = int(request.query_params.get("after", "0"))
            limit = int(request.query_params.get("limit", str(MAX_PAGE)))
        except ValueError:
            return _error(400, "after and limit must be integers", field_name="after")
        if after < 0 or limit < 1:
            return _error(400, "after must be >= 0 and limit >= 1", field_name="after")
        page = self.records[after : after + min(limit, MAX_PAGE)]
        return JSONResponse(
            {
                "items": [record.as_json() for record in page],
                "next": after + len(page),
                "total": len(self.records),
            }
        )

    # --- webhooks ---

    def _schedule_webhooks(self, payload: Mapping[str, Any]) -> None:
        """Draw the delivery outcome now (so a seed gives the same outcomes in the same order),
        then post the receipt and maybe a reply later."""
        failed = self.rng.random() < self.config.delivery_fail_rate
        reason = self.rng.choice(DELIVERY_FAILURE_REASONS) if failed else None
        if self.config.webhook_url is None:
            return
        receipt = {
            "retId": payload["retId"],
            "status": "failed" if failed else "delivered",
            "reason": reason,
        }
        self._spawn(self._post_later(self.config.receipt_delay_s, RECEIPTS_PATH, receipt))
        sender = payload["sender"]
        # A reply needs someone to reply to, and a delivered message to reply to.
        if self.config.replies and sender is not None and not failed:
            text = self.config.replies[self._reply_index % len(self.config.replies)]
            self._reply_index += 1
            message = self._inbound(text, from_=payload["to"], to=sender)
            self._spawn(self._post_later(self.config.reply_delay_s, INBOUND_PATH, message))

    @staticmethod
    def _inbound(text: str, *, from_: str, to: str) -> dict[str, Any]:
        return {
            "from": from_,
            "to": to,
            "text": text,
            "id": f"sim-in-{uuid.uuid4().hex}",
            "received_at": _now_iso(),
        }

    async def _post_later(self, delay: float, path: str, body: dict[str, Any]) -> None:
        await asyncio.sleep(delay)
        if path == INBOUND_PATH:  # the reply is received now, not when it was scheduled
            body = {**body, "received_at": _now_iso()}
        try:
            await self._post_webhook(path, body)
        except WebhookError as exc:
            logger.warning("simulator webhook: %s", exc)

    async def _post_webhook(self, path: str, body: Mapping[str, Any]) -> None:
        """POST a signed JSON body, retrying connection errors and 5xx with backoff.

        Counts ``receipts_sent`` / ``inbound_sent``, or ``webhook_errors`` and raises
        :class:`WebhookError` when every attempt failed or the receiver refused it (4xx).
        """
        config = self.config
        if config.webhook_url is None:
            raise WebhookError("no webhook_url configured")
        url = config.webhook_url + path
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            await self._post(
                url,
                raw,
                lambda: signed_headers(config.webhook_secret, raw),  # afresh each attempt
                attempts=config.webhook_attempts,
                backoff_s=config.webhook_backoff_s,
                slots=self._webhook_slots,
            )
        except WebhookError:
            self.webhook_errors += 1
            raise
        if path == RECEIPTS_PATH:
            self.receipts_sent += 1
        elif path == INBOUND_PATH:
            self.inbound_sent += 1

    async def simulate_inbound(self, text: str, from_: str, to: str) -> str:
        """Post a signed inbound SMS to the webhook now (retrying like every webhook post);
        return its provider message id.  Raises :class:`WebhookError` when it could not be
        delivered.  Works whether or not the simulator is serving."""
        message = self._inbound(text, from_=from_, to=to)
        await self._post_webhook(INBOUND_PATH, message)
        return str(message["id"])


# --- the `bannertui provider-sim` entry point -------------------------------------------------


async def run_simulator(config: SimulatorConfig, cert_dir: Path) -> None:
    """Serve until cancelled, Ctrl+C or SIGTERM (then return normally).

    Prints one line on start: the send URL and the CA file clients must trust.
    """
    tls = make_tls(cert_dir)
    async with Simulator(config, tls) as sim:
        async with stop_on_signals() as stop:
            print(f"Provider simulator listening on {sim.url} (CA: {tls.ca})", flush=True)
            stopped = asyncio.create_task(stop.wait())
            serving = asyncio.create_task(sim.wait())
            try:
                await asyncio.wait({stopped, serving}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
                serving.cancel()
                await asyncio.gather(stopped, serving, return_exceptions=True)
        if serving.done() and not serving.cancelled() and serving.exception() is not None:
            raise RuntimeError("the simulator stopped unexpectedly") from serving.exception()
