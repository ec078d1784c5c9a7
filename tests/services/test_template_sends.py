"""SPEC §7 (issue #16, item 5): a template is never sent with a variable left unfilled.

Every service path that sends a template renders it with the values it was given and refuses
("Template variables missing: $date, $time") when a variable has no value and no fallback
(``$name|text``, ``$name|"two words"``), before anything is written: no message, no debit, no
audit event.  A text the agent typed is not a template send: it is sent as typed, ``$`` and
all, unless it still holds a ``$variable`` of the template chosen with it (the editor filled
with the template and "Replace variables" never run).  Bots check their template when they
are configured (they always know only ``$number`` and ``$queue``: every other variable needs a
fallback), and a bot that meets an unfillable template anyway (stored before this rule) is
skipped with an audit event instead of sending a literal ``$variable`` or an empty gap.

On SQLite and PostgreSQL, with the demo data.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col
from svc_helpers import Demo

from bannertui.domain.actor import Actor
from bannertui.domain.enums import BotTrigger, Channel, Direction, InteractionStatus, MessageStatus
from bannertui.domain.errors import InvalidTemplate, MissingTemplateVariables
from bannertui.services import Services
from bannertui.services.routing import BOT_ALWAYS_FILLED, BOT_SOMETIMES_FILLED, Router
from bannertui.store.database import Database
from bannertui.store.models import Bot, Interaction, Message, Queue, Template

ALICE = Actor("alice")
ADMIN = Actor("admin")
PARIS_DESK = "+33757000001"  # alice's first sender number
TO = "+33612345678"
SUPPORT_NUMBER = "+33757000010"
INES = "+33612000003"  # a demo contact, Inès Petit, with no conversation
STRANGER = "+33614000001"  # no contact, no conversation
START_CREDITS = 500
SEEDED_MESSAGES = 8  # the demo's history holds messages 1–8

APPOINTMENT = "Appointment reminder"
APPOINTMENT_FILLED = (
    "Hello Léa, this is a reminder of your appointment on 12/11 at 10:30. Reply STOP to opt out."
)
ALL_VALUES = {"firstname": "Léa", "date": "12/11", "time": "10:30"}
#: A template a bot can always fill: $queue and $number always have a value, the rest a fallback.
BOT_TEXT = 'Hello $firstname|"there", you wrote to $queue from $number. $agent|"An agent" replies.'


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py)."""
    return fast_seeded


async def outbound_to(services: Services, number: str) -> list[Message]:
    """The outbound messages to ``number`` written by the test (not the demo's history)."""
    async with services.db.read() as session:
        rows = await session.scalars(
            sa.select(Message)
            .where(
                col(Message.direction) == Direction.OUTBOUND,
                col(Message.to_number) == number,
                col(Message.id) > SEEDED_MESSAGES,
            )
            .order_by(col(Message.id))
        )
        return list(rows.all())


async def receive(services: Services, sender: str, text: str = "Hello") -> Message:
    result = await services.inbound.receive(sender, SUPPORT_NUMBER, text, uuid.uuid4().hex)
    assert result.created is True
    return result.message


async def insert_bot(db: Database, queue_id: int, trigger: BotTrigger, text: str) -> int:
    """A bot whose template was stored before the rule (straight into the database)."""
    async with db.write() as session:
        tpl = Template(name=f"Old bot template {uuid.uuid4().hex[:8]}", text=text)
        session.add(tpl)
        await session.flush()
        bot = Bot(queue_id=queue_id, trigger=trigger, template_id=tpl.id or 0)
        session.add(bot)
        await session.flush()
        return int(bot.id or 0)


async def smart_conversation(services: Services, demo: Demo, queue: str = "Support") -> int:
    """A new progressing conversation of alice with TO in ``queue``."""
    inter = await services.outbound.start_smart(ALICE, TO, await demo.queue_id(queue))
    return int(inter.id or 0)


# --- Direct: send_direct with template_id and variables ---------------------------------


