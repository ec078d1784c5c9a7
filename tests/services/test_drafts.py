"""Drafts (issue #23 item 3): what an agent typed and has not sent, kept in the database.

On SQLite and PostgreSQL, on the demo data (alice: agent, bruno: agent, sam: supervisor,
admin: administrator): a draft per conversation, one for the Direct form and one for Send
SMS; saved, replaced, deleted by a blank text and by ``clear``; bounded; stored as typed;
each agent's own, a conversation's only while it is theirs (another agent's refused, whatever
the caller's role, with nothing written); kept when the conversation is closed elsewhere and
restored into the next editor for the same customer, or into Send SMS; never audited, never
notified (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from svc_helpers import Demo, caught_up

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Channel, InteractionStatus
from bannertui.domain.errors import DraftTooLong, NotAllowed, UnknownAgent, UnknownInteraction
from bannertui.services import Services
from bannertui.services.changes import ChangeWatcher
from bannertui.services.drafts import (
    COMPOSE,
    DIRECT,
    DRAFT_MAX_CHARS,
    RECIPIENTS_MAX_CHARS,
    DraftRow,
)
from bannertui.store.database import Database
from bannertui.store.models import Agent, AuditEvent, Draft, Interaction

ALICE, BRUNO, SAM, ADMIN = (Actor(x) for x in ("alice", "bruno", "sam", "admin"))
LEA = "+33612000001"
THOMAS = "+33612000002"
SUPPORT_NUMBER = "+33757000010"


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py)."""
    return fast_seeded


async def conversation(
    services: Services,
    demo: Demo,
    login: str,
    number: str = "+33612000071",
    status: InteractionStatus = InteractionStatus.PROGRESSING,
) -> int:
    """A Support conversation with ``number``, assigned to ``login`` (written directly)."""
    now = services.drafts.clock()
    async with services.db.write() as session:
        inter = Interaction(
            channel=Channel.SMS,
            status=status,
            queue_id=await demo.queue_id("Support"),
            agent_id=await demo.agent_id(login),
            remote_number=number,
            local_number=SUPPORT_NUMBER,
            created_at=now - timedelta(minutes=5),
            assigned_at=now - timedelta(minutes=5),
            closed_at=None if status is InteractionStatus.PROGRESSING else now,
        )
        session.add(inter)
        await session.flush()
        return int(inter.id or 0)


async def drafts_stored(services: Services) -> list[tuple[Any, ...]]:
    async with services.db.read() as session:
        rows = await session.execute(
            sa.select(
                Draft.agent_id, Draft.slot, Draft.interaction_id, Draft.text, Draft.recipients
            ).order_by(Draft.agent_id, Draft.slot)
        )
        return [tuple(r) for r in rows.all()]


# --- save, get, replace, delete ------------------------------------------------------------


async def test_a_conversation_draft_is_saved_replaced_and_read(
    services: Services, demo: Demo, clock: Any
) -> None:
    conv = await conversation(services, demo, "alice")
    assert await services.drafts.get(ALICE, conv) is None
    saved = await services.drafts.save(ALICE, conv, "Sure, Tuesday")
    assert saved == DraftRow(conv, "Sure, Tuesday", "", clock.now)
    clock.now += timedelta(seconds=3)
    await services.drafts.save(ALICE, conv, "Sure, Tuesday 10:00 works.", recipients="ignored")
    got = await services.drafts.get(ALICE, conv)
    assert got == DraftRow(conv, "Sure, Tuesday 10:00 works.", "", clock.now)
    alice = await demo.agent_id("alice")
    assert await drafts_stored(services) == [
        (alice, f"interaction:{conv}", conv, "Sure, Tuesday 10:00 works.", "")
    ]


