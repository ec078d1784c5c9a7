"""Load the demo data (``demo.toml``, readable and editable) into an empty database."""

from __future__ import annotations

import tomllib
import uuid
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.connectors import connector_type, is_configured
from bannertui.domain.contacts import search_key
from bannertui.domain.enums import (
    Channel,
    Direction,
    InteractionStatus,
    MessageStatus,
    MessageType,
    folder_for,
)
from bannertui.domain.phone import validate_number
from bannertui.domain.sms import measure
from bannertui.store.database import Database
from bannertui.store.models import (
    Account,
    Agent,
    Connector,
    Contact,
    ContactGroup,
    Group,
    Interaction,
    Message,
    Profile,
    ProfileSmsNumber,
    Queue,
    QueueAgent,
    SmsNumber,
    Template,
    TemplateQueue,
    utcnow,
)


class SeedError(Exception):
    """The demo file is inconsistent, or the database is not empty."""


def demo_data() -> dict[str, Any]:
    text = files("bannertui.store").joinpath("demo.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _id(row: Any) -> int:
    """The primary key of a flushed row."""
    assert row.id is not None
    return int(row.id)


def _number(raw: str) -> str:
    return validate_number(raw)


async def is_empty(db: Database) -> bool:
    async with db.read() as session:
        return (await session.scalar(sa.select(sa.func.count()).select_from(Agent))) == 0


async def only_administrators(db: Database, data: dict[str, Any] | None = None) -> bool:
    """True when the database holds no more than ``bannertui db init`` makes: administrators
    (none with a login of the demo's), no queue, no interaction, no message."""
    data = data or demo_data()
    demo_logins = [a["login"] for a in data.get("agents", [])]
    async with db.read() as session:
        others = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Agent)
            .join(Profile, col(Profile.id) == col(Agent.profile_id))
            .where(sa.or_(col(Profile.role) != "admin", col(Agent.login).in_(demo_logins)))
        )
        queues = await session.scalar(sa.select(sa.func.count()).select_from(Queue))
        interactions = await session.scalar(sa.select(sa.func.count()).select_from(Interaction))
        messages = await session.scalar(sa.select(sa.func.count()).select_from(Message))
    return not (others or queues or interactions or messages)


async def seed(
    db: Database,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
    *,
    beside_administrators: bool = False,
) -> None:
    """Insert the demo data in one transaction; refuses a database that already has agents,
    or, with ``beside_administrators`` (an administrator asked for it), one holding more than
    its administrators (:func:`only_administrators`): they are kept, beside the demo's."""
    data = data or demo_data()
    now = now or utcnow()
    if not await is_empty(db):
        if not beside_administrators:
            raise SeedError("the database already has agents: seed only an empty database")
        if not await only_administrators(db, data):
            raise SeedError(
                "the database already holds agents, queues or messages beyond its "
                "administrators: seed only an empty or just initialised database"
            )
    async with db.write() as session:
        await _seed(session, data, now)


def _msg(
    *,
    direction: str,
    text: str,
    local: str,
    remote: str,
    at: datetime,
    status: str | None = None,
    error: str | None = None,
    interaction: Interaction | None = None,
    agent_id: int | None = None,
    queue_id: int | None = None,
) -> Message:
    m = measure(text)
    inbound = direction == Direction.INBOUND
    st = MessageStatus.RECEIVED if inbound else MessageStatus(status or "delivered")
    return Message(
        interaction_id=interaction.id if interaction else None,
        agent_id=agent_id,
        queue_id=queue_id,
        direction=direction,
        from_number=remote if inbound else local,
        to_number=local if inbound else remote,
        remote_number=remote,
        text=text,
        encoding=m.encoding.value,
        credits=0 if inbound else m.credits,
        type=MessageType.NOTIFICATION,
        sender=None if inbound else local,
        ret_id=None if inbound else uuid.uuid4().hex,
        provider_message_id=f"demo-{uuid.uuid4().hex}" if inbound else None,
        status=st,
        folder=folder_for(direction, st),
        error=error,
        attempts=0 if inbound else 1,
        created_at=at,
        sent_at=None if inbound or st == MessageStatus.FAILED else at,
        delivered_at=at if st == MessageStatus.DELIVERED else None,
        # demo sends were paid for (a failed one was refunded, a blocked one never charged)
        paid=not inbound and st not in (MessageStatus.FAILED, MessageStatus.BLOCKED),
    )


