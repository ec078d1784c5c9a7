"""The Twilio Programmable Messaging adapter: one pooled httpx.AsyncClient speaking Twilio's
REST API (``/2010-04-01``), form-encoded, with HTTP Basic auth (the Account SID and auth
token, or an API key SID and its secret).

A send is ``POST …/Accounts/{sid}/Messages.json`` with ``To``, ``Body`` and ``From`` (the
payload's sender) or else ``MessagingServiceSid`` (the connector's), and ``StatusCallback``
(the connector's status URL with ``?retId=…``) when configured.  Outcomes for the dispatcher:

* 2xx with the Message resource → accepted, ``provider_id`` = its ``sid`` (a 2xx without a
  sid is transient and uncertain: something was created, we cannot tell what);
* 429, Twilio error 20429, any 5xx, 408 → transient, honouring ``Retry-After``; 5xx and 408
  are also *uncertain*: the request may have been processed;
* 401/403 → permanent, "authentication failed (Twilio 20003: …)";
* any other 4xx → permanent, "Twilio {code}: {message}" (21211 invalid 'To' number, 21606
  'From' not owned or not SMS-capable, 21610 unsubscribed recipient, …);
* connect errors and connect timeouts → transient, not uncertain (nothing was sent); a TLS
  verification failure → transient "TLS verification failed";
* a read timeout, a read/write error or a connection lost after the request was (being)
  written → transient and *uncertain*: Twilio has no idempotency key, it may have sent it.
  :meth:`TwilioProvider.find_sent` looks the message up afterwards (lost-response detection).

The secret travels only in the Authorization header.  Twilio's words, exceptions' texts,
connection reports and every record this module logs are masked with
:func:`~bannertui.domain.masking.mask_credentials` (the secret in every form, the Basic token
of the SID) and made one safe line with :func:`~bannertui.domain.text.one_line`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from bannertui.domain.errors import BannerError, InvalidProviderLogin
from bannertui.domain.masking import mask_credentials
from bannertui.domain.text import one_line
from bannertui.gateway.net import is_tls_error, retry_after
from bannertui.services.gateway import (
    ConnectionCheck,
    ConnectionReport,
    OutcomeKind,
    SendOutcome,
    SendPayload,
    TwilioConfig,
    ssl_context,
)

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
MAX_REASON = 300
#: How much of an answer is scanned for its reason (masked, then one line, then cut).
MAX_REASON_SCAN = 64 * 1024
#: Twilio's error code for "Too Many Requests" (also sent with other statuses).
TOO_MANY_REQUESTS = 20429
NO_SENDER = "no sender: set a number or a Messaging Service SID on the connector"
#: Page sizes: the largest Twilio allows for numbers, a short look-back for find_sent.
NUMBERS_PAGE_SIZE = 1000
FIND_PAGE_SIZE = 50
#: Bounds on the pages followed (a misbehaving server cannot keep us paging forever).
MAX_NUMBER_PAGES = 100
MAX_FIND_PAGES = 10
#: A friendly name shown in a connection report, at most.
MAX_NAME = 64

#: Errors after which the request may have reached Twilio whole (or be completed from the
#: server's buffers): nothing tells whether the message was created.
_UNCERTAIN_ERRORS: tuple[type[Exception], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.CloseError,
)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None


def _error_code(data: Any) -> int | None:
    """Twilio's numeric error code of an error body, when there is one."""
    if not isinstance(data, dict):
        return None
    code = data.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code.strip())
    return None


