"""Conversations (close, archive, thread paging) and what the provider tells us (inbound SMS,
delivery receipts), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from svc_helpers import WAIT_S, Demo, wait_for_a_lock_wait

from bannertui.domain.actor import Actor
from bannertui.domain.enums import (
    Channel,
    Direction,
    Folder,
    InteractionStatus,
    MessageStatus,
    MessageType,
)
from bannertui.domain.errors import (
    InteractionNotProgressing,
    NotAllowed,
    UnknownAgent,
    UnknownInteraction,
    UnknownMessage,
)
from bannertui.services import Services
from bannertui.services.inbound import InvalidInbound, ReceiptStatus
from bannertui.store.database import Database
from bannertui.store.models import Interaction, Message

SUPPORT_NUMBER = "+33757000010"
SALES_NUMBER = "+33757000011"
LEA = "+33612000001"  # alice's open Support conversation in the demo
THOMAS = "+33612000002"  # alice's closed Sales conversation in the demo
MOBILE = "+33612345678"


async def _alice_open(services: Services) -> Interaction:
    (inter,) = await services.conversations.open_interactions(Actor("alice"))
    assert inter.remote_number == LEA
    return inter


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py)."""
    return fast_seeded


async def test_the_overview_names_the_contact_of_each_conversation(services: Services) -> None:
    """The Banner's list and pane show the contact's name, as the inbox does (the number
    when it belongs to no contact), from the same one read."""
    inter = await _alice_open(services)
    lea = await services.people.contact_by_number(Actor("alice"), LEA)
    assert lea is not None

    [item] = (await services.conversations.overview(Actor("alice"))).interactions
    assert item.id == inter.id
    assert item.contact_name == lea.display_name == "Léa Moreau"
    assert item.who == "Léa Moreau"
    assert item.who_and_number == f"Léa Moreau ({LEA})"

    await services.people.update_contact(
        Actor("alice"), lea.id, first_name="", last_name="Moreau-Roy"
    )
    [item] = (await services.conversations.overview(Actor("alice"))).interactions
    assert item.contact_name == "Moreau-Roy"

    await services.people.delete_contact(Actor("alice"), lea.id)
    [item] = (await services.conversations.overview(Actor("alice"))).interactions
    assert item.contact_name is None
    assert item.who == item.who_and_number == LEA


# --- close / archive --------------------------------------------------------------------


async def test_close_open_interaction(services: Services, demo: Demo, clock: Any) -> None:
    inter = await _alice_open(services)
    clock.now += timedelta(minutes=5)
    closed = await services.conversations.close(Actor("alice"), inter.id)  # type: ignore[arg-type]
    assert closed.status == InteractionStatus.CLOSED
    assert closed.closed_at == clock.now
    assert closed.archived_at is None
    stored = await demo.interaction(inter.id)  # type: ignore[arg-type]
    assert stored.status == InteractionStatus.CLOSED
    assert stored.closed_at == clock.now
    assert await services.conversations.open_interactions(Actor("alice")) == []
    (event,) = await demo.audit("interaction.closed")
    assert event.actor == "alice"
    assert event.target == f"interaction:{inter.id}"


async def test_close_twice_is_refused(services: Services, demo: Demo, clock: Any) -> None:
    inter = await _alice_open(services)
    await services.conversations.close(Actor("alice"), inter.id)  # type: ignore[arg-type]
    closed_at = clock.now
    clock.now += timedelta(minutes=5)
    before = await demo.snapshot()
    with pytest.raises(InteractionNotProgressing):
        await services.conversations.close(Actor("alice"), inter.id)  # type: ignore[arg-type]
    assert await demo.snapshot() == before
    assert (await demo.interaction(inter.id)).closed_at == closed_at  # type: ignore[arg-type]