async def _seed_connectors(
    session: AsyncSession, entries: list[dict[str, Any]], now: datetime
) -> dict[str, int]:
    """The demo's connectors (name → id): the first is connector 1 (which the schema's
    migration made), renamed and set up; the others are added."""
    out: dict[str, int] = {}
    for i, c in enumerate(entries):
        kind = connector_type(c["type"])
        settings = dict(c.get("settings", {}))
        row = await session.get(Connector, 1) if i == 0 else None
        row = row or Connector(name=c["name"], type=kind.value, created_at=now)
        row.name = c["name"]
        row.type = kind.value
        row.settings = settings
        row.configured = is_configured(kind, settings)
        row.updated_at = now
        session.add(row)
        await session.flush()
        out[row.name] = _id(row)
    return out


def _connector(connectors: dict[str, int], name: str | None, what: str) -> int:
    """The id of the connector ``name``; none named: the first (connector 1)."""
    if name is None:
        return next(iter(connectors.values()), 1)
    if name not in connectors:
        raise SeedError(f"{what}: unknown connector {name!r}")
    return connectors[name]


async def _seed(session: AsyncSession, data: dict[str, Any], now: datetime) -> None:
    acc = data["account"]
    account = await session.get(Account, 1) or Account(id=1, name="")  # `db init` made one?
    account.name = acc["name"]
    account.credits = int(acc.get("credits", 0))
    account.updated_at = now
    session.add(account)
    connectors = await _seed_connectors(session, data.get("connectors", []), now)
    numbers: dict[str, SmsNumber] = {}
    for n in data.get("sms_numbers", []):
        num = SmsNumber(
            number=_number(n["number"]),
            label=n.get("label", ""),
            connector_id=_connector(connectors, n.get("connector"), f"number {n['number']}"),
        )
        session.add(num)
        numbers[num.number] = num
    await session.flush()

    profiles: dict[str, Profile] = {}
    for p in data.get("profiles", []):
        # `db init`'s administrators' profile takes the demo's settings of the same name
        prof = (
            await session.scalar(sa.select(Profile).where(col(Profile.name) == p["name"]))
        ) or Profile(name=p["name"])
        prof.role = p.get("role", "agent")
        prof.messaging = p.get("messaging", False)
        prof.direct = p.get("direct", False)
        prof.smart = p.get("smart", False)
        prof.max_simultaneous = p.get("max_simultaneous", 5)
        prof.authorized_countries = p.get("authorized_countries", "")
        session.add(prof)
        await session.flush()
        profiles[prof.name] = prof
        for raw in p.get("sms_numbers", []):
            if _number(raw) not in numbers:
                raise SeedError(f"profile {prof.name!r}: unknown SMS number {raw}")
            num = numbers[_number(raw)]
            session.add(ProfileSmsNumber(profile_id=_id(prof), sms_number_id=_id(num)))

    agents: dict[str, Agent] = {}
    for a in data.get("agents", []):
        if a["profile"] not in profiles:
            raise SeedError(f"agent {a['login']!r}: unknown profile {a['profile']!r}")
        prof = profiles[a["profile"]]
        agent = Agent(
            login=a["login"],
            display_name=a["display_name"],
            profile_id=_id(prof),
            state=a.get("state", "offline"),
            state_since=now,
        )
        session.add(agent)
        agents[agent.login] = agent

    queues: dict[str, Queue] = {}
    for q in data.get("queues", []):
        num_id = None
        if q.get("sms_number"):
            if _number(q["sms_number"]) not in numbers:
                raise SeedError(f"queue {q['name']!r}: unknown SMS number {q['sms_number']}")
            num_id = numbers[_number(q["sms_number"])].id
        fields = {k: v for k, v in q.items() if k not in {"sms_number", "agents", "connector"}}
        queue = Queue(
            sms_number_id=num_id,
            connector_id=_connector(connectors, q.get("connector"), f"queue {q['name']!r}"),
            **fields,
        )
        session.add(queue)
        queues[queue.name] = queue
    await session.flush()
    for q in data.get("queues", []):
        for login in q.get("agents", []):
            if login not in agents:
                raise SeedError(f"queue {q['name']!r}: unknown agent {login!r}")
            session.add(QueueAgent(queue_id=_id(queues[q["name"]]), agent_id=_id(agents[login])))

    for t in data.get("templates", []):
        tpl = Template(name=t["name"], text=t.get("text", ""), kind=t.get("kind", "NOTIFICATION"))
        session.add(tpl)
        await session.flush()
        for qname in t.get("queues", []):
            if qname not in queues:
                raise SeedError(f"template {tpl.name!r}: unknown queue {qname!r}")
            session.add(TemplateQueue(template_id=_id(tpl), queue_id=_id(queues[qname])))

    groups: dict[str, Group] = {}
    for g in data.get("groups", []):
        group = Group(name=g["name"])
        session.add(group)
        groups[group.name] = group
    await session.flush()
    for c in data.get("contacts", []):
        fields = {
            "first_name": c.get("first_name", ""),
            "last_name": c.get("last_name", ""),
            "number": _number(c["number"]),
            "email": c.get("email", ""),
            "company": c.get("company", ""),
        }
        contact = Contact(**fields, search_key=search_key(**fields), created_at=now)
        session.add(contact)
        await session.flush()
        for gname in c.get("groups", []):
            if gname not in groups:
                raise SeedError(f"contact {contact.number}: unknown group {gname!r}")
            session.add(ContactGroup(contact_id=_id(contact), group_id=_id(groups[gname])))
    await session.flush()

    queue_numbers = {
        q.id: n for n in numbers.values() for q in queues.values() if q.sms_number_id == n.id
    }
    for h in data.get("history", []):
        kind = h["kind"]
        if kind == "conversation":
            agent = agents[h["agent"]]
            queue = queues[h["queue"]]
            local = queue_numbers[queue.id].number
            remote = _number(h["with"])
            first = now - timedelta(minutes=max(m["minutes_ago"] for m in h["messages"]))
            last = now - timedelta(minutes=min(m["minutes_ago"] for m in h["messages"]))
            status = InteractionStatus(h.get("status", "progressing"))
            inter = Interaction(
                channel=Channel.SMS,
                status=status,
                queue_id=queue.id,
                agent_id=agent.id,
                remote_number=remote,
                local_number=local,
                created_at=first,
                assigned_at=first,
                last_message_at=last,
                closed_at=last if status != InteractionStatus.PROGRESSING else None,
                unread=1 if h["messages"][-1]["direction"] == "inbound" else 0,
            )
            session.add(inter)
            await session.flush()
            for m in h["messages"]:
                session.add(
                    _msg(
                        direction=m["direction"],
                        text=m["text"],
                        local=local,
                        remote=remote,
                        at=now - timedelta(minutes=m["minutes_ago"]),
                        status=m.get("status"),
                        interaction=inter,
                        agent_id=agent.id,
                        queue_id=queue.id,
                    )
                )
        elif kind == "direct":
            session.add(
                _msg(
                    direction=Direction.OUTBOUND,
                    text=h["text"],
                    local=_number(h["from"]),
                    remote=_number(h["to"]),
                    at=now - timedelta(minutes=h["minutes_ago"]),
                    status=h.get("status"),
                    error=h.get("error"),
                    agent_id=agents[h["agent"]].id,
                )
            )
        elif kind == "inbound":
            session.add(
                _msg(
                    direction=Direction.INBOUND,
                    text=h["text"],
                    local=_number(h["to"]),
                    remote=_number(h["from"]),
                    at=now - timedelta(minutes=h["minutes_ago"]),
                )
            )
        else:
            raise SeedError(f"history: unknown kind {kind!r}")
    await session.flush()
    # each demo message went through the connector of our number
    ours = sa.case(
        (col(Message.direction) == Direction.OUTBOUND, col(Message.from_number)),
        else_=col(Message.to_number),
    )
    await session.execute(
        sa.update(Message)
        .values(
            connector_id=sa.select(col(SmsNumber.connector_id))
            .where(col(SmsNumber.number) == ours)
            .scalar_subquery()
        )
        .execution_options(synchronize_session=False)
    )
