"""Administration: the agents a queue's members are chosen from, with their limits."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.services.admin.base import AdminBase
from bannertui.store.models import Agent, Profile


@dataclass(frozen=True, slots=True)
class RosterRow:
    login: str
    display_name: str
    profile: str
    role: str
    active: bool
    #: Interactions at once (the profile's simultaneous limit).
    max_simultaneous: int


class RosterAdmin(AdminBase):
    async def roster(self, actor: Actor) -> list[RosterRow]:
        """Every agent, by login: what a queue's members are picked from (Q2)."""
        async with self.db.read() as session:
            await self._admin(session, actor)
            rows = (
                await session.execute(
                    sa.select(
                        col(Agent.login),
                        col(Agent.display_name),
                        col(Profile.name),
                        col(Profile.role),
                        col(Agent.active),
                        col(Profile.max_simultaneous),
                    )
                    .join(Profile, col(Profile.id) == col(Agent.profile_id))
                    .order_by(col(Agent.login))
                )
            ).all()
        return [RosterRow(*row) for row in rows]