async def test_close_archived_is_refused(services: Services) -> None:
    inter = await _alice_open(services)
    await services.conversations.archive(Actor("alice"), inter.id)  # type: ignore[arg-type]
    with pytest.raises(InteractionNotProgressing):
        await services.conversations.close(Actor("alice"), inter.id)  # type: ignore[arg-type]


async def test_close_queued_interaction(services: Services, demo: Demo) -> None:
    # A queued interaction assigned to the agent is open: it can be closed.
    alice = await demo.agent_id("alice")
    async with services.db.write() as session:
        inter = Interaction(
            channel=Channel.SMS,
            status=InteractionStatus.QUEUED,
            queue_id=await demo.queue_id("Support"),
            agent_id=alice,
            remote_number=MOBILE,
            created_at=services.conversations.clock(),
        )
        session.add(inter)
        await session.flush()
        iid = inter.id
    assert iid is not None
    closed = await services.conversations.close(Actor("alice"), iid)
    assert closed.status == InteractionStatus.CLOSED


async def test_archive_open_interaction_closes_it(
    services: Services, demo: Demo, clock: Any
) -> None:
    inter = await _alice_open(services)
    clock.now += timedelta(minutes=7)
    archived = await services.conversations.archive(Actor("alice"), inter.id)  # type: ignore[arg-type]
    assert archived.status == InteractionStatus.ARCHIVED
    assert archived.closed_at == clock.now
    assert archived.archived_at == clock.now
    stored = await demo.interaction(inter.id)  # type: ignore[arg-type]
    assert stored.status == InteractionStatus.ARCHIVED
    assert stored.closed_at == clock.now
    assert stored.archived_at == clock.now
    assert await services.conversations.open_interactions(Actor("alice")) == []
    assert len(await demo.audit("interaction.archived")) == 1


async def test_archive_closed_keeps_its_closing_time(
    services: Services,
    demo: Demo,
    clock: Any,
) -> None:
    inter = await _alice_open(services)
    await services.conversations.close(Actor("alice"), inter.id)  # type: ignore[arg-type]
    closed_at = clock.now
    clock.now += timedelta(hours=1)
    archived = await services.conversations.archive(Actor("alice"), inter.id)  # type: ignore[arg-type]
    assert archived.status == InteractionStatus.ARCHIVED
    assert archived.closed_at == closed_at
    assert archived.archived_at == clock.now


async def test_archive_twice_is_refused(services: Services, demo: Demo, clock: Any) -> None:
    inter = await _alice_open(services)
    await services.conversations.archive(Actor("alice"), inter.id)  # type: ignore[arg-type]
    archived_at = clock.now
    clock.now += timedelta(minutes=1)
    before = await demo.snapshot()
    with pytest.raises(InteractionNotProgressing):
        await services.conversations.archive(Actor("alice"), inter.id)  # type: ignore[arg-type]
    assert await demo.snapshot() == before
    assert (await demo.interaction(inter.id)).archived_at == archived_at  # type: ignore[arg-type]


async def test_close_and_archive_someone_elses(services: Services, demo: Demo) -> None:
    inter = await _alice_open(services)
    before = await demo.snapshot()
    for action in (services.conversations.close, services.conversations.archive):
        with pytest.raises(NotAllowed):
            await action(Actor("bruno"), inter.id)  # type: ignore[arg-type]
        with pytest.raises(UnknownInteraction):
            await action(Actor("alice"), 987654)
        with pytest.raises(UnknownAgent):
            await action(Actor("nobody"), inter.id)  # type: ignore[arg-type]
    assert await demo.snapshot() == before
    assert (await demo.interaction(inter.id)).status == InteractionStatus.PROGRESSING  # type: ignore[arg-type]


async def test_mark_read(services: Services, demo: Demo) -> None:
    inter = await _alice_open(services)
    assert inter.unread == 1
    await services.conversations.mark_read(Actor("alice"), inter.id)  # type: ignore[arg-type]
    assert (await demo.interaction(inter.id)).unread == 0  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        await services.conversations.mark_read(Actor("bruno"), inter.id)  # type: ignore[arg-type]


