"""Who the caller is: an agent, their profile, and the B1 prerequisites."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import InteractionStatus, Role
from bannertui.domain.errors import (
    NoDirectPermission,
    NoProviderConfigured,
    NoSmartPermission,
    NotAllowed,
    SimultaneousLimitReached,
    UnknownAgent,
)
from bannertui.domain.routing import Permissions, RoutingMode, SendMode, routing_mode
from bannertui.domain.text import one_line
from bannertui.services.accounts import ACCOUNT_ID, ACCOUNT_NOT_SET_UP
from bannertui.services.base import Service, pg_refusal
from bannertui.store.models import (
    AGENT_WITHOUT_SECRET,
    Account,
    Agent,
    Connector,
    Interaction,
    Message,
    Profile,
    ProfileSmsNumber,
    Queue,
    QueueAgent,
    SmsNumber,
)

OPEN_STATUSES = (InteractionStatus.QUEUED, InteractionStatus.PROGRESSING)

#: The profile ``bannertui db init --admin`` gives the first administrator.
ADMIN_PROFILE = "Administrator"


@dataclass(frozen=True, slots=True)
class AgentContext:
    """An agent as the rules see them."""

    agent: Agent
    profile: Profile
    sender_numbers: tuple[str, ...]
    #: The account's credit balance, read in the same statement as the agent (None: the
    #: account is not set up).  The balance is a snapshot: debits check it again.
    balance: int | None = None
    #: Whether an SMS provider is set up (its settings are the administrators').
    provider_set: bool = False

    def account_balance(self) -> int:
        """The balance read with the agent; No provider configured when there is no account."""
        if self.balance is None:
            raise NoProviderConfigured(ACCOUNT_NOT_SET_UP)
        return self.balance

    @property
    def login(self) -> str:
        return self.agent.login

    @property
    def role(self) -> str:
        return self.profile.role

    @property
    def is_admin(self) -> bool:
        return self.profile.role == Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        """A supervisor or an administrator: sees every queue."""
        return self.profile.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def permissions(self) -> Permissions:
        p = self.profile
        return Permissions(messaging=p.messaging, direct=p.direct, smart=p.smart)

    @property
    def allowed_regions(self) -> frozenset[str] | None:
        """None means every country (profile set to "*")."""
        raw = self.profile.authorized_countries.strip()
        if raw == "*":
            return None
        return frozenset(c.strip().upper() for c in raw.split(",") if c.strip())


@dataclass(frozen=True, slots=True)
class OutboundOptions:
    """What the New-interaction flow may offer, once B1 passed."""

    mode: RoutingMode
    sender_numbers: tuple[str, ...]
    queues: tuple[Queue, ...]


#: An agent by login, with their profile, the profile's sender numbers and the account's
#: balance and provider, in one statement (every service call starts with it; built once, not
#: per call).
_SENDER_NUMBERS = (
    sa.select(sa.func.aggregate_strings(col(SmsNumber.number), "\n"))
    .join(ProfileSmsNumber, col(ProfileSmsNumber.sms_number_id) == col(SmsNumber.id))
    .where(col(ProfileSmsNumber.profile_id) == col(Profile.id))
    .correlate(Profile)
    .scalar_subquery()
)
#: Whether a connector can send: what agents may know of the providers (on PostgreSQL they
#: read a connector's name, type and ``configured``, not its settings: docs/permissions.md).
PROVIDER_SET = sa.exists(
    sa.select(col(Connector.id)).where(
        col(Connector.configured).is_(True), col(Connector.enabled).is_(True)
    )
)
_AGENT_BY_LOGIN = (
    sa.select(
        Agent,
        Profile,
        _SENDER_NUMBERS.label("sender_numbers"),
        col(Account.credits),
        PROVIDER_SET.label("provider_set"),
    )
    .join(Profile, col(Profile.id) == col(Agent.profile_id))
    .outerjoin(Account, col(Account.id) == ACCOUNT_ID)
    .where(col(Agent.login) == sa.bindparam("login"))
    # an agent's browser password hash is not theirs to read (PostgreSQL refuses it)
    .options(AGENT_WITHOUT_SECRET)
)


async def load_agent(session: AsyncSession, actor: Actor | str) -> AgentContext:
    """The agent ``actor`` acts as, read afresh (a role or profile changed since sign-in
    applies at once; a disabled agent is refused)."""
    login = actor.login if isinstance(actor, Actor) else actor
    row = (await session.execute(_AGENT_BY_LOGIN, {"login": login})).first()
    if row is None or not row[0].active:
        raise UnknownAgent(one_line(login, 64))  # typed by someone: never raw to a terminal
    agent, profile, numbers, balance, provider_set = row
    return AgentContext(
        agent=agent,
        profile=profile,
        sender_numbers=tuple(sorted(numbers.split("\n"))) if numbers else (),
        balance=balance,
        provider_set=bool(provider_set),
    )


def interactions_held(agent_id: Any, statuses: Sequence[str] = OPEN_STATUSES) -> sa.Select[int]:
    """``SELECT count(*)`` of an agent's interactions in ``statuses``.  ``agent_id`` is a value,
    or ``Agent.id`` for a subquery correlated to a query over agents
    (``.correlate(Agent).scalar_subquery()``)."""
    return (
        sa.select(sa.func.count())
        .select_from(Interaction)
        .where(col(Interaction.agent_id) == agent_id, col(Interaction.status).in_(statuses))
    )


async def open_interaction_count(session: AsyncSession, agent_id: int) -> int:
    return int(await session.scalar(interactions_held(agent_id)) or 0)


async def check_member(session: AsyncSession, ctx: AgentContext, queue: Queue) -> None:
    """An agent works in the queues they are a member of; supervisors and administrators in
    every queue (SPEC X6)."""
    if ctx.is_supervisor:
        return
    member = await session.scalar(
        sa.select(sa.literal(1)).where(
            col(QueueAgent.queue_id) == queue.id, col(QueueAgent.agent_id) == ctx.agent.id
        )
    )
    if member is None:
        raise NotAllowed(f"you are not a member of the queue {queue.name!r}")


async def check_capacity(session: AsyncSession, ctx: AgentContext) -> None:
    """The agent may take one more interaction (B1: the simultaneous limit)."""
    assert ctx.agent.id is not None
    count = await open_interaction_count(session, ctx.agent.id)
    if count >= ctx.profile.max_simultaneous:
        raise SimultaneousLimitReached(f"{count} open of {ctx.profile.max_simultaneous} allowed")


async def check_prerequisites(
    session: AsyncSession, ctx: AgentContext, mode: SendMode | None = None, *, new: bool = True
) -> RoutingMode:
    """SPEC B1, in the article's order: messaging permission, Direct/Smart permission, the
    simultaneous-interaction limit (only when ``new`` work is being started), a provider."""
    routing = routing_mode(ctx.permissions)  # raises without messaging / any mode
    if mode is SendMode.DIRECT and not ctx.profile.direct:
        raise NoDirectPermission()
    if mode is SendMode.SMART and not ctx.profile.smart:
        raise NoSmartPermission()
    if new:
        await check_capacity(session, ctx)
    ctx.account_balance()  # the account is set up
    if not ctx.provider_set:
        raise NoProviderConfigured("ask an administrator to set the SMS provider")
    return routing


class AgentService(Service):
    async def authenticate(
        self, login: str, *, acting_as: str | None = None, demo: bool = False
    ) -> Actor:
        """The :class:`Actor` for a caller authenticated as ``login`` (the OS account, the
        database role or a browser sign-in).  An unknown or disabled login is refused as
        ``Unknown agent: <login>``.  ``acting_as`` another agent is for the demo (where any
        demo agent may be chosen) and for administrators, audited as ``admin as X``."""
        async with self.db.read() as session:
            if demo:
                target = await load_agent(session, acting_as or login)
                return Actor(target.login)
            caller = await load_agent(session, login)
            if acting_as is None or acting_as == login:
                return Actor(caller.login)
            if not caller.is_admin:
                raise NotAllowed(
                    f"{caller.login} is not an administrator: acting as another agent "
                    "(--agent) is for administrators and the demo"
                )
            target = await load_agent(session, acting_as)
            return Actor(target.login, by=caller.login)

    async def context(self, actor: Actor) -> AgentContext:
        async with self.db.read() as session:
            return await load_agent(session, actor)

    async def outbound_options(
        self, actor: Actor, mode: SendMode | None = None, *, new: bool = True
    ) -> OutboundOptions:
        """Check B1 before any form opens (``mode`` and ``new``: see
        :func:`check_prerequisites`; the Send SMS form is Direct, and starts no interaction);
        say what the forms may offer."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            routing = await check_prerequisites(session, ctx, mode, new=new)
            query = sa.select(Queue).where(col(Queue.enabled).is_(True))
            if not ctx.is_supervisor:  # an agent starts conversations in their own queues
                query = query.where(
                    col(Queue.id).in_(
                        sa.select(col(QueueAgent.queue_id)).where(
                            col(QueueAgent.agent_id) == ctx.agent.id
                        )
                    )
                )
            queues = (await session.scalars(query.order_by(col(Queue.name)))).all()
        return OutboundOptions(
            mode=routing, sender_numbers=ctx.sender_numbers, queues=tuple(queues)
        )

    async def init_admin(self, login: str, display_name: str, os_account: str) -> Agent:
        """``bannertui db init --admin LOGIN``: the first administrator of a new database (an
        "Administrator" profile is created if there is none).  Refused once any
        administrator exists: from then on, administrators add agents."""
        clean = check_login(login)

        async def tx(session: AsyncSession) -> Agent:
            existing = await session.scalar(
                sa.select(col(Agent.login))
                .join(Profile, col(Profile.id) == col(Agent.profile_id))
                .where(col(Profile.role) == Role.ADMIN)
                .order_by(col(Agent.login))
                .limit(1)
            )
            if existing is not None:
                raise NotAllowed(
                    f"the database has an administrator already ({existing}): "
                    "administrators add the other agents"
                )
            if await session.scalar(sa.select(col(Agent.id)).where(col(Agent.login) == clean)):
                raise NotAllowed(f"{clean} is an agent already: an administrator must promote them")
            profile = await session.scalar(
                sa.select(Profile).where(col(Profile.name) == ADMIN_PROFILE)
            )
            if profile is None:
                profile = Profile(
                    name=ADMIN_PROFILE,
                    role=Role.ADMIN,
                    max_simultaneous=5,
                    authorized_countries="*",
                )
                session.add(profile)
                await session.flush()
            elif profile.role != Role.ADMIN:
                raise NotAllowed(f"the profile {ADMIN_PROFILE!r} exists and is not an admin one")
            agent = Agent(
                login=clean,
                display_name=one_line(display_name.strip() or clean, 120),
                profile_id=profile.id or 0,
                state_since=self.clock(),
            )
            session.add(agent)
            await _flush_checked(session)
            self.audit(session, "system", "agent.created", f"agent:{clean}", role=Role.ADMIN,
                       by_os_account=os_account)  # fmt: skip
            return agent

        return await self.db.run_write(tx)

    # --- agents and their database roles (administrators) ---------------------------------

    async def add(
        self,
        actor: Actor,
        login: str,
        display_name: str,
        profile_name: str,
        role: str | None = None,
    ) -> Agent:
        """``bannertui agent add``: a new agent with ``profile_name``'s permissions.  ``role``,
        when given, must be that profile's (the role is the profile's: agent, supervisor or
        admin).  On PostgreSQL the agent's login role is created with them, member of their
        role's group (a trigger: store/migrations/versions/0008).  For administrators."""
        clean = check_login(login)

        async def tx(session: AsyncSession) -> Agent:
            ctx = await load_agent(session, actor)
            if not ctx.is_admin:
                raise NotAllowed(f"{ctx.login} is not an administrator: adding agents is for them")
            profile = await session.scalar(
                sa.select(Profile).where(col(Profile.name) == profile_name)
            )
            if profile is None:
                raise NotAllowed(f"no profile named {one_line(profile_name, 120)!r}")
            if role is not None and role != profile.role:
                raise NotAllowed(
                    f"the profile {profile.name!r} is a{'n' if profile.role[0] in 'aeiou' else ''}"
                    f" {profile.role} one, not {one_line(role, 16)}: the role is the profile's"
                )
            if await session.scalar(sa.select(col(Agent.id)).where(col(Agent.login) == clean)):
                raise NotAllowed(f"{clean} is an agent already")
            agent = Agent(
                login=clean,
                display_name=one_line(display_name.strip() or clean, 120),
                profile_id=profile.id or 0,
                state_since=self.clock(),
            )
            session.add(agent)
            await _flush_checked(session)
            self.audit(session, actor, "agent.created", f"agent:{clean}", profile=profile.name,
                       role=profile.role)  # fmt: skip
            return agent

        return await self.db.run_write(tx)

    async def set_active(self, actor: Actor, login: str, active: bool) -> None:
        """``agent disable`` / ``agent enable``: a disabled agent is refused everywhere at their
        next operation, and their database role loses its login and group.  For
        administrators; an administrator does not disable themself."""

        login = login.strip()

        async def tx(session: AsyncSession) -> None:
            ctx = await load_agent(session, actor)
            if not ctx.is_admin:
                raise NotAllowed(f"{ctx.login} is not an administrator: this is for them")
            if login == ctx.login and not active:
                raise NotAllowed("you cannot disable yourself")
            agent: Agent | None = await session.scalar(
                sa.select(Agent).where(col(Agent.login) == login).options(AGENT_WITHOUT_SECRET)
            )
            if agent is None:
                raise UnknownAgent(one_line(login, 64))
            agent.active = active
            await _flush_checked(session)
            self.audit(session, actor, "agent.enabled" if active else "agent.disabled",
                       f"agent:{agent.login}")  # fmt: skip

        await self.db.run_write(tx)

    async def remove(self, actor: Actor, login: str) -> None:
        """``agent remove``: an agent with nothing on record (no message or conversation of
        theirs) is deleted, their database role revoked; one with history is refused (disable
        them: the history keeps its names).  The audit trail names people by login, and keeps
        the removed one's.  For administrators."""
        login = login.strip()

        async def tx(session: AsyncSession) -> None:
            ctx = await load_agent(session, actor)
            if not ctx.is_admin:
                raise NotAllowed(f"{ctx.login} is not an administrator: this is for them")
            if login == ctx.login:
                raise NotAllowed("you cannot remove yourself")
            agent_id = await session.scalar(
                sa.select(col(Agent.id)).where(col(Agent.login) == login)
            )
            if agent_id is None:
                raise UnknownAgent(one_line(login, 64))
            used = await session.scalar(
                sa.select(
                    sa.exists().where(col(Message.agent_id) == agent_id)
                    | sa.exists().where(col(Interaction.agent_id) == agent_id)
                )
            )
            if used:
                raise NotAllowed(
                    f"{login} has messages or conversations on record: disable them instead "
                    "(`bannertui agent disable`)"
                )
            await session.execute(sa.delete(Agent).where(col(Agent.id) == agent_id))
            self.audit(session, actor, "agent.removed", f"agent:{login}")

        await self.db.run_write(tx)


def check_login(login: str) -> str:
    """An agent's login: 1–63 visible characters, no space, not beginning with ``pg_`` or
    ``bannertui_`` (on PostgreSQL it names their database role)."""
    clean = login.strip()
    if (
        not clean
        or len(clean.encode()) > 63
        or any(c.isspace() or not c.isprintable() for c in clean)
        or clean.lower().startswith(("pg_", "bannertui_"))
    ):
        raise NotAllowed(
            f"{one_line(login, 64)!r} is not a login (1–63 visible characters, no space, not "
            "beginning with pg_ or bannertui_)"
        )
    return clean


async def _flush_checked(session: AsyncSession) -> None:
    """Flush, a refusal of the database's (its agent-role trigger) as our error."""
    try:
        await session.flush()
    except DBAPIError as exc:
        refusal = pg_refusal(exc)
        if refusal is None:
            raise
        raise refusal from None
