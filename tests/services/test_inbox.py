"""SPEC I1–I7, I9 (and X2, X4): the SMS inbox service, on SQLite and PostgreSQL.

The demo data (src/bannertui/store/demo.toml), seeded at SEED_NOW, holds eight messages:

====  ========  ================  =========  ==================================
 id   dir       other party       view       note
====  ========  ================  =========  ==================================
 1    inbound   +33612000001 Léa  received   "Hello, my order #4521 …"
 2    outbound  +33612000001 Léa  sent       delivered
 3    inbound   +33612000001 Léa  received
 4    outbound  +33612000002 Tom  sent       delivered (the oldest: 300 min ago)
 5    inbound   +33612000002 Tom  received
 6    outbound  +33612000003 Inès sent       delivered
 7    outbound  +33612000004      failed     "Recipient handset unreachable"
 8    inbound   +33612000005      received   no contact
====  ========  ================  =========  ==================================

Agents: alice (Direct and Smart; FR BE CH ES DE GB; senders +33757000001, +33757000002),
bruno (Smart only), chloe (Direct only; FR; +33757000001), david (no outgoing messaging).
The account starts with 500 credits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col
from svc_helpers import Demo

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction, Folder, MessageStatus, MessageType, folder_for
from bannertui.domain.errors import (
    BannerError,
    CountryNotAuthorized,
    CreditLimitExceeded,
    EmptyMessage,
    InsufficientCredits,
    InvalidNumber,
    InvalidSchedule,
    NoDirectPermission,
    NoMessagingPermission,
    NoProviderConfigured,
    NoSenderNumber,
    NotAllowed,
    UnknownAgent,
    UnknownContact,
    UnknownMessage,
)
from bannertui.domain.sms import measure
from bannertui.services import Services, accounts
from bannertui.services.dispatch import Dispatcher
from bannertui.services.inbox import (
    MAX_RECIPIENTS,
    PAGE,
    RESEND_CHUNK,
    VIEW_LABELS,
    InboxFilter,
    InboxRow,
    PageKey,
    Rejected,
    View,
)
from bannertui.services.outbox import fail_permanently, mark_sent
from bannertui.store.database import Database
from bannertui.store.models import AuditEvent, Message, Profile, ProfileSmsNumber

#: Who reads and acts on the seeded messages: an administrator sees the whole account inbox
#: (an agent only their scope: tests/services/test_scope.py), with alice's two sender numbers.
READER = Actor("admin")
LEA = "+33612000001"
THOMAS = "+33612000002"
INES = "+33612000003"
UNKNOWN_4 = "+33612000004"
STRANGER = "+33612000005"
JAN = "+32470123456"  # BE, a contact without a group
NINA = "+41781234567"  # CH, in Newsletter
PARIS = "+33757000001"  # alice's first sender, chloe's only one
LYON = "+33757000002"  # alice's second sender
SUPPORT = "+33757000010"  # a queue's number, in no agent profile
LANDLINE = "+33 1 23 45 67 89"
START_CREDITS = 500
SEEDED_IDS = {1, 2, 3, 4, 5, 6, 7, 8}
#: The seeded messages newest first: stored out of time order (4 and 5 are the oldest).
SEEDED_BY_TIME = [8, 3, 2, 1, 7, 6, 5, 4]
SEEDED_VIEW = {
    1: View.RECEIVED,
    2: View.SENT,
    3: View.RECEIVED,
    4: View.SENT,
    5: View.RECEIVED,
    6: View.SENT,
    7: View.FAILED,
    8: View.RECEIVED,
}
FOLDER_VIEWS = (View.RECEIVED, View.SENT, View.FAILED, View.PENDING, View.NOT_TRIGGERED)


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py)."""
    return fast_seeded


# --- helpers ---------------------------------------------------------------------------


def mobile(i: int) -> str:
    """A French mobile number no demo row uses (+33 6 13 …)."""
    return f"+336130{i:05d}"


async def ids_in(services: Services, view: View, **kw: Any) -> list[int]:
    """Every id of the view, paging with the service's own keys."""
    out: list[int] = []
    after: PageKey | None = None
    while True:
        page = await services.inbox.page(READER, view, after=after, **kw)
        assert page.view is view
        out += [r.id for r in page.rows]
        if page.next_after is None:
            return out
        assert page.rows, "a page with a next key must not be empty"
        assert page.next_after == PageKey.of(page.rows[-1])
        after = page.next_after


async def find(services: Services, view: View = View.ALL, **filters: Any) -> set[int]:
    return set(await ids_in(services, view, limit=1000, filters=InboxFilter(**filters)))


async def send_one(services: Services, to: str, text: str = "Hello", **kw: Any) -> int:
    report = await services.inbox.send(Actor("alice"), [to], text, **kw)
    (mid,) = report.message_ids
    return mid


async def fail(services: Services, mid: int, reason: str = "HTTP 400: unknown subscriber") -> None:
    async with services.db.write() as session:
        assert await fail_permanently(session, mid, reason, services.inbox.clock())


async def sent(services: Services, mid: int) -> None:
    async with services.db.write() as session:
        assert await mark_sent(session, mid, services.inbox.clock())


async def receive(services: Services, from_: str, text: str, to: str = PARIS) -> int:
    result = await services.inbound.receive(from_, to, text, f"pid-{uuid.uuid4().hex}")
    assert result.message.id is not None
    return result.message.id


async def blocked(
    services: Services, remote: str, direction: str = Direction.OUTBOUND, reason: str = "Opt-out"
) -> int:
    """A message refused by a blacklist, an opt-out or a rule (no service writes them yet)."""
    inbound = direction == Direction.INBOUND
    msg = Message(
        direction=direction,
        from_number=remote if inbound else PARIS,
        to_number=PARIS if inbound else remote,
        remote_number=remote,
        text="Blocked text",
        encoding=measure("Blocked text").encoding.value,
        credits=0,
        type=MessageType.NOTIFICATION,
        ret_id=None if inbound else uuid.uuid4().hex,
        status=MessageStatus.BLOCKED,
        folder=folder_for(direction, MessageStatus.BLOCKED),
        error=reason,
        created_at=services.inbox.clock(),
    )
    async with services.db.write() as session:
        session.add(msg)
        await session.flush()
        assert msg.id is not None
        return msg.id


async def claim_one(services: Services) -> int:
    """Put the oldest due message in ``sending`` (as a dispatcher does)."""
    claimed = await Dispatcher(services.db, provider=None, clock=services.inbox.clock).claim(1)  # type: ignore[arg-type]
    (c,) = claimed
    return c.id


async def messages(services: Services, ids: list[int]) -> dict[int, Message]:
    async with services.db.read() as session:
        rows = await session.scalars(sa.select(Message).where(col(Message.id).in_(ids)))
        return {m.id: m for m in rows.all() if m.id is not None}


def detail(event: AuditEvent) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(event.detail)
    return value


async def contact_id(services: Services, number: str) -> int:
    row = await services.people.contact_by_number(READER, number)
    assert row is not None
    return row.id


async def group_id(services: Services, name: str) -> int:
    return next(g.id for g in await services.people.groups(READER) if g.name == name)


async def many_failed(services: Services, demo: Demo, n: int, credits_after: int) -> list[int]:
    """``n`` failed 1-credit outbound messages (refunded, as a dispatcher leaves them), then a
    balance of ``credits_after``."""
    now = services.inbox.clock()
    rows = [
        Message(
            direction=Direction.OUTBOUND,
            from_number=PARIS,
            to_number=mobile(i),
            remote_number=mobile(i),
            text=f"Bulk {i}",
            encoding=measure(f"Bulk {i}").encoding.value,
            credits=1,
            type=MessageType.NOTIFICATION,
            sender=PARIS,
            ret_id=uuid.uuid4().hex,
            status=MessageStatus.FAILED,
            folder=Folder.FAILED,
            error="HTTP 400: refused",
            attempts=3,
            created_at=now,
        )
        for i in range(n)
    ]
    async with services.db.write() as session:
        session.add_all(rows)
        await session.flush()
    await demo.set_account(credits=credits_after)
    return sorted(m.id for m in rows if m.id is not None)


# --- I1: views and counts ----------------------------------------------------------------


def test_view_labels_are_the_spec_names() -> None:
    assert [VIEW_LABELS[v] for v in View] == [
        "All communications",
        "SMS received",
        "SMS sent",
        "SMS failed",
        "SMS pending",
        "Did not trigger",
        "Deleted communications",
    ]
    assert View.NOT_TRIGGERED.label == "Did not trigger"


