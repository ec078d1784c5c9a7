"""A Twilio-compatible loopback simulator (Programmable Messaging, API ``2010-04-01``), for the
demo, the tests and the benchmarks of the Twilio adapter (``bannertui.gateway.twilio``).

It serves over HTTPS (the certificates of :func:`~bannertui.simulator.provider.make_tls`), in
Twilio's shapes and error codes:

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form-encoded ``To``, ``Body``,
  ``From`` or ``MessagingServiceSid``, ``StatusCallback``): 201 with the Message resource
  (``status`` "queued", ``num_segments`` from :func:`bannertui.domain.sms.measure`), or
  400 with Twilio's error body ``{"code", "message", "more_info", "status"}``: 21604 'To'
  missing, 21211 'To' not a valid (mobile) number, 21603 no 'From', 21606 'From' not one
  of ``numbers``, 21701 unknown Messaging Service, 21602 empty body, 21617 body over 1,600
  characters, 21609 invalid StatusCallback, 21610 recipient unsubscribed (replied STOP).
* ``GET …/Accounts/{AccountSid}.json`` (the account), ``GET …/IncomingPhoneNumbers.json``
  (paginated with ``Page``/``PageSize``), ``GET …/Messages.json`` (newest first, filtered by
  ``To``, ``From`` and ``DateSent`` / ``DateSent>`` / ``DateSent<`` — the query strings
  Twilio documents as ``DateSent>=YYYY-MM-DD`` and ``DateSent<=YYYY-MM-DD`` — on
  ``date_sent``, which a message still queued does not have yet) and
  ``GET …/Messages/{sid}.json``.
* Authentication: HTTP Basic with the Account SID and auth token, or with an API key SID and
  its secret when configured; else 401, Twilio error 20003.  Another account in the path:
  404, error 20404.

Each accepted message goes ``queued`` → ``sent`` (after ``sent_delay_s``) → ``delivered``
(``receipt_delay_s`` after acceptance) or ``undelivered`` with error 30003 (at
``delivery_fail_rate``).  When the send named a ``StatusCallback``, each step is posted to it
form-encoded (``MessageSid``, ``MessageStatus``, ``ErrorCode``, …), signed like Twilio:
``X-Twilio-Signature`` computed by the official
:class:`twilio.request_validator.RequestValidator` with the auth token over the full callback
URL and the parameters, and an ``I-Twilio-Idempotency-Token`` header (one per callback, the
same on its retries).

Mobile-originated messages (:meth:`TwilioSimulator.simulate_inbound`, and the scripted
``replies`` after each delivered send) are posted to ``inbound_url``, signed the same way.
Twilio's opt-out keywords are honoured as Twilio does: STOP, STOPALL, UNSUBSCRIBE, CANCEL,
END or QUIT puts the mobile on the number's opt-out list (sends from it are then refused with
21610), START, UNSTOP or YES takes it off, HELP or INFO asks for help; Twilio answers each
itself (counted in ``optout_confirmations``, nothing is asked of us) and still forwards the
message, with ``OptOutType`` set to STOP, START or HELP.

Faults, drawn from one seeded random generator on each send: ``fail_rate`` answers
``status`` in Twilio's error shape (429: error 20429 and ``Retry-After: 1``),
``timeout_rate`` hangs ``hang_s`` then answers 504, recording nothing; ``lose_response_rate``
records the message and sends its callbacks, but hangs ``hang_s`` before answering 504: the
client never learns it was accepted (the lost response).  ``latency_ms`` delays every send.

Control endpoints, with the same authentication: ``GET /v1/stats`` (counters) and
``GET /v1/sent?after=N&limit=M`` (accepted sends, in order).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import logging
import random
import re
import signal
import ssl
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped, unused-ignore]

from bannertui.domain.phone import check_number
from bannertui.domain.sms import measure
from bannertui.simulator.base import LoopbackSimulator, WebhookError
from bannertui.simulator.provider import make_tls
from bannertui.web.serving import LoopbackServer, TlsFiles

__all__ = [
    "DEMO_ACCOUNT_SID",
    "DEMO_AUTH_TOKEN",
    "TwilioMessage",
    "TwilioSimConfig",
    "TwilioSimulator",
    "WebhookError",
    "run_twilio_simulator",
]

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
ACCOUNTS = f"/{API_VERSION}/Accounts"
STATS_PATH = "/v1/stats"
SENT_PATH = "/v1/sent"
SIGNATURE_HEADER = "X-Twilio-Signature"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"

#: The demo account: fixed, so that a demo's settings survive a restart of the simulator.
DEMO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEMO_AUTH_TOKEN = "5e1f" * 8
#: Twilio's magic test "From" number.
DEMO_NUMBERS = ("+15005550006",)
FRIENDLY_NAME = "bannertui simulator"

MAX_BODY_CHARS = 1600
MAX_REQUEST_BYTES = 64 * 1024
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

# Twilio's error codes (https://www.twilio.com/docs/errors/<code>).
INVALID_PARAMETER = 20001
AUTHENTICATE = 20003
NOT_FOUND = 20404
TOO_MANY_REQUESTS = 20429
BODY_REQUIRED = 21602
FROM_REQUIRED = 21603
TO_REQUIRED = 21604
FROM_NOT_OWNED = 21606
INVALID_STATUS_CALLBACK = 21609
UNSUBSCRIBED = 21610
INVALID_TO = 21211
BODY_TOO_LONG = 21617
UNKNOWN_MESSAGING_SERVICE = 21701
UNKNOWN_DESTINATION_HANDSET = 30003  # the ErrorCode of an undelivered message

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
_API_KEY_SID = re.compile(r"SK[0-9a-f]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-f]{32}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: The ``DateSent`` filters, and the results of :func:`_compare` each keeps.  ``DateSent>``
#: (on or after) is what a query string ``DateSent>=2026-12-07`` means; ``DateSent>=`` and
#: ``DateSent<=``, the same with an encoded ``=``, are taken too.
_DATE_FILTERS: dict[str, frozenset[int]] = {
    "DateSent": frozenset({0}),
    "DateSent>": frozenset({0, 1}),
    "DateSent>=": frozenset({0, 1}),
    "DateSent<": frozenset({-1, 0}),
    "DateSent<=": frozenset({-1, 0}),
}


# --- configuration ------------------------------------------------------------------------


@dataclass
class TwilioSimConfig:
    """How the simulator behaves.  Rates are shares in [0, 1]; times are seconds."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free port
    account_sid: str = DEMO_ACCOUNT_SID
    auth_token: str = field(default=DEMO_AUTH_TOKEN, repr=False)
    #: An API key (``SK…``) also accepted for Basic auth, with its secret.
    api_key_sid: str | None = None
    api_key_secret: str | None = field(default=None, repr=False)
    #: The account's phone numbers (E.164): the valid ``From`` values, listed as
    #: IncomingPhoneNumbers; the first one sends for the Messaging Service.
    numbers: list[str] = field(default_factory=lambda: list(DEMO_NUMBERS))
    messaging_service_sid: str | None = None
    #: Where mobile-originated texts are POSTed (our receiver's ``/twilio/<id>/inbound``).
    inbound_url: str | None = None
    #: How long a message stays "queued" before it is "sent" (and gets its ``date_sent``).
    sent_delay_s: float = 0.05
    #: From acceptance to "delivered" / "undelivered" (never before "sent").
    receipt_delay_s: float = 0.5
    delivery_fail_rate: float = 0.0
    fail_rate: float = 0.0
    timeout_rate: float = 0.0
    lose_response_rate: float = 0.0
    hang_s: float = 30.0
    latency_ms: float = 0.0
    status: int = 503  # the HTTP status of injected failures
    replies: list[str] = field(default_factory=list)
    reply_delay_s: float = 2.0
    seed: int | None = None
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = 4  # 1 try + 3 retries on connection errors and 5xx
    webhook_backoff_s: float = 0.2  # doubled after each failed attempt
    webhook_concurrency: int = 16  # callback and inbound posts in flight at once

    def __post_init__(self) -> None:
        rates = ("delivery_fail_rate", "fail_rate", "timeout_rate", "lose_response_rate")
        for name in rates:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if self.fail_rate + self.timeout_rate + self.lose_response_rate > 1.0:
            raise ValueError("fail_rate + timeout_rate + lose_response_rate must not exceed 1")
        for name in (
            "sent_delay_s",
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
        if not _ACCOUNT_SID.fullmatch(self.account_sid):
            raise ValueError("account_sid must be AC followed by 32 lowercase hex digits")
        if not self.auth_token:
            raise ValueError("auth_token must not be empty")
        if (self.api_key_sid is None) != (self.api_key_secret is None):
            raise ValueError("api_key_sid and api_key_secret go together")
        if self.api_key_sid is not None and not _API_KEY_SID.fullmatch(self.api_key_sid):
            raise ValueError("api_key_sid must be SK followed by 32 lowercase hex digits")
        if self.api_key_secret == "":
            raise ValueError("api_key_secret must not be empty")
        if not self.numbers:
            raise ValueError("numbers must hold at least one number")
        for number in self.numbers:
            if not isinstance(number, str) or not _E164.fullmatch(number):
                raise ValueError(f"numbers must be E.164 numbers, not {number!r}")
        if len(set(self.numbers)) != len(self.numbers):
            raise ValueError("numbers must not repeat")
        if self.messaging_service_sid is not None and not _SERVICE_SID.fullmatch(
            self.messaging_service_sid
        ):
            raise ValueError("messaging_service_sid must be MG followed by 32 lowercase hex digits")
        if self.inbound_url is not None and not self.inbound_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError(f"inbound_url must be an http(s) URL, not {self.inbound_url!r}")
        if any(not isinstance(reply, str) or not reply for reply in self.replies):
            raise ValueError("replies must be non-empty strings")


# --- the records --------------------------------------------------------------------------


def rfc2822(when: datetime) -> str:
    """Twilio's timestamps: ``Mon, 07 Dec 2026 21:00:00 +0000``."""
    return format_datetime(when.astimezone(UTC).replace(microsecond=0))


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@dataclass(slots=True)
class TwilioMessage:
    """A message the simulator holds: sent (``direction`` "outbound-api") or received."""

    seq: int  # 1-based order among the sends (0 for a received message)
    sid: str
    to: str
    from_: str
    body: str
    num_segments: str
    status: str
    direction: str
    date_created: datetime
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    date_sent: datetime | None = None
    date_updated: datetime | None = None
    error_code: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The record of ``GET /v1/sent``."""
        return {
            "seq": self.seq,
            "sid": self.sid,
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "num_segments": self.num_segments,
            "status": self.status,
            "status_callback": self.status_callback,
            "messaging_service_sid": self.messaging_service_sid,
            "date_created": rfc2822(self.date_created),
        }

    def resource(self, account_sid: str) -> dict[str, Any]:
        """Twilio's Message resource."""
        uri = f"{ACCOUNTS}/{account_sid}/Messages/{self.sid}"
        return {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent) if self.date_sent else None,
            "date_updated": rfc2822(self.date_updated or self.date_created),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": self.num_segments,
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": self.to,
            "uri": f"{uri}.json",
        }


