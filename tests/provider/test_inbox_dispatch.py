"""SPEC I6/I7 end to end: inbox sends through a Dispatcher to the provider simulator over
loopback HTTPS, on SQLite and PostgreSQL, with a clock the test moves.

- a scheduled message is not claimed before its time, and is POSTed once after it;
- the time passed while no dispatcher ran: the next one to start sends it, exactly once
  (two dispatchers one after the other, or two at once: one POST);
- a failed message resent from the inbox goes out with its original retId.

Fixtures here are prefixed ``inbox_`` (tests/provider/ has no shared conftest).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bannertui.domain.actor import Actor
from bannertui.domain.enums import MessageStatus
from bannertui.gateway.http import HttpProvider
from bannertui.services import Services
from bannertui.services.dispatch import Dispatcher, DispatchPolicy
from bannertui.services.gateway import ProviderConfig
from bannertui.services.inbox import View
from bannertui.simulator.provider import Simulator, SimulatorConfig, TlsFiles, make_tls
from bannertui.store.database import Database
from bannertui.store.models import Message

LEA = "+33612000001"
THOMAS = "+33612000002"
PARIS = "+33757000001"
POLICY = DispatchPolicy(concurrency=8, base_backoff=0.01, max_backoff=0.05, poll_seconds=0.05)


@pytest.fixture(scope="module")
def inbox_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("inbox-certs"))


@pytest.fixture
async def inbox_sim(inbox_tls: TlsFiles) -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(seed=5), inbox_tls) as sim:
        yield sim


@pytest.fixture
async def inbox_provider(inbox_sim: Simulator, inbox_tls: TlsFiles) -> AsyncIterator[HttpProvider]:
    provider = HttpProvider(ProviderConfig(url=inbox_sim.url, ca_file=inbox_tls.ca, timeout=5))
    try:
        yield provider
    finally:
        await provider.aclose()


def dispatcher(services: Services, provider: HttpProvider, clock: Any, name: str) -> Dispatcher:
    return Dispatcher(services.db, provider, POLICY, clock=clock, name=name)


async def stored(db: Database, mid: int) -> Message:
    async with db.read() as session:
        msg = await session.get(Message, mid)
    assert msg is not None
    return msg


async def test_a_scheduled_message_waits_for_its_time_then_is_sent_once(
    seeded: Database, clock: Any, inbox_sim: Simulator, inbox_provider: HttpProvider
) -> None:
    services = Services(seeded, clock)
    start = clock.now
    at = start + timedelta(hours=2)
    (later,) = (
        await services.inbox.send(Actor("alice"), [LEA], "At ten past noon", scheduled_at=at)
    ).message_ids
    (now_id,) = (await services.inbox.send(Actor("alice"), [THOMAS], "Right away")).message_ids
    d = dispatcher(services, inbox_provider, clock, "d1")

    stats = await d.run_once()
    assert (stats.claimed, stats.sent) == (1, 1)  # only the unscheduled one
    assert [r.payload["to"] for r in inbox_sim.records] == [THOMAS]
    assert (await stored(seeded, now_id)).status == MessageStatus.SENT
    waiting = await stored(seeded, later)
    assert (waiting.status, waiting.attempts, waiting.claimed_by) == (
        MessageStatus.SCHEDULED,
        0,
        None,
    )

    clock.now = at - timedelta(seconds=1)
    assert (await d.run_once()).claimed == 0
    assert inbox_sim.requests == 1
    assert later in {
        r.id for r in (await services.inbox.page(Actor("alice"), View.PENDING)).rows
    }  # still in SMS pending

    clock.now = at
    stats = await d.run_once()
    assert (stats.claimed, stats.sent, stats.failed) == (1, 1, 0)
    done = await stored(seeded, later)
    assert done.status == MessageStatus.SENT
    assert done.sent_at == at
    assert done.attempts == 1
    assert inbox_sim.requests == 2
    assert inbox_sim.accepted[done.ret_id or ""] == {
        "type": "NOTIFICATION",
        "sender": PARIS,
        "to": LEA,
        "retId": done.ret_id,
        "isUnicode": False,
        "text": "At ten past noon",
        "credits": 1,
    }
    assert later in {r.id for r in (await services.inbox.page(Actor("alice"), View.SENT)).rows}

    clock.now = at + timedelta(hours=1)
    assert (await d.run_once()).claimed == 0
    assert inbox_sim.requests == 2
    assert inbox_sim.duplicates == 0


async def test_time_passed_while_no_dispatcher_ran_sent_once_on_next_start(
    seeded: Database, clock: Any, inbox_sim: Simulator, inbox_provider: HttpProvider
) -> None:
    services = Services(seeded, clock)
    at = clock.now + timedelta(minutes=10)
    report = await services.inbox.send(Actor("alice"), [LEA, THOMAS], "Reminder", scheduled_at=at)
    balance = await services.accounts.balance(Actor("alice"))

    clock.now = at + timedelta(hours=3)  # the app was down at the time
    first = await dispatcher(services, inbox_provider, clock, "after-restart").run_once()
    assert (first.claimed, first.sent) == (2, 2)
    second = await dispatcher(services, inbox_provider, clock, "next-start").run_once()
    assert second.claimed == 0

    assert inbox_sim.requests == 2  # one POST per message
    assert inbox_sim.duplicates == 0
    assert sorted(r.payload["to"] for r in inbox_sim.records) == [LEA, THOMAS]
    for mid in report.message_ids:
        msg = await stored(seeded, mid)
        assert msg.status == MessageStatus.SENT
        assert msg.sent_at == clock.now
        assert msg.attempts == 1
    assert await services.accounts.balance(Actor("alice")) == balance  # debited once, when stored


async def test_two_dispatchers_starting_together_send_an_overdue_message_once(
    seeded: Database, clock: Any, inbox_sim: Simulator, inbox_provider: HttpProvider
) -> None:
    services = Services(seeded, clock)
    at = clock.now + timedelta(minutes=1)
    (mid,) = (await services.inbox.send(Actor("alice"), [LEA], "Once", scheduled_at=at)).message_ids
    clock.now = at + timedelta(days=1)
    stats = await asyncio.gather(
        *(dispatcher(services, inbox_provider, clock, f"d{i}").run_once() for i in range(3))
    )
    assert sum(s.claimed for s in stats) == 1
    assert sum(s.sent for s in stats) == 1
    assert inbox_sim.requests == 1
    assert len(inbox_sim.records) == 1
    assert (await stored(seeded, mid)).status == MessageStatus.SENT


async def test_a_deleted_scheduled_message_is_still_sent(
    seeded: Database, clock: Any, inbox_sim: Simulator, inbox_provider: HttpProvider
) -> None:
    """The inbox's documented rule: deleting only hides a message, it never cancels a send."""
    services = Services(seeded, clock)
    at = clock.now + timedelta(minutes=5)
    (mid,) = (
        await services.inbox.send(Actor("alice"), [LEA], "Hidden", scheduled_at=at)
    ).message_ids
    assert await services.inbox.delete(Actor("alice"), [mid]) == 1
    clock.now = at
    assert (await dispatcher(services, inbox_provider, clock, "d").run_once()).sent == 1
    assert len(inbox_sim.records) == 1
    msg = await stored(seeded, mid)
    assert (msg.status, msg.deleted) == (MessageStatus.SENT, True)
    assert await services.inbox.restore(Actor("alice"), [mid]) == 1
    assert mid in {r.id for r in (await services.inbox.page(Actor("alice"), View.SENT)).rows}