async def test_seeded_views_and_counts(services: Services) -> None:
    counts = await services.inbox.counts(READER)
    assert counts == {
        View.ALL: 8,
        View.RECEIVED: 4,
        View.SENT: 3,
        View.FAILED: 1,
        View.PENDING: 0,
        View.NOT_TRIGGERED: 0,
        View.DELETED: 0,
    }
    for view in FOLDER_VIEWS:
        assert set(await ids_in(services, view)) == {i for i, v in SEEDED_VIEW.items() if v is view}
    failed = (await services.inbox.page(READER, View.FAILED)).rows[0]
    assert (failed.id, failed.status, failed.error) == (
        7,
        MessageStatus.FAILED,
        "Recipient handset unreachable",
    )


@dataclass
class World:
    """Messages in every state: name -> id, and the view each id must be in."""

    ids: dict[str, int] = field(default_factory=dict)
    view: dict[int, View] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    #: The view a deleted message returns to.
    home: dict[int, View] = field(default_factory=dict)


@pytest.fixture
async def world(services: Services, clock: Any) -> World:
    w = World(view=dict(SEEDED_VIEW), home=dict(SEEDED_VIEW))

    def tick() -> None:
        clock.now += timedelta(minutes=1)

    async def add(name: str, mid: int, view: View) -> None:
        w.ids[name] = mid
        w.view[mid] = view
        w.home[mid] = view
        tick()

    # sending first: a dispatcher claims the oldest due message
    mid = await send_one(services, mobile(1), "sending")
    assert await claim_one(services) == mid
    await add("sending", mid, View.PENDING)
    await add("pending", await send_one(services, mobile(2), "pending"), View.PENDING)
    at = clock.now + timedelta(hours=1)
    await add(
        "scheduled", await send_one(services, mobile(3), "later", scheduled_at=at), View.PENDING
    )
    mid = await send_one(services, mobile(4), "sent")
    await sent(services, mid)
    await add("sent", mid, View.SENT)
    mid = await send_one(services, mobile(5), "delivered")
    await sent(services, mid)
    await services.inbound.record_receipt(
        (await messages(services, [mid]))[mid].ret_id or "", "delivered"
    )
    await add("delivered", mid, View.SENT)
    mid = await send_one(services, mobile(6), "refused")
    await fail(services, mid, "HTTP 400: unknown subscriber")
    await add("failed", mid, View.FAILED)
    mid = await send_one(services, mobile(7), "undelivered")
    await sent(services, mid)
    await services.inbound.record_receipt(
        (await messages(services, [mid]))[mid].ret_id or "", "failed", "Handset off"
    )
    await add("failed_on_delivery", mid, View.FAILED)
    await add("received", await receive(services, mobile(8), "Hi there"), View.RECEIVED)
    await add("blocked_out", await blocked(services, mobile(9)), View.NOT_TRIGGERED)
    await add(
        "blocked_in", await blocked(services, mobile(10), Direction.INBOUND), View.NOT_TRIGGERED
    )
    # deleted ones, from several views
    await add("deleted_received", await receive(services, mobile(11), "gone"), View.RECEIVED)
    await add("deleted_pending", await send_one(services, mobile(12), "gone"), View.PENDING)
    mid = await send_one(services, mobile(13), "gone")
    await fail(services, mid)
    await add("deleted_failed", mid, View.FAILED)
    mid = await send_one(services, mobile(14), "gone")
    await sent(services, mid)
    await add("deleted_sent", mid, View.SENT)
    await add("deleted_blocked", await blocked(services, mobile(15)), View.NOT_TRIGGERED)
    gone = [mid for name, mid in w.ids.items() if name.startswith("deleted_")]
    assert await services.inbox.delete(READER, gone) == len(gone)
    for mid in gone:
        w.view[mid] = View.DELETED
        w.deleted.add(mid)
    return w


def expected(w: World, view: View) -> set[int]:
    if view is View.DELETED:
        return set(w.deleted)
    if view is View.ALL:
        return set(w.view) - w.deleted
    return {mid for mid, v in w.view.items() if v is view}


async def test_each_state_is_in_exactly_its_views(services: Services, world: World) -> None:
    st = await messages(services, list(world.ids.values()))
    assert st[world.ids["sending"]].status == MessageStatus.SENDING
    assert st[world.ids["scheduled"]].status == MessageStatus.SCHEDULED
    assert st[world.ids["delivered"]].status == MessageStatus.DELIVERED
    assert st[world.ids["blocked_in"]].status == MessageStatus.BLOCKED

    counts = await services.inbox.counts(READER)
    members: dict[View, set[int]] = {}
    for view in View:
        got = await ids_in(services, view, limit=1000)
        assert len(got) == len(set(got)), view
        members[view] = set(got)
        assert members[view] == expected(world, view), view
        assert counts[view] == len(got), view
    # each non-deleted message is in ALL and in exactly one folder view; a deleted one only
    # in DELETED
    for mid in world.view:
        holding = {v for v in View if mid in members[v]}
        if mid in world.deleted:
            assert holding == {View.DELETED}, mid
        else:
            assert holding == {View.ALL, world.home[mid]}, mid
    assert counts[View.ALL] == sum(counts[v] for v in FOLDER_VIEWS)
    assert counts[View.ALL] + counts[View.DELETED] == len(world.view)


async def test_rows_say_their_state_and_reason(services: Services, world: World) -> None:
    rows = {r.id: r for r in (await services.inbox.page(READER, View.ALL, limit=1000)).rows}
    rows |= {r.id: r for r in (await services.inbox.page(READER, View.DELETED, limit=1000)).rows}
    ids = world.ids
    assert rows[ids["failed"]].error == "HTTP 400: unknown subscriber"
    assert rows[ids["failed_on_delivery"]].error == "Handset off"
    assert rows[ids["failed_on_delivery"]].status == MessageStatus.FAILED
    assert rows[ids["blocked_out"]].status == MessageStatus.BLOCKED
    assert rows[ids["blocked_out"]].error == "Opt-out"
    assert rows[ids["delivered"]].delivered_at is not None
    assert rows[ids["sent"]].sent_at is not None
    assert rows[ids["scheduled"]].scheduled_at is not None
    assert rows[ids["received"]].direction == Direction.INBOUND
    assert rows[ids["received"]].remote_number == mobile(8)
    assert rows[ids["pending"]].remote_number == mobile(2)
    assert rows[ids["pending"]].from_number == PARIS
    for mid in world.view:
        row = rows[mid]
        assert row.deleted is (mid in world.deleted)
        # a deleted row still says the view it returns to
        assert row.view is world.home[mid]


async def test_counts_equal_the_pages_for_every_limit(services: Services, world: World) -> None:
    counts = await services.inbox.counts(READER)
    for limit in (1, 2, 3, 7):
        for view in View:
            assert len(await ids_in(services, view, limit=limit)) == counts[view], (view, limit)


async def test_counts_and_pages_need_a_known_agent(services: Services) -> None:
    with pytest.raises(UnknownAgent):
        await services.inbox.counts(Actor("nobody"))
    with pytest.raises(UnknownAgent):
        await services.inbox.page(Actor("nobody"), View.ALL)
    with pytest.raises(UnknownAgent):
        await services.inbox.message(Actor("nobody"), 1)


async def test_agents_see_their_scope_supervisors_the_account(services: Services) -> None:
    """SPEC X6 (the rule itself is tested in test_scope.py): alice and bruno, both in Support
    and Sales, see the same messages; david, in no queue and with no send, sees none;
    supervisors see the account's."""
    alice = set(await services.inbox.view_ids(Actor("alice"), View.ALL))
    bruno = set(await services.inbox.view_ids(Actor("bruno"), View.ALL))
    assert bruno < alice  # alice also sees her own Direct send (the failed #7)
    assert alice - bruno == {7}
    assert (await services.inbox.page(Actor("david"), View.ALL)).rows == ()
    page = await services.inbox.page(Actor("sam"), View.ALL)
    assert {r.id for r in page.rows} == SEEDED_IDS


async def test_message_by_id(services: Services) -> None:
    row = await services.inbox.message(READER, 1)
    assert row.text == "Hello, my order #4521 has not arrived yet."
    assert row.contact_name == "Léa Moreau"
    assert row.who == "Léa Moreau"
    assert row.view is View.RECEIVED
    stranger = await services.inbox.message(READER, 8)
    assert stranger.contact_name is None
    assert stranger.who == STRANGER
    with pytest.raises(UnknownMessage):
        await services.inbox.message(READER, 987654)


