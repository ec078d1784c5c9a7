"""The SMS gateway port: what the services need of a provider — the exact P2 payload, send
outcomes, the connection settings and their check.  Adapters (``bannertui.gateway``)
implement it; the services never import them."""

from __future__ import annotations

import enum
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bannertui.domain.enums import ConnectorType
from bannertui.domain.errors import InvalidCaFile, NoProviderConfigured
from bannertui.domain.provider_rules import validate_provider_url
from bannertui.store.secrets import env_var, key_env_var


@dataclass(frozen=True, slots=True)
class SendPayload:
    """SPEC P2, field for field.  ``type`` is MARKETING whenever ``sender`` is not set."""

    type: str
    sender: str | None
    to: str
    ret_id: str
    is_unicode: bool
    text: str
    credits: int
    #: The connector the message goes through (``connector.id``); not part of P2.  None:
    #: the only gateway there is (tests, benches).
    connector_id: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "type": "MARKETING" if not self.sender else self.type,
            "sender": self.sender,
            "to": self.to,
            "retId": self.ret_id,
            "isUnicode": self.is_unicode,
            "text": self.text,
            "credits": self.credits,
        }


class OutcomeKind(enum.StrEnum):
    ACCEPTED = "accepted"
    TRANSIENT = "transient"  # network, timeout, 5xx, 429: retry later, same retId
    PERMANENT = "permanent"  # other 4xx: give up, refund


@dataclass(frozen=True, slots=True)
class SendOutcome:
    kind: OutcomeKind
    reason: str = ""
    retry_after: float | None = None  # seconds, from a Retry-After header
    status_code: int | None = None
    #: The provider's id for the accepted message (Twilio's ``MessageSid``); None when the
    #: provider answers by our retId alone (https-json).
    provider_id: str | None = None
    #: The request may have reached the provider although no answer came back (a timeout or
    #: a connection lost after the request was written): a provider with no idempotency key
    #: (Twilio) may have sent it.  The dispatcher waits for its status callback before a
    #: resend (docs/connectors.md).
    uncertain: bool = False
    #: The message never left: its connector cannot send now (disabled, not configured, no
    #: secret).  Not an attempt: it waits, however long, and goes once the connector can.
    held: bool = False
    #: The provider's ids of the parts it accepted, in order (SMPP: one ``submit_sm`` a part);
    #: ``provider_id`` is the first.
    part_ids: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.kind is OutcomeKind.ACCEPTED


class SmsProvider(Protocol):
    async def send(self, payload: SendPayload) -> SendOutcome: ...

    async def aclose(self) -> None: ...


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


@dataclass(frozen=True)
class TwilioConfig:
    """A Twilio (Programmable Messaging) connector.  ``username`` is the Account SID, or an
    API key SID (``SK…``) whose secret is then ``secret``; ``secret`` is the auth token
    otherwise.  ``status_callback`` is the public URL of our receiver's status path for this
    connector (``…/twilio/<connector id>/status``): each send asks for its callbacks there,
    with ``?retId=…`` appended."""

    account_sid: str
    secret: str = field(repr=False)
    api_key_sid: str | None = None
    messaging_service_sid: str | None = None
    api_base: str = "https://api.twilio.com"
    status_callback: str | None = None
    ca_file: Path | None = None
    timeout: float = 10.0
    connect_timeout: float = 5.0
    max_connections: int = 64

    @property
    def username(self) -> str:
        return self.api_key_sid or self.account_sid


@dataclass(frozen=True)
class SmppConfig:
    """An SMPP 3.4 connector (issue #21): the settings of :mod:`bannertui.domain.connectors`
    and the bind password (its secret).  ``connector_id`` names the connector in what the
    session reports (receipts, mobile-originated texts)."""

    connector_id: int
    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    tls: bool = False
    bind_mode: str = "transceiver"
    source_ton: int = 1
    source_npi: int = 1
    window: int = 10
    throughput: int = 0  # messages a second at most; 0: no limit
    concat: str = "udh8"
    connect_timeout: float = 10.0
    #: A submit_sm with no answer after this long: the session is deemed dead and dropped.
    response_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class PartReport:
    """A delivery receipt that names one accepted part by the provider's id (SMPP)."""

    connector_id: int
    provider_id: str
    delivered: bool | None  # None: an intermediate state (enroute, accepted): nothing to do
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MobileOriginated:
    """A text from a mobile, reassembled from its parts (SMPP ``deliver_sm``)."""

    connector_id: int
    source: str
    destination: str
    text: str
    provider_message_id: str


