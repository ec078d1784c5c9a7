"""The dispatcher: sends the outbox through the provider (SPEC P3).

- **Claims** due messages atomically: one ``UPDATE … WHERE id IN (SELECT … LIMIT n)
  RETURNING`` — under SQLite's ``BEGIN IMMEDIATE`` write lock, under PostgreSQL with
  ``FOR UPDATE SKIP LOCKED`` — so several dispatchers (processes) never claim the same message.
- **Sends** with bounded concurrency, always with the message's own retId.
- **Retries** transient failures with exponential backoff and jitter, honouring Retry-After;
  **fails** permanent ones with the provider's reason and refunds their credits.
- **Recovers**: a message left in ``sending`` by a crashed dispatcher is claimed again once its
  lease expires, and re-sent with the **same** retId (the provider stores a retId once).
- Outcomes are written in small batches, one transaction each, to keep SQLite's single writer
  out of the hot path.
- **Outlives the database going away** (a PostgreSQL restart, a lost connection): a claim
  that fails is tried again after a growing pause, and outcomes that cannot be written are
  kept and written when the database is back.  Nothing is lost meanwhile: a message whose
  outcome never gets written stays claimed until its lease expires, and is then sent again
  with its retId, which the provider answers as a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.enums import Folder, MessageStatus, MessageType
from bannertui.domain.errors import BannerError
from bannertui.domain.sms import Encoding
from bannertui.services.base import Clock, system_clock
from bannertui.services.gateway import OutcomeKind, SendOutcome, SendPayload, SmsProvider
from bannertui.services.outbox import (
    fail_permanently,
    mark_sent_many,
    measure_for_send,
    record_parts,
    record_provider_ids,
)
from bannertui.store.database import Database
from bannertui.store.models import Message, OptOut
from bannertui.store.notify import agent_topic, concerns, status_moved, unnoticed

DUE = (MessageStatus.PENDING, MessageStatus.SCHEDULED)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    attempts: int
    payload: SendPayload
    #: Whose Banner shows the message (None: nobody's, e.g. a campaign from the inbox).
    agent_id: int | None = None


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, other: DispatchStats) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed


@dataclass(frozen=True)
class DispatchPolicy:
    concurrency: int = 32
    #: A claimed message not finished within this is considered abandoned (crash) and claimed
    #: again.  Keep it well above the provider timeout.
    lease_seconds: float = 30.0
    base_backoff: float = 1.0
    max_backoff: float = 300.0
    #: After this many attempts a transiently failing message fails for good (and is refunded).
    max_attempts: int = 12
    #: Idle polling interval of run_forever.
    poll_seconds: float = 0.5
    #: Outcomes are written when this many are waiting, or after flush_seconds: one
    #: transaction, and on PostgreSQL one NOTIFY (which wakes every listening console) for
    #: all of them.  The sends themselves are not delayed, only their "sent" on screens.
    flush_batch: int = 64
    flush_seconds: float = 0.1
    #: While idle, waiting interactions are distributed (and timed out) this often; 0 = never.
    routing_seconds: float = 1.0
    #: The database unreachable: the first pause before trying again, doubled up to the cap.
    db_retry_seconds: float = 0.5
    db_retry_max_seconds: float = 5.0
    #: Outcomes that cannot be written are retried this long after a stop, then left to
    #: the lease (the messages are sent again with their retIds).
    outcome_retry_on_stop_seconds: float = 30.0
    #: A send whose outcome is uncertain (no answer: the provider may have it) is tried again
    #: no sooner than this: a provider with no idempotency key (Twilio) posts its status
    #: callback meanwhile, which marks the message sent (docs/connectors.md).
    uncertain_wait_seconds: float = 60.0


log = logging.getLogger(__name__)

#: What the database raises while it is down or restarting (asyncpg's own connection errors
#: arrive wrapped in DBAPIError, a refused connection as OSError).
DB_UNAVAILABLE = (sa.exc.SQLAlchemyError, OSError)


def _concerns_owners(session: AsyncSession, claimed: list[Claimed]) -> None:
    """The change concerns the Banners that show these messages (their status moved)."""
    concerns(session, *{agent_topic(c.agent_id) for c in claimed if c.agent_id is not None})


def _why(exc: BaseException) -> str:
    """One line naming the cause (a driver's message can span lines and carry the SQL)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def dispatcher_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _payload(row: Any) -> Claimed:
    mid, attempts, to, sender, kind, encoding, text, ret_id, credits, agent_id, connector = row
    assert ret_id is not None
    return Claimed(
        id=mid,
        attempts=attempts,
        agent_id=agent_id,
        payload=SendPayload(
            type=kind,
            sender=sender,
            to=to,
            ret_id=ret_id,
            is_unicode=encoding == Encoding.UCS2,
            text=text,
            credits=credits,
            connector_id=connector,
        ),
    )


@dataclass
class _Pending:
    claimed: Claimed
    outcome: SendOutcome


@dataclass
class Dispatcher:
    db: Database
    provider: SmsProvider
    policy: DispatchPolicy = field(default_factory=DispatchPolicy)
    clock: Clock = system_clock
    name: str = field(default_factory=dispatcher_name)
    rng: random.Random = field(default_factory=random.Random)
    _routed_at: float = field(default=0.0, init=False, repr=False)
    _stopping: bool = field(default=False, init=False, repr=False)

    # --- claiming ---------------------------------------------------------------------

    async def claim(self, limit: int) -> list[Claimed]:
        """Atomically take up to ``limit`` due (or abandoned) messages for this dispatcher."""
        if limit <= 0:
            return []
        # Most polls find nothing: a read says so without a write transaction (on SQLite the
        # write lock, which an agent's send or close would wait for).
        async with self.db.read() as session:
            probe = sa.select(col(Message.id)).where(self._claimable(self.clock())).limit(1)
            if (await session.execute(probe)).first() is None:
                return []

        async def tx(session: AsyncSession) -> list[Claimed]:
            now = self.clock()
            ids = (
                sa.select(col(Message.id))
                .where(self._claimable(now))
                .order_by(col(Message.next_attempt_at), col(Message.id))
                .limit(limit)
            )
            if not self.db.is_sqlite:
                ids = ids.with_for_update(skip_locked=True)
            result = await session.execute(
                sa.update(Message)
                .where(col(Message.id).in_(ids.scalar_subquery()))
                .values(
                    status=MessageStatus.SENDING,
                    folder=Folder.PENDING,
                    claimed_by=self.name,
                    claimed_at=now,
                    attempts=col(Message.attempts) + 1,
                )
                .returning(
                    col(Message.id),
                    col(Message.attempts),
                    col(Message.to_number),
                    col(Message.sender),
                    col(Message.type),
                    col(Message.encoding),
                    col(Message.text),
                    col(Message.ret_id),
                    col(Message.credits),
                    col(Message.agent_id),
                    col(Message.connector_id),
                )
                .execution_options(synchronize_session=False)
            )
            claimed = [_payload(row) for row in result.all()]
            # "sending" is shown when the outcome is written (which notifies), a moment later;
            # messages failed here for an opt-out are written at once, and notified.
            keep = await self._drop_opted_out(
                session, await self._drop_mispriced(session, claimed, now), now
            )
            if len(keep) == len(claimed):
                unnoticed(session)
            else:
                _concerns_owners(session, claimed)
            return keep

        claimed = await self.db.run_write(tx)
        claimed.sort(key=lambda c: c.id)
        return claimed

    def _claimable(self, now: datetime) -> sa.ColumnElement[bool]:
        """Messages due at ``now``, or claimed by a dispatcher whose lease has run out."""
        stale = now - timedelta(seconds=self.policy.lease_seconds)
        # Only a paid send (accounts.charge): a row someone wrote with no charge, straight
        # into the table, is never sent.
        due = sa.and_(
            col(Message.status).in_(DUE),
            col(Message.next_attempt_at) <= now,
            col(Message.paid).is_(True),
        )
        abandoned = sa.and_(
            col(Message.status) == MessageStatus.SENDING, col(Message.claimed_at) < stale
        )
        return sa.or_(due, abandoned)

    async def _drop_mispriced(
        self, session: AsyncSession, claimed: list[Claimed], now: Any
    ) -> list[Claimed]:
        """A message whose credits or encoding are not its text's (written straight into the
        table, not through the services, which measure every text) fails, refunded, instead
        of being sent below its price."""
        keep = []
        for c in claimed:
            try:
                m = measure_for_send(c.payload.text)
                right = m.credits == c.payload.credits and (
                    (m.encoding == Encoding.UCS2) == c.payload.is_unicode
                )
            except BannerError:
                right = False
            if right:
                keep.append(c)
            else:
                await fail_permanently(
                    session, c.id, "Invalid message: its credits are not its text's", now
                )
        return keep

    async def _drop_opted_out(
        self, session: AsyncSession, claimed: list[Claimed], now: Any
    ) -> list[Claimed]:
        """X1 at send time too: a MARKETING message queued (or scheduled) before its recipient
        replied STOP fails with the reason, refunded, instead of being sent."""

        def is_marketing(c: Claimed) -> bool:
            return c.payload.type == MessageType.MARKETING or not c.payload.sender

        marketing = {c.payload.to for c in claimed if is_marketing(c)}
        if not marketing:
            return claimed
        opted = set(
            (
                await session.scalars(
                    sa.select(col(OptOut.number)).where(col(OptOut.number).in_(marketing))
                )
            ).all()
        )
        if not opted:
            return claimed
        keep = []
        for c in claimed:
            if is_marketing(c) and c.payload.to in opted:
                await fail_permanently(
                    session, c.id, f"Opted out: {c.payload.to} replied STOP before it was sent", now
                )
            else:
                keep.append(c)
        return keep

    # --- outcomes ---------------------------------------------------------------------

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, never sooner than Retry-After."""
        cap = min(self.policy.max_backoff, self.policy.base_backoff * 2 ** max(attempts - 1, 0))
        delay = self.rng.uniform(cap / 2, cap)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.policy.max_backoff))
        return delay

    async def _write_outcomes(self, batch: list[_Pending], stats: DispatchStats) -> None:
        async def tx(session: AsyncSession) -> DispatchStats:
            concerns(session)  # the owners' Banners, below
            for item in batch:
                if item.claimed.agent_id is None:
                    continue
                topic = agent_topic(item.claimed.agent_id)
                if item.outcome.kind is OutcomeKind.ACCEPTED:  # "sent": updated in place
                    status_moved(session, topic, item.claimed.id, MessageStatus.SENT.value)
                else:
                    concerns(session, topic)
            local = DispatchStats()
            now = self.clock()
            accepted = [i.claimed.id for i in batch if i.outcome.kind is OutcomeKind.ACCEPTED]
            await mark_sent_many(session, accepted, now)
            local.sent += len(accepted)
            await record_provider_ids(
                session,
                {
                    i.claimed.id: i.outcome.provider_id
                    for i in batch
                    if i.outcome.kind is OutcomeKind.ACCEPTED and i.outcome.provider_id
                },
            )
            await record_parts(
                session,
                [
                    (i.claimed.payload.connector_id, i.claimed.id, i.outcome.part_ids)
                    for i in batch
                    if i.outcome.kind is OutcomeKind.ACCEPTED
                    and i.outcome.part_ids
                    and i.claimed.payload.connector_id is not None
                ],
            )
            for item in batch:
                c, out = item.claimed, item.outcome
                if out.kind is OutcomeKind.ACCEPTED:
                    continue
                gave_up = c.attempts >= self.policy.max_attempts and not out.held
                if out.kind is OutcomeKind.PERMANENT or gave_up:
                    reason = out.reason or "refused by the provider"
                    if out.kind is OutcomeKind.TRANSIENT:
                        reason = f"gave up after {c.attempts} attempts: {reason}"
                    await fail_permanently(session, c.id, reason, now)
                    local.failed += 1
                else:
                    delay = self.backoff(c.attempts, out.retry_after)
                    if out.uncertain:
                        delay = max(delay, self.policy.uncertain_wait_seconds)
                    if out.held:  # never left: not an attempt, and it waits as long as it takes
                        delay = out.retry_after or self.policy.poll_seconds
                    await session.execute(
                        sa.update(Message)
                        .where(
                            col(Message.id) == c.id,
                            col(Message.status) == MessageStatus.SENDING,
                            col(Message.claimed_by) == self.name,
                        )
                        .values(
                            status=MessageStatus.PENDING,
                            claimed_by=None,
                            claimed_at=None,
                            error=out.reason[:1000] or "temporary failure",
                            next_attempt_at=now + timedelta(seconds=delay),
                            attempts=col(Message.attempts) - (1 if out.held else 0),
                        )
                        .execution_options(synchronize_session=False)
                    )
                    local.retried += 1
            return local

        stats.add(await self.db.run_write(tx))

    # --- running ----------------------------------------------------------------------

    async def _send(self, claimed: Claimed, results: asyncio.Queue[_Pending | None]) -> None:
        try:
            outcome = await self.provider.send(claimed.payload)
        except Exception as exc:  # a bug in an adapter must not lose the message
            outcome = SendOutcome(OutcomeKind.TRANSIENT, f"adapter error: {type(exc).__name__}")
        await results.put(_Pending(claimed, outcome))

    async def _writer(self, results: asyncio.Queue[_Pending | None], stats: DispatchStats) -> None:
        done = False
        while not done:
            item = await results.get()
            if item is None:
                break
            batch = [item]
            deadline = asyncio.get_running_loop().time() + self.policy.flush_seconds
            while len(batch) < self.policy.flush_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    nxt = await asyncio.wait_for(results.get(), timeout)
                except TimeoutError:
                    break
                if nxt is None:
                    done = True
                    break
                batch.append(nxt)
            await self._write_until_done(batch, stats, stopping=done)

    async def _write_until_done(
        self, batch: list[_Pending], stats: DispatchStats, *, stopping: bool
    ) -> None:
        """Write a batch of outcomes, trying again while the database is unavailable (the
        sends happened: their outcomes must not be dropped because of a restart).  Once the
        dispatcher is stopping, it tries for ``outcome_retry_on_stop_seconds`` more."""
        pause = self.policy.db_retry_seconds
        loop = asyncio.get_running_loop()
        give_up: float | None = None
        while True:
            try:
                await self._write_outcomes(batch, stats)
                return
            except DB_UNAVAILABLE as exc:
                if give_up is None and (stopping or self._stopping):
                    give_up = loop.time() + self.policy.outcome_retry_on_stop_seconds
                if give_up is not None and loop.time() >= give_up:
                    log.error(
                        "%d outcomes not written (%s): their messages are sent again, with "
                        "the same retIds, when their lease expires",
                        len(batch),
                        _why(exc),
                    )
                    return
                log.warning(
                    "writing %d outcomes failed (%s); trying again in %.1f s",
                    len(batch),
                    _why(exc),
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.policy.db_retry_max_seconds)

    async def run(self, stop: asyncio.Event | None = None, *, once: bool = False) -> DispatchStats:
        """Send until ``stop`` is set (or, with ``once``, until nothing is due).  In-flight
        sends are finished and their outcomes written before returning."""
        stats = DispatchStats()
        results: asyncio.Queue[_Pending | None] = asyncio.Queue()
        writer = asyncio.create_task(self._writer(results, stats))
        inflight: set[asyncio.Task[None]] = set()
        pause = self.policy.db_retry_seconds
        try:
            while stop is None or not stop.is_set():
                seen = self.db.commits  # a commit after this wakes the idle wait at once
                free = self.policy.concurrency - len(inflight)
                try:
                    claimed = await self.claim(free) if free > 0 else []
                except DB_UNAVAILABLE as exc:
                    log.warning("claim failed (%s); trying again in %.1f s", _why(exc), pause)
                    if once and not inflight:
                        raise
                    await self._pause(stop, pause)
                    pause = min(pause * 2, self.policy.db_retry_max_seconds)
                    continue
                pause = self.policy.db_retry_seconds
                stats.claimed += len(claimed)
                for c in claimed:
                    task = asyncio.create_task(self._send(c, results))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
                if claimed and len(inflight) < self.policy.concurrency:
                    continue
                if inflight:
                    await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if once:
                    await self._route(force=True)
                    break
                await self._idle(stop, seen)
        finally:
            self._stopping = True
            if inflight:
                await asyncio.gather(*inflight, return_exceptions=True)
            await results.put(None)
            await writer
        return stats

    async def _idle(self, stop: asyncio.Event | None, seen: int) -> None:
        """Nothing to send: route, then wait ``poll_seconds`` for what other processes queue
        or what comes due, or less when this process commits a write meanwhile (what it
        queued is sent at once) or ``stop`` is set."""
        await self._route()
        if self.db.commits != seen:
            return  # committed since the claim found nothing: look again now
        wake = self.db.committed()
        wake.clear()
        await self._pause(stop, self.policy.poll_seconds, wake)

    @staticmethod
    async def _pause(
        stop: asyncio.Event | None, seconds: float, wake: asyncio.Event | None = None
    ) -> None:
        """Sleep ``seconds``, or less when ``stop`` (or ``wake``) is set meanwhile."""
        events = [e for e in (stop, wake) if e is not None]
        if not events:
            await asyncio.sleep(seconds)
            return
        waits = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _route(self, *, force: bool = False) -> None:
        """Q2/Q3: distribute waiting interactions to agents now free and run the after-timeout
        bots — the dispatcher runs wherever bannertui sends, so routing runs there too.  A
        failure is logged, never fatal to sending."""
        every = self.policy.routing_seconds
        loop = asyncio.get_running_loop()
        if every <= 0 or (not force and loop.time() - self._routed_at < every):
            return
        self._routed_at = loop.time()
        from bannertui.services.routing import RoutingService

        try:
            await RoutingService(self.db, self.clock).sweep()
        except Exception:  # a sweep retried next time must not stop the sending
            log.exception("routing sweep failed")

    async def run_once(self) -> DispatchStats:
        """Send what is due now and return (``bannertui dispatch --once``)."""
        return await self.run(once=True)
