"""Administration: the blacklist: numbers nothing is sent to (SPEC Q4).  Administrators only; each
change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.errors import (
    InvalidBlacklistEntry,
)
from bannertui.domain.text import one_line
from bannertui.services.admin.base import AdminBase
from bannertui.store.models import (
    BlacklistEntry,
)


@dataclass(frozen=True, slots=True)
class BlacklistRow:
    id: int
    number: str
    reason: str
    created_at: datetime | None
    created_by: str


def blacklist_number(raw: str) -> str:
    """A valid international number in E.164, mobile or not (Invalid blacklist entry)."""
    import phonenumbers

    from bannertui.domain.phone import normalize_input

    text = normalize_input(raw)
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise InvalidBlacklistEntry(
            f"{raw.strip()!r}: an international number, starting with +"
        ) from None
    if parsed.extension or not phonenumbers.is_valid_number(parsed):
        raise InvalidBlacklistEntry(f"{raw.strip()!r} is not a valid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class BlacklistAdmin(AdminBase):
    async def blacklist(self, actor: Actor) -> list[BlacklistRow]:
        async with self.db.read() as session:
            await self._admin(session, actor)
            rows = (
                await session.scalars(
                    sa.select(BlacklistEntry).order_by(col(BlacklistEntry.number))
                )
            ).all()
            return [
                BlacklistRow(r.id or 0, r.number, r.reason, r.created_at, r.created_by)
                for r in rows
            ]

    async def add_to_blacklist(self, actor: Actor, number: str, reason: str = "") -> BlacklistRow:
        """Q4: any valid international number (landlines too: they can send SMS to us)."""
        e164 = blacklist_number(number)
        reason = one_line(reason.strip(), 500)

        async def fn(session: AsyncSession) -> BlacklistRow:
            exists = await session.scalar(
                sa.select(col(BlacklistEntry.id)).where(col(BlacklistEntry.number) == e164)
            )
            if exists is not None:
                raise InvalidBlacklistEntry(f"{e164} is already on the blacklist")
            entry = BlacklistEntry(
                number=e164, reason=reason, created_at=self.clock(), created_by=actor.audit_name
            )
            session.add(entry)
            await session.flush()
            self.audit(session, actor, "blacklist.added", e164, reason=reason)
            return BlacklistRow(entry.id or 0, e164, reason, entry.created_at, actor.audit_name)

        result_row: BlacklistRow = await self._write(actor, fn)
        return result_row

    async def remove_from_blacklist(self, actor: Actor, number: str) -> None:
        try:
            number = blacklist_number(number)  # as it was added, in any format
        except InvalidBlacklistEntry:
            number = number.strip()

        async def fn(session: AsyncSession) -> None:
            entry = await session.scalar(
                sa.select(BlacklistEntry).where(col(BlacklistEntry.number) == number)
            )
            if entry is None:
                raise InvalidBlacklistEntry(f"{number} is not on the blacklist")
            await session.delete(entry)
            self.audit(session, actor, "blacklist.removed", number)

        await self._write(actor, fn)
