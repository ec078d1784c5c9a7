"""SPEC Q1–Q4 and X4: administration ("Maker") — queues and their SMS channel, queue members,
bots, the blacklist and the audit trail — on SQLite and PostgreSQL.

AdminService (``services.admin``) is for the admin role only.  The demo data
(src/bannertui/store/demo.toml) has alice (agent), sam (supervisor) and admin (admin), and:

- Support (+33757000010): round robin, service level 60 s, at most 20 waiting, 600 s in queue,
  an out-of-hours message, open mon-fri 08:00-18:00 Europe/Paris, inbound and outbound
  blacklist on; members alice and bruno.
- Sales (+33757000011): least busy, 120 s, 900 s in queue, open mon-sat 09:00-19:00
  Europe/Paris, no blacklist; members alice and bruno.
- Billing: no number, longest idle, 300 s; no members.

+33757000001 and +33757000002 are sender numbers of profiles, serving no queue.  The demo is
seeded at SEED_NOW, Monday 2026-11-02 10:00 UTC (11:00 in Paris): Support and Sales are open.

"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from svc_helpers import Demo

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction, Folder, InteractionStatus, MessageStatus
from bannertui.domain.errors import (
    BannerError,
    BlacklistedNumber,
    InvalidNumber,
    InvalidProfile,
    InvalidTemplate,
    NotAllowed,
    UnknownAgent,
    UnknownQueue,
)
from bannertui.domain.hours import InvalidOpeningHours, InvalidTimeZone
from bannertui.services import Services
from bannertui.services.admin import (
    AdminService,
    AuditRow,
    BotRow,
    InvalidBlacklistEntry,
    InvalidQueue,
    QueueRow,
    QueueSettings,
    validate_queue,
)
from bannertui.store.database import Database
from bannertui.store.models import (
    Agent,
    AuditEvent,
    Bot,
    Interaction,
    Message,
    Queue,
    QueueAgent,
    SmsNumber,
    Template,
)

SEED_NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # tests/conftest.py's: a Monday
SUPPORT_NUMBER = "+33757000010"
SALES_NUMBER = "+33757000011"
NEW_NUMBER = "+33757000020"  # a valid French mobile that is none of ours yet
PARIS_DESK = "+33757000001"  # a profile's sender number, serving no queue
CUSTOMER = "+33612000099"  # a valid French mobile that is not in the demo data
LANDLINE = "+33 1 23 45 67 89"

SUPPORT = QueueSettings(
    name="Support",
    enabled=True,
    connector="Carrier HTTPS",
    number=SUPPORT_NUMBER,
    strategy="round_robin",
    service_level_s=60,
    max_waiting=20,
    max_transfer_s=0,
    max_time_in_queue_s=600,
    out_of_hours_message=(
        "Our support team answers Monday to Friday, 8:00–18:00. We will reply as soon as we open."
    ),
    opening_hours="mon-fri 08:00-18:00",
    timezone="Europe/Paris",
    inbound_blacklist=True,
    outbound_blacklist=True,
)
SALES = QueueSettings(
    name="Sales",
    connector="Twilio",
    number=SALES_NUMBER,
    strategy="least_busy",
    service_level_s=120,
    max_waiting=0,
    max_time_in_queue_s=900,
    opening_hours="mon-sat 09:00-19:00",
    timezone="Europe/Paris",
)
BILLING = QueueSettings(
    name="Billing", connector="Carrier HTTPS", strategy="longest_idle", service_level_s=300
)


#: The demo templates' texts need values only an agent knows ($date, $ticket...): a bot cannot
#: use them (SPEC §7, tested in test_template_sends.py).  Here they get texts a bot can fill.
BOT_TEXTS = {
    "Ticket follow-up": 'Hi $firstname|"there", your ticket is with $queue.',
    "Appointment reminder": 'Hello $firstname|"there", this is $queue.',
    "Spring offer": "Spring offer from $queue: 20% off. Reply STOP to unsubscribe.",
}


@pytest.fixture
async def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py), with BOT_TEXTS."""
    demo = Demo(fast_seeded)
    for name, text in BOT_TEXTS.items():
        await demo.update(Template, Template.name == name, text=text)
    return fast_seeded


@pytest.fixture
def admin(services: Services) -> AdminService:
    return services.admin


def _detail(event: AuditEvent) -> dict[str, object]:
    detail: dict[str, object] = json.loads(event.detail)
    return detail


async def _queue(admin: AdminService, name: str) -> QueueRow:
    return next(q for q in await admin.queues(Actor("admin")) if q.settings.name == name)


async def _inbound(services: Services, sender: str, to: str, text: str = "Hello") -> Message:
    result = await services.inbound.receive(sender, to, text, f"in-{uuid.uuid4().hex}")
    assert result.created
    return result.message


async def _outbound_to(demo: Demo, number: str) -> list[Message]:
    async with demo.db.read() as session:
        rows = await session.scalars(
            sa.select(Message)
            .where(Message.direction == Direction.OUTBOUND, Message.to_number == number)
            .order_by(Message.id)
        )
        return list(rows.all())


async def _agent_login(demo: Demo, agent_id: int | None) -> str:
    async with demo.db.read() as session:
        login = await session.scalar(sa.select(Agent.login).where(Agent.id == agent_id))
    assert login is not None
    return str(login)


@dataclass(frozen=True)
class State:
    """Everything an administrator can see, and the rows behind it: "nothing was written"
    compares two."""

    queues: list[QueueRow]
    bots: list[BotRow]
    blacklist: list[tuple[str, str]]
    numbers: int
    audit: int


async def _state(admin: AdminService, demo: Demo) -> State:
    return State(
        await admin.queues(Actor("admin")),
        await admin.bots(Actor("admin")),
        [(r.number, r.reason) for r in await admin.blacklist(Actor("admin"))],
        await demo.count(SmsNumber),
        await demo.count(AuditEvent),
    )


# --- error names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "name"),
    [
        (InvalidQueue, "Invalid queue"),
        (InvalidBlacklistEntry, "Invalid blacklist entry"),
        (InvalidOpeningHours, "Invalid opening hours"),
        (InvalidTimeZone, "Invalid time zone"),
    ],
)
def test_admin_error_names(error: type[BannerError], name: str) -> None:
    assert error.name == name
    assert str(error("why")) == f"{name}: why"


# --- role checks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixtures:
    support: int
    bot: int
    listed: str


Op = Callable[[AdminService, str, Fixtures], Awaitable[Any]]

