"""What the provider tells us: inbound SMS and delivery receipts (stored once each)."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.enums import Direction, Folder, MessageStatus, MessageType
from bannertui.domain.errors import BannerError, UnknownMessage
from bannertui.domain.sms import measure
from bannertui.domain.text import has_lone_surrogate
from bannertui.services.agents import OPEN_STATUSES
from bannertui.services.base import Service
from bannertui.services.gateway import MobileOriginated, PartReport
from bannertui.services.routing import (
    handle_keyword,
    is_blacklisted,
    not_triggered,
    open_interaction,
    route_inbound,
)
from bannertui.store.database import LOCK_QUEUE, lock
from bannertui.store.models import (
    Interaction,
    Message,
    MessagePart,
    Queue,
    SmsNumber,
    UTCDateTime,
)
from bannertui.store.notify import agent_topic, concerns, status_moved

log = logging.getLogger(__name__)

MAX_INBOUND_TEXT = 10_000
MAX_ADDRESS = 16


class InvalidInbound(BannerError):
    name = "Invalid inbound message"


class ReceiptStatus(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


class ProviderStatus(enum.StrEnum):
    """A status callback's news, in our terms (each connector type maps its own)."""

    ACCEPTED = "accepted"  # the provider has it (queued, sending, sent)
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class InboundResult:
    message: Message
    created: bool  # False when the provider id was seen before (stored once)


