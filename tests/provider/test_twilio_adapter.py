"""The Twilio adapter (TwilioProvider) against the Twilio simulator over real loopback HTTPS;
httpx.MockTransport only for answers the simulator never gives (a 2xx without a sid, a
provider echoing the credentials, a foreign next_page_uri).

The status callbacks reach a small Starlette receiver that validates each with the official
``RequestValidator``.  Fixtures live here (tests/provider/ has no shared conftest).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bannertui.domain.errors import BannerError, InvalidProviderLogin
from bannertui.domain.masking import MASK
from bannertui.domain.sms import measure
from bannertui.gateway.twilio import MAX_REASON, NO_SENDER, TwilioProvider
from bannertui.services.gateway import (
    ConnectionCheck,
    OutcomeKind,
    SendOutcome,
    SendPayload,
    TwilioConfig,
)
from bannertui.simulator.provider import make_tls
from bannertui.simulator.twilio import DEMO_ACCOUNT_SID, TwilioSimConfig, TwilioSimulator
from bannertui.web.serving import LoopbackServer, TlsFiles

SID = DEMO_ACCOUNT_SID
#: Distinctive enough that finding it anywhere is a leak.
TOKEN = "tw-NEVER-SHOWN-token-7f3c9a1b2c3d"
KEY_SID = "SK" + "ab" * 16
KEY_SECRET = "tw-NEVER-SHOWN-key-5e6f7a8b"
SERVICE = "MG" + "cd" * 16
NUMBER = "+15005550006"
MOBILE = "+33612345678"
WAIT_S = 30.0


def payload(**changes: Any) -> SendPayload:
    text = changes.pop("text", "Hello")
    size = measure(text)
    fields: dict[str, Any] = {
        "type": "NOTIFICATION",
        "sender": NUMBER,
        "to": MOBILE,
        "ret_id": "0123456789abcdef0123456789abcdef",
        "is_unicode": size.unicode,
        "text": text,
        "credits": size.credits,
    }
    fields.update(changes)
    return SendPayload(**fields)


async def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {WAIT_S:g} s")
        await asyncio.sleep(0.01)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("twilio-adapter-certs"))


@dataclass
class Hit:
    path: str
    url: str
    params: dict[str, str]
    signature: str
    valid: bool


@dataclass
class Receiver:
    """Our side of the callbacks: validates each with RequestValidator(TOKEN)."""

    base_url: str = ""
    hits: list[Hit] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        url = str(request.url)
        signature = request.headers.get("x-twilio-signature", "")
        valid = RequestValidator(TOKEN).validate(url, params, signature)
        self.hits.append(Hit(request.url.path, url, params, signature, valid))
        return Response(status_code=200 if valid else 403)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = Starlette(routes=[Route("/twilio/{connector}/{kind}", hook.handle, methods=["POST"])])
    async with LoopbackServer(app) as server:
        hook.base_url = server.base_url
        yield hook


StartSim = Callable[..., Awaitable[TwilioSimulator]]


@pytest.fixture
async def start(tls: TlsFiles) -> AsyncIterator[StartSim]:
    started: list[TwilioSimulator] = []

    async def start(**config: Any) -> TwilioSimulator:
        values: dict[str, Any] = {"auth_token": TOKEN, "receipt_delay_s": 0.02}
        values.update(config)
        sim = TwilioSimulator(TwilioSimConfig(**values), tls)
        await sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.stop()


Open = Callable[..., TwilioProvider]


@pytest.fixture
async def adapter(tls: TlsFiles) -> AsyncIterator[Open]:
    """Open TwilioProviders on a simulator (TwilioConfig keywords change the defaults)."""
    opened: list[TwilioProvider] = []

    def open_(sim: TwilioSimulator | None = None, **changes: Any) -> TwilioProvider:
        values: dict[str, Any] = {
            "account_sid": SID,
            "secret": TOKEN,
            "api_base": sim.base_url if sim else "https://127.0.0.1:1",
            "ca_file": tls.ca,
            "timeout": 5.0,
            "connect_timeout": 5.0,
        }
        values.update(changes)
        transport = values.pop("transport", None)
        provider = TwilioProvider(TwilioConfig(**values), transport=transport)
        opened.append(provider)
        return provider

    yield open_
    for provider in opened:
        await provider.aclose()


def mocked(open_: Open, handler: Callable[[httpx.Request], httpx.Response]) -> TwilioProvider:
    return open_(api_base="https://api.twilio.test", transport=httpx.MockTransport(handler))


def twilio_error(status: int, code: int | str, message: str, **headers: str) -> httpx.Response:
    body = {"code": code, "message": message, "more_info": "https://x", "status": status}
    return httpx.Response(status, json=body, headers=headers)


# --- sending ----------------------------------------------------------------------------------


async def test_send_is_accepted_with_the_message_sid(start: StartSim, adapter: Open) -> None:
    sim = await start()
    outcome = await adapter(sim).send(payload())

    assert outcome.kind is OutcomeKind.ACCEPTED
    assert outcome.status_code == 201
    [record] = sim.sent
    assert outcome.provider_id == record.sid
    assert record.sid.startswith("SM")
    assert (record.to, record.from_, record.body) == (MOBILE, NUMBER, "Hello")
    assert record.status_callback is None
    assert not outcome.uncertain


@pytest.mark.parametrize(
    "text",
    [pytest.param("x" * 161, id="gsm7-161"), pytest.param("ж" * 71, id="ucs2-71")],
)
async def test_num_segments_match_the_measured_credits(
    start: StartSim, adapter: Open, text: str
) -> None:
    sim = await start()
    outcome = await adapter(sim).send(payload(text=text))
    assert outcome.accepted
    assert sim.sent[0].num_segments == str(measure(text).credits) == "2"


async def test_messaging_service_is_used_without_a_sender(start: StartSim, adapter: Open) -> None:
    sim = await start(messaging_service_sid=SERVICE)
    outcome = await adapter(sim, messaging_service_sid=SERVICE).send(
        payload(type="MARKETING", sender=None)
    )
    assert outcome.accepted
    assert sim.sent[0].messaging_service_sid == SERVICE
    assert sim.sent[0].from_ == NUMBER


async def test_no_sender_and_no_service_sends_nothing(start: StartSim, adapter: Open) -> None:
    sim = await start()
    outcome = await adapter(sim).send(payload(type="MARKETING", sender=None))
    assert outcome == SendOutcome(OutcomeKind.PERMANENT, NO_SENDER)
    assert sim.requests == 0


async def test_status_callbacks_arrive_signed_with_the_ret_id(
    start: StartSim, adapter: Open, receiver: Receiver
) -> None:
    sim = await start()
    status_url = receiver.base_url + "/twilio/7/status"
    ret_id = "ret/42 é"  # quoted into the URL, and found back

    outcome = await adapter(sim, status_callback=status_url).send(payload(ret_id=ret_id))
    await wait_until(lambda: len(receiver.hits) == 2)

    assert sim.sent[0].status_callback == status_url + "?retId=ret%2F42%20%C3%A9"
    assert [hit.params["MessageStatus"] for hit in receiver.hits] == ["sent", "delivered"]
    for hit in receiver.hits:
        assert hit.valid
        assert hit.path == "/twilio/7/status"
        assert parse_qs(urlsplit(hit.url).query) == {"retId": [ret_id]}
        assert hit.params["MessageSid"] == outcome.provider_id
        assert hit.params["NumSegments"] == "1"
    forged = receiver.hits[0]
    assert not RequestValidator(TOKEN).validate(forged.url, forged.params, "Zm9yZ2Vk")


async def test_undelivered_callback_has_error_30003(
    start: StartSim, adapter: Open, receiver: Receiver
) -> None:
    sim = await start(delivery_fail_rate=1.0)
    status_url = receiver.base_url + "/twilio/7/status"
    await adapter(sim, status_callback=status_url).send(payload())
    await wait_until(lambda: len(receiver.hits) == 2)
    final = receiver.hits[-1].params
    assert receiver.hits[-1].valid
    assert (final["MessageStatus"], final["ErrorCode"]) == ("undelivered", "30003")


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        pytest.param({"to": "+3361234"}, 21211, id="invalid-to"),
        pytest.param({"sender": "+14155550100"}, 21606, id="from-not-owned"),
        pytest.param({"text": "x" * 1601}, 21617, id="body-too-long"),
    ],
)
async def test_twilio_refusals_are_permanent_with_their_code(
    start: StartSim, adapter: Open, changes: dict[str, Any], code: int
) -> None:
    sim = await start()
    outcome = await adapter(sim).send(payload(**changes))
    assert outcome.kind is OutcomeKind.PERMANENT
    assert outcome.status_code == 400
    assert outcome.reason.startswith(f"Twilio {code}: ")
    assert not outcome.uncertain


async def test_unsubscribed_recipient_is_permanent_21610(
    start: StartSim, adapter: Open, receiver: Receiver
) -> None:
    sim = await start(inbound_url=receiver.base_url + "/twilio/7/inbound")
    await sim.simulate_inbound("STOP", MOBILE, NUMBER)
    assert receiver.hits[0].params["OptOutType"] == "STOP"

    outcome = await adapter(sim).send(payload())

    assert outcome.kind is OutcomeKind.PERMANENT
    assert outcome.reason == "Twilio 21610: Attempt to send to unsubscribed recipient"


async def test_wrong_token_is_permanent_authentication_failed(
    start: StartSim, adapter: Open
) -> None:
    sim = await start()
    outcome = await adapter(sim, secret="not-the-token").send(payload())
    assert outcome.kind is OutcomeKind.PERMANENT
    assert outcome.status_code == 401
    assert outcome.reason == "authentication failed (Twilio 20003: Authenticate)"


# --- transient outcomes -----------------------------------------------------------------------


async def test_429_is_transient_with_retry_after(start: StartSim, adapter: Open) -> None:
    sim = await start(fail_rate=1.0, status=429)
    outcome = await adapter(sim).send(payload())
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.retry_after == 1.0
    assert outcome.reason.startswith("Twilio 20429")
    assert not outcome.uncertain


async def test_503_is_transient_and_uncertain(start: StartSim, adapter: Open) -> None:
    sim = await start(fail_rate=1.0)
    outcome = await adapter(sim).send(payload())
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.status_code == 503
    assert outcome.uncertain


async def test_timeout_is_transient_and_uncertain(start: StartSim, adapter: Open) -> None:
    sim = await start(timeout_rate=1.0, hang_s=10.0)
    outcome = await adapter(sim, timeout=0.3).send(payload())
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.uncertain
    assert outcome.reason.startswith("timeout")


async def test_connection_refused_is_transient_and_certain(adapter: Open) -> None:
    provider = adapter(api_base=f"https://127.0.0.1:{closed_port()}")
    outcome = await provider.send(payload())
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert not outcome.uncertain
    assert outcome.reason == "network error: ConnectError"


async def test_untrusted_certificate_is_a_tls_failure(start: StartSim, adapter: Open) -> None:
    sim = await start()
    provider = adapter(sim, ca_file=None)  # the system's authorities only
    outcome = await provider.send(payload())
    assert outcome == SendOutcome(OutcomeKind.TRANSIENT, "TLS verification failed")
    report = await provider.test_connection()
    assert report.result is ConnectionCheck.TLS_FAILURE
    assert sim.requests == 0


async def test_lost_response_is_uncertain_and_find_sent_finds_it(
    start: StartSim, adapter: Open
) -> None:
    sim = await start(lose_response_rate=1.0, hang_s=10.0)
    provider = adapter(sim, timeout=0.5)
    since = datetime.now(UTC)
    text = "Your code is 4242"

    outcome = await provider.send(payload(text=text))

    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.uncertain
    [record] = sim.sent
    assert await provider.find_sent(MOBILE, NUMBER, text, since) == record.sid
    assert await provider.find_sent(MOBILE, None, text, since) == record.sid
    assert await provider.find_sent(MOBILE, NUMBER, text + "!", since) is None
    assert await provider.find_sent("+33698765432", NUMBER, text, since) is None
    later = since + timedelta(minutes=1)
    assert await provider.find_sent(MOBILE, NUMBER, text, later) is None


async def test_find_sent_reads_further_pages(start: StartSim, adapter: Open) -> None:
    sim = await start()
    provider = adapter(sim)
    since = datetime.now(UTC) - timedelta(seconds=1)
    await provider.send(payload(text="the one"))
    for i in range(55):  # newer ones, pushing it to the second page of 50
        await provider.send(payload(text=f"other {i}"))
    assert await provider.find_sent(MOBILE, NUMBER, "the one", since) == sim.sent[0].sid


async def test_find_sent_returns_none_on_errors(start: StartSim, adapter: Open) -> None:
    sim = await start()
    since = datetime.now(UTC)
    assert await adapter(sim, secret="wrong").find_sent(MOBILE, NUMBER, "x", since) is None
    unreachable = adapter(api_base=f"https://127.0.0.1:{closed_port()}")
    assert await unreachable.find_sent(MOBILE, NUMBER, "x", since) is None


# --- answers the simulator never gives (MockTransport) -------------------------------------------


async def test_2xx_without_a_sid_is_transient_and_uncertain(adapter: Open) -> None:
    provider = mocked(adapter, lambda request: httpx.Response(201, json={"status": "queued"}))
    outcome = await provider.send(payload())
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.uncertain


@pytest.mark.parametrize(
    ("response", "kind", "uncertain"),
    [
        (twilio_error(408, 20408, "Request Timeout"), OutcomeKind.TRANSIENT, True),
        (twilio_error(400, 20429, "Too Many Requests"), OutcomeKind.TRANSIENT, False),
        (twilio_error(500, "20500", "Internal"), OutcomeKind.TRANSIENT, True),
        (twilio_error(403, 20003, "Permission Denied"), OutcomeKind.PERMANENT, False),
        (httpx.Response(400, text="<html>bad</html>"), OutcomeKind.PERMANENT, False),
    ],
)
async def test_statuses_and_codes_are_classified(
    adapter: Open, response: httpx.Response, kind: OutcomeKind, uncertain: bool
) -> None:
    provider = mocked(adapter, lambda request: response)
    outcome = await provider.send(payload())
    assert (outcome.kind, outcome.uncertain) == (kind, uncertain)
    assert outcome.reason
    assert "\n" not in outcome.reason


@pytest.mark.parametrize(
    ("error", "uncertain"),
    [
        (httpx.ConnectError, False),
        (httpx.ConnectTimeout, False),
        (httpx.PoolTimeout, False),
        (httpx.ReadTimeout, True),
        (httpx.WriteTimeout, True),
        (httpx.ReadError, True),
        (httpx.RemoteProtocolError, True),
    ],
)
async def test_network_errors_are_uncertain_once_the_request_may_be_out(
    adapter: Open, error: type[httpx.TransportError], uncertain: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error(f"failed with {TOKEN}", request=request)

    outcome = await mocked(adapter, handler).send(payload())
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.uncertain is uncertain
    assert TOKEN not in outcome.reason


async def test_the_form_posted(adapter: Open) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM" + "0" * 32})

    provider = adapter(
        api_base="https://api.twilio.test/",
        transport=httpx.MockTransport(handler),
        status_callback="https://hooks.example/twilio/7/status",
    )
    await provider.send(payload(ret_id="r1"))
    [request] = seen
    assert request.url.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {
        "To": MOBILE,
        "Body": "Hello",
        "From": NUMBER,
        "StatusCallback": "https://hooks.example/twilio/7/status?retId=r1",
    }
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"


async def test_a_foreign_next_page_uri_is_not_followed(adapter: Open) -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        page = {
            "incoming_phone_numbers": [{"phone_number": "+14155550100"}],
            "next_page_uri": "https://evil.example/steal",
        }
        return httpx.Response(200, json=page)

    assert await mocked(adapter, handler).list_numbers() == ["+14155550100"]
    assert hosts == ["api.twilio.test"]


# --- the connection test ------------------------------------------------------------------------


async def test_connection_with_good_credentials_is_reachable(
    start: StartSim, adapter: Open
) -> None:
    sim = await start()
    report = await adapter(sim).test_connection()
    assert report.result is ConnectionCheck.REACHABLE
    assert report.message == "Twilio accepted the credentials (account bannertui simulator)."
    assert sim.requests == 0  # nothing sent


async def test_connection_with_a_wrong_token_is_refused(start: StartSim, adapter: Open) -> None:
    sim = await start()
    report = await adapter(sim, secret="wrong-token").test_connection()
    assert report.result is ConnectionCheck.AUTH_REFUSED
    assert report.message.startswith("authentication failed")
    assert "HTTP 401" in report.message


async def test_api_key_authentication_works(start: StartSim, adapter: Open) -> None:
    sim = await start(api_key_sid=KEY_SID, api_key_secret=KEY_SECRET)
    provider = adapter(sim, api_key_sid=KEY_SID, secret=KEY_SECRET)
    assert (await provider.test_connection()).ok
    assert (await provider.send(payload())).accepted
    wrong = await adapter(sim, api_key_sid=KEY_SID, secret=TOKEN).test_connection()
    assert wrong.result is ConnectionCheck.AUTH_REFUSED
    assert "API key" in wrong.message


async def test_another_account_is_refused(start: StartSim, adapter: Open) -> None:
    sim = await start(api_key_sid=KEY_SID, api_key_secret=KEY_SECRET)
    other = "AC" + "99" * 16
    report = await adapter(
        sim, account_sid=other, api_key_sid=KEY_SID, secret=KEY_SECRET
    ).test_connection()
    assert report.result is ConnectionCheck.AUTH_REFUSED
    assert report.message == f"authentication failed: no account {other}."


async def test_connection_to_nothing_is_unreachable(adapter: Open) -> None:
    report = await adapter(api_base=f"https://127.0.0.1:{closed_port()}").test_connection()
    assert report.result is ConnectionCheck.UNREACHABLE


# --- numbers ------------------------------------------------------------------------------------


async def test_list_numbers_follows_every_page(start: StartSim, adapter: Open) -> None:
    numbers = [f"+1415555{i:04d}" for i in range(2500)]
    sim = await start(numbers=numbers)
    provider = adapter(sim)
    requested: list[httpx.Request] = []

    async def count(request: httpx.Request) -> None:
        requested.append(request)

    provider.client.event_hooks["request"].append(count)

    assert await provider.list_numbers() == numbers
    assert len(requested) == 3
    assert [r.url.params.get("Page") for r in requested] == [None, "1", "2"]
    assert {r.url.params["PageSize"] for r in requested} == {"1000"}


async def test_list_numbers_raises_one_line_errors(start: StartSim, adapter: Open) -> None:
    sim = await start()
    with pytest.raises(InvalidProviderLogin) as refused:
        await adapter(sim, secret="wrong").list_numbers()
    assert "HTTP 401" in str(refused.value)
    with pytest.raises(BannerError) as unreachable:
        await adapter(api_base=f"https://127.0.0.1:{closed_port()}").list_numbers()
    assert "could not be reached" in str(unreachable.value)
    for exc in (refused.value, unreachable.value):
        assert "\n" not in str(exc)
        assert "wrong" not in str(exc)


# --- the secret never shows ---------------------------------------------------------------------


async def test_the_secret_never_appears_in_reasons_or_logs(
    start: StartSim, adapter: Open, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()

    def echo(request: httpx.Request) -> httpx.Response:
        message = f"refused {SID}:{TOKEN} (Authorization: {request.headers['authorization']})"
        if request.method == "GET":
            return twilio_error(401, 20003, message)
        return twilio_error(400, 21211, message + " " + TOKEN * 10)

    texts: list[str] = []
    echoing = mocked(adapter, echo)
    outcome = await echoing.send(payload())
    texts.append(outcome.reason)
    assert MASK in outcome.reason
    assert len(outcome.reason) <= MAX_REASON
    texts.append((await echoing.test_connection()).message)

    sim = await start(fail_rate=0.5, seed=3)
    provider = adapter(sim)
    for i in range(6):
        texts.append((await provider.send(payload(ret_id=f"r{i}"))).reason)
    wrong = adapter(sim, secret=TOKEN + "x")
    texts.append((await wrong.send(payload())).reason)
    texts.append((await wrong.test_connection()).message)
    texts.append(str(await wrong.find_sent(MOBILE, NUMBER, "x", datetime.now(UTC))))

    texts += [record.getMessage() for record in caplog.records]
    assert any(r.name == "bannertui.gateway.twilio" for r in caplog.records)
    for text in texts:
        assert TOKEN not in text
        assert token not in text
        assert token.rstrip("=") not in text
    assert json.dumps(texts).count(TOKEN) == 0
