"""Inbound routing (SPEC Q2–Q4, X1): what happens to an SMS that reaches a queue's number.

In the transaction that stores it (called by :class:`InboundService`):

1. an opt-out keyword (STOP, ARRET…) records the opt-out and answers once; START opts back in;
2. a blacklisted sender (the queue's inbound blacklist on) is rejected into Did not trigger;
3. the SMS joins the open interaction with that sender in that queue, or opens one — unless
   the queue is disabled or full (max interactions waiting), which rejects it into Did not
   trigger with the reason;
4. a new interaction gets the queue's on-start bots, and its out-of-hours message when the
   queue is closed;
5. it is distributed at once to an available agent of the queue by the queue's strategy,
   within each agent's simultaneous-interaction limit, or it waits.

:meth:`RoutingService.sweep` (run by the dispatcher's loop, and after an agent frees up)
assigns waiting interactions as agents become free, oldest first, and runs the
after-timeout bots of those that waited past the queue's max time in queue, once.
Every bot, out-of-hours and opt-out message is an ordinary outbound message (outbox, credits,
receipts); one that cannot be paid is skipped with an audit event, never blocking the
inbound message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import (
    AgentState,
    BotTrigger,
    Channel,
    Folder,
    InteractionStatus,
    MessageStatus,
    MessageType,
    Strategy,
)
from bannertui.domain.errors import BannerError, NoQueueConfigured
from bannertui.domain.templates import render, require_filled
from bannertui.services.agents import interactions_held
from bannertui.services.base import Service
from bannertui.services.outbox import OutboundDraft, enqueue, queue_number
from bannertui.store.database import LOCK_AGENT, LOCK_QUEUE, lock
from bannertui.store.models import (
    AGENT_WITHOUT_SECRET,
    Agent,
    AuditEvent,
    BlacklistEntry,
    Bot,
    Contact,
    Interaction,
    Message,
    OptOut,
    Profile,
    Queue,
    QueueAgent,
    Template,
)
from bannertui.store.notify import agent_topic, concerns

OPT_OUT_REPLY = (
    "You will not receive marketing messages from us any more. Reply START to opt back in."
)
OPT_IN_REPLY = "You are subscribed again. Reply STOP to opt out."

#: Interactions that hold an agent (count against the simultaneous limit).
HOLDING = (InteractionStatus.PROGRESSING,)

#: The variables a bot fills (:meth:`Router.variables`): ``$number`` and ``$queue`` always;
#: the contact's fields only for a number that is a contact, ``$agent`` only once assigned.
BOT_ALWAYS_FILLED = ("number", "queue")
BOT_SOMETIMES_FILLED = ("firstname", "lastname", "company", "agent")
BOT_HINT = (
    "a bot always fills only $number and $queue: "
    'give the others a fallback, e.g. $firstname|"there"'
)


def check_bot_template(text: str) -> None:
    """SPEC §7: a bot never sends a literal ``$variable`` or an empty gap, so a template it
    cannot always fill is refused when the bot is configured ("Template variables missing",
    naming them): every variable but ``$number`` and ``$queue`` needs a fallback."""
    require_filled(text, dict.fromkeys(BOT_ALWAYS_FILLED, "x"), hint=BOT_HINT)


@dataclass(slots=True)
class SweepReport:
    assigned: int = 0
    timed_out: int = 0


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def queue_is_open(queue: Queue, at: datetime) -> bool:
    """Whether ``queue`` is within its opening hours at ``at`` (no hours: always open)."""
    if not queue.opening_hours.strip():
        return True
    from bannertui.domain.hours import parse_hours

    try:
        hours = parse_hours(queue.opening_hours)
    except BannerError:
        return True  # refused when saved; an old bad value must not close the queue
    return bool(hours.is_open(at, _zone(queue.timezone)))


async def is_blacklisted(session: AsyncSession, number: str) -> bool:
    found = await session.scalar(
        sa.select(col(BlacklistEntry.id)).where(col(BlacklistEntry.number) == number)
    )
    return found is not None


class Router:
    """The routing steps, inside a caller's transaction."""

    def __init__(
        self,
        service: Service,
        session: AsyncSession,
        now: datetime,
        *,
        actor: Actor | None = None,
    ) -> None:
        self.service = service
        self.session = session
        self.now = now
        #: Who the audit trail names for what is skipped: the agent whose close ran the bots,
        #: or "system" (inbound routing, the dispatcher's timers).
        self.actor = actor

    # --- automatic messages ----------------------------------------------------------------

    async def send_auto(
        self,
        to: str,
        from_number: str,
        text: str,
        *,
        kind: MessageType = MessageType.NOTIFICATION,
        queue: Queue | None = None,
        interaction: Interaction | None = None,
        why: str,
    ) -> Message | None:
        """An automatic message through the outbox, in a savepoint: a refusal (credits, opt-out,
        blacklist) is recorded in the audit trail and does not undo the caller's work."""
        if not text.strip():
            return None
        try:
            async with self.session.begin_nested():
                return await enqueue(
                    self.session,
                    OutboundDraft(
                        to_number=to,
                        from_number=from_number,
                        text=text,
                        sender=from_number,
                        kind=kind,
                        queue_id=queue.id if queue else None,
                        interaction_id=interaction.id if interaction else None,
                        check_blacklist=bool(queue and queue.outbound_blacklist),
                    ),
                    self.now,
                )
        except BannerError as exc:
            self.skipped(to, why, exc)
            return None

    def skipped(self, to: str, why: str, exc: BannerError) -> None:
        """An automatic message refused: the audit trail says why (``{why}.skipped``)."""
        self.session.add(
            AuditEvent(
                at=self.now,
                actor=self.actor.audit_name if self.actor is not None else "system",
                action=f"{why}.skipped",
                target=to,
                detail=exc.message[:4000],
            )
        )

    async def run_bots(
        self, queue: Queue, interaction: Interaction, trigger: BotTrigger, from_number: str
    ) -> int:
        """Q3: the queue's enabled bots of ``trigger``, in id order; their templates filled with
        the contact's fields.  A template left with a variable unfilled (no value, no fallback:
        one stored before :func:`check_bot_template` refused it) is skipped with an audit
        event, never sent with a ``$variable`` or a gap.  Returns how many messages were
        queued."""
        rows = (
            await self.session.execute(
                sa.select(col(Template.text), col(Template.kind))
                .join(Bot, col(Bot.template_id) == col(Template.id))
                .where(
                    col(Bot.queue_id) == queue.id,
                    col(Bot.trigger) == trigger,
                    col(Bot.enabled).is_(True),
                    col(Template.deleted).is_(False),
                )
                .order_by(col(Bot.id))
            )
        ).all()
        if not rows:
            return 0
        values = await self.variables(queue, interaction)
        sent = 0
        why = f"bot.{trigger.value}"
        for text, kind in rows:
            if not text.strip():
                continue  # an empty template sends nothing
            try:
                body = render(text, values)
            except BannerError as exc:
                self.skipped(interaction.remote_number, why, exc)
                continue
            msg = await self.send_auto(
                interaction.remote_number,
                from_number,
                body,
                kind=MessageType(kind),
                queue=queue,
                interaction=interaction,
                why=why,
            )
            sent += msg is not None
        return sent

    async def variables(self, queue: Queue, interaction: Interaction) -> dict[str, str]:
        contact = await self.session.scalar(
            sa.select(Contact).where(col(Contact.number) == interaction.remote_number)
        )
        agent_name = ""
        if interaction.agent_id is not None:
            agent_name = (
                await self.session.scalar(
                    sa.select(col(Agent.display_name)).where(col(Agent.id) == interaction.agent_id)
                )
            ) or ""
        return {
            "firstname": contact.first_name if contact else "",
            "lastname": contact.last_name if contact else "",
            "company": contact.company if contact else "",
            "number": interaction.remote_number,
            "queue": queue.name,
            "agent": agent_name,
        }

    # --- distribution ----------------------------------------------------------------------

    async def pick_agent(self, queue: Queue) -> Agent | None:
        """Q2: an available member of ``queue`` under their simultaneous limit, by the queue's
        strategy (round robin in the queue, least busy, longest idle)."""
        holding = interactions_held(col(Agent.id), HOLDING).correlate(Agent).scalar_subquery()
        query = (
            sa.select(Agent)
            .options(AGENT_WITHOUT_SECRET)
            .join(QueueAgent, col(QueueAgent.agent_id) == col(Agent.id))
            .join(Profile, col(Profile.id) == col(Agent.profile_id))
            .where(
                col(QueueAgent.queue_id) == queue.id,
                col(Agent.active).is_(True),
                col(Agent.state) == AgentState.AVAILABLE,
                col(Profile.messaging).is_(True),
                holding < col(Profile.max_simultaneous),
            )
        )
        if queue.strategy == Strategy.LEAST_BUSY:
            query = query.order_by(
                holding, col(Agent.last_assigned_at).asc().nulls_first(), col(Agent.id)
            )
        elif queue.strategy == Strategy.LONGEST_IDLE:
            idle_since = sa.func.coalesce(col(Agent.last_assigned_at), col(Agent.state_since))
            query = query.order_by(idle_since.asc().nulls_first(), col(Agent.id))
        else:
            # Round robin: the next member after the one this queue assigned last (the first
            # member when none is after it, or none was assigned yet).
            last = (
                sa.select(col(Interaction.agent_id))
                .where(
                    col(Interaction.queue_id) == queue.id,
                    col(Interaction.agent_id).is_not(None),
                    col(Interaction.assigned_at).is_not(None),
                )
                .order_by(col(Interaction.assigned_at).desc(), col(Interaction.id).desc())
                .limit(1)
                .scalar_subquery()
            )
            after_last = sa.func.coalesce(col(Agent.id) > last, sa.false())
            query = query.order_by(after_last.desc(), col(Agent.id))
        # The one chosen, not every member: reading all 50 members of a queue as objects took
        # about 1 ms of the 6 ms that opening a conversation costs (bench_routing), and
        # inbound routing does it holding the queue's lock.
        return await self.session.scalar(query.limit(1))

    async def assign(self, queue: Queue, interaction: Interaction) -> Agent | None:
        agent = await self.pick_agent(queue)
        if agent is None:
            return None
        if not self.service.db.is_sqlite:
            # PostgreSQL: two queues may pick the same agent at once; lock the agent and
            # count again, so the simultaneous limit holds (SQLite has one writer at a time).
            await lock(self.session, LOCK_AGENT, agent.id or 0)
            holding = await self.session.scalar(interactions_held(agent.id, HOLDING))
            limit = await self.session.scalar(
                sa.select(col(Profile.max_simultaneous)).where(col(Profile.id) == agent.profile_id)
            )
            if (holding or 0) >= (limit or 0):
                return None  # waits; the next sweep tries again
        # The clock is read again here, inside the write (the lock is held): assignments are
        # stamped in the order they commit, which round robin follows.
        assigned_at = max(self.service.clock(), self.now)
        interaction.status = InteractionStatus.PROGRESSING
        interaction.agent_id = agent.id
        interaction.assigned_at = assigned_at
        concerns(self.session, agent_topic(agent.id or 0))
        agent.last_assigned_at = assigned_at
        await self.session.execute(
            sa.update(Message)
            .where(col(Message.interaction_id) == interaction.id, col(Message.agent_id).is_(None))
            .values(agent_id=agent.id)
            .execution_options(synchronize_session=False)
        )
        await self.session.flush()
        return agent