def _parse_rfc2822(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class TwilioProvider:
    """The SmsProvider (and CheckableProvider) over Twilio's REST API."""

    def __init__(
        self, config: TwilioConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.api_base = config.api_base.rstrip("/")
        self.account_url = (
            f"{self.api_base}/{API_VERSION}/Accounts/{quote(config.account_sid, safe='')}"
        )
        self.client = httpx.AsyncClient(
            verify=ssl_context(config.ca_file),
            auth=httpx.BasicAuth(config.username, config.secret),
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            ),
            headers={"User-Agent": "bannertui", "Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
        )

    # --- masking and logging ---

    def _mask(self, text: str, limit: int | None = None) -> str:
        return mask_credentials(text, self.config.username, self.config.secret, limit=limit)

    def _log(self, level: int, message: str, *args: object) -> None:
        """Every record this adapter logs: formatted, masked (its arguments may quote Twilio
        or an exception), then one safe line (no forged log lines)."""
        if logger.isEnabledFor(level):
            logger.log(level, "%s", one_line(self._mask(message % args)))

    def _failed(self, what: str, exc: BaseException) -> None:
        self._log(logging.INFO, "%s failed: %s: %s", what, type(exc).__name__, exc)

    def _error_text(self, response: httpx.Response) -> tuple[int | None, str]:
        """Twilio's error code and its message (masked, one line, cut), or the raw text."""
        data = _json(response)
        code = _error_code(data)
        text = ""
        if isinstance(data, dict):
            message = data.get("message")
            if isinstance(message, str):
                text = message
        elif data is None:
            text = response.text
        return code, one_line(self._mask(text, MAX_REASON_SCAN), MAX_REASON)

    def _reason(self, response: httpx.Response) -> str:
        code, text = self._error_text(response)
        head = f"Twilio {code}" if code is not None else f"HTTP {response.status_code}"
        return one_line(f"{head}: {text}" if text else head, MAX_REASON)

    @property
    def _credentials_name(self) -> str:
        if self.config.api_key_sid:
            return "the API key SID and secret"
        return "the Account SID and auth token"

    # --- sending ---

    def form(self, payload: SendPayload) -> dict[str, str] | None:
        """The form a send posts, or None when there is nobody to send from."""
        data = {"To": payload.to, "Body": payload.text}
        if payload.sender:
            data["From"] = payload.sender
        elif self.config.messaging_service_sid:
            data["MessagingServiceSid"] = self.config.messaging_service_sid
        else:
            return None
        if self.config.status_callback:
            callback = self.config.status_callback
            joiner = "&" if "?" in callback else "?"
            data["StatusCallback"] = f"{callback}{joiner}retId={quote(payload.ret_id, safe='')}"
        return data

    async def send(self, payload: SendPayload) -> SendOutcome:
        what = f"sending retId {payload.ret_id}"
        data = self.form(payload)
        if data is None:
            self._log(logging.INFO, "%s: %s", what, NO_SENDER)
            return SendOutcome(OutcomeKind.PERMANENT, NO_SENDER)
        try:
            response = await self.client.post(f"{self.account_url}/Messages.json", data=data)
        except httpx.TransportError as exc:
            self._failed(what, exc)
            return self._network_outcome(exc)
        outcome = self.classify(response)
        if outcome.accepted:
            self._log(logging.DEBUG, "%s: accepted as %s", what, outcome.provider_id)
        else:
            self._log(
                logging.INFO,
                "%s: %s%s, %s",
                what,
                outcome.kind,
                " (uncertain)" if outcome.uncertain else "",
                outcome.reason,
            )
        return outcome

    @staticmethod
    def _network_outcome(exc: httpx.TransportError) -> SendOutcome:
        if is_tls_error(exc):
            return SendOutcome(OutcomeKind.TRANSIENT, "TLS verification failed")
        uncertain = isinstance(exc, _UNCERTAIN_ERRORS)
        if isinstance(exc, httpx.TimeoutException):
            reason = "timeout: no answer from Twilio" if uncertain else "timeout before sending"
        else:
            reason = one_line(f"network error: {type(exc).__name__}")
        if uncertain:
            reason += " (the message may have been sent)"
        return SendOutcome(OutcomeKind.TRANSIENT, reason, uncertain=uncertain)

    def classify(self, response: httpx.Response) -> SendOutcome:
        """The outcome of Twilio's answer to a send."""
        status = response.status_code
        if 200 <= status < 300:
            data = _json(response)
            sid = data.get("sid") if isinstance(data, dict) else None
            if isinstance(sid, str) and sid:
                return SendOutcome(
                    OutcomeKind.ACCEPTED, status_code=status, provider_id=one_line(sid, 64)
                )
            return SendOutcome(
                OutcomeKind.TRANSIENT,
                f"HTTP {status} without a message sid",
                status_code=status,
                uncertain=True,
            )
        code, _ = self._error_text(response)
        reason = self._reason(response)
        if status == 429 or code == TOO_MANY_REQUESTS or status >= 500 or status == 408:
            return SendOutcome(
                OutcomeKind.TRANSIENT,
                reason,
                retry_after=retry_after(response.headers.get("retry-after")),
                status_code=status,
                uncertain=status >= 500 or status == 408,
            )
        if status in (401, 403):
            return SendOutcome(
                OutcomeKind.PERMANENT,
                one_line(f"authentication failed ({reason})", MAX_REASON),
                status_code=status,
            )
        return SendOutcome(OutcomeKind.PERMANENT, reason, status_code=status)

    # --- the connection test ---

    async def test_connection(self) -> ConnectionReport:
        """Fetch the account: the credentials are checked, nothing is sent."""
        report = await self._test_connection()
        report = ConnectionReport(report.result, one_line(self._mask(report.message)))
        self._log(logging.INFO, "connection test: %s: %s", report.result, report.message)
        return report

    async def _test_connection(self) -> ConnectionReport:
        what = "connection test"
        try:
            response = await self.client.get(f"{self.account_url}.json")
        except httpx.TimeoutException as exc:
            self._failed(what, exc)
            return ConnectionReport(
                ConnectionCheck.TIMEOUT, f"No answer from Twilio within {self.config.timeout:g} s."
            )
        except httpx.TransportError as exc:
            self._failed(what, exc)
            if is_tls_error(exc):
                return ConnectionReport(
                    ConnectionCheck.TLS_FAILURE,
                    "Twilio's TLS certificate could not be verified "
                    "(set a CA file if it uses a private authority).",
                )
            return ConnectionReport(
                ConnectionCheck.UNREACHABLE, f"Twilio could not be reached ({type(exc).__name__})."
            )
        status = response.status_code
        if status >= 400:
            self._log(logging.INFO, "%s: %s", what, self._reason(response))
        if status in (401, 403):
            return ConnectionReport(
                ConnectionCheck.AUTH_REFUSED,
                f"authentication failed: Twilio refused {self._credentials_name} (HTTP {status}).",
            )
        if status == 404:
            return ConnectionReport(
                ConnectionCheck.AUTH_REFUSED,
                f"authentication failed: no account {one_line(self.config.account_sid, 64)}.",
            )
        data = _json(response)
        if status == 200 and isinstance(data, dict) and isinstance(data.get("sid"), str):
            name = data.get("friendly_name")
            shown = name if isinstance(name, str) and name.strip() else data["sid"]
            return ConnectionReport(
                ConnectionCheck.REACHABLE,
                f"Twilio accepted the credentials (account {one_line(shown, MAX_NAME)}).",
            )
        if status < 300:
            return ConnectionReport(
                ConnectionCheck.REACHABLE,
                f"The server answered HTTP {status}, but not with a Twilio account: "
                "check the API base URL.",
            )
        return ConnectionReport(
            ConnectionCheck.REACHABLE,
            f"Twilio is reachable but answered {self._reason(response)}.",
        )

    # --- reading the account ---

    async def _get_page(self, url: str, params: dict[str, str] | None, what: str) -> Any:
        """One page of a list, decoded; :class:`BannerError` (one line, masked) else."""
        try:
            response = await self.client.get(url, params=params)
        except httpx.TransportError as exc:
            self._failed(what, exc)
            if is_tls_error(exc):
                raise BannerError("Twilio's TLS certificate could not be verified") from None
            problem = "timeout" if isinstance(exc, httpx.TimeoutException) else "network error"
            raise BannerError(
                one_line(f"Twilio could not be reached ({problem}: {type(exc).__name__})")
            ) from None
        if response.status_code in (401, 403):
            self._log(logging.INFO, "%s: %s", what, self._reason(response))
            raise InvalidProviderLogin(
                f"Twilio refused {self._credentials_name} (HTTP {response.status_code})"
            )
        if response.status_code != 200:
            reason = self._reason(response)
            self._log(logging.INFO, "%s: %s", what, reason)
            raise BannerError(one_line(f"{what} failed: {reason}", MAX_REASON))
        data = _json(response)
        if not isinstance(data, dict):
            raise BannerError(f"{what} failed: the answer is not a Twilio list")
        return data

    def _next_url(self, data: dict[str, Any], seen: set[str]) -> str | None:
        """The next page's URL: ``next_page_uri`` is relative to the API base (an absolute
        or protocol-relative one is refused: the credentials would go with it)."""
        uri = data.get("next_page_uri")
        if not isinstance(uri, str) or not uri:
            return None
        if not uri.startswith("/") or uri.startswith("//") or uri in seen:
            self._log(logging.WARNING, "ignoring next_page_uri %r", uri[:200])
            return None
        seen.add(uri)
        return self.api_base + uri

    async def list_numbers(self) -> list[str]:
        """The account's phone numbers (E.164), in Twilio's order, every page of them."""
        what = "listing the numbers"
        url: str | None = f"{self.account_url}/IncomingPhoneNumbers.json"
        params: dict[str, str] | None = {"PageSize": str(NUMBERS_PAGE_SIZE)}
        numbers: list[str] = []
        seen: set[str] = set()
        for _ in range(MAX_NUMBER_PAGES):
            if url is None:
                break
            data = await self._get_page(url, params, what)
            items = data.get("incoming_phone_numbers")
            if not isinstance(items, list):
                raise BannerError(f"{what} failed: the answer has no incoming_phone_numbers")
            for item in items:
                number = item.get("phone_number") if isinstance(item, dict) else None
                if isinstance(number, str) and number:
                    numbers.append(number)
            url, params = self._next_url(data, seen), None
        return numbers

    async def find_sent(self, to: str, from_: str | None, body: str, since: datetime) -> str | None:
        """The sid of a message to ``to`` (from ``from_`` when given) with exactly ``body``,
        created at or after ``since`` (to the second), or None — also on any error (logged).

        Used after an uncertain send (lost response).  Twilio lists messages newest first;
        pages are read until one reaches before ``since``.  No ``DateSent`` filter is used:
        a message still queued has no ``date_sent`` yet, and a filter on it would miss the
        very message looked for.  A Messaging Service with smart encoding, which rewrites
        the body, defeats the exact comparison."""
        what = "looking for a sent message"
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        since = since.replace(microsecond=0)
        first: dict[str, str] = {"To": to, "PageSize": str(FIND_PAGE_SIZE)}
        if from_:
            first["From"] = from_
        params: dict[str, str] | None = first
        url: str | None = f"{self.account_url}/Messages.json"
        seen: set[str] = set()
        try:
            for _ in range(MAX_FIND_PAGES):
                if url is None:
                    break
                data = await self._get_page(url, params, what)
                messages = data.get("messages")
                if not isinstance(messages, list):
                    return None
                older = False
                for message in messages:
                    if not isinstance(message, dict):
                        continue
                    created = _parse_rfc2822(message.get("date_created"))
                    if created is None:
                        continue
                    if created < since:
                        older = True
                        continue
                    sid = message.get("sid")
                    if message.get("body") == body and isinstance(sid, str) and sid:
                        self._log(logging.INFO, "%s to %s: found %s", what, to, sid)
                        return one_line(sid, 64)
                if older:
                    break
                url, params = self._next_url(data, seen), None
        except BannerError as exc:
            self._log(logging.INFO, "%s failed: %s", what, exc)
        return None

    async def aclose(self) -> None:
        await self.client.aclose()
