"""SPEC B1-B12: Direct and Smart SMS through the services, on SQLite and PostgreSQL.

The demo data (src/bannertui/store/demo.toml) gives one agent per combination of outgoing
permissions: alice (Direct+Smart), bruno (Smart only), chloe (Direct only), david (none).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from svc_helpers import Demo

from bannertui.domain import errors
from bannertui.domain.actor import Actor
from bannertui.domain.enums import Channel, Folder, InteractionStatus, MessageStatus, MessageType
from bannertui.domain.errors import (
    CountryNotAuthorized,
    CreditLimitExceeded,
    DuplicateRetId,
    EmptyMessage,
    InsufficientCredits,
    InteractionNotProgressing,
    InvalidNumber,
    InvalidTemplate,
    MissingTemplateVariables,
    NoDirectPermission,
    NoMessagingPermission,
    NoProviderConfigured,
    NoQueueConfigured,
    NoSenderNumber,
    NoSmartPermission,
    NotAllowed,
    QueueDisabled,
    SimultaneousLimitReached,
    UnknownAgent,
    UnknownInteraction,
    UnknownQueue,
)
from bannertui.domain.routing import RoutingMode
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import Agent, Interaction, Message, Queue, Template

ALICE_NUMBERS = ("+33757000001", "+33757000002")
SUPPORT_NUMBER = "+33757000010"
SALES_NUMBER = "+33757000011"
MOBILE = "+33 6 12 34 56 78"
MOBILE_E164 = "+33612345678"
SWISS_MOBILE = "+41 78 123 45 67"
LANDLINE = "+33 1 23 45 67 89"
RET_ID_RE = re.compile(r"[0-9a-f]{32}")
START_CREDITS = 500


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py)."""
    return fast_seeded


# --- SPEC B12: the exact names ----------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "name"),
    [
        (CountryNotAuthorized, "Country not authorized"),
        (InvalidNumber, "Invalid number"),
        (InsufficientCredits, "Insufficient credits"),
        (CreditLimitExceeded, "Credit limit exceeded"),
        (InvalidTemplate, "Invalid template"),
        (NoSenderNumber, "No sender number"),
        (NoQueueConfigured, "No queue configured"),
    ],
)
def test_b12_error_names_are_exact(error: type[errors.BannerError], name: str) -> None:
    assert error.name == name
    assert error().name == name
    assert str(error()) == name
    assert str(error("why")) == f"{name}: why"
    assert name in errors.B12_NAMES


def test_b12_catalogue_is_exactly_the_seven_names() -> None:
    assert set(errors.B12_NAMES) == {
        "Country not authorized",
        "Invalid number",
        "Insufficient credits",
        "Credit limit exceeded",
        "Invalid template",
        "No sender number",
        "No queue configured",
    }
    assert len({e.name for e in errors.ALL_ERRORS}) == len(errors.ALL_ERRORS)


# --- B1: outbound options ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "mode", "numbers", "queues"),
    [
        ("alice", RoutingMode.SELECTOR, ALICE_NUMBERS, ["Sales", "Support"]),
        ("bruno", RoutingMode.SMART, (), ["Sales", "Support"]),
        ("chloe", RoutingMode.DIRECT, ("+33757000001",), []),
        ("sam", RoutingMode.SELECTOR, ("+33757000002",), ["Billing", "Sales", "Support"]),
    ],
)
async def test_outbound_options_mode_per_profile(
    services: Services, login: str, mode: RoutingMode, numbers: tuple[str, ...], queues: list[str]
) -> None:
    """An agent is offered the queues they are a member of; a supervisor every queue."""
    options = await services.agents.outbound_options(Actor(login))
    assert options.mode is mode
    assert options.sender_numbers == numbers
    assert [q.name for q in options.queues] == queues


async def test_outbound_options_lists_only_enabled_queues(services: Services, demo: Demo) -> None:
    await demo.update(Queue, Queue.name == "Sales", enabled=False)
    options = await services.agents.outbound_options(Actor("sam"))
    assert [q.name for q in options.queues] == ["Billing", "Support"]


async def test_outbound_options_without_messaging(services: Services) -> None:
    with pytest.raises(NoMessagingPermission) as exc:
        await services.agents.outbound_options(Actor("david"))
    assert exc.value.name == "No outgoing messaging permission"


async def test_outbound_options_messaging_without_direct_or_smart(
    services: Services, demo: Demo
) -> None:
    await demo.set_profile("No outgoing messaging", messaging=True, direct=False, smart=False)
    with pytest.raises(NoSmartPermission):
        await services.agents.outbound_options(Actor("david"))