async def test_the_direct_and_send_sms_drafts_are_one_each_per_agent(
    services: Services, demo: Demo
) -> None:
    await services.drafts.save(ALICE, DIRECT, "Your parcel", recipients=LEA)
    await services.drafts.save(ALICE, DIRECT, "Your parcel left", recipients=THOMAS)
    await services.drafts.save(ALICE, COMPOSE, "Closed on Monday", recipients=f"{LEA}, {THOMAS}")
    await services.drafts.save(BRUNO, DIRECT, "Bruno's", recipients=LEA)
    direct = await services.drafts.get(ALICE, DIRECT)
    assert direct is not None
    assert (direct.text, direct.recipients) == ("Your parcel left", THOMAS)
    compose = await services.drafts.get(ALICE, COMPOSE)
    assert compose is not None
    assert (compose.text, compose.recipients) == ("Closed on Monday", f"{LEA}, {THOMAS}")
    bruno = await services.drafts.get(BRUNO, DIRECT)
    assert bruno is not None
    assert bruno.text == "Bruno's"
    assert await services.drafts.get(SAM, DIRECT) is None
    assert len(await drafts_stored(services)) == 3


@pytest.mark.parametrize("blank", ["", "   ", "\n\n \t"])
async def test_a_blank_text_deletes_the_draft(services: Services, demo: Demo, blank: str) -> None:
    conv = await conversation(services, demo, "alice")
    await services.drafts.save(ALICE, conv, "Sure")
    await services.drafts.save(ALICE, COMPOSE, "Hello", recipients=LEA)
    assert await services.drafts.save(ALICE, conv, blank) is None
    assert await services.drafts.save(ALICE, COMPOSE, blank, recipients=LEA) is None
    assert await services.drafts.get(ALICE, conv) is None
    assert await drafts_stored(services) == []
    assert await services.drafts.save(ALICE, DIRECT, blank) is None  # none there: nothing
    assert await drafts_stored(services) == []


async def test_clear_deletes_and_clearing_nothing_is_no_error(
    services: Services, demo: Demo
) -> None:
    conv = await conversation(services, demo, "alice")
    await services.drafts.save(ALICE, conv, "Sure")
    await services.drafts.save(ALICE, DIRECT, "Hi", recipients=LEA)
    await services.drafts.clear(ALICE, conv)
    assert await services.drafts.get(ALICE, conv) is None
    assert await services.drafts.get(ALICE, DIRECT) is not None
    await services.drafts.clear(ALICE, conv)
    await services.drafts.clear(ALICE, DIRECT)
    await services.drafts.clear(ALICE, COMPOSE)
    assert await drafts_stored(services) == []


async def test_the_text_is_stored_as_typed(services: Services, demo: Demo) -> None:
    """Untrusted text is sanitized where it is shown, never in the database."""
    conv = await conversation(services, demo, "alice")
    text = "[bold]x[/] \x1b[31mred\x1b[0m \u202eevil\u202c 👨\u200d👩\u200d👧 é\r\nnext"
    await services.drafts.save(ALICE, conv, text)
    await services.drafts.save(ALICE, COMPOSE, text, recipients="\x1b[2J+33612000001")
    got = await services.drafts.get(ALICE, conv)
    assert got is not None
    assert got.text == text
    compose = await services.drafts.get(ALICE, COMPOSE)
    assert compose is not None
    assert (compose.text, compose.recipients) == (text, "\x1b[2J+33612000001")


async def test_a_draft_is_bounded_with_a_clear_error(services: Services, demo: Demo) -> None:
    conv = await conversation(services, demo, "alice")
    await services.drafts.save(ALICE, conv, "kept")
    longest = "a" * DRAFT_MAX_CHARS
    assert await services.drafts.save(ALICE, DIRECT, longest, recipients=LEA) is not None
    before = await drafts_stored(services)
    with pytest.raises(DraftTooLong, match="at most 10,000 characters; this one has 10,001"):
        await services.drafts.save(ALICE, conv, longest + "a")
    with pytest.raises(DraftTooLong, match="recipients"):
        await services.drafts.save(
            ALICE, COMPOSE, "Hi", recipients="1" * (RECIPIENTS_MAX_CHARS + 1)
        )
    assert await drafts_stored(services) == before
    assert str(DraftTooLong("x")).startswith("Draft too long: ")