OPS: dict[str, Op] = {
    "queues": lambda a, who, f: a.queues(who),
    "save_queue (create)": lambda a, who, f: a.save_queue(who, QueueSettings(name="Team")),
    "save_queue (update)": lambda a, who, f: a.save_queue(
        who, replace(SUPPORT, service_level_s=30), f.support
    ),
    "set_members": lambda a, who, f: a.set_members(who, f.support, ["alice"]),
    "bots": lambda a, who, f: a.bots(who),
    "add_bot": lambda a, who, f: a.add_bot(who, f.support, "on_start", "Ticket follow-up"),
    "set_bot_enabled": lambda a, who, f: a.set_bot_enabled(who, f.bot, False),
    "remove_bot": lambda a, who, f: a.remove_bot(who, f.bot),
    "blacklist": lambda a, who, f: a.blacklist(who),
    "add_to_blacklist": lambda a, who, f: a.add_to_blacklist(who, "+33612000077", "spam"),
    "remove_from_blacklist": lambda a, who, f: a.remove_from_blacklist(who, f.listed),
    "audit_trail": lambda a, who, f: a.audit_trail(who),
}


@pytest.fixture
async def fixtures(admin: AdminService, demo: Demo) -> Fixtures:
    support = await demo.queue_id("Support")
    bot = await admin.add_bot(Actor("admin"), support, "on_finish", "Appointment reminder")
    listed = (await admin.add_to_blacklist(Actor("admin"), "+33612000088", "abuse")).number
    return Fixtures(support, bot, listed)


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("actor", ["alice", "sam"])
async def test_agents_and_supervisors_are_not_allowed(
    admin: AdminService, demo: Demo, fixtures: Fixtures, actor: str, op: str
) -> None:
    before = await _state(admin, demo)
    with pytest.raises(NotAllowed) as exc:
        await OPS[op](admin, Actor(actor), fixtures)
    assert exc.value.name == "Not allowed"
    assert "administrator" in str(exc.value)
    assert await _state(admin, demo) == before


@pytest.mark.parametrize("op", list(OPS))
async def test_an_administrator_is_allowed(
    admin: AdminService, demo: Demo, fixtures: Fixtures, op: str
) -> None:
    before = await demo.count(AuditEvent)
    await OPS[op](admin, Actor("admin"), fixtures)
    writes = not op.startswith(("queues", "bots", "blacklist", "audit_trail"))
    assert await demo.count(AuditEvent) == before + writes


@pytest.mark.parametrize("op", list(OPS))
async def test_an_unknown_or_inactive_login_is_refused(
    admin: AdminService, demo: Demo, fixtures: Fixtures, op: str
) -> None:
    before = await _state(admin, demo)
    with pytest.raises(UnknownAgent):
        await OPS[op](admin, Actor("mallory"), fixtures)
    await demo.update(Agent, Agent.login == "admin", active=False)
    with pytest.raises(UnknownAgent):
        await OPS[op](admin, Actor("admin"), fixtures)
    await demo.update(Agent, Agent.login == "admin", active=True)
    assert await _state(admin, demo) == before


# --- queues: listing and round trips ----------------------------------------------------


async def test_queues_lists_the_demo_queues_with_numbers_and_members(admin: AdminService) -> None:
    rows = await admin.queues(Actor("admin"))
    assert [r.settings.name for r in rows] == ["Billing", "Sales", "Support"]
    billing, sales, support = rows
    assert billing == QueueRow(billing.id, BILLING, ())
    assert sales == QueueRow(sales.id, SALES, ("alice", "bruno"))
    assert support == QueueRow(support.id, SUPPORT, ("alice", "bruno"))
    assert len({billing.id, sales.id, support.id}) == 3


TEAM = QueueSettings(
    name="  Team ",
    enabled=False,
    connector=" carrier https ",
    number="+33 7 57 00 00 20",
    strategy="longest_idle",
    service_level_s=45,
    max_waiting=7,
    max_transfer_s=30,
    max_time_in_queue_s=900,
    out_of_hours_message="We are closed; we answer from 9:00.",
    opening_hours="mon-fri 09:00-12:00,14:00-17:00; sat closed",
    timezone="europe/brussels",
    inbound_blacklist=True,
    outbound_blacklist=False,
)
#: TEAM as stored: name stripped, the connector's own name, number in E.164, the zone's IANA
#: spelling.
TEAM_STORED = replace(
    TEAM, name="Team", connector="Carrier HTTPS", number=NEW_NUMBER, timezone="Europe/Brussels"
)


async def test_create_queue_round_trip(admin: AdminService, demo: Demo) -> None:
    numbers = await demo.count(SmsNumber)
    qid = await admin.save_queue(Actor("admin"), TEAM)
    assert qid == await demo.queue_id("Team")
    assert await _queue(admin, "Team") == QueueRow(qid, TEAM_STORED, ())
    assert [q.settings.name for q in await admin.queues(Actor("admin"))] == [
        "Billing",
        "Sales",
        "Support",
        "Team",
    ]
    # The new number is one of ours now, labelled with the queue's name.
    assert await demo.count(SmsNumber) == numbers + 1
    async with demo.db.read() as session:
        label = await session.scalar(
            sa.select(SmsNumber.label).where(SmsNumber.number == NEW_NUMBER)
        )
    assert label == "Team"

    [event] = await demo.audit("queue.created")
    assert (event.actor, event.target, event.at) == ("admin", "queue:Team", SEED_NOW)
    detail = _detail(event)
    assert detail["number"] == NEW_NUMBER
    assert detail["strategy"] == "longest_idle"
    assert detail["max_transfer_s"] == 30


async def test_update_queue_round_trip_of_every_field(admin: AdminService, demo: Demo) -> None:
    qid = await admin.save_queue(Actor("admin"), TEAM)
    changed = QueueSettings(
        name="Team B",
        enabled=True,
        connector="Carrier HTTPS",
        number="",
        strategy="least_busy",
        service_level_s=0,
        max_waiting=0,
        max_transfer_s=0,
        max_time_in_queue_s=0,
        out_of_hours_message="",
        opening_hours="",
        timezone="Asia/Tokyo",
        inbound_blacklist=False,
        outbound_blacklist=True,
    )
    assert await admin.save_queue(Actor("admin"), changed, qid) == qid
    assert await _queue(admin, "Team B") == QueueRow(qid, changed, ())
    assert await admin.save_queue(Actor("admin"), TEAM, qid) == qid
    assert await _queue(admin, "Team") == QueueRow(qid, TEAM_STORED, ())
    assert len(await demo.audit("queue.updated")) == 2
    assert len(await admin.queues(Actor("admin"))) == 4


