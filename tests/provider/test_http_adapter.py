"""The HTTPS adapter (HttpProvider) over real loopback HTTPS: no mocks, no fake transport.

One scripted Starlette app is served with the simulator's certificates for the whole module;
each test sets what its route answers (status, JSON or text body, headers, a delay) and reads
back what it received (raw body, Authorization header).  Fixtures live here (tests/provider/
has no shared conftest).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bannertui.domain.errors import InvalidProviderUrl
from bannertui.gateway.http import MAX_REASON, HttpProvider
from bannertui.services.gateway import (
    ConnectionCheck,
    ConnectionReport,
    OutcomeKind,
    ProviderConfig,
    SendOutcome,
    SendPayload,
)
from bannertui.simulator.provider import Simulator, SimulatorConfig, make_tls
from bannertui.web.serving import LoopbackServer, TlsFiles

#: The scripted gateway lives in the module's event loop: every async test runs there too.
MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

PATH = "/v1/sms"
LOGIN = "demo-login"
#: Distinctive enough that finding it anywhere is a leak.
PASSWORD = "Zq8!pw-NEVER-SHOWN-7f3c"
P2_ORDER = ["type", "sender", "to", "retId", "isUnicode", "text", "credits"]


def payload(**changes: Any) -> SendPayload:
    fields: dict[str, Any] = {
        "type": "NOTIFICATION",
        "sender": "+33757000001",
        "to": "+33612345678",
        "ret_id": "0123456789abcdef0123456789abcdef",
        "is_unicode": False,
        "text": "Hello",
        "credits": 1,
    }
    fields.update(changes)
    return SendPayload(**fields)


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the scripted server --------------------------------------------------------------------------


@dataclass
class Received:
    raw: bytes
    authorization: str | None
    content_type: str | None
    user_agent: str | None


@dataclass
class Script:
    """What the route answers next, and what it received."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"status": "accepted"})
    text: str | bytes | None = None  # when set, a text/plain body instead of JSON
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    echo_auth: bool = False  # put the decoded Authorization header into {"error": ...}
    #: When set, the whole answer is built from the Authorization header (a provider that
    #: echoes the credentials it received, in one form or another).
    echo: Callable[[str], Response] | None = None
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def reset(self) -> None:
        self.release.set()  # wake handlers still delayed by an earlier test
        fresh = Script()
        names = ("status", "body", "text", "headers", "delay", "echo_auth", "echo", "received")
        for name in names:
            setattr(self, name, getattr(fresh, name))
        self.release = asyncio.Event()

    def json_bodies(self) -> list[Any]:
        return [json.loads(r.raw) for r in self.received]


def scripted_app(script: Script) -> Starlette:
    async def handle(request: Request) -> Response:
        raw = await request.body()
        auth = request.headers.get("authorization")
        script.received.append(
            Received(
                raw, auth, request.headers.get("content-type"), request.headers.get("user-agent")
            )
        )
        if script.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(script.release.wait(), script.delay)
        if script.echo is not None:
            return script.echo(auth or "")
        if script.echo_auth:
            decoded = base64.b64decode((auth or "Basic ").split(" ", 1)[1]).decode()
            return JSONResponse(
                {"error": f"credentials {decoded} refused"},
                status_code=script.status,
                headers=script.headers,
            )
        if script.text is not None:
            return Response(
                script.text,
                status_code=script.status,
                headers=script.headers,
                media_type="text/plain",
            )
        return JSONResponse(script.body, status_code=script.status, headers=script.headers)

    return Starlette(routes=[Route(PATH, handle, methods=["POST"])])


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("http-adapter-certs"))


@dataclass
class Gateway:
    script: Script
    url: str  # the send URL
    tls: TlsFiles


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_gateway(tls: TlsFiles) -> AsyncIterator[Gateway]:
    script = Script()
    async with LoopbackServer(scripted_app(script), tls=tls) as server:
        yield Gateway(script, server.url + PATH, tls)
        script.release.set()


@pytest.fixture
def gw(shared_gateway: Gateway) -> Gateway:
    """The module's gateway with a fresh script (200 {"status": "accepted"}, no delay)."""
    shared_gateway.script.reset()
    return shared_gateway