# --- paging ------------------------------------------------------------------------------


async def test_pages_newest_first_each_message_once(services: Services, clock: Any) -> None:
    made = []
    for i in range(23):
        clock.now += timedelta(seconds=30)
        made.append(await send_one(services, mobile(i), f"Message {i}"))
    all_ids = await ids_in(services, View.ALL, limit=5)
    assert all_ids == sorted(made, reverse=True) + SEEDED_BY_TIME
    # 31 rows by 5: 7 pages, the last one short and without a next key
    pages = []
    after = None
    while True:
        page = await services.inbox.page(READER, View.ALL, after=after, limit=5)
        pages.append(page)
        if page.next_after is None:
            break
        after = page.next_after
    assert [len(p.rows) for p in pages] == [5, 5, 5, 5, 5, 5, 1]
    # newest first: by creation time too, for messages made one after the other
    pending = (await services.inbox.page(READER, View.PENDING, limit=100)).rows
    assert [r.id for r in pending] == sorted(made, reverse=True)
    times = [r.created_at for r in pending]
    assert all(t is not None for t in times)
    assert times == sorted(times, reverse=True)  # type: ignore[type-var]


async def test_the_inbox_is_in_time_order_not_in_the_order_stored(services: Services) -> None:
    # Issue #19: the seeded messages 4 and 5 (05:00, 05:10) were stored after 1-3 (09:18-
    # 09:22) and were listed above them.
    page = await services.inbox.page(READER, View.ALL)
    assert [r.id for r in page.rows] == SEEDED_BY_TIME
    times = [r.created_at for r in page.rows]
    assert times == sorted(times, reverse=True)  # type: ignore[type-var]
    # and page by page alike, ties broken by id
    assert await ids_in(services, View.ALL, limit=3) == SEEDED_BY_TIME
    assert await services.inbox.view_ids(READER, View.ALL) == SEEDED_BY_TIME


async def test_same_time_rows_page_by_id_without_loss_or_repeat(
    services: Services, clock: Any
) -> None:
    await demo_credits(services, 1000)
    made = [await send_one(services, mobile(i), f"Same second {i}") for i in range(7)]
    pages = await ids_in(services, View.PENDING, limit=2)
    assert pages == sorted(made, reverse=True)


async def test_a_full_last_page_has_no_next_key(services: Services) -> None:
    page = await services.inbox.page(READER, View.RECEIVED, limit=4)
    assert len(page.rows) == 4
    assert page.next_after is None
    page = await services.inbox.page(READER, View.RECEIVED, limit=3)
    assert [r.id for r in page.rows] == [8, 3, 1]
    assert page.next_after == PageKey.of(page.rows[2])
    rest = await services.inbox.page(READER, View.RECEIVED, after=page.next_after, limit=3)
    assert [r.id for r in rest.rows] == [5]
    assert rest.next_after is None


async def test_default_limit(services: Services) -> None:
    many = [mobile(i) for i in range(PAGE + 5)]
    await demo_credits(services, 1000)
    await services.inbox.send(Actor("alice"), many[:15], "Bulk")
    await services.inbox.send(Actor("alice"), many[15:30], "Bulk")
    await services.inbox.send(Actor("alice"), many[30:45], "Bulk")
    await services.inbox.send(Actor("alice"), many[45:], "Bulk")
    page = await services.inbox.page(READER, View.ALL)
    assert len(page.rows) == PAGE
    assert page.next_after == PageKey.of(page.rows[-1])


async def demo_credits(services: Services, credits: int) -> None:
    await Demo(services.db).set_account(credits=credits)


async def test_empty_view(services: Services) -> None:
    page = await services.inbox.page(READER, View.PENDING)
    assert page.rows == ()
    assert page.next_after is None
    page = await services.inbox.page(READER, View.DELETED)
    assert page.rows == ()
    assert page.next_after is None


async def test_after_a_key_that_is_no_longer_there(services: Services) -> None:
    # the key is a time and an id: paging goes on even when the row it came from was deleted
    page = await services.inbox.page(READER, View.RECEIVED, limit=2)
    assert [r.id for r in page.rows] == [8, 3]
    await services.inbox.delete(READER, [3])
    rest = await services.inbox.page(READER, View.RECEIVED, after=page.next_after)
    assert [r.id for r in rest.rows] == [1, 5]
    oldest = (await services.inbox.page(READER, View.ALL, limit=100)).rows[-1]
    beyond = await services.inbox.page(READER, View.ALL, after=PageKey.of(oldest))
    assert beyond.rows == ()
    assert beyond.next_after is None


# --- I9: filters -------------------------------------------------------------------------


async def test_filter_by_number_digits(services: Services) -> None:
    jan = await receive(services, JAN, "Hallo")
    assert await find(services, number="612 00") == SEEDED_IDS  # every demo number
    assert await find(services, number="+33 6 12 00 00 01") == {1, 2, 3}
    assert await find(services, number="0000 05") == {8}
    assert await find(services, number="470-12") == {jan}
    assert await find(services, number="(0032) 470") == set()  # the digits must be there
    assert await find(services, number="abc") == set()  # no digit: no number matches
    assert await find(services, number="+") == set()
    assert await find(services, number="  ") == SEEDED_IDS | {jan}  # blank: ignored
    assert await find(services, number="") == SEEDED_IDS | {jan}


async def test_filter_by_number_matches_the_other_party_only(services: Services) -> None:
    # PARIS (+33757000001) is our own number in every message: searching it finds nothing
    assert await find(services, number="757000001") == set()


async def test_filter_by_contact_words(services: Services) -> None:
    assert await find(services, contact="léa") == {1, 2, 3}
    assert await find(services, contact="MOREAU") == {1, 2, 3}
    assert await find(services, contact="Moreau SARL") == {1, 2, 3}  # company
    assert await find(services, contact="lea.moreau@example") == {1, 2, 3}  # email
    assert await find(services, contact="bern") == {4, 5}
    assert await find(services, contact="léa bernard") == set()  # every word must match
    assert await find(services, contact="Inès") == {6}
    assert await find(services, contact="nobody") == set()
    assert await find(services, contact="%") == set()
    assert await find(services, contact="_") == set()
    assert await find(services, contact="   ") == SEEDED_IDS


async def test_contact_made_later_names_old_messages(services: Services) -> None:
    before = await services.inbox.page(READER, View.RECEIVED)
    assert next(r for r in before.rows if r.id == 8).contact_name is None
    await services.people.create_contact(
        Actor("admin"), first_name="Zoé", last_name="Martin", number=STRANGER, company="ACME"
    )
    assert await find(services, contact="zoé") == {8}
    assert await find(services, contact="acme") == {8}
    after = await services.inbox.page(READER, View.RECEIVED)
    rows = {r.id: r for r in after.rows}
    assert rows[8].contact_name == "Zoé Martin"
    assert rows[8].who == "Zoé Martin"
    assert rows[1].contact_name == "Léa Moreau"
    # a contact with only a company has no name: the number stands in
    await services.people.create_contact(Actor("admin"), number=UNKNOWN_4, company="Only Co")
    failed = (await services.inbox.page(READER, View.FAILED)).rows[0]
    assert failed.contact_name is None
    assert failed.who == UNKNOWN_4
    assert await find(services, contact="only co") == {7}


async def test_filter_by_text(services: Services) -> None:
    pct = await send_one(services, mobile(1), "We are 100% sure")
    plain = await send_one(services, mobile(2), "We are 100 sure")
    under = await send_one(services, mobile(3), "ref a_b")
    other = await send_one(services, mobile(4), "ref axb")
    slash = await send_one(services, mobile(5), "path c:\\temp")
    assert await find(services, text="ORDER #4521") == {1}
    assert await find(services, text="order") == {1}
    assert await find(services, text="hello") == {1, 2}
    assert await find(services, text="100%") == {pct}
    assert await find(services, text="100") == {pct, plain}
    assert await find(services, text="%") == {pct}
    assert await find(services, text="a_b") == {under}
    assert await find(services, text="_") == {under}
    assert await find(services, text="ref a") == {under, other}
    assert await find(services, text="\\") == {slash}
    assert await find(services, text="c:\\t") == {slash}
    assert await find(services, text="no such words") == set()