@pytest.mark.parametrize("login", ["nobody", "", "ALICE"])
async def test_outbound_options_unknown_agent(services: Services, login: str) -> None:
    with pytest.raises(UnknownAgent):
        await services.agents.outbound_options(Actor(login))


async def test_outbound_options_inactive_agent_is_unknown(services: Services, demo: Demo) -> None:
    await demo.update(Agent, Agent.login == "alice", active=False)
    with pytest.raises(UnknownAgent):
        await services.agents.outbound_options(Actor("alice"))
    with pytest.raises(UnknownAgent):
        await services.outbound.send_direct(Actor("alice"), MOBILE, ALICE_NUMBERS[0], "Hi")


@pytest.mark.parametrize("provider_url", [None, ""])
async def test_outbound_options_without_provider(
    services: Services, demo: Demo, provider_url: str | None
) -> None:
    await demo.set_account(provider_url=provider_url)
    with pytest.raises(NoProviderConfigured):
        await services.agents.outbound_options(Actor("alice"))


async def test_no_provider_refuses_every_send(services: Services, demo: Demo) -> None:
    support = await demo.queue_id("Support")
    inter = await services.outbound.start_smart(Actor("alice"), MOBILE, support)
    await demo.set_account(provider_url=None)
    before = await demo.snapshot()
    with pytest.raises(NoProviderConfigured):
        await services.outbound.send_direct(Actor("alice"), MOBILE, ALICE_NUMBERS[0], "Hi")
    with pytest.raises(NoProviderConfigured):
        await services.outbound.start_smart(Actor("alice"), "+33612000077", support)
    with pytest.raises(NoProviderConfigured):
        await services.outbound.send_smart(Actor("alice"), inter.id, "Hi")  # type: ignore[arg-type]
    assert await demo.snapshot() == before


async def test_b1_checks_messaging_before_provider(services: Services, demo: Demo) -> None:
    await demo.set_account(provider_url=None)
    with pytest.raises(NoMessagingPermission):
        await services.agents.outbound_options(Actor("david"))


async def test_simultaneous_limit_reached(services: Services, demo: Demo) -> None:
    # bruno: Smart only, at most 3 open interactions, none in the demo history.
    support = await demo.queue_id("Support")
    started = [
        await services.outbound.start_smart(Actor("bruno"), f"+336120001{i:02d}", support)
        for i in range(3)
    ]
    assert len({i.id for i in started}) == 3
    before = await demo.snapshot()
    with pytest.raises(SimultaneousLimitReached) as exc:
        await services.agents.outbound_options(Actor("bruno"))
    assert exc.value.name == "Simultaneous interaction limit reached"
    with pytest.raises(SimultaneousLimitReached):
        await services.outbound.start_smart(Actor("bruno"), "+33612000199", support)
    assert await demo.snapshot() == before

    # Reusing an open conversation is not new work: allowed at the limit.
    again = await services.outbound.start_smart(Actor("bruno"), "+33612000100", support)
    assert again.id == started[0].id
    # Sending in an open conversation is allowed at the limit too.
    msg = await services.outbound.send_smart(Actor("bruno"), started[1].id, "Still here")  # type: ignore[arg-type]
    assert msg.interaction_id == started[1].id

    # Closing one frees a place.
    await services.conversations.close(Actor("bruno"), started[2].id)  # type: ignore[arg-type]
    options = await services.agents.outbound_options(Actor("bruno"))
    assert options.mode is RoutingMode.SMART
    await services.outbound.start_smart(Actor("bruno"), "+33612000199", support)


async def test_queued_interactions_count_toward_the_limit(services: Services, demo: Demo) -> None:
    # alice has one progressing interaction in the demo; a queued one assigned to her counts.
    alice = await demo.agent_id("alice")
    support = await demo.queue_id("Support")
    await demo.set_profile("Direct and Smart", max_simultaneous=2)
    await services.agents.outbound_options(Actor("alice"))
    async with services.db.write() as session:
        session.add(
            Interaction(
                channel=Channel.SMS,
                status=InteractionStatus.QUEUED,
                queue_id=support,
                agent_id=alice,
                remote_number="+33612000150",
                created_at=demo_now(services),
            )
        )
    with pytest.raises(SimultaneousLimitReached):
        await services.agents.outbound_options(Actor("alice"))
    # A Direct send is new work as well.
    with pytest.raises(SimultaneousLimitReached):
        await services.outbound.send_direct(Actor("alice"), MOBILE, ALICE_NUMBERS[0], "Hi")