# --- whose -----------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", [ALICE, SAM, ADMIN], ids=lambda a: a.login)
async def test_another_agents_conversation_draft_is_refused_whatever_the_role(
    services: Services, demo: Demo, caller: Actor
) -> None:
    brunos = await conversation(services, demo, "bruno")
    await services.drafts.save(BRUNO, brunos, "Bruno's words")
    before = await drafts_stored(services)
    calls = [
        services.drafts.get(caller, brunos),
        services.drafts.save(caller, brunos, "overwritten"),
        services.drafts.save(caller, brunos, ""),
        services.drafts.clear(caller, brunos),
        services.drafts.restore(caller, brunos),
    ]
    for call in calls:
        with pytest.raises(NotAllowed, match="assigned to another agent"):
            await call
    assert await drafts_stored(services) == before


async def test_a_named_slot_is_the_callers_own(services: Services) -> None:
    """No argument names whose draft it is: each agent reads and clears only their own."""
    await services.drafts.save(BRUNO, COMPOSE, "Bruno's", recipients=LEA)
    assert await services.drafts.get(ALICE, COMPOSE) is None
    await services.drafts.clear(ALICE, COMPOSE)
    assert await services.drafts.get(BRUNO, COMPOSE) is not None
    # an administrator acting as alice (--agent) works on alice's drafts
    await services.drafts.save(Actor("alice", by="admin"), COMPOSE, "as alice")
    alices = await services.drafts.get(ALICE, COMPOSE)
    assert alices is not None
    assert alices.text == "as alice"
    admins = await services.drafts.get(ADMIN, COMPOSE)
    assert admins is None


async def test_unknown_agents_interactions_and_slots(services: Services, demo: Demo) -> None:
    conv = await conversation(services, demo, "alice")
    with pytest.raises(UnknownAgent, match="Unknown agent: mallory"):
        await services.drafts.save(Actor("mallory"), conv, "x")
    with pytest.raises(UnknownAgent):
        await services.drafts.get(Actor("mallory"), DIRECT)
    with pytest.raises(UnknownInteraction):
        await services.drafts.save(ALICE, 999_999, "x")
    with pytest.raises(ValueError, match="no draft slot"):
        await services.drafts.save(ALICE, "inbox", "x")
    with pytest.raises(TypeError):
        await services.drafts.get(ALICE, True)
    assert await drafts_stored(services) == []


async def test_a_disabled_agent_reads_no_draft(services: Services, demo: Demo) -> None:
    await services.drafts.save(ALICE, DIRECT, "Hi", recipients=LEA)
    await demo.update(Agent, Agent.login == "alice", active=False)
    with pytest.raises(UnknownAgent):
        await services.drafts.get(ALICE, DIRECT)


# --- closed elsewhere: kept, and restored --------------------------------------------------


async def test_a_draft_outlives_a_close_done_elsewhere(
    services: Services, demo: Demo, seeded: Database, clock: Any
) -> None:
    conv = await conversation(services, demo, "alice", LEA)
    saved = await services.drafts.save(ALICE, conv, "Your order left today")
    assert saved is not None
    assert not saved.closed
    elsewhere = Services(seeded, clock)  # another console of alice's
    await elsewhere.conversations.close(ALICE, conv)
    kept = await services.drafts.get(ALICE, conv)
    assert kept is not None
    assert (kept.text, kept.closed) == ("Your order left today", True)
    # the console that had it open flushes what was typed since: still its own, still kept
    again = await services.drafts.save(ALICE, conv, "Your order left today, Léa")
    assert again is not None
    assert again.closed
    await elsewhere.conversations.archive(ALICE, conv)
    archived = await services.drafts.get(ALICE, conv)
    assert archived is not None
    assert archived.closed


