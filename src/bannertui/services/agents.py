"""Who the caller is: an agent, their profile, and the B1 prerequisites."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.errors import (
    NoDirectPermission,
    NoProviderConfigured,
    NoSmartPermission,
    SimultaneousLimitReached,
    UnknownAgent,
)
from bannertui.domain.routing import Permissions, RoutingMode, SendMode, routing_mode
from bannertui.services.accounts import ACCOUNT_ID, ACCOUNT_NOT_SET_UP
from bannertui.services.base import Service
from bannertui.store.models import (
    Account,
    Agent,
    Interaction,
    InteractionStatus,
    Profile,
    ProfileSmsNumber,
    Queue,
    SmsNumber,
)

OPEN_STATUSES = (InteractionStatus.QUEUED, InteractionStatus.PROGRESSING)


@dataclass(frozen=True, slots=True)
class AgentContext:
    """An agent as the rules see them."""

    agent: Agent
    profile: Profile
    sender_numbers: tuple[str, ...]
    #: The account's credit balance and provider URL, read in the same statement (None: the
    #: account is not set up).  The balance is a snapshot: debits check it again.
    balance: int | None = None
    provider_url: str | None = None

    def account_balance(self) -> int:
        """The balance read with the agent; No provider configured when there is no account."""
        if self.balance is None:
            raise NoProviderConfigured(ACCOUNT_NOT_SET_UP)
        return self.balance

    @property
    def login(self) -> str:
        return self.agent.login

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
_AGENT_BY_LOGIN = (
    sa.select(
        Agent,
        Profile,
        _SENDER_NUMBERS.label("sender_numbers"),
        col(Account.credits),
        col(Account.provider_url),
    )
    .join(Profile, col(Profile.id) == col(Agent.profile_id))
    .outerjoin(Account, col(Account.id) == ACCOUNT_ID)
    .where(col(Agent.login) == sa.bindparam("login"))
)


async def load_agent(session: AsyncSession, login: str) -> AgentContext:
    row = (await session.execute(_AGENT_BY_LOGIN, {"login": login})).first()
    if row is None or not row[0].active:
        raise UnknownAgent(f"no active agent with login {login!r}")
    agent, profile, numbers, balance, provider_url = row
    return AgentContext(
        agent=agent,
        profile=profile,
        sender_numbers=tuple(sorted(numbers.split("\n"))) if numbers else (),
        balance=balance,
        provider_url=provider_url,
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
    if not ctx.provider_url:
        raise NoProviderConfigured("ask an administrator to set the SMS provider")
    return routing


class AgentService(Service):
    async def context(self, login: str) -> AgentContext:
        async with self.db.read() as session:
            return await load_agent(session, login)

    async def outbound_options(self, login: str) -> OutboundOptions:
        """Check B1 before any form opens; say what the forms may offer."""
        async with self.db.read() as session:
            ctx = await load_agent(session, login)
            mode = await check_prerequisites(session, ctx)
            queues = (
                await session.scalars(
                    sa.select(Queue).where(col(Queue.enabled).is_(True)).order_by(col(Queue.name))
                )
            ).all()
        return OutboundOptions(mode=mode, sender_numbers=ctx.sender_numbers, queues=tuple(queues))

    async def list_agents(self) -> list[tuple[Agent, Profile]]:
        async with self.db.read() as session:
            rows = await session.execute(
                sa.select(Agent, Profile)
                .join(Profile, col(Profile.id) == col(Agent.profile_id))
                .order_by(col(Agent.login))
            )
            return [(a, p) for a, p in rows.all()]