async def test_max_simultaneous_zero_blocks_everything(services: Services, demo: Demo) -> None:
    await demo.set_profile("Smart only", max_simultaneous=0)
    with pytest.raises(SimultaneousLimitReached):
        await services.agents.outbound_options(Actor("bruno"))


def demo_now(services: Services) -> datetime:
    return services.outbound.clock()


# --- Direct SMS (B4) --------------------------------------------------------------------


async def test_send_direct_success(services: Services, demo: Demo) -> None:
    before_messages = await demo.count(Message)
    msg = await services.outbound.send_direct(
        Actor("alice"), MOBILE, ALICE_NUMBERS[1], "Hello there"
    )
    assert msg.id is not None
    assert msg.ret_id is not None
    assert RET_ID_RE.fullmatch(msg.ret_id)
    assert msg.status == MessageStatus.PENDING
    assert msg.folder == Folder.PENDING
    assert msg.type == MessageType.NOTIFICATION
    assert msg.sender == ALICE_NUMBERS[1]
    assert msg.from_number == ALICE_NUMBERS[1]
    assert msg.to_number == MOBILE_E164
    assert msg.remote_number == MOBILE_E164
    assert msg.direction == "outbound"
    assert msg.interaction_id is None
    assert msg.queue_id is None
    assert msg.agent_id == await demo.agent_id("alice")
    assert msg.credits == 1
    assert msg.encoding == "GSM-7"
    assert msg.text == "Hello there"
    assert msg.created_at == demo_now(services)
    assert msg.next_attempt_at == demo_now(services)

    assert await demo.balance() == START_CREDITS - 1
    assert await demo.count(Message) == before_messages + 1
    stored = await demo.message(msg.id)
    assert stored.ret_id == msg.ret_id
    assert stored.status == MessageStatus.PENDING

    (event,) = await demo.audit("sms.direct")
    assert event.actor == "alice"
    assert event.target == MOBILE_E164
    assert event.at == demo_now(services)
    assert json.loads(event.detail) == {"credits": 1, "ret_id": msg.ret_id}


async def test_send_direct_ret_ids_are_unique(services: Services) -> None:
    a = await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "One")
    b = await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "Two")
    assert a.ret_id != b.ret_id


@pytest.mark.parametrize(
    ("text", "credits", "encoding"),
    [
        ("a" * 160, 1, "GSM-7"),
        ("a" * 161, 2, "GSM-7"),
        ("a" * 1224, 8, "GSM-7"),
        ("ж" * 70, 1, "UCS-2"),
        ("ж" * 71, 2, "UCS-2"),
        ("ж" * 536, 8, "UCS-2"),
    ],
)
async def test_send_direct_debits_exactly(
    services: Services, demo: Demo, text: str, credits: int, encoding: str
) -> None:
    msg = await services.outbound.send_direct(Actor("alice"), MOBILE, ALICE_NUMBERS[0], text)
    assert msg.credits == credits
    assert msg.encoding == encoding
    assert await demo.balance() == START_CREDITS - credits


async def test_send_direct_sole_number_is_the_default_sender(services: Services) -> None:
    msg = await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "Hi")
    assert msg.sender == msg.from_number == "+33757000001"


