"""Administration, the "Maker" area (SPEC Q1, Q3, Q4, X4): queues and their SMS channel,
queue members, bots, the blacklist and the audit trail.  Admin role only; every change is
validated (each refusal named) and written to the audit trail in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import BotTrigger, MessageType, Role, Strategy
from bannertui.domain.errors import (
    BannerError,
    InvalidTemplate,
    NotAllowed,
    UnknownAgent,
    UnknownQueue,
)
from bannertui.domain.hours import check_timezone, parse_hours
from bannertui.domain.phone import parse_allow_list, validate_number
from bannertui.domain.sms import measure
from bannertui.domain.templates import variables
from bannertui.domain.text import one_line
from bannertui.services.agents import load_agent
from bannertui.services.base import Service, like_contains
from bannertui.services.routing import check_bot_template
from bannertui.store.models import (
    Agent,
    AuditEvent,
    BlacklistEntry,
    Bot,
    Profile,
    ProfileSmsNumber,
    Queue,
    QueueAgent,
    SmsNumber,
    Template,
    TemplateQueue,
)


class InvalidQueue(BannerError):
    """A queue setting is refused (negative time, unknown strategy, a number in use...)."""

    name = "Invalid queue"


class InvalidBlacklistEntry(BannerError):
    name = "Invalid blacklist entry"


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """Q1: what an administrator edits for a queue's SMS channel."""

    name: str
    enabled: bool = True
    connector: str = "default"
    #: Our SMS number (E.164) this queue answers on, or "" for none.
    number: str = ""
    strategy: str = Strategy.ROUND_ROBIN
    service_level_s: int = 60
    max_waiting: int = 0
    max_transfer_s: int = 0
    max_time_in_queue_s: int = 0
    out_of_hours_message: str = ""
    opening_hours: str = ""
    timezone: str = "UTC"
    inbound_blacklist: bool = False
    outbound_blacklist: bool = False


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    settings: QueueSettings
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BotRow:
    id: int
    queue: str
    trigger: str
    template: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class BlacklistRow:
    id: int
    number: str
    reason: str
    created_at: datetime | None
    created_by: str


class InvalidProfile(BannerError):
    name = "Invalid profile"


@dataclass(frozen=True, slots=True)
class TemplateRow:
    id: int
    name: str
    text: str
    kind: str
    queues: tuple[str, ...]
    variables: list[str]


@dataclass(frozen=True, slots=True)
class NumberRow:
    id: int
    number: str
    label: str
    queue: str | None
    profiles: tuple[str, ...]


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


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str


_TIMES = ("service_level_s", "max_waiting", "max_transfer_s", "max_time_in_queue_s")
#: The columns are 32-bit integers.
_INT_MAX = 2_147_483_647


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


def validate_queue(s: QueueSettings) -> QueueSettings:
    """Q1's rules, each refusal naming the field."""
    name = s.name.strip()
    if not name or len(name) > 120 or not name.isprintable():
        raise InvalidQueue("name: 1 to 120 printable characters")
    if s.strategy not in Strategy._value2member_map_:
        allowed = ", ".join(v.value for v in Strategy)
        raise InvalidQueue(f"strategy {s.strategy!r}: one of {allowed}")
    for field in _TIMES:
        value = getattr(s, field)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _INT_MAX:
            raise InvalidQueue(
                f"{field.replace('_', ' ')}: a whole number from 0 to {_INT_MAX:,} (got {value!r})"
            )
    if not s.connector.strip() or len(s.connector) > 64:
        raise InvalidQueue("connector: 1 to 64 characters")
    if len(s.out_of_hours_message) > 2000:
        raise InvalidQueue("out-of-hours message: 2,000 characters at most")
    if s.out_of_hours_message.strip() and measure(s.out_of_hours_message).over_limit:
        raise InvalidQueue("out-of-hours message: more than 8 credits")
    parse_hours(s.opening_hours)  # Invalid opening hours, naming the entry
    zone = check_timezone(s.timezone)  # Invalid time zone
    number = validate_number(s.number) if s.number.strip() else ""
    return QueueSettings(
        **{
            **{f.name: getattr(s, f.name) for f in fields(s)},
            "name": name,
            "number": number,
            "timezone": zone.key,
            "connector": s.connector.strip(),
        }
    )