def config(gw: Gateway, **changes: Any) -> ProviderConfig:
    """Trusts the simulator CA; Basic auth with LOGIN/PASSWORD unless told otherwise."""
    values: dict[str, Any] = {
        "url": gw.url,
        "login": LOGIN,
        "password": PASSWORD,
        "ca_file": gw.tls.ca,
        "timeout": 5.0,
        "connect_timeout": 5.0,
    }
    values.update(changes)
    return ProviderConfig(**values)


async def send(cfg: ProviderConfig, body: SendPayload | None = None) -> SendOutcome:
    provider = HttpProvider(cfg)
    try:
        return await provider.send(body or payload())
    finally:
        await provider.aclose()


async def probe(cfg: ProviderConfig) -> ConnectionReport:
    provider = HttpProvider(cfg)
    try:
        return await provider.test_connection()
    finally:
        await provider.aclose()


def assert_one_safe_line(text: str) -> None:
    assert "\x1b" not in text
    assert "\n" not in text
    assert "\r" not in text
    assert all(ord(ch) >= 0x20 and not 0x7F <= ord(ch) < 0xA0 for ch in text), repr(text)


# --- ProviderConfig -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8443/v1/sms", "ftp://sms.example.com/", "sms.example.com/v1", ""],
)
def test_config_refuses_non_https(url: str) -> None:
    with pytest.raises(InvalidProviderUrl) as info:
        ProviderConfig(url=url)
    assert info.value.name == "Invalid provider URL"
    assert str(info.value).startswith("Invalid provider URL")


def test_config_repr_hides_the_password() -> None:
    cfg = ProviderConfig(url="https://sms.example.com/v1/sms", login=LOGIN, password=PASSWORD)
    assert PASSWORD not in repr(cfg)
    assert LOGIN in repr(cfg)


# --- accepted -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 204])
@MODULE_LOOP
async def test_2xx_is_accepted(gw: Gateway, status: int) -> None:
    gw.script.status = status
    if status == 204:
        gw.script.text = ""
    outcome = await send(config(gw))
    assert outcome == SendOutcome(OutcomeKind.ACCEPTED, status_code=status)
    assert outcome.accepted
    assert len(gw.script.received) == 1


# --- the exact body, the headers ------------------------------------------------------------------


@MODULE_LOOP
async def test_posts_exactly_the_p2_json(gw: Gateway) -> None:
    body = payload(text="Héllo ça va ? €", is_unicode=True, credits=1)
    outcome = await send(config(gw), body)
    assert outcome.accepted
    [received] = gw.script.received
    decoded = json.loads(received.raw, object_pairs_hook=lambda pairs: pairs)
    assert [key for key, _ in decoded] == P2_ORDER
    assert dict(decoded) == body.as_json()
    assert list(body.as_json()) == P2_ORDER
    assert dict(decoded) == {
        "type": "NOTIFICATION",
        "sender": "+33757000001",
        "to": "+33612345678",
        "retId": "0123456789abcdef0123456789abcdef",
        "isUnicode": True,
        "text": "Héllo ça va ? €",
        "credits": 1,
    }
    assert received.content_type == "application/json"
    assert received.user_agent == "bannertui"


@MODULE_LOOP
async def test_no_sender_becomes_marketing_with_null_sender(gw: Gateway) -> None:
    body = payload(type="NOTIFICATION", sender=None)
    assert (await send(config(gw), body)).accepted
    [posted] = gw.script.json_bodies()
    assert list(posted) == P2_ORDER
    assert posted["type"] == "MARKETING"
    assert posted["sender"] is None
    assert posted == body.as_json()


@MODULE_LOOP
async def test_marketing_with_sender_stays_marketing(gw: Gateway) -> None:
    assert (await send(config(gw), payload(type="MARKETING"))).accepted
    [posted] = gw.script.json_bodies()
    assert (posted["type"], posted["sender"]) == ("MARKETING", "+33757000001")


@MODULE_LOOP
async def test_basic_auth_header_when_login_set(gw: Gateway) -> None:
    assert (await send(config(gw))).accepted
    [received] = gw.script.received
    expected = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    assert received.authorization == f"Basic {expected}"


@MODULE_LOOP
async def test_no_authorization_header_without_login(gw: Gateway) -> None:
    assert (await send(config(gw, login=None))).accepted  # the password alone is not sent
    [received] = gw.script.received
    assert received.authorization is None


