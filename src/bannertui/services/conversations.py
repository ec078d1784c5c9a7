"""Open interactions and their threads: list, read, close, archive."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.contacts import display_name
from bannertui.domain.enums import BotTrigger, Channel, InteractionStatus
from bannertui.domain.errors import InteractionNotProgressing, NotAllowed, UnknownInteraction
from bannertui.services.agents import OPEN_STATUSES, AgentContext, load_agent
from bannertui.services.base import Service
from bannertui.services.routing import Router, RoutingService
from bannertui.store.models import Agent, Contact, Interaction, Message, Queue
from bannertui.store.notify import agent_topic, concerns

PAGE = 50
log = logging.getLogger(__name__)


def require_progressing(interaction: Interaction) -> None:
    if interaction.status != InteractionStatus.PROGRESSING:
        raise InteractionNotProgressing(
            f"interaction #{interaction.id} is {interaction.status}; only progressing "
            "interactions accept messages"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadMessage:
    """One message of a conversation as the thread shows it: a frozen copy of the row, so
    nothing above the services holds (or changes) a row of the session it came from."""

    id: int
    interaction_id: int | None = None
    agent_id: int | None = None
    queue_id: int | None = None
    direction: str
    from_number: str
    to_number: str
    remote_number: str
    text: str
    encoding: str
    credits: int = 0
    type: str = "NOTIFICATION"
    sender: str | None = None
    status: str
    error: str | None = None
    attempts: int = 0
    scheduled_at: datetime | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None

    @classmethod
    def of(cls, msg: Message) -> ThreadMessage:
        """The copy of a stored row: each field of this class, from the row's column."""
        return cls(**{f.name: getattr(msg, f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class ThreadPage:
    """Messages oldest first; ``has_older`` says whether to offer loading more."""

    messages: tuple[ThreadMessage, ...]
    has_older: bool


def active_agent_id(login: str) -> sa.ScalarSelect[int]:
    """``(SELECT id FROM agent WHERE login = … AND active)``, for one statement that checks
    whose a row is while reading or writing it (NULL, so matching nothing, for an unknown or
    inactive login)."""
    return (
        sa.select(col(Agent.id))
        .where(col(Agent.login) == login, col(Agent.active).is_(True))
        .scalar_subquery()
    )


async def latest_messages(
    session: AsyncSession,
    interaction_id: int,
    limit: int = PAGE,
    before_id: int | None = None,
    *,
    owner: str | None = None,
) -> ThreadPage:
    """The latest ``limit`` messages of a conversation (older than ``before_id`` if given):
    one index range on (interaction_id, id), however long the conversation.  With ``owner``
    (a login), only if the conversation is that active agent's: none otherwise, in the same
    statement."""
    query = sa.select(Message).where(col(Message.interaction_id) == interaction_id)
    if owner is not None:
        query = query.where(
            sa.select(col(Interaction.agent_id))
            .where(col(Interaction.id) == interaction_id)
            .scalar_subquery()
            == active_agent_id(owner)
        )
    if before_id is not None:
        query = query.where(col(Message.id) < before_id)
    rows = (await session.scalars(query.order_by(col(Message.id).desc()).limit(limit + 1))).all()
    return ThreadPage(
        messages=tuple(ThreadMessage.of(m) for m in reversed(rows[:limit])),
        has_older=len(rows) > limit,
    )


@dataclass(frozen=True, slots=True)
class InteractionSummary:
    """One row of the Banner's list of open interactions."""

    id: int
    channel: str
    status: str
    remote_number: str
    queue_id: int | None
    queue_name: str | None
    local_number: str | None
    unread: int
    created_at: datetime | None
    last_message_at: datetime | None
    #: The contact whose number it is ("First Last"), as the inbox shows them; None if none.
    contact_name: str | None = None

    @property
    def is_voice(self) -> bool:
        return self.channel == Channel.VOICE

    @property
    def who(self) -> str:
        """The contact's name, else the number."""
        return self.contact_name or self.remote_number

    @property
    def who_and_number(self) -> str:
        """ "Léa Moreau (+33612000001)", or the number alone."""
        if self.contact_name and self.contact_name != self.remote_number:
            return f"{self.contact_name} ({self.remote_number})"
        return self.remote_number


@dataclass(frozen=True, slots=True)
class Overview:
    """What the Banner shows around the panes: the agent, the balance, the open list."""

    ctx: AgentContext
    balance: int
    interactions: list[InteractionSummary]


_SUMMARY_COLUMNS: tuple[Any, ...] = (
    col(Interaction.id),
    col(Interaction.channel),
    col(Interaction.status),
    col(Interaction.remote_number),
    col(Interaction.queue_id),
    col(Queue.name),
    col(Interaction.local_number),
    col(Interaction.unread),
    col(Interaction.created_at),
    col(Interaction.last_message_at),
    col(Contact.id).label("contact_id"),
    col(Contact.first_name),
    col(Contact.last_name),
)


async def _summaries(session: AsyncSession, agent_id: int) -> list[InteractionSummary]:
    # Plain columns, not ORM entities: this runs on every live update of every console.
    rows = await session.execute(
        sa.select(*_SUMMARY_COLUMNS)
        .outerjoin(Queue, col(Queue.id) == col(Interaction.queue_id))
        .outerjoin(Contact, col(Contact.number) == col(Interaction.remote_number))
        .where(
            col(Interaction.agent_id) == agent_id,
            col(Interaction.status).in_(OPEN_STATUSES),
        )
        .order_by(col(Interaction.id))
    )
    return [
        InteractionSummary(
            id=row.id,
            channel=row.channel,
            status=row.status,
            remote_number=row.remote_number,
            queue_id=row.queue_id,
            queue_name=row.name,
            local_number=row.local_number,
            unread=row.unread,
            created_at=row.created_at,
            last_message_at=row.last_message_at,
            contact_name=(
                display_name(row.first_name, row.last_name, row.remote_number)
                if row.contact_id is not None
                else None
            ),
        )
        for row in rows.all()
    ]


class ConversationService(Service):
    async def summaries(self, actor: Actor) -> list[InteractionSummary]:
        """The agent's open interactions (SMS and voice), oldest first, with queue names."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            return await _summaries(session, ctx.agent.id or 0)

    async def overview(self, actor: Actor) -> Overview:
        """The agent, the account balance and the open interactions, in one read."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)  # with the balance
            balance = ctx.account_balance()
            return Overview(ctx, balance, await _summaries(session, ctx.agent.id or 0))

    async def get(self, actor: Actor, interaction_id: int) -> Interaction:
        async with self.db.read() as session:
            return await self._own(session, actor, interaction_id)

    async def _own(self, session: AsyncSession, actor: Actor, interaction_id: int) -> Interaction:
        ctx = await load_agent(session, actor)
        interaction = await session.get(Interaction, interaction_id)
        if interaction is None:
            raise UnknownInteraction(f"no interaction #{interaction_id}")
        if interaction.agent_id != ctx.agent.id:
            raise NotAllowed("this interaction is assigned to another agent")
        return interaction

    async def open_interactions(self, actor: Actor) -> list[Interaction]:
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            rows = await session.scalars(
                sa.select(Interaction)
                .where(
                    col(Interaction.agent_id) == ctx.agent.id,
                    col(Interaction.status).in_(OPEN_STATUSES),
                )
                .order_by(col(Interaction.id))
            )
            return list(rows.all())

    async def thread(
        self, actor: Actor, interaction_id: int, *, limit: int = PAGE, before_id: int | None = None
    ) -> ThreadPage:
        async with self.db.read() as session:
            # One statement when the conversation is the agent's and has messages in range
            # (every live update of a console reads it); otherwise the checks say why not.
            page = await latest_messages(
                session, interaction_id, limit, before_id, owner=actor.login
            )
            if not page.messages:
                await self._own(session, actor, interaction_id)  # raises unless theirs
            return page

    async def mark_read(self, actor: Actor, interaction_id: int) -> None:
        # One statement, committed on its own and notifying nobody (the agent's own screen
        # knows; no other screen shows it), when the interaction is the agent's: each live
        # update of a console that shows unread messages runs it.  Otherwise the checks say
        # why not.
        async with self.db.write_one() as session:
            done = await session.scalar(
                sa.update(Interaction)
                .where(
                    col(Interaction.id) == interaction_id,
                    col(Interaction.agent_id) == active_agent_id(actor.login),
                )
                .values(unread=0)
                .returning(col(Interaction.id))
                .execution_options(synchronize_session=False)
            )
            if done is None:
                await self._own(session, actor, interaction_id)  # raises

    async def close(self, actor: Actor, interaction_id: int) -> Interaction:
        """Close an open interaction (the agent is done with the exchange)."""
        async with self.db.write() as session:
            interaction = await self._own(session, actor, interaction_id)
            concerns(session, agent_topic(interaction.agent_id or 0))
            if interaction.status not in OPEN_STATUSES:
                raise InteractionNotProgressing(
                    f"interaction #{interaction_id} is already {interaction.status}"
                )
            interaction.status = InteractionStatus.CLOSED
            interaction.closed_at = self.clock()
            self.audit(session, actor, "interaction.closed", f"interaction:{interaction_id}")
            await self._finished(session, actor, interaction)
            ended = interaction
        await self._freed()
        return ended

    async def archive(self, actor: Actor, interaction_id: int) -> Interaction:
        """Archive an interaction; an open one is closed first, in the same transaction."""
        async with self.db.write() as session:
            interaction = await self._own(session, actor, interaction_id)
            concerns(session, agent_topic(interaction.agent_id or 0))
            if interaction.status == InteractionStatus.ARCHIVED:
                raise InteractionNotProgressing(f"interaction #{interaction_id} is archived")
            now = self.clock()
            was_open = interaction.status in OPEN_STATUSES
            if was_open:
                interaction.closed_at = now
            interaction.status = InteractionStatus.ARCHIVED
            interaction.archived_at = now
            self.audit(session, actor, "interaction.archived", f"interaction:{interaction_id}")
            if was_open:
                await self._finished(session, actor, interaction)
            ended = interaction
        await self._freed()
        return ended

    async def _freed(self) -> None:
        """The agent has room again: give them a waiting interaction now (Q2), not at the
        dispatcher's next pass.  A failure here never undoes the close.  Not on a connection
        of an agent's own database role (PostgreSQL): giving other agents work is the
        dispatcher's right, not theirs; its next pass does it."""
        if self.db.agent_role is not None:
            return
        try:
            await RoutingService(self.db, self.clock).sweep()
        except Exception:
            log.exception("routing sweep after a close failed")

    async def _finished(
        self, session: AsyncSession, actor: Actor, interaction: Interaction
    ) -> None:
        """Q3: the queue's on-finish bots, once, when an SMS interaction ends."""
        if interaction.queue_id is None or interaction.channel != Channel.SMS:
            return
        queue = await session.get(Queue, interaction.queue_id)
        number = interaction.local_number
        if queue is not None and number:
            await Router(self, session, self.clock(), actor=actor).run_bots(
                queue, interaction, BotTrigger.ON_FINISH, number
            )
