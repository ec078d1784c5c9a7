"""The outbox (SPEC P3/P4): a message is stored as pending, with its retId, in the same
transaction that debits its credits; a message that never reaches the provider gives its
credits back, exactly once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.enums import Direction, Folder, MessageStatus, MessageType, folder_for
from bannertui.domain.errors import (
    BlacklistedNumber,
    CreditLimitExceeded,
    DuplicateRetId,
    EmptyMessage,
    NoQueueConfigured,
    OptedOut,
)
from bannertui.domain.sms import SmsMeasure, measure
from bannertui.services import accounts
from bannertui.store.models import (
    BlacklistEntry,
    Connector,
    Message,
    MessagePart,
    OptOut,
    Queue,
    SmsNumber,
)

#: Statuses from which a message has not reached the provider yet.
UNSENT = (MessageStatus.SCHEDULED, MessageStatus.PENDING, MessageStatus.SENDING)


def new_ret_id() -> str:
    return uuid.uuid4().hex


def measure_for_send(text: str) -> SmsMeasure:
    """The text's measure, or the refusal that applies to it."""
    if not text or not text.strip():
        raise EmptyMessage("type a message first")
    m = measure(text)
    if m.over_limit:
        raise CreditLimitExceeded(f"{m.credits} credits, 8 at most")
    return m


@dataclass(frozen=True, slots=True)
class OutboundDraft:
    to_number: str
    from_number: str
    text: str
    sender: str | None
    kind: MessageType = MessageType.NOTIFICATION
    agent_id: int | None = None
    queue_id: int | None = None
    interaction_id: int | None = None
    scheduled_at: datetime | None = None
    ret_id: str | None = None
    #: Refuse a number on the blacklist (Blacklisted number).
    check_blacklist: bool = False
    #: Debit at commit (accounts.debit_at_commit) rather than now: for an agent's send,
    #: whose transaction does nothing after the send that could want the credits back.
    debit_at_commit: bool = False
    #: The balance this transaction already read (the agent's context), which the early
    #: check of a debit at commit then uses instead of reading it again.
    balance: int | None = None
    #: The connector it goes through; None: the one that owns ``from_number``, else the
    #: account's first configured one.
    connector_id: int | None = None


async def queue_number(session: AsyncSession, queue: Queue) -> str:
    """The queue's SMS number, which its messages are sent from (No queue configured)."""
    number = (
        await session.scalar(
            sa.select(col(SmsNumber.number)).where(col(SmsNumber.id) == queue.sms_number_id)
        )
        if queue.sms_number_id is not None
        else None
    )
    return sending_number(queue, number)


def sending_number(queue: Queue, number: str | None) -> str:
    """``number``, the queue's SMS number as read with the queue; No queue configured when it
    has none."""
    if queue.sms_number_id is None or number is None:
        raise NoQueueConfigured(f"queue {queue.name!r} has no SMS number")
    return number


async def refuse_blocked(
    session: AsyncSession, number: str, kind: str, *, check_blacklist: bool
) -> None:
    """X1: no MARKETING to a number that opted out; Q4: nothing to a blacklisted number."""
    if kind == MessageType.MARKETING:
        opted = await session.get(OptOut, number)
        if opted is not None:
            raise OptedOut(f"{number} replied {opted.keyword or 'STOP'}: no marketing messages")
    if check_blacklist:
        listed = await session.scalar(
            sa.select(col(BlacklistEntry.reason)).where(col(BlacklistEntry.number) == number)
        )
        if listed is not None:
            raise BlacklistedNumber(f"{number}" + (f" ({listed})" if listed else ""))


async def _connector_for(session: AsyncSession, from_number: str) -> int | None:
    """The connector of our number ``from_number``; else the account's first configured one
    (issue #20: the dispatcher sends each message through its connector)."""
    found = await session.scalar(
        sa.select(col(SmsNumber.connector_id)).where(col(SmsNumber.number) == from_number)
    )
    if found is not None:
        return int(found)
    first = await session.scalar(
        sa.select(sa.func.min(col(Connector.id))).where(
            col(Connector.configured).is_(True), col(Connector.enabled).is_(True)
        )
    )
    return int(first) if first is not None else None