class _RoundTrips:
    """The statements and transactions a database sees (SQLAlchemy's engine events)."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.statements: list[str] = []
        self.begins = 0

    def _stmt(self, _conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        verb = statement.split()[0].upper()
        if verb != "BEGIN":  # SQLite's own (see Database._install_sqlite_hooks)
            self.statements.append(verb)

    def _begin(self, conn: Any) -> None:
        # A PostgreSQL read runs in AUTOCOMMIT: no BEGIN reaches the server.
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.begins += 1

    def __enter__(self) -> _RoundTrips:
        sa.event.listen(self.engine, "before_cursor_execute", self._stmt)
        sa.event.listen(self.engine, "begin", self._begin)
        return self

    def __exit__(self, *_exc: Any) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._stmt)
        sa.event.remove(self.engine, "begin", self._begin)


async def test_a_consoles_live_update_reads_and_marks_read_in_few_round_trips(
    services: Services,
) -> None:
    """What every console runs on every live update, in the fewest statements: the overview
    in two (agent with balance and provider; the list), the thread in one, marking read in
    one (on PostgreSQL without BEGIN and COMMIT)."""
    inter = await _alice_open(services)
    with _RoundTrips(services.db) as trips:
        snap = await services.conversations.overview(Actor("alice"))
    assert trips.statements == ["SELECT", "SELECT"]
    assert snap.balance > 0
    with _RoundTrips(services.db) as trips:
        page = await services.conversations.thread(Actor("alice"), inter.id or 0)
    assert trips.statements == ["SELECT"]
    assert len(page.messages) == 3
    with _RoundTrips(services.db) as trips:
        await services.conversations.mark_read(Actor("alice"), inter.id or 0)
    assert trips.statements == ["UPDATE"]
    assert trips.begins == (1 if services.db.is_sqlite else 0)
    assert (await services.conversations.get(Actor("alice"), inter.id or 0)).unread == 0


async def test_an_inactive_agent_reads_no_thread(services: Services, demo: Demo) -> None:
    inter = await _alice_open(services)
    async with services.db.write() as session:
        await session.execute(sa.text("UPDATE agent SET active = false WHERE login = 'alice'"))
    with pytest.raises(UnknownAgent):
        await services.conversations.thread(Actor("alice"), inter.id or 0)
    with pytest.raises(UnknownAgent):
        await services.conversations.mark_read(Actor("alice"), inter.id or 0)


# --- thread paging ----------------------------------------------------------------------


async def _long_conversation(services: Services, demo: Demo, n: int) -> tuple[int, list[int]]:
    """bruno's conversation with ``n`` messages, interleaved with another conversation's."""
    support = await demo.queue_id("Support")
    bruno = await demo.agent_id("bruno")
    now = services.conversations.clock()
    async with services.db.write() as session:
        mine = Interaction(
            channel=Channel.SMS,
            status=InteractionStatus.PROGRESSING,
            queue_id=support,
            agent_id=bruno,
            remote_number=MOBILE,
            local_number=SUPPORT_NUMBER,
            created_at=now,
        )
        other = Interaction(
            channel=Channel.SMS,
            status=InteractionStatus.PROGRESSING,
            queue_id=support,
            agent_id=bruno,
            remote_number="+33612000099",
            local_number=SUPPORT_NUMBER,
            created_at=now,
        )
        session.add_all([mine, other])
        await session.flush()
        rows = []
        for i in range(n):
            for inter in (mine, other) if i % 3 == 0 else (mine,):
                rows.append(
                    Message(
                        interaction_id=inter.id,
                        agent_id=bruno,
                        queue_id=support,
                        direction=Direction.INBOUND,
                        from_number=inter.remote_number,
                        to_number=SUPPORT_NUMBER,
                        remote_number=inter.remote_number,
                        text=f"message {i}",
                        encoding="GSM-7",
                        credits=0,
                        type=MessageType.NOTIFICATION,
                        status=MessageStatus.RECEIVED,
                        folder=Folder.RECEIVED,
                        created_at=now + timedelta(seconds=i),
                    )
                )
        session.add_all(rows)
        await session.flush()
        ids = [m.id for m in rows if m.interaction_id == mine.id]
        assert mine.id is not None
        return mine.id, ids  # type: ignore[return-value]


async def test_thread_latest_page_is_oldest_first(services: Services, demo: Demo) -> None:
    iid, ids = await _long_conversation(services, demo, 120)
    page = await services.conversations.thread(Actor("bruno"), iid, limit=10)
    assert [m.id for m in page.messages] == ids[-10:]
    assert [m.text for m in page.messages] == [f"message {i}" for i in range(110, 120)]
    assert page.has_older is True
    default = await services.conversations.thread(Actor("bruno"), iid)
    assert [m.id for m in default.messages] == ids[-50:]
    assert default.has_older is True


@pytest.mark.parametrize("limit", [50, 40, 7, 1, 119, 120, 200])
async def test_thread_paging_back_has_no_overlap_or_gap(
    services: Services, demo: Demo, limit: int
) -> None:
    iid, ids = await _long_conversation(services, demo, 120)
    seen: list[int] = []
    before_id: int | None = None
    pages = 0
    while True:
        page = await services.conversations.thread(
            Actor("bruno"), iid, limit=limit, before_id=before_id
        )
        got = [m.id for m in page.messages]
        assert got == sorted(got)
        assert all(m.interaction_id == iid for m in page.messages)
        assert len(got) == min(limit, len(ids) - len(seen))
        seen = got + seen  # the older page goes in front
        pages += 1
        if not page.has_older:
            break
        before_id = got[0]
    assert seen == ids
    assert pages == -(-120 // limit)


async def test_thread_short_and_empty(services: Services, demo: Demo) -> None:
    inter = await _alice_open(services)
    page = await services.conversations.thread(Actor("alice"), inter.id)  # type: ignore[arg-type]
    assert [m.text for m in page.messages] == [
        "Hello, my order #4521 has not arrived yet.",
        "Hello Léa, sorry about that. Let me check with the carrier.",
        "Thanks! It was due on Monday.",
    ]
    assert page.has_older is False
    first = page.messages[0].id
    empty = await services.conversations.thread(Actor("alice"), inter.id, before_id=first)  # type: ignore[arg-type]
    assert empty.messages == ()
    assert empty.has_older is False


async def test_thread_of_someone_else_is_refused(services: Services) -> None:
    inter = await _alice_open(services)
    with pytest.raises(NotAllowed):
        await services.conversations.thread(Actor("bruno"), inter.id)  # type: ignore[arg-type]
    with pytest.raises(UnknownInteraction):
        await services.conversations.thread(Actor("alice"), 987654)


# --- inbound SMS ------------------------------------------------------------------------


async def test_inbound_joins_open_interaction(services: Services, demo: Demo, clock: Any) -> None:
    inter = await _alice_open(services)
    interactions = await demo.count(Interaction)
    clock.now += timedelta(minutes=2)
    result = await services.inbound.receive(LEA, SUPPORT_NUMBER, "Any news?", "pm-1")
    assert result.created is True
    msg = result.message
    assert msg.interaction_id == inter.id
    assert msg.agent_id == await demo.agent_id("alice")
    assert msg.queue_id == await demo.queue_id("Support")
    assert msg.direction == Direction.INBOUND
    assert msg.status == MessageStatus.RECEIVED
    assert msg.folder == Folder.RECEIVED
    assert msg.from_number == msg.remote_number == LEA
    assert msg.to_number == SUPPORT_NUMBER
    assert msg.credits == 0
    assert msg.provider_message_id == "pm-1"
    assert msg.created_at == clock.now
    assert await demo.count(Interaction) == interactions
    stored = await demo.interaction(inter.id)  # type: ignore[arg-type]
    assert stored.unread == inter.unread + 1 == 2
    assert stored.last_message_at == clock.now
    assert stored.status == InteractionStatus.PROGRESSING
    page = await services.conversations.thread(Actor("alice"), inter.id)  # type: ignore[arg-type]
    assert page.messages[-1].id == msg.id


async def test_inbound_received_at_is_kept(services: Services, demo: Demo, clock: Any) -> None:
    at = clock.now - timedelta(seconds=30)
    result = await services.inbound.receive(LEA, SUPPORT_NUMBER, "Hi", "pm-at", received_at=at)
    assert result.message.created_at == at
    assert (await demo.message(result.message.id)).created_at == at  # type: ignore[arg-type]


async def test_inbound_opens_an_interaction_given_to_an_agent_of_the_queue(
    services: Services, demo: Demo, clock: Any
) -> None:
    interactions = await demo.count(Interaction)
    first = await services.inbound.receive(MOBILE, SALES_NUMBER, "Price?", "pm-a")
    assert first.created is True
    assert first.message.interaction_id is not None
    assert await demo.count(Interaction) == interactions + 1
    inter = await demo.interaction(first.message.interaction_id)
    # Q2: distributed at once to an available member of Sales (alice or bruno)
    assert inter.status == InteractionStatus.PROGRESSING
    assert inter.channel == Channel.SMS
    assert inter.queue_id == await demo.queue_id("Sales")
    assert inter.agent_id is not None
    assert inter.assigned_at == clock.now
    assert inter.remote_number == MOBILE
    assert inter.local_number == SALES_NUMBER
    assert inter.unread == 1
    assert inter.created_at == clock.now
    assert first.message.agent_id == inter.agent_id
    assert first.message.queue_id == inter.queue_id

    clock.now += timedelta(minutes=1)
    second = await services.inbound.receive(MOBILE, SALES_NUMBER, "Hello?", "pm-b")
    assert second.message.interaction_id == inter.id
    assert await demo.count(Interaction) == interactions + 1
    inter = await demo.interaction(inter.id)  # type: ignore[arg-type]
    assert inter.unread == 2
    assert inter.last_message_at == clock.now


async def test_inbound_does_not_join_a_closed_interaction(services: Services, demo: Demo) -> None:
    async with services.db.read() as session:
        closed = await session.scalar(
            sa.select(Interaction).where(Interaction.remote_number == THOMAS)
        )
    assert closed is not None
    assert closed.status == InteractionStatus.CLOSED
    result = await services.inbound.receive(THOMAS, SALES_NUMBER, "Signed!", "pm-t")
    assert result.message.interaction_id not in (None, closed.id)
    inter = await demo.interaction(result.message.interaction_id)  # type: ignore[arg-type]
    assert inter.status == InteractionStatus.PROGRESSING  # a new one, distributed (Q2)
    assert (await demo.interaction(closed.id)).unread == closed.unread  # type: ignore[arg-type]


async def test_inbound_same_sender_other_queue(services: Services, demo: Demo) -> None:
    # Léa has an open Support conversation; writing to Sales opens one there.
    inter = await _alice_open(services)
    result = await services.inbound.receive(LEA, SALES_NUMBER, "And a quote?", "pm-s")
    assert result.message.interaction_id != inter.id
    assert (await demo.interaction(inter.id)).unread == inter.unread  # type: ignore[arg-type]


@pytest.mark.parametrize("to", ["+33757000001", "+33612000077", "36180"])
async def test_inbound_to_unknown_number_lands_in_inbox(
    services: Services, demo: Demo, to: str
) -> None:
    interactions = await demo.count(Interaction)
    result = await services.inbound.receive(MOBILE, to, "Who is this?", f"pm-{to}")
    assert result.created is True
    msg = result.message
    assert msg.interaction_id is None
    assert msg.queue_id is None
    assert msg.agent_id is None
    assert msg.folder == Folder.RECEIVED
    assert msg.status == MessageStatus.RECEIVED
    assert await demo.count(Interaction) == interactions


async def test_inbound_alphanumeric_sender_and_unicode(services: Services) -> None:
    result = await services.inbound.receive("ACME Corp", "+33757000001", "Привет", "pm-u")
    assert result.message.from_number == "ACME Corp"
    assert result.message.encoding == "UCS-2"
    result = await services.inbound.receive("+" + "1" * 15, "+33757000001", "x", "pm-16")
    assert result.message.from_number == "+" + "1" * 15


async def test_inbound_duplicate_stored_once(services: Services, demo: Demo, clock: Any) -> None:
    first = await services.inbound.receive(LEA, SUPPORT_NUMBER, "Once", "pm-dup")
    inter = await demo.interaction(first.message.interaction_id)  # type: ignore[arg-type]
    before = await demo.snapshot()
    clock.now += timedelta(minutes=1)
    second = await services.inbound.receive(LEA, SUPPORT_NUMBER, "Once", "pm-dup")
    assert second.created is False
    assert second.message.id == first.message.id
    assert second.message.text == "Once"
    assert await demo.snapshot() == before
    assert await demo.count(Message, Message.provider_message_id == "pm-dup") == 1
    again = await demo.interaction(inter.id)  # type: ignore[arg-type]
    assert again.unread == inter.unread
    assert again.last_message_at == inter.last_message_at
    # Even with another text or addresses, the provider id decides.
    third = await services.inbound.receive(MOBILE, SALES_NUMBER, "Other", "pm-dup")
    assert third.created is False
    assert third.message.id == first.message.id
    assert await demo.snapshot() == before


@pytest.mark.parametrize(
    ("from_number", "to_number", "text", "provider_id"),
    [
        ("", SUPPORT_NUMBER, "x", "pm-x"),
        ("   ", SUPPORT_NUMBER, "x", "pm-x"),
        ("+" + "1" * 16, SUPPORT_NUMBER, "x", "pm-x"),  # 17 characters
        ("+3361\x002345678", SUPPORT_NUMBER, "x", "pm-x"),
        ("+33612\n345678", SUPPORT_NUMBER, "x", "pm-x"),
        ("+33612\x1b345678", SUPPORT_NUMBER, "x", "pm-x"),
        (MOBILE, "", "x", "pm-x"),
        (MOBILE, "+" + "7" * 16, "x", "pm-x"),
        (MOBILE, "+3375700\t0010", "x", "pm-x"),
        (MOBILE, SUPPORT_NUMBER, "x", ""),
        (MOBILE, SUPPORT_NUMBER, "x", "p" * 129),
        (MOBILE, SUPPORT_NUMBER, "x" * 10_001, "pm-x"),
    ],
    ids=[
        "empty-from",
        "blank-from",
        "17-char-from",
        "nul-from",
        "newline-from",
        "esc-from",
        "empty-to",
        "17-char-to",
        "tab-to",
        "empty-provider-id",
        "long-provider-id",
        "long-text",
    ],
)
async def test_invalid_inbound_writes_nothing(
    services: Services,
    demo: Demo,
    from_number: str,
    to_number: str,
    text: str,
    provider_id: str,
) -> None:
    before = await demo.snapshot()
    with pytest.raises(InvalidInbound) as exc:
        await services.inbound.receive(from_number, to_number, text, provider_id)
    assert exc.value.name == "Invalid inbound message"
    assert await demo.snapshot() == before


# --- delivery receipts ------------------------------------------------------------------


async def _sent(services: Services) -> Message:
    msg = await services.outbound.send_direct(Actor("chloe"), MOBILE, None, "b" * 161)  # 2 credits
    assert msg.ret_id is not None
    return msg


async def test_receipt_delivered(services: Services, demo: Demo, clock: Any) -> None:
    msg = await _sent(services)
    balance = await demo.balance()
    clock.now += timedelta(seconds=20)
    got = await services.inbound.record_receipt(msg.ret_id, "delivered")  # type: ignore[arg-type]
    assert got.id == msg.id
    stored = await demo.message(msg.id)  # type: ignore[arg-type]
    assert stored.status == MessageStatus.DELIVERED
    assert stored.folder == Folder.SENT
    assert stored.delivered_at == clock.now
    assert stored.sent_at is not None
    assert stored.error is None
    assert await demo.balance() == balance


async def test_receipt_failed_keeps_credits_spent(services: Services, demo: Demo) -> None:
    msg = await _sent(services)
    balance = await demo.balance()
    got = await services.inbound.record_receipt(
        msg.ret_id,  # type: ignore[arg-type]
        ReceiptStatus.FAILED,
        "Recipient handset unreachable",
    )
    assert got.status == MessageStatus.FAILED
    stored = await demo.message(msg.id)  # type: ignore[arg-type]
    assert stored.status == MessageStatus.FAILED
    assert stored.folder == Folder.FAILED
    assert stored.error == "Recipient handset unreachable"
    assert stored.delivered_at is None
    assert await demo.balance() == balance  # no refund


async def test_receipt_failed_without_reason_and_long_reason(
    services: Services, demo: Demo
) -> None:
    a = await _sent(services)
    b = await _sent(services)
    await services.inbound.record_receipt(a.ret_id, "failed")  # type: ignore[arg-type]
    await services.inbound.record_receipt(b.ret_id, "failed", "r" * 5000)  # type: ignore[arg-type]
    assert (await demo.message(a.id)).error  # type: ignore[arg-type]
    assert (await demo.message(b.id)).error == "r" * 1000  # type: ignore[arg-type]


async def test_duplicate_delivered_receipt_is_a_no_op(
    services: Services,
    demo: Demo,
    clock: Any,
) -> None:
    msg = await _sent(services)
    await services.inbound.record_receipt(msg.ret_id, "delivered")  # type: ignore[arg-type]
    first = await demo.message(msg.id)  # type: ignore[arg-type]
    before = await demo.snapshot()
    clock.now += timedelta(minutes=10)
    await services.inbound.record_receipt(msg.ret_id, "delivered")  # type: ignore[arg-type]
    again = await demo.message(msg.id)  # type: ignore[arg-type]
    assert again.delivered_at == first.delivered_at
    assert again.sent_at == first.sent_at
    assert await demo.snapshot() == before


async def test_duplicate_failed_receipt_is_a_no_op(services: Services, demo: Demo) -> None:
    msg = await _sent(services)
    await services.inbound.record_receipt(msg.ret_id, "failed", "first reason")  # type: ignore[arg-type]
    before = await demo.snapshot()
    await services.inbound.record_receipt(msg.ret_id, "failed", "second reason")  # type: ignore[arg-type]
    stored = await demo.message(msg.id)  # type: ignore[arg-type]
    assert stored.error == "first reason"
    assert stored.status == MessageStatus.FAILED
    assert await demo.snapshot() == before


async def test_late_failed_after_delivered_is_ignored(services: Services, demo: Demo) -> None:
    msg = await _sent(services)
    await services.inbound.record_receipt(msg.ret_id, "delivered")  # type: ignore[arg-type]
    before = await demo.snapshot()
    got = await services.inbound.record_receipt(msg.ret_id, "failed", "too late")  # type: ignore[arg-type]
    assert got.status == MessageStatus.DELIVERED
    stored = await demo.message(msg.id)  # type: ignore[arg-type]
    assert stored.status == MessageStatus.DELIVERED
    assert stored.folder == Folder.SENT
    assert stored.error is None
    assert await demo.snapshot() == before


async def test_receipt_unknown_ret_id(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(UnknownMessage) as exc:
        await services.inbound.record_receipt("0" * 32, "delivered")
    assert exc.value.name == "Unknown message"
    assert await demo.snapshot() == before


@pytest.mark.parametrize("status", ["read", "DELIVERED", "", "sent", "delivered "])
async def test_receipt_bad_status(services: Services, demo: Demo, status: str) -> None:
    msg = await _sent(services)
    before = await demo.snapshot()
    with pytest.raises(InvalidInbound):
        await services.inbound.record_receipt(msg.ret_id, status)  # type: ignore[arg-type]
    assert await demo.snapshot() == before
    assert (await demo.message(msg.id)).status == MessageStatus.PENDING  # type: ignore[arg-type]


async def test_bad_status_is_checked_before_the_ret_id(services: Services) -> None:
    with pytest.raises(InvalidInbound):
        await services.inbound.record_receipt("no-such-ret-id", "bogus")


async def test_a_text_joining_a_conversation_waits_for_a_mark_read_and_adds_to_it(
    services: Services, demo: Demo, backend: str
) -> None:
    """PostgreSQL: the inbound text locks the conversation it joins and reads it again, so a
    mark-read committing meanwhile is added to (1 unread), not overwritten (3)."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing runs meanwhile")
    inter = await _alice_open(services)
    await services.inbound.receive(LEA, SUPPORT_NUMBER, "One", "pm-race-1")
    assert (await demo.interaction(inter.id)).unread == 2  # type: ignore[arg-type]
    async with services.db.write() as session:  # alice reads: not committed yet
        await session.execute(
            sa.update(Interaction).where(Interaction.id == inter.id).values(unread=0)
        )
        text = asyncio.create_task(
            services.inbound.receive(LEA, SUPPORT_NUMBER, "Two", "pm-race-2")
        )
        await wait_for_a_lock_wait(services.db)  # not a fixed pause: it must have got there
        assert not text.done()  # it waits for the conversation's lock
    result = await asyncio.wait_for(text, WAIT_S)
    assert result.message.interaction_id == inter.id
    assert (await demo.interaction(inter.id)).unread == 1  # type: ignore[arg-type]