async def test_a_refused_message_resent_goes_out_with_its_ret_id(
    seeded: Database, clock: Any, inbox_sim: Simulator, inbox_provider: HttpProvider
) -> None:
    services = Services(seeded, clock)
    start = await services.accounts.balance(Actor("alice"))
    (mid,) = (await services.inbox.send(Actor("alice"), [LEA], "Try me")).message_ids
    inbox_sim.config.fail_rate, inbox_sim.config.status = 1.0, 400  # refuse everything
    d = dispatcher(services, inbox_provider, clock, "d")
    assert (await d.run_once()).failed == 1
    failed = await stored(seeded, mid)
    assert failed.status == MessageStatus.FAILED
    assert failed.error
    assert await services.accounts.balance(Actor("alice")) == start  # refunded

    report = await services.inbox.resend_failed(Actor("alice"), [mid])
    assert report.requeued == 1
    assert await services.accounts.balance(Actor("alice")) == start - 1
    inbox_sim.config.fail_rate = 0.0
    clock.now += timedelta(seconds=1)
    assert (await d.run_once()).sent == 1
    done = await stored(seeded, mid)
    assert done.status == MessageStatus.SENT
    assert done.ret_id == failed.ret_id
    assert done.attempts == 1  # reset by the resend
    assert list(inbox_sim.accepted) == [failed.ret_id]
    assert inbox_sim.requests == 2  # the refused POST and the accepted one
    assert inbox_sim.duplicates == 0
    assert await services.accounts.balance(Actor("alice")) == start - 1


async def test_a_message_failed_on_delivery_is_really_sent_again_or_not_charged(
    seeded: Database, clock: Any, inbox_sim: Simulator, inbox_provider: HttpProvider
) -> None:
    services = Services(seeded, clock)
    (mid,) = (await services.inbox.send(Actor("alice"), [LEA], "Are you there?")).message_ids
    d = dispatcher(services, inbox_provider, clock, "d")
    assert (await d.run_once()).sent == 1
    ret_id = (await stored(seeded, mid)).ret_id or ""
    await services.inbound.record_receipt(ret_id, "failed", "Handset switched off")
    assert (await stored(seeded, mid)).status == MessageStatus.FAILED
    balance = await services.accounts.balance(Actor("alice"))

    report = await services.inbox.resend_failed(Actor("alice"), [mid])
    clock.now += timedelta(seconds=1)
    await d.run_once()
    resent_at_provider = len(inbox_sim.records) == 2 and inbox_sim.duplicates == 0
    charged = await services.accounts.balance(Actor("alice")) < balance
    # either it really went out again, or it was refused and cost nothing
    status = (await stored(seeded, mid)).status
    assert resent_at_provider or (report.requeued == 0 and not charged), (
        f"requeued {report.requeued}, charged {charged}, provider duplicates "
        f"{inbox_sim.duplicates}, records {len(inbox_sim.records)}, status now {status}"
    )
