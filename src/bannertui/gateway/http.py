"""The HTTPS adapter: one pooled httpx.AsyncClient posting the exact P2 JSON.

Outcomes are classified for the dispatcher: accepted (2xx); transient (network errors,
timeouts, 408, 429 with Retry-After, 5xx) — retried later with the same retId; permanent
(any other 4xx) — failed with the provider's reason.  The password travels only in the
Authorization header (SPEC P7): a provider's words, an exception's text, a connection report
and every record this module logs go through :func:`~bannertui.domain.masking.mask_credentials`
first, which masks the password in every form a provider may echo (plain, URL-encoded, inside
the Basic token or a URL's userinfo).
"""

from __future__ import annotations

import json
import logging

import httpx

from bannertui.domain.masking import mask_credentials
from bannertui.domain.text import one_line
from bannertui.gateway.net import is_tls_error, retry_after
from bannertui.services.gateway import (
    ConnectionCheck,
    ConnectionReport,
    OutcomeKind,
    ProviderConfig,
    SendOutcome,
    SendPayload,
    ssl_context,
)

logger = logging.getLogger(__name__)

MAX_REASON = 300
#: How much of a provider's answer is scanned for its reason (masked, then made one line and
#: cut to MAX_REASON): whitespace runs collapse, so more than MAX_REASON may be shown from.
MAX_REASON_SCAN = 64 * 1024


def _reason(response: httpx.Response, login: str | None = None, password: str | None = None) -> str:
    """The provider's own words, as one safe line, with the credential masked (a provider may
    echo the credentials it refused) before the line is cut: never half a token."""
    text = ""
    try:
        data = response.json()
        if isinstance(data, dict):
            for key in ("error", "message", "reason", "detail"):
                if isinstance(data.get(key), str):
                    text = data[key]
                    break
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text
    text = mask_credentials(text, login, password, limit=MAX_REASON_SCAN)
    prefix = f"HTTP {response.status_code}"
    return one_line(f"{prefix}: {text}" if text else prefix, MAX_REASON)


def classify_response(
    response: httpx.Response, login: str | None = None, password: str | None = None
) -> SendOutcome:
    """The outcome of a provider's answer; ``login`` and ``password`` are masked in its
    reason."""
    code = response.status_code
    if 200 <= code < 300:
        return SendOutcome(OutcomeKind.ACCEPTED, status_code=code)
    if code in (408, 429) or code >= 500:
        return SendOutcome(
            OutcomeKind.TRANSIENT,
            _reason(response, login, password),
            retry_after=retry_after(response.headers.get("retry-after")),
            status_code=code,
        )
    return SendOutcome(OutcomeKind.PERMANENT, _reason(response, login, password), status_code=code)


class HttpProvider:
    """The SmsProvider over HTTPS."""

    def __init__(
        self, config: ProviderConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.config = config
        auth = (
            httpx.BasicAuth(config.login, config.password or "")
            if config.login is not None
            else None
        )
        self.client = httpx.AsyncClient(
            verify=ssl_context(config.ca_file),
            auth=auth,
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            ),
            headers={"User-Agent": "bannertui", "Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
        )

    def _mask(self, text: str) -> str:
        return mask_credentials(text, self.config.login, self.config.password)

    def _log(self, level: int, message: str, *args: object) -> None:
        """Every record this adapter logs: formatted, masked (its arguments may quote a
        provider or an exception), then one safe line (no forged log lines)."""
        if logger.isEnabledFor(level):
            logger.log(level, "%s", one_line(self._mask(message % args)))

    def _failed(self, what: str, exc: BaseException) -> None:
        self._log(logging.INFO, "%s failed: %s: %s", what, type(exc).__name__, exc)

    async def send(self, payload: SendPayload) -> SendOutcome:
        what = f"sending retId {payload.ret_id}"
        try:
            response = await self.client.post(self.config.url, json=payload.as_json())
        except httpx.TimeoutException as exc:
            self._failed(what, exc)
            return SendOutcome(OutcomeKind.TRANSIENT, "timeout")
        except httpx.TransportError as exc:
            self._failed(what, exc)
            if is_tls_error(exc):
                return SendOutcome(OutcomeKind.TRANSIENT, "TLS verification failed")
            return SendOutcome(
                OutcomeKind.TRANSIENT, one_line(f"network error: {type(exc).__name__}")
            )
        outcome = classify_response(response, self.config.login, self.config.password)
        if not outcome.accepted:
            self._log(logging.INFO, "%s: %s, %s", what, outcome.kind, outcome.reason)
        return outcome

    async def test_connection(self) -> ConnectionReport:
        """Reach the provider without sending anything: an empty JSON object is posted, which a
        provider authenticates first (401/403) and then refuses as invalid (400)."""
        report = await self._test_connection()
        report = ConnectionReport(report.result, self._mask(report.message))
        self._log(logging.INFO, "connection test: %s: %s", report.result, report.message)
        return report

    async def _test_connection(self) -> ConnectionReport:
        what = "connection test"
        try:
            response = await self.client.post(self.config.url, json={})
        except httpx.TimeoutException as exc:
            self._failed(what, exc)
            return ConnectionReport(
                ConnectionCheck.TIMEOUT,
                f"No answer from the provider within {self.config.timeout:g} s.",
            )
        except httpx.TransportError as exc:
            self._failed(what, exc)
            if is_tls_error(exc):
                return ConnectionReport(
                    ConnectionCheck.TLS_FAILURE,
                    "The provider's TLS certificate could not be verified "
                    "(set a CA file if it uses a private authority).",
                )
            return ConnectionReport(
                ConnectionCheck.UNREACHABLE,
                f"The provider could not be reached ({type(exc).__name__}).",
            )
        if response.status_code >= 400:
            reason = _reason(response, self.config.login, self.config.password)
            self._log(logging.INFO, "%s: %s", what, reason)
        if response.status_code in (401, 403):
            return ConnectionReport(
                ConnectionCheck.AUTH_REFUSED,
                f"The provider refused the login and password (HTTP {response.status_code}).",
            )
        if response.status_code in (404, 405):
            return ConnectionReport(
                ConnectionCheck.REACHABLE,
                f"The server is reachable but answered HTTP {response.status_code}: "
                "check the path of the URL.",
            )
        credentials = " and accepted the credentials" if self.config.login else ""
        return ConnectionReport(
            ConnectionCheck.REACHABLE,
            f"The provider is reachable{credentials} "
            f"(HTTP {response.status_code} to an empty test request).",
        )

    async def aclose(self) -> None:
        await self.client.aclose()