async def test_a_text_waiting_for_its_conversation_is_numbered_after_the_one_holding_it(
    services: Services, backend: str, clock: Any
) -> None:
    """PostgreSQL: an inbound text takes its id once it holds its conversation's lock, so
    the texts of one conversation are numbered — and shown — in the order they commit: one
    that waited never lands above a text the agent has already seen (it did when the id was
    taken before the lock, and bench/load's consoles missed it)."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing runs meanwhile")
    inter = await _alice_open(services)
    async with services.db.write() as session:  # another receiver, storing a text of it
        await session.execute(
            sa.select(Interaction.id)
            .where(Interaction.id == inter.id)
            .with_for_update(key_share=True)
        )
        waiting = asyncio.create_task(
            services.inbound.receive(LEA, SUPPORT_NUMBER, "Second", "pm-order-2")
        )
        await wait_for_a_lock_wait(services.db)  # not a fixed pause: it must have got there
        assert not waiting.done()  # it waits for the conversation
        first = Message(
            interaction_id=inter.id,
            queue_id=inter.queue_id,
            agent_id=inter.agent_id,
            direction=Direction.INBOUND,
            from_number=LEA,
            to_number=SUPPORT_NUMBER,
            remote_number=LEA,
            text="First",
            encoding="GSM7",
            credits=0,
            type=MessageType.NOTIFICATION,
            provider_message_id="pm-order-1",
            status=MessageStatus.RECEIVED,
            folder=Folder.RECEIVED,
            created_at=clock(),
        )
        session.add(first)
        await session.flush()
    second = (await asyncio.wait_for(waiting, WAIT_S)).message
    assert second.interaction_id == inter.id
    assert (second.id or 0) > (first.id or 0)
    page = await services.conversations.thread(Actor("alice"), inter.id or 0)
    assert [m.text for m in page.messages[-2:]] == ["First", "Second"]