def _address(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_ADDRESS or not value.isprintable():
        raise InvalidInbound(f"{field} must be a phone number or sender id of 1–16 characters")
    return value


async def _locked_if_open(session: AsyncSession, interaction_id: int) -> Interaction | None:
    fresh = await session.scalar(
        sa.select(Interaction)
        .where(col(Interaction.id) == interaction_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if fresh is None or fresh.status not in OPEN_STATUSES:
        return None
    return fresh


def tell_delivered(session: AsyncSession, msg: Message) -> None:
    """Its agent's Banner updates the message to "delivered" in place (no reload)."""
    if msg.agent_id is not None:
        status_moved(session, agent_topic(msg.agent_id), msg.id or 0, MessageStatus.DELIVERED.value)


class InboundService(Service):
    async def receive(
        self,
        from_number: str,
        to_number: str,
        text: str,
        provider_message_id: str,
        received_at: datetime | None = None,
        *,
        connector_id: int | None = None,
        provider_confirms_optout: bool = False,
    ) -> InboundResult:
        """Store an inbound SMS once per provider id, and route it (see services.routing):
        opt-out keywords, the queue's blacklist and limits, its interaction and agent; an SMS
        to a number of no queue lands in the inbox only.  ``connector_id``: the connector it
        came through (recorded); ``provider_confirms_optout``: the provider answers STOP and
        START itself (Twilio), so the opt-out is recorded and no confirmation is sent."""
        sender = _address(from_number, "from")
        recipient = _address(to_number, "to")
        if not provider_message_id or len(provider_message_id) > 128:
            raise InvalidInbound("a provider message id of 1–128 characters is required")
        if len(text) > MAX_INBOUND_TEXT:
            raise InvalidInbound(f"text longer than {MAX_INBOUND_TEXT} characters")
        for field, value in (("text", text), ("id", provider_message_id)):
            if "\x00" in value or has_lone_surrogate(value):
                raise InvalidInbound(f"{field} contains a NUL character or invalid Unicode")

        async def existing() -> Message | None:
            async with self.db.read() as session:
                return await session.scalar(
                    sa.select(Message).where(
                        col(Message.provider_message_id) == provider_message_id
                    )
                )

        async def tx(session: AsyncSession) -> Message:
            concerns(session)  # the agent it is routed to, below; else the inbox's screens
            # Our number it was sent to: its queue, and its connector — the one it came
            # through, unless the receiver's path says (Twilio's; https-json has one path for
            # every connector of the type).  One read.
            found = (
                await session.execute(
                    sa.select(col(SmsNumber.connector_id), Queue)
                    .select_from(SmsNumber)
                    .outerjoin(Queue, col(Queue.sms_number_id) == col(SmsNumber.id))
                    .where(col(SmsNumber.number) == recipient)
                )
            ).first()
            queue = found[1] if found is not None else None  # locked below only to route
            came_through = connector_id
            if came_through is None and found is not None:
                came_through = found[0]
            blacklisted = bool(
                queue is not None
                and queue.inbound_blacklist
                and await is_blacklisted(session, sender)
            )
            # The conversation it joins, locked (PostgreSQL) before the message is stored: its
            # id is then taken in the order the conversation's texts commit, and a text that
            # waited for the lock never lands above one the agent has already seen.
            current = None if blacklisted else await self._current(session, queue, sender)
            now = self.clock()  # after the lock: stamped in that order too
            at = received_at or now
            m = measure(text)
            # Stored first: whatever routing sends in answer (bots, out-of-hours, opt-out
            # confirmations) comes after it in the thread.
            msg = Message(
                queue_id=queue.id if queue else None,
                connector_id=came_through,
                direction=Direction.INBOUND,
                from_number=sender,
                to_number=recipient,
                remote_number=sender,
                text=text,
                encoding=m.encoding.value,
                credits=0,
                type=MessageType.NOTIFICATION,
                provider_message_id=provider_message_id,
                status=MessageStatus.RECEIVED,
                folder=Folder.RECEIVED,
                created_at=at,
            )
            session.add(msg)
            await session.flush()
            rejected: str | None = None
            interaction: Interaction | None = None
            if blacklisted:
                rejected = "Blacklisted number"
            else:
                keyword = await handle_keyword(
                    self,
                    session,
                    sender,
                    recipient,
                    text,
                    now,
                    queue=queue,
                    interaction=current,
                    confirm=not provider_confirms_optout,
                )
                if keyword is not None:
                    interaction = current  # STOP / START join an open conversation, open none
                elif queue is not None:
                    interaction, rejected = await route_inbound(
                        self, session, queue, sender, recipient, text, now, current=current
                    )
            if interaction is not None:
                interaction.unread += 1
                interaction.last_message_at = at
                msg.interaction_id = interaction.id
                msg.agent_id = interaction.agent_id
                if interaction.agent_id is not None:
                    concerns(session, agent_topic(interaction.agent_id))
            if rejected is not None:
                not_triggered(msg, rejected)
                self.audit(session, "system", "sms.not_triggered", sender, reason=rejected)
            await session.flush()
            return msg

        try:
            msg = await self.db.run_write(tx)
        except IntegrityError:
            # The provider id is stored already (the unique index says so, with no read
            # before every text): the provider sent it again, or another receiver has it.
            again = await existing()
            if again is None:
                raise
            await self._announce_again(again)
            return InboundResult(again, created=False)
        return InboundResult(msg, created=True)

    async def _announce_again(self, msg: Message) -> None:
        """A text the provider sends again had no answer: the receiver that stored it may
        have died before its notifications went out (they follow the commit when the receiver
        sends them together, ``Database.notify_every``).  Its screens hear of it again
        (PostgreSQL; SQLite's check sees the commit itself)."""
        if self.db.is_sqlite:
            return
        async with self.db.write() as session:  # a notification alone, no data
            concerns(session, *([agent_topic(msg.agent_id)] if msg.agent_id is not None else []))

    async def _current(
        self, session: AsyncSession, queue: Queue | None, sender: str
    ) -> Interaction | None:
        """The sender's open interaction in ``queue``, which the message joins; None when a
        new one must be routed.

        PostgreSQL: the interaction found is locked and read again (a close or a mark-read
        may have committed meanwhile: its unread count is then added to, not overwritten).
        Only when there is none is the queue locked — one new conversation routed at a time
        per queue — and the look-up repeated (the same sender's previous text may have just
        opened one).  Most texts join a conversation and never wait for the queue: with the
        queue locked for every text, four queues took about 20 inbound texts a second under
        bench/load.  The interaction's lock is FOR NO KEY UPDATE: it does not block the
        key-share lock that inserting a message of this interaction takes for its foreign key
        (with FOR UPDATE an agent's send and an inbound text deadlocked).  The queue's is an
        advisory lock (store.database.lock), which needs no right to change the queue.
        SQLite has one writer at a time: nothing to lock.
        """
        if queue is None:
            return None
        current = await open_interaction(session, queue.id or 0, sender)
        if self.db.is_sqlite:
            return current
        if current is not None:
            current = await _locked_if_open(session, current.id or 0)
        if current is None:
            await lock(session, LOCK_QUEUE, queue.id or 0)
            current = await open_interaction(session, queue.id or 0, sender)
            if current is not None:
                current = await _locked_if_open(session, current.id or 0)
        return current

    async def record_receipt(
        self, ret_id: str, status: ReceiptStatus | str, reason: str | None = None
    ) -> Message:
        """A delivery receipt: sent → delivered or failed (with the reason).  Receipts are
        idempotent, and a late "failed" never overrides "delivered".  The provider accepted the
        message, so a failed delivery keeps its credits spent."""
        try:
            outcome = ReceiptStatus(status)
        except ValueError:
            raise InvalidInbound(
                f"receipt status must be delivered or failed, not {status!r}"
            ) from None

        async def delivered(session: AsyncSession) -> Message | None:
            """The common receipt in one statement: delivered, unless it already was."""
            now = self.clock()
            msg = await session.scalar(
                sa.update(Message)
                .where(
                    col(Message.ret_id) == ret_id,
                    col(Message.status) != MessageStatus.DELIVERED,
                )
                .values(
                    status=MessageStatus.DELIVERED,
                    folder=Folder.SENT,
                    delivered_at=now,
                    error=None,
                    sent_at=sa.func.coalesce(col(Message.sent_at), sa.literal(now, UTCDateTime())),
                )
                .returning(Message)
                .execution_options(synchronize_session=False)
            )
            if msg is not None:
                tell_delivered(session, msg)
            return msg

        async def tx(session: AsyncSession) -> Message:
            concerns(session)  # its Banner's, below
            if outcome is ReceiptStatus.DELIVERED:
                done = await delivered(session)
                if done is not None:
                    return done
            msg = await session.scalar(sa.select(Message).where(col(Message.ret_id) == ret_id))
            if msg is None:
                raise UnknownMessage(f"no message with retId {ret_id!r}")
            if msg.status == MessageStatus.DELIVERED:
                # Repeated: the provider had no answer, and the receiver may have died before
                # its notifications went out (Database notify_every): its Banner hears again.
                tell_delivered(session, msg)
                return msg
            # A failed delivery (a "delivered" one was written above): never over "delivered".
            if msg.agent_id is not None:
                concerns(session, agent_topic(msg.agent_id))
            if msg.status != MessageStatus.FAILED:
                msg.status = MessageStatus.FAILED
                msg.folder = Folder.FAILED
                msg.error = (reason or "delivery failed")[:1000]
            # Its credits stay spent on the attempt; a resend pays anew (accounts.charge).
            msg.paid = False
            return msg

        return await self.db.run_write(tx)

    async def provider_status(
        self,
        connector_id: int,
        provider_id: str,
        status: ProviderStatus | str,
        *,
        ret_id: str | None = None,
        reason: str | None = None,
        segments: int | None = None,
    ) -> Message:
        """A status callback of a connector that names messages by its own id (Twilio's
        MessageSid; ``ret_id`` when the callback's URL carries ours).

        ``accepted``: the provider has the message.  One still unsent — its answer was lost
        (a timeout, a dropped connection) — is marked sent with the provider's id, and is not
        sent again (docs/connectors.md).  ``delivered`` and ``failed`` are then recorded as
        :meth:`record_receipt` records them.  ``segments``: what the provider counted, checked
        against our credits (a mismatch is logged)."""
        try:
            outcome = ProviderStatus(status)
        except ValueError:
            raise InvalidInbound(f"unknown provider status {status!r}") from None
        if not provider_id or len(provider_id) > 128:
            raise InvalidInbound("a provider message id of 1–128 characters is required")

        async def tx(session: AsyncSession) -> Message:
            concerns(session)
            where = (
                col(Message.ret_id) == ret_id
                if ret_id
                else col(Message.provider_message_id) == provider_id
            )
            msg = await session.scalar(
                sa.select(Message).where(where, col(Message.direction) == Direction.OUTBOUND)
            )
            if msg is None or (msg.connector_id not in (None, connector_id)):
                raise UnknownMessage(f"no message {ret_id or provider_id!r} of this connector")
            if msg.provider_message_id is None:
                msg.provider_message_id = provider_id
            elif msg.provider_message_id != provider_id:
                raise InvalidInbound(
                    f"message {msg.ret_id} was accepted as {msg.provider_message_id}, "
                    f"not {provider_id}"
                )
            if segments is not None and segments != msg.credits:
                log.warning(
                    "connector %s counted %d segments for message %s, we charged %d credits",
                    connector_id,
                    segments,
                    msg.id,
                    msg.credits,
                )
            if msg.status in (
                MessageStatus.SCHEDULED,
                MessageStatus.PENDING,
                MessageStatus.SENDING,
            ):
                now = self.clock()
                msg.status = MessageStatus.SENT
                msg.folder = Folder.SENT
                msg.sent_at = now
                msg.error = None
                msg.claimed_by = None
                msg.claimed_at = None
                msg.next_attempt_at = None
                if msg.agent_id is not None:
                    status_moved(
                        session, agent_topic(msg.agent_id), msg.id or 0, MessageStatus.SENT.value
                    )
            await session.flush()
            return msg

        msg = await self.db.run_write(tx)
        if outcome is ProviderStatus.ACCEPTED or msg.ret_id is None:
            return msg
        return await self.record_receipt(msg.ret_id, ReceiptStatus(outcome.value), reason)

    async def part_receipt(
        self, connector_id: int, provider_id: str, delivered: bool, reason: str | None = None
    ) -> Message:
        """A delivery receipt for one part of a message an SMSC accepted (SMPP, issue #21),
        named by the SMSC's id for the part.  The message is delivered once every part is,
        and failed as soon as one part failed (never over "delivered", as
        :meth:`record_receipt`).  :class:`UnknownMessage` for an id no part has (yet: the
        dispatcher records the ids just after the SMSC's answer)."""
        if not provider_id or len(provider_id) > 128:
            raise InvalidInbound("a provider message id of 1–128 characters is required")
        table: sa.Table = MessagePart.__table__  # type: ignore[attr-defined]
        state = ReceiptStatus.DELIVERED if delivered else ReceiptStatus.FAILED

        async def tx(session: AsyncSession) -> tuple[int, str | None, bool]:
            part = (table.c.connector_id == connector_id) & (table.c.provider_id == provider_id)
            mid = await session.scalar(sa.select(table.c.message_id).where(part))
            if mid is None:
                raise UnknownMessage(f"no part {provider_id!r} of connector {connector_id}")
            # The parts' receipts of one message, one after the other: each must see the
            # others' states (PostgreSQL's transactions would not see each other's).
            lock = sa.select(col(Message.ret_id)).where(col(Message.id) == mid)
            ret_id = await session.scalar(lock if self.db.is_sqlite else lock.with_for_update())
            await session.execute(
                sa.update(table)
                .where(part)
                .values(state=state.value, error=reason[:1000] if reason else None)
            )
            states = list(
                await session.scalars(sa.select(table.c.state).where(table.c.message_id == mid))
            )
            return int(mid), ret_id, all(s == ReceiptStatus.DELIVERED for s in states)

        mid, ret_id, all_delivered = await self.db.run_write(tx)
        if ret_id is None:
            raise UnknownMessage(f"message {mid} has no retId")
        if not delivered:
            return await self.record_receipt(ret_id, ReceiptStatus.FAILED, reason)
        if all_delivered:
            return await self.record_receipt(ret_id, ReceiptStatus.DELIVERED)
        async with self.db.read() as session:
            msg = await session.get(Message, mid)
        assert msg is not None
        return msg


class SmppInbound:
    """The :class:`~bannertui.services.gateway.InboundPort` of the dispatcher's SMPP sessions:
    what arrives on them is stored as the webhook receiver stores it (SPEC Q2, X1)."""

    def __init__(self, inbound: InboundService) -> None:
        self.inbound = inbound

    async def part_report(self, report: PartReport) -> None:
        if report.delivered is None:
            return
        await self.inbound.part_receipt(
            report.connector_id, report.provider_id, report.delivered, report.reason
        )

    async def mobile_originated(self, message: MobileOriginated) -> None:
        await self.inbound.receive(
            message.source,
            message.destination,
            message.text,
            message.provider_message_id,
            connector_id=message.connector_id,
        )