async def test_filter_by_text_without_ascii_case(
    services: Services, backend: str, request: pytest.FixtureRequest
) -> None:
    """Case-insensitive holds for accented letters too: a French inbox."""
    loud = await send_one(services, mobile(1), "RAPPEL : ÉTÉ 2027")
    quiet = await send_one(services, mobile(2), "rappel : été 2027")
    assert await find(services, text="rappel") == {loud, quiet}
    assert await find(services, text="été") == {loud, quiet}
    assert await find(services, text="ÉTÉ") == {loud, quiet}


async def test_filter_by_contact_without_ascii_case(
    services: Services, backend: str, request: pytest.FixtureRequest
) -> None:
    await services.people.create_contact(
        Actor("admin"), first_name="Élodie", last_name="Durand", number=STRANGER
    )
    assert await find(services, contact="Élodie") == {8}
    assert await find(services, contact="élodie") == {8}


async def test_filter_by_date(services: Services, clock: Any) -> None:
    t0 = clock.now + timedelta(minutes=1)
    made = {}
    for i in range(4):
        clock.now = t0 + timedelta(minutes=10 * i)
        made[i] = await send_one(services, mobile(i), f"at {i}")
    t1, t2 = t0 + timedelta(minutes=10), t0 + timedelta(minutes=20)
    assert await find(services, since=t1) == {made[1], made[2], made[3]}  # since included
    assert await find(services, until=t2) == SEEDED_IDS | {made[0], made[1]}  # until excluded
    assert await find(services, since=t1, until=t2) == {made[1]}
    assert await find(services, since=t1, until=t1) == set()
    assert await find(services, since=t2 + timedelta(microseconds=1)) == {made[3]}
    # the same instants in another time zone
    paris = timezone(timedelta(hours=1))
    assert await find(services, since=t1.astimezone(paris), until=t2.astimezone(paris)) == {made[1]}
    # the demo history: 40 and 38 minutes before SEED_NOW are messages 2 and 3
    seed_now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert await find(
        services, since=seed_now - timedelta(minutes=40), until=seed_now - timedelta(minutes=38)
    ) == {2}


async def test_filters_combine_with_each_other_and_the_views(services: Services) -> None:
    assert await find(services, View.SENT, number="612") == {2, 4, 6}
    assert await find(services, View.RECEIVED, contact="léa") == {1, 3}
    assert await find(services, View.SENT, contact="léa") == {2}
    assert await find(services, View.FAILED, contact="léa") == set()
    assert await find(services, View.ALL, contact="léa", text="thanks") == {3}
    assert await find(services, View.ALL, number="000001", text="thanks") == {3}
    assert await find(services, View.ALL, number="000002", text="thanks") == set()
    seed_now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert await find(services, View.RECEIVED, since=seed_now - timedelta(hours=1)) == {1, 3, 8}
    # filters apply to the deleted view too
    await services.inbox.delete(READER, [1, 2, 5])
    assert await find(services, View.DELETED, contact="léa") == {1, 2}
    assert await find(services, View.DELETED, text="sign it") == {5}
    assert await find(services, View.ALL, contact="léa") == {3}
    # filtered pages page like the others
    ids = await ids_in(services, View.ALL, limit=1, filters=InboxFilter(number="612"))
    assert ids == [8, 3, 7, 6, 4]  # newest first


def test_filter_emptiness() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert InboxFilter().empty
    assert InboxFilter(number="  ", contact=" ").empty
    assert not InboxFilter(number="abc").empty
    assert not InboxFilter(contact="léa").empty
    assert not InboxFilter(text=" ").empty
    assert not InboxFilter(since=now).empty
    assert not InboxFilter(until=now).empty


# --- I5: delete and restore --------------------------------------------------------------


async def test_delete_and_restore_round_trip(
    services: Services, world: World, demo: Demo, clock: Any
) -> None:
    live = [mid for mid in world.view if mid not in world.deleted]
    before = await services.inbox.counts(READER)
    clock.now += timedelta(minutes=5)
    assert await services.inbox.delete(READER, live) == len(live)
    counts = await services.inbox.counts(READER)
    assert counts[View.DELETED] == len(world.view)
    assert all(counts[v] == 0 for v in (View.ALL, *FOLDER_VIEWS))
    stored = await messages(services, live)
    for mid in live:
        assert stored[mid].deleted is True
        assert stored[mid].deleted_from == world.home[mid].value
        assert stored[mid].deleted_at == clock.now
        assert stored[mid].folder == world.home[mid].value  # the folder stays

    everything = list(world.view)
    assert await services.inbox.restore(READER, everything) == len(everything)
    counts = await services.inbox.counts(READER)
    assert counts[View.DELETED] == 0
    assert counts[View.ALL] == len(world.view)
    for view in FOLDER_VIEWS:
        want = {mid for mid, home in world.home.items() if home is view}
        assert set(await ids_in(services, view)) == want, view
        assert counts[view] == len(want)
    assert counts[View.ALL] == before[View.ALL] + before[View.DELETED]
    stored = await messages(services, everything)
    assert all(not m.deleted and m.deleted_from is None for m in stored.values())
    assert all(m.deleted_at is None for m in stored.values())


async def test_delete_one_moves_one_count(services: Services) -> None:
    before = await services.inbox.counts(READER)
    assert await services.inbox.delete(READER, [7]) == 1
    after = await services.inbox.counts(READER)
    assert after[View.FAILED] == before[View.FAILED] - 1
    assert after[View.ALL] == before[View.ALL] - 1
    assert after[View.DELETED] == before[View.DELETED] + 1
    assert {v: after[v] for v in (View.RECEIVED, View.SENT, View.PENDING)} == {
        v: before[v] for v in (View.RECEIVED, View.SENT, View.PENDING)
    }
    deleted = (await services.inbox.page(READER, View.DELETED)).rows
    assert [(r.id, r.view) for r in deleted] == [(7, View.FAILED)]
    assert await services.inbox.restore(READER, [7]) == 1
    assert await services.inbox.counts(READER) == before
    assert 7 in await ids_in(services, View.FAILED)


async def test_deleting_twice_counts_once(services: Services, demo: Demo, clock: Any) -> None:
    first_at = clock.now
    assert await services.inbox.delete(READER, [1, 2, 2, 1]) == 2
    clock.now += timedelta(minutes=3)
    assert await services.inbox.delete(READER, [1, 2]) == 0
    assert await services.inbox.delete(READER, [2, 3]) == 1
    counts = await services.inbox.counts(READER)
    assert counts[View.DELETED] == 3
    assert counts[View.ALL] == 5
    assert (await demo.message(1)).deleted_at == first_at  # the first deletion's time stays
    assert (await demo.message(1)).deleted_from == Folder.RECEIVED


async def test_restoring_a_message_not_deleted_changes_nothing(
    services: Services, demo: Demo
) -> None:
    counts = await services.inbox.counts(READER)
    rows = (await services.inbox.page(READER, View.ALL)).rows
    assert await services.inbox.restore(READER, [1, 7, 8]) == 0
    assert await services.inbox.counts(READER) == counts
    assert (await services.inbox.page(READER, View.ALL)).rows == rows


async def test_unknown_ids_are_left_out(services: Services) -> None:
    assert await services.inbox.delete(READER, [987654]) == 0
    assert await services.inbox.delete(READER, [987654, 8]) == 1
    assert await services.inbox.restore(READER, [987654, 8]) == 1


async def test_delete_and_restore_are_audited(services: Services, demo: Demo, clock: Any) -> None:
    await services.inbox.delete(READER, [3, 1])
    clock.now += timedelta(minutes=1)
    await services.inbox.restore(Actor("sam"), [1])
    (deleted,) = await demo.audit("sms.deleted")
    assert deleted.actor == "admin"
    assert deleted.target == "message:1,3"
    assert detail(deleted) == {"count": 2}
    assert deleted.at == clock.now - timedelta(minutes=1)
    (restored,) = await demo.audit("sms.restored")
    assert restored.actor == "sam"
    assert restored.target == "message:1"
    assert detail(restored) == {"count": 1}
    assert restored.at == clock.now


