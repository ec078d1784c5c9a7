"""Outbound SMS from the Banner: Direct (one-off) and Smart (a conversation in a queue)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Channel, InteractionStatus, MessageType
from bannertui.domain.errors import (
    InvalidTemplate,
    NoQueueConfigured,
    NoSenderNumber,
    NotAllowed,
    QueueDisabled,
    UnknownInteraction,
    UnknownQueue,
)
from bannertui.domain.phone import validate_number
from bannertui.domain.routing import SendMode, routing_mode
from bannertui.domain.templates import missing_error, render
from bannertui.domain.templates import variables as template_variables
from bannertui.services.agents import (
    AgentContext,
    check_capacity,
    check_member,
    check_prerequisites,
    load_agent,
)
from bannertui.services.base import Service
from bannertui.services.conversations import require_progressing
from bannertui.services.outbox import (
    OutboundDraft,
    enqueue,
    measure_for_send,
    queue_number,
    sending_number,
)
from bannertui.store.models import Interaction, Message, Queue, SmsNumber, Template, TemplateQueue
from bannertui.store.notify import agent_topic, concerns, unnoticed

#: A Smart send's conversation, with its queue and the queue's SMS number (outer joins: what
#: is missing is refused by name).
_SMART_TARGET = (
    sa.select(Interaction, Queue, col(SmsNumber.number))
    .outerjoin(Queue, col(Queue.id) == col(Interaction.queue_id))
    .outerjoin(SmsNumber, col(SmsNumber.id) == col(Queue.sms_number_id))
    .where(col(Interaction.id) == sa.bindparam("id"))
)


async def load_template(
    session: AsyncSession, template_id: int, queue_id: int | None = None
) -> Template:
    """A usable template: it exists, is not deleted, is not empty, and (for Smart) belongs to
    the queue.  Anything else is "Invalid template"."""
    template = await session.get(Template, template_id)
    if template is None:
        raise InvalidTemplate(f"template #{template_id} was not found")
    if template.deleted:
        raise InvalidTemplate(f"template {template.name!r} was deleted")
    if not template.text.strip():
        raise InvalidTemplate(f"template {template.name!r} is empty")
    if queue_id is not None:
        linked = await session.scalar(
            sa.select(col(TemplateQueue.template_id)).where(
                col(TemplateQueue.template_id) == template_id,
                col(TemplateQueue.queue_id) == queue_id,
            )
        )
        if linked is None:
            raise InvalidTemplate(f"template {template.name!r} is not a template of this queue")
    return template


async def load_queue(session: AsyncSession, queue_id: int) -> Queue:
    queue = await session.get(Queue, queue_id)
    if queue is None:
        raise UnknownQueue(f"queue #{queue_id} does not exist")
    return queue


def _compose(
    text: str | None, template: Template | None, variables: Mapping[str, str] | None
) -> tuple[str, MessageType]:
    """The final text and the message type (the template's kind, when there is one).

    A typed text wins and is sent as typed: ``$`` in it is the agent's own (a price, a word),
    except a ``$variable`` of the template chosen with it, which means the editor was filled
    with the template and its variables never replaced: "Template variables missing".
    Without a typed text the template is rendered with ``variables``, every variable filled
    by a value or its fallback (SPEC §7), else "Template variables missing".
    """
    kind = MessageType(template.kind) if template is not None else MessageType.NOTIFICATION
    if text is not None and text.strip():
        if template is not None:
            own = set(template_variables(template.text))
            left = [name for name in template_variables(text) if name in own]
            if left:
                raise missing_error(left)
        return text, kind
    if template is not None:
        return render(template.text, variables or {}), kind
    return text or "", kind


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    id: int
    name: str
    text: str
    kind: str


class OutboundService(Service):
    async def templates(self, actor: Actor, queue_id: int | None = None) -> list[TemplateChoice]:
        """Templates offered in a form: a queue's (Smart) or every template (Direct).
        Empty ones are listed too: choosing one is refused as "Invalid template".  Templates
        are shared across the account: any active agent reads them."""
        query = sa.select(Template).where(col(Template.deleted).is_(False))
        if queue_id is not None:
            query = query.join(
                TemplateQueue, col(TemplateQueue.template_id) == col(Template.id)
            ).where(col(TemplateQueue.queue_id) == queue_id)
        async with self.db.read() as session:
            await load_agent(session, actor)
            rows = (await session.scalars(query.order_by(col(Template.name)))).all()
        return [TemplateChoice(t.id or 0, t.name, t.text, t.kind) for t in rows]

    async def template_text(
        self, actor: Actor, template_id: int, queue_id: int | None = None
    ) -> str:
        """A template's text, refused as "Invalid template" if empty, deleted, missing or
        (with ``queue_id``) not a template of that queue."""
        async with self.db.read() as session:
            await load_agent(session, actor)
            return (await load_template(session, template_id, queue_id)).text

    async def template_id(self, actor: Actor, name: str) -> int:
        """A template's id by its name (for scripts); unknown or deleted → Invalid template."""
        async with self.db.read() as session:
            await load_agent(session, actor)
            tid = await session.scalar(
                sa.select(col(Template.id)).where(
                    col(Template.name) == name, col(Template.deleted).is_(False)
                )
            )
        if tid is None:
            raise InvalidTemplate(f"no template named {name!r}")
        return int(tid)

    async def check_recipient(self, actor: Actor, raw_number: str) -> str:
        """The recipient in E.164, checked against the agent's authorized countries (for an
        agent who may send: Messaging, and Direct or Smart)."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
        routing_mode(ctx.permissions)  # B1: Messaging, and Direct or Smart
        return validate_number(raw_number, ctx.allowed_regions)

    def _recipient(self, ctx: AgentContext, raw: str) -> str:
        return validate_number(raw, ctx.allowed_regions)

    async def send_direct(
        self,
        actor: Actor,
        to: str,
        sender_number: str | None,
        text: str | None,
        *,
        template_id: int | None = None,
        variables: Mapping[str, str] | None = None,
        ret_id: str | None = None,
        scheduled_at: datetime | None = None,
    ) -> Message:
        """SPEC B4: a one-off SMS from one of the profile's numbers; no conversation."""

        async def tx(session: AsyncSession) -> Message:
            ctx = await load_agent(session, actor)
            if scheduled_at is None:
                unnoticed(session)  # the dispatcher's outcome tells the screens, in a moment
            else:
                concerns(session, agent_topic(ctx.agent.id or 0))
            await check_prerequisites(session, ctx, SendMode.DIRECT)
            recipient = self._recipient(ctx, to)
            if not ctx.sender_numbers:
                raise NoSenderNumber("no SMS number is assigned to your profile")
            sender = sender_number or (
                ctx.sender_numbers[0] if len(ctx.sender_numbers) == 1 else None
            )
            if sender is None:
                raise NoSenderNumber("choose one of your sender numbers")
            if sender not in ctx.sender_numbers:
                raise NoSenderNumber(f"{sender} is not assigned to your profile")
            template = await load_template(session, template_id) if template_id else None
            body, kind = _compose(text, template, variables)
            measure_for_send(body)
            now = self.clock()
            msg = await enqueue(
                session,
                OutboundDraft(
                    to_number=recipient,
                    from_number=sender,
                    text=body,
                    sender=sender,
                    kind=kind,
                    agent_id=ctx.agent.id,
                    scheduled_at=scheduled_at,
                    ret_id=ret_id,
                    check_blacklist=True,
                    debit_at_commit=True,
                    balance=ctx.balance,
                ),
                now,
            )
            self.audit(
                session, actor, "sms.direct", recipient, ret_id=msg.ret_id, credits=msg.credits
            )
            return msg

        return await self.db.run_write(tx)

    async def start_smart(self, actor: Actor, to: str, queue_id: int) -> Interaction:
        """SPEC B5: a progressing SMS interaction in the chosen queue, assigned to the agent.

        An open interaction of this agent with the same number in the same queue is reused
        instead of opening a second conversation with the same person.
        """

        async def tx(session: AsyncSession) -> Interaction:
            ctx = await load_agent(session, actor)
            concerns(session, agent_topic(ctx.agent.id or 0))
            await check_prerequisites(session, ctx, SendMode.SMART, new=False)
            recipient = self._recipient(ctx, to)
            queue = await load_queue(session, queue_id)
            await check_member(session, ctx, queue)
            existing = await session.scalar(
                sa.select(Interaction).where(
                    col(Interaction.agent_id) == ctx.agent.id,
                    col(Interaction.queue_id) == queue_id,
                    col(Interaction.remote_number) == recipient,
                    col(Interaction.channel) == Channel.SMS,
                    col(Interaction.status) == InteractionStatus.PROGRESSING,
                )
            )
            if existing is None:
                await check_capacity(session, ctx)
            if not queue.enabled:
                raise QueueDisabled(f"queue {queue.name!r} is disabled")
            local = await queue_number(session, queue)
            if existing is not None:
                return existing
            now = self.clock()
            interaction = Interaction(
                channel=Channel.SMS,
                status=InteractionStatus.PROGRESSING,
                queue_id=queue.id,
                agent_id=ctx.agent.id,
                remote_number=recipient,
                local_number=local,
                created_at=now,
                assigned_at=now,
            )
            session.add(interaction)
            await session.flush()
            self.audit(
                session,
                actor,
                "interaction.started",
                f"interaction:{interaction.id}",
                queue=queue.name,
                to=recipient,
            )
            return interaction

        return await self.db.run_write(tx)

    async def send_smart(
        self,
        actor: Actor,
        interaction_id: int,
        text: str | None,
        *,
        template_id: int | None = None,
        variables: Mapping[str, str] | None = None,
        ret_id: str | None = None,
    ) -> Message:
        """SPEC B6–B9: a message in a progressing conversation, from the queue's number."""

        async def tx(session: AsyncSession) -> Message:
            ctx = await load_agent(session, actor)
            unnoticed(session)  # the dispatcher's outcome tells the screens, in a moment
            # The conversation, its queue and the queue's number in one statement.
            row = (await session.execute(_SMART_TARGET, {"id": interaction_id})).first()
            interaction, queue, number = row if row is not None else (None, None, None)
            if interaction is None or interaction.channel != Channel.SMS:
                raise UnknownInteraction(f"no SMS interaction #{interaction_id}")
            if interaction.agent_id != ctx.agent.id:
                raise NotAllowed("this interaction is assigned to another agent")
            require_progressing(interaction)
            await check_prerequisites(session, ctx, SendMode.SMART, new=False)
            if interaction.queue_id is None:
                raise NoQueueConfigured("the interaction has no queue")
            if queue is None:
                raise UnknownQueue(f"queue #{interaction.queue_id} does not exist")
            local = sending_number(queue, number)
            template = await load_template(session, template_id, queue.id) if template_id else None
            body, kind = _compose(text, template, variables)
            now = self.clock()
            msg = await enqueue(
                session,
                OutboundDraft(
                    to_number=interaction.remote_number,
                    from_number=local,
                    text=body,
                    sender=local,
                    kind=kind,
                    agent_id=ctx.agent.id,
                    queue_id=queue.id,
                    interaction_id=interaction.id,
                    ret_id=ret_id,
                    check_blacklist=queue.outbound_blacklist,
                    debit_at_commit=True,
                    balance=ctx.balance,
                ),
                now,
            )
            interaction.last_message_at = now
            self.audit(
                session,
                actor,
                "sms.smart",
                f"interaction:{interaction.id}",
                ret_id=msg.ret_id,
                credits=msg.credits,
            )
            return msg

        return await self.db.run_write(tx)