def twilio_error(
    status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Twilio's error body."""
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
        headers=headers,
    )


class _Refused(Exception):
    """A send refused with a Twilio error (400 unless told)."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@functools.lru_cache(maxsize=65_536)
def _valid_to(to: str) -> bool:
    """An E.164 mobile number (SPEC B2's rules), remembered: a benchmark sends to the same
    numbers again and again, and parsing one costs more than the rest of a send."""
    if not _E164.fullmatch(to):
        return False
    verdict = check_number(to)
    return verdict.valid and verdict.e164 == to


def _page_params(request: Request) -> tuple[int, int]:
    """``Page`` (0-based) and ``PageSize`` (1..1000) of a list request."""
    try:
        page = int(request.query_params.get("Page", "0"))
        size = int(request.query_params.get("PageSize", str(DEFAULT_PAGE_SIZE)))
    except ValueError:
        raise _Refused(INVALID_PARAMETER, "Page and PageSize must be integers") from None
    if page < 0 or size < 1:
        raise _Refused(INVALID_PARAMETER, "Page must be >= 0 and PageSize >= 1")
    return page, min(size, MAX_PAGE_SIZE)


def _date_bound(value: str) -> date | datetime:
    """A ``DateSent`` value: a day (``YYYY-MM-DD``) or an ISO 8601 instant."""
    if _DATE.fullmatch(value):
        return date.fromisoformat(value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Refused(INVALID_PARAMETER, f"Invalid DateSent value {value[:40]!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _compare(when: datetime, bound: date | datetime) -> int:
    """-1, 0 or 1: ``when`` before, on (the same day, or instant) or after ``bound``."""
    if isinstance(bound, datetime):
        return (when > bound) - (when < bound)
    day = when.astimezone(UTC).date()
    return (day > bound) - (day < bound)


# --- the simulator ------------------------------------------------------------------------


class TwilioSimulator(LoopbackSimulator):
    """The simulated Twilio API.  ``async with TwilioSimulator(config, tls) as sim: ...``;
    ``sim.base_url`` is the ``api_base`` of a Twilio connector."""

    def __init__(self, config: TwilioSimConfig, tls: TlsFiles) -> None:
        super().__init__(tls)
        self.config = config
        self.rng = random.Random(config.seed)
        self.validator: Any = RequestValidator(config.auth_token)
        #: Accepted sends, in order of acceptance.
        self.sent: list[TwilioMessage] = []
        #: Every message, sent and received, in order of creation; and by sid.
        self.messages: list[TwilioMessage] = []
        self.by_sid: dict[str, TwilioMessage] = {}
        #: Opt-outs: mobile number → the account's numbers it replied STOP to.
        self.opted_out: dict[str, set[str]] = {}
        self.requests = 0
        self.rejected = 0
        self.unauthorized = 0
        self.not_found = 0
        self.injected_failures = 0
        self.injected_timeouts = 0
        self.lost_responses = 0
        self.disconnected = 0
        self.callbacks_sent = 0
        self.inbound_sent = 0
        self.webhook_errors = 0
        self.optout_confirmations = 0
        self._numbers = frozenset(config.numbers)
        self._credentials = [(config.account_sid.encode(), config.auth_token.encode())]
        if config.api_key_sid is not None and config.api_key_secret is not None:
            self._credentials.append((config.api_key_sid.encode(), config.api_key_secret.encode()))
        self._phone_numbers = [
            {
                "sid": "PN" + hashlib.sha256(number.encode()).hexdigest()[:32],
                "account_sid": config.account_sid,
                "phone_number": number,
                "friendly_name": number,
                "capabilities": {"sms": True, "mms": False, "voice": True, "fax": False},
                "api_version": API_VERSION,
            }
            for number in config.numbers
        ]
        self._reply_index = 0
        self._webhook_slots = asyncio.Semaphore(config.webhook_concurrency)
        account = ACCOUNTS + "/{account_sid}"
        self.app = Starlette(
            routes=[
                Route(account + ".json", self._handle_account, methods=["GET"]),
                Route(account + "/Messages.json", self._handle_send, methods=["POST"]),
                Route(account + "/Messages.json", self._handle_messages, methods=["GET"]),
                Route(account + "/Messages/{sid}.json", self._handle_message, methods=["GET"]),
                Route(
                    account + "/IncomingPhoneNumbers.json", self._handle_numbers, methods=["GET"]
                ),
                Route(STATS_PATH, self._handle_stats, methods=["GET"]),
                Route(SENT_PATH, self._handle_sent, methods=["GET"]),
            ]
        )
        self._server = LoopbackServer(self.app, host=config.host, port=config.port, tls=tls)

    # --- lifecycle ---

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:<port>``: the ``api_base`` of a Twilio connector."""
        return self._server.base_url

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def account_path(self) -> str:
        return f"{ACCOUNTS}/{self.config.account_sid}"

    def _webhook_client(self) -> httpx.AsyncClient:
        """Trusts the system's authorities and the simulator's own (a loopback receiver may
        serve with the same certificates)."""
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=str(self.tls.ca))
        slots = self.config.webhook_concurrency
        return httpx.AsyncClient(
            verify=context,
            timeout=self.config.webhook_timeout_s,
            limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots),
            headers={"User-Agent": "TwilioProxy/1.1 (bannertui simulator)"},
            follow_redirects=False,
        )

    def stats(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "accepted": len(self.sent),
            "rejected": self.rejected,
            "unauthorized": self.unauthorized,
            "not_found": self.not_found,
            "injected_failures": self.injected_failures,
            "injected_timeouts": self.injected_timeouts,
            "lost_responses": self.lost_responses,
            "disconnected": self.disconnected,
            "callbacks_sent": self.callbacks_sent,
            "inbound_sent": self.inbound_sent,
            "webhook_errors": self.webhook_errors,
            "optout_confirmations": self.optout_confirmations,
            "opted_out": sum(len(numbers) for numbers in self.opted_out.values()),
            "pending_webhooks": len(self._tasks),
        }

    # --- authentication ---

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        login, sep, password = decoded.partition(b":")
        ok = False
        for expected_login, expected_password in self._credentials:
            # Both comparisons always run: no early exit on the login.
            same_login = hmac.compare_digest(login, expected_login)
            same_password = hmac.compare_digest(password, expected_password)
            ok |= same_login and same_password
        return bool(sep) and ok

    def _refuse_auth(self) -> Response:
        self.unauthorized += 1
        return twilio_error(
            401,
            AUTHENTICATE,
            "Authenticate",
            headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
        )

    def _check(self, request: Request) -> Response | None:
        """401 without good credentials, 404 for another account; None: go on."""
        if not self._authorized(request):
            return self._refuse_auth()
        if request.path_params.get("account_sid") != self.config.account_sid:
            self.not_found += 1
            return twilio_error(
                404,
                NOT_FOUND,
                f"The requested resource {request.url.path} was not found",
            )
        return None

    async def _hang(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.config.hang_s)

    # --- sending ---

    async def _handle_send(self, request: Request) -> Response:
        self.requests += 1
        config = self.config
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        refused = self._check(request)
        if refused is not None:
            return refused

        roll = self.rng.random()
        if roll < config.timeout_rate:
            self.injected_timeouts += 1
            await self._hang()
            return twilio_error(504, 20504, "Gateway Timeout (injected timeout)")
        roll -= config.timeout_rate
        if roll < config.fail_rate:
            self.injected_failures += 1
            if config.status == 429:
                return twilio_error(
                    429, TOO_MANY_REQUESTS, "Too Many Requests", headers={"Retry-After": "1"}
                )
            try:
                phrase = HTTPStatus(config.status).phrase
            except ValueError:
                phrase = "Error"
            return twilio_error(config.status, 20000 + config.status, f"{phrase} (injected)")
        lose = roll - config.fail_rate < config.lose_response_rate

        try:
            raw = await request.body()
        except ClientDisconnect:  # the client gave up: nothing to answer
            self.disconnected += 1
            return Response(status_code=499)
        if len(raw) > MAX_REQUEST_BYTES:
            self.rejected += 1
            response = twilio_error(413, 20413, "Request Entity Too Large")
        else:
            try:
                form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                message = self._create(form)
            except UnicodeDecodeError:
                self.rejected += 1
                response = twilio_error(400, INVALID_PARAMETER, "The request is not UTF-8")
            except _Refused as exc:
                self.rejected += 1
                response = twilio_error(exc.status, exc.code, exc.message)
            else:
                response = JSONResponse(message.resource(config.account_sid), status_code=201)
        if lose:
            self.lost_responses += 1
            await self._hang()
            return twilio_error(504, 20504, "Gateway Timeout (injected lost response)")
        return response

    def _create(self, form: Mapping[str, str]) -> TwilioMessage:
        """Validate a send and record it (no await: atomic), or raise :class:`_Refused`."""
        config = self.config
        to = form.get("To", "")
        if not to:
            raise _Refused(TO_REQUIRED, "A 'To' phone number is required.")
        if not _valid_to(to):
            raise _Refused(INVALID_TO, f"The 'To' number {to[:40]} is not a valid phone number.")
        from_ = form.get("From", "")
        service = form.get("MessagingServiceSid", "")
        if service and service != config.messaging_service_sid:
            raise _Refused(
                UNKNOWN_MESSAGING_SERVICE,
                f"The Messaging Service Sid {service[:40]} does not exist.",
            )
        if from_:
            if from_ not in self._numbers:
                raise _Refused(
                    FROM_NOT_OWNED,
                    f"The 'From' phone number provided ({from_[:40]}) is not a valid "
                    "message-capable Twilio phone number for this destination/account.",
                )
        elif not service:
            raise _Refused(FROM_REQUIRED, "A 'From' phone number is required.")
        body = form.get("Body", "")
        if not body:
            raise _Refused(BODY_REQUIRED, "Message body is required.")
        if len(body) > MAX_BODY_CHARS:
            raise _Refused(
                BODY_TOO_LONG,
                f"The concatenated message body exceeds the {MAX_BODY_CHARS} character limit.",
            )
        callback = form.get("StatusCallback") or None
        if callback is not None and not callback.startswith(("http://", "https://")):
            raise _Refused(INVALID_STATUS_CALLBACK, "The StatusCallback URL is not valid.")
        stopped = self.opted_out.get(to)
        if stopped and (from_ in stopped if from_ else bool(stopped & self._numbers)):
            raise _Refused(UNSUBSCRIBED, "Attempt to send to unsubscribed recipient")

        now = datetime.now(UTC)
        message = TwilioMessage(
            seq=len(self.sent) + 1,
            sid=new_sid("SM"),
            to=to,
            from_=from_ or config.numbers[0],
            body=body,
            num_segments=str(measure(body).credits),
            status="queued",
            direction="outbound-api",
            date_created=now,
            messaging_service_sid=service or None,
            status_callback=callback,
        )
        self.sent.append(message)
        self.messages.append(message)
        self.by_sid[message.sid] = message
        self._schedule(message)
        return message

    def _schedule(self, message: TwilioMessage) -> None:
        """Draw the delivery outcome now (a seed gives the same outcomes in the same order),
        then move the message along and maybe reply to it later."""
        failed = self.rng.random() < self.config.delivery_fail_rate
        self._spawn(self._deliver(message, failed))
        if self.config.replies and self.config.inbound_url is not None and not failed:
            text = self.config.replies[self._reply_index % len(self.config.replies)]
            self._reply_index += 1
            self._spawn(self._reply_later(text, from_=message.to, to=message.from_))

    async def _deliver(self, message: TwilioMessage, failed: bool) -> None:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        await asyncio.sleep(self.config.sent_delay_s)
        message.status = "sent"
        message.date_sent = message.date_updated = datetime.now(UTC)
        await self._callback(message)
        await asyncio.sleep(max(0.0, self.config.receipt_delay_s - (loop.time() - begin)))
        message.status = "undelivered" if failed else "delivered"
        message.error_code = UNKNOWN_DESTINATION_HANDSET if failed else None
        message.date_updated = datetime.now(UTC)
        await self._callback(message)

    async def _callback(self, message: TwilioMessage) -> None:
        url = message.status_callback
        if url is None:
            return
        params = {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "AccountSid": self.config.account_sid,
            "From": message.from_,
            "To": message.to,
            "MessageStatus": message.status,
            "SmsStatus": message.status,
            "ApiVersion": API_VERSION,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        else:
            params["NumSegments"] = message.num_segments
        try:
            await self._post_signed(url, params, inbound=False)
        except WebhookError as exc:
            logger.warning("twilio simulator callback: %s", exc)

    # --- mobile-originated messages ---

    def _receive(self, text: str, from_: str, to: str) -> dict[str, str]:
        """Take in a message from a mobile: Twilio's keyword handling, then the form
        posted to ``inbound_url``."""
        now = datetime.now(UTC)
        sid = new_sid("SM")
        segments = str(measure(text).credits)
        message = TwilioMessage(
            seq=0,
            sid=sid,
            to=to,
            from_=from_,
            body=text,
            num_segments=segments,
            status="received",
            direction="inbound",
            date_created=now,
            messaging_service_sid=self.config.messaging_service_sid,
            date_sent=now,
            date_updated=now,
        )
        self.messages.append(message)
        self.by_sid[sid] = message
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": self.config.account_sid,
            "From": from_,
            "To": to,
            "Body": text,
            "NumMedia": "0",
            "NumSegments": segments,
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }
        if self.config.messaging_service_sid:
            params["MessagingServiceSid"] = self.config.messaging_service_sid
        keyword = text.strip().upper()
        if keyword in STOP_WORDS:
            self.opted_out.setdefault(from_, set()).add(to)
            params["OptOutType"] = "STOP"
        elif keyword in START_WORDS:
            numbers = self.opted_out.get(from_)
            if numbers is not None:
                numbers.discard(to)
                if not numbers:
                    del self.opted_out[from_]
            params["OptOutType"] = "START"
        elif keyword in HELP_WORDS:
            params["OptOutType"] = "HELP"
        if "OptOutType" in params:
            self.optout_confirmations += 1  # Twilio's own answer, sent without asking us
        return params

    async def simulate_inbound(self, text: str, from_: str, to: str) -> str:
        """A mobile (``from_``) texts ``to`` now: post it, signed, to ``inbound_url``
        (retrying like every post) and return its MessageSid.  Raises
        :class:`WebhookError` when it could not be delivered (the opt-out keywords are
        honoured all the same).  Works whether or not the simulator is serving."""
        if self.config.inbound_url is None:
            raise WebhookError("no inbound_url configured")
        params = self._receive(text, from_, to)
        await self._post_signed(self.config.inbound_url, params, inbound=True)
        return params["MessageSid"]

    async def _reply_later(self, text: str, *, from_: str, to: str) -> None:
        await asyncio.sleep(self.config.reply_delay_s)
        try:
            await self.simulate_inbound(text, from_, to)
        except WebhookError as exc:
            logger.warning("twilio simulator inbound: %s", exc)

    # --- posting ---

    async def _post_signed(self, url: str, params: dict[str, str], *, inbound: bool) -> None:
        """POST a form signed as Twilio does, retrying connection errors and 5xx with backoff.

        Counts ``callbacks_sent`` / ``inbound_sent``, or ``webhook_errors`` and raises
        :class:`WebhookError` when every attempt failed or the receiver refused it (4xx)."""
        config = self.config
        headers = {
            SIGNATURE_HEADER: self.validator.compute_signature(url, params),
            IDEMPOTENCY_HEADER: f"{uuid.uuid4()}",  # one per callback, the same on retries
            "Content-Type": "application/x-www-form-urlencoded",
        }
        raw = urlencode(params).encode("ascii")
        try:
            await self._post(
                url,
                raw,
                lambda: headers,  # the same signature and token on every retry
                attempts=config.webhook_attempts,
                backoff_s=config.webhook_backoff_s,
                slots=self._webhook_slots,
                shown=url.split("?", 1)[0],
            )
        except WebhookError:
            self.webhook_errors += 1
            raise
        if inbound:
            self.inbound_sent += 1
        else:
            self.callbacks_sent += 1

    # --- reading ---

    async def _handle_account(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        sid = self.config.account_sid
        return JSONResponse(
            {
                "sid": sid,
                "owner_account_sid": sid,
                "friendly_name": FRIENDLY_NAME,
                "status": "active",
                "type": "Full",
                "auth_token": None,  # Twilio shows it only to the account's own console
                "date_created": rfc2822(datetime(2026, 1, 1, tzinfo=UTC)),
                "date_updated": rfc2822(datetime(2026, 1, 1, tzinfo=UTC)),
                "uri": f"{ACCOUNTS}/{sid}.json",
                "subresource_uris": {
                    "messages": f"{ACCOUNTS}/{sid}/Messages.json",
                    "incoming_phone_numbers": f"{ACCOUNTS}/{sid}/IncomingPhoneNumbers.json",
                },
            }
        )

    def _page(
        self,
        key: str,
        items: list[dict[str, Any]],
        path: str,
        filters: dict[str, str],
        page: int,
        size: int,
        total: int,
    ) -> Response:
        """A Twilio list page of ``items`` (already cut), ``total`` items in all."""

        def uri(number: int) -> str:
            return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': number})}"

        start = page * size
        more = start + len(items) < total
        return JSONResponse(
            {
                key: items,
                "page": page,
                "page_size": size,
                "start": start,
                "end": start + max(len(items) - 1, 0),
                "uri": uri(page),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1) if more else None,
                "previous_page_uri": uri(page - 1) if page > 0 else None,
            }
        )

    async def _handle_numbers(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        try:
            page, size = _page_params(request)
        except _Refused as exc:
            return twilio_error(exc.status, exc.code, exc.message)
        start = page * size
        items = self._phone_numbers[start : start + size]
        return self._page(
            "incoming_phone_numbers",
            items,
            request.url.path,
            {},
            page,
            size,
            len(self._phone_numbers),
        )

    async def _handle_messages(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        query = request.query_params
        try:
            page, size = _page_params(request)
            bounds = [(key, _date_bound(query[key])) for key in _DATE_FILTERS if key in query]
        except _Refused as exc:
            return twilio_error(exc.status, exc.code, exc.message)
        to, from_ = query.get("To"), query.get("From")

        def matches(message: TwilioMessage) -> bool:
            if to is not None and message.to != to:
                return False
            if from_ is not None and message.from_ != from_:
                return False
            if bounds:
                sent = message.date_sent
                if sent is None:
                    return False
                return all(_compare(sent, bound) in _DATE_FILTERS[k] for k, bound in bounds)
            return True

        found = [m for m in reversed(self.messages) if matches(m)]
        start = page * size
        items = [m.resource(self.config.account_sid) for m in found[start : start + size]]
        filters = {k: query[k] for k in ("To", "From", *_DATE_FILTERS) if k in query}
        return self._page("messages", items, request.url.path, filters, page, size, len(found))

    async def _handle_message(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        message = self.by_sid.get(request.path_params["sid"])
        if message is None:
            self.not_found += 1
            return twilio_error(
                404, NOT_FOUND, f"The requested resource {request.url.path} was not found"
            )
        return JSONResponse(message.resource(self.config.account_sid))

    # --- control endpoints ---

    async def _handle_stats(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._refuse_auth()
        return JSONResponse(self.stats())

    async def _handle_sent(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._refuse_auth()
        try:
            after = int(request.query_params.get("after", "0"))
            limit = int(request.query_params.get("limit", str(MAX_PAGE_SIZE)))
        except ValueError:
            return twilio_error(400, INVALID_PARAMETER, "after and limit must be integers")
        if after < 0 or limit < 1:
            return twilio_error(400, INVALID_PARAMETER, "after must be >= 0 and limit >= 1")
        page = self.sent[after : after + min(limit, MAX_PAGE_SIZE)]
        return JSONResponse(
            {
                "items": [message.as_json() for message in page],
                "next": after + len(page),
                "total": len(self.sent),
            }
        )


# --- the entry point ----------------------------------------------------------------------


async def run_twilio_simulator(config: TwilioSimConfig, cert_dir: Path) -> None:
    """Serve until cancelled, Ctrl+C or SIGTERM (then return normally).

    Prints one line on start: the API base URL, the account and the CA file clients must
    trust (never the auth token)."""
    tls = make_tls(cert_dir)
    async with TwilioSimulator(config, tls) as sim:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        installed: list[signal.Signals] = []
        try:
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM):
                    try:
                        loop.add_signal_handler(sig, stop.set)
                    except (NotImplementedError, RuntimeError, ValueError):  # e.g. Windows
                        continue
                    installed.append(sig)
            print(
                f"Twilio simulator listening on {sim.base_url} "
                f"(account {config.account_sid}, CA: {tls.ca})",
                flush=True,
            )
            stopped = asyncio.create_task(stop.wait())
            serving = asyncio.create_task(sim.wait())
            try:
                await asyncio.wait({stopped, serving}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
                serving.cancel()
                await asyncio.gather(stopped, serving, return_exceptions=True)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
        if serving.done() and not serving.cancelled() and serving.exception() is not None:
            raise RuntimeError("the Twilio simulator stopped unexpectedly") from serving.exception()
