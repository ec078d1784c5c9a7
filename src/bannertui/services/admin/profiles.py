"""Administration: profiles: role, send modes and sender numbers.  Administrators only; each
change is audited."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Role
from bannertui.domain.errors import (
    InvalidProfile,
)
from bannertui.domain.phone import parse_allow_list, validate_number
from bannertui.services.admin.base import AdminBase
from bannertui.store.models import (
    Profile,
    ProfileSmsNumber,
    SmsNumber,
)


@dataclass(frozen=True, slots=True)
class ProfileSettings:
    name: str
    role: str = Role.AGENT
    messaging: bool = True
    direct: bool = False
    smart: bool = False
    max_simultaneous: int = 5
    #: "*" for every country, else ISO codes "FR,BE".
    authorized_countries: str = ""
    sender_numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileRow:
    id: int
    settings: ProfileSettings


class ProfileAdmin(AdminBase):
    async def profiles(self, actor: Actor) -> list[ProfileRow]:
        async with self.db.read() as session:
            await self._admin(session, actor)
            numbers: dict[int, list[str]] = {}
            for pid, number in (
                await session.execute(
                    sa.select(col(ProfileSmsNumber.profile_id), col(SmsNumber.number))
                    .join(SmsNumber, col(SmsNumber.id) == col(ProfileSmsNumber.sms_number_id))
                    .order_by(col(SmsNumber.number))
                )
            ).all():
                numbers.setdefault(pid, []).append(number)
            rows = (await session.scalars(sa.select(Profile).order_by(col(Profile.name)))).all()
            return [
                ProfileRow(
                    p.id or 0,
                    ProfileSettings(
                        name=p.name,
                        role=p.role,
                        messaging=p.messaging,
                        direct=p.direct,
                        smart=p.smart,
                        max_simultaneous=p.max_simultaneous,
                        authorized_countries=p.authorized_countries,
                        sender_numbers=tuple(numbers.get(p.id or 0, ())),
                    ),
                )
                for p in rows
            ]

    async def save_profile(
        self, actor: Actor, settings: ProfileSettings, profile_id: int | None = None
    ) -> int:
        """A profile and its permissions (B1/B3): role, Messaging, Direct, Smart, the
        simultaneous limit, authorized countries and sender numbers (ours only)."""
        await self.require_admin(actor)
        s = settings
        name = s.name.strip()
        if not name or len(name) > 120 or not name.isprintable():
            raise InvalidProfile("name: 1 to 120 printable characters")
        if s.role not in Role._value2member_map_:
            raise InvalidProfile(f"role {s.role!r}: agent, supervisor or admin")
        if not 0 <= s.max_simultaneous <= 1000:
            raise InvalidProfile("simultaneous interactions: 0 to 1,000")
        countries = s.authorized_countries.strip()
        if countries != "*":
            try:
                countries = ",".join(sorted(parse_allow_list(countries)))
            except ValueError as exc:
                raise InvalidProfile(f"authorized countries: {exc}") from None

        async def fn(session: AsyncSession) -> int:
            profile = (
                Profile(name=name) if profile_id is None else await session.get(Profile, profile_id)
            )
            if profile is None:
                raise InvalidProfile(f"no profile #{profile_id}")
            clash = await session.scalar(
                sa.select(col(Profile.id)).where(
                    sa.func.lower(col(Profile.name)) == name.lower(),
                    col(Profile.id) != (profile_id or 0),
                )
            )
            if clash is not None:
                raise InvalidProfile(f"another profile is named {name!r}")
            wanted = [validate_number(n) for n in s.sender_numbers if n.strip()]
            ids = dict(
                (
                    await session.execute(
                        sa.select(col(SmsNumber.number), col(SmsNumber.id)).where(
                            col(SmsNumber.number).in_(wanted)
                        )
                    )
                ).all()
            )
            unknown = [n for n in wanted if n not in ids]
            if unknown:
                raise InvalidProfile(f"not one of our numbers: {', '.join(unknown)}")
            profile.name, profile.role = name, s.role
            profile.messaging, profile.direct, profile.smart = s.messaging, s.direct, s.smart
            profile.max_simultaneous = s.max_simultaneous
            profile.authorized_countries = countries
            session.add(profile)
            await session.flush()
            await session.execute(
                sa.delete(ProfileSmsNumber).where(col(ProfileSmsNumber.profile_id) == profile.id)
            )
            for number in dict.fromkeys(wanted):
                session.add(
                    ProfileSmsNumber(
                        profile_id=profile.id or 0, sms_number_id=int(ids[number] or 0)
                    )
                )
            self.audit(
                session,
                actor,
                "profile.created" if profile_id is None else "profile.updated",
                f"profile:{name}",
                role=s.role,
                messaging=s.messaging,
                direct=s.direct,
                smart=s.smart,
                max_simultaneous=s.max_simultaneous,
                countries=countries,
                sender_numbers=wanted,
            )
            return int(profile.id or 0)

        return int(await self._write(actor, fn))