async def test_send_sms_restores_the_newest_kept_draft_with_its_customer(
    services: Services, demo: Demo, clock: Any
) -> None:
    older = await conversation(services, demo, "alice", THOMAS)
    newer = await conversation(services, demo, "alice", LEA)
    still_open = await conversation(services, demo, "alice", "+33612000003")
    await services.drafts.save(ALICE, older, "Thomas, your quote")
    clock.now += timedelta(seconds=5)
    await services.drafts.save(ALICE, newer, "Léa, your parcel")
    await services.drafts.save(ALICE, still_open, "open: not kept")
    assert await services.drafts.restore(ALICE, COMPOSE) is None  # nothing closed yet
    await services.conversations.close(ALICE, older)
    await services.conversations.close(ALICE, newer)

    clock.now += timedelta(seconds=5)
    restored = await services.drafts.restore(ALICE, COMPOSE)
    assert restored == DraftRow(
        COMPOSE, "Léa, your parcel", LEA, clock.now, adopted_from=newer, adopted_number=LEA
    )
    assert await services.drafts.get(ALICE, newer) is None  # moved, not copied
    # Send SMS has a draft now: it is restored as it is, the other kept one stays
    again = await services.drafts.restore(ALICE, COMPOSE)
    assert again is not None
    assert (again.text, again.recipients, again.adopted_from) == ("Léa, your parcel", LEA, None)
    assert await services.drafts.get(ALICE, older) is not None
    # once Send SMS's draft is sent (cleared), the next kept one comes
    await services.drafts.clear(ALICE, COMPOSE)
    last = await services.drafts.restore(ALICE, COMPOSE)
    assert last is not None
    assert (last.text, last.recipients, last.adopted_from) == ("Thomas, your quote", THOMAS, older)
    assert await services.drafts.restore(ALICE, COMPOSE) is not None
    await services.drafts.clear(ALICE, COMPOSE)
    assert await services.drafts.restore(ALICE, COMPOSE) is None
    # the open conversation's draft was never offered
    still = await services.drafts.get(ALICE, still_open)
    assert still is not None
    assert still.text == "open: not kept"


async def test_a_kept_draft_comes_back_in_the_next_editor_for_that_customer(
    services: Services, demo: Demo
) -> None:
    closed = await conversation(services, demo, "alice", LEA)
    await services.drafts.save(ALICE, closed, "Léa, your parcel")
    await services.conversations.close(ALICE, closed)
    # not into the Direct form to someone else, nor another customer's conversation
    assert await services.drafts.restore(ALICE, DIRECT, number=THOMAS) is None
    thomas = await conversation(services, demo, "alice", THOMAS)
    assert await services.drafts.restore(ALICE, thomas) is None
    # a new conversation with Léa takes it
    again = await conversation(services, demo, "alice", LEA)
    restored = await services.drafts.restore(ALICE, again)
    assert restored is not None
    assert (restored.key, restored.text, restored.recipients) == (again, "Léa, your parcel", "")
    assert (restored.adopted_from, restored.closed) == (closed, False)
    assert await services.drafts.get(ALICE, closed) is None
    mine = await services.drafts.get(ALICE, again)
    assert mine is not None
    assert mine.text == "Léa, your parcel"


async def test_the_direct_form_takes_a_kept_draft_to_its_number(
    services: Services, demo: Demo
) -> None:
    closed = await conversation(services, demo, "alice", LEA)
    await services.drafts.save(ALICE, closed, "Léa, your parcel")
    await services.conversations.close(ALICE, closed)
    restored = await services.drafts.restore(ALICE, DIRECT, number=LEA)
    assert restored is not None
    assert (restored.text, restored.recipients, restored.adopted_from) == (
        "Léa, your parcel",
        LEA,
        closed,
    )
    # the Direct form's draft is restored into a form to its number only
    assert await services.drafts.restore(ALICE, DIRECT, number=THOMAS) is None
    direct = await services.drafts.restore(ALICE, DIRECT, number=LEA)
    assert direct is not None
    assert direct.adopted_from is None
    anywhere = await services.drafts.restore(ALICE, DIRECT)
    assert anywhere is not None