async def test_update_keeps_its_own_number_and_may_change_the_case_of_its_name(
    admin: AdminService, demo: Demo
) -> None:
    qid = await demo.queue_id("Support")
    renamed = replace(SUPPORT, name="SUPPORT", number="+33 7 57 00 00 10")
    assert await admin.save_queue(Actor("admin"), renamed, qid) == qid
    assert await _queue(admin, "SUPPORT") == QueueRow(
        qid,
        replace(SUPPORT, name="SUPPORT"),
        (
            "alice",
            "bruno",
        ),
    )


async def test_an_unknown_number_is_created_and_a_known_one_reused(
    admin: AdminService, demo: Demo
) -> None:
    billing = await demo.queue_id("Billing")
    numbers = await demo.count(SmsNumber)
    await admin.save_queue(Actor("admin"), replace(BILLING, number="0033757000020"), billing)
    assert (await _queue(admin, "Billing")).settings.number == NEW_NUMBER
    assert await demo.count(SmsNumber) == numbers + 1
    async with demo.db.read() as session:
        label = await session.scalar(
            sa.select(SmsNumber.label).where(SmsNumber.number == NEW_NUMBER)
        )
    assert label == "Billing"
    # A number of ours that serves no queue (a profile's sender number) is reused as it is.
    await admin.save_queue(Actor("admin"), replace(BILLING, number=PARIS_DESK), billing)
    assert (await _queue(admin, "Billing")).settings.number == PARIS_DESK
    assert await demo.count(SmsNumber) == numbers + 1


async def test_a_number_freed_by_one_queue_may_serve_another(
    services: Services, admin: AdminService, demo: Demo
) -> None:
    sales, billing = await demo.queue_id("Sales"), await demo.queue_id("Billing")
    await admin.save_queue(Actor("admin"), replace(SALES, number=""), sales)
    # (the number is the Twilio connector's: a queue on another connector may not take it)
    with pytest.raises(InvalidQueue, match="not a number of the connector Carrier HTTPS") as exc:
        await admin.save_queue(Actor("admin"), replace(BILLING, number=SALES_NUMBER), billing)
    assert set(exc.value.fields) == {"number"}
    await admin.save_queue(
        Actor("admin"), replace(BILLING, connector="Twilio", number=SALES_NUMBER), billing
    )
    assert (await _queue(admin, "Sales")).settings.number == ""
    assert (await _queue(admin, "Billing")).settings.number == SALES_NUMBER
    # ...and an SMS to that number now reaches Billing.
    msg = await _inbound(services, CUSTOMER, SALES_NUMBER)
    assert msg.queue_id == billing


async def test_save_unknown_queue_id_is_refused(admin: AdminService, demo: Demo) -> None:
    before = await _state(admin, demo)
    with pytest.raises(UnknownQueue):
        await admin.save_queue(Actor("admin"), replace(BILLING, name="Ghost"), 9999)
    assert await _state(admin, demo) == before


# --- queues: refusals -------------------------------------------------------------------

REFUSALS = [
    pytest.param({"service_level_s": -1}, InvalidQueue, "service level", id="service-level"),
    pytest.param({"max_waiting": -1}, InvalidQueue, "max waiting", id="max-waiting"),
    pytest.param({"max_transfer_s": -1}, InvalidQueue, "max transfer", id="max-transfer"),
    pytest.param(
        {"max_time_in_queue_s": -60}, InvalidQueue, "max time in queue", id="max-time-in-queue"
    ),
    pytest.param({"strategy": "fastest"}, InvalidQueue, "strategy", id="unknown-strategy"),
    pytest.param({"strategy": ""}, InvalidQueue, "strategy", id="empty-strategy"),
    pytest.param({"name": ""}, InvalidQueue, "name", id="empty-name"),
    pytest.param({"name": "   "}, InvalidQueue, "name", id="blank-name"),
    pytest.param({"name": "x" * 121}, InvalidQueue, "name", id="long-name"),
    pytest.param({"name": "Sup\tport"}, InvalidQueue, "name", id="control-in-name"),
    pytest.param({"name": "sales"}, InvalidQueue, "'sales'", id="duplicate-name"),
    pytest.param({"name": " SALES "}, InvalidQueue, "'SALES'", id="duplicate-name-spaces"),
    pytest.param({"connector": "nowhere"}, InvalidQueue, "connector", id="unknown-connector"),
    pytest.param({"number": SALES_NUMBER}, InvalidQueue, "'Sales'", id="number-in-use"),
    pytest.param(
        {"number": "+33 7 57 00 00 11"}, InvalidQueue, "'Sales'", id="number-in-use-formatted"
    ),
    pytest.param({"number": LANDLINE}, InvalidNumber, "landline", id="landline-number"),
    pytest.param({"number": "hello"}, InvalidNumber, "international", id="garbage-number"),
    pytest.param({"number": "0757000020"}, InvalidNumber, "international", id="national-number"),
    pytest.param(
        {"opening_hours": "mon-fri 9-18"}, InvalidOpeningHours, "mon-fri 9-18", id="bad-hours"
    ),
    pytest.param(
        {"opening_hours": "someday 09:00-10:00"}, InvalidOpeningHours, "someday", id="bad-day"
    ),
    pytest.param({"timezone": "Mars/Olympus"}, InvalidTimeZone, "Mars/Olympus", id="bad-zone"),
    pytest.param({"timezone": ""}, InvalidTimeZone, "no time zone", id="empty-zone"),
    pytest.param(
        {"out_of_hours_message": "x" * 1225}, InvalidQueue, "8 credits", id="ooh-over-8-credits"
    ),
    pytest.param(
        {"out_of_hours_message": "ж" * 540}, InvalidQueue, "8 credits", id="ooh-unicode-over"
    ),
    pytest.param({"out_of_hours_message": "x" * 2001}, InvalidQueue, "2,000", id="ooh-too-long"),
]


@pytest.mark.parametrize(("change", "error", "fragment"), REFUSALS)
async def test_update_refusals_name_the_field_and_write_nothing(
    admin: AdminService,
    demo: Demo,
    change: dict[str, Any],
    error: type[BannerError],
    fragment: str,
) -> None:
    qid = await demo.queue_id("Support")
    before = await _state(admin, demo)
    # Every other field changes too: none of it may be written.
    changes = {"service_level_s": 5, "max_waiting": 1, "enabled": False, "opening_hours": ""}
    settings = replace(SUPPORT, **{**changes, **change})
    with pytest.raises(error) as exc:
        await admin.save_queue(Actor("admin"), settings, qid)
    assert exc.value.name == error.name
    assert fragment in str(exc.value)
    assert await _state(admin, demo) == before