# --- transient ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@MODULE_LOOP
async def test_5xx_is_transient_with_the_provider_error(gw: Gateway, status: int) -> None:
    gw.script.status = status
    gw.script.body = {"error": "upstream overloaded"}
    outcome = await send(config(gw))
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.reason == f"HTTP {status}: upstream overloaded"
    assert outcome.status_code == status
    assert outcome.retry_after is None


@MODULE_LOOP
async def test_503_with_retry_after(gw: Gateway) -> None:
    gw.script.status = 503
    gw.script.body = {"error": "maintenance"}
    gw.script.headers = {"Retry-After": "2"}
    outcome = await send(config(gw))
    assert (outcome.kind, outcome.reason, outcome.retry_after) == (
        OutcomeKind.TRANSIENT,
        "HTTP 503: maintenance",
        2.0,
    )


@MODULE_LOOP
async def test_429_retry_after_seconds(gw: Gateway) -> None:
    gw.script.status = 429
    gw.script.body = {"error": "too many requests"}
    gw.script.headers = {"Retry-After": "7"}
    outcome = await send(config(gw))
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.retry_after == 7.0
    assert outcome.reason == "HTTP 429: too many requests"
    assert outcome.status_code == 429


@MODULE_LOOP
async def test_429_retry_after_http_date(gw: Gateway) -> None:
    gw.script.status = 429
    when = datetime.now(UTC) + timedelta(seconds=120)
    gw.script.headers = {"Retry-After": format_datetime(when, usegmt=True)}
    outcome = await send(config(gw))
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.retry_after is not None
    assert 110.0 <= outcome.retry_after <= 120.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(
            format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True), 0.0, id="past"
        ),
        pytest.param("soon", None, id="garbage"),
        pytest.param("-5", None, id="negative"),
        pytest.param("0", 0.0, id="zero"),
    ],
)
@MODULE_LOOP
async def test_429_odd_retry_after(gw: Gateway, header: str, expected: float | None) -> None:
    gw.script.status = 429
    gw.script.headers = {"Retry-After": header}
    outcome = await send(config(gw))
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.retry_after == expected


@MODULE_LOOP
async def test_429_without_retry_after(gw: Gateway) -> None:
    gw.script.status = 429
    outcome = await send(config(gw))
    assert (outcome.kind, outcome.retry_after) == (OutcomeKind.TRANSIENT, None)


@MODULE_LOOP
async def test_408_is_transient(gw: Gateway) -> None:
    gw.script.status = 408
    gw.script.body = {"error": "request timeout"}
    outcome = await send(config(gw))
    assert (outcome.kind, outcome.reason, outcome.status_code) == (
        OutcomeKind.TRANSIENT,
        "HTTP 408: request timeout",
        408,
    )


@MODULE_LOOP
async def test_timeout_is_transient(gw: Gateway) -> None:
    gw.script.delay = 10.0
    outcome = await send(config(gw, timeout=0.3))
    assert outcome == SendOutcome(OutcomeKind.TRANSIENT, "timeout")


@MODULE_LOOP
async def test_connection_refused_is_transient() -> None:
    cfg = ProviderConfig(url=f"https://127.0.0.1:{closed_port()}{PATH}", timeout=3.0)
    outcome = await send(cfg)
    assert outcome == SendOutcome(OutcomeKind.TRANSIENT, "network error: ConnectError")


@MODULE_LOOP
async def test_untrusted_certificate_is_transient_tls_failure(gw: Gateway) -> None:
    outcome = await send(config(gw, ca_file=None))  # the system CAs do not know ours
    assert outcome == SendOutcome(OutcomeKind.TRANSIENT, "TLS verification failed")
    assert gw.script.received == []


@MODULE_LOOP
async def test_wrong_ca_is_tls_failure(gw: Gateway, tmp_path: Path) -> None:
    other = make_tls(tmp_path / "other-ca")
    outcome = await send(config(gw, ca_file=other.ca))
    assert outcome == SendOutcome(OutcomeKind.TRANSIENT, "TLS verification failed")