class InboundPort(Protocol):
    """Where a gateway that receives on its own session (SMPP) hands what arrives: the
    services store it as the webhook receiver does."""

    async def part_report(self, report: PartReport) -> None: ...

    async def mobile_originated(self, message: MobileOriginated) -> None: ...


class ConnectionCheck(enum.StrEnum):
    REACHABLE = "reachable"
    TLS_FAILURE = "tls failure"
    AUTH_REFUSED = "authentication refused"
    BIND_REFUSED = "bind refused"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class ConnectionReport:
    result: ConnectionCheck
    message: str

    @property
    def ok(self) -> bool:
        return self.result is ConnectionCheck.REACHABLE


def ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verification against the system CAs, or against ``ca_file`` (PEM) when given."""
    ctx = ssl.create_default_context()
    if ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=str(ca_file))
        except FileNotFoundError:
            raise InvalidCaFile(f"{ca_file} does not exist") from None
        except (ssl.SSLError, OSError, ValueError):
            raise InvalidCaFile(f"{ca_file} is not a PEM certificate file") from None
    return ctx


class CheckableProvider(SmsProvider, Protocol):
    """A gateway that can also check its settings with one request that sends nothing."""

    async def test_connection(self) -> ConnectionReport: ...


class GatewayFactory(Protocol):
    """Opens a gateway for a configuration: the composition root chooses the adapter
    (``bannertui.gateway.http_gateway``: HTTPS JSON or Twilio by the configuration's type) and
    hands it to :class:`Services`."""

    def __call__(self, config: ProviderConfig | TwilioConfig | SmppConfig) -> CheckableProvider: ...


def _no_secret(what: str, connector_id: int) -> str:
    if not connector_id:  # a connector not saved yet (Test connection before Save)
        return f"type the {what}"
    variable = key_env_var(connector_id) if what == "API key secret" else env_var(connector_id)
    return (
        f"the {what} of connector {connector_id} is not set: run `bannertui connector edit` "
        f"or set {variable}"
    )


def connector_config(
    kind: str,
    connector_id: int,
    settings: Mapping[str, Any],
    secret: str | None,
    key_secret: str | None = None,
) -> ProviderConfig | TwilioConfig | SmppConfig:
    """The adapter configuration of a connector: its type's settings (``connector.settings``,
    :mod:`bannertui.domain.connectors`) and its secret.  Twilio: ``secret`` is the auth token
    (which signs Twilio's callbacks); with an API key SID, ``key_secret`` is the key's secret,
    which the requests are authenticated with."""
    ca = settings.get("ca_file")
    ca_file = Path(ca) if ca else None
    if kind == ConnectorType.TWILIO:
        if not secret:
            raise NoProviderConfigured(_no_secret("auth token", connector_id))
        public = settings.get("public_url")
        api_key_sid = settings.get("api_key_sid") or None
        if api_key_sid and not key_secret:
            raise NoProviderConfigured(_no_secret("API key secret", connector_id))
        return TwilioConfig(
            account_sid=str(settings.get("account_sid") or ""),
            secret=(key_secret if api_key_sid else secret) or "",
            api_key_sid=api_key_sid,
            messaging_service_sid=settings.get("messaging_service_sid") or None,
            api_base=str(settings.get("api_base") or "https://api.twilio.com"),
            status_callback=f"{public}/twilio/{connector_id}/status" if public else None,
            ca_file=ca_file,
        )
    if kind == ConnectorType.SMPP:
        if not secret:
            raise NoProviderConfigured(_no_secret("bind password", connector_id))
        if not settings.get("host") or not settings.get("system_id"):
            raise NoProviderConfigured(f"connector {connector_id} has no host or system_id")
        return SmppConfig(
            connector_id=connector_id,
            host=str(settings["host"]),
            port=int(settings.get("port") or 2775),
            system_id=str(settings["system_id"]),
            password=secret,
            system_type=str(settings.get("system_type") or ""),
            tls=bool(settings.get("tls")),
            bind_mode=str(settings.get("bind_mode") or "transceiver"),
            source_ton=int(settings.get("source_ton", 1)),
            source_npi=int(settings.get("source_npi", 1)),
            window=int(settings.get("window") or 10),
            throughput=int(settings.get("throughput") or 0),
            concat=str(settings.get("concat") or "udh8"),
        )
    if not settings.get("url"):
        raise NoProviderConfigured(f"connector {connector_id} has no URL")
    auth = bool(settings.get("auth_enabled"))
    if auth and not secret:
        raise NoProviderConfigured(_no_secret("password", connector_id))
    return ProviderConfig(
        url=str(settings["url"]),
        login=settings.get("login") if auth else None,
        password=secret if auth else None,
        ca_file=ca_file,
    )
