"""Administration: queues and their SMS channel, and their members (SPEC Q1).  Administrators
only; each change is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import ConnectorType, Strategy
from bannertui.domain.errors import (
    BannerError,
    InvalidQueue,
    UnknownAgent,
    UnknownQueue,
    refuse_fields,
)
from bannertui.domain.hours import check_timezone, parse_hours
from bannertui.domain.phone import validate_number
from bannertui.domain.sms import measure
from bannertui.services.admin.base import AdminBase
from bannertui.store.models import (
    Agent,
    Connector,
    Queue,
    QueueAgent,
    SmsNumber,
)


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """Q1: what an administrator edits for a queue's SMS channel."""

    name: str
    enabled: bool = True
    #: The name of the connector the queue sends and receives through; "" is the connector of
    #: its number, else the account's first.
    connector: str = ""
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


_TIMES = ("service_level_s", "max_waiting", "max_transfer_s", "max_time_in_queue_s")
_LABELS = {
    "service_level_s": "service level",
    "max_waiting": "max waiting",
    "max_transfer_s": "max transfer",
    "max_time_in_queue_s": "max time in queue",
}
#: The columns are 32-bit integers.
_INT_MAX = 2_147_483_647


def validate_queue(s: QueueSettings, refused: dict[str, str] | None = None) -> QueueSettings:
    """Q1's rules: every field checked, and every refusal named at once, in the form's order
    (:attr:`InvalidQueue.fields`).  ``refused``: refusals the caller found already (a form's
    number field holding no number), reported with the others."""
    errors: dict[str, str] = dict(refused or {})
    #: The refusals with a name of their own (Invalid number, Invalid time zone, …).
    named: dict[str, BannerError] = {}
    name = s.name.strip()
    if not name or len(name) > 120 or not name.isprintable():
        errors["name"] = "name: 1 to 120 printable characters"
    if len(s.connector.strip()) > 64:
        errors["connector"] = "connector: at most 64 characters"
    number = ""
    if s.number.strip():
        try:
            number = validate_number(s.number)
        except BannerError as exc:
            errors["number"], named["number"] = f"number: {exc.message}", exc
    if s.strategy not in Strategy._value2member_map_:
        allowed = ", ".join(v.value for v in Strategy)
        errors["strategy"] = f"strategy {s.strategy!r}: one of {allowed}"
    for field in _TIMES:
        value = getattr(s, field)
        if field in errors:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _INT_MAX:
            errors[field] = (
                f"{_LABELS[field]}: a whole number from 0 to {_INT_MAX:,} (got {value!r})"
            )
    try:
        parse_hours(s.opening_hours)
    except BannerError as exc:
        errors["opening_hours"], named["opening_hours"] = exc.message, exc
    zone_key = s.timezone
    try:
        zone_key = check_timezone(s.timezone).key
    except BannerError as exc:
        errors["timezone"], named["timezone"] = exc.message, exc
    if len(s.out_of_hours_message) > 2000:
        errors["out_of_hours_message"] = "out-of-hours message: 2,000 characters at most"
    elif s.out_of_hours_message.strip() and measure(s.out_of_hours_message).over_limit:
        errors["out_of_hours_message"] = "out-of-hours message: more than 8 credits"
    refuse_fields(errors, FORM_ORDER, InvalidQueue, named)
    return QueueSettings(
        **{
            **{f.name: getattr(s, f.name) for f in fields(s)},
            "name": name,
            "number": number,
            "timezone": zone_key,
            "connector": s.connector.strip(),
        }
    )


#: The queue form's fields, top to bottom: the order refusals are named in.
FORM_ORDER = (
    "name",
    "connector",
    "number",
    "strategy",
    *_TIMES,
    "opening_hours",
    "timezone",
    "out_of_hours_message",
)


def _refused(field: str, why: str) -> InvalidQueue:
    exc = InvalidQueue(why)
    exc.fields = MappingProxyType({field: why})
    return exc


async def _connector(session: AsyncSession, name: str, number: str) -> Connector:
    """The connector named ``name``; none named: the number's, else the account's first."""
    query = sa.select(Connector)
    if name.strip():
        query = query.where(sa.func.lower(col(Connector.name)) == name.strip().lower())
    elif number:
        query = query.join(SmsNumber, col(SmsNumber.connector_id) == col(Connector.id)).where(
            col(SmsNumber.number) == number
        )
    found = await session.scalar(query.order_by(col(Connector.id)).limit(1))
    if found is None and not name.strip():
        found = await session.scalar(sa.select(Connector).order_by(col(Connector.id)).limit(1))
    if found is None:
        shown = name.strip() or "(none)"
        raise _refused("connector", f"connector: there is no connector named {shown!r}")
    return found


class QueueAdmin(AdminBase):
    async def queues(self, actor: Actor) -> list[QueueRow]:
        async with self.db.read() as session:
            await self._admin(session, actor)
            numbers = dict(
                (await session.execute(sa.select(col(SmsNumber.id), col(SmsNumber.number)))).all()
            )
            connectors = dict(
                (await session.execute(sa.select(col(Connector.id), col(Connector.name)))).all()
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
                    connector=connectors.get(q.connector_id, "") if q.connector_id else "",
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
            connector = await _connector(session, clean.connector, clean.number)
            if clean.number:
                row = (
                    await session.execute(
                        sa.select(col(SmsNumber.id), col(SmsNumber.connector_id)).where(
                            col(SmsNumber.number) == clean.number
                        )
                    )
                ).first()
                other = (
                    await session.scalar(
                        sa.select(col(Queue.name)).where(
                            col(Queue.sms_number_id) == row[0], col(Queue.id) != (queue_id or 0)
                        )
                    )
                    if row is not None
                    else None
                )
                if other is not None:
                    raise InvalidQueue(f"{clean.number} already serves the queue {other!r}")
                if row is not None and row[1] != connector.id:
                    raise _refused(
                        "number",
                        f"number: {clean.number} is not a number of the connector {connector.name}",
                    )
                if row is None and connector.type == ConnectorType.TWILIO:
                    raise _refused(
                        "number",
                        f"number: {clean.number} is not a number of the connector "
                        f"{connector.name}: add it from the Connectors tab first",
                    )
                if row is None:
                    number = SmsNumber(
                        number=clean.number, label=clean.name, connector_id=connector.id or 0
                    )
                    session.add(number)
                    await session.flush()
                    number_id = number.id
                else:
                    number_id = row[0]
            before = {f.name: getattr(queue, f.name, None) for f in fields(clean)}
            before["connector"] = await session.scalar(
                sa.select(col(Connector.name)).where(col(Connector.id) == queue.connector_id)
            )
            number_before = None
            if queue.sms_number_id is not None:
                number_before = await session.scalar(
                    sa.select(col(SmsNumber.number)).where(col(SmsNumber.id) == queue.sms_number_id)
                )
            for f in fields(clean):
                if f.name not in ("number", "connector"):
                    setattr(queue, f.name, getattr(clean, f.name))
            queue.sms_number_id = number_id
            queue.connector_id = connector.id
            session.add(queue)
            await session.flush()
            after = {**{k: getattr(clean, k) for k in before}, "connector": connector.name}
            changed = {k: after[k] for k in before if k != "number" and before[k] != after[k]}
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