@MODULE_LOOP
async def test_hostname_not_in_certificate_is_tls_failure(tls: TlsFiles) -> None:
    # 127.0.0.2 is loopback too, but the certificate names only 127.0.0.1, localhost and ::1.
    script = Script()
    try:
        server = LoopbackServer(scripted_app(script), host="127.0.0.2", tls=tls)
        await server.start()
    except OSError:
        pytest.skip("127.0.0.2 is not usable here")
    try:
        cfg = ProviderConfig(url=server.url + PATH, ca_file=tls.ca, timeout=3.0)
        outcome = await send(cfg)
        report = await probe(cfg)
    finally:
        await server.stop()
    assert outcome == SendOutcome(OutcomeKind.TRANSIENT, "TLS verification failed")
    assert report.result is ConnectionCheck.TLS_FAILURE
    assert script.received == []


# --- permanent ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, {"error": "to: invalid number", "field": "to"}, "HTTP 400: to: invalid number"),
        (404, {"message": "no such route"}, "HTTP 404: no such route"),
        (422, {"detail": "credits mismatch"}, "HTTP 422: credits mismatch"),
        (400, {"reason": "sender unknown"}, "HTTP 400: sender unknown"),
        (400, {"error": "first", "message": "second"}, "HTTP 400: first"),
        (400, {"error": {"code": 7}, "message": "a string wins"}, "HTTP 400: a string wins"),
        (401, {"error": "authentication refused"}, "HTTP 401: authentication refused"),
        (403, {"error": "forbidden"}, "HTTP 403: forbidden"),
        (400, {}, "HTTP 400"),
        (400, ["not", "an", "object"], "HTTP 400"),
        (409, {"error": "conflict"}, "HTTP 409: conflict"),
    ],
)
@MODULE_LOOP
async def test_other_4xx_is_permanent_with_the_provider_reason(
    gw: Gateway, status: int, body: Any, reason: str
) -> None:
    gw.script.status = status
    gw.script.body = body
    outcome = await send(config(gw))
    assert outcome == SendOutcome(OutcomeKind.PERMANENT, reason, status_code=status)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("plain words from the gateway", "HTTP 400: plain words from the gateway"),
        ("<html>\n<b>Bad\r\nRequest</b>\n</html>", "HTTP 400: <html> <b>Bad Request</b> </html>"),
        ("", "HTTP 400"),
    ],
)
@MODULE_LOOP
async def test_text_body_reason(gw: Gateway, text: str, reason: str) -> None:
    gw.script.status = 400
    gw.script.text = text
    outcome = await send(config(gw))
    assert outcome == SendOutcome(OutcomeKind.PERMANENT, reason, status_code=400)


@MODULE_LOOP
async def test_undecodable_body_still_classified(gw: Gateway) -> None:
    gw.script.status = 400
    gw.script.text = b"\xff\xfe\x00bad\x1b[31m"
    outcome = await send(config(gw))
    assert outcome.kind is OutcomeKind.PERMANENT
    assert outcome.reason.startswith("HTTP 400")
    assert_one_safe_line(outcome.reason)


@MODULE_LOOP
async def test_redirect_is_not_followed(gw: Gateway) -> None:
    gw.script.status = 302
    gw.script.headers = {"Location": "https://127.0.0.1:1/elsewhere"}
    outcome = await send(config(gw))
    assert (outcome.kind, outcome.status_code) == (OutcomeKind.PERMANENT, 302)
    assert len(gw.script.received) == 1


@MODULE_LOOP
async def test_unsafe_reason_becomes_one_safe_line(gw: Gateway) -> None:
    gw.script.status = 400
    gw.script.body = {
        "error": "[bold]bad[/bold] \x1b[31mred\x1b[0m\nsecond line\r\n\x07\u202eevil\x9b"
    }
    outcome = await send(config(gw))
    assert outcome.kind is OutcomeKind.PERMANENT
    assert_one_safe_line(outcome.reason)
    assert outcome.reason.startswith("HTTP 400: [bold]bad[/bold] ")  # kept as plain text
    assert "\u202e" not in outcome.reason
    assert "second line" in outcome.reason
    assert "red" in outcome.reason


@pytest.mark.parametrize("as_text", [False, True], ids=["json", "text"])
@MODULE_LOOP
async def test_reason_is_capped(gw: Gateway, as_text: bool) -> None:
    gw.script.status = 400
    if as_text:
        gw.script.text = "x" * 5000
    else:
        gw.script.body = {"error": "x" * 5000}
    outcome = await send(config(gw))
    assert outcome.kind is OutcomeKind.PERMANENT
    assert len(outcome.reason) == MAX_REASON == 300
    assert outcome.reason.startswith("HTTP 400: xxx")
    assert outcome.reason.endswith("…")


