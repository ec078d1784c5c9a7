"""The HTTPS adapter: one pooled httpx.AsyncClient posting the exact P2 JSON.

Outcomes are classified for the dispatcher: accepted (2xx); transient (network errors,
timeouts, 408, 429 with Retry-After, 5xx) — retried later with the same retId; permanent
(any other 4xx) — failed with the provider's reason.  The password travels only in the
Authorization header: it is never logged nor put into a reason or an error.
"""

from __future__ import annotations

import enum
import json
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from bannertui.domain.provider_rules import validate_provider_url
from bannertui.domain.text import one_line
from bannertui.provider.base import OutcomeKind, SendOutcome, SendPayload
from bannertui.provider.tls import ssl_context

MAX_REASON = 300


@dataclass(frozen=True)
class ProviderConfig:
    url: str
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    timeout: float = 10.0
    connect_timeout: float = 5.0
    max_connections: int = 64

    def __post_init__(self) -> None:
        validate_provider_url(self.url)


class ConnectionCheck(enum.StrEnum):
    REACHABLE = "reachable"
    TLS_FAILURE = "tls failure"
    AUTH_REFUSED = "authentication refused"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class ConnectionReport:
    result: ConnectionCheck
    message: str

    @property
    def ok(self) -> bool:
        return self.result is ConnectionCheck.REACHABLE


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _reason(response: httpx.Response, secrets: tuple[str, ...] = ()) -> str:
    """The provider's own words, as one safe line, with our secrets masked (a provider may
    echo the credentials it refused)."""
    text = ""
    try:
        data = response.json()
        if isinstance(data, dict):
            for key in ("error", "message", "reason", "detail"):
                if isinstance(data.get(key), str):
                    text = data[key]
                    break
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text[:MAX_REASON]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    prefix = f"HTTP {response.status_code}"
    return one_line(f"{prefix}: {text}" if text else prefix, MAX_REASON)


def _is_tls_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(cur) or "SSL" in type(cur).__name__:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def classify_response(response: httpx.Response, secrets: tuple[str, ...] = ()) -> SendOutcome:
    code = response.status_code
    if 200 <= code < 300:
        return SendOutcome(OutcomeKind.ACCEPTED, status_code=code)
    if code in (408, 429) or code >= 500:
        return SendOutcome(
            OutcomeKind.TRANSIENT,
            _reason(response, secrets),
            retry_after=_retry_after(response.headers.get("retry-after")),
            status_code=code,
        )
    return SendOutcome(OutcomeKind.PERMANENT, _reason(response, secrets), status_code=code)


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

    async def send(self, payload: SendPayload) -> SendOutcome:
        try:
            response = await self.client.post(self.config.url, json=payload.as_json())
        except httpx.TimeoutException:
            return SendOutcome(OutcomeKind.TRANSIENT, "timeout")
        except httpx.TransportError as exc:
            if _is_tls_error(exc):
                return SendOutcome(OutcomeKind.TRANSIENT, "TLS verification failed")
            return SendOutcome(
                OutcomeKind.TRANSIENT, one_line(f"network error: {type(exc).__name__}")
            )
        return classify_response(response, (self.config.password or "",))

    async def test_connection(self) -> ConnectionReport:
        """Reach the provider without sending anything: an empty JSON object is posted, which a
        provider authenticates first (401/403) and then refuses as invalid (400)."""
        try:
            response = await self.client.post(self.config.url, json={})
        except httpx.TimeoutException:
            return ConnectionReport(
                ConnectionCheck.TIMEOUT,
                f"No answer from the provider within {self.config.timeout:g} s.",
            )
        except httpx.TransportError as exc:
            if _is_tls_error(exc):
                return ConnectionReport(
                    ConnectionCheck.TLS_FAILURE,
                    "The provider's TLS certificate could not be verified "
                    "(set a CA file if it uses a private authority).",
                )
            return ConnectionReport(
                ConnectionCheck.UNREACHABLE,
                f"The provider could not be reached ({type(exc).__name__}).",
            )
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