async def test_send_direct_several_numbers_need_a_choice(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(NoSenderNumber):
        await services.outbound.send_direct(Actor("alice"), MOBILE, None, "Hi")
    assert await demo.snapshot() == before


async def test_send_direct_without_direct_permission(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(NoDirectPermission) as exc:
        await services.outbound.send_direct(Actor("bruno"), MOBILE, None, "Hi")
    assert exc.value.name == "No Direct SMS permission"
    with pytest.raises(NoMessagingPermission):
        await services.outbound.send_direct(Actor("david"), MOBILE, None, "Hi")
    assert await demo.snapshot() == before


@pytest.mark.parametrize(
    "number",
    [LANDLINE, "06 12 34 56 78", "+33 6 12", "+33 6 12 34 56 78 9", "+33612345678x", "", "hello"],
)
async def test_send_direct_invalid_number(services: Services, demo: Demo, number: str) -> None:
    before = await demo.snapshot()
    with pytest.raises(InvalidNumber) as exc:
        await services.outbound.send_direct(Actor("alice"), number, ALICE_NUMBERS[0], "Hi")
    assert exc.value.name == "Invalid number"
    assert await demo.snapshot() == before


async def test_send_direct_country_not_authorized(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(CountryNotAuthorized) as exc:
        await services.outbound.send_direct(Actor("chloe"), SWISS_MOBILE, None, "Grüezi")
    assert exc.value.name == "Country not authorized"
    assert await demo.snapshot() == before
    # alice's profile authorizes CH, the supervisor's every country.
    msg = await services.outbound.send_direct(
        Actor("alice"), SWISS_MOBILE, ALICE_NUMBERS[0], "Grüezi"
    )
    assert msg.to_number == "+41781234567"
    msg = await services.outbound.send_direct(Actor("sam"), "+1 415 555 2671", None, "Hi")
    assert msg.to_number == "+14155552671"


async def test_send_direct_empty_country_list_authorizes_none(
    services: Services, demo: Demo
) -> None:
    await demo.set_profile("Direct only", authorized_countries="")
    with pytest.raises(CountryNotAuthorized):
        await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "Hi")


@pytest.mark.parametrize("sender", ["+33757000002", SUPPORT_NUMBER, "+33612000001"])
async def test_send_direct_sender_not_in_profile(
    services: Services, demo: Demo, sender: str
) -> None:
    before = await demo.snapshot()
    with pytest.raises(NoSenderNumber) as exc:
        await services.outbound.send_direct(Actor("chloe"), MOBILE, sender, "Hi")
    assert exc.value.name == "No sender number"
    assert await demo.snapshot() == before


async def test_send_direct_profile_without_numbers(services: Services, demo: Demo) -> None:
    # bruno's profile has no SMS number; give it Direct permission.
    await demo.set_profile("Smart only", direct=True)
    before = await demo.snapshot()
    for sender in (None, "+33757000001"):
        with pytest.raises(NoSenderNumber):
            await services.outbound.send_direct(Actor("bruno"), MOBILE, sender, "Hi")
    assert await demo.snapshot() == before


@pytest.mark.parametrize(
    "text",
    ["a" * 1225, "ж" * 537, "€" * 613, "😀" * 269],
    ids=["gsm-1225", "ucs2-537", "gsm-ext-613", "astral-269"],
)
async def test_send_direct_credit_limit_exceeded(services: Services, demo: Demo, text: str) -> None:
    before = await demo.snapshot()
    with pytest.raises(CreditLimitExceeded) as exc:
        await services.outbound.send_direct(Actor("alice"), MOBILE, ALICE_NUMBERS[0], text)
    assert exc.value.name == "Credit limit exceeded"
    assert await demo.snapshot() == before


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None])
async def test_send_direct_empty_message(services: Services, demo: Demo, text: str | None) -> None:
    before = await demo.snapshot()
    with pytest.raises(EmptyMessage):
        await services.outbound.send_direct(Actor("alice"), MOBILE, ALICE_NUMBERS[0], text)
    assert await demo.snapshot() == before


async def test_send_direct_empty_template(services: Services, demo: Demo) -> None:
    draft = await demo.template_id("Draft (empty)")
    before = await demo.snapshot()
    with pytest.raises(InvalidTemplate) as exc:
        await services.outbound.send_direct(
            Actor("alice"), MOBILE, ALICE_NUMBERS[0], None, template_id=draft
        )
    assert exc.value.name == "Invalid template"
    with pytest.raises(InvalidTemplate):
        await services.outbound.send_direct(
            Actor("alice"), MOBILE, ALICE_NUMBERS[0], "", template_id=draft
        )
    assert await demo.snapshot() == before


async def test_send_direct_whitespace_template(services: Services, demo: Demo) -> None:
    tid = await demo.template_id("Ticket follow-up")
    await demo.update(Template, Template.id == tid, text="  \n ")
    with pytest.raises(InvalidTemplate):
        await services.outbound.send_direct(
            Actor("alice"), MOBILE, ALICE_NUMBERS[0], None, template_id=tid
        )