@pytest.mark.parametrize(
    ("values", "detail"),
    [
        ({}, "$firstname, $date, $time"),  # the command, without --var
        ({"firstname": "Léa"}, "$date, $time"),  # the second case
        ({"firstname": "Léa", "date": "12/11", "time": ""}, "$time"),  # an empty value
        ({"date": "12/11", "time": "10:30", "first_name": "Léa"}, "$firstname"),  # a misspelling
    ],
)
@pytest.mark.parametrize("scheduled", [False, True], ids=["now", "scheduled"])
async def test_send_direct_refuses_a_template_with_variables_missing(
    services: Services, demo: Demo, clock: Any, values: dict[str, str], detail: str, scheduled: bool
) -> None:
    tid = await demo.template_id(APPOINTMENT)
    before = await demo.snapshot()
    with pytest.raises(MissingTemplateVariables) as exc:
        await services.outbound.send_direct(
            ALICE,
            TO,
            PARIS_DESK,
            None,
            template_id=tid,
            variables=values,
            scheduled_at=clock.now + timedelta(hours=1) if scheduled else None,
        )
    assert exc.value.name == "Template variables missing"
    assert str(exc.value) == f"Template variables missing: {detail}"
    assert isinstance(exc.value, InvalidTemplate)
    assert await demo.snapshot() == before  # no message, no debit, no audit event
    assert await demo.balance() == START_CREDITS


async def test_send_direct_a_blank_text_is_no_text(services: Services, demo: Demo) -> None:
    """A blank ``text`` means "the template": it is rendered, and refused the same way."""
    tid = await demo.template_id(APPOINTMENT)
    before = await demo.snapshot()
    with pytest.raises(MissingTemplateVariables, match=r": \$date, \$time$"):
        await services.outbound.send_direct(
            ALICE, TO, PARIS_DESK, "  ", template_id=tid, variables={"firstname": "Léa"}
        )
    assert await demo.snapshot() == before


async def test_send_direct_queues_a_template_with_every_variable(
    services: Services, demo: Demo
) -> None:
    tid = await demo.template_id(APPOINTMENT)
    msg = await services.outbound.send_direct(
        ALICE, TO, PARIS_DESK, None, template_id=tid, variables={**ALL_VALUES, "unused": "x"}
    )
    assert msg.text == APPOINTMENT_FILLED
    assert msg.status == MessageStatus.PENDING
    assert (msg.to_number, msg.from_number) == (TO, PARIS_DESK)
    assert await demo.balance() == START_CREDITS - 1


async def test_send_direct_values_are_never_expanded(services: Services, demo: Demo) -> None:
    """A value that reads like a variable is text: it fills its variable, nothing more."""
    tid = await demo.template_id(APPOINTMENT)
    msg = await services.outbound.send_direct(
        ALICE,
        TO,
        PARIS_DESK,
        None,
        template_id=tid,
        variables={"firstname": "$date", "date": "12/11", "time": "$time"},
    )
    assert msg.text.startswith(
        "Hello $date, this is a reminder of your appointment on 12/11 at $time"
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "Hello there, this is a reminder of your appointment on a date to agree at 10:00."),
        (
            {"firstname": "", "date": "12/11", "time": "10:30"},
            "Hello there, this is a reminder of your appointment on 12/11 at 10:30.",
        ),
        (ALL_VALUES, "Hello Léa, this is a reminder of your appointment on 12/11 at 10:30."),
    ],
)
async def test_send_direct_fallbacks_fill_what_is_missing(
    services: Services, demo: Demo, values: dict[str, str], expected: str
) -> None:
    tid = await demo.template_id(APPOINTMENT)
    await demo.update(
        Template,
        Template.id == tid,
        text=(
            'Hello $firstname|"there", this is a reminder of your appointment on $date|"a date to'
            ' agree" at $time|"10:00".'
        ),
    )
    msg = await services.outbound.send_direct(
        ALICE, TO, PARIS_DESK, None, template_id=tid, variables=values
    )
    assert msg.text == expected
    assert await demo.balance() == START_CREDITS - 1


