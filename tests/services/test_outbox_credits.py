"""The outbox (SPEC P2-P4) and the credit balance, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from svc_helpers import Demo

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Folder, MessageStatus, MessageType
from bannertui.domain.errors import (
    BalanceLimitExceeded,
    BannerError,
    CreditLimitExceeded,
    DuplicateRetId,
    EmptyMessage,
    InsufficientCredits,
    InvalidAmount,
    NoProviderConfigured,
    NotAllowed,
)
from bannertui.services import Services, accounts
from bannertui.services.outbox import OutboundDraft, enqueue, fail_permanently, mark_sent
from bannertui.store.database import Database
from bannertui.store.models import Account, Message

MOBILE = "+33612345678"
SENDER = "+33757000001"
START_CREDITS = 500


async def _two_credit_message(services: Services) -> Message:
    msg = await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "c" * 161)
    assert msg.credits == 2
    assert msg.id is not None
    return msg


async def _fail(services: Services, message_id: int, reason: str = "provider refused") -> bool:
    async with services.db.write() as session:
        return await fail_permanently(session, message_id, reason, services.outbound.clock())


async def _mark_sent(services: Services, message_id: int) -> bool:
    async with services.db.write() as session:
        return await mark_sent(session, message_id, services.outbound.clock())


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py)."""
    return fast_seeded


# --- fail_permanently / mark_sent -------------------------------------------------------


async def test_fail_permanently_refunds_exactly_once(services: Services, demo: Demo) -> None:
    msg = await _two_credit_message(services)
    assert await demo.balance() == START_CREDITS - 2
    assert await _fail(services, msg.id) is True  # type: ignore[arg-type]
    assert await demo.balance() == START_CREDITS
    stored = await demo.message(msg.id)  # type: ignore[arg-type]
    assert stored.status == MessageStatus.FAILED
    assert stored.folder == Folder.FAILED
    assert stored.error == "provider refused"
    assert stored.next_attempt_at is None
    assert stored.claimed_by is None
    assert stored.credits == 2  # the row keeps what it cost

    assert await _fail(services, msg.id, "again") is False  # type: ignore[arg-type]
    assert await demo.balance() == START_CREDITS
    assert (await demo.message(msg.id)).error == "provider refused"  # type: ignore[arg-type]