async def test_every_refused_field_is_named_at_once_in_the_forms_order(
    admin: AdminService, demo: Demo
) -> None:
    # Issue #19 (Q1): the queue form reported one refusal at a time.
    settings = replace(
        TEAM,
        timezone="Mars/Olympus",
        name="",
        max_waiting=-1,
        number="hello",
        opening_hours="someday 09:00-10:00",
    )
    before = await _state(admin, demo)
    with pytest.raises(InvalidQueue) as exc:
        await admin.save_queue(Actor("admin"), settings)
    assert list(exc.value.fields) == ["name", "number", "max_waiting", "opening_hours", "timezone"]
    assert exc.value.fields["timezone"].startswith("Invalid time zone")
    assert exc.value.fields["number"].startswith("number: Invalid number")
    assert str(exc.value).startswith("Invalid queue: name: 1 to 120 printable characters; number")
    assert await _state(admin, demo) == before
    # one refusal keeps its own name, and says which field
    with pytest.raises(InvalidTimeZone) as one:
        await admin.save_queue(Actor("admin"), replace(TEAM, timezone="Mars/Olympus"))
    assert list(one.value.fields) == ["timezone"]


@pytest.mark.parametrize(("change", "error", "fragment"), REFUSALS)
async def test_create_refusals_write_nothing(
    admin: AdminService,
    demo: Demo,
    change: dict[str, Any],
    error: type[BannerError],
    fragment: str,
) -> None:
    # A new number besides: the refusal must not leave it behind as one of ours.
    settings = replace(TEAM, **{"number": NEW_NUMBER, **change})
    before = await _state(admin, demo)
    with pytest.raises(error) as exc:
        await admin.save_queue(Actor("admin"), settings)
    assert fragment in str(exc.value)
    assert await _state(admin, demo) == before
    assert await demo.count(Queue) == 3


async def test_validate_queue_checks_without_writing(admin: AdminService, demo: Demo) -> None:
    # (the connector's own spelling is the store's: validation only trims)
    assert validate_queue(TEAM) == replace(TEAM_STORED, connector="carrier https")
    with pytest.raises(InvalidQueue, match="max waiting"):
        validate_queue(replace(TEAM, max_waiting=-1))
    with pytest.raises(InvalidQueue, match="service level"):
        validate_queue(replace(TEAM, service_level_s=True))  # a bool is not a number of seconds
    assert await demo.count(Queue) == 3


async def test_out_of_hours_message_of_exactly_8_credits_is_accepted(
    admin: AdminService, demo: Demo
) -> None:
    qid = await demo.queue_id("Support")
    await admin.save_queue(Actor("admin"), replace(SUPPORT, out_of_hours_message="x" * 1224), qid)
    assert (await _queue(admin, "Support")).settings.out_of_hours_message == "x" * 1224


async def test_a_time_beyond_the_column_is_refused_by_name(admin: AdminService, demo: Demo) -> None:
    qid = await demo.queue_id("Support")
    before = await _state(admin, demo)
    with pytest.raises(InvalidQueue, match="service level"):
        await admin.save_queue(Actor("admin"), replace(SUPPORT, service_level_s=2**31), qid)
    assert await _state(admin, demo) == before


async def test_duplicate_name_is_case_insensitive_beyond_ascii(
    admin: AdminService, demo: Demo
) -> None:
    # SQLite's own lower() folds ASCII only; the store registers a Unicode one.
    await admin.save_queue(Actor("admin"), QueueSettings(name="Équipe"))
    with pytest.raises(InvalidQueue, match="another queue"):
        await admin.save_queue(Actor("admin"), QueueSettings(name="équipe"))
    assert await demo.count(Queue) == 4


# --- queues: the audit trail ------------------------------------------------------------


async def test_queue_updated_lists_the_changed_fields_only(admin: AdminService, demo: Demo) -> None:
    qid = await demo.queue_id("Support")
    await admin.save_queue(
        Actor("admin"), replace(SUPPORT, service_level_s=90, inbound_blacklist=False), qid
    )
    [event] = await demo.audit("queue.updated")
    assert (event.actor, event.target) == ("admin", "queue:Support")
    assert _detail(event) == {"service_level_s": 90, "inbound_blacklist": False}


async def test_queue_updated_names_the_changed_fields(admin: AdminService, demo: Demo) -> None:
    qid = await demo.queue_id("Support")
    await admin.save_queue(
        Actor("admin"),
        replace(SUPPORT, service_level_s=90, inbound_blacklist=False, timezone="europe/paris"),
        qid,
    )
    [event] = await demo.audit("queue.updated")
    assert (event.actor, event.target) == ("admin", "queue:Support")
    detail = _detail(event)
    assert detail["service_level_s"] == 90
    assert detail["inbound_blacklist"] is False
    # Unchanged fields are not listed (the zone only changed its spelling, not its name).
    for unchanged in ("name", "strategy", "max_waiting", "opening_hours", "timezone", "enabled"):
        assert unchanged not in detail


async def test_queue_updated_names_a_new_number(admin: AdminService, demo: Demo) -> None:
    qid = await demo.queue_id("Support")
    await admin.save_queue(Actor("admin"), replace(SUPPORT, number=NEW_NUMBER), qid)
    [event] = await demo.audit("queue.updated")
    assert _detail(event)["number"] == NEW_NUMBER


# --- queue members ----------------------------------------------------------------------


async def test_set_members_replaces_the_list(admin: AdminService, demo: Demo) -> None:
    qid = await demo.queue_id("Support")
    await admin.set_members(Actor("admin"), qid, [" sam", "chloe", "sam", "  "])
    assert (await _queue(admin, "Support")).members == ("chloe", "sam")
    # Other queues keep theirs.
    assert (await _queue(admin, "Sales")).members == ("alice", "bruno")
    [event] = await demo.audit("queue.members")
    assert (event.actor, event.target) == ("admin", "queue:Support")
    assert _detail(event) == {"members": ["sam", "chloe"]}

    await admin.set_members(Actor("admin"), qid, [])
    assert (await _queue(admin, "Support")).members == ()
    assert await demo.count(QueueAgent, QueueAgent.queue_id == qid) == 0