async def test_empty_selection_is_refused(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(NotAllowed):
        await services.inbox.delete(READER, [])
    with pytest.raises(NotAllowed):
        await services.inbox.restore(READER, [])
    with pytest.raises(NotAllowed):
        await services.inbox.resend_failed(READER, [])
    with pytest.raises(NotAllowed):
        await services.inbox.reply(READER, [], "Hi")
    assert await demo.snapshot() == before


async def test_delete_needs_the_messaging_permission(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(NoMessagingPermission):
        await services.inbox.delete(Actor("david"), [1])
    with pytest.raises(UnknownAgent):
        await services.inbox.delete(Actor("nobody"), [1])
    assert await demo.snapshot() == before
    assert (await demo.message(1)).deleted is False


async def test_a_deleted_pending_message_restores_to_where_its_status_went(
    services: Services, demo: Demo
) -> None:
    mid = await send_one(services, mobile(1))
    assert await services.inbox.delete(READER, [mid]) == 1
    await sent(services, mid)  # deleting never cancels a send
    assert mid in await ids_in(services, View.DELETED)
    assert mid not in await ids_in(services, View.SENT)
    assert (await demo.message(mid)).deleted_from == Folder.PENDING
    assert await services.inbox.restore(READER, [mid]) == 1
    assert mid in await ids_in(services, View.SENT)
    assert mid not in await ids_in(services, View.PENDING)


async def test_delete_more_than_a_chunk(services: Services, demo: Demo) -> None:
    ids = await many_failed(services, demo, RESEND_CHUNK + 20, START_CREDITS)
    assert await services.inbox.delete(READER, ids) == len(ids)
    counts = await services.inbox.counts(READER)
    assert counts[View.DELETED] == len(ids)
    assert counts[View.FAILED] == 1
    assert await services.inbox.restore(READER, ids) == len(ids)
    assert (await services.inbox.counts(READER))[View.FAILED] == len(ids) + 1
    (event, _) = await demo.audit("sms.deleted") + await demo.audit("sms.restored")
    assert event.target.endswith(f"… ({len(ids)})")
    assert len(event.target) <= 200


# --- I6: resend failed ---------------------------------------------------------------------


async def test_resend_failed_requeues_with_the_same_ret_id(
    services: Services, demo: Demo, clock: Any
) -> None:
    mid = await send_one(services, mobile(1), "c" * 161)  # 2 credits
    assert await services.accounts.balance(READER) == START_CREDITS - 2
    claimed = await claim_one(services)
    assert claimed == mid
    await fail(services, mid, "HTTP 400: unknown subscriber")
    assert await services.accounts.balance(READER) == START_CREDITS  # refunded
    original = await demo.message(mid)
    assert original.attempts == 1

    clock.now += timedelta(minutes=7)
    before = await services.inbox.counts(READER)
    report = await services.inbox.resend_failed(READER, [mid])
    assert (report.requeued, report.skipped, report.credits, report.stopped) == (1, 0, 2, None)
    assert report.ids == [mid]
    assert await services.accounts.balance(READER) == START_CREDITS - 2  # debited again
    again = await demo.message(mid)
    assert again.status == MessageStatus.PENDING
    assert again.folder == Folder.PENDING
    assert again.ret_id == original.ret_id
    assert again.attempts == 0
    assert again.error is None
    assert again.next_attempt_at == clock.now
    assert again.claimed_by is None
    assert again.claimed_at is None
    assert again.text == original.text
    assert again.credits == 2
    after = await services.inbox.counts(READER)
    assert after[View.FAILED] == before[View.FAILED] - 1
    assert after[View.PENDING] == before[View.PENDING] + 1
    assert after[View.ALL] == before[View.ALL]
    (event,) = await demo.audit("sms.resent")
    assert event.actor == "admin"
    assert event.target == f"message:{mid}"
    assert detail(event) == {"count": 1, "credits": 2, "new_ret_ids": 0}


async def test_resend_the_demo_failure(services: Services, demo: Demo) -> None:
    report = await services.inbox.resend_failed(READER, [7])
    assert report.requeued == 1
    assert report.credits == 1
    assert await services.accounts.balance(READER) == START_CREDITS - 1
    row = await services.inbox.message(READER, 7)
    assert (row.status, row.view, row.error) == (MessageStatus.PENDING, View.PENDING, None)


async def test_resend_skips_what_is_not_failed(
    services: Services, world: World, demo: Demo
) -> None:
    ids = world.ids
    selection = [
        ids["failed"],
        ids["failed_on_delivery"],
        ids["pending"],
        ids["sending"],
        ids["scheduled"],
        ids["sent"],
        ids["delivered"],
        ids["received"],
        ids["blocked_out"],
        ids["deleted_failed"],  # deleted: not resent
        987654,  # unknown
    ]
    balance = await services.accounts.balance(READER)
    before = await messages(services, selection[:-1])
    report = await services.inbox.resend_failed(READER, selection)
    assert sorted(report.ids) == sorted([ids["failed"], ids["failed_on_delivery"]])
    assert report.requeued == 2
    assert report.skipped == len(selection) - 2
    assert report.credits == 2
    assert report.stopped is None
    assert await services.accounts.balance(READER) == balance - 2
    after = await messages(services, selection[:-1])
    for mid in selection[:-1]:
        if mid in report.ids:
            assert after[mid].status == MessageStatus.PENDING
            continue
        b, a = before[mid], after[mid]
        assert (a.status, a.folder, a.deleted, a.error, a.attempts) == (
            b.status,
            b.folder,
            b.deleted,
            b.error,
            b.attempts,
        ), mid
    gone = after[ids["deleted_failed"]]
    assert (gone.status, gone.deleted) == (MessageStatus.FAILED, True)
    # resending the same selection again: nothing left to resend, nothing debited
    again = await services.inbox.resend_failed(READER, selection)
    assert (again.requeued, again.skipped, again.credits) == (0, len(selection), 0)
    assert await services.accounts.balance(READER) == balance - 2


async def test_bulk_resend_reports_progress_per_chunk(services: Services, demo: Demo) -> None:
    n = 1_200
    ids = await many_failed(services, demo, n, 2_000)
    calls: list[tuple[int, int]] = []
    report = await services.inbox.resend_failed(
        READER, ids, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(RESEND_CHUNK, n), (2 * RESEND_CHUNK, n), (n, n)]
    assert (report.requeued, report.skipped, report.credits, report.stopped) == (n, 0, n, None)
    assert sorted(report.ids) == ids
    assert await services.accounts.balance(READER) == 2_000 - n
    counts = await services.inbox.counts(READER)
    assert counts[View.PENDING] == n
    assert counts[View.FAILED] == 1  # the demo's
    events = await demo.audit("sms.resent")
    assert [detail(e)["count"] for e in events] == [
        RESEND_CHUNK,
        RESEND_CHUNK,
        n - 2 * RESEND_CHUNK,
    ]


async def test_bulk_resend_stops_at_the_chunk_it_cannot_pay(services: Services, demo: Demo) -> None:
    n = 1_200
    ids = await many_failed(services, demo, n, 700)
    calls: list[tuple[int, int]] = []
    report = await services.inbox.resend_failed(
        READER, ids, progress=lambda done, total: calls.append((done, total))
    )
    assert isinstance(report.stopped, InsufficientCredits)
    assert report.stopped.name == "Insufficient credits"
    assert calls == [(RESEND_CHUNK, n)]
    assert report.requeued == RESEND_CHUNK
    assert report.credits == RESEND_CHUNK
    assert sorted(report.ids) == ids[:RESEND_CHUNK]
    assert await services.accounts.balance(READER) == 700 - RESEND_CHUNK
    stored = await messages(services, ids)
    for mid in ids[:RESEND_CHUNK]:
        assert stored[mid].status == MessageStatus.PENDING
    for mid in ids[RESEND_CHUNK:]:  # the refused chunk and the one after: untouched
        m = stored[mid]
        assert (m.status, m.folder, m.error, m.attempts) == (
            MessageStatus.FAILED,
            Folder.FAILED,
            "HTTP 400: refused",
            3,
        )
    assert len(await demo.audit("sms.resent")) == 1


async def test_the_resend_quote_says_what_the_balance_pays_for(
    services: Services, demo: Demo
) -> None:
    # Issue #19 (I6): "Resend 2,000 failed messages?" did not say the balance was short;
    # the resend then stopped with "0 moved".
    n = 1_200
    ids = await many_failed(services, demo, n, 2_000)
    quote = await services.inbox.resend_quote(READER, [*ids, 8])  # 8: received, not failed
    assert quote.ids == tuple(ids)
    assert (quote.credits, quote.balance, quote.short) == (n, 2_000, False)
    assert (quote.payable, quote.payable_credits) == (n, n)
    await demo.set_account(credits=700)
    quote = await services.inbox.resend_quote(READER, ids)
    assert (quote.credits, quote.balance, quote.short) == (n, 700, True)
    # chunk by chunk as the resend goes: the first chunk only
    assert (quote.payable, quote.payable_credits) == (RESEND_CHUNK, RESEND_CHUNK)
    report = await services.inbox.resend_failed(READER, ids)
    assert report.requeued == quote.payable
    await demo.set_account(credits=1)
    quote = await services.inbox.resend_quote(READER, ids[RESEND_CHUNK:])
    assert (quote.payable, quote.payable_credits, quote.short) == (0, 0, True)


async def test_resend_with_no_credits_resends_nothing(services: Services, demo: Demo) -> None:
    mid = await send_one(services, mobile(1))
    await fail(services, mid)
    await demo.set_account(credits=0)
    report = await services.inbox.resend_failed(READER, [mid, 7])
    assert isinstance(report.stopped, InsufficientCredits)
    assert (report.requeued, report.credits, report.ids) == (0, 0, [])
    assert (await demo.message(mid)).status == MessageStatus.FAILED
    assert (await demo.message(7)).status == MessageStatus.FAILED
    assert await services.accounts.balance(READER) == 0


async def test_resend_checks_the_prerequisites(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(NoMessagingPermission):
        await services.inbox.resend_failed(Actor("david"), [7])
    with pytest.raises(UnknownAgent):
        await services.inbox.resend_failed(Actor("nobody"), [7])
    await demo.set_account(provider_url=None)
    with pytest.raises(NoProviderConfigured):
        await services.inbox.resend_failed(READER, [7])
    await demo.set_account(provider_url="https://127.0.0.1:8443/v1/sms")
    assert await demo.snapshot() == before
    assert (await demo.message(7)).status == MessageStatus.FAILED


async def test_concurrent_resends_of_one_selection_debit_once(
    services: Services,
    demo: Demo,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """Two agents resend the same failed message at the same moment: it is requeued once and
    paid once.  Both transactions are held at the debit until both have read the rows."""
    mid = await send_one(services, mobile(1))
    await fail(services, mid)
    balance = await services.accounts.balance(READER)
    real_charge = accounts.charge
    arrived = 0
    both = asyncio.Event()

    async def held_charge(session: Any, ids: Any) -> int:
        nonlocal arrived
        arrived += 1
        if arrived >= 2:
            both.set()
        # SQLite's second writer cannot start before the first commits: don't wait forever
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), 1.0)
        return await real_charge(session, ids)

    monkeypatch.setattr(accounts, "charge", held_charge)
    reports = await asyncio.gather(
        services.inbox.resend_failed(READER, [mid]),
        services.inbox.resend_failed(Actor("sam"), [mid]),
    )
    assert sorted(r.requeued for r in reports) == [0, 1]
    assert sum(r.credits for r in reports) == 1
    assert await services.accounts.balance(READER) == balance - 1
    assert len(await demo.audit("sms.resent")) == 1


# --- I2: send to many ----------------------------------------------------------------------


async def test_send_to_numbers_contacts_and_groups(
    services: Services, demo: Demo, clock: Any
) -> None:
    jan = await contact_id(services, JAN)
    vip = await group_id(services, "VIP")  # Léa and Thomas
    before = await services.inbox.counts(READER)
    report = await services.inbox.send(
        Actor("alice"),
        ["+33 6 13 00 00 01", LEA, "0033612000001", "  "],  # Léa typed twice, a blank
        "Our offices are closed on Friday.",
        contact_ids=[jan, jan],
        group_ids=[vip],
    )
    assert len(report.message_ids) == 4  # mobile(1), Léa, Jan, Thomas: each once
    assert report.credits == 4
    assert report.rejected == ()
    assert report.scheduled_at is None
    assert await services.accounts.balance(READER) == START_CREDITS - 4
    stored = await messages(services, list(report.message_ids))
    assert [stored[i].to_number for i in report.message_ids] == [mobile(1), LEA, JAN, THOMAS]
    agent = await demo.agent_id("alice")
    for m in stored.values():
        assert m.status == MessageStatus.PENDING
        assert m.folder == Folder.PENDING
        assert m.direction == Direction.OUTBOUND
        assert m.from_number == PARIS  # the profile's first number by default
        assert m.sender == PARIS
        assert m.type == MessageType.NOTIFICATION
        assert m.agent_id == agent
        assert m.interaction_id is None
        assert m.text == "Our offices are closed on Friday."
        assert m.credits == 1
        assert m.created_at == clock.now
        assert m.ret_id
    assert len({m.ret_id for m in stored.values()}) == 4
    after = await services.inbox.counts(READER)
    assert after[View.PENDING] == before[View.PENDING] + 4
    (event,) = await demo.audit("sms.sent")
    assert event.actor == "alice"
    assert event.target == f"{mobile(1)},{LEA},{JAN},{THOMAS}"
    assert detail(event) == {
        "credits": 4,
        "origin": None,
        "recipients": 4,
        "scheduled_at": None,
    }


async def test_recipients_are_checked_and_deduplicated(services: Services) -> None:
    newsletter = await group_id(services, "Newsletter")  # Thomas, Inès, Nina
    vip = await group_id(services, "VIP")  # Léa, Thomas
    checked = await services.inbox.recipients(
        Actor("alice"),
        [THOMAS, LANDLINE, "hello", NINA],
        contact_ids=[await contact_id(services, LEA)],
        group_ids=[newsletter, vip, newsletter],
    )
    assert checked.numbers == (THOMAS, NINA, LEA, INES)
    assert [(r.recipient, r.error) for r in checked.rejected] == [
        (LANDLINE, "Invalid number"),
        ("hello", "Invalid number"),
    ]
    # chloe may send to France only
    checked = await services.inbox.recipients(Actor("chloe"), [JAN, LEA], group_ids=[newsletter])
    assert checked.numbers == (LEA, THOMAS, INES)
    assert [(r.recipient, r.error) for r in checked.rejected] == [
        (JAN, "Country not authorized"),
        (NINA, "Country not authorized"),
    ]
    assert str(checked.rejected[0]).startswith(f"{JAN}: Country not authorized")


@pytest.mark.parametrize(
    ("login", "bad", "error"),
    [
        ("alice", LANDLINE, InvalidNumber),
        ("alice", "garbage", InvalidNumber),
        ("alice", "+33 6 12", InvalidNumber),
        ("alice", "+1 201 555 0123", CountryNotAuthorized),  # US, not in alice's list
        ("chloe", JAN, CountryNotAuthorized),  # BE, chloe's profile is FR only
    ],
)
async def test_a_bad_recipient_refuses_the_whole_send(
    services: Services, demo: Demo, login: str, bad: str, error: type[BannerError]
) -> None:
    before = await demo.snapshot()
    with pytest.raises(error) as caught:
        await services.inbox.send(Actor(login), [LEA, bad, THOMAS], "Hello")
    assert caught.value.name == error.name
    assert error.name in ("Invalid number", "Country not authorized")  # B12 names
    assert bad.strip() in (caught.value.detail or "")
    assert "more rejected" not in (caught.value.detail or "")
    assert await demo.snapshot() == before  # nothing stored, nothing debited

    report = await services.inbox.send(
        Actor(login), [LEA, bad, THOMAS], "Hello", skip_rejected=True
    )
    assert len(report.message_ids) == 2
    assert [(r.recipient, r.error) for r in report.rejected] == [(bad.strip(), error.name)]
    assert isinstance(report.rejected[0], Rejected)
    stored = await messages(services, list(report.message_ids))
    assert sorted(m.to_number for m in stored.values()) == [LEA, THOMAS]
    assert await services.accounts.balance(READER) == START_CREDITS - 2


async def test_the_refusal_counts_the_other_rejected(services: Services) -> None:
    with pytest.raises(InvalidNumber) as caught:
        await services.inbox.send(Actor("alice"), ["junk", LEA, LANDLINE, "+1 201 555 0123"], "Hi")
    assert caught.value.detail is not None
    assert caught.value.detail.startswith("junk")
    assert "(and 2 more rejected recipients)" in caught.value.detail
    with pytest.raises(InvalidNumber) as caught:
        await services.inbox.send(Actor("alice"), ["junk", LANDLINE], "Hi")
    assert "(and 1 more rejected recipient)" in (caught.value.detail or "")


async def test_a_deleted_contact_is_rejected_by_id(services: Services, demo: Demo) -> None:
    jan = await contact_id(services, JAN)
    await services.people.delete_contact(Actor("admin"), jan)
    before = await demo.snapshot()
    with pytest.raises(UnknownContact) as caught:
        await services.inbox.send(Actor("alice"), [LEA], "Hi", contact_ids=[jan])
    assert f"contact #{jan}" in (caught.value.detail or "")
    assert await demo.snapshot() == before
    report = await services.inbox.send(
        Actor("alice"), [LEA], "Hi", contact_ids=[jan], skip_rejected=True
    )
    assert len(report.message_ids) == 1
    assert [(r.recipient, r.error) for r in report.rejected] == [
        (f"contact #{jan}", "Unknown contact")
    ]


async def test_nobody_left_to_send_to(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(NotAllowed):
        await services.inbox.send(Actor("alice"), [LANDLINE], "Hi", skip_rejected=True)
    with pytest.raises(NotAllowed):
        await services.inbox.send(Actor("alice"), [], "Hi")
    with pytest.raises(NotAllowed):
        await services.inbox.send(Actor("alice"), [" "], "Hi")
    empty = await services.people.create_group(Actor("admin"), "Empty")
    with pytest.raises(NotAllowed):
        await services.inbox.send(Actor("alice"), [], "Hi", group_ids=[empty.id])
    assert (await demo.snapshot())[:3] == before[:3]


async def test_group_added_members_receive(services: Services) -> None:
    group = await services.people.create_group(Actor("admin"), "Belgium")
    await services.people.add_to_group(Actor("admin"), group.id, [await contact_id(services, JAN)])
    report = await services.inbox.send(Actor("alice"), [], "Dag!", group_ids=[group.id])
    stored = await messages(services, list(report.message_ids))
    assert [m.to_number for m in stored.values()] == [JAN]


async def test_sender_choice(services: Services, demo: Demo) -> None:
    report = await services.inbox.send(Actor("alice"), [LEA], "From Lyon", sender=LYON)
    assert (await demo.message(report.message_ids[0])).from_number == LYON
    report = await services.inbox.send(Actor("alice"), [LEA], "Default", sender="  ")
    assert (await demo.message(report.message_ids[0])).from_number == PARIS
    report = await services.inbox.send(Actor("chloe"), [LEA], "Chloé's only number")
    assert (await demo.message(report.message_ids[0])).from_number == PARIS
    before = await demo.snapshot()
    with pytest.raises(NoSenderNumber) as caught:
        await services.inbox.send(Actor("alice"), [LEA], "Hi", sender=SUPPORT)
    assert SUPPORT in (caught.value.detail or "")
    with pytest.raises(NoSenderNumber):
        await services.inbox.send(Actor("chloe"), [LEA], "Hi", sender=LYON)  # alice's, not chloe's
    assert await demo.snapshot() == before


async def test_a_profile_without_numbers_has_no_sender(services: Services, demo: Demo) -> None:
    async with services.db.write() as session:
        profile_id = await session.scalar(
            sa.select(col(Profile.id)).where(col(Profile.name) == "Direct only")
        )
        await session.execute(
            sa.delete(ProfileSmsNumber).where(col(ProfileSmsNumber.profile_id) == profile_id)
        )
    before = await demo.snapshot()
    with pytest.raises(NoSenderNumber) as caught:
        await services.inbox.send(Actor("chloe"), [LEA], "Hi")
    assert caught.value.name == "No sender number"
    assert await demo.snapshot() == before


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
async def test_empty_message(services: Services, demo: Demo, text: str) -> None:
    before = await demo.snapshot()
    with pytest.raises(EmptyMessage) as caught:
        await services.inbox.send(Actor("alice"), [LEA], text)
    assert caught.value.name == "Empty message"
    assert await demo.snapshot() == before


async def test_credit_limit(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(CreditLimitExceeded) as caught:
        await services.inbox.send(Actor("alice"), [LEA], "a" * 1225)
    assert caught.value.name == "Credit limit exceeded"
    with pytest.raises(CreditLimitExceeded):
        await services.inbox.send(Actor("alice"), [LEA], "ç" * 537)  # UCS-2: 8 credits hold 536
    assert await demo.snapshot() == before
    report = await services.inbox.send(Actor("alice"), [LEA, THOMAS], "a" * 1224)  # 8 credits each
    assert report.credits == 16
    assert await services.accounts.balance(READER) == START_CREDITS - 16


async def test_unicode_costs_more(services: Services, demo: Demo) -> None:
    report = await services.inbox.send(Actor("alice"), [LEA], "é" * 71)  # é is GSM-7
    assert report.credits == 1
    report = await services.inbox.send(
        Actor("alice"), [LEA], "ç" * 71
    )  # ç is not: UCS-2, 2 credits
    assert report.credits == 2
    stored = await demo.message(report.message_ids[0])
    assert stored.encoding == "UCS-2"


async def test_insufficient_credits_refuses_everything(services: Services, demo: Demo) -> None:
    await demo.set_account(credits=2)
    before = await demo.snapshot()
    with pytest.raises(InsufficientCredits) as caught:
        await services.inbox.send(Actor("alice"), [LEA, THOMAS, INES], "Hi")
    assert caught.value.name == "Insufficient credits"
    assert await demo.snapshot() == before  # not even the first two
    assert (await services.inbox.counts(READER))[View.PENDING] == 0
    report = await services.inbox.send(Actor("alice"), [LEA, THOMAS], "Hi")
    assert report.credits == 2
    assert await services.accounts.balance(READER) == 0


@pytest.mark.parametrize(
    ("login", "error"),
    [
        ("bruno", NoDirectPermission),  # Smart only
        ("david", NoMessagingPermission),
        ("nobody", UnknownAgent),
    ],
)
async def test_send_needs_the_direct_permission(
    services: Services, demo: Demo, login: str, error: type[BannerError]
) -> None:
    before = await demo.snapshot()
    with pytest.raises(error) as caught:
        await services.inbox.send(Actor(login), [LEA], "Hi")
    assert caught.value.name == error.name
    assert await demo.snapshot() == before


async def test_send_needs_a_provider(services: Services, demo: Demo) -> None:
    await demo.set_account(provider_url=None)
    before = await demo.snapshot()
    with pytest.raises(NoProviderConfigured):
        await services.inbox.send(Actor("alice"), [LEA], "Hi")
    assert await demo.snapshot() == before


async def test_send_is_not_limited_by_open_interactions(services: Services, demo: Demo) -> None:
    await demo.set_profile("Direct only", max_simultaneous=0)
    report = await services.inbox.send(Actor("chloe"), [LEA], "No conversation is opened")
    assert len(report.message_ids) == 1


async def test_too_many_recipients(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(NotAllowed) as caught:
        await services.inbox.send(
            Actor("alice"), [mobile(i) for i in range(MAX_RECIPIENTS + 1)], "Hi"
        )
    assert "1,001" in (caught.value.detail or "")
    assert await demo.snapshot() == before


async def test_send_to_twenty_recipients(
    services: Services, demo: Demo, backend: str, request: pytest.FixtureRequest
) -> None:
    """A send to more than 15 French mobiles: the audit target is 20 numbers joined by commas
    (up to 259 characters) in a 200-character column."""
    numbers = [mobile(i) for i in range(20)]
    report = await services.inbox.send(Actor("alice"), numbers, "Hello all")
    assert len(report.message_ids) == 20
    (event,) = await demo.audit("sms.sent")
    assert len(event.target) <= 200
    assert detail(event)["recipients"] == 20


# --- I3: reply ---------------------------------------------------------------------------


async def test_reply_to_one(services: Services, demo: Demo) -> None:
    report = await services.inbox.reply(READER, [8], "This is Demo Contact Center.")
    (mid,) = report.message_ids
    m = await demo.message(mid)
    assert (m.to_number, m.from_number, m.status) == (STRANGER, PARIS, MessageStatus.PENDING)
    assert m.text == "This is Demo Contact Center."
    (event,) = await demo.audit("sms.replied")
    assert event.target == STRANGER
    assert detail(event)["recipients"] == 1
    assert await demo.audit("sms.sent") == []


async def test_reply_to_several_sends_one_per_number(services: Services, demo: Demo) -> None:
    # 1 and 3 are Léa's, 5 Thomas's, 6 our message to Inès, 8 a stranger's
    report = await services.inbox.reply(READER, [3, 5, 1, 6, 8, 3], "We are on it.", sender=LYON)
    stored = await messages(services, list(report.message_ids))
    assert [stored[i].to_number for i in report.message_ids] == [LEA, THOMAS, INES, STRANGER]
    assert all(m.from_number == LYON for m in stored.values())
    assert report.credits == 4
    assert await services.accounts.balance(READER) == START_CREDITS - 4
    assert await services.inbox.reply_numbers(READER, [5, 1, 3]) == [THOMAS, LEA]


async def test_a_reply_goes_from_the_number_written_to(services: Services, demo: Demo) -> None:
    # Issue #19: a reply's From was the profile's first number (PARIS) whatever the number
    # the customer wrote to; 7 is alice's send from LYON.
    assert await services.inbox.reply_sender(READER, [7]) == LYON
    assert await services.inbox.reply_sender(READER, [8]) == PARIS  # 8 was sent to PARIS
    assert await services.inbox.reply_sender(READER, [7, 8]) is None  # two numbers: default
    assert await services.inbox.reply_sender(READER, [3]) is None  # SUPPORT: not alice's
    report = await services.inbox.reply(READER, [7], "Sorry, let us try again.")
    (mid,) = report.message_ids
    assert (await demo.message(mid)).from_number == LYON
    with pytest.raises(UnknownMessage):
        await services.inbox.reply_sender(READER, [999_999])


async def test_reply_to_an_unknown_message(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(UnknownMessage) as caught:
        await services.inbox.reply(READER, [1, 987654], "Hi")
    assert "987654" in (caught.value.detail or "")
    assert await demo.snapshot() == before


async def test_reply_follows_the_send_rules(services: Services, demo: Demo, clock: Any) -> None:
    jan = await receive(services, JAN, "Hallo")
    # the reader's profile authorizes France only, as chloe's (who does not see jan's text)
    await demo.update(Profile, col(Profile.name) == "Administrator", authorized_countries="FR")
    before = await demo.snapshot()
    with pytest.raises(CountryNotAuthorized):
        await services.inbox.reply(READER, [jan], "Hi")
    with pytest.raises(CountryNotAuthorized):
        await services.inbox.reply(READER, [1, jan], "Hi")  # the whole reply is refused
    with pytest.raises(EmptyMessage):
        await services.inbox.reply(READER, [1], " ")
    with pytest.raises(NoDirectPermission):
        await services.inbox.reply(Actor("bruno"), [1], "Hi")
    assert await demo.snapshot() == before
    at = clock.now + timedelta(hours=3)
    report = await services.inbox.reply(READER, [1], "Later", scheduled_at=at)
    assert report.scheduled_at == at
    assert (await demo.message(report.message_ids[0])).status == MessageStatus.SCHEDULED


# --- I4: forward -------------------------------------------------------------------------


async def test_forward_one_with_its_text(services: Services, demo: Demo) -> None:
    report = await services.inbox.forward(READER, [1], [THOMAS, mobile(1)])
    stored = await messages(services, list(report.message_ids))
    assert [stored[i].to_number for i in report.message_ids] == [THOMAS, mobile(1)]
    assert all(m.text == "Hello, my order #4521 has not arrived yet." for m in stored.values())
    (event,) = await demo.audit("sms.forwarded")
    assert detail(event)["origin"] == 1
    assert detail(event)["recipients"] == 2
    # the original is unchanged
    original = await demo.message(1)
    assert (original.status, original.deleted) == (MessageStatus.RECEIVED, False)


async def test_forward_with_edited_text_to_contacts_and_groups(
    services: Services, demo: Demo
) -> None:
    newsletter = await group_id(services, "Newsletter")
    report = await services.inbox.forward(
        READER,
        [6],
        [],
        "FYI: the parcel arrives today.",
        contact_ids=[await contact_id(services, LEA)],
        group_ids=[newsletter],
        sender=LYON,
    )
    stored = await messages(services, list(report.message_ids))
    # a group's members by last name: Bernard, Graf, Petit
    assert [stored[i].to_number for i in report.message_ids] == [LEA, THOMAS, NINA, INES]
    assert all(m.text == "FYI: the parcel arrives today." for m in stored.values())
    assert all(m.from_number == LYON for m in stored.values())


@pytest.mark.parametrize("selected", [[], [1, 2], [1, 2, 3]])
async def test_forward_exactly_one(services: Services, demo: Demo, selected: list[int]) -> None:
    before = await demo.snapshot()
    with pytest.raises(NotAllowed) as caught:
        await services.inbox.forward(READER, selected, [THOMAS])
    if selected:
        assert f"({len(selected)} selected)" in (caught.value.detail or "")
    assert await demo.snapshot() == before


async def test_forward_refusals(services: Services, demo: Demo) -> None:
    before = await demo.snapshot()
    with pytest.raises(UnknownMessage):
        await services.inbox.forward(READER, [987654], [THOMAS])
    with pytest.raises(EmptyMessage):
        await services.inbox.forward(READER, [1], [THOMAS], "")
    with pytest.raises(InvalidNumber):
        await services.inbox.forward(READER, [1], [THOMAS, LANDLINE])
    assert await demo.snapshot() == before
    report = await services.inbox.forward(READER, [1], [THOMAS, LANDLINE], skip_rejected=True)
    assert len(report.message_ids) == 1
    assert [r.recipient for r in report.rejected] == [LANDLINE]


# --- I7: schedule ------------------------------------------------------------------------


async def test_schedule_for_later(services: Services, demo: Demo, clock: Any) -> None:
    at = clock.now + timedelta(days=1, hours=2)
    report = await services.inbox.send(Actor("alice"), [LEA, THOMAS], "Tomorrow", scheduled_at=at)
    assert report.scheduled_at == at
    assert report.credits == 2  # debited when stored
    assert await services.accounts.balance(READER) == START_CREDITS - 2
    stored = await messages(services, list(report.message_ids))
    for m in stored.values():
        assert m.status == MessageStatus.SCHEDULED
        assert m.folder == Folder.PENDING
        assert m.scheduled_at == at
        assert m.next_attempt_at == at
    pending = (await services.inbox.page(READER, View.PENDING)).rows
    assert {r.id for r in pending} == set(report.message_ids)
    assert all(r.scheduled_at == at and r.status == "scheduled" for r in pending)
    assert (await services.inbox.counts(READER))[View.PENDING] == 2
    (event,) = await demo.audit("sms.sent")
    assert detail(event)["scheduled_at"] == at.isoformat()


async def test_schedule_in_another_time_zone(services: Services, demo: Demo, clock: Any) -> None:
    tokyo = timezone(timedelta(hours=9))
    at = (clock.now + timedelta(minutes=5)).astimezone(tokyo)
    report = await services.inbox.send(Actor("alice"), [LEA], "Soon", scheduled_at=at)
    stored = await demo.message(report.message_ids[0])
    assert stored.scheduled_at == at
    assert stored.scheduled_at is not None
    assert stored.scheduled_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "when",
    [
        lambda now: now - timedelta(minutes=1),
        lambda now: now,
        lambda now: now - timedelta(days=400),
        lambda now: (now + timedelta(hours=1)).replace(tzinfo=None),  # naive
        lambda now: now.replace(tzinfo=None) - timedelta(hours=1),  # naive and past
    ],
    ids=["past", "now", "last-year", "naive", "naive-past"],
)
async def test_invalid_schedule(
    services: Services, demo: Demo, clock: Any, when: Callable[[datetime], datetime]
) -> None:
    before = await demo.snapshot()
    with pytest.raises(InvalidSchedule) as caught:
        await services.inbox.send(Actor("alice"), [LEA], "Hi", scheduled_at=when(clock.now))
    assert caught.value.name == "Invalid schedule"
    assert await demo.snapshot() == before


async def test_scheduled_messages_can_be_deleted_and_restored(
    services: Services, clock: Any
) -> None:
    at = clock.now + timedelta(hours=1)
    (mid,) = (
        await services.inbox.send(Actor("alice"), [LEA], "Later", scheduled_at=at)
    ).message_ids
    assert await services.inbox.delete(READER, [mid]) == 1
    row = (await services.inbox.page(READER, View.DELETED)).rows[0]
    assert (row.id, row.view, row.status) == (mid, View.PENDING, MessageStatus.SCHEDULED)
    assert await services.inbox.restore(READER, [mid]) == 1
    assert [r.id for r in (await services.inbox.page(READER, View.PENDING)).rows] == [mid]


# --- the rows' type ------------------------------------------------------------------------


def test_row_view_of_each_folder() -> None:
    base: dict[str, Any] = {
        "id": 1,
        "created_at": None,
        "direction": "outbound",
        "remote_number": LEA,
        "contact_name": None,
        "text": "x",
        "status": "pending",
        "error": None,
        "deleted": False,
        "from_number": PARIS,
        "to_number": LEA,
        "credits": 1,
        "scheduled_at": None,
        "sent_at": None,
        "delivered_at": None,
        "type": "NOTIFICATION",
    }
    for folder in Folder:
        assert InboxRow(folder=folder.value, **base).view.value == folder.value
