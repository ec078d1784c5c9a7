"""The supervisor's live dashboard (SPEC S1, Q5): queues, agents, the last hour's SMS volume,
failures and the credit balance, read in one session with grouped queries (no per-row
work in Python), so a refresh stays cheap on a big database."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction, Folder, InteractionStatus, MessageStatus, Role
from bannertui.domain.errors import NotAllowed
from bannertui.services.agents import OPEN_STATUSES, interactions_held, load_agent
from bannertui.services.base import Service
from bannertui.store.models import Agent, Interaction, Message, Profile, Queue, UTCDateTime

#: The sparkline: the last hour in buckets of this many seconds.
BUCKET_S = 300
BUCKETS = 12
#: Service level is measured over the interactions created within this window.
SERVICE_LEVEL_WINDOW = timedelta(hours=24)
RECENT_FAILURES = 5


@dataclass(frozen=True, slots=True)
class QueueStats:
    id: int
    name: str
    enabled: bool
    waiting: int
    in_progress: int
    #: Seconds the oldest waiting interaction has waited (None: nobody waits).
    oldest_wait_s: int | None
    #: Q5: the share attended (assigned to an agent) within the queue's service level, over
    #: the last 24 h: attended in time / (attended + still waiting past the target); None
    #: without any.  What arrived while the queue was closed is left out (nobody could
    #: attend it in time), and counted in ``out_of_hours``.
    service_level_pct: float | None
    service_level_s: int
    out_of_hours: int = 0


@dataclass(frozen=True, slots=True)
class AgentStats:
    id: int
    login: str
    display_name: str
    state: str
    state_since: datetime | None
    open_interactions: int
    max_simultaneous: int


@dataclass(frozen=True, slots=True)
class FailureRow:
    at: datetime | None
    number: str
    reason: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    at: datetime
    queues: tuple[QueueStats, ...]
    agents: tuple[AgentStats, ...]
    #: Messages per BUCKET_S over the last hour, oldest first (inbound, outbound).
    inbound: tuple[int, ...]
    outbound: tuple[int, ...]
    failures_last_hour: int
    recent_failures: tuple[FailureRow, ...]
    balance: int

    @property
    def volume(self) -> tuple[int, ...]:
        return tuple(i + o for i, o in zip(self.inbound, self.outbound, strict=True))


def _seconds_between(sqlite: bool, start: Any, end: Any) -> sa.ColumnElement[float]:
    """``end - start`` in seconds, on SQLite (julianday) and PostgreSQL (epoch)."""
    if sqlite:
        return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0
    return sa.cast(sa.func.extract("epoch", end - start), sa.Float)


def _instant(at: datetime) -> sa.ColumnElement[datetime]:
    return sa.literal(at, UTCDateTime())


class SupervisorService(Service):
    async def dashboard(self, actor: Actor) -> Dashboard:
        """S1 for a supervisor or an administrator (NotAllowed for agents)."""
        now = self.clock()
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            if ctx.profile.role not in (Role.SUPERVISOR, Role.ADMIN):
                raise NotAllowed("the dashboard is for supervisors and administrators")
            queues = await self._queues(session, now)
            agents = await self._agents(session)
            inbound, outbound = await self._volume(session, now)
            failures, recent = await self._failures(session, now)
            balance = ctx.account_balance()
        return Dashboard(now, queues, agents, inbound, outbound, failures, recent, balance)

    async def _queues(self, session: AsyncSession, now: datetime) -> tuple[QueueStats, ...]:
        rows = (
            await session.execute(
                sa.select(
                    col(Interaction.queue_id),
                    col(Interaction.status),
                    sa.func.count(),
                    sa.func.min(col(Interaction.created_at)),
                )
                .where(col(Interaction.status).in_(OPEN_STATUSES))
                .group_by(col(Interaction.queue_id), col(Interaction.status))
            )
        ).all()
        open_by: dict[tuple[int | None, str], tuple[int, datetime | None]] = {
            (qid, status): (n, oldest) for qid, status, n, oldest in rows
        }
        since = now - SERVICE_LEVEL_WINDOW
        waited = _seconds_between(
            self.db.is_sqlite, col(Interaction.created_at), col(Interaction.assigned_at)
        )
        in_time = sa.func.sum(sa.case((waited <= col(Queue.service_level_s), 1), else_=0))
        answered_rows = (
            await session.execute(
                sa.select(col(Interaction.queue_id), sa.func.count(), in_time)
                .join(Queue, col(Queue.id) == col(Interaction.queue_id))
                .where(
                    col(Interaction.created_at) >= since,
                    col(Interaction.assigned_at).is_not(None),
                    col(Interaction.out_of_hours).is_(False),
                )
                .group_by(col(Interaction.queue_id))
            )
        ).all()
        answered = {qid: (int(n), int(ok or 0)) for qid, n, ok in answered_rows}
        late_rows = (
            await session.execute(
                sa.select(col(Interaction.queue_id), sa.func.count())
                .join(Queue, col(Queue.id) == col(Interaction.queue_id))
                .where(
                    col(Interaction.status) == InteractionStatus.QUEUED,
                    col(Interaction.created_at) >= since,
                    col(Interaction.out_of_hours).is_(False),
                    _seconds_between(self.db.is_sqlite, col(Interaction.created_at), _instant(now))
                    > col(Queue.service_level_s),
                )
                .group_by(col(Interaction.queue_id))
            )
        ).all()
        late = {qid: int(n) for qid, n in late_rows}
        closed_rows = (
            await session.execute(
                sa.select(col(Interaction.queue_id), sa.func.count())
                .where(col(Interaction.created_at) >= since, col(Interaction.out_of_hours))
                .group_by(col(Interaction.queue_id))
            )
        ).all()
        closed = {qid: int(n) for qid, n in closed_rows}
        result = []
        for q in (await session.scalars(sa.select(Queue).order_by(col(Queue.name)))).all():
            waiting, oldest = open_by.get((q.id, InteractionStatus.QUEUED), (0, None))
            progressing, _ = open_by.get((q.id, InteractionStatus.PROGRESSING), (0, None))
            n_answered, n_in_time = answered.get(q.id, (0, 0))
            total = n_answered + late.get(q.id, 0)
            result.append(
                QueueStats(
                    id=q.id or 0,
                    name=q.name,
                    enabled=q.enabled,
                    waiting=waiting,
                    in_progress=progressing,
                    oldest_wait_s=(max(0, int((now - oldest).total_seconds())) if oldest else None),
                    service_level_pct=100.0 * n_in_time / total if total else None,
                    service_level_s=q.service_level_s,
                    out_of_hours=closed.get(q.id, 0),
                )
            )
        return tuple(result)

    async def _agents(self, session: AsyncSession) -> tuple[AgentStats, ...]:
        holding = interactions_held(col(Agent.id)).correlate(Agent).scalar_subquery()
        rows = (
            await session.execute(
                sa.select(
                    col(Agent.id),
                    col(Agent.login),
                    col(Agent.display_name),
                    col(Agent.state),
                    col(Agent.state_since),
                    holding,
                    col(Profile.max_simultaneous),
                )
                .join(Profile, col(Profile.id) == col(Agent.profile_id))
                .where(col(Agent.active).is_(True))
                .order_by(col(Agent.display_name))
            )
        ).all()
        return tuple(AgentStats(*row) for row in rows)

    async def _volume(
        self, session: AsyncSession, now: datetime
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """One statement of 2 × BUCKETS range counts on (direction, created_at): each is an
        index range, so the cost follows the number of buckets, not the hour's traffic."""
        start = now - timedelta(seconds=BUCKET_S * BUCKETS)
        edges = [start + timedelta(seconds=BUCKET_S * i) for i in range(BUCKETS)] + [now]
        counts = []
        for direction in (Direction.INBOUND, Direction.OUTBOUND):
            for lo, hi in itertools.pairwise(edges):
                upper = col(Message.created_at) <= hi if hi is now else col(Message.created_at) < hi
                counts.append(
                    sa.select(sa.func.count())
                    .select_from(Message)
                    .where(
                        col(Message.direction) == direction,
                        col(Message.created_at) >= lo,
                        upper,
                    )
                    .scalar_subquery()
                )
        row = (await session.execute(sa.select(*counts))).one()
        values = [int(v or 0) for v in row]
        return tuple(values[:BUCKETS]), tuple(values[BUCKETS:])

    async def _failures(
        self, session: AsyncSession, now: datetime
    ) -> tuple[int, tuple[FailureRow, ...]]:
        hour = now - timedelta(hours=1)
        count = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Message)
            .where(
                col(Message.created_at) >= hour,
                col(Message.status) == MessageStatus.FAILED,
            )
        )
        rows = (
            await session.execute(
                sa.select(col(Message.created_at), col(Message.remote_number), col(Message.error))
                .where(col(Message.deleted).is_(False), col(Message.folder) == Folder.FAILED)
                .order_by(col(Message.id).desc())
                .limit(RECENT_FAILURES)
            )
        ).all()
        return int(count or 0), tuple(
            FailureRow(at, number, reason or "failed") for at, number, reason in rows
        )