async def test_set_members_with_an_unknown_login_changes_nothing(
    admin: AdminService, demo: Demo
) -> None:
    qid = await demo.queue_id("Support")
    before = await _state(admin, demo)
    with pytest.raises(UnknownAgent) as exc:
        await admin.set_members(Actor("admin"), qid, ["chloe", "mallory", "alice"])
    assert exc.value.name == "Unknown agent"
    assert "mallory" in str(exc.value)
    assert "chloe" not in str(exc.value)
    assert await _state(admin, demo) == before


async def test_set_members_of_an_unknown_queue(admin: AdminService, demo: Demo) -> None:
    before = await _state(admin, demo)
    with pytest.raises(UnknownQueue):
        await admin.set_members(Actor("admin"), 9999, ["alice"])
    assert await _state(admin, demo) == before


async def test_inbound_sms_is_routed_to_a_new_member(
    services: Services, admin: AdminService, demo: Demo
) -> None:
    qid = await demo.queue_id("Support")
    await admin.set_members(Actor("admin"), qid, ["chloe"])
    msg = await _inbound(services, CUSTOMER, SUPPORT_NUMBER)
    assert msg.queue_id == qid
    assert msg.interaction_id is not None
    inter = await demo.interaction(msg.interaction_id)
    assert inter.status == InteractionStatus.PROGRESSING
    assert await _agent_login(demo, inter.agent_id) == "chloe"


async def test_a_new_queue_with_members_receives_and_distributes(
    services: Services, admin: AdminService, demo: Demo
) -> None:
    qid = await admin.save_queue(
        Actor("admin"), QueueSettings(name="Team", number=NEW_NUMBER, timezone="Europe/Paris")
    )
    await admin.set_members(Actor("admin"), qid, ["bruno"])
    msg = await _inbound(services, CUSTOMER, NEW_NUMBER)
    assert msg.queue_id == qid
    assert msg.folder == Folder.RECEIVED
    assert msg.interaction_id is not None
    inter = await demo.interaction(msg.interaction_id)
    assert (inter.queue_id, inter.remote_number, inter.local_number) == (
        qid,
        CUSTOMER,
        NEW_NUMBER,
    )
    assert await _agent_login(demo, inter.agent_id) == "bruno"


async def test_a_queue_without_members_keeps_the_interaction_waiting(
    services: Services, admin: AdminService, demo: Demo
) -> None:
    qid = await demo.queue_id("Support")
    await admin.set_members(Actor("admin"), qid, [])
    msg = await _inbound(services, CUSTOMER, SUPPORT_NUMBER)
    assert msg.interaction_id is not None
    inter = await demo.interaction(msg.interaction_id)
    assert (inter.status, inter.agent_id) == (InteractionStatus.QUEUED, None)


# --- bots -------------------------------------------------------------------------------


async def test_add_bot_lists_it_and_audits(admin: AdminService, demo: Demo) -> None:
    qid = await demo.queue_id("Support")
    bot = await admin.add_bot(Actor("admin"), qid, "on_start", "Ticket follow-up")
    assert await admin.bots(Actor("admin")) == [
        BotRow(bot, "Support", "on_start", "Ticket follow-up", True)
    ]
    [event] = await demo.audit("bot.added")
    assert (event.actor, event.target) == ("admin", "queue:Support")
    assert _detail(event) == {"trigger": "on_start", "template": "Ticket follow-up"}


async def test_bots_are_listed_by_queue_then_trigger(admin: AdminService, demo: Demo) -> None:
    support, sales = await demo.queue_id("Support"), await demo.queue_id("Sales")
    b1 = await admin.add_bot(Actor("admin"), support, "on_start", "Ticket follow-up")
    b2 = await admin.add_bot(Actor("admin"), sales, "on_finish", "Spring offer")
    b3 = await admin.add_bot(Actor("admin"), support, "after_timeout", "Appointment reminder")
    rows = await admin.bots(Actor("admin"))
    assert [r.id for r in rows] == [b2, b3, b1]
    assert [(r.queue, r.trigger) for r in rows] == [
        ("Sales", "on_finish"),
        ("Support", "after_timeout"),
        ("Support", "on_start"),
    ]


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("Nope", "'Nope'"),
        ("Draft (empty)", "'Draft (empty)'"),
        ("Spring offer", "'Spring offer'"),  # deleted by the test
        ("", "''"),
        ("ticket follow-up", "'ticket follow-up'"),  # names are exact
    ],
)
async def test_add_bot_refuses_an_unusable_template(
    admin: AdminService, demo: Demo, template: str, fragment: str
) -> None:
    await demo.update(Template, Template.name == "Spring offer", deleted=True)
    qid = await demo.queue_id("Sales")
    before = await _state(admin, demo)
    with pytest.raises(InvalidTemplate) as exc:
        await admin.add_bot(Actor("admin"), qid, "on_start", template)
    assert exc.value.name == "Invalid template"
    assert fragment in str(exc.value)
    assert await _state(admin, demo) == before


@pytest.mark.parametrize("trigger", ["on_begin", "", "ON_START", "start"])
async def test_add_bot_refuses_an_unknown_trigger(
    admin: AdminService, demo: Demo, trigger: str
) -> None:
    qid = await demo.queue_id("Support")
    before = await _state(admin, demo)
    with pytest.raises(InvalidQueue) as exc:
        await admin.add_bot(Actor("admin"), qid, trigger, "Ticket follow-up")
    assert "trigger" in str(exc.value)
    assert "on_start, on_finish, after_timeout" in str(exc.value)
    assert await _state(admin, demo) == before


async def test_add_bot_to_an_unknown_queue(admin: AdminService, demo: Demo) -> None:
    before = await _state(admin, demo)
    with pytest.raises(UnknownQueue):
        await admin.add_bot(Actor("admin"), 9999, "on_start", "Ticket follow-up")
    assert await _state(admin, demo) == before


async def test_disable_enable_and_remove_a_bot(admin: AdminService, demo: Demo) -> None:
    qid = await demo.queue_id("Support")
    bot = await admin.add_bot(Actor("admin"), qid, "on_start", "Ticket follow-up")
    await admin.set_bot_enabled(Actor("admin"), bot, False)
    assert [r.enabled for r in await admin.bots(Actor("admin"))] == [False]
    await admin.set_bot_enabled(Actor("admin"), bot, True)
    assert [r.enabled for r in await admin.bots(Actor("admin"))] == [True]
    await admin.remove_bot(Actor("admin"), bot)
    assert await admin.bots(Actor("admin")) == []
    assert await demo.count(Bot) == 0
    for action in ("bot.disabled", "bot.enabled", "bot.removed"):
        [event] = await demo.audit(action)
        assert (event.actor, event.target) == ("admin", f"bot:{bot}")


