"""The provider simulator over real loopback HTTPS (SPEC P6): no mocks.

Fixtures are prefixed ``sim_`` and live here (tests/provider/ has no shared conftest).
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bannertui.domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from bannertui.domain.sms import measure
from bannertui.services.gateway import SendPayload
from bannertui.simulator.provider import (
    DELIVERY_FAILURE_REASONS,
    LoopbackServer,
    Simulator,
    SimulatorConfig,
    TlsFiles,
    WebhookError,
    make_tls,
    run_simulator,
)

SECRET = b"test-webhook-secret"
SENDER = "+33757000001"
RECIPIENT = "+33612345678"
#: How long a test waits for something asynchronous (a drain, a file, a client's answer)
#: before it fails.  It only bounds a failing test: what takes 0.1 s idle can take seconds
#: on a loaded machine (other processes on every core).
WAIT_S = 30.0


def payload(text: str = "Hello", **changes: Any) -> dict[str, Any]:
    """A valid P2 body built by the real SendPayload, then changed."""
    size = measure(text)
    body = SendPayload(
        type="NOTIFICATION",
        sender=SENDER,
        to=RECIPIENT,
        ret_id="ret-1",
        is_unicode=size.unicode,
        text=text,
        credits=size.credits,
    ).as_json()
    body.update(changes)
    return body


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Poll ``predicate`` every 10 ms for up to WAIT_S (files, captured output, webhooks)."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {WAIT_S:g} s")
        await asyncio.sleep(0.01)


def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("sim-certs"))


StartSim = Callable[..., Awaitable[Simulator]]


@pytest.fixture
async def sim_start(sim_tls: TlsFiles) -> AsyncIterator[StartSim]:
    """Start simulators with SimulatorConfig keywords; all are stopped afterwards."""
    started: list[Simulator] = []

    async def start(**config: Any) -> Simulator:
        sim = Simulator(SimulatorConfig(**config), sim_tls)
        await sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.stop()


SharedSim = tuple[Simulator, httpx.AsyncClient]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sim_shared(sim_tls: TlsFiles) -> AsyncIterator[SharedSim]:
    """One default simulator and client for the table-driven payload tests (starting and
    stopping uvicorn costs ~0.2 s): tests using it must not depend on its counters' values."""
    async with (
        Simulator(SimulatorConfig(), sim_tls) as sim,
        httpx.AsyncClient(verify=sim_tls.client_context(), timeout=WAIT_S) as client,
    ):
        yield sim, client


@pytest.fixture
async def sim_client(sim_tls: TlsFiles) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=sim_tls.client_context(), timeout=WAIT_S) as client:
        yield client


@dataclass
class FakeWebhook:
    """The receiving side: verifies signatures with base.verify and records what arrives."""

    secret: bytes
    url: str = ""
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: int = 0
    delay: float = 0.0  # a slow receiver: each post takes this long
    in_flight: int = 0
    most_in_flight: int = 0

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.received if p == path]

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        if not (fresh and verify(self.secret, timestamp, raw, signature)):
            self.refused += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        self.received.append((request.url.path, json.loads(raw)))
        return JSONResponse({"ok": True})


@pytest.fixture
async def sim_webhook() -> AsyncIterator[FakeWebhook]:
    hook = FakeWebhook(SECRET)
    app = Starlette(
        routes=[
            Route("/v1/receipts", hook.handle, methods=["POST"]),
            Route("/v1/inbound", hook.handle, methods=["POST"]),
        ]
    )
    server = LoopbackServer(app)  # plain http on loopback, port 0
    await server.start()
    hook.url = server.base_url
    yield hook
    await server.stop()


