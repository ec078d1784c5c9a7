"""Voice interactions from the CTI feed (SPEC B11): a call arrives, is assigned, hangs up.

In the demo the feed is ``bannertui simulate call NUMBER``.  An SMS sent during a call is a
separate interaction: the SMS flow starts with the caller's number pre-filled.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.enums import AgentState, Channel, InteractionStatus
from bannertui.domain.errors import InvalidNumber, UnknownAgent
from bannertui.domain.phone import check_number
from bannertui.services.agents import OPEN_STATUSES, load_agent
from bannertui.services.base import Service
from bannertui.store.models import Agent, Interaction


class VoiceService(Service):
    async def incoming_call(self, from_number: str, agent_login: str | None = None) -> Interaction:
        """Open a progressing voice interaction for the caller, assigned to ``agent_login`` or
        to the available agent with the fewest open interactions."""
        check = check_number(from_number)
        if check.e164 is None:
            raise InvalidNumber(check.detail or "the caller's number could not be read")

        async def tx(session: AsyncSession) -> Interaction:
            if agent_login is not None:
                agent_id = (await load_agent(session, agent_login)).agent.id
            else:
                agent_id = await self._least_busy(session)
            now = self.clock()
            call = Interaction(
                channel=Channel.VOICE,
                status=InteractionStatus.PROGRESSING,
                agent_id=agent_id,
                remote_number=check.e164 or from_number,
                created_at=now,
                assigned_at=now,
                last_message_at=now,
                unread=1,
            )
            session.add(call)
            await session.flush()
            return call

        return await self.db.run_write(tx)

    async def _least_busy(self, session: AsyncSession) -> int:
        open_count = (
            sa.select(sa.func.count())
            .where(
                col(Interaction.agent_id) == col(Agent.id),
                col(Interaction.status).in_(OPEN_STATUSES),
            )
            .correlate(Agent)
            .scalar_subquery()
        )
        agent_id = await session.scalar(
            sa.select(col(Agent.id))
            .where(col(Agent.active).is_(True), col(Agent.state) == AgentState.AVAILABLE)
            .order_by(open_count, col(Agent.id))
            .limit(1)
        )
        if agent_id is None:
            raise UnknownAgent("no agent is available to take the call")
        return int(agent_id)