class RoutingService(Service):
    async def sweep(self) -> SweepReport:
        """Assign waiting interactions (oldest first) while members are free, and run the
        after-timeout bots of the ones waiting past the queue's max time in queue (once)."""

        async with self.db.read() as session:  # the usual case, cheaply: nobody waits
            waiting = await session.scalar(
                sa.select(col(Interaction.id))
                .where(col(Interaction.status) == InteractionStatus.QUEUED)
                .limit(1)
            )
        if waiting is None:
            return SweepReport()

        async def tx(session: AsyncSession) -> SweepReport:
            concerns(session)  # the agents given an interaction (Router.assign)
            now = self.clock()
            router = Router(self, session, now)
            report = SweepReport()
            query = sa.select(Queue).where(
                col(Queue.enabled).is_(True),
                col(Queue.id).in_(
                    sa.select(col(Interaction.queue_id)).where(
                        col(Interaction.status) == InteractionStatus.QUEUED
                    )
                ),
            )
            queues = (await session.scalars(query.order_by(col(Queue.id)))).all()
            if not self.db.is_sqlite:
                # One sweep (or inbound routing) per queue at a time: a timeout bot fires once.
                await lock(session, LOCK_QUEUE, *(q.id or 0 for q in queues))
            for queue in queues:
                waiting = (
                    await session.scalars(
                        sa.select(Interaction)
                        .where(
                            col(Interaction.queue_id) == queue.id,
                            col(Interaction.status) == InteractionStatus.QUEUED,
                        )
                        .order_by(col(Interaction.created_at), col(Interaction.id))
                    )
                ).all()
                try:
                    number: str | None = await queue_number(session, queue)
                except NoQueueConfigured:
                    number = None  # no number to answer from: no bot messages
                for interaction in waiting:
                    if await router.assign(queue, interaction) is not None:
                        report.assigned += 1
                        continue
                    limit = queue.max_time_in_queue_s
                    if (
                        limit > 0
                        and interaction.timed_out_at is None
                        and interaction.created_at is not None
                        and now - interaction.created_at >= timedelta(seconds=limit)
                    ):
                        interaction.timed_out_at = now
                        report.timed_out += 1
                        if number:
                            await router.run_bots(
                                queue, interaction, BotTrigger.AFTER_TIMEOUT, number
                            )
            return report

        return await self.db.run_write(tx)


