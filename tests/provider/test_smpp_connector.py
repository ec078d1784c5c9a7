"""The SMPP connector end to end (issue #21): the real dispatcher (``ConnectorGateways`` with
its SMPP session) over loopback TCP to the SMSC simulator, and what arrives on the session
stored by the services (receipts per part, mobile-originated texts routed to a queue).  No
mocks.

The demo database gets a third connector, "Carrier SMPP" (type smpp), pointed at a simulator
started here, with the number +33757000020; the demo's "Billing" queue (which has no number)
is put on that number, so a text to it is routed as any inbound text is (Q2).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction, MessageStatus
from bannertui.domain.sms import measure
from bannertui.gateway import http_gateway
from bannertui.gateway.connectors import ConnectorGateways
from bannertui.gateway.smpp import SmppProvider
from bannertui.services import Services
from bannertui.services.dispatch import Dispatcher, DispatchPolicy
from bannertui.services.gateway import ConnectionCheck
from bannertui.services.inbound import SmppInbound
from bannertui.services.outbox import OutboundDraft, enqueue
from bannertui.simulator.smsc import SmscConfig, SmscSimulator
from bannertui.store.database import Database
from bannertui.store.models import Interaction, Message, MessagePart, Queue, SmsNumber

SYSTEM_ID = "bannertui-e2e"
PASSWORD = "s3cret"
NUMBER = "+33757000020"
MOBILE = "+33612000601"
WAIT_S = 60.0
POLICY = DispatchPolicy(
    concurrency=10, poll_seconds=0.05, base_backoff=0.05, uncertain_wait_seconds=1.0
)


async def until(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> None:
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
    smsc: SmscSimulator
    connector_id: int
    gateways: ConnectorGateways | None = None
    task: asyncio.Task[Any] | None = None
    stop: asyncio.Event | None = None

    async def queue(self, text: str, to: str = MOBILE) -> Message:
        async with self.services.db.write() as session:
            return await enqueue(
                session,
                OutboundDraft(to_number=to, from_number=NUMBER, text=text, sender=NUMBER),
                datetime.now(UTC),
            )

    async def messages(self, ids: list[int]) -> list[Message]:
        async with self.services.db.read() as session:
            rows = await session.scalars(
                sa.select(Message)
                .where(col(Message.id).in_(ids))
                .order_by(col(Message.id))
                .execution_options(populate_existing=True)
            )
            return list(rows)

    async def statuses(self, ids: list[int]) -> list[str]:
        return [m.status for m in await self.messages(ids)]

    async def parts(self, mid: int) -> list[MessagePart]:
        async with self.services.db.read() as session:
            rows = await session.scalars(
                sa.select(MessagePart)
                .where(col(MessagePart.message_id) == mid)
                .order_by(col(MessagePart.seq))
                .execution_options(populate_existing=True)
            )
            return list(rows)

    @property
    def provider(self) -> SmppProvider:
        assert self.gateways is not None
        adapter = self.gateways._entries[self.connector_id].adapter
        assert isinstance(adapter, SmppProvider)
        return adapter

    async def start_dispatcher(self) -> None:
        """``bannertui dispatch`` as it runs: the connectors read (SMPP bound at once), then
        the loop."""
        self.gateways = ConnectorGateways(
            self.services.connectors.records_for_services,
            secrets_dir=self.services.secrets_dir,
            inbound=SmppInbound(self.services.inbound),
            refresh_seconds=0.5,
        )
        await self.gateways.start()
        self.stop = asyncio.Event()
        dispatcher = Dispatcher(self.services.db, self.gateways, POLICY)
        self.task = asyncio.create_task(dispatcher.run(self.stop))

    async def stop_dispatcher(self) -> None:
        if self.stop is not None and self.task is not None:
            self.stop.set()
            await asyncio.wait_for(self.task, 60)
        if self.gateways is not None:
            await self.gateways.aclose()


@contextlib.asynccontextmanager
async def rig(
    seeded: Database, tmp_path: Path, *, dispatcher: bool = True, **config: Any
) -> AsyncIterator[Rig]:
    services = Services(seeded, gateways=http_gateway, secrets_dir=tmp_path / "secrets")
    smsc_config = SmscConfig(accounts={SYSTEM_ID: PASSWORD}, receipt_delay=0.02, **config)
    async with SmscSimulator(smsc_config) as smsc:
        settings = {"host": "127.0.0.1", "port": smsc.port, "system_id": SYSTEM_ID}
        rec = await services.connectors.add(
            "system", name="Carrier SMPP", kind="smpp", settings=settings, secret=PASSWORD
        )
        async with seeded.write() as session:
            number = SmsNumber(number=NUMBER, label="Deliveries", connector_id=rec.id)
            session.add(number)
            await session.flush()
            billing = await session.scalar(sa.select(Queue).where(col(Queue.name) == "Billing"))
            assert billing is not None
            billing.sms_number_id = number.id
            billing.connector_id = rec.id
        r = Rig(services, smsc, rec.id)
        try:
            if dispatcher:
                await r.start_dispatcher()
                await until(lambda: smsc.bound, "bound at start")
            yield r
        finally:
            await r.stop_dispatcher()


def _gsm(n: int, at: int | None = None) -> str:
    """``n`` septets of GSM text, with a ``€`` (2 septets) starting at septet ``at``."""
    if at is None:
        return ("abcdefghij" * 200)[:n]
    return "a" * at + "€" + "b" * (n - at - 2)


def _ucs2(n: int, at: int | None = None) -> str:
    """``n`` UTF-16 units of non-GSM text, with an emoji (2 units) starting at unit ``at``."""
    if at is None:
        return ("ёжзий" * 200)[:n]
    return "ж" * at + "😀" + "й" * (n - at - 2)


BOUNDARIES = {
    "160 GSM": _gsm(160),
    "161 GSM": _gsm(161),
    "153×2+1 GSM, € straddling": _gsm(153 * 2 + 1, 152),
    "153×3-1 GSM": _gsm(153 * 3 - 1),
    "70 UCS-2": _ucs2(70),
    "71 UCS-2": _ucs2(71),
    "67×3-1 UCS-2, emoji straddling": _ucs2(67 * 3 - 1, 66),
    "67×2+1 UCS-2": _ucs2(67 * 2 + 1),
    "8 credits": _gsm(153 * 8),
}


@pytest.mark.parametrize("concat", ["udh8", "sar"])
async def test_the_pdus_the_smsc_took_are_the_credits_and_the_text_comes_back_exact(
    seeded: Database, tmp_path: Path, concat: str
) -> None:
    async with rig(seeded, tmp_path, dispatcher=False) as r:
        await r.services.connectors.edit(
            "system", r.connector_id, settings={"concat": concat, **_settings(r)}
        )
        queued = {name: await r.queue(text) for name, text in BOUNDARIES.items()}
        await r.start_dispatcher()
        ids = [m.id or 0 for m in queued.values()]

        async def all_delivered() -> bool:
            return set(await r.statuses(ids)) == {MessageStatus.DELIVERED}

        await until(all_delivered, "every message delivered (a receipt for each part)")
        by_text = {m.text: m for m in r.smsc.messages}
        for name, msg in queued.items():
            got = by_text[msg.text]  # reassembled by the SMSC: exactly the text
            credits = measure(msg.text).credits
            assert got.parts == credits == msg.credits, name
            assert got.text.encode("utf-16-be") == msg.text.encode("utf-16-be"), name
            parts = await r.parts(msg.id or 0)
            assert [p.provider_id for p in parts] == list(got.message_ids), name
            assert {p.state for p in parts} == {"delivered"}, name
        assert len(r.smsc.accepted) == sum(m.credits for m in queued.values())
        assert not r.smsc.invalid
        assert not r.smsc.duplicates()


def _settings(r: Rig) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": r.smsc.port, "system_id": SYSTEM_ID}


async def test_an_undelivered_receipt_fails_the_message_with_the_smscs_state(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path, fail_to={MOBILE[1:]}) as r:
        msg = await r.queue("This one will not arrive " + "z" * 150)  # 2 parts
        ok = await r.queue("This one will", to="+33612000602")

        async def settled() -> bool:
            return await r.statuses([msg.id or 0, ok.id or 0]) == [
                MessageStatus.FAILED,
                MessageStatus.DELIVERED,
            ]

        await until(settled, "one failed, one delivered")
        [failed] = await r.messages([msg.id or 0])
        assert failed.error is not None
        assert "UNDELIV" in failed.error


async def test_a_ucs2_text_in_three_parts_is_reassembled_and_routed_to_its_queue(
    seeded: Database, tmp_path: Path
) -> None:
    text = "Bonjour, où est mon colis ? Ça fait trois jours 📦 " * 3  # UCS-2, 3 parts
    assert measure(text).credits == 3
    async with rig(seeded, tmp_path) as r:
        statuses = await r.smsc.send_mo(MOBILE[1:], NUMBER[1:], text, order=[2, 0, 1])
        assert statuses == [0, 0, 0]  # each part answered ESME_ROK

        async def stored() -> Message | None:
            async with r.services.db.read() as session:
                return await session.scalar(
                    sa.select(Message).where(
                        col(Message.direction) == Direction.INBOUND,
                        col(Message.from_number) == MOBILE,
                    )
                )

        await until(stored, "the text stored")
        got = await stored()
        assert got is not None
        assert got.text == text
        assert got.to_number == NUMBER
        assert got.connector_id == r.connector_id
        assert got.queue_id is not None
        async with r.services.db.read() as session:
            interaction = await session.get(Interaction, got.interaction_id)
            queue = await session.scalar(sa.select(Queue).where(col(Queue.name) == "Billing"))
        assert interaction is not None
        assert queue is not None
        assert queue.connector_id == r.connector_id
        assert interaction.queue_id == queue.id


async def test_an_unparseable_receipt_is_answered_logged_and_nothing_is_lost(
    seeded: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(seeded, tmp_path) as r:
        status = await r.smsc.send_raw_deliver(b"\x00\xffthis is no receipt", esm_class=0x04)
        assert status == 0  # answered ESME_ROK all the same (by the library, at once)
        await until(lambda: r.provider.unparsed == 1, "the receipt read and set aside")
        assert "cannot be read" in caplog.text
        # the session goes on: a text after it is stored, a message is sent and delivered
        await r.smsc.send_mo(MOBILE[1:], NUMBER[1:], "Still there?")
        msg = await r.queue("Yes")

        async def both() -> bool:
            async with r.services.db.read() as session:
                text = await session.scalar(
                    sa.select(col(Message.id)).where(col(Message.text) == "Still there?")
                )
            return text is not None and await r.statuses([msg.id or 0]) == ["delivered"]

        await until(both, "the text stored and the message delivered")


async def test_a_connection_dropped_with_ten_in_flight_loses_nothing(
    seeded: Database, tmp_path: Path
) -> None:
    """The SMSC took the 10 submits and dropped the connection before answering: SMPP has
    no idempotency key, so each is *uncertain*, sent again after the receipt window, and the
    SMSC has it twice — the documented duplicate, counted on both sides."""
    async with rig(seeded, tmp_path, dispatcher=False, drop_after_in_flight=10) as r:
        queued = [await r.queue(f"In flight {i}") for i in range(10)]
        await r.start_dispatcher()
        ids = [m.id or 0 for m in queued]

        async def sent() -> bool:
            return set(await r.statuses(ids)) <= {MessageStatus.SENT, MessageStatus.DELIVERED}

        await until(sent, "all sent after the drop")
        assert len(r.smsc.unanswered) == 10
        assert r.provider.uncertain == 10  # each counted
        assert r.provider.binds >= 2  # bound again after the drop
        texts = [m.text for m in r.smsc.messages]
        assert sorted(set(texts)) == sorted(m.text for m in queued)  # nothing lost
        # the SMSC had taken them: each resend is a duplicate it has, no more than counted
        assert len(r.smsc.duplicates()) == r.provider.uncertain == 10
        await until(lambda: _all(r, ids, MessageStatus.DELIVERED), "delivered")


async def _all(r: Rig, ids: list[int], status: str) -> bool:
    return set(await r.statuses(ids)) == {status}


async def test_throttling_pauses_the_session_and_nothing_fails(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path) as r:
        r.smsc.throttle(10.0)
        queued = [await r.queue(f"Throttled {i} " + "t" * 150) for i in range(5)]
        ids = [m.id or 0 for m in queued]
        await until(lambda: r.smsc.throttled > 0, "the SMSC throttles")
        await until(lambda: _all(r, ids, MessageStatus.DELIVERED), "all delivered", 90)
        assert r.smsc.throttled >= 1
        for msg in await r.messages(ids):
            assert msg.status == MessageStatus.DELIVERED
        assert not r.smsc.duplicates()
        assert sorted(m.text for m in r.smsc.messages) == sorted(m.text for m in queued)


async def test_a_refused_bind_is_named_by_test_connection_and_messages_wait(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path, dispatcher=False) as r:
        report = await r.services.connectors.test(
            Actor("admin"), kind="smpp", settings=_settings(r), secret="wrong", ref=r.connector_id
        )
        assert report.result is ConnectionCheck.BIND_REFUSED
        assert "ESME_RINVPASWD" in report.message
        assert "invalid password" in report.message
        good = await r.services.connectors.test(
            Actor("admin"), kind="smpp", settings=_settings(r), secret=PASSWORD, ref=None
        )
        assert good.ok, good.message

        r.smsc.config.reject_binds = True
        msg = await r.queue("Waiting for the bind")
        await r.start_dispatcher()

        async def waiting() -> bool:
            [m] = await r.messages([msg.id or 0])
            return m.status == MessageStatus.PENDING and "bind" in (m.error or "")

        await until(waiting, "the message waits, naming the bind")
        [m] = await r.messages([msg.id or 0])
        assert m.attempts == 0  # held: not an attempt
        r.smsc.config.reject_binds = False
        await until(lambda: _all(r, [msg.id or 0], MessageStatus.DELIVERED), "sent once bound")


async def test_the_smsc_restarted_the_session_binds_again_and_sends(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path) as r:
        first = await r.queue("Before the restart")
        await until(lambda: _all(r, [first.id or 0], MessageStatus.DELIVERED), "delivered")
        await r.smsc.restart()
        second = await r.queue("After the restart")
        await until(lambda: _all(r, [second.id or 0], MessageStatus.DELIVERED), "after restart")
        assert r.provider.binds >= 2
        await r.smsc.send_mo(MOBILE[1:], NUMBER[1:], "And a reply")

        async def reply() -> bool:
            async with r.services.db.read() as session:
                found = await session.scalar(
                    sa.select(col(Message.id)).where(col(Message.text) == "And a reply")
                )
            return found is not None

        await until(reply, "the reply on the new session")


async def test_a_transmitter_and_receiver_pair_sends_and_receives(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path, dispatcher=False) as r:
        await r.services.connectors.edit(
            "system", r.connector_id, settings={**_settings(r), "bind_mode": "pair"}
        )
        await r.start_dispatcher()
        await until(lambda: len(r.smsc.bound) == 2, "two binds")
        assert sorted(b.bind_type for b in r.smsc.bound) == ["receiver", "transmitter"]
        msg = await r.queue("Through the pair")
        await until(lambda: _all(r, [msg.id or 0], MessageStatus.DELIVERED), "delivered")


async def test_two_dispatchers_each_hold_a_bind_and_send_each_message_once(
    seeded: Database, tmp_path: Path
) -> None:
    async with rig(seeded, tmp_path) as r:
        other = Rig(r.services, r.smsc, r.connector_id)
        await other.start_dispatcher()
        try:
            await until(lambda: len(r.smsc.bound) == 2, "a bind per dispatcher")
            queued = [await r.queue(f"Shared {i} " + "s" * (i * 20)) for i in range(30)]
            ids = [m.id or 0 for m in queued]
            await until(lambda: _all(r, ids, MessageStatus.DELIVERED), "all delivered")
            assert sorted(m.text for m in r.smsc.messages) == sorted(m.text for m in queued)
            assert not r.smsc.duplicates()
            assert len(r.smsc.accepted) == sum(m.credits for m in queued)
        finally:
            await other.stop_dispatcher()