async def test_send_direct_unknown_template(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(InvalidTemplate):
        await services.outbound.send_direct(
            Actor("alice"), MOBILE, ALICE_NUMBERS[0], None, template_id=987654
        )
    # Even with a typed text, naming a missing template is refused.
    with pytest.raises(InvalidTemplate):
        await services.outbound.send_direct(
            Actor("alice"), MOBILE, ALICE_NUMBERS[0], "typed", template_id=987654
        )
    assert await demo.snapshot() == before


async def test_send_direct_deleted_template(services: Services, demo: Demo) -> None:
    tid = await demo.template_id("Appointment reminder")
    await demo.update(Template, Template.id == tid, deleted=True)
    before = await demo.snapshot()
    with pytest.raises(InvalidTemplate) as exc:
        await services.outbound.send_direct(
            Actor("alice"), MOBILE, ALICE_NUMBERS[0], None, template_id=tid
        )
    assert "deleted" in str(exc.value)
    assert await demo.snapshot() == before


async def test_send_direct_renders_template(services: Services, demo: Demo) -> None:
    tid = await demo.template_id("Appointment reminder")
    msg = await services.outbound.send_direct(
        Actor("alice"),
        MOBILE,
        ALICE_NUMBERS[0],
        None,
        template_id=tid,
        variables={"firstname": "Léa", "date": "12/11", "time": "10:30", "unused": "x"},
    )
    expected = (
        "Hello Léa, this is a reminder of your appointment on 12/11 at 10:30. "
        "Reply STOP to opt out."
    )
    assert msg.text == expected
    assert msg.type == MessageType.NOTIFICATION
    assert msg.credits == 1
    assert await demo.balance() == START_CREDITS - 1


async def test_send_direct_template_missing_values_are_refused(
    services: Services, demo: Demo
) -> None:
    before = await demo.snapshot()
    with pytest.raises(MissingTemplateVariables) as exc:
        await services.outbound.send_direct(
            Actor("chloe"),
            MOBILE,
            None,
            None,
            template_id=await _tid(services, "Appointment reminder"),
            variables={"firstname": "$date"},
        )
    # One pass: the value "$date" fills $firstname, never $date (SPEC §7; more in
    # test_template_sends.py).
    assert str(exc.value) == "Template variables missing: $date, $time"
    assert await demo.snapshot() == before


async def _tid(services: Services, name: str) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(sa.select(Template.id).where(Template.name == name)))


async def test_send_direct_typed_text_wins_over_template(services: Services, demo: Demo) -> None:
    tid = await demo.template_id("Spring offer")
    msg = await services.outbound.send_direct(
        Actor("alice"), MOBILE, ALICE_NUMBERS[0], "My own words", template_id=tid
    )
    assert msg.text == "My own words"
    # The template's kind still applies (it is a marketing template).
    assert msg.type == MessageType.MARKETING


async def test_send_direct_marketing_template(services: Services, demo: Demo) -> None:
    tid = await demo.template_id("Spring offer")
    msg = await services.outbound.send_direct(
        Actor("alice"),
        MOBILE,
        ALICE_NUMBERS[0],
        None,
        template_id=tid,
        variables={"firstname": "Léa", "date": "30/4"},
    )
    assert msg.type == MessageType.MARKETING
    assert msg.sender == ALICE_NUMBERS[0]


@pytest.mark.parametrize("balance", [0, 1])
async def test_send_direct_insufficient_credits(
    services: Services, demo: Demo, balance: int
) -> None:
    await demo.set_account(credits=balance)
    before = await demo.snapshot()
    with pytest.raises(InsufficientCredits) as exc:
        # 161 GSM characters: 2 credits.
        await services.outbound.send_direct(Actor("alice"), MOBILE, ALICE_NUMBERS[0], "b" * 161)
    assert exc.value.name == "Insufficient credits"
    assert await demo.snapshot() == before
    assert await demo.audit("sms.direct") == []


async def test_send_direct_exact_balance_goes_to_zero(services: Services, demo: Demo) -> None:
    await demo.set_account(credits=2)
    await services.outbound.send_direct(Actor("alice"), MOBILE, ALICE_NUMBERS[0], "b" * 161)
    assert await demo.balance() == 0
    with pytest.raises(InsufficientCredits):
        await services.outbound.send_direct(Actor("alice"), MOBILE, ALICE_NUMBERS[0], "b")
    assert await demo.balance() == 0


async def test_send_direct_duplicate_ret_id(services: Services, demo: Demo) -> None:
    ret_id = "0123456789abcdef0123456789abcdef"
    first = await services.outbound.send_direct(
        Actor("alice"), MOBILE, ALICE_NUMBERS[0], "Once", ret_id=ret_id
    )
    assert first.ret_id == ret_id
    before = await demo.snapshot()
    assert before[0] == START_CREDITS - 1
    with pytest.raises(DuplicateRetId):
        await services.outbound.send_direct(
            Actor("alice"), MOBILE, ALICE_NUMBERS[0], "Twice", ret_id=ret_id
        )
    assert await demo.snapshot() == before
    assert await demo.count(Message, Message.ret_id == ret_id) == 1