async def test_an_unknown_bot_is_refused(admin: AdminService, demo: Demo) -> None:
    before = await _state(admin, demo)
    with pytest.raises(BannerError, match="no bot #9999"):
        await admin.set_bot_enabled(Actor("admin"), 9999, False)
    with pytest.raises(BannerError, match="no bot #9999"):
        await admin.remove_bot(Actor("admin"), 9999)
    assert await _state(admin, demo) == before


async def test_an_enabled_on_start_bot_fires_on_a_new_inbound_interaction(
    services: Services, admin: AdminService, demo: Demo
) -> None:
    qid = await demo.queue_id("Support")
    await admin.add_bot(Actor("admin"), qid, "on_start", "Ticket follow-up")
    msg = await _inbound(services, CUSTOMER, SUPPORT_NUMBER)
    [sent] = await _outbound_to(demo, CUSTOMER)
    assert sent.interaction_id == msg.interaction_id
    assert sent.from_number == SUPPORT_NUMBER
    assert sent.text == "Hi there, your ticket is with Support."


async def test_a_disabled_or_removed_bot_does_not_fire(
    services: Services, admin: AdminService, demo: Demo
) -> None:
    qid = await demo.queue_id("Support")
    disabled = await admin.add_bot(Actor("admin"), qid, "on_start", "Ticket follow-up")
    removed = await admin.add_bot(Actor("admin"), qid, "on_start", "Appointment reminder")
    await admin.set_bot_enabled(Actor("admin"), disabled, False)
    await admin.remove_bot(Actor("admin"), removed)
    msg = await _inbound(services, CUSTOMER, SUPPORT_NUMBER)
    assert msg.interaction_id is not None  # a new interaction was opened
    assert await _outbound_to(demo, CUSTOMER) == []


# --- blacklist --------------------------------------------------------------------------


async def test_add_to_blacklist_stores_e164_and_audits(
    admin: AdminService, demo: Demo, clock: Any
) -> None:
    row = await admin.add_to_blacklist(Actor("admin"), "+33 6 12 00 00 09", "  abusive\n  sender ")
    assert (row.number, row.reason, row.created_by) == ("+33612000009", "abusive sender", "admin")
    assert row.created_at == SEED_NOW
    assert await admin.blacklist(Actor("admin")) == [row]
    [event] = await demo.audit("blacklist.added")
    assert (event.actor, event.target) == ("admin", "+33612000009")
    assert _detail(event) == {"reason": "abusive sender"}


async def test_blacklist_accepts_landlines_and_lists_by_number(admin: AdminService) -> None:
    await admin.add_to_blacklist(Actor("admin"), "+41 78 123 45 67")
    landline = await admin.add_to_blacklist(Actor("admin"), LANDLINE, "robocalls")
    assert landline.number == "+33123456789"
    assert [r.number for r in await admin.blacklist(Actor("admin"))] == [
        "+33123456789",
        "+41781234567",
    ]


async def test_blacklist_refuses_a_duplicate(admin: AdminService, demo: Demo) -> None:
    await admin.add_to_blacklist(Actor("admin"), "+33612000009")
    before = await _state(admin, demo)
    with pytest.raises(InvalidBlacklistEntry) as exc:
        await admin.add_to_blacklist(Actor("admin"), "0033 6 12 00 00 09", "again")
    assert exc.value.name == "Invalid blacklist entry"
    assert "+33612000009 is already on the blacklist" in str(exc.value)
    assert await _state(admin, demo) == before


@pytest.mark.parametrize(
    "number",
    [
        "hello",
        "",
        "   ",
        "06 12 00 00 09",
        "+999 123",
        "+33 6 12 00 00 09 ext 2",
        pytest.param("+33 6 12", id="too-short"),
        pytest.param("+33 6 12 00 00 09 99", id="too-long"),
        pytest.param("+1 800 123 4567", id="invalid-for-region"),
    ],
)
async def test_blacklist_refuses_garbage(admin: AdminService, demo: Demo, number: str) -> None:
    before = await _state(admin, demo)
    with pytest.raises(InvalidBlacklistEntry) as exc:
        await admin.add_to_blacklist(Actor("admin"), number)
    assert exc.value.name == "Invalid blacklist entry"
    assert await _state(admin, demo) == before


async def test_remove_from_blacklist(admin: AdminService, demo: Demo) -> None:
    await admin.add_to_blacklist(Actor("admin"), "+33612000009")
    await admin.add_to_blacklist(Actor("admin"), "+33612000008")
    await admin.remove_from_blacklist(Actor("admin"), "+33612000009")
    assert [r.number for r in await admin.blacklist(Actor("admin"))] == ["+33612000008"]
    [event] = await demo.audit("blacklist.removed")
    assert (event.actor, event.target) == ("admin", "+33612000009")


async def test_remove_unknown_from_blacklist_is_refused(admin: AdminService, demo: Demo) -> None:
    await admin.add_to_blacklist(Actor("admin"), "+33612000008")
    before = await _state(admin, demo)
    with pytest.raises(InvalidBlacklistEntry) as exc:
        await admin.remove_from_blacklist(Actor("admin"), "+33612000009")
    assert "+33612000009 is not on the blacklist" in str(exc.value)
    assert await _state(admin, demo) == before


async def test_remove_from_blacklist_by_the_number_as_typed(admin: AdminService) -> None:
    await admin.add_to_blacklist(Actor("admin"), "+33 6 12 00 00 09")
    await admin.remove_from_blacklist(Actor("admin"), "+33 6 12 00 00 09")
    assert await admin.blacklist(Actor("admin")) == []


async def test_a_blacklisted_sender_does_not_trigger_support(
    services: Services, admin: AdminService, demo: Demo
) -> None:
    await admin.add_to_blacklist(Actor("admin"), "+33 6 12 00 00 99", "abuse")
    interactions = await demo.count(Interaction)
    msg = await _inbound(services, CUSTOMER, SUPPORT_NUMBER)
    assert (msg.folder, msg.status) == (Folder.NOT_TRIGGERED, MessageStatus.BLOCKED)
    assert msg.error == "Blacklisted number"
    assert msg.interaction_id is None
    assert await demo.count(Interaction) == interactions
    [event] = await demo.audit("sms.not_triggered")
    assert (event.actor, event.target) == ("system", CUSTOMER)
    assert _detail(event) == {"reason": "Blacklisted number"}
    # Sales has no inbound blacklist: the same sender gets a conversation there.
    sales = await _inbound(services, CUSTOMER, SALES_NUMBER)
    assert sales.folder == Folder.RECEIVED
    assert sales.interaction_id is not None