# --- sending ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(payload(), id="gsm7-numeric-sender"),
        pytest.param(payload("Réponse ✓ " * 20, retId="u"), id="ucs2-3-credits"),
        pytest.param(payload(type="MARKETING", sender=None), id="marketing-no-sender"),
        pytest.param(payload(sender="BannerTUI"), id="alphanumeric-sender"),
        pytest.param(payload("x" * 1224), id="gsm7-8-credits"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_valid_payload_is_accepted_and_recorded(
    sim_shared: SharedSim, body: dict[str, Any]
) -> None:
    sim, client = sim_shared
    body = {**body, "retId": f"{body['retId']}-{len(sim.records)}"}  # new on the shared simulator
    assert sim.url == f"https://127.0.0.1:{sim.port}/v1/sms"

    response = await client.post(sim.url, json=body)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer == {"status": "accepted", "duplicate": False, "id": answer["id"]}
    assert answer["id"].startswith("sim-")
    assert sim.accepted[body["retId"]] == body
    assert sim.records[-1].id == answer["id"]
    assert sim.records[-1].payload == body


def _without(key: str) -> dict[str, Any]:
    body = payload()
    del body[key]
    return body


INVALID = [
    ("wrong-credits", payload(credits=2), "credits"),
    ("isUnicode-mismatch", payload(isUnicode=True), "isUnicode"),
    ("isUnicode-mismatch-ucs2", payload("Ça va ? 🙂", isUnicode=False), "isUnicode"),
    ("null-sender-needs-marketing", payload(sender=None), "type"),
    ("extra-key", {**payload(), "priority": "high"}, "priority"),
    ("missing-key", _without("retId"), "retId"),
    ("bool-as-credits", payload(credits=True), "credits"),
    ("float-credits", payload(credits=1.0), "credits"),
    ("invalid-e164", payload(to="+3361234"), "to"),
    ("national-format", payload(to="0612345678"), "to"),
    ("spaces-in-number", payload(to="+33 6 12 34 56 78"), "to"),
    ("landline", payload(to="+33142345678"), "to"),
    ("9-credits", payload("x" * 1300, credits=9), "credits"),
    ("unknown-type", payload(type="PROMO"), "type"),
    ("int-as-isUnicode", payload(isUnicode=0), "isUnicode"),
    ("empty-retId", payload(retId=""), "retId"),
    ("long-retId", payload(retId="r" * 65), "retId"),
    ("empty-text", payload(text="", credits=0), "text"),
    ("alphanumeric-sender-too-long", payload(sender="ABCDEFGHIJKL"), "sender"),
    ("numeric-sender-without-plus", payload(sender="33757000001"), "sender"),
    ("sender-not-a-string", payload(sender=33757000001), "sender"),
    ("not-an-object", [payload()], "body"),
]


@pytest.mark.parametrize(
    ("body", "field_name"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
@pytest.mark.asyncio(loop_scope="module")
async def test_invalid_field_is_refused_naming_it(
    sim_shared: SharedSim, body: Any, field_name: str
) -> None:
    sim, client = sim_shared
    accepted, rejected = len(sim.accepted), sim.rejected

    response = await client.post(sim.url, json=body)

    assert response.status_code == 400
    answer = response.json()
    assert answer["field"] == field_name
    assert answer["error"].startswith(f"{field_name}: ")
    assert len(sim.accepted) == accepted
    assert sim.rejected == rejected + 1


RAW_INVALID = [
    ("not-json", b"{not json", "body"),
    ("not-utf8", b'{"text": "\xff"}', "body"),
    ("nan", json.dumps(payload(credits=float("nan"))).encode(), "body"),
    ("duplicate-key", json.dumps(payload())[:-1].encode() + b', "credits": 1}', "credits"),
]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    ("raw", "field_name"), [c[1:] for c in RAW_INVALID], ids=[c[0] for c in RAW_INVALID]
)
async def test_malformed_body_is_refused(
    sim_shared: SharedSim, raw: bytes, field_name: str
) -> None:
    sim, client = sim_shared
    response = await client.post(sim.url, content=raw)
    assert response.status_code == 400
    assert response.json()["field"] == field_name


@pytest.mark.asyncio(loop_scope="module")
async def test_oversized_body_is_refused(sim_shared: SharedSim) -> None:
    sim, client = sim_shared
    response = await client.post(sim.url, content=b" " * (64 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["field"] == "body"


async def test_repeated_ret_id_is_recorded_once(
    sim_start: StartSim, sim_client: httpx.AsyncClient
) -> None:
    sim = await sim_start()
    first = await sim_client.post(sim.url, json=payload())
    again = await asyncio.gather(*(sim_client.post(sim.url, json=payload()) for _ in range(5)))

    assert first.json()["duplicate"] is False
    for response in again:
        assert response.status_code == 200
        assert response.json() == {
            "status": "accepted",
            "duplicate": True,
            "id": first.json()["id"],
        }
    assert list(sim.accepted) == ["ret-1"]
    assert len(sim.records) == 1
    assert sim.duplicates == 5


async def test_basic_auth_is_required_when_configured(
    sim_start: StartSim, sim_client: httpx.AsyncClient
) -> None:
    sim = await sim_start(login="agent", password="s3cret:with:colons")

    anonymous = await sim_client.post(sim.url, json=payload())
    wrong = await sim_client.post(sim.url, json=payload(), auth=("agent", "nope"))
    right = await sim_client.post(sim.url, json=payload(), auth=("agent", "s3cret:with:colons"))
    stats_anonymous = await sim_client.get(sim.base_url + "/v1/stats")

    for refused in (anonymous, wrong, stats_anonymous):
        assert refused.status_code == 401
        assert refused.json() == {"error": "authentication refused"}
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert right.status_code == 200
    assert list(sim.accepted) == ["ret-1"]
    assert sim.unauthorized == 3


async def test_auth_is_checked_before_validation(
    sim_start: StartSim, sim_client: httpx.AsyncClient
) -> None:
    """The HTTPS adapter's connection test posts {} and expects 401 for bad credentials."""
    sim = await sim_start(login="agent", password="pw")
    assert (await sim_client.post(sim.url, json={})).status_code == 401
    assert (await sim_client.post(sim.url, json={}, auth=("agent", "pw"))).status_code == 400


# --- fault injection --------------------------------------------------------------------------


async def test_injected_failure_records_nothing(
    sim_start: StartSim, sim_client: httpx.AsyncClient
) -> None:
    sim = await sim_start(fail_rate=1.0)  # status defaults to 503

    response = await sim_client.post(sim.url, json=payload())

    assert response.status_code == 503
    assert "retry-after" not in response.headers
    assert sim.accepted == {}
    assert sim.injected_failures == 1


async def test_injected_429_carries_retry_after(
    sim_start: StartSim, sim_client: httpx.AsyncClient
) -> None:
    sim = await sim_start(fail_rate=1.0, status=429)

    response = await sim_client.post(sim.url, json=payload())

    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert sim.accepted == {}


async def test_injected_timeout_hangs_past_the_client_timeout(
    sim_start: StartSim, sim_tls: TlsFiles
) -> None:
    sim = await sim_start(timeout_rate=1.0, hang_s=5.0)

    # The answer is what times out (connecting, TLS included, may take its time).
    timeout = httpx.Timeout(WAIT_S, read=0.5)
    async with httpx.AsyncClient(verify=sim_tls.client_context(), timeout=timeout) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(sim.url, json=payload())

    await wait_until(lambda: sim.injected_timeouts == 1)  # the server has it, hung
    assert sim.accepted == {}
    begin = time.monotonic()
    await sim.stop()  # wakes the hung request instead of waiting hang_s
    # ~0.2 s, idle or with every core busy (uvicorn's 0.1 s shutdown ticks, not CPU): a
    # request left hanging holds the stop for the server's 2 s graceful timeout instead, so
    # the bound cannot be raised, and is 10 times what it takes.
    assert time.monotonic() - begin < 2.0


async def test_latency_is_added(sim_start: StartSim, sim_client: httpx.AsyncClient) -> None:
    sim = await sim_start(latency_ms=300)
    begin = time.monotonic()
    response = await sim_client.post(sim.url, json=payload())
    assert response.status_code == 200
    assert time.monotonic() - begin >= 0.3


async def test_same_seed_same_faults(sim_start: StartSim, sim_client: httpx.AsyncClient) -> None:
    runs = []
    for _ in range(2):
        sim = await sim_start(fail_rate=0.5, seed=7)
        codes = [
            (await sim_client.post(sim.url, json=payload(retId=f"r{i}"))).status_code
            for i in range(20)
        ]
        runs.append(codes)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}


# --- webhooks ---------------------------------------------------------------------------------


async def test_receipt_is_posted_signed(
    sim_start: StartSim, sim_client: httpx.AsyncClient, sim_webhook: FakeWebhook
) -> None:
    sim = await sim_start(webhook_url=sim_webhook.url, webhook_secret=SECRET, receipt_delay_s=0.05)

    response = await sim_client.post(sim.url, json=payload(retId="r-42"))
    assert response.status_code == 200
    async with asyncio.timeout(WAIT_S):
        await sim.drain()  # every post answered: counters are final

    assert sim_webhook.bodies("/v1/receipts") == [
        {"retId": "r-42", "status": "delivered", "reason": None}
    ]
    assert sim_webhook.refused == 0
    assert sim.receipts_sent == 1
    assert sim_webhook.bodies("/v1/inbound") == []  # no replies scripted


async def test_failed_delivery_receipt_has_a_reason_and_no_reply(
    sim_start: StartSim, sim_client: httpx.AsyncClient, sim_webhook: FakeWebhook
) -> None:
    sim = await sim_start(
        webhook_url=sim_webhook.url,
        webhook_secret=SECRET,
        receipt_delay_s=0.01,
        delivery_fail_rate=1.0,
        replies=["never sent"],
        reply_delay_s=0.01,
    )
    await sim_client.post(sim.url, json=payload())
    async with asyncio.timeout(WAIT_S):
        await sim.drain()

    [receipt] = sim_webhook.bodies("/v1/receipts")
    assert receipt["status"] == "failed"
    assert receipt["reason"] in DELIVERY_FAILURE_REASONS
    assert sim_webhook.bodies("/v1/inbound") == []


async def test_scripted_replies_arrive_as_inbound_with_numbers_swapped(
    sim_start: StartSim, sim_client: httpx.AsyncClient, sim_webhook: FakeWebhook
) -> None:
    sim = await sim_start(
        webhook_url=sim_webhook.url,
        webhook_secret=SECRET,
        receipt_delay_s=0.01,
        replies=["Yes please", "No thanks"],
        reply_delay_s=0.05,
    )
    other = "+33698765432"
    for i, to in enumerate([RECIPIENT, other, RECIPIENT]):
        await sim_client.post(sim.url, json=payload(retId=f"r{i}", to=to))
    async with asyncio.timeout(WAIT_S):
        await sim.drain()  # every post answered: counters are final

    inbound = sim_webhook.bodies("/v1/inbound")
    # The replies cycle in the order the sends were accepted (they may arrive in any order).
    assert sorted((m["from"], m["to"], m["text"]) for m in inbound) == sorted(
        [
            (RECIPIENT, SENDER, "Yes please"),
            (other, SENDER, "No thanks"),
            (RECIPIENT, SENDER, "Yes please"),
        ]
    )
    assert len({m["id"] for m in inbound}) == 3
    for message in inbound:
        assert set(message) == {"from", "to", "text", "id", "received_at"}
        assert datetime.fromisoformat(message["received_at"]).utcoffset() == UTC.utcoffset(None)
    assert sim_webhook.refused == 0
    assert sim.inbound_sent == 3


async def test_wrong_secret_is_refused_by_the_receiver_and_counted(
    sim_start: StartSim, sim_client: httpx.AsyncClient, sim_webhook: FakeWebhook
) -> None:
    sim = await sim_start(webhook_url=sim_webhook.url, webhook_secret=b"other", receipt_delay_s=0)
    await sim_client.post(sim.url, json=payload())
    async with asyncio.timeout(WAIT_S):
        await sim.drain()

    assert sim_webhook.received == []
    assert sim_webhook.refused == 1  # a 4xx is not retried
    assert sim.webhook_errors == 1


async def test_webhook_posts_to_a_slow_receiver_wait_their_turn_and_all_arrive(
    sim_start: StartSim, sim_client: httpx.AsyncClient, sim_webhook: FakeWebhook
) -> None:
    """As a provider's pool of senders: at most webhook_concurrency posts at once, and a post's
    timeout starts when it is sent, not while it waits (12 receipts of 0.2 s each, 3 at a
    time, take 0.8 s: with a 0.5 s timeout counted from the queue, the last ones failed)."""
    sim_webhook.delay = 0.2
    sim = await sim_start(
        webhook_url=sim_webhook.url,
        webhook_secret=SECRET,
        receipt_delay_s=0,
        webhook_concurrency=3,
        webhook_timeout_s=0.5,
        webhook_attempts=1,
    )
    for i in range(12):
        assert (await sim_client.post(sim.url, json=payload(retId=f"q{i}"))).status_code == 200
    async with asyncio.timeout(WAIT_S):
        await sim.drain()

    assert sim_webhook.most_in_flight == 3
    assert sorted(b["retId"] for b in sim_webhook.bodies("/v1/receipts")) == sorted(
        f"q{i}" for i in range(12)
    )
    assert sim.webhook_errors == 0
    assert sim.receipts_sent == 12


async def test_unreachable_webhook_is_retried_then_counted_and_the_server_keeps_going(
    sim_start: StartSim, sim_client: httpx.AsyncClient
) -> None:
    sim = await sim_start(
        webhook_url=f"http://127.0.0.1:{free_port()}",
        webhook_secret=SECRET,
        receipt_delay_s=0,
        webhook_attempts=3,
        webhook_backoff_s=0.01,
    )
    await sim_client.post(sim.url, json=payload(retId="a"))
    async with asyncio.timeout(WAIT_S):
        await sim.drain()

    assert sim.webhook_errors == 1
    assert (await sim_client.post(sim.url, json=payload(retId="b"))).status_code == 200


async def test_simulate_inbound_posts_a_signed_message(
    sim_tls: TlsFiles, sim_webhook: FakeWebhook
) -> None:
    # Not started: the demo's `simulate` commands only need the webhook side.
    sim = Simulator(SimulatorConfig(webhook_url=sim_webhook.url, webhook_secret=SECRET), sim_tls)

    message_id = await sim.simulate_inbound("Hi, it's me", from_=RECIPIENT, to=SENDER)

    [message] = sim_webhook.bodies("/v1/inbound")
    assert message["id"] == message_id
    assert (message["from"], message["to"], message["text"]) == (RECIPIENT, SENDER, "Hi, it's me")


async def test_simulate_inbound_without_webhook_raises(sim_tls: TlsFiles) -> None:
    with pytest.raises(WebhookError):
        await Simulator(SimulatorConfig(), sim_tls).simulate_inbound("x", RECIPIENT, SENDER)


# --- TLS, stats, entry point ------------------------------------------------------------------


async def test_client_without_the_ca_fails_verification(sim_start: StartSim) -> None:
    sim = await sim_start()
    async with httpx.AsyncClient(timeout=WAIT_S) as client:  # system trust store only
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.post(sim.url, json=payload())
    assert sim.requests == 0


def test_make_tls_reuses_valid_files_and_replaces_broken_ones(tmp_path: Path) -> None:
    files = make_tls(tmp_path / "certs")
    assert files.key.stat().st_mode & 0o777 == 0o600
    ca_before = files.ca.read_bytes()
    assert b"BEGIN CERTIFICATE" in ca_before
    assert files.cert.read_bytes().count(b"BEGIN CERTIFICATE") == 1  # the chain minus the root

    files.key.chmod(0o644)
    again = make_tls(tmp_path / "certs")
    assert again == files
    assert files.ca.read_bytes() == ca_before
    assert files.key.stat().st_mode & 0o777 == 0o600

    files.cert.write_bytes(b"garbage")
    make_tls(tmp_path / "certs")
    assert files.ca.read_bytes() != ca_before
    assert b"BEGIN CERTIFICATE" in files.cert.read_bytes()


async def test_stats_and_sent_endpoints(sim_start: StartSim, sim_client: httpx.AsyncClient) -> None:
    sim = await sim_start()
    for ret_id in ("a", "b", "c", "a"):
        await sim_client.post(sim.url, json=payload(retId=ret_id))
    await sim_client.post(sim.url, json=payload(credits=5))

    stats = (await sim_client.get(sim.base_url + "/v1/stats")).json()
    assert stats["requests"] == 5
    assert stats["accepted"] == 3
    assert stats["duplicates"] == 1
    assert stats["rejected"] == 1
    assert stats["injected_failures"] == stats["injected_timeouts"] == 0

    page = (await sim_client.get(sim.base_url + "/v1/sent", params={"after": 1, "limit": 1})).json()
    assert page["total"] == 3
    assert page["next"] == 2
    assert [item["payload"]["retId"] for item in page["items"]] == ["b"]
    rest = (await sim_client.get(sim.base_url + "/v1/sent", params={"after": 2})).json()
    assert [item["seq"] for item in rest["items"]] == [3]


@pytest.mark.parametrize(
    "changes",
    [
        {"fail_rate": 1.5},
        {"fail_rate": 0.6, "timeout_rate": 0.6},
        {"status": 200},
        {"webhook_url": "http://127.0.0.1:8090"},  # without a secret
        {"path": "v1/sms"},
        {"webhook_concurrency": 0},
    ],
)
def test_config_is_checked(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        SimulatorConfig(**changes)


async def test_run_simulator_prints_one_line_and_stops_on_ctrl_c(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = asyncio.create_task(run_simulator(SimulatorConfig(), tmp_path / "certs"))
    printed: list[str] = []

    def started() -> bool:
        printed.append(capsys.readouterr().out)
        return bool("".join(printed)) or task.done()

    await wait_until(started)
    [line] = "".join(printed).splitlines()
    url = line.split()[4]
    ca = tmp_path / "certs" / "ca.pem"
    assert line == f"Provider simulator listening on {url} (CA: {ca})"

    async with httpx.AsyncClient(
        verify=TlsFiles(ca, ca, ca).client_context(), timeout=WAIT_S
    ) as client:
        assert (await client.post(url, json=payload())).status_code == 200

    signal.raise_signal(signal.SIGINT)  # handled by run_simulator: it returns normally
    async with asyncio.timeout(WAIT_S):
        await task
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


async def test_run_simulator_stops_when_cancelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = asyncio.create_task(run_simulator(SimulatorConfig(), tmp_path / "certs"))
    # Serving (it prints its line once it listens): not a fixed pause after the certificates.
    await wait_until(lambda: "listening" in capsys.readouterr().out or task.done())
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