async def test_duplicate_ret_id_across_direct_and_smart(services: Services, demo: Demo) -> None:
    ret_id = "feedfacefeedfacefeedfacefeedface"
    await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "Direct", ret_id=ret_id)
    inter = await services.outbound.start_smart(
        Actor("bruno"), MOBILE, await demo.queue_id("Support")
    )
    before = await demo.snapshot()
    with pytest.raises(DuplicateRetId):
        await services.outbound.send_smart(Actor("bruno"), inter.id, "Smart", ret_id=ret_id)  # type: ignore[arg-type]
    assert await demo.snapshot() == before


async def test_send_direct_past_schedule_is_pending(services: Services) -> None:
    now = demo_now(services)
    msg = await services.outbound.send_direct(
        Actor("chloe"), MOBILE, None, "Hi", scheduled_at=now - timedelta(minutes=1)
    )
    assert msg.status == MessageStatus.PENDING
    assert msg.next_attempt_at == now


# --- Smart SMS (B5-B9) ------------------------------------------------------------------


async def test_start_smart_creates_progressing_interaction(services: Services, demo: Demo) -> None:
    support = await demo.queue_id("Support")
    before = await demo.snapshot()
    inter = await services.outbound.start_smart(Actor("bruno"), "+33 6 12 00 00 09", support)
    assert inter.id is not None
    assert inter.status == InteractionStatus.PROGRESSING
    assert inter.channel == Channel.SMS
    assert inter.agent_id == await demo.agent_id("bruno")
    assert inter.queue_id == support
    assert inter.local_number == SUPPORT_NUMBER
    assert inter.remote_number == "+33612000009"
    assert inter.created_at == demo_now(services)
    assert inter.assigned_at == demo_now(services)
    stored = await demo.interaction(inter.id)
    assert stored.status == InteractionStatus.PROGRESSING
    assert stored.local_number == SUPPORT_NUMBER
    # No message and no credit: starting is not sending.
    after = await demo.snapshot()
    assert after[:3] == (before[0], before[1], before[2] + 1)
    (event,) = await demo.audit("interaction.started")
    assert event.actor == "bruno"
    assert event.target == f"interaction:{inter.id}"
    assert json.loads(event.detail) == {"queue": "Support", "to": "+33612000009"}
    open_ids = [i.id for i in await services.conversations.open_interactions(Actor("bruno"))]
    assert open_ids == [inter.id]


async def test_start_smart_sales_uses_sales_number(services: Services, demo: Demo) -> None:
    inter = await services.outbound.start_smart(
        Actor("alice"), MOBILE, await demo.queue_id("Sales")
    )
    assert inter.local_number == SALES_NUMBER


async def test_start_smart_queue_without_number(services: Services, demo: Demo) -> None:
    billing = await demo.queue_id("Billing")
    before = await demo.snapshot()
    with pytest.raises(NoQueueConfigured) as exc:
        await services.outbound.start_smart(Actor("sam"), MOBILE, billing)
    assert exc.value.name == "No queue configured"
    assert await demo.snapshot() == before


async def test_start_smart_in_a_queue_the_agent_is_not_a_member_of(
    services: Services, demo: Demo
) -> None:
    """SPEC X6: agents work in their own queues (bruno is in Support and Sales only)."""
    billing = await demo.queue_id("Billing")
    before = await demo.snapshot()
    with pytest.raises(NotAllowed, match="not a member of the queue 'Billing'"):
        await services.outbound.start_smart(Actor("bruno"), MOBILE, billing)
    assert await demo.snapshot() == before


async def test_start_smart_disabled_queue(services: Services, demo: Demo) -> None:
    support = await demo.queue_id("Support")
    await demo.update(Queue, Queue.id == support, enabled=False)
    before = await demo.snapshot()
    with pytest.raises(QueueDisabled):
        await services.outbound.start_smart(Actor("bruno"), MOBILE, support)
    assert await demo.snapshot() == before