async def test_a_kept_draft_never_replaces_a_draft(services: Services, demo: Demo) -> None:
    closed = await conversation(services, demo, "alice", LEA)
    await services.drafts.save(ALICE, closed, "kept")
    await services.conversations.close(ALICE, closed)
    await services.drafts.save(ALICE, COMPOSE, "mine", recipients=THOMAS)
    await services.drafts.save(ALICE, DIRECT, "to Thomas", recipients=THOMAS)
    compose = await services.drafts.restore(ALICE, COMPOSE)
    assert compose is not None
    assert (compose.text, compose.adopted_from) == ("mine", None)
    assert await services.drafts.restore(ALICE, DIRECT, number=LEA) is None
    direct = await services.drafts.get(ALICE, DIRECT)
    assert direct is not None
    assert direct.text == "to Thomas"
    assert await services.drafts.get(ALICE, closed) is not None


async def test_an_agent_never_gets_another_agents_kept_draft(
    services: Services, demo: Demo
) -> None:
    brunos = await conversation(services, demo, "bruno", LEA)
    await services.drafts.save(BRUNO, brunos, "Bruno's")
    await services.conversations.close(BRUNO, brunos)
    for caller in (ALICE, SAM, ADMIN):
        assert await services.drafts.restore(caller, COMPOSE) is None
        assert await services.drafts.restore(caller, DIRECT, number=LEA) is None
    restored = await services.drafts.restore(BRUNO, COMPOSE)
    assert restored is not None
    assert restored.text == "Bruno's"


# --- quiet -----------------------------------------------------------------------------------


async def test_drafts_are_not_audited(services: Services, demo: Demo) -> None:
    conv = await conversation(services, demo, "alice")
    before = await demo.count(AuditEvent)
    await services.drafts.save(ALICE, conv, "x")
    await services.drafts.save(ALICE, COMPOSE, "x", recipients=LEA)
    await services.drafts.get(ALICE, conv)
    await services.drafts.restore(ALICE, conv)
    await services.drafts.clear(ALICE, conv)
    assert await demo.count(AuditEvent) == before


async def test_drafts_wake_no_screen_on_postgresql(
    services: Services, demo: Demo, backend: str
) -> None:
    """Saved at every pause in typing: no NOTIFY (every listening console would wake)."""
    if backend != "postgresql":
        pytest.skip("SQLite screens see every commit (PRAGMA data_version)")
    conv = await conversation(services, demo, "alice", LEA)
    closed = await conversation(services, demo, "alice", THOMAS)
    await services.drafts.save(ALICE, closed, "kept")
    await services.conversations.close(ALICE, closed)
    everything = ChangeWatcher(services.db)
    banner = ChangeWatcher(services.db, others_every=3600)
    banner.follow_agent(await demo.agent_id("alice"))
    try:
        assert await everything.changed()
        assert await banner.changed()
        await services.drafts.save(ALICE, conv, "Sure")
        await services.drafts.save(ALICE, conv, "")
        await services.drafts.save(ALICE, COMPOSE, "x", recipients=LEA)
        await services.drafts.clear(ALICE, COMPOSE)
        assert await services.drafts.restore(ALICE, COMPOSE) is not None  # a move
        await caught_up(everything)
        await caught_up(banner)
        assert not await everything.changed()
        assert not await banner.changed()
    finally:
        await everything.close()
        await banner.close()


async def test_the_slot_names_its_conversation(services: Services, demo: Demo) -> None:
    """The schema itself refuses a row whose slot and conversation disagree."""
    conv = await conversation(services, demo, "alice")
    alice = await demo.agent_id("alice")
    now = services.drafts.clock()
    for slot, interaction_id in (
        (f"interaction:{conv + 1}", conv),
        ("direct", conv),
        ("inbox", None),
        (f"interaction:{conv}", None),
    ):
        with pytest.raises(sa.exc.IntegrityError):
            async with services.db.write() as session:
                session.add(
                    Draft(
                        agent_id=alice,
                        slot=slot,
                        interaction_id=interaction_id,
                        text="x",
                        updated_at=now,
                    )
                )
    assert await drafts_stored(services) == []