# --- the password never shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    status: int = 200
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    ca: bool = True
    closed: bool = False


FAILURES = {
    "400": Failure(400, {"error": "to: invalid number"}),
    "401": Failure(401, {"error": "authentication refused"}),
    "403": Failure(403, {"message": "forbidden"}),
    "404": Failure(404, text="Not Found"),
    "408": Failure(408, {"detail": "slow"}),
    "422": Failure(422, {"detail": "bad"}),
    "429": Failure(429, {"error": "slow down"}, headers={"Retry-After": "7"}),
    "500": Failure(500, text="Internal Server Error"),
    "502": Failure(502, {"error": "bad gateway"}),
    "503": Failure(503, {"error": "unavailable"}),
    "timeout": Failure(delay=10.0),
    "tls": Failure(ca=False),
    "refused": Failure(closed=True),
}


def failure_config(gw: Gateway, failure: Failure) -> ProviderConfig:
    gw.script.status = failure.status
    gw.script.body = failure.body if failure.body is not None else {}
    gw.script.text = failure.text
    gw.script.headers = dict(failure.headers)
    gw.script.delay = failure.delay
    url = f"https://127.0.0.1:{closed_port()}{PATH}" if failure.closed else gw.url
    return config(gw, url=url, ca_file=gw.tls.ca if failure.ca else None, timeout=0.5)


def assert_no_password(*texts: str) -> None:
    encoded = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    for text in texts:
        assert PASSWORD not in text, text
        assert encoded not in text, text


@pytest.mark.parametrize("name", list(FAILURES))
@MODULE_LOOP
async def test_password_never_in_outcome_or_report(gw: Gateway, name: str) -> None:
    cfg = failure_config(gw, FAILURES[name])
    outcome = await send(cfg)
    assert not outcome.accepted
    gw.script.release.set()
    gw.script.release = asyncio.Event()
    report = await probe(cfg)
    assert not (name == "401" and report.ok)
    assert_no_password(outcome.reason, repr(outcome), report.message, repr(report))
    assert_one_safe_line(outcome.reason)
    assert_one_safe_line(report.message)


@MODULE_LOOP
async def test_password_echoed_by_the_provider_is_not_repeated(gw: Gateway) -> None:
    """A provider that echoes the credentials it refused must not get the password into a
    reason (shown in the UI, stored on the message) or a connection report."""
    gw.script.status = 401
    gw.script.echo_auth = True
    outcome = await send(config(gw))
    assert outcome.kind is OutcomeKind.PERMANENT
    # The echo did arrive ("credentials <login>:<password> refused"), the pair masked whole.
    assert outcome.reason == "HTTP 401: credentials ******** refused"
    assert_no_password(outcome.reason)


# --- the password never shows, in any form (SPEC P7) ----------------------------------------------

#: A password whose every encoding differs: quote() keeps "/", quote(safe="") does not,
#: quote_plus() turns the space into "+", and the Basic token of LOGIN:TRICKY has "+", "/" and
#: "=" padding, so the standard and URL-safe alphabets differ too.
TRICKY = "p/w +ä!%Zq8-NEVER~SHOWN?&="