async def test_start_smart_unknown_queue(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(UnknownQueue):
        await services.outbound.start_smart(Actor("bruno"), MOBILE, 987654)
    assert await demo.snapshot() == before


async def test_start_smart_reuses_open_interaction(services: Services, demo: Demo) -> None:
    support = await demo.queue_id("Support")
    sales = await demo.queue_id("Sales")
    first = await services.outbound.start_smart(Actor("bruno"), "+33 6 12 00 00 09", support)
    count = await demo.count(Interaction)
    # Same number written differently, same queue: the same conversation.
    again = await services.outbound.start_smart(Actor("bruno"), "0033612000009", support)
    assert again.id == first.id
    assert await demo.count(Interaction) == count
    assert len(await demo.audit("interaction.started")) == 1
    # Another queue is another conversation.
    other = await services.outbound.start_smart(Actor("bruno"), "+33612000009", sales)
    assert other.id != first.id
    # A closed conversation is not reused.
    await services.conversations.close(Actor("bruno"), first.id)  # type: ignore[arg-type]
    fresh = await services.outbound.start_smart(Actor("bruno"), "+33612000009", support)
    assert fresh.id not in (first.id, other.id)


async def test_start_smart_reuses_demo_conversation(services: Services, demo: Demo) -> None:
    support = await demo.queue_id("Support")
    (existing,) = await services.conversations.open_interactions(Actor("alice"))
    inter = await services.outbound.start_smart(Actor("alice"), "+33 6 12 00 00 01", support)
    assert inter.id == existing.id


async def test_start_smart_does_not_reuse_another_agents(services: Services, demo: Demo) -> None:
    support = await demo.queue_id("Support")
    (alices,) = await services.conversations.open_interactions(Actor("alice"))
    inter = await services.outbound.start_smart(Actor("bruno"), "+33612000001", support)
    assert inter.id != alices.id
    assert inter.agent_id == await demo.agent_id("bruno")


async def test_start_smart_without_smart_permission(services: Services, demo: Demo) -> None:
    support = await demo.queue_id("Support")
    before = await demo.snapshot()
    with pytest.raises(NoSmartPermission) as exc:
        await services.outbound.start_smart(Actor("chloe"), MOBILE, support)
    assert exc.value.name == "No Smart SMS permission"
    with pytest.raises(NoMessagingPermission):
        await services.outbound.start_smart(Actor("david"), MOBILE, support)
    assert await demo.snapshot() == before


async def test_start_smart_checks_the_number(services: Services, demo: Demo) -> None:
    support = await demo.queue_id("Support")
    before = await demo.snapshot()
    with pytest.raises(InvalidNumber):
        await services.outbound.start_smart(Actor("bruno"), LANDLINE, support)
    with pytest.raises(CountryNotAuthorized):
        await services.outbound.start_smart(Actor("bruno"), SWISS_MOBILE, support)
    assert await demo.snapshot() == before


async def _bruno_conversation(services: Services, demo: Demo, queue: str = "Support") -> int:
    inter = await services.outbound.start_smart(Actor("bruno"), MOBILE, await demo.queue_id(queue))
    assert inter.id is not None
    return inter.id


async def test_send_smart_from_the_queue_number(services: Services, demo: Demo) -> None:
    iid = await _bruno_conversation(services, demo)
    services.outbound.clock.now += timedelta(minutes=3)  # type: ignore[attr-defined]
    msg = await services.outbound.send_smart(Actor("bruno"), iid, "Hello from support")
    assert msg.from_number == SUPPORT_NUMBER
    assert msg.sender == SUPPORT_NUMBER
    assert msg.to_number == MOBILE_E164
    assert msg.interaction_id == iid
    assert msg.queue_id == await demo.queue_id("Support")
    assert msg.agent_id == await demo.agent_id("bruno")
    assert msg.status == MessageStatus.PENDING
    assert msg.folder == Folder.PENDING
    assert msg.type == MessageType.NOTIFICATION
    assert msg.ret_id is not None
    assert RET_ID_RE.fullmatch(msg.ret_id)
    assert await demo.balance() == START_CREDITS - 1
    inter = await demo.interaction(iid)
    assert inter.last_message_at == demo_now(services)
    (event,) = await demo.audit("sms.smart")
    assert event.target == f"interaction:{iid}"
    assert json.loads(event.detail) == {"credits": 1, "ret_id": msg.ret_id}
    page = await services.conversations.thread(Actor("bruno"), iid)
    assert [m.id for m in page.messages] == [msg.id]


async def test_send_smart_template_of_the_queue(services: Services, demo: Demo) -> None:
    iid = await _bruno_conversation(services, demo, "Sales")
    tid = await demo.template_id("Appointment reminder")
    msg = await services.outbound.send_smart(
        Actor("bruno"),
        iid,
        None,
        template_id=tid,
        variables={"firstname": "Jan", "date": "1/12", "time": "9h"},
    )
    assert msg.text.startswith("Hello Jan, this is a reminder of your appointment on 1/12 at 9h.")
    assert msg.from_number == SALES_NUMBER


@pytest.mark.parametrize(
    ("queue", "template"),
    [
        ("Support", "Spring offer"),
        ("Sales", "Ticket follow-up"),
        ("Sales", "Draft (empty)"),
        ("Support", "Draft (empty)"),
    ],
)
async def test_send_smart_invalid_template(
    services: Services, demo: Demo, queue: str, template: str
) -> None:
    iid = await _bruno_conversation(services, demo, queue)
    tid = await demo.template_id(template)
    before = await demo.snapshot()
    with pytest.raises(InvalidTemplate):
        await services.outbound.send_smart(
            Actor("bruno"), iid, None, template_id=tid, variables={"firstname": "x"}
        )
    assert await demo.snapshot() == before


async def test_send_smart_deleted_template(services: Services, demo: Demo) -> None:
    iid = await _bruno_conversation(services, demo)
    tid = await demo.template_id("Ticket follow-up")
    await demo.update(Template, Template.id == tid, deleted=True)
    with pytest.raises(InvalidTemplate):
        await services.outbound.send_smart(Actor("bruno"), iid, None, template_id=tid)


async def test_send_smart_marketing_template(services: Services, demo: Demo) -> None:
    iid = await _bruno_conversation(services, demo, "Sales")
    tid = await demo.template_id("Spring offer")
    msg = await services.outbound.send_smart(
        Actor("bruno"), iid, None, template_id=tid, variables={"firstname": "Léa", "date": "30/4"}
    )
    assert msg.type == MessageType.MARKETING
    assert msg.text == "Léa, our spring offer: 20% off until 30/4. Reply STOP to unsubscribe."
    assert (await demo.message(msg.id)).type == MessageType.MARKETING  # type: ignore[arg-type]


async def test_send_smart_on_closed_interaction(services: Services, demo: Demo) -> None:
    iid = await _bruno_conversation(services, demo)
    await services.conversations.close(Actor("bruno"), iid)
    before = await demo.snapshot()
    with pytest.raises(InteractionNotProgressing):
        await services.outbound.send_smart(Actor("bruno"), iid, "Too late")
    await services.conversations.archive(Actor("bruno"), iid)
    with pytest.raises(InteractionNotProgressing):
        await services.outbound.send_smart(Actor("bruno"), iid, "Too late")
    assert (await demo.snapshot())[:3] == before[:3]


async def test_send_smart_on_demo_closed_interaction(services: Services, demo: Demo) -> None:
    async with services.db.read() as session:
        closed = await session.scalar(
            sa.select(Interaction.id).where(Interaction.status == InteractionStatus.CLOSED)
        )
    assert closed is not None
    with pytest.raises(InteractionNotProgressing):
        await services.outbound.send_smart(Actor("alice"), closed, "Hi again")


async def test_send_smart_on_another_agents_interaction(services: Services, demo: Demo) -> None:
    (alices,) = await services.conversations.open_interactions(Actor("alice"))
    before = await demo.snapshot()
    with pytest.raises(NotAllowed):
        await services.outbound.send_smart(Actor("bruno"), alices.id, "Not mine")  # type: ignore[arg-type]
    # Even a supervisor does not write in an agent's conversation through this path.
    with pytest.raises(NotAllowed):
        await services.outbound.send_smart(Actor("sam"), alices.id, "Not mine")  # type: ignore[arg-type]
    assert await demo.snapshot() == before


async def test_send_smart_unknown_interaction(services: Services) -> None:
    with pytest.raises(UnknownInteraction):
        await services.outbound.send_smart(Actor("alice"), 987654, "Hi")


async def test_send_smart_after_smart_permission_removed(services: Services, demo: Demo) -> None:
    iid = await _bruno_conversation(services, demo)
    await demo.set_profile("Smart only", smart=False, direct=True)
    with pytest.raises(NoSmartPermission):
        await services.outbound.send_smart(Actor("bruno"), iid, "Hi")


async def test_send_smart_refusals_write_nothing(services: Services, demo: Demo) -> None:
    iid = await _bruno_conversation(services, demo)
    before = await demo.snapshot()
    with pytest.raises(EmptyMessage):
        await services.outbound.send_smart(Actor("bruno"), iid, "  ")
    with pytest.raises(CreditLimitExceeded):
        await services.outbound.send_smart(Actor("bruno"), iid, "ж" * 537)
    await demo.set_account(credits=0)
    with pytest.raises(InsufficientCredits):
        await services.outbound.send_smart(Actor("bruno"), iid, "Hi")
    after = await demo.snapshot()
    assert after[1:] == before[1:]
    assert await demo.balance() == 0
    assert (await demo.interaction(iid)).last_message_at is None