async def open_interaction(session: AsyncSession, queue_id: int, sender: str) -> Interaction | None:
    """The sender's open SMS interaction in the queue, if any (the newest)."""
    return await session.scalar(
        sa.select(Interaction)
        .where(
            col(Interaction.queue_id) == queue_id,
            col(Interaction.remote_number) == sender,
            col(Interaction.channel) == Channel.SMS,
            col(Interaction.status).in_((InteractionStatus.QUEUED, InteractionStatus.PROGRESSING)),
        )
        .order_by(col(Interaction.id).desc())
        .limit(1)
    )


async def route_inbound(
    service: Service,
    session: AsyncSession,
    queue: Queue,
    sender: str,
    recipient: str,
    text: str,
    now: datetime,
    *,
    current: Interaction | None = None,
) -> tuple[Interaction | None, str | None]:
    """Steps 3–5 of the module docstring for an SMS from ``sender`` to ``queue``'s number
    (the caller has checked the blacklist and keywords, and found ``current``, the open
    interaction).  Returns the interaction it joins (None: not triggered) and, when
    rejected, why."""
    router = Router(service, session, now)
    if current is not None:
        return current, None
    if not queue.enabled:
        return None, f"Queue disabled: {queue.name}"
    if queue.max_waiting > 0:
        waiting = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Interaction)
            .where(
                col(Interaction.queue_id) == queue.id,
                col(Interaction.status) == InteractionStatus.QUEUED,
            )
        )
        if (waiting or 0) >= queue.max_waiting:
            return (
                None,
                f"Queue full: {waiting} waiting in {queue.name} (at most {queue.max_waiting})",
            )
    is_open = queue_is_open(queue, now)
    interaction = Interaction(
        channel=Channel.SMS,
        status=InteractionStatus.QUEUED,
        queue_id=queue.id,
        remote_number=sender,
        local_number=recipient,
        created_at=now,
        out_of_hours=not is_open,
    )
    session.add(interaction)
    await session.flush()
    await router.run_bots(queue, interaction, BotTrigger.ON_START, recipient)
    if not is_open and queue.out_of_hours_message.strip():
        sent = await router.send_auto(
            sender,
            recipient,
            queue.out_of_hours_message,
            queue=queue,
            interaction=interaction,
            why="out_of_hours",
        )
        if sent is not None:
            interaction.out_of_hours_sent_at = now
    await router.assign(queue, interaction)
    return interaction, None


