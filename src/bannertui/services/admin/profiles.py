"""Administration: profiles: role, send modes and sender numbers.  Administrators only; each
change is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Role
from bannertui.domain.errors import (
    BannerError,
    InvalidProfile,
    refuse_fields,
)
from bannertui.domain.phone import parse_allow_list, validate_number
from bannertui.services.admin.base import AdminBase
from bannertui.store.models import (
    Agent,
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


#: The profile form's fields, top to bottom: the order refusals are named in.
PROFILE_FORM_ORDER = ("name", "role", "max_simultaneous", "authorized_countries", "sender_numbers")


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
        self,
        actor: Actor,
        settings: ProfileSettings,
        profile_id: int | None = None,
        *,
        refused: Mapping[str, str] | None = None,
    ) -> int:
        """A profile and its permissions (B1/B3): role, Messaging, Direct, Smart, the
        simultaneous limit, authorized countries and sender numbers (ours only).  Every
        refused field is named at once, in the form's order (``BannerError.fields``);
        ``refused``: what the caller's form refused already (a limit that is no number)."""
        await self.require_admin(actor)
        s = settings
        errors: dict[str, str] = dict(refused or {})
        name = s.name.strip()
        if not name or len(name) > 120 or not name.isprintable():
            errors["name"] = "name: 1 to 120 printable characters"
        if s.role not in Role._value2member_map_:
            errors["role"] = f"role {s.role!r}: agent, supervisor or admin"
        if "max_simultaneous" not in errors and not 0 <= s.max_simultaneous <= 1000:
            errors["max_simultaneous"] = "simultaneous interactions: 0 to 1,000"
        countries = s.authorized_countries.strip()
        if countries != "*":
            try:
                countries = ",".join(sorted(parse_allow_list(countries)))
            except ValueError as exc:
                errors["authorized_countries"] = f"authorized countries: {exc}"
        wanted: list[str] = []
        named: dict[str, BannerError] = {}
        for raw in (n for n in s.sender_numbers if n.strip()):
            try:
                wanted.append(validate_number(raw))
            except BannerError as exc:
                errors["sender_numbers"] = f"sender numbers: {raw.strip()!r}: {exc.message}"
                named["sender_numbers"] = exc
                break

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
            # What only the database knows, named with the rest at once.
            late = dict(errors)
            if clash is not None and "name" not in late:
                late["name"] = f"another profile is named {name!r}"
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
            if unknown and "sender_numbers" not in late:
                late["sender_numbers"] = f"not one of our numbers: {', '.join(unknown)}"
            refuse_fields(late, PROFILE_FORM_ORDER, InvalidProfile, named)
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

    async def delete_profile(self, actor: Actor, profile_id: int) -> None:
        """Delete a profile no agent has (refused naming the agents who still do: give them
        another profile first); its sender numbers stay ours."""

        async def fn(session: AsyncSession) -> None:
            profile = await session.get(Profile, profile_id)
            if profile is None:
                raise InvalidProfile(f"no profile #{profile_id}")
            holders = (
                await session.scalars(
                    sa.select(col(Agent.login))
                    .where(col(Agent.profile_id) == profile_id)
                    .order_by(col(Agent.login))
                )
            ).all()
            if holders:
                shown = ", ".join(holders[:5]) + (
                    f" and {len(holders) - 5} more" if len(holders) > 5 else ""
                )
                raise InvalidProfile(
                    f"{profile.name!r} is the profile of {shown}: give them another one first"
                )
            await session.execute(
                sa.delete(ProfileSmsNumber).where(col(ProfileSmsNumber.profile_id) == profile_id)
            )
            await session.delete(profile)
            self.audit(session, actor, "profile.deleted", f"profile:{profile.name}")

        await self._write(actor, fn)