async def enqueue(session: AsyncSession, draft: OutboundDraft, now: datetime) -> Message:
    """Debit and store, in the caller's transaction.  Raises before writing anything when the
    text is empty or over the limit, the retId exists, or the balance is short."""
    m = measure_for_send(draft.text)
    # P2: MARKETING whenever the sender is not set.
    kind = MessageType.MARKETING if not draft.sender else draft.kind
    await refuse_blocked(session, draft.to_number, kind, check_blacklist=draft.check_blacklist)
    ret_id = draft.ret_id or new_ret_id()
    if draft.ret_id is not None:
        seen = await session.scalar(sa.select(col(Message.id)).where(col(Message.ret_id) == ret_id))
        if seen is not None:
            raise DuplicateRetId(f"retId {ret_id!r} was already used")
    if draft.debit_at_commit:
        await accounts.check_balance(session, m.credits, draft.balance)
    scheduled = draft.scheduled_at is not None and draft.scheduled_at > now
    status = MessageStatus.SCHEDULED if scheduled else MessageStatus.PENDING
    connector_id = draft.connector_id or await _connector_for(session, draft.from_number)
    msg = Message(
        connector_id=connector_id,
        interaction_id=draft.interaction_id,
        agent_id=draft.agent_id,
        queue_id=draft.queue_id,
        direction=Direction.OUTBOUND,
        from_number=draft.from_number,
        to_number=draft.to_number,
        remote_number=draft.to_number,
        text=draft.text,
        encoding=m.encoding.value,
        credits=m.credits,
        type=kind,
        sender=draft.sender,
        ret_id=ret_id,
        status=status,
        folder=folder_for(Direction.OUTBOUND, status),
        attempts=0,
        next_attempt_at=draft.scheduled_at if scheduled else now,
        scheduled_at=draft.scheduled_at,
        created_at=now,
    )
    session.add(msg)
    await session.flush()
    assert msg.id is not None
    if draft.debit_at_commit:
        accounts.charge_at_commit(session, msg.id, m.credits)
    else:
        await accounts.charge(session, [msg.id])
    return msg


async def fail_permanently(
    session: AsyncSession, message_id: int, reason: str, now: datetime
) -> bool:
    """Mark an unsent message failed with ``reason`` and give its credits back.

    Conditional on the message still being unsent, so a second call (another dispatcher, a
    retry of this transaction) changes nothing and refunds nothing.  Returns whether it did.
    """
    failed = await session.scalar(
        sa.update(Message)
        .where(col(Message.id) == message_id, col(Message.status).in_(UNSENT))
        .values(
            status=MessageStatus.FAILED,
            folder=Folder.FAILED,
            error=reason[:1000],
            claimed_by=None,
            claimed_at=None,
            next_attempt_at=None,
        )
        .returning(col(Message.id))
    )
    if failed is None:
        return False
    await accounts.refund(session, message_id)
    return True


async def record_provider_ids(session: AsyncSession, ids: dict[int, str]) -> None:
    """The provider's ids of accepted messages (Twilio's MessageSid), which its status
    callbacks name."""
    if ids:
        table: sa.Table = Message.__table__  # type: ignore[attr-defined]
        await session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("mid"))
            .values(provider_message_id=sa.bindparam("pid")),
            [{"mid": mid, "pid": pid} for mid, pid in ids.items()],
        )


async def record_parts(
    session: AsyncSession, parts: list[tuple[int, int, tuple[str, ...]]]
) -> None:
    """The SMSC's ids of each accepted message's parts (connector, message, ids in order):
    their delivery receipts name them (SMPP)."""
    rows = [
        {"connector_id": cid, "provider_id": pid, "message_id": mid, "seq": seq}
        for cid, mid, ids in parts
        for seq, pid in enumerate(ids, start=1)
    ]
    if rows:
        table: sa.Table = MessagePart.__table__  # type: ignore[attr-defined]
        # Written again when an outcome's transaction is retried: once is enough.
        if session.get_bind().dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        await session.execute(insert(table).on_conflict_do_nothing(), rows)


async def mark_sent(session: AsyncSession, message_id: int, now: datetime) -> bool:
    """The provider accepted the message (credits stay spent)."""
    return await mark_sent_many(session, [message_id], now) == 1


async def mark_sent_many(session: AsyncSession, message_ids: list[int], now: datetime) -> int:
    """The provider accepted these messages: one statement for the batch.  Returns how many
    were still unsent (and so changed)."""
    if not message_ids:
        return 0
    result = await session.execute(
        sa.update(Message)
        .where(col(Message.id).in_(message_ids), col(Message.status).in_(UNSENT))
        .values(
            status=MessageStatus.SENT,
            folder=Folder.SENT,
            sent_at=now,
            error=None,
            claimed_by=None,
            claimed_at=None,
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)