async def test_fail_permanently_concurrent_refunds_once(services: Services, demo: Demo) -> None:
    msg = await _two_credit_message(services)

    async def fail(session: Any) -> bool:
        return await fail_permanently(session, msg.id, "x", services.outbound.clock())  # type: ignore[arg-type]

    results = await asyncio.gather(*(services.db.run_write(fail) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert await demo.balance() == START_CREDITS


async def test_fail_permanently_truncates_the_reason(services: Services, demo: Demo) -> None:
    msg = await _two_credit_message(services)
    assert await _fail(services, msg.id, "e" * 3000) is True  # type: ignore[arg-type]
    assert (await demo.message(msg.id)).error == "e" * 1000  # type: ignore[arg-type]


async def test_fail_permanently_unknown_message(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    assert await _fail(services, 987654) is False
    assert await demo.snapshot() == before


async def test_mark_sent_after_fail_does_nothing(services: Services, demo: Demo) -> None:
    msg = await _two_credit_message(services)
    assert await _fail(services, msg.id) is True  # type: ignore[arg-type]
    before = await demo.snapshot()
    assert await _mark_sent(services, msg.id) is False  # type: ignore[arg-type]
    stored = await demo.message(msg.id)  # type: ignore[arg-type]
    assert stored.status == MessageStatus.FAILED
    assert stored.folder == Folder.FAILED
    assert stored.sent_at is None
    assert stored.error == "provider refused"
    assert await demo.snapshot() == before


async def test_mark_sent_then_fail_keeps_credits_spent(
    services: Services, demo: Demo, clock: Any
) -> None:
    msg = await _two_credit_message(services)
    clock.now += timedelta(seconds=5)
    sent_at = clock.now
    assert await _mark_sent(services, msg.id) is True  # type: ignore[arg-type]
    stored = await demo.message(msg.id)  # type: ignore[arg-type]
    assert stored.status == MessageStatus.SENT
    assert stored.folder == Folder.SENT
    assert stored.sent_at == sent_at
    assert stored.next_attempt_at is None
    clock.now += timedelta(seconds=5)
    assert await _mark_sent(services, msg.id) is False  # type: ignore[arg-type]
    assert (await demo.message(msg.id)).sent_at == sent_at  # type: ignore[arg-type]
    assert await _fail(services, msg.id) is False  # type: ignore[arg-type]
    assert (await demo.message(msg.id)).status == MessageStatus.SENT  # type: ignore[arg-type]
    assert await demo.balance() == START_CREDITS - 2


async def test_fail_after_delivered_does_nothing(services: Services, demo: Demo) -> None:
    msg = await _two_credit_message(services)
    await services.inbound.record_receipt(msg.ret_id, "delivered")  # type: ignore[arg-type]
    assert await _fail(services, msg.id) is False  # type: ignore[arg-type]
    assert (await demo.message(msg.id)).status == MessageStatus.DELIVERED  # type: ignore[arg-type]
    assert await demo.balance() == START_CREDITS - 2


# --- scheduling -------------------------------------------------------------------------


async def test_scheduled_draft(services: Services, demo: Demo, clock: Any) -> None:
    at = clock.now + timedelta(hours=2)
    msg = await services.outbound.send_direct(
        Actor("chloe"), MOBILE, None, "Later", scheduled_at=at
    )
    assert msg.status == MessageStatus.SCHEDULED
    assert msg.folder == Folder.PENDING
    assert msg.scheduled_at == at
    assert msg.next_attempt_at == at
    stored = await demo.message(msg.id)  # type: ignore[arg-type]
    assert stored.status == MessageStatus.SCHEDULED
    assert stored.folder == Folder.PENDING
    assert stored.scheduled_at == at
    # Credits are reserved when the draft is stored...
    assert await demo.balance() == START_CREDITS - 1
    # ...and given back if it never goes.
    assert await _fail(services, msg.id, "cancelled") is True  # type: ignore[arg-type]
    assert await demo.balance() == START_CREDITS


async def test_schedule_at_now_is_pending(services: Services, clock: Any) -> None:
    async with services.db.write() as session:
        msg = await enqueue(
            session,
            OutboundDraft(MOBILE, SENDER, "Now", SENDER, scheduled_at=clock.now),
            clock.now,
        )
    assert msg.status == MessageStatus.PENDING
    assert msg.next_attempt_at == clock.now


# --- enqueue ----------------------------------------------------------------------------


@pytest.mark.parametrize("sender", [None, ""])
@pytest.mark.parametrize("kind", [MessageType.NOTIFICATION, MessageType.MARKETING])
async def test_marketing_forced_without_sender(
    services: Services, demo: Demo, clock: Any, sender: str | None, kind: MessageType
) -> None:
    async with services.db.write() as session:
        msg = await enqueue(
            session, OutboundDraft(MOBILE, SENDER, "Promo", sender, kind=kind), clock.now
        )
        message_id = msg.id
    assert message_id is not None
    stored = await demo.message(message_id)
    assert stored.type == MessageType.MARKETING
    assert stored.status == MessageStatus.PENDING
    assert stored.folder == Folder.PENDING
    assert await demo.balance() == START_CREDITS - 1


@pytest.mark.parametrize("kind", [MessageType.NOTIFICATION, MessageType.MARKETING])
async def test_kind_kept_with_sender(services: Services, clock: Any, kind: MessageType) -> None:
    async with services.db.write() as session:
        msg = await enqueue(
            session, OutboundDraft(MOBILE, SENDER, "Hi", SENDER, kind=kind), clock.now
        )
    assert msg.type == kind
    assert msg.sender == SENDER


@pytest.mark.parametrize(
    ("text", "ret_id", "credits", "error"),
    [
        ("", None, 500, EmptyMessage),
        (" \n", None, 500, EmptyMessage),
        ("a" * 1225, None, 500, CreditLimitExceeded),
        ("hi", "seen-ret-id", 500, DuplicateRetId),
        ("hi", None, 0, InsufficientCredits),
        ("a" * 161, None, 1, InsufficientCredits),
    ],
)
async def test_enqueue_refusals_write_nothing(
    services: Services,
    demo: Demo,
    clock: Any,
    text: str,
    ret_id: str | None,
    credits: int,
    error: type[BannerError],
) -> None:
    await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "first", ret_id="seen-ret-id")
    await demo.set_account(credits=credits)
    before = await demo.snapshot()
    with pytest.raises(error):
        async with services.db.write() as session:
            await enqueue(
                session, OutboundDraft(MOBILE, SENDER, text, SENDER, ret_id=ret_id), clock.now
            )
    assert await demo.snapshot() == before


# --- the balance ------------------------------------------------------------------------


async def test_balance_never_goes_negative(services: Services, demo: Demo) -> None:
    await demo.set_account(credits=5)
    await _two_credit_message(services)
    await _two_credit_message(services)
    with pytest.raises(InsufficientCredits):
        await _two_credit_message(services)
    assert await demo.balance() == 1
    await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "last one")
    assert await demo.balance() == 0


async def test_concurrent_sends_never_overdraw(services: Services, demo: Demo) -> None:
    await demo.set_account(credits=3)
    before = await demo.count(Message)
    results = await asyncio.gather(
        *(services.outbound.send_direct(Actor("chloe"), MOBILE, None, f"m{i}") for i in range(8)),
        return_exceptions=True,
    )
    ok = [r for r in results if isinstance(r, Message)]
    refused = [r for r in results if isinstance(r, InsufficientCredits)]
    assert len(ok) == 3
    assert len(refused) == 5
    assert await demo.balance() == 0
    assert await demo.count(Message) == before + 3


@pytest.mark.parametrize(
    "statement",
    ["UPDATE account SET credits = -1", "UPDATE account SET credits = credits - 501"],
)
async def test_check_constraint_rejects_negative_balance(
    services: Services, demo: Demo, statement: str
) -> None:
    with pytest.raises(IntegrityError):
        async with services.db.write() as session:
            await session.execute(sa.text(statement))
    assert await demo.balance() == START_CREDITS


async def test_check_constraint_rejects_negative_message_credits(
    services: Services, demo: Demo
) -> None:
    msg = await _two_credit_message(services)
    with pytest.raises(IntegrityError):
        async with services.db.write() as session:
            await session.execute(sa.update(Message).where(Message.id == msg.id).values(credits=-1))
    assert (await demo.message(msg.id)).credits == 2  # type: ignore[arg-type]


async def test_charge_is_conditional_and_once(services: Services, demo: Demo) -> None:
    """A send is paid for once: charging it again is refused, a refund gives back only what
    was paid, once, and only for a failed message never sent."""
    msg = await _two_credit_message(services)
    assert msg.id is not None
    assert (await demo.message(msg.id)).paid
    await demo.set_account(credits=3)
    with pytest.raises(NotAllowed):  # paid already: refused, nothing taken
        async with services.db.write() as session:
            await accounts.charge(session, [msg.id])
    assert await demo.balance() == 3
    async with services.db.write() as session:  # not failed: no refund
        assert await accounts.refund(session, msg.id) == 0
        await session.execute(
            sa.update(Message).where(col(Message.id) == msg.id).values(status="failed")
        )
        assert await accounts.refund(session, msg.id) == 2
        assert await accounts.refund(session, msg.id) == 0
    assert await demo.balance() == 5
    async with services.db.write() as session:
        await session.execute(
            sa.update(Message).where(col(Message.id) == msg.id).values(status="pending")
        )
    await demo.set_account(credits=1)
    with pytest.raises(InsufficientCredits) as exc:
        async with services.db.write() as session:
            await accounts.charge(session, [msg.id])
    assert "2 needed, 1 left" in str(exc.value)
    assert await demo.balance() == 1
    assert not (await demo.message(msg.id)).paid
    async with services.db.write() as session:
        assert await accounts.charge(session, []) == 0
    await demo.set_account(credits=2)
    async with services.db.write() as session:
        assert await accounts.charge(session, [msg.id]) == 2
    assert await demo.balance() == 0
    assert (await demo.message(msg.id)).paid


async def test_add_credits(services: Services, demo: Demo, clock: Any) -> None:
    assert await services.accounts.add_credits(Actor("admin"), 100) == START_CREDITS + 100
    assert await services.accounts.balance(Actor("admin")) == START_CREDITS + 100
    assert await demo.balance() == START_CREDITS + 100
    (event,) = await demo.audit("credits.added")
    assert event.actor == "admin"
    assert event.target == "account"
    assert event.at == clock.now
    assert json.loads(event.detail) == {"amount": 100}
    with pytest.raises(NotAllowed, match="sam is not an administrator"):
        await services.accounts.add_credits(Actor("sam"), 1)
    assert await demo.balance() == START_CREDITS + 100
    assert len(await demo.audit("credits.added")) == 1


@pytest.mark.parametrize(
    "amount", [0, -1, -500, accounts.MAX_BALANCE + 1, 2**63 - 1, 10**23, True, 2.0]
)
async def test_add_credits_is_a_bounded_whole_number(
    services: Services, demo: Demo, amount: Any
) -> None:
    """Issue #16: 2**63 - 1 made SQLite's balance a float; 10**23 raised OverflowError."""
    before = await demo.snapshot()
    with pytest.raises(InvalidAmount, match="whole number from 1 to 1,000,000,000"):
        await services.accounts.add_credits(Actor("admin"), amount)
    assert await demo.snapshot() == before


async def test_the_balance_stays_an_integer_up_to_its_limit(services: Services, demo: Demo) -> None:
    await demo.set_account(credits=accounts.MAX_BALANCE - 10)
    added = await services.accounts.add_credits(Actor("admin"), 10)
    assert added == accounts.MAX_BALANCE
    assert type(await services.accounts.balance(Actor("admin"))) is int
    before = await demo.snapshot()
    with pytest.raises(BalanceLimitExceeded, match="1,000,000,000 credits"):
        await services.accounts.add_credits(Actor("admin"), 1)
    assert await demo.snapshot() == before
    async with services.db.read() as session:
        raw = await session.scalar(sa.text("SELECT credits FROM account"))
    assert raw == accounts.MAX_BALANCE
    assert type(raw) is int


async def test_add_credits_refills_after_insufficient(services: Services, demo: Demo) -> None:
    await demo.set_account(credits=0)
    with pytest.raises(InsufficientCredits):
        await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "Hi")
    await services.accounts.add_credits(Actor("admin"), 1)
    await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "Hi")
    assert await demo.balance() == 0


async def test_account_missing_then_ensured(services: Services, demo: Demo) -> None:
    async with services.db.write() as session:
        await session.execute(sa.delete(Account))
    await demo.set_provider(None)  # and no connector can send
    with pytest.raises(NoProviderConfigured):
        await services.accounts.balance(Actor("admin"))
    with pytest.raises(NoProviderConfigured):
        await services.accounts.add_credits(Actor("admin"), 5)
    await services.accounts.ensure()
    account = await services.accounts.get(Actor("admin"))
    assert account.credits == 0
    assert account.provider_url is None
    assert not account.provider_set
    assert await services.accounts.balance(Actor("admin")) == 0
    # An account without a provider refuses every outbound flow (B1).
    with pytest.raises(NoProviderConfigured):
        await services.agents.outbound_options(Actor("alice"))
    # ensure() leaves an existing account alone.
    await services.accounts.add_credits(Actor("admin"), 7)
    await services.accounts.ensure()
    assert await services.accounts.balance(Actor("admin")) == 7
