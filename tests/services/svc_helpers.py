"""Helpers for the service tests: look demo rows up by name, count rows, poke at the data."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bannertui.store.database import Database
from bannertui.store.models import (
    Account,
    Agent,
    AuditEvent,
    Interaction,
    Message,
    Profile,
    Queue,
    Template,
)


class Demo:
    """Reads and small writes on the seeded database, outside the services under test."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def queue_id(self, name: str) -> int:
        async with self.db.read() as session:
            qid = await session.scalar(sa.select(Queue.id).where(Queue.name == name))
        assert qid is not None, name
        return int(qid)

    async def template_id(self, name: str) -> int:
        async with self.db.read() as session:
            tid = await session.scalar(sa.select(Template.id).where(Template.name == name))
        assert tid is not None, name
        return int(tid)

    async def agent_id(self, login: str) -> int:
        async with self.db.read() as session:
            aid = await session.scalar(sa.select(Agent.id).where(Agent.login == login))
        assert aid is not None, login
        return int(aid)

    async def balance(self) -> int:
        async with self.db.read() as session:
            return int(await session.scalar(sa.select(Account.credits)) or 0)

    async def count(self, model: Any, *where: Any) -> int:
        async with self.db.read() as session:
            query = sa.select(sa.func.count()).select_from(model)
            if where:
                query = query.where(*where)
            return int(await session.scalar(query) or 0)

    async def message(self, message_id: int) -> Message:
        async with self.db.read() as session:
            msg = await session.get(Message, message_id)
        assert msg is not None
        return msg

    async def interaction(self, interaction_id: int) -> Interaction:
        async with self.db.read() as session:
            inter = await session.get(Interaction, interaction_id)
        assert inter is not None
        return inter

    async def audit(self, action: str) -> list[AuditEvent]:
        async with self.db.read() as session:
            rows = await session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
            return list(rows.all())

    async def snapshot(self) -> tuple[int, int, int, int]:
        """(balance, messages, interactions, audit events): "nothing was written" compares two."""
        return (
            await self.balance(),
            await self.count(Message),
            await self.count(Interaction),
            await self.count(AuditEvent),
        )

    async def update(self, model: Any, where: Any, **values: Any) -> None:
        async with self.db.write() as session:
            result = await session.execute(sa.update(model).where(where).values(**values))
            assert result.rowcount >= 1  # type: ignore[attr-defined]

    async def set_profile(self, name: str, **values: Any) -> None:
        await self.update(Profile, Profile.name == name, **values)

    async def set_account(self, **values: Any) -> None:
        await self.update(Account, Account.id == 1, **values)
