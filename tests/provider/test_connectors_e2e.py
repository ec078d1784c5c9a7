"""Connectors end to end (issue #20): real loopback HTTPS between the dispatcher, each
connector's simulator and our receiver; no mocks.

The demo database has two connectors: 1 "Carrier HTTPS" (https-json, the numbers +33757000001,
…02, …10) and 2 "Twilio" (the Sales queue's +33757000011).  Each test points them at
simulators started here, queues messages from numbers of each, and runs the real dispatcher
(``ConnectorGateways``) and receiver (``WebhookServer``, Twilio's paths included).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col
from twilio.request_validator import RequestValidator

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction, MessageStatus
from bannertui.gateway import http_gateway
from bannertui.gateway.connectors import ConnectorGateways
from bannertui.services import Services
from bannertui.services.dispatch import Dispatcher, DispatchPolicy
from bannertui.services.outbox import OutboundDraft, enqueue
from bannertui.simulator.provider import Simulator, SimulatorConfig, TlsFiles, make_tls
from bannertui.simulator.twilio import DEMO_AUTH_TOKEN, TwilioSimConfig, TwilioSimulator
from bannertui.store.database import Database
from bannertui.store.models import Message, OptOut
from bannertui.web.webhook import WebhookServer

HTTPS_NUMBER = "+33757000001"
TWILIO_NUMBER = "+33757000011"  # the Sales queue's
MOBILE = "+33612000501"
SECRET = b"e2e-connectors-webhook-secret-0123456789"
WAIT_S = 60.0
API_KEY_SID = "SK" + "fedcba9876543210" * 2
API_KEY_SECRET = "key-secret-of-the-api-key"
POLICY = DispatchPolicy(
    concurrency=8, poll_seconds=0.05, base_backoff=0.05, uncertain_wait_seconds=2.0
)


async def until(condition: Callable[[], object], what: str, timeout: float = WAIT_S) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.05)


@dataclass
class Rig:
    services: Services
    webhook: WebhookServer
    https: Simulator
    twilio: TwilioSimulator
    tls: TlsFiles

    async def queue(self, from_number: str, text: str, to: str = MOBILE) -> Message:
        async with self.services.db.write() as session:
            msg = await enqueue(
                session,
                OutboundDraft(to_number=to, from_number=from_number, text=text, sender=from_number),
                datetime.now(UTC),
            )
        return msg

    async def message(self, mid: int) -> Message:
        async with self.services.db.read() as session:
            found = await session.get(Message, mid, populate_existing=True)
        assert found is not None
        return found

    async def dispatch_once(self) -> None:
        gateways = ConnectorGateways(
            self.services.connectors.records_for_services, secrets_dir=self.services.secrets_dir
        )
        try:
            await Dispatcher(self.services.db, gateways, POLICY).run_once()
        finally:
            await gateways.aclose()


@contextlib.asynccontextmanager
async def rig(
    seeded: Database, tmp_path: Path, *, api_key: bool = False, **twilio: object
) -> AsyncIterator[Rig]:
    services = Services(seeded, gateways=http_gateway, secrets_dir=tmp_path / "secrets")
    tls = make_tls(tmp_path / "tls")
    async with contextlib.AsyncExitStack() as stack:
        webhook = await stack.enter_async_context(WebhookServer(services, SECRET))
        https = await stack.enter_async_context(
            Simulator(
                SimulatorConfig(
                    webhook_url=webhook.url, webhook_secret=SECRET, receipt_delay_s=0.05
                ),
                tls,
            )
        )
        keys = {"api_key_sid": API_KEY_SID, "api_key_secret": API_KEY_SECRET} if api_key else {}
        config = TwilioSimConfig(
            numbers=[TWILIO_NUMBER],
            inbound_url=f"{webhook.url}/twilio/2/inbound",
            receipt_delay_s=0.05,
            **keys,  # type: ignore[arg-type]
            **twilio,  # type: ignore[arg-type]
        )
        sim = await stack.enter_async_context(TwilioSimulator(config, tls))
        await services.provider.update(
            actor="system", url=https.url, auth_enabled=False, login=None, ca_file=str(tls.ca)
        )
        await services.connectors.edit(
            "system",
            2,
            settings={
                "account_sid": config.account_sid,
                "api_base": sim.base_url,
                "public_url": webhook.url,
                "ca_file": str(tls.ca),
                **({"api_key_sid": API_KEY_SID} if api_key else {}),
            },
            secret=DEMO_AUTH_TOKEN,
            key_secret=API_KEY_SECRET if api_key else None,
        )
        yield Rig(services, webhook, https, sim, tls)


async def test_each_message_goes_through_its_connector_and_comes_back(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path, replies=["Thanks, see you then"], reply_delay_s=0.05) as r:
        via_https = await r.queue(HTTPS_NUMBER, "Hello from the carrier")
        via_twilio = await r.queue(TWILIO_NUMBER, "Hello from Twilio " + "x" * 150)  # 2 parts
        assert (via_https.connector_id, via_twilio.connector_id) == (1, 2)
        await r.dispatch_once()

        # each simulator got its own message, once
        assert [s.payload["retId"] for s in r.https.records] == [via_https.ret_id]
        [twilio_sent] = r.twilio.sent
        assert (twilio_sent.to, twilio_sent.from_, twilio_sent.body) == (
            MOBILE,
            TWILIO_NUMBER,
            via_twilio.text,
        )
        assert int(twilio_sent.num_segments) == via_twilio.credits == 2
        sent = await r.message(via_twilio.id or 0)
        assert sent.provider_message_id == twilio_sent.sid  # the MessageSid, kept

        # receipts: the https-json one by retId, Twilio's status callback by MessageSid
        async def delivered() -> bool:
            a, b = await r.message(via_https.id or 0), await r.message(via_twilio.id or 0)
            return a.status == b.status == MessageStatus.DELIVERED

        await until(delivered, "both delivered")

        # the Twilio reply arrives on the Sales queue's number, through connector 2
        async def reply() -> Message | None:
            async with r.services.db.read() as session:
                return await session.scalar(
                    sa.select(Message).where(
                        col(Message.direction) == Direction.INBOUND,
                        col(Message.to_number) == TWILIO_NUMBER,
                        col(Message.text) == "Thanks, see you then",
                    )
                )

        await until(reply, "the reply stored")
        got = await reply()
        assert got is not None
        assert got.connector_id == 2
        assert got.queue_id is not None

        # an inbound text on the https-json receiver's one path: its connector is our
        # number's (the Support line is connector 1's)
        pid = await r.https.simulate_inbound("Hi carrier", MOBILE, "+33757000010")
        async with r.services.db.read() as session:
            carrier = await session.scalar(
                sa.select(Message).where(col(Message.provider_message_id) == pid)
            )
        assert carrier is not None
        assert carrier.connector_id == 1


async def test_an_api_key_sends_and_the_auth_token_checks_the_callbacks(
    seeded: Database, tmp_path: Path
) -> None:
    """With an API key SID, requests authenticate with the key's secret, and Twilio still
    signs its callbacks with the account's auth token: both secrets are the connector's."""
    async with rig(seeded, tmp_path, api_key=True) as r:
        assert (tmp_path / "secrets" / "connector-2-key-secret").read_text() == API_KEY_SECRET
        msg = await r.queue(TWILIO_NUMBER, "Sent with an API key")
        await r.dispatch_once()
        assert [m.body for m in r.twilio.sent] == ["Sent with an API key"]

        async def delivered() -> bool:
            return (await r.message(msg.id or 0)).status == MessageStatus.DELIVERED

        await until(delivered, "delivered (the callback's signature checked)")
        # the key's secret is what authenticates: a wrong one is refused by Twilio
        report = await r.services.connectors.test(
            Actor("admin"),
            kind="twilio",
            settings={
                "account_sid": r.twilio.config.account_sid,
                "api_key_sid": API_KEY_SID,
                "api_base": r.twilio.base_url,
                "ca_file": str(r.tls.ca),
            },
            key_secret="wrong",
            ref=2,
        )
        assert not report.ok
        assert "authentication failed" in report.message


async def test_twilio_refusals_fail_the_message_with_its_code_and_refund_it(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path) as r:
        # STOP through Twilio: recorded as our opt-out, and no confirmation of ours is queued
        # (Twilio answers it itself)
        await r.twilio.simulate_inbound("STOP", MOBILE, TWILIO_NUMBER)

        async def opted_out() -> bool:
            async with r.services.db.read() as session:
                return await session.get(OptOut, MOBILE) is not None

        await until(opted_out, "the opt-out recorded")
        async with r.services.db.read() as session:
            confirmations = await session.scalar(
                sa.select(sa.func.count()).where(
                    col(Message.direction) == Direction.OUTBOUND,
                    col(Message.to_number) == MOBILE,
                )
            )
        assert confirmations == 0
        assert r.twilio.stats()["optout_confirmations"] == 1

        # a notification (not marketing: our own opt-out check lets it through) that Twilio
        # refuses: 21610, failed for good with Twilio's code, its credit given back
        msg = await r.queue(TWILIO_NUMBER, "Your appointment is tomorrow")
        await r.dispatch_once()
        failed = await r.message(msg.id or 0)
        assert failed.status == MessageStatus.FAILED
        assert "21610" in (failed.error or "")
        assert failed.paid is False
        assert r.twilio.sent == []


async def test_a_lost_twilio_answer_is_not_sent_twice(seeded: Database, tmp_path: Path) -> None:
    """Twilio has no idempotency key: a send whose answer never came back (here: Twilio took
    it and the connection dropped) is not sent again — its status callback, which carries our
    retId, marks it sent meanwhile (docs/connectors.md)."""
    async with rig(seeded, tmp_path, lose_response_rate=1.0, hang_s=0.2) as r:
        msg = await r.queue(TWILIO_NUMBER, "Only once, please")
        await r.dispatch_once()
        assert len(r.twilio.sent) == 1
        first = await r.message(msg.id or 0)

        async def accepted() -> bool:
            m = await r.message(msg.id or 0)
            return m.status in (MessageStatus.SENT, MessageStatus.DELIVERED)

        await until(accepted, "the status callback marks it sent")
        done = await r.message(msg.id or 0)
        assert done.provider_message_id == r.twilio.sent[0].sid
        # the dispatcher, run again after the uncertain wait, finds nothing to send
        await asyncio.sleep(0)  # (nothing is due: the message is sent)
        await r.dispatch_once()
        assert len(r.twilio.sent) == 1
        assert first.attempts == 1


async def test_twilio_callbacks_are_signed_and_never_replayed(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path) as r:
        url = f"{r.webhook.url}/twilio/2/inbound"
        fields = {
            "MessageSid": "SM" + "ab" * 16,
            "AccountSid": r.twilio.config.account_sid,
            "From": MOBILE,
            "To": TWILIO_NUMBER,
            "Body": "Hi from a phone",
            "NumSegments": "1",
        }
        good = RequestValidator(DEMO_AUTH_TOKEN).compute_signature(url, fields)
        forged = RequestValidator("not-the-token").compute_signature(url, fields)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}

        async def stored() -> int:
            async with r.services.db.read() as session:
                return int(
                    await session.scalar(
                        sa.select(sa.func.count()).where(
                            col(Message.provider_message_id) == fields["MessageSid"]
                        )
                    )
                    or 0
                )

        async with httpx.AsyncClient() as client:
            body = urlencode(fields)
            no_sig = await client.post(url, content=body, headers=headers)
            bad = await client.post(
                url, content=body, headers={**headers, "X-Twilio-Signature": forged}
            )
            assert (no_sig.status_code, bad.status_code) == (401, 401)
            assert await stored() == 0
            ok = await client.post(
                url, content=body, headers={**headers, "X-Twilio-Signature": good}
            )
            assert ok.status_code == 200, ok.text
            assert await stored() == 1
            again = await client.post(
                url, content=body, headers={**headers, "X-Twilio-Signature": good}
            )
            assert again.status_code == 409
            assert again.json() == {"error": "replayed request"}
            # a changed field under the old signature is refused too
            tampered = urlencode({**fields, "Body": "Send me money"})
            changed = await client.post(
                url, content=tampered, headers={**headers, "X-Twilio-Signature": good}
            )
            assert changed.status_code == 401
            unknown = await client.post(
                f"{r.webhook.url}/twilio/99/inbound",
                content=body,
                headers={**headers, "X-Twilio-Signature": good},
            )
            assert unknown.status_code == 404
            big = await client.post(
                url, content="Body=" + "x" * 70_000, headers={**headers, "X-Twilio-Signature": good}
            )
            assert big.status_code == 413
        assert await stored() == 1


async def test_a_message_for_a_connector_that_cannot_send_waits_and_names_why(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path) as r:
        # Twilio's token is gone: the message is not lost, it waits with the cause
        (tmp_path / "secrets" / "connector-2-secret").unlink()
        msg = await r.queue(TWILIO_NUMBER, "Waiting for a token")
        await r.dispatch_once()
        waiting = await r.message(msg.id or 0)
        assert waiting.status == MessageStatus.PENDING
        assert waiting.attempts == 0
        assert "No SMS provider configured" in (waiting.error or "") or "token" in (
            waiting.error or ""
        )
        assert r.twilio.sent == []

        # a disabled connector sends nothing either; enabled again, its message goes
        await r.services.connectors.edit(
            Actor("admin"), 1, settings={"url": r.https.url, "ca_file": str(r.tls.ca)},
            enabled=False,
        )  # fmt: skip
        held = await r.queue(HTTPS_NUMBER, "Held while disabled")
        await r.dispatch_once()
        assert (await r.message(held.id or 0)).status == MessageStatus.PENDING
        assert "disabled" in ((await r.message(held.id or 0)).error or "")
        assert (await r.message(held.id or 0)).attempts == 0  # held: not an attempt
        assert r.https.records == []
        await r.services.connectors.edit(
            Actor("admin"), 1, settings={"url": r.https.url, "ca_file": str(r.tls.ca)},
            enabled=True,
        )  # fmt: skip
        async with r.services.db.write() as session:  # due now, not after its retry pause
            await session.execute(
                sa.update(Message)
                .where(col(Message.id) == held.id)
                .values(next_attempt_at=datetime.now(UTC))
            )
        await r.dispatch_once()
        assert [s.payload["retId"] for s in r.https.records] == [held.ret_id]


pytestmark = pytest.mark.timeout(300)