async def test_send_direct_plain_text_with_dollars_is_sent_as_typed(
    services: Services, demo: Demo
) -> None:
    """No template: a typed text is the agent's own, "$date" and all."""
    text = "Your code is $date, it costs $5 and $firstname is a placeholder"
    msg = await services.outbound.send_direct(ALICE, TO, PARIS_DESK, text)
    assert msg.text == text
    assert await demo.balance() == START_CREDITS - 1


async def test_send_direct_edited_text_of_a_template_is_sent_as_typed(
    services: Services, demo: Demo
) -> None:
    """The form's way: the template fills the editor, "Replace variables" fills the values,
    the agent edits, and the text is sent with the template's id (for its kind).  "$" that is
    no variable of that template stays."""
    tid = await demo.template_id(APPOINTMENT)
    text = "Hello Léa, your appointment on 12/11 at 10:30 costs $20 (see $terms)."
    msg = await services.outbound.send_direct(ALICE, TO, PARIS_DESK, text, template_id=tid)
    assert msg.text == text


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (
            "Hello $firstname, this is a reminder of your appointment on $date at $time. "
            "Reply STOP to opt out.",
            "$firstname, $date, $time",
        ),
        ("Hello Léa, this is a reminder of your appointment on $date at 10:30.", "$date"),
        ("Hello Léa, see you on $date|soon.", "$date"),
    ],
)
async def test_send_direct_refuses_a_template_text_never_replaced(
    services: Services, demo: Demo, text: str, detail: str
) -> None:
    """The template chosen, its text in the editor, "Replace variables" never run: the text
    still holds the template's own variables, and is refused like the template itself."""
    tid = await demo.template_id(APPOINTMENT)
    before = await demo.snapshot()
    with pytest.raises(MissingTemplateVariables) as exc:
        await services.outbound.send_direct(ALICE, TO, PARIS_DESK, text, template_id=tid)
    assert str(exc.value) == f"Template variables missing: {detail}"
    assert await demo.snapshot() == before


# --- Smart: send_smart with template_id and variables ----------------------------------


async def test_send_smart_refuses_a_template_with_variables_missing(
    services: Services, demo: Demo
) -> None:
    iid = await smart_conversation(services, demo)
    tid = await demo.template_id(APPOINTMENT)
    before = await demo.snapshot()
    for values, detail in (
        ({}, "$firstname, $date, $time"),
        ({"firstname": "Jan"}, "$date, $time"),
    ):
        with pytest.raises(MissingTemplateVariables) as exc:
            await services.outbound.send_smart(ALICE, iid, None, template_id=tid, variables=values)
        assert str(exc.value) == f"Template variables missing: {detail}"
    # the template's raw text typed back with it: refused too
    raw = await services.outbound.template_text(ALICE, tid, await demo.queue_id("Support"))
    with pytest.raises(MissingTemplateVariables):
        await services.outbound.send_smart(ALICE, iid, raw, template_id=tid)
    assert await demo.snapshot() == before


async def test_send_smart_queues_a_filled_template(services: Services, demo: Demo) -> None:
    iid = await smart_conversation(services, demo)
    tid = await demo.template_id(APPOINTMENT)
    msg = await services.outbound.send_smart(
        ALICE, iid, None, template_id=tid, variables=ALL_VALUES
    )
    assert msg.text == APPOINTMENT_FILLED
    assert msg.interaction_id == iid
    assert await demo.balance() == START_CREDITS - 1
    # and with a fallback for the one left out
    await demo.update(
        Template, Template.id == tid, text="See you on $date at $time|noon, $firstname|friend."
    )
    msg = await services.outbound.send_smart(
        ALICE, iid, None, template_id=tid, variables={"date": "12/11"}
    )
    assert msg.text == "See you on 12/11 at noon, friend."
    # a plain text with "$" and no template is the agent's own
    msg = await services.outbound.send_smart(ALICE, iid, "Total: $12 for $firstname")
    assert msg.text == "Total: $12 for $firstname"