class AdminService(Service):
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

    # --- queues ----------------------------------------------------------------------------

    async def queues(self, actor: Actor) -> list[QueueRow]:
        async with self.db.read() as session:
            await self._admin(session, actor)
            numbers = dict(
                (await session.execute(sa.select(col(SmsNumber.id), col(SmsNumber.number)))).all()
            )
            members: dict[int, list[str]] = {}
            for qid, login in (
                await session.execute(
                    sa.select(col(QueueAgent.queue_id), col(Agent.login))
                    .join(Agent, col(Agent.id) == col(QueueAgent.agent_id))
                    .order_by(col(Agent.login))
                )
            ).all():
                members.setdefault(qid, []).append(login)
            rows = []
            for q in (await session.scalars(sa.select(Queue).order_by(col(Queue.name)))).all():
                settings = QueueSettings(
                    name=q.name,
                    enabled=q.enabled,
                    connector=q.connector,
                    number=numbers.get(q.sms_number_id, "") if q.sms_number_id else "",
                    strategy=q.strategy,
                    service_level_s=q.service_level_s,
                    max_waiting=q.max_waiting,
                    max_transfer_s=q.max_transfer_s,
                    max_time_in_queue_s=q.max_time_in_queue_s,
                    out_of_hours_message=q.out_of_hours_message,
                    opening_hours=q.opening_hours,
                    timezone=q.timezone,
                    inbound_blacklist=q.inbound_blacklist,
                    outbound_blacklist=q.outbound_blacklist,
                )
                rows.append(QueueRow(q.id or 0, settings, tuple(members.get(q.id or 0, []))))
            return rows

    async def save_queue(
        self, actor: Actor, settings: QueueSettings, queue_id: int | None = None
    ) -> int:
        """Create (``queue_id`` None) or update a queue; returns its id."""
        await self.require_admin(actor)
        clean = validate_queue(settings)

        async def fn(session: AsyncSession) -> int:
            queue = (
                Queue(name=clean.name) if queue_id is None else await session.get(Queue, queue_id)
            )
            if queue is None:
                raise UnknownQueue(f"no queue #{queue_id}")
            same_name = await session.scalar(
                sa.select(col(Queue.id)).where(
                    sa.func.lower(col(Queue.name)) == clean.name.lower(),
                    col(Queue.id) != (queue_id or 0),
                )
            )
            if same_name is not None:
                raise InvalidQueue(f"another queue is named {clean.name!r}")
            number_id = None
            if clean.number:
                number_id = await session.scalar(
                    sa.select(col(SmsNumber.id)).where(col(SmsNumber.number) == clean.number)
                )
                if number_id is None:
                    number = SmsNumber(number=clean.number, label=clean.name)
                    session.add(number)
                    await session.flush()
                    number_id = number.id
                other = await session.scalar(
                    sa.select(col(Queue.name)).where(
                        col(Queue.sms_number_id) == number_id, col(Queue.id) != (queue_id or 0)
                    )
                )
                if other is not None:
                    raise InvalidQueue(f"{clean.number} already serves the queue {other!r}")
            before = {f.name: getattr(queue, f.name, None) for f in fields(clean)}
            number_before = None
            if queue.sms_number_id is not None:
                number_before = await session.scalar(
                    sa.select(col(SmsNumber.number)).where(col(SmsNumber.id) == queue.sms_number_id)
                )
            for f in fields(clean):
                if f.name != "number":
                    setattr(queue, f.name, getattr(clean, f.name))
            queue.sms_number_id = number_id
            session.add(queue)
            await session.flush()
            changed = {
                k: getattr(clean, k)
                for k in before
                if k != "number" and before[k] != getattr(clean, k)
            }
            if (clean.number or None) != number_before:
                changed["number"] = clean.number or None
            self.audit(
                session,
                actor,
                "queue.created" if queue_id is None else "queue.updated",
                f"queue:{clean.name}",
                **changed,
            )
            return int(queue.id or 0)

        return int(await self._write(actor, fn))

    async def set_members(self, actor: Actor, queue_id: int, logins: Sequence[str]) -> None:
        """Q2: the agents the queue distributes to (replaces the list)."""

        async def fn(session: AsyncSession) -> None:
            queue = await session.get(Queue, queue_id)
            if queue is None:
                raise UnknownQueue(f"no queue #{queue_id}")
            wanted = list(dict.fromkeys(login.strip() for login in logins if login.strip()))
            ids = dict(
                (
                    await session.execute(
                        sa.select(col(Agent.login), col(Agent.id)).where(
                            col(Agent.login).in_(wanted)
                        )
                    )
                ).all()
            )
            missing = [login for login in wanted if login not in ids]
            if missing:
                raise UnknownAgent(", ".join(missing))
            await session.execute(sa.delete(QueueAgent).where(col(QueueAgent.queue_id) == queue_id))
            for login in wanted:
                session.add(QueueAgent(queue_id=queue_id, agent_id=int(ids[login] or 0)))
            self.audit(session, actor, "queue.members", f"queue:{queue.name}", members=wanted)

        await self._write(actor, fn)

    # --- bots ------------------------------------------------------------------------------

    async def bots(self, actor: Actor) -> list[BotRow]:
        async with self.db.read() as session:
            await self._admin(session, actor)
            rows = (
                await session.execute(
                    sa.select(
                        col(Bot.id),
                        col(Queue.name),
                        col(Bot.trigger),
                        col(Template.name),
                        col(Bot.enabled),
                    )
                    .join(Queue, col(Queue.id) == col(Bot.queue_id))
                    .join(Template, col(Template.id) == col(Bot.template_id))
                    .order_by(col(Queue.name), col(Bot.trigger), col(Bot.id))
                )
            ).all()
            return [BotRow(int(i or 0), q, t, n, e) for i, q, t, n, e in rows]

    async def add_bot(self, actor: Actor, queue_id: int, trigger: str, template_name: str) -> int:
        """Q3: a scripted message of the queue, from a template (Invalid template if it is
        empty, deleted or unknown; Template variables missing if a bot cannot always fill it:
        see :func:`check_bot_template`)."""
        await self.require_admin(actor)
        if trigger not in BotTrigger._value2member_map_:
            allowed = ", ".join(t.value for t in BotTrigger)
            raise InvalidQueue(f"bot trigger {trigger!r}: one of {allowed}")

        async def fn(session: AsyncSession) -> int:
            queue = await session.get(Queue, queue_id)
            if queue is None:
                raise UnknownQueue(f"no queue #{queue_id}")
            template = await session.scalar(
                sa.select(Template).where(
                    col(Template.name) == template_name, col(Template.deleted).is_(False)
                )
            )
            if template is None or not template.text.strip():
                raise InvalidTemplate(f"no usable template named {template_name!r}")
            check_bot_template(template.text)
            bot = Bot(queue_id=queue_id, trigger=trigger, template_id=template.id or 0)
            session.add(bot)
            await session.flush()
            self.audit(
                session,
                actor,
                "bot.added",
                f"queue:{queue.name}",
                trigger=trigger,
                template=template.name,
            )
            return int(bot.id or 0)

        return int(await self._write(actor, fn))

    async def set_bot_enabled(self, actor: Actor, bot_id: int, enabled: bool) -> None:
        """Switch a bot on or off; on again only while a bot can fill its template (one stored
        before that rule may not: Template variables missing)."""

        async def fn(session: AsyncSession) -> None:
            bot = await session.get(Bot, bot_id)
            if bot is None:
                raise InvalidQueue(f"no bot #{bot_id}")
            if enabled:
                text = await session.scalar(
                    sa.select(col(Template.text)).where(col(Template.id) == bot.template_id)
                )
                check_bot_template(text or "")
            bot.enabled = enabled
            self.audit(
                session, actor, "bot.enabled" if enabled else "bot.disabled", f"bot:{bot_id}"
            )

        await self._write(actor, fn)

    async def remove_bot(self, actor: Actor, bot_id: int) -> None:
        async def fn(session: AsyncSession) -> None:
            bot = await session.get(Bot, bot_id)
            if bot is None:
                raise InvalidQueue(f"no bot #{bot_id}")
            await session.delete(bot)
            self.audit(session, actor, "bot.removed", f"bot:{bot_id}")

        await self._write(actor, fn)

    # --- blacklist -------------------------------------------------------------------------

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

    # --- audit trail -----------------------------------------------------------------------

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

    # --- templates -------------------------------------------------------------------------

    async def templates(self, actor: Actor) -> list[TemplateRow]:
        async with self.db.read() as session:
            await self._admin(session, actor)
            links: dict[int, list[str]] = {}
            for tid, qname in (
                await session.execute(
                    sa.select(col(TemplateQueue.template_id), col(Queue.name))
                    .join(Queue, col(Queue.id) == col(TemplateQueue.queue_id))
                    .order_by(col(Queue.name))
                )
            ).all():
                links.setdefault(tid, []).append(qname)
            rows = (
                await session.scalars(
                    sa.select(Template)
                    .where(col(Template.deleted).is_(False))
                    .order_by(col(Template.name))
                )
            ).all()
            return [
                TemplateRow(
                    t.id or 0,
                    t.name,
                    t.text,
                    t.kind,
                    tuple(links.get(t.id or 0, ())),
                    variables(t.text),
                )
                for t in rows
            ]

    async def save_template(
        self,
        actor: Actor,
        *,
        name: str,
        text: str,
        kind: str = MessageType.NOTIFICATION,
        queues: Sequence[str] = (),
        template_id: int | None = None,
    ) -> int:
        """A template (Invalid template: empty text, over 8 credits, a bad name; Template
        variables missing: a text a bot using it cannot always fill); ``queues`` replaces the
        queues that offer it in Smart conversations."""
        await self.require_admin(actor)
        name = name.strip()
        if not name or len(name) > 120 or not name.isprintable():
            raise InvalidTemplate("name: 1 to 120 printable characters")
        if not text.strip():
            raise InvalidTemplate("the text is empty")
        if len(text) > 5000:
            raise InvalidTemplate("the text is longer than 5,000 characters")
        if kind not in MessageType._value2member_map_:
            raise InvalidTemplate(f"kind {kind!r}: NOTIFICATION or MARKETING")

        async def fn(session: AsyncSession) -> int:
            template = (
                Template(name=name)
                if template_id is None
                else await session.get(Template, template_id)
            )
            if template is None or template.deleted:
                raise InvalidTemplate(f"no template #{template_id}")
            clash = await session.scalar(
                sa.select(col(Template.id)).where(
                    sa.func.lower(col(Template.name)) == name.lower(),
                    col(Template.id) != (template_id or 0),
                    col(Template.deleted).is_(False),
                )
            )
            if clash is not None:
                raise InvalidTemplate(f"another template is named {name!r}")
            if template_id is not None:
                used_by_bot = await session.scalar(
                    sa.select(col(Bot.id)).where(col(Bot.template_id) == template_id).limit(1)
                )
                if used_by_bot is not None:
                    check_bot_template(text)
            ids = await _queue_ids(session, queues)
            template.name, template.text, template.kind = name, text, kind
            session.add(template)
            await session.flush()
            await session.execute(
                sa.delete(TemplateQueue).where(col(TemplateQueue.template_id) == template.id)
            )
            for qid in ids:
                session.add(TemplateQueue(template_id=template.id or 0, queue_id=qid))
            self.audit(
                session,
                actor,
                "template.created" if template_id is None else "template.updated",
                f"template:{name}",
                kind=kind,
                queues=list(queues),
            )
            return int(template.id or 0)

        return int(await self._write(actor, fn))

    async def delete_template(self, actor: Actor, template_id: int) -> None:
        """Templates are marked deleted (past messages and bots keep their reference); a bot
        using it stops sending (Invalid template)."""

        async def fn(session: AsyncSession) -> None:
            template = await session.get(Template, template_id)
            if template is None or template.deleted:
                raise InvalidTemplate(f"no template #{template_id}")
            template.deleted = True
            template.name = f"{template.name} (deleted #{template.id})"[:120]
            self.audit(session, actor, "template.deleted", f"template:{template_id}")

        await self._write(actor, fn)

    # --- SMS numbers -----------------------------------------------------------------------

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
            return [
                NumberRow(
                    n.id or 0,
                    n.number,
                    n.label,
                    queue_of.get(n.id),
                    tuple(sorted(profiles.get(n.id or 0, ()))),
                )
                for n in rows
            ]

    async def add_number(self, actor: Actor, number: str, label: str = "") -> NumberRow:
        """One of our SMS numbers (a valid mobile number in E.164, once)."""
        await self.require_admin(actor)
        e164 = validate_number(number)
        label = one_line(label.strip(), 120)

        async def fn(session: AsyncSession) -> NumberRow:
            exists = await session.scalar(
                sa.select(col(SmsNumber.id)).where(col(SmsNumber.number) == e164)
            )
            if exists is not None:
                raise InvalidQueue(f"{e164} is already one of our numbers")
            row = SmsNumber(number=e164, label=label)
            session.add(row)
            await session.flush()
            self.audit(session, actor, "number.added", e164, label=label)
            return NumberRow(row.id or 0, e164, label, None, ())

        result: NumberRow = await self._write(actor, fn)
        return result

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

    # --- profiles --------------------------------------------------------------------------

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


async def _queue_ids(session: AsyncSession, names: Sequence[str]) -> list[int]:
    wanted = [n.strip() for n in names if n.strip()]
    found = dict(
        (
            await session.execute(
                sa.select(col(Queue.name), col(Queue.id)).where(col(Queue.name).in_(wanted))
            )
        ).all()
    )
    missing = [n for n in wanted if n not in found]
    if missing:
        raise UnknownQueue(", ".join(missing))
    return [int(found[n] or 0) for n in dict.fromkeys(wanted)]