async def test_direct_sms_to_a_blacklisted_number_is_refused(
    services: Services, admin: AdminService, demo: Demo
) -> None:
    await admin.add_to_blacklist(Actor("admin"), CUSTOMER, "abuse")
    messages = await demo.count(Message)
    balance = await demo.balance()
    with pytest.raises(BlacklistedNumber) as exc:
        await services.outbound.send_direct(Actor("alice"), CUSTOMER, PARIS_DESK, "Hello")
    assert exc.value.name == "Blacklisted number"
    assert CUSTOMER in str(exc.value)
    assert (await demo.count(Message), await demo.balance()) == (messages, balance)


async def test_removing_from_the_blacklist_lets_the_number_through_again(
    services: Services, admin: AdminService
) -> None:
    await admin.add_to_blacklist(Actor("admin"), CUSTOMER)
    await admin.remove_from_blacklist(Actor("admin"), CUSTOMER)
    msg = await _inbound(services, CUSTOMER, SUPPORT_NUMBER)
    assert msg.folder == Folder.RECEIVED
    sent = await services.outbound.send_direct(Actor("alice"), CUSTOMER, PARIS_DESK, "Hello")
    assert sent.to_number == CUSTOMER


# --- audit trail ------------------------------------------------------------------------


@dataclass(frozen=True)
class Trail:
    """The events written by :func:`_trail`, oldest first (event i written at minute i)."""

    events: list[AuditRow]


async def _trail(services: Services, admin: AdminService, demo: Demo, clock: Any) -> Trail:
    """Eight events one minute apart, by admin and alice, on top of the (empty) seed."""
    assert await demo.count(AuditEvent) == 0
    support = await demo.queue_id("Support")
    steps: list[Callable[[], Awaitable[Any]]] = [
        lambda: admin.add_to_blacklist(Actor("admin"), "+33612000011", "promo 50% off"),
        lambda: admin.add_to_blacklist(Actor("admin"), "+33612000012", "promo 500 off"),
        lambda: admin.add_to_blacklist(Actor("admin"), "+33612000013", "a_b"),
        lambda: admin.add_to_blacklist(Actor("admin"), "+33612000014", "axb"),
        lambda: admin.save_queue(Actor("admin"), replace(SUPPORT, service_level_s=90), support),
        lambda: admin.set_members(Actor("admin"), support, ["alice"]),
        lambda: admin.add_bot(Actor("admin"), support, "on_start", "Ticket follow-up"),
        lambda: services.outbound.send_direct(
            Actor("alice"), "+33612000003", PARIS_DESK, "Hi Inès"
        ),
    ]
    for minute, step in enumerate(steps):
        clock.now = SEED_NOW + timedelta(minutes=minute)
        await step()
    clock.now = SEED_NOW + timedelta(hours=1)
    events = list(reversed(await admin.audit_trail(Actor("admin"))))
    assert [e.action for e in events] == [
        "blacklist.added",
        "blacklist.added",
        "blacklist.added",
        "blacklist.added",
        "queue.updated",
        "queue.members",
        "bot.added",
        "sms.direct",
    ]
    assert [e.at for e in events] == [SEED_NOW + timedelta(minutes=m) for m in range(8)]
    return Trail(events)


def _at(minutes: int) -> Any:
    return SEED_NOW + timedelta(minutes=minutes)


async def test_audit_trail_newest_first(
    services: Services, admin: AdminService, demo: Demo, clock: Any
) -> None:
    trail = await _trail(services, admin, demo, clock)
    rows = await admin.audit_trail(Actor("admin"))
    assert rows == list(reversed(trail.events))
    assert [r.id for r in rows] == sorted((r.id for r in rows), reverse=True)
    newest = rows[0]
    assert (newest.actor, newest.action, newest.target) == ("alice", "sms.direct", "+33612000003")
    assert json.loads(rows[-1].detail) == {"reason": "promo 50% off"}


async def test_audit_trail_by_who_is_exact(
    services: Services, admin: AdminService, demo: Demo, clock: Any
) -> None:
    trail = await _trail(services, admin, demo, clock)
    assert [r.action for r in await admin.audit_trail(Actor("admin"), who="alice")] == [
        "sms.direct"
    ]
    assert await admin.audit_trail(Actor("admin"), who="ali") == []
    assert await admin.audit_trail(Actor("admin"), who="Alice") == []
    assert len(await admin.audit_trail(Actor("admin"), who=" admin ")) == 7
    assert len(await admin.audit_trail(Actor("admin"), who="  ")) == len(trail.events)


async def test_audit_trail_by_action_prefix(
    services: Services, admin: AdminService, demo: Demo, clock: Any
) -> None:
    await _trail(services, admin, demo, clock)
    rows = await admin.audit_trail(Actor("admin"), action="queue.")
    assert [r.action for r in rows] == ["queue.members", "queue.updated"]
    assert len(await admin.audit_trail(Actor("admin"), action="blacklist.added")) == 4
    assert [r.action for r in await admin.audit_trail(Actor("admin"), action="bot")] == [
        "bot.added"
    ]
    assert await admin.audit_trail(Actor("admin"), action="ueue.") == []


async def test_audit_trail_action_wildcards_are_literal(
    services: Services, admin: AdminService, demo: Demo, clock: Any
) -> None:
    await _trail(services, admin, demo, clock)
    assert await admin.audit_trail(Actor("admin"), action="%") == []
    assert await admin.audit_trail(Actor("admin"), action="queue_") == []


async def test_audit_trail_by_text_in_target_or_detail(
    services: Services, admin: AdminService, demo: Demo, clock: Any
) -> None:
    trail = await _trail(services, admin, demo, clock)

    async def targets(text: str) -> list[str]:
        return [r.target for r in await admin.audit_trail(Actor("admin"), text=text)]

    # % and _ are literal characters, not wildcards.
    assert await targets("50%") == ["+33612000011"]
    assert await targets("a_b") == ["+33612000013"]
    assert await targets("promo") == ["+33612000012", "+33612000011"]
    # In the target.
    assert await targets("612000014") == ["+33612000014"]
    assert await targets("queue:Support") == ["queue:Support"] * 3
    # In the detail (JSON).
    assert await targets("Ticket follow-up") == ["queue:Support"]
    assert await targets("service_level_s") == ["queue:Support"]
    assert await targets("no such text") == []
    assert len(await admin.audit_trail(Actor("admin"), text="")) == len(trail.events)