def basic_tokens(login: str, password: str) -> list[str]:
    """The Basic credentials of ``login:password``: standard and URL-safe base64, with and
    without their padding."""
    raw = f"{login}:{password}".encode()
    tokens = [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    return tokens + [t.rstrip("=") for t in tokens]


def credential_forms(login: str, password: str) -> set[str]:
    """Every form of the credential that must never show: the password, the pair, the Basic
    tokens, each of them URL-encoded three ways, and JSON-escaped."""
    plain = [password, f"{login}:{password}", *basic_tokens(login, password)]
    forms = set(plain)
    for value in plain:
        forms |= {quote(value, safe=""), quote(value), quote_plus(value)}
        forms.add(json.dumps(value)[1:-1])  # "\u00e4" for "ä"
    return forms


def credential_leaks(text: str, login: str, password: str) -> list[str]:
    """The forms of the credential found in ``text`` (compared without case: %2f is %2F), the
    start of a Basic token long enough to carry part of the password (a token cut at the
    reason's length), the start of the password, and a URL's userinfo ("login:")."""
    folded = text.casefold()
    found = [form for form in credential_forms(login, password) if form.casefold() in folded]
    found += [t[:16] for t in basic_tokens(login, password) if t[:16] in text]
    found += [password[:8]] if password[:8] in text else []
    found += [f"{login}:"] if f"{login}:" in text else []
    return found


def written_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What a log file would hold: bannertui's records at any level, and every library's at
    INFO and above (httpx and httpcore DEBUG traces quote raw protocol bytes; bannertui keeps
    those libraries at WARNING)."""
    return [
        f"{record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
        if record.name.startswith("bannertui") or record.levelno >= logging.INFO
    ]


def _auth_pair(auth: str) -> tuple[str, str, str]:
    """(token, login, password) of a Basic Authorization header."""
    token = auth.split(" ", 1)[1]
    login, _, password = base64.b64decode(token).decode().partition(":")
    return token, login, password


def _raw_pair(auth: str) -> bytes:
    return base64.b64decode(auth.split(" ", 1)[1])


def _lower_percent(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), text)


def _json(status: int, error: str) -> Callable[[str], Response]:
    return lambda auth: JSONResponse({"error": error.format(*_auth_pair(auth), auth=auth)}, status)


def _text(status: int, text: Callable[[str, str, str, str], str]) -> Callable[[str], Response]:
    return lambda auth: Response(
        text(auth, *_auth_pair(auth)), status_code=status, media_type="text/plain"
    )


#: Providers echoing the credentials they received, each in its own way.
ECHOES: dict[str, Callable[[str], Response]] = {
    "json-authorization-header": _json(401, "refused Authorization: {auth}"),
    "json-token-urlsafe-unpadded": lambda auth: JSONResponse(
        {"error": "unknown token " + base64.urlsafe_b64encode(_raw_pair(auth)).decode()[:-2]},
        401,
    ),
    "json-pair": _json(403, "credentials {1}:{2} refused"),
    "json-url-userinfo": lambda auth: JSONResponse(
        {
            "message": "no route to https://{}:{}@sms.example.com/v1/sms".format(
                quote(_auth_pair(auth)[1], safe=""), quote(_auth_pair(auth)[2], safe="")
            )
        },
        400,
    ),
    "json-5xx-header": _json(503, "upstream said 401 to {auth}"),
    "text-authorization-header": _text(
        401, lambda auth, *_: f"401 Unauthorized\r\nAuthorization: {auth}\r\n"
    ),
    "text-token-unpadded": _text(401, lambda auth, token, *_: f"bad token {token.rstrip('=')}"),
    "text-urlencoded-header": _text(
        400, lambda auth, *_: f"method=POST&authorization={quote_plus(auth)}"
    ),
    "text-urlencoded-token-lowercase": _text(
        400, lambda auth, token, *_: f"auth={_lower_percent(quote(token, safe=''))}"
    ),
    "text-quote": _text(
        400,
        lambda auth, token, login, pw: (
            f"login={quote(login, safe='')}&password={quote(pw, safe='')}"
        ),
    ),
    "text-quote-default-safe": _text(400, lambda auth, token, login, pw: f"password={quote(pw)}"),
    "text-quote-plus": _text(
        400, lambda auth, token, login, pw: f"login={login}&password={quote_plus(pw)}"
    ),
    "text-raw-userinfo": _text(
        400, lambda auth, token, login, pw: f"POST https://{login}:{pw}@sms.example.com failed"
    ),
    "text-json-escaped": _text(
        400, lambda auth, token, login, pw: "upstream: " + json.dumps({"auth": f"{login}:{pw}"})
    ),
    # The reason's 300 characters end in the middle of the token: masked before the cut.
    "text-token-at-the-cut": _text(400, lambda auth, *_: "x" * 250 + " " + auth),
    # Whitespace collapsed: the token lands within the first 300 characters.
    "text-after-whitespace": _text(400, lambda auth, *_: " \n" * 3000 + auth),
}


@pytest.mark.parametrize("password", [PASSWORD, TRICKY], ids=["plain", "tricky"])
@pytest.mark.parametrize("echo", list(ECHOES))
@MODULE_LOOP
async def test_echoed_credentials_never_show(
    gw: Gateway, caplog: pytest.LogCaptureFixture, echo: str, password: str
) -> None:
    """Whatever form the echoed credential takes, it is masked in the failure reason (stored,
    shown to agents), in the connection report and in every log record."""
    gw.script.echo = ECHOES[echo]
    cfg = config(gw, password=password)
    with caplog.at_level(logging.DEBUG):
        outcome = await send(cfg)
        report = await probe(cfg)
    [first, second] = gw.script.received
    assert (
        first.authorization == second.authorization == f"Basic {basic_tokens(LOGIN, password)[0]}"
    )
    assert not outcome.accepted
    assert outcome.reason.startswith(f"HTTP {outcome.status_code}: ")
    assert "********" in outcome.reason  # the echo did arrive, and was masked
    logged = written_logs(caplog)
    for text in [outcome.reason, repr(outcome), report.message, repr(report), *logged]:
        assert credential_leaks(text, LOGIN, password) == [], text
    adapter = [r.getMessage() for r in caplog.records if r.name == "bannertui.gateway.http"]
    assert any(outcome.reason in line for line in adapter), adapter  # logged, masked


async def _echo_raw_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A TLS peer that is no HTTP server: it answers the request's header lines, last first
    (the Authorization line comes where the status line should be)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")[:-2]
        lines.sort(key=lambda line: not line.lower().startswith(b"authorization:"))
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        await writer.drain()
    finally:
        writer.close()


@pytest.mark.parametrize("password", [PASSWORD, TRICKY], ids=["plain", "tricky"])
@MODULE_LOOP
async def test_an_exception_quoting_the_request_never_shows_it(
    tls: TlsFiles, caplog: pytest.LogCaptureFixture, password: str
) -> None:
    """httpx's protocol errors quote what the peer sent: here, our own request with its
    Authorization header.  Neither the reason, the report nor the log shows it."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert, tls.key)
    server = await asyncio.start_server(_echo_raw_request, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    cfg = ProviderConfig(
        url=f"https://127.0.0.1:{port}{PATH}",
        login=LOGIN,
        password=password,
        ca_file=tls.ca,
        timeout=5.0,
    )
    try:
        with caplog.at_level(logging.DEBUG):
            outcome = await send(cfg)
            report = await probe(cfg)
    finally:
        server.close()
        await server.wait_closed()
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert report.result is ConnectionCheck.UNREACHABLE
    logged = written_logs(caplog)
    for text in [outcome.reason, report.message, *logged]:
        assert credential_leaks(text, LOGIN, password) == [], text
    adapter = [r.getMessage() for r in caplog.records if r.name == "bannertui.gateway.http"]
    assert any("RemoteProtocolError" in line for line in adapter), adapter


# --- test_connection ------------------------------------------------------------------------------


@MODULE_LOOP
async def test_connection_reachable_on_400_to_the_empty_probe(gw: Gateway) -> None:
    gw.script.status = 400
    gw.script.body = {"error": "type: missing field", "field": "type"}
    report = await probe(config(gw))
    assert report.result is ConnectionCheck.REACHABLE
    assert report.ok
    assert report.message == (
        "The provider is reachable and accepted the credentials "
        "(HTTP 400 to an empty test request)."
    )
    assert gw.script.json_bodies() == [{}]  # nothing that could be sent as an SMS


@MODULE_LOOP
async def test_connection_reachable_without_login(gw: Gateway) -> None:
    gw.script.status = 400
    report = await probe(config(gw, login=None, password=None))
    assert report == ConnectionReport(
        ConnectionCheck.REACHABLE,
        "The provider is reachable (HTTP 400 to an empty test request).",
    )


@pytest.mark.parametrize("status", [401, 403])
@MODULE_LOOP
async def test_connection_auth_refused(gw: Gateway, status: int) -> None:
    gw.script.status = status
    gw.script.body = {"error": "authentication refused"}
    report = await probe(config(gw))
    assert report.result is ConnectionCheck.AUTH_REFUSED
    assert not report.ok
    assert f"HTTP {status}" in report.message


@pytest.mark.parametrize("status", [404, 405])
@MODULE_LOOP
async def test_connection_wrong_path(gw: Gateway, status: int) -> None:
    gw.script.status = status
    report = await probe(config(gw))
    assert report.result is ConnectionCheck.REACHABLE
    assert "check the path" in report.message
    assert f"HTTP {status}" in report.message


@MODULE_LOOP
async def test_connection_timeout(gw: Gateway) -> None:
    gw.script.delay = 10.0
    report = await probe(config(gw, timeout=0.3))
    assert report.result is ConnectionCheck.TIMEOUT
    assert report.message == "No answer from the provider within 0.3 s."


@MODULE_LOOP
async def test_connection_tls_failure(gw: Gateway) -> None:
    report = await probe(config(gw, ca_file=None))
    assert report.result is ConnectionCheck.TLS_FAILURE
    assert "CA file" in report.message


@MODULE_LOOP
async def test_connection_unreachable() -> None:
    cfg = ProviderConfig(url=f"https://127.0.0.1:{closed_port()}{PATH}", timeout=3.0)
    report = await probe(cfg)
    assert report == ConnectionReport(
        ConnectionCheck.UNREACHABLE, "The provider could not be reached (ConnectError)."
    )


@pytest.mark.parametrize(
    "result",
    ["reachable", "tls failure", "authentication refused", "timeout", "unreachable"],
)
def test_connection_check_values(result: str) -> None:
    assert ConnectionCheck(result).value == result


# --- against the real simulator -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "password", "expected"),
    [
        (LOGIN, PASSWORD, ConnectionCheck.REACHABLE),
        (LOGIN, "wrong-password", ConnectionCheck.AUTH_REFUSED),
        ("someone-else", PASSWORD, ConnectionCheck.AUTH_REFUSED),
        (None, None, ConnectionCheck.AUTH_REFUSED),
    ],
    ids=["right", "wrong-password", "wrong-login", "no-credentials"],
)
@MODULE_LOOP
async def test_simulator_credentials(
    tls: TlsFiles, login: str | None, password: str | None, expected: ConnectionCheck
) -> None:
    async with Simulator(SimulatorConfig(login=LOGIN, password=PASSWORD), tls) as sim:
        cfg = ProviderConfig(url=sim.url, login=login, password=password, ca_file=tls.ca)
        report = await probe(cfg)
        assert report.result is expected, report
        assert_no_password(report.message)
        assert sim.accepted == {}  # the probe is never an SMS


@MODULE_LOOP
async def test_simulator_non_ascii_password(tls: TlsFiles) -> None:
    secret = "pässwörd-ç€"
    async with Simulator(SimulatorConfig(login=LOGIN, password=secret), tls) as sim:
        cfg = ProviderConfig(url=sim.url, login=LOGIN, password=secret, ca_file=tls.ca)
        assert (await probe(cfg)).result is ConnectionCheck.REACHABLE


@MODULE_LOOP
async def test_simulator_accepts_the_posted_payload(tls: TlsFiles) -> None:
    async with Simulator(SimulatorConfig(login=LOGIN, password=PASSWORD), tls) as sim:
        cfg = ProviderConfig(url=sim.url, login=LOGIN, password=PASSWORD, ca_file=tls.ca)
        bodies = [payload(), payload(ret_id="r2", sender=None), payload(ret_id="r3", text="ça")]
        bodies[2] = payload(ret_id="r3", text="ça", is_unicode=True)
        provider = HttpProvider(cfg)
        try:
            outcomes = [await provider.send(body) for body in bodies]
            again = await provider.send(bodies[0])  # same retId: accepted, not recorded twice
        finally:
            await provider.aclose()
        assert all(o.kind is OutcomeKind.ACCEPTED for o in [*outcomes, again]), outcomes
        assert [sim.accepted[b.ret_id] for b in bodies] == [b.as_json() for b in bodies]
        assert sim.duplicates == 1


@MODULE_LOOP
async def test_simulator_wrong_password_is_permanent_401(tls: TlsFiles) -> None:
    async with Simulator(SimulatorConfig(login=LOGIN, password=PASSWORD), tls) as sim:
        cfg = ProviderConfig(url=sim.url, login=LOGIN, password="nope", ca_file=tls.ca)
        outcome = await send(cfg)
        assert outcome == SendOutcome(
            OutcomeKind.PERMANENT, "HTTP 401: authentication refused", status_code=401
        )
        assert sim.unauthorized == 1


@MODULE_LOOP
async def test_simulator_rejection_names_the_field(tls: TlsFiles) -> None:
    async with Simulator(SimulatorConfig(), tls) as sim:
        cfg = ProviderConfig(url=sim.url, ca_file=tls.ca)
        outcome = await send(cfg, payload(credits=2))
        assert outcome.kind is OutcomeKind.PERMANENT
        assert outcome.reason == "HTTP 400: credits: the text costs 1, not 2"
