"""The dispatcher's rules against a scripted provider (the real HTTPS path is in tests/provider).

The provider here is the outer edge: it answers each send from a script, so every outcome
(accepted, transient with Retry-After, permanent, crash) is exercised on both backends.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa

from bannertui.domain.actor import Actor
from bannertui.domain.enums import MessageStatus
from bannertui.services import Services
from bannertui.services.dispatch import Dispatcher, DispatchPolicy
from bannertui.services.gateway import OutcomeKind, SendOutcome, SendPayload
from bannertui.store.models import Account, Message

TO = "+33612000009"


class ScriptedProvider:
    def __init__(self, script: list[SendOutcome] | None = None) -> None:
        self.script = list(script or [])
        self.calls: dict[str, int] = defaultdict(int)
        self.payloads: list[SendPayload] = []

    async def send(self, payload: SendPayload) -> SendOutcome:
        self.calls[payload.ret_id] += 1
        self.payloads.append(payload)
        await asyncio.sleep(0)
        if self.script:
            return self.script.pop(0)
        return SendOutcome(OutcomeKind.ACCEPTED, status_code=200)

    async def aclose(self) -> None:
        pass


async def _queue(services: Services, n: int, text: str = "Hello") -> list[Message]:
    return [
        await services.outbound.send_direct(Actor("alice"), TO, "+33757000001", f"{text} {i}")
        for i in range(n)
    ]


async def _message(services: Services, mid: int) -> Message:
    async with services.db.read() as session:
        msg = await session.get(Message, mid)
        assert msg is not None
        return msg


async def _balance(services: Services) -> int:
    return await services.accounts.balance(Actor("admin"))


async def test_accepted_messages_are_sent_with_the_exact_payload(services: Services, clock) -> None:
    msgs = await _queue(services, 3)
    provider = ScriptedProvider()
    stats = await Dispatcher(services.db, provider, clock=clock).run_once()
    assert (stats.claimed, stats.sent, stats.retried, stats.failed) == (3, 3, 0, 0)
    for m in msgs:
        assert provider.calls[m.ret_id or ""] == 1
        sent = await _message(services, m.id or 0)
        assert sent.status == MessageStatus.SENT
        assert sent.folder == "sent"
        assert sent.attempts == 1
    p = provider.payloads[0].as_json()
    assert list(p) == ["type", "sender", "to", "retId", "isUnicode", "text", "credits"]
    assert p["type"] == "NOTIFICATION"
    assert p["sender"] == "+33757000001"
    assert p["to"] == TO
    assert p["isUnicode"] is False
    assert p["credits"] == 1


async def test_transient_failure_is_retried_later_with_the_same_ret_id(
    services: Services, clock
) -> None:
    (msg,) = await _queue(services, 1)
    provider = ScriptedProvider([SendOutcome(OutcomeKind.TRANSIENT, "HTTP 503", retry_after=7)])
    d = Dispatcher(services.db, provider, DispatchPolicy(base_backoff=1), clock=clock)
    stats = await d.run_once()
    assert stats.retried == 1
    waiting = await _message(services, msg.id or 0)
    assert waiting.status == MessageStatus.PENDING
    assert waiting.error == "HTTP 503"
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at >= clock.now + timedelta(seconds=7)  # Retry-After honoured
    # Not due yet: nothing is sent.
    assert (await d.run_once()).claimed == 0
    clock.now = waiting.next_attempt_at
    stats = await d.run_once()
    assert stats.sent == 1
    assert provider.calls[msg.ret_id or ""] == 2  # same retId both times
    done = await _message(services, msg.id or 0)
    assert done.status == MessageStatus.SENT
    assert done.attempts == 2
    assert done.error is None


async def test_permanent_failure_fails_with_reason_and_refunds(services: Services, clock) -> None:
    before = await _balance(services)
    (msg,) = await _queue(services, 1, "x" * 200)  # 2 credits
    assert await _balance(services) == before - 2
    provider = ScriptedProvider([SendOutcome(OutcomeKind.PERMANENT, "HTTP 400: bad number")])
    stats = await Dispatcher(services.db, provider, clock=clock).run_once()
    assert stats.failed == 1
    failed = await _message(services, msg.id or 0)
    assert failed.status == MessageStatus.FAILED
    assert failed.folder == "failed"
    assert failed.error == "HTTP 400: bad number"
    assert await _balance(services) == before


async def test_giving_up_after_max_attempts_refunds(services: Services, clock) -> None:
    before = await _balance(services)
    (msg,) = await _queue(services, 1)
    provider = ScriptedProvider([SendOutcome(OutcomeKind.TRANSIENT, "timeout")] * 3)
    d = Dispatcher(services.db, provider, DispatchPolicy(max_attempts=3), clock=clock)
    for _ in range(3):
        await d.run_once()
        clock.now += timedelta(hours=1)
    gave_up = await _message(services, msg.id or 0)
    assert gave_up.status == MessageStatus.FAILED
    assert gave_up.error == "gave up after 3 attempts: timeout"
    assert await _balance(services) == before


async def test_a_held_message_is_never_given_up(services: Services, clock) -> None:
    """Its connector cannot send (disabled, not configured): it never left, so no attempt
    is counted, and it waits as long as it takes (issue #20)."""
    (msg,) = await _queue(services, 1)
    held = SendOutcome(
        OutcomeKind.TRANSIENT, "No SMS provider configured: disabled", retry_after=60, held=True
    )
    provider = ScriptedProvider([held] * 5)
    d = Dispatcher(services.db, provider, DispatchPolicy(max_attempts=3), clock=clock)
    for _ in range(5):
        await d.run_once()
        clock.now += timedelta(hours=1)
    waiting = await _message(services, msg.id or 0)
    assert (waiting.status, waiting.attempts) == (MessageStatus.PENDING, 0)
    assert provider.calls[waiting.ret_id or ""] == 5
    await d.run_once()  # the connector can send again
    assert (await _message(services, msg.id or 0)).status == MessageStatus.SENT


async def test_abandoned_sending_is_reclaimed_after_the_lease_with_the_same_ret_id(
    services: Services, clock
) -> None:
    (msg,) = await _queue(services, 1)
    crashed = Dispatcher(
        services.db, ScriptedProvider(), DispatchPolicy(lease_seconds=30), clock=clock
    )
    claimed = await crashed.claim(10)  # claimed, then the process "dies" before sending
    assert [c.id for c in claimed] == [msg.id]
    provider = ScriptedProvider()
    other = Dispatcher(services.db, provider, DispatchPolicy(lease_seconds=30), clock=clock)
    assert (await other.run_once()).claimed == 0  # lease still held
    clock.now += timedelta(seconds=31)
    assert (await other.run_once()).sent == 1
    assert provider.payloads[0].ret_id == msg.ret_id
    assert (await _message(services, msg.id or 0)).attempts == 2


async def test_two_dispatchers_never_claim_the_same_message(services: Services, clock) -> None:
    async with services.db.write() as session:
        await session.execute(sa.update(Account).values(credits=1000))
    await _queue(services, 60)
    a = Dispatcher(services.db, ScriptedProvider(), clock=clock)
    b = Dispatcher(services.db, ScriptedProvider(), clock=clock)
    first, second = await asyncio.gather(a.claim(40), b.claim(40))
    ids_a, ids_b = {c.id for c in first}, {c.id for c in second}
    assert not ids_a & ids_b
    assert len(ids_a | ids_b) == 60


async def test_scheduled_message_waits_for_its_time(services: Services, clock) -> None:
    later = clock.now + timedelta(minutes=10)
    msg = await services.outbound.send_direct(
        Actor("alice"), TO, "+33757000001", "Later", scheduled_at=later
    )
    assert msg.status == MessageStatus.SCHEDULED
    provider = ScriptedProvider()
    d = Dispatcher(services.db, provider, clock=clock)
    assert (await d.run_once()).claimed == 0
    clock.now = later
    assert (await d.run_once()).sent == 1
    assert (await d.run_once()).claimed == 0  # sent once


async def test_an_adapter_crash_is_a_transient_failure(services: Services, clock) -> None:
    (msg,) = await _queue(services, 1)

    class Broken(ScriptedProvider):
        async def send(self, payload: SendPayload) -> SendOutcome:
            raise RuntimeError("boom")

    await Dispatcher(services.db, Broken(), clock=clock).run_once()
    m = await _message(services, msg.id or 0)
    assert m.status == MessageStatus.PENDING
    assert m.error == "adapter error: RuntimeError"