async def test_audit_trail_text_search_ignores_case(
    services: Services,
    admin: AdminService,
    demo: Demo,
    clock: Any,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    await _trail(services, admin, demo, clock)
    rows = await admin.audit_trail(Actor("admin"), text="PROMO")
    assert [r.target for r in rows] == ["+33612000012", "+33612000011"]


async def test_audit_trail_since_and_until(
    services: Services, admin: AdminService, demo: Demo, clock: Any
) -> None:
    await _trail(services, admin, demo, clock)

    async def minutes(**kw: Any) -> list[int]:
        rows = await admin.audit_trail(Actor("admin"), **kw)
        return [int((r.at - SEED_NOW).total_seconds() // 60) for r in rows]

    assert await minutes(since=_at(5)) == [7, 6, 5]  # since is inclusive
    assert await minutes(until=_at(2)) == [1, 0]  # until is exclusive
    assert await minutes(since=_at(2), until=_at(4)) == [3, 2]
    assert await minutes(since=_at(3), until=_at(3)) == []
    assert await minutes(since=_at(8)) == []
    # Any time zone reads as the same instant.
    paris = _at(5).astimezone(ZoneInfo("Europe/Paris"))
    assert await minutes(since=paris) == [7, 6, 5]


async def test_audit_trail_keyset_paging(
    services: Services, admin: AdminService, demo: Demo, clock: Any
) -> None:
    trail = await _trail(services, admin, demo, clock)
    pages: list[list[AuditRow]] = []
    before_id: int | None = None
    while True:
        page = await admin.audit_trail(Actor("admin"), limit=3, before_id=before_id)
        if not page:
            break
        pages.append(page)
        before_id = page[-1].id
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [r for p in pages for r in p] == list(reversed(trail.events))
    # Paging combines with the filters.
    first = await admin.audit_trail(Actor("admin"), action="blacklist.", limit=2)
    rest = await admin.audit_trail(
        Actor("admin"), action="blacklist.", limit=2, before_id=first[-1].id
    )
    assert [r.target for r in first + rest] == [
        "+33612000014",
        "+33612000013",
        "+33612000012",
        "+33612000011",
    ]


async def test_audit_trail_limit(
    services: Services, admin: AdminService, demo: Demo, clock: Any
) -> None:
    trail = await _trail(services, admin, demo, clock)
    assert await admin.audit_trail(Actor("admin"), limit=1) == [trail.events[-1]]
    assert len(await admin.audit_trail(Actor("admin"), limit=100)) == len(trail.events)
    assert len(await admin.audit_trail(Actor("admin"))) == len(trail.events)


async def test_audit_trail_records_refusals_nowhere(admin: AdminService) -> None:
    """A refused change leaves no event: the event lands with the change or not at all."""
    with pytest.raises(InvalidQueue):
        await admin.save_queue(Actor("admin"), QueueSettings(name="Team", max_waiting=-1))
    with pytest.raises(NotAllowed):
        await admin.add_to_blacklist(Actor("alice"), CUSTOMER)
    assert await admin.audit_trail(Actor("admin")) == []


async def test_every_refused_profile_field_is_named_at_once(
    admin: AdminService, demo: Demo
) -> None:
    # Issue #19 (Q1): every form validates all its fields at once, each refusal named.
    from bannertui.services.admin import ProfileSettings

    bad = ProfileSettings(
        name="",
        role="boss",
        max_simultaneous=5000,
        authorized_countries="Atlantis",
        sender_numbers=("+33757000099",),  # not one of ours: the database says so, with the rest
    )
    before = await admin.profiles(Actor("admin"))
    with pytest.raises(InvalidProfile) as exc:
        await admin.save_profile(Actor("admin"), bad)
    assert list(exc.value.fields) == [
        "name",
        "role",
        "max_simultaneous",
        "authorized_countries",
        "sender_numbers",
    ]
    assert str(exc.value).startswith("Invalid profile: name: 1 to 120 printable characters; role")
    # a name taken and a number not ours, together
    clash = ProfileSettings(name="Smart only", sender_numbers=("+33757000099",))
    with pytest.raises(InvalidProfile) as late:
        await admin.save_profile(Actor("admin"), clash)
    assert list(late.value.fields) == ["name", "sender_numbers"]
    assert "not one of our numbers: +33757000099" in late.value.fields["sender_numbers"]
    assert await admin.profiles(Actor("admin")) == before


async def test_every_refused_template_field_is_named_at_once(
    admin: AdminService, demo: Demo
) -> None:
    before = await admin.templates(Actor("admin"))
    with pytest.raises(InvalidTemplate) as exc:
        await admin.save_template(
            Actor("admin"), name="Ticket follow-up", text=" ", kind="SPAM", queues=["Nowhere"]
        )
    assert list(exc.value.fields) == ["name", "kind", "queues", "text"]
    assert exc.value.fields["name"] == "another template is named 'Ticket follow-up'"
    assert "Nowhere" in exc.value.fields["queues"]
    assert str(exc.value).startswith("Invalid template: another template is named")
    # one refusal keeps its own name
    with pytest.raises(UnknownQueue) as one:
        await admin.save_template(Actor("admin"), name="New", text="Hi", queues=["Nowhere"])
    assert list(one.value.fields) == ["queues"]
    assert await admin.templates(Actor("admin")) == before


async def test_a_profile_is_deleted_only_when_no_agent_has_it(
    admin: AdminService, demo: Demo
) -> None:
    # Issue #19 (Q1): profiles could be created and edited, never deleted.
    from bannertui.services.admin import ProfileSettings

    rows = {p.settings.name: p.id for p in await admin.profiles(Actor("admin"))}
    with pytest.raises(InvalidProfile, match="'Smart only' is the profile of bruno"):
        await admin.delete_profile(Actor("admin"), rows["Smart only"])
    spare = await admin.save_profile(
        Actor("admin"), ProfileSettings(name="Spare", sender_numbers=("+33757000001",))
    )
    await admin.delete_profile(Actor("admin"), spare)
    assert "Spare" not in {p.settings.name for p in await admin.profiles(Actor("admin"))}
    assert "+33757000001" in {n.number for n in await admin.numbers(Actor("admin"))}
    events = await admin.audit_trail(Actor("admin"), action="profile.deleted")
    assert [e.target for e in events] == ["profile:Spare"]
    with pytest.raises(NotAllowed):
        await admin.delete_profile(Actor("alice"), rows["Smart only"])
