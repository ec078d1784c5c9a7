"""Administration: the account's SMS numbers.  Administrators only; each change is audited."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import ConnectorType
from bannertui.domain.errors import (
    InvalidProfile,
    InvalidQueue,
)
from bannertui.domain.phone import validate_number
from bannertui.domain.text import one_line
from bannertui.services.admin.base import AdminBase
from bannertui.store.models import (
    Connector,
    Profile,
    ProfileSmsNumber,
    Queue,
    SmsNumber,
)


@dataclass(frozen=True, slots=True)
class NumberRow:
    id: int
    number: str
    label: str
    queue: str | None
    profiles: tuple[str, ...]
    #: The name of the connector the number belongs to.
    connector: str = ""


async def _https_connector(session: AsyncSession, name: str) -> Connector:
    """The connector named ``name`` (the first https-json one when none is named), refused
    when it is a Twilio one: Twilio's numbers are the account's at Twilio.  An https-json or
    SMPP connector takes any valid number (neither can list its carrier's)."""
    query = sa.select(Connector).order_by(col(Connector.id)).limit(1)
    if name.strip():
        query = query.where(sa.func.lower(col(Connector.name)) == name.strip().lower())
    else:
        query = query.where(col(Connector.type) == ConnectorType.HTTPS_JSON)
    found = await session.scalar(query)
    if found is None:
        raise InvalidQueue(
            f"there is no connector named {name.strip()!r}"
            if name.strip()
            else "there is no https-json connector: name one"
        )
    if found.type == ConnectorType.TWILIO:
        raise InvalidQueue(
            f"{found.name} is a Twilio connector: add its numbers from the Connectors tab or "
            "`bannertui connector add-number`, which checks the Twilio account owns them"
        )
    return found


class NumberAdmin(AdminBase):
    async def numbers(self, actor: Actor) -> list[NumberRow]:
        async with self.db.read() as session:
            await self._admin(session, actor)
            queue_of = dict(
                (
                    await session.execute(
                        sa.select(col(Queue.sms_number_id), col(Queue.name)).where(
                            col(Queue.sms_number_id).is_not(None)
                        )
                    )
                ).all()
            )
            profiles: dict[int, list[str]] = {}
            for nid, pname in (
                await session.execute(
                    sa.select(col(ProfileSmsNumber.sms_number_id), col(Profile.name)).join(
                        Profile, col(Profile.id) == col(ProfileSmsNumber.profile_id)
                    )
                )
            ).all():
                profiles.setdefault(nid, []).append(pname)
            rows = (
                await session.scalars(sa.select(SmsNumber).order_by(col(SmsNumber.number)))
            ).all()
            connector_of = dict(
                (await session.execute(sa.select(col(Connector.id), col(Connector.name)))).all()
            )
            return [
                NumberRow(
                    n.id or 0,
                    n.number,
                    n.label,
                    queue_of.get(n.id),
                    tuple(sorted(profiles.get(n.id or 0, ()))),
                    connector_of.get(n.connector_id, ""),
                )
                for n in rows
            ]

    async def add_number(
        self, actor: Actor, number: str, label: str = "", connector: str = ""
    ) -> NumberRow:
        """One of our SMS numbers (a valid mobile number in E.164, once), of the https-json
        or SMPP connector named ``connector`` (none named: the first https-json one).  A
        Twilio number is added from its connector (``connectors.add_number``), which checks
        Twilio owns it."""
        await self.require_admin(actor)
        e164 = validate_number(number)
        label = one_line(label.strip(), 120)

        async def fn(session: AsyncSession) -> NumberRow:
            exists = await session.scalar(
                sa.select(col(SmsNumber.id)).where(col(SmsNumber.number) == e164)
            )
            if exists is not None:
                raise InvalidQueue(f"{e164} is already one of our numbers")
            owner = await _https_connector(session, connector)
            row = SmsNumber(number=e164, label=label, connector_id=owner.id or 0)
            session.add(row)
            await session.flush()
            self.audit(session, actor, "number.added", e164, label=label, connector=owner.name)
            return NumberRow(row.id or 0, e164, label, None, (), owner.name)

        result: NumberRow = await self._write(actor, fn)
        return result

    async def set_number_label(self, actor: Actor, number_id: int, label: str) -> None:
        """Change what one of our numbers is labelled (the number itself is its identity:
        remove it and add another to change it)."""
        label = one_line(label.strip(), 120)

        async def fn(session: AsyncSession) -> None:
            row = await session.get(SmsNumber, number_id)
            if row is None:
                raise InvalidQueue(f"no SMS number #{number_id}")
            row.label = label
            self.audit(session, actor, "number.labelled", row.number, label=label)

        await self._write(actor, fn)

    async def remove_number(self, actor: Actor, number_id: int) -> None:
        """Refused while a queue answers on it or a profile sends from it (named)."""

        async def fn(session: AsyncSession) -> None:
            row = await session.get(SmsNumber, number_id)
            if row is None:
                raise InvalidQueue(f"no SMS number #{number_id}")
            queue = await session.scalar(
                sa.select(col(Queue.name)).where(col(Queue.sms_number_id) == number_id)
            )
            if queue is not None:
                raise InvalidQueue(
                    f"{row.number} serves the queue {queue!r}: change it there first"
                )
            profile = await session.scalar(
                sa.select(col(Profile.name))
                .join(ProfileSmsNumber, col(ProfileSmsNumber.profile_id) == col(Profile.id))
                .where(col(ProfileSmsNumber.sms_number_id) == number_id)
            )
            if profile is not None:
                raise InvalidProfile(f"{row.number} is a sender number of the profile {profile!r}")
            await session.delete(row)
            self.audit(session, actor, "number.removed", row.number)

        await self._write(actor, fn)
