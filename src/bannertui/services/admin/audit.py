"""Administration: the audit trail (SPEC X4), read by administrators only; nothing here
writes to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.services.admin.base import AdminBase
from bannertui.services.base import like_contains
from bannertui.store.models import (
    AuditEvent,
)


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str


class AuditAdmin(AdminBase):
    async def audit_trail(
        self,
        actor: Actor,
        *,
        who: str = "",
        action: str = "",
        text: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditRow]:
        """X4: who did what and when, newest first; ``who`` and ``action`` match exactly or by
        prefix ("sms." → every SMS action), ``text`` anywhere in the target or detail."""
        async with self.db.read() as session:
            await self._admin(session, actor)
            query = sa.select(AuditEvent)
            if who.strip():
                query = query.where(col(AuditEvent.actor) == who.strip())
            if action.strip():
                query = query.where(
                    col(AuditEvent.action).startswith(action.strip(), autoescape=True)
                )
            if text:
                pattern = like_contains(text)
                query = query.where(
                    sa.or_(
                        sa.func.lower(col(AuditEvent.target)).like(pattern.lower(), escape="\\"),
                        sa.func.lower(col(AuditEvent.detail)).like(pattern.lower(), escape="\\"),
                    )
                )
            if since is not None:
                query = query.where(col(AuditEvent.at) >= since)
            if until is not None:
                query = query.where(col(AuditEvent.at) < until)
            if before_id is not None:
                query = query.where(col(AuditEvent.id) < before_id)
            rows = (
                await session.scalars(query.order_by(col(AuditEvent.id).desc()).limit(limit))
            ).all()
            return [
                AuditRow(r.id or 0, r.at or self.clock(), r.actor, r.action, r.target, r.detail)
                for r in rows
            ]