async def handle_keyword(
    service: Service,
    session: AsyncSession,
    sender: str,
    recipient: str,
    text: str,
    now: datetime,
    *,
    queue: Queue | None = None,
    interaction: Interaction | None = None,
    confirm: bool = True,
) -> str | None:
    """X1: a STOP-like keyword opts the sender out (one confirmation, in the conversation
    when there is one); START opts an opted-out sender back in (one confirmation).  Returns
    "stop" or "start", or None when the message is an ordinary one (START from someone who
    never opted out is just a message).  ``confirm`` False: the provider confirms itself
    (Twilio's opt-out handling), and we send none."""
    from bannertui.domain.optout import Keyword, classify

    keyword = classify(text)
    if keyword is None:
        return None
    router = Router(service, session, now)
    existing = await session.get(OptOut, sender)
    if keyword is Keyword.STOP:
        if existing is None:
            try:
                async with session.begin_nested():
                    session.add(OptOut(number=sender, keyword=text.strip()[:32], at=now))
            except IntegrityError:
                return "stop"  # another receiver recorded the same opt-out just now
            if confirm:
                await router.send_auto(
                    sender,
                    recipient,
                    OPT_OUT_REPLY,
                    queue=queue,
                    interaction=interaction,
                    why="optout.confirmation",
                )
        return "stop"
    if existing is None:
        return None
    await session.delete(existing)
    await session.flush()
    if not confirm:
        return "start"
    await router.send_auto(
        sender, recipient, OPT_IN_REPLY, queue=queue, interaction=interaction,
        why="optin.confirmation",
    )  # fmt: skip
    return "start"


def not_triggered(msg: Message, reason: str) -> None:
    msg.status = MessageStatus.BLOCKED
    msg.folder = Folder.NOT_TRIGGERED
    msg.error = reason[:1000]