# --- bots: refused when configured ------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "detail"),
    [
        (APPOINTMENT, "$firstname, $date, $time"),
        ("Ticket follow-up", "$firstname, $ticket, $status"),
        ("Spring offer", "$firstname, $date"),
    ],
)
async def test_add_bot_refuses_a_template_it_cannot_fill(
    services: Services, demo: Demo, template: str, detail: str
) -> None:
    qid = await demo.queue_id("Sales")
    before = await demo.snapshot()
    with pytest.raises(MissingTemplateVariables) as exc:
        await services.admin.add_bot(ADMIN, qid, "on_start", template)
    assert str(exc.value).startswith(f"Template variables missing: {detail} (")
    assert "$number and $queue" in str(exc.value)
    assert "fallback" in str(exc.value)
    assert await demo.count(Bot) == 0
    assert await demo.snapshot() == before


@pytest.mark.parametrize(
    "text",
    [
        "Hello $firstname",  # a contact's field: empty for a number that is no contact
        "Your agent is $agent",  # nobody yet when the conversation starts or waits
        "Hi $company|there, about $order",  # $order: never known to a bot
    ],
)
async def test_add_bot_needs_a_fallback_for_what_may_be_empty(
    services: Services, demo: Demo, text: str
) -> None:
    await services.admin.save_template(ADMIN, name="Bot text", text=text, queues=["Support"])
    with pytest.raises(MissingTemplateVariables):
        await services.admin.add_bot(ADMIN, await demo.queue_id("Support"), "on_start", "Bot text")
    assert await demo.count(Bot) == 0


async def test_add_bot_accepts_a_template_it_can_always_fill(
    services: Services, demo: Demo
) -> None:
    await services.admin.save_template(ADMIN, name="Welcome", text=BOT_TEXT, queues=["Support"])
    await services.admin.save_template(
        ADMIN, name="Plain", text="Thanks, we will answer soon.", queues=["Support"]
    )
    qid = await demo.queue_id("Support")
    await services.admin.add_bot(ADMIN, qid, "on_start", "Welcome")
    await services.admin.add_bot(ADMIN, qid, "on_finish", "Plain")
    assert [b.template for b in await services.admin.bots(ADMIN)] == ["Plain", "Welcome"]


async def test_a_bot_sends_only_a_template_of_its_queue(services: Services, demo: Demo) -> None:
    # Issue #19 (Q3): the bot form accepted a template of another queue.
    await services.admin.save_template(ADMIN, name="Sales hello", text=BOT_TEXT, queues=["Sales"])
    before = await demo.snapshot()
    with pytest.raises(InvalidTemplate, match="'Sales hello' is not a template of Support"):
        await services.admin.add_bot(
            ADMIN, await demo.queue_id("Support"), "on_start", "Sales hello"
        )
    assert await demo.snapshot() == before
    await services.admin.add_bot(ADMIN, await demo.queue_id("Sales"), "on_start", "Sales hello")
    assert [b.template for b in await services.admin.bots(ADMIN)] == ["Sales hello"]


async def test_editing_a_bots_template_keeps_it_fillable(services: Services, demo: Demo) -> None:
    tid = await services.admin.save_template(
        ADMIN, name="Welcome", text=BOT_TEXT, queues=["Support"]
    )
    await services.admin.add_bot(ADMIN, await demo.queue_id("Support"), "on_start", "Welcome")
    before = await demo.snapshot()
    with pytest.raises(MissingTemplateVariables, match=r"Template variables missing: \$date"):
        await services.admin.save_template(
            ADMIN, name="Welcome", text="See you on $date, $firstname|there", template_id=tid
        )
    assert await demo.snapshot() == before
    # a template no bot uses may hold any variable
    other = await services.admin.save_template(ADMIN, name="Agents only", text=BOT_TEXT)
    await services.admin.save_template(
        ADMIN, name="Agents only", text="See you on $date", template_id=other
    )


