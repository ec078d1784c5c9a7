"""What every part of the administration shares: the administrator check and the audited
write."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Role
from bannertui.domain.errors import (
    NotAllowed,
)
from bannertui.services.agents import load_agent
from bannertui.services.base import Service


class AdminBase(Service):
    async def _admin(self, session: AsyncSession, actor: Actor) -> None:
        ctx = await load_agent(session, actor)
        if ctx.profile.role != Role.ADMIN:
            raise NotAllowed("administration is for administrators")

    async def require_admin(self, actor: Actor) -> None:
        async with self.db.read() as session:
            await self._admin(session, actor)

    async def _write(self, actor: Actor, fn: Any) -> Any:
        async def tx(session: AsyncSession) -> Any:
            await self._admin(session, actor)
            return await fn(session)

        return await self.db.run_write(tx)
