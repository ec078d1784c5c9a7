"""The Twilio-compatible simulator over real loopback HTTPS: Twilio's shapes, error codes,
signed callbacks and inbound messages, opt-out keywords, faults.  No mocks.

The receiving side is a small Starlette app validating every post with the official
``RequestValidator``.  Fixtures live here (tests/provider/ has no shared conftest).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bannertui.domain.sms import measure
from bannertui.simulator.provider import make_tls
from bannertui.simulator.twilio import (
    DEMO_ACCOUNT_SID,
    TwilioSimConfig,
    TwilioSimulator,
    WebhookError,
    run_twilio_simulator,
)
from bannertui.web.serving import LoopbackServer, TlsFiles

SID = DEMO_ACCOUNT_SID
TOKEN = "sim-token-0f3c9a1b2c3d4e5f6a7b8c9d"
KEY_SID = "SK" + "ab" * 16
KEY_SECRET = "key-secret-9d8c7b6a"
SERVICE = "MG" + "cd" * 16
NUMBER = "+15005550006"
MOBILE = "+33612345678"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
#: Bounds a wait for something asynchronous; only a failing test waits that long.
WAIT_S = 30.0


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
    return make_tls(tmp_path_factory.mktemp("twilio-sim-certs"))


@dataclass
class Hit:
    path: str
    url: str
    params: dict[str, str]
    signature: str
    token: str
    valid: bool


@dataclass
class Receiver:
    """Our side: validates each post with RequestValidator(TOKEN) and records it."""

    base_url: str = ""
    hits: list[Hit] = field(default_factory=list)

    def at(self, kind: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path.endswith("/" + kind)]

    async def handle(self, request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        url = str(request.url)
        signature = request.headers.get("x-twilio-signature", "")
        valid = RequestValidator(TOKEN).validate(url, params, signature)
        token = request.headers.get("i-twilio-idempotency-token", "")
        self.hits.append(Hit(request.url.path, url, params, signature, token, valid))
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
    """Start simulators with TwilioSimConfig keywords (auth token TOKEN); stopped after."""
    started: list[TwilioSimulator] = []

    async def start(**config: Any) -> TwilioSimulator:
        sim = TwilioSimulator(TwilioSimConfig(**{"auth_token": TOKEN, **config}), tls)
        await sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.stop()


@pytest.fixture
async def client(tls: TlsFiles) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        verify=tls.client_context(), auth=(SID, TOKEN), timeout=WAIT_S
    ) as client:
        yield client


def form(**changes: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {"To": MOBILE, "From": NUMBER, "Body": "Hello"}
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


# --- sending ----------------------------------------------------------------------------------


async def test_send_answers_the_message_resource_and_records_it(
    start: StartSim, client: httpx.AsyncClient
) -> None:
    sim = await start()
    before = datetime.now(UTC).replace(microsecond=0)

    response = await client.post(sim.base_url + MESSAGES, data=form())

    assert response.status_code == 201, response.text
    message = response.json()
    sid = message["sid"]
    assert sid.startswith("SM")
    assert len(sid) == 34
    assert int(sid[2:], 16) >= 0
    assert {
        key: message[key]
        for key in (
            "account_sid",
            "to",
            "from",
            "body",
            "status",
            "num_segments",
            "direction",
            "date_sent",
            "error_code",
            "error_message",
            "messaging_service_sid",
            "uri",
        )
    } == {
        "account_sid": SID,
        "to": MOBILE,
        "from": NUMBER,
        "body": "Hello",
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "date_sent": None,
        "error_code": None,
        "error_message": None,
        "messaging_service_sid": None,
        "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json",
    }
    assert message["date_created"].endswith(" +0000")
    assert parsedate_to_datetime(message["date_created"]) >= before
    [record] = sim.sent
    assert (record.sid, record.to, record.from_, record.body) == (sid, MOBILE, NUMBER, "Hello")
    assert record.status_callback is None


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        pytest.param("x" * 160, "1", id="gsm7-160"),
        pytest.param("x" * 161, "2", id="gsm7-161"),
        pytest.param("ж" * 70, "1", id="ucs2-70"),
        pytest.param("ж" * 71, "2", id="ucs2-71"),
        pytest.param("x" * 1600, str(measure("x" * 1600).credits), id="gsm7-1600"),
    ],
)
async def test_num_segments_is_the_measured_credits(
    start: StartSim, client: httpx.AsyncClient, text: str, segments: str
) -> None:
    sim = await start()
    response = await client.post(sim.base_url + MESSAGES, data=form(Body=text))
    assert response.status_code == 201
    assert response.json()["num_segments"] == segments == str(measure(text).credits)
    assert sim.sent[0].num_segments == segments


INVALID = [
    ("no-to", form(To=None), 21604),
    ("short-to", form(To="+3361234"), 21211),
    ("national-to", form(To="0612345678"), 21211),
    ("landline-to", form(To="+33142345678"), 21211),
    ("no-from", form(From=None), 21603),
    ("from-not-owned", form(From="+14155550100"), 21606),
    ("unknown-service", form(From=None, MessagingServiceSid="MG" + "00" * 16), 21701),
    ("no-body", form(Body=None), 21602),
    ("empty-body", form(Body=""), 21602),
    ("body-over-1600", form(Body="x" * 1601), 21617),
    ("bad-callback", form(StatusCallback="ftp://example.com/x"), 21609),
]


@pytest.mark.parametrize(("data", "code"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
async def test_invalid_send_is_refused_with_twilios_code(
    start: StartSim, client: httpx.AsyncClient, data: dict[str, str], code: int
) -> None:
    sim = await start()
    response = await client.post(sim.base_url + MESSAGES, data=data)
    assert response.status_code == 400
    body = response.json()
    assert body == {
        "code": code,
        "message": body["message"],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": 400,
    }
    assert body["message"]
    assert sim.sent == []
    assert sim.rejected == 1


async def test_authentication_and_account(
    start: StartSim, client: httpx.AsyncClient, tls: TlsFiles
) -> None:
    sim = await start(api_key_sid=KEY_SID, api_key_secret=KEY_SECRET)
    url = sim.base_url + MESSAGES
    async with httpx.AsyncClient(verify=tls.client_context(), timeout=WAIT_S) as anonymous:
        refused = [
            await anonymous.post(url, data=form()),
            await anonymous.post(url, data=form(), auth=(SID, "wrong")),
            await anonymous.post(url, data=form(), auth=(KEY_SID, TOKEN)),
            await anonymous.get(sim.base_url + f"/2010-04-01/Accounts/{SID}.json"),
            await anonymous.get(sim.base_url + "/v1/stats"),
        ]
        with_key = await anonymous.post(url, data=form(), auth=(KEY_SID, KEY_SECRET))
    for response in refused:
        assert response.status_code == 401
        assert response.json() == {
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
        }
    assert with_key.status_code == 201
    assert sim.unauthorized == len(refused)

    other = "AC" + "99" * 16
    missing = await client.post(sim.base_url + f"/2010-04-01/Accounts/{other}/Messages.json")
    assert missing.status_code == 404
    assert missing.json()["code"] == 20404
    account = await client.get(sim.base_url + f"/2010-04-01/Accounts/{SID}.json")
    assert account.status_code == 200
    assert {k: account.json()[k] for k in ("sid", "friendly_name", "status")} == {
        "sid": SID,
        "friendly_name": "bannertui simulator",
        "status": "active",
    }


async def test_messaging_service_sends_from_the_first_number(
    start: StartSim, client: httpx.AsyncClient
) -> None:
    sim = await start(numbers=["+14155550100", NUMBER], messaging_service_sid=SERVICE)
    response = await client.post(
        sim.base_url + MESSAGES, data=form(From=None, MessagingServiceSid=SERVICE)
    )
    assert response.status_code == 201
    assert response.json()["from"] == "+14155550100"
    assert response.json()["messaging_service_sid"] == SERVICE


# --- status callbacks ---------------------------------------------------------------------------


async def test_status_callbacks_are_signed_sent_then_delivered(
    start: StartSim, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    sim = await start(receipt_delay_s=0.05)
    callback = receiver.base_url + "/twilio/3/status?retId=ret-42"
    response = await client.post(sim.base_url + MESSAGES, data=form(StatusCallback=callback))
    sid = response.json()["sid"]
    await wait_until(lambda: len(receiver.hits) == 2)

    sent, delivered = receiver.hits
    assert [hit.params["MessageStatus"] for hit in receiver.hits] == ["sent", "delivered"]
    for hit in receiver.hits:
        assert hit.valid
        assert hit.url == callback
        assert hit.params["MessageSid"] == hit.params["SmsSid"] == sid
        assert hit.params["SmsStatus"] == hit.params["MessageStatus"]
        assert hit.params["AccountSid"] == SID
        assert (hit.params["From"], hit.params["To"]) == (NUMBER, MOBILE)
        assert hit.params["NumSegments"] == "1"
        assert hit.params["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in hit.params
    assert sent.token
    assert delivered.token
    assert sent.token != delivered.token
    await wait_until(lambda: sim.callbacks_sent == 2)
    assert sim.sent[0].status == "delivered"

    validator = RequestValidator(TOKEN)
    assert not validator.validate(sent.url, sent.params, "forged+signature=")
    assert not validator.validate(
        sent.url, {**sent.params, "MessageStatus": "failed"}, sent.signature
    )
    assert not validator.validate(sent.url.replace("ret-42", "ret-43"), sent.params, sent.signature)
    assert not RequestValidator("another-token").validate(sent.url, sent.params, sent.signature)


async def test_undelivered_callback_carries_error_30003(
    start: StartSim, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    sim = await start(receipt_delay_s=0.01, delivery_fail_rate=1.0, replies=["never"])
    callback = receiver.base_url + "/twilio/3/status?retId=r"
    response = await client.post(sim.base_url + MESSAGES, data=form(StatusCallback=callback))
    await wait_until(lambda: len(receiver.hits) == 2)

    final = receiver.hits[1]
    assert final.valid
    assert final.params["MessageStatus"] == "undelivered"
    assert final.params["ErrorCode"] == "30003"
    assert "NumSegments" not in final.params
    one = await client.get(sim.base_url + response.json()["uri"])
    assert (one.json()["status"], one.json()["error_code"]) == ("undelivered", 30003)
    assert receiver.at("inbound") == []  # no reply to an undelivered message


async def test_unreachable_callback_is_retried_then_counted(start: StartSim) -> None:
    sim = await start(
        inbound_url=f"http://127.0.0.1:{closed_port()}/twilio/3/inbound",
        webhook_attempts=2,
        webhook_backoff_s=0.01,
    )
    with pytest.raises(WebhookError):
        await sim.simulate_inbound("hello", MOBILE, NUMBER)
    assert sim.webhook_errors == 1
    assert sim.stats()["inbound_sent"] == 0


# --- mobile-originated messages and opt-outs ----------------------------------------------------


async def test_inbound_is_signed_and_shaped_like_twilios(
    start: StartSim, receiver: Receiver
) -> None:
    sim = await start(
        inbound_url=receiver.base_url + "/twilio/3/inbound", messaging_service_sid=SERVICE
    )
    sid = await sim.simulate_inbound("Bonjour ✓", MOBILE, NUMBER)

    [hit] = receiver.at("inbound")
    assert hit.valid
    assert hit.params == {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": SID,
        "MessagingServiceSid": SERVICE,
        "From": MOBILE,
        "To": NUMBER,
        "Body": "Bonjour ✓",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    assert sid.startswith("SM")
    assert sim.inbound_sent == 1


async def test_stop_opts_out_and_start_opts_back_in(
    start: StartSim, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    sim = await start(
        inbound_url=receiver.base_url + "/twilio/3/inbound",
        numbers=[NUMBER, "+14155550100"],
        messaging_service_sid=SERVICE,
    )
    url = sim.base_url + MESSAGES

    await sim.simulate_inbound("  stop ", MOBILE, NUMBER)
    refused = await client.post(url, data=form())
    other_number = await client.post(url, data=form(From="+14155550100"))
    service = await client.post(url, data=form(From=None, MessagingServiceSid=SERVICE))
    await sim.simulate_inbound("Start", MOBILE, NUMBER)
    again = await client.post(url, data=form())
    await sim.simulate_inbound("HELP", MOBILE, NUMBER)
    await sim.simulate_inbound("stop please", MOBILE, NUMBER)  # not a keyword

    assert refused.status_code == 400
    assert refused.json()["code"] == 21610
    assert refused.json()["message"] == "Attempt to send to unsubscribed recipient"
    assert other_number.status_code == 201  # the opt-out is per number
    assert service.status_code == 400  # the service covers the number it was sent to
    assert again.status_code == 201
    inbound = receiver.at("inbound")
    assert [hit.params.get("OptOutType") for hit in inbound] == ["STOP", "START", "HELP", None]
    assert all(hit.valid for hit in inbound)
    assert sim.stats()["optout_confirmations"] == 3
    assert sim.stats()["opted_out"] == 0


async def test_every_stop_keyword_opts_out(
    start: StartSim, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    sim = await start(inbound_url=receiver.base_url + "/twilio/3/inbound")
    words = ["STOP", "stopall", "Unsubscribe", "cancel", "END", "quit"]
    mobiles = [f"+3361234567{i}" for i in range(len(words))]
    for word, mobile in zip(words, mobiles, strict=True):
        await sim.simulate_inbound(word, mobile, NUMBER)
    assert [hit.params["OptOutType"] for hit in receiver.hits] == ["STOP"] * len(words)
    for mobile in mobiles:
        refused = await client.post(sim.base_url + MESSAGES, data=form(To=mobile))
        assert refused.json()["code"] == 21610
    assert sim.stats()["opted_out"] == len(words)


async def test_scripted_replies_come_from_the_recipient(
    start: StartSim, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    sim = await start(
        inbound_url=receiver.base_url + "/twilio/3/inbound",
        replies=["Yes please", "No thanks"],
        reply_delay_s=0.01,
        receipt_delay_s=0.01,
    )
    for _ in range(2):
        await client.post(sim.base_url + MESSAGES, data=form())
    await wait_until(lambda: len(receiver.at("inbound")) == 2)
    inbound = receiver.at("inbound")
    assert sorted(hit.params["Body"] for hit in inbound) == ["No thanks", "Yes please"]
    assert {(hit.params["From"], hit.params["To"]) for hit in inbound} == {(MOBILE, NUMBER)}


# --- faults -------------------------------------------------------------------------------------


async def test_injected_failure_has_twilios_shape(
    start: StartSim, client: httpx.AsyncClient
) -> None:
    sim = await start(fail_rate=1.0)
    response = await client.post(sim.base_url + MESSAGES, data=form())
    assert response.status_code == 503
    assert response.json()["code"] == 20503
    assert "retry-after" not in response.headers
    assert sim.sent == []


async def test_injected_429_carries_retry_after_and_20429(
    start: StartSim, client: httpx.AsyncClient
) -> None:
    sim = await start(fail_rate=1.0, status=429)
    response = await client.post(sim.base_url + MESSAGES, data=form())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == 20429
    assert sim.injected_failures == 1


async def test_injected_timeout_records_nothing(start: StartSim, tls: TlsFiles) -> None:
    sim = await start(timeout_rate=1.0, hang_s=5.0)
    timeout = httpx.Timeout(WAIT_S, read=0.3)
    async with httpx.AsyncClient(
        verify=tls.client_context(), auth=(SID, TOKEN), timeout=timeout
    ) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(sim.base_url + MESSAGES, data=form())
    await wait_until(lambda: sim.injected_timeouts == 1)
    assert sim.sent == []


async def test_lost_response_records_and_calls_back_but_never_answers(
    start: StartSim, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    sim = await start(lose_response_rate=1.0, hang_s=0.2, receipt_delay_s=0.01)
    callback = receiver.base_url + "/twilio/3/status?retId=lost"

    response = await client.post(sim.base_url + MESSAGES, data=form(StatusCallback=callback))

    assert response.status_code == 504
    assert "sid" not in response.json()
    [record] = sim.sent
    await wait_until(lambda: len(receiver.hits) == 2)
    assert {hit.params["MessageSid"] for hit in receiver.hits} == {record.sid}
    assert sim.stats()["lost_responses"] == 1


async def test_same_seed_same_faults(start: StartSim, client: httpx.AsyncClient) -> None:
    runs = []
    for _ in range(2):
        sim = await start(fail_rate=0.4, lose_response_rate=0.0, seed=11)
        codes = [
            (await client.post(sim.base_url + MESSAGES, data=form())).status_code for _ in range(15)
        ]
        runs.append(codes)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {201, 503}


# --- lists --------------------------------------------------------------------------------------


async def test_incoming_phone_numbers_are_paginated(
    start: StartSim, client: httpx.AsyncClient
) -> None:
    numbers = [f"+1415555{i:04d}" for i in range(2500)]
    sim = await start(numbers=numbers)
    url: str | None = f"/2010-04-01/Accounts/{SID}/IncomingPhoneNumbers.json?PageSize=1000"
    pages = []
    while url is not None:
        page = (await client.get(sim.base_url + url)).json()
        pages.append(page)
        url = page["next_page_uri"]

    assert [len(page["incoming_phone_numbers"]) for page in pages] == [1000, 1000, 500]
    assert [page["page"] for page in pages] == [0, 1, 2]
    assert {page["page_size"] for page in pages} == {1000}
    listed = [item["phone_number"] for page in pages for item in page["incoming_phone_numbers"]]
    assert listed == numbers
    first = pages[0]["incoming_phone_numbers"][0]
    assert first["sid"].startswith("PN")
    assert first["capabilities"]["sms"] is True
    assert pages[1]["next_page_uri"].startswith(f"/2010-04-01/Accounts/{SID}/IncomingPhone")


async def test_messages_list_filters_newest_first(
    start: StartSim, client: httpx.AsyncClient
) -> None:
    sim = await start(numbers=[NUMBER, "+14155550100"], receipt_delay_s=0.01)
    url = sim.base_url + MESSAGES
    sids = []
    for i, sender in enumerate([NUMBER, "+14155550100", NUMBER]):
        sids.append((await client.post(url, data=form(From=sender, Body=f"m{i}"))).json()["sid"])
    await wait_until(lambda: all(m.date_sent is not None for m in sim.sent))
    today = datetime.now(UTC).date()

    async def listed(**params: str) -> list[str]:
        page = (await client.get(url, params=params)).json()
        return [message["sid"] for message in page["messages"]]

    assert await listed() == sids[::-1]
    assert await listed(To=MOBILE, From=NUMBER) == [sids[2], sids[0]]
    assert await listed(**{"DateSent>": today.isoformat()}) == sids[::-1]
    assert await listed(**{"DateSent>=": today.isoformat()}) == sids[::-1]
    assert await listed(DateSent=today.isoformat()) == sids[::-1]
    assert await listed(**{"DateSent<": (today - timedelta(days=1)).isoformat()}) == []
    assert await listed(**{"DateSent>": (today + timedelta(days=1)).isoformat()}) == []
    # Twilio's own query string: "DateSent>=YYYY-MM-DD" is the parameter "DateSent>".
    raw = (await client.get(f"{url}?To={MOBILE.replace('+', '%2B')}&DateSent>={today}")).json()
    assert [m["sid"] for m in raw["messages"]] == sids[::-1]

    first = (await client.get(url, params={"PageSize": "2"})).json()
    assert [m["sid"] for m in first["messages"]] == [sids[2], sids[1]]
    rest = (await client.get(sim.base_url + first["next_page_uri"])).json()
    assert [m["sid"] for m in rest["messages"]] == [sids[0]]
    assert rest["next_page_uri"] is None


async def test_a_queued_message_has_no_date_sent_to_filter_on(
    start: StartSim, client: httpx.AsyncClient
) -> None:
    sim = await start(sent_delay_s=60.0)
    url = sim.base_url + MESSAGES
    await client.post(url, data=form())
    today = datetime.now(UTC).date().isoformat()
    assert sim.sent[0].status == "queued"
    assert (await client.get(url, params={"DateSent>": today})).json()["messages"] == []
    [queued] = (await client.get(url, params={"To": MOBILE})).json()["messages"]
    assert (queued["status"], queued["date_sent"]) == ("queued", None)


# --- control endpoints, configuration, entry point ---------------------------------------------


async def test_stats_and_sent_endpoints(start: StartSim, client: httpx.AsyncClient) -> None:
    sim = await start()
    for body in ("a", "b", "c"):
        await client.post(sim.base_url + MESSAGES, data=form(Body=body))
    await client.post(sim.base_url + MESSAGES, data=form(To="nope"))

    stats = (await client.get(sim.base_url + "/v1/stats")).json()
    assert (stats["requests"], stats["accepted"], stats["rejected"]) == (4, 3, 1)
    page = (await client.get(sim.base_url + "/v1/sent", params={"after": 1, "limit": 1})).json()
    assert (page["total"], page["next"]) == (3, 2)
    [item] = page["items"]
    assert (item["seq"], item["body"], item["to"], item["from"]) == (2, "b", MOBILE, NUMBER)
    assert item["sid"] == sim.sent[1].sid


@pytest.mark.parametrize(
    "changes",
    [
        {"fail_rate": 1.5},
        {"fail_rate": 0.5, "lose_response_rate": 0.6},
        {"status": 200},
        {"account_sid": "AC123"},
        {"auth_token": ""},
        {"api_key_sid": KEY_SID},  # without its secret
        {"api_key_sid": "AC" + "ab" * 16, "api_key_secret": "x"},
        {"numbers": []},
        {"numbers": ["0612345678"]},
        {"numbers": [NUMBER, NUMBER]},
        {"messaging_service_sid": "MG1"},
        {"inbound_url": "ftp://x"},
        {"webhook_concurrency": 0},
        {"replies": [""]},
    ],
)
def test_config_is_checked(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        TwilioSimConfig(**changes)


def test_config_repr_hides_the_secrets() -> None:
    shown = repr(TwilioSimConfig(auth_token=TOKEN, api_key_sid=KEY_SID, api_key_secret=KEY_SECRET))
    assert TOKEN not in shown
    assert KEY_SECRET not in shown


async def test_run_twilio_simulator_prints_one_line_and_stops_when_cancelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = asyncio.create_task(run_twilio_simulator(TwilioSimConfig(), tmp_path / "certs"))
    printed: list[str] = []

    def started() -> bool:
        printed.append(capsys.readouterr().out)
        return bool("".join(printed)) or task.done()

    await wait_until(started)
    [line] = "".join(printed).splitlines()
    url = line.split()[4]
    ca = tmp_path / "certs" / "ca.pem"
    assert line == f"Twilio simulator listening on {url} (account {SID}, CA: {ca})"
    assert TwilioSimConfig().auth_token not in line
    async with httpx.AsyncClient(verify=TlsFiles(ca, ca, ca).client_context()) as client:
        answer = await client.get(
            f"{url}/2010-04-01/Accounts/{SID}.json", auth=(SID, TwilioSimConfig().auth_token)
        )
    assert answer.status_code == 200
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