async def test_enabling_a_bot_with_an_unfillable_template_is_refused(
    services: Services, demo: Demo
) -> None:
    bot = await insert_bot(
        services.db, await demo.queue_id("Support"), BotTrigger.ON_START, "Hi $x"
    )
    await services.admin.set_bot_enabled(ADMIN, bot, False)  # switching it off is always fine
    with pytest.raises(MissingTemplateVariables, match=r"Template variables missing: \$x"):
        await services.admin.set_bot_enabled(ADMIN, bot, True)
    assert [b.enabled for b in await services.admin.bots(ADMIN)] == [False]


# --- bots: what they send ---------------------------------------------------------------


async def test_the_variables_a_bot_fills_are_the_ones_its_check_knows(
    services: Services, demo: Demo, clock: Any
) -> None:
    async with services.db.read() as session:
        queue = await session.get(Queue, await demo.queue_id("Support"))
        assert queue is not None
        stranger = Interaction(channel=Channel.SMS, remote_number=STRANGER, queue_id=queue.id)
        values = await Router(services.routing, session, clock.now).variables(queue, stranger)
    assert sorted(values) == sorted(BOT_ALWAYS_FILLED + BOT_SOMETIMES_FILLED)
    assert all(values[name] for name in BOT_ALWAYS_FILLED)
    assert not any(values[name] for name in BOT_SOMETIMES_FILLED)  # no contact, no agent yet


async def test_a_bot_fills_its_fallbacks(services: Services, demo: Demo) -> None:
    await services.admin.save_template(ADMIN, name="Welcome", text=BOT_TEXT, queues=["Support"])
    await services.admin.add_bot(ADMIN, await demo.queue_id("Support"), "on_start", "Welcome")
    await receive(services, INES)
    await receive(services, STRANGER)
    (known,) = await outbound_to(services, INES)
    assert known.text == (f"Hello Inès, you wrote to Support from {INES}. An agent replies.")
    (unknown,) = await outbound_to(services, STRANGER)
    assert unknown.text == f"Hello there, you wrote to Support from {STRANGER}. An agent replies."


async def test_a_bot_never_sends_a_gap_or_a_literal_variable(
    services: Services, demo: Demo
) -> None:
    """A template stored before the rule: sent when it can be filled, otherwise skipped with
    an audit event naming what was missing; the inbound message is stored all the same."""
    qid = await demo.queue_id("Support")
    await insert_bot(services.db, qid, BotTrigger.ON_START, "Hello $firstname, welcome to $queue.")
    await insert_bot(services.db, qid, BotTrigger.ON_START, "Your ticket $ticket is open.")
    await receive(services, INES)
    assert [m.text for m in await outbound_to(services, INES)] == [
        "Hello Inès, welcome to Support."
    ]
    inbound = await receive(services, STRANGER)
    assert inbound.interaction_id is not None
    assert await outbound_to(services, STRANGER) == []
    skipped = await demo.audit("bot.on_start.skipped")
    assert [(e.actor, e.target) for e in skipped] == [
        ("system", INES),
        ("system", STRANGER),
        ("system", STRANGER),
    ]
    assert [e.detail for e in skipped] == [
        "Template variables missing: $ticket",
        "Template variables missing: $firstname",
        "Template variables missing: $ticket",
    ]
    assert await demo.balance() == START_CREDITS - 1


async def test_an_on_finish_bot_that_cannot_be_filled_does_not_stop_the_close(
    services: Services, demo: Demo
) -> None:
    qid = await demo.queue_id("Support")
    await insert_bot(services.db, qid, BotTrigger.ON_FINISH, "Bye $firstname, see you $when")
    iid = await smart_conversation(services, demo)
    before = await demo.balance()
    await services.conversations.close(ALICE, iid)
    assert (await demo.interaction(iid)).status == InteractionStatus.CLOSED
    assert await outbound_to(services, TO) == []
    (event,) = await demo.audit("bot.on_finish.skipped")
    assert event.detail == "Template variables missing: $firstname, $when"
    assert event.target == TO
    assert await demo.balance() == before
