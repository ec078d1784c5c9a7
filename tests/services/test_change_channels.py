"""Whom a write wakes (store.database: concerns, unnoticed; services.changes: follow_agent),
and the account debit taken at commit (accounts.charge_at_commit).

PostgreSQL: a Banner following its agent is woken by that agent's writes and by writes that
name nobody, not by another agent's; the screens that follow everything hear every write but
an unnoticed one (marking read; queueing a send, which its outcome announces).  Both
backends: a send whose balance ran out by commit time writes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from svc_helpers import WAIT_S, caught_up
from test_dispatch_policy import ScriptedProvider

from bannertui.domain.actor import Actor
from bannertui.domain.errors import InsufficientCredits
from bannertui.services import Services
from bannertui.services.accounts import charge_at_commit, check_balance
from bannertui.services.changes import ChangeWatcher
from bannertui.services.dispatch import Dispatcher, DispatchPolicy
from bannertui.store.database import Database
from bannertui.store.models import Account, Agent, Message, Queue
from bannertui.store.notify import agent_topic, concerns, unnoticed

MOBILE = "+33612000077"


async def agent_id(db: Database, login: str) -> int:
    async with db.read() as session:
        found = await session.scalar(sa.select(Agent.id).where(Agent.login == login))
    assert found is not None
    return found


async def touch(db: Database, *topics: str, quiet: bool = False, named: bool = True) -> None:
    """A write (one more credit) that concerns ``topics`` (or, ``named=False``, says nothing)."""
    async with db.write() as session:
        if named:
            concerns(session, *topics)
        if quiet:
            unnoticed(session)
        await session.execute(sa.update(Account).values(credits=Account.credits + 1))


async def statuses_within(watcher: ChangeWatcher, seconds: float) -> dict[int, str]:
    """The statuses a watcher's notifications carried, waiting up to ``seconds`` for some."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        moved = watcher.take_statuses()  # delivered by the listener, no check needed
        if moved or asyncio.get_running_loop().time() >= deadline:
            return moved
        await asyncio.sleep(0.02)


async def quiet_watcher(db: Database, login: str | None = None) -> ChangeWatcher:
    watcher = ChangeWatcher(db, interval=0.02, others_every=3600)
    assert await watcher.changed() is True  # the first check
    if login is not None:
        watcher.follow_agent(await agent_id(db, login))
    await watcher.changed()  # subscribed (a check takes follow_agent up)
    await caught_up(watcher)  # not a fixed pause: whatever was in flight has arrived
    await watcher.changed()  # and is taken
    return watcher


@pytest.fixture
def pg_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("channels are PostgreSQL's (SQLite's check sees every commit)")


@pytest.mark.usefixtures("pg_only")
async def test_a_banner_hears_its_agent_and_writes_naming_nobody(
    seeded: Database, database_url: str
) -> None:
    other = Database(database_url)
    alice, bruno = await agent_id(seeded, "alice"), await agent_id(seeded, "bruno")
    banner = await quiet_watcher(seeded, "alice")
    board = await quiet_watcher(seeded)  # the supervisor's: every change
    try:
        await touch(other, agent_topic(bruno))
        assert await board.wait(WAIT_S) is True
        await caught_up(banner)  # the "no" below follows what it would have heard
        assert await banner.wait(0.4) is False  # bruno's business

        await touch(other, agent_topic(alice))
        assert await banner.wait(WAIT_S) is True
        assert await board.wait(WAIT_S) is True

        await touch(other, named=False)  # e.g. administration: everyone looks again
        assert await banner.wait(WAIT_S) is True
        assert await board.wait(WAIT_S) is True

        await touch(other, agent_topic(alice), quiet=True)  # e.g. marking read
        await caught_up(banner)
        await caught_up(board)
        assert await banner.wait(0.4) is False
        assert await board.wait(0.1) is False
    finally:
        await banner.close()
        await board.close()
        await other.dispose()


@pytest.mark.usefixtures("pg_only")
async def test_an_agents_send_is_announced_by_its_outcome(
    services: Services, seeded: Database, clock: Any
) -> None:
    """Queueing a send wakes nobody (the pane shows it itself); the dispatcher's outcome, a
    moment later, wakes the sender's Banner and the screens that follow everything."""
    async with seeded.read() as session:
        support = await session.scalar(sa.select(Queue.id).where(Queue.name == "Support"))
    assert support is not None
    inter = await services.outbound.start_smart(Actor("alice"), MOBILE, support)
    alice_banner = await quiet_watcher(seeded, "alice")
    bruno_banner = await quiet_watcher(seeded, "bruno")
    board = await quiet_watcher(seeded)
    try:
        msg = await services.outbound.send_smart(Actor("alice"), inter.id or 0, "Hello")
        await caught_up(alice_banner)  # the "no"s below follow what they would have heard
        await caught_up(board)
        assert await alice_banner.wait(0.4) is False
        assert await board.wait(0.1) is False

        provider = ScriptedProvider()
        stats = await Dispatcher(seeded, provider, DispatchPolicy(), clock=clock).run_once()
        assert stats.claimed == 1
        assert list(provider.calls) == [msg.ret_id]
        assert await board.wait(WAIT_S) is True  # the inbox: a plain change (its folder moved)
        # alice's Banner: "sent", in place — a status, not a reload
        assert await statuses_within(alice_banner, WAIT_S) == {msg.id: "sent"}
        assert await alice_banner.changed() is False
        await caught_up(bruno_banner)
        assert await bruno_banner.wait(0.4) is False
        assert bruno_banner.take_statuses() == {}

        assert msg.ret_id is not None
        await services.inbound.record_receipt(msg.ret_id, "delivered")
        assert await statuses_within(alice_banner, WAIT_S) == {msg.id: "delivered"}
        assert await alice_banner.changed() is False
        assert await board.wait(WAIT_S) is True
        # Repeated (the provider had no answer: the receiver may have died before its
        # notifications went out): its Banner is told again, in place.
        await services.inbound.record_receipt(msg.ret_id, "delivered")
        assert await statuses_within(alice_banner, WAIT_S) == {msg.id: "delivered"}
        assert await alice_banner.changed() is False

        await services.conversations.mark_read(Actor("alice"), inter.id or 0)
        await caught_up(alice_banner)
        assert await alice_banner.wait(0.4) is False  # its own screen knows already
    finally:
        await alice_banner.close()
        await bruno_banner.close()
        await board.close()


async def test_others_every_reports_a_change_periodically(seeded: Database, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite reports every commit at once")
    watcher = ChangeWatcher(seeded, interval=0.02, others_every=0.3)
    try:
        assert await watcher.changed() is True
        watcher.follow_agent(await agent_id(seeded, "alice"))
        assert await watcher.changed() is False  # subscribed; nothing yet
        assert await watcher.wait(WAIT_S) is True  # the periodic refresh
    finally:
        await watcher.close()


async def unpaid_send(session: Any, credits: int) -> int:
    """A pending outbound message of ``credits``, not paid for yet."""
    msg = Message(
        direction="outbound",
        from_number="+33600000001",
        to_number=MOBILE,
        remote_number=MOBILE,
        text="x",
        encoding="GSM-7",
        credits=credits,
        status="pending",
        folder="pending",
        created_at=datetime.now(UTC),
    )
    session.add(msg)
    await session.flush()
    assert msg.id is not None
    return msg.id


async def test_charge_at_commit_takes_the_credits_once_at_the_end(seeded: Database) -> None:
    async with seeded.read() as session:
        before = await session.scalar(sa.select(Account.credits))
    assert before is not None
    assert before >= 3
    async with seeded.write() as session:
        charge_at_commit(session, await unpaid_send(session, 1), 1)
        charge_at_commit(session, await unpaid_send(session, 2), 2)
        async with seeded.read() as peek:  # another connection: nothing taken yet
            assert await peek.scalar(sa.select(Account.credits)) == before
    async with seeded.read() as session:
        assert await session.scalar(sa.select(Account.credits)) == before - 3


async def test_charge_at_commit_refuses_a_short_balance_at_once(seeded: Database) -> None:
    async with seeded.write() as session:
        await session.execute(sa.update(Account).values(credits=2))
    with pytest.raises(InsufficientCredits, match="3 needed, 2 left"):
        async with seeded.write() as session:
            await check_balance(session, 3)


async def test_credits_gone_by_commit_time_undo_the_whole_send(
    services: Services, seeded: Database, database_url: str
) -> None:
    """Checked when queued, the balance is taken by someone else before the commit: the
    debit at commit refuses, and the message is not written."""
    async with seeded.write() as session:
        await session.execute(sa.update(Account).values(credits=1))
    other = Database(database_url)
    try:
        async with seeded.read() as session:
            messages = await session.scalar(sa.select(sa.func.count()).select_from(Message))

        async def send() -> None:
            async with seeded.write() as session:
                await check_balance(session, 1)  # 1 left: fine now
                charge_at_commit(session, await unpaid_send(session, 1), 1)
                if not seeded.is_sqlite:  # SQLite's writer holds the lock: nobody can
                    async with other.write() as elsewhere:
                        await elsewhere.execute(sa.update(Account).values(credits=0))
                else:
                    await session.execute(sa.update(Account).values(credits=0))

        with pytest.raises(InsufficientCredits):
            await send()
        async with seeded.read() as session:
            assert await session.scalar(sa.select(sa.func.count()).select_from(Message)) == messages
    finally:
        await other.dispose()


def test_a_status_only_write_carries_its_statuses_on_the_topic_channel_only() -> None:
    """What a write sends at commit: the screens that follow everything get a plain change;
    a topic whose messages' statuses alone moved gets them in the payload; a topic also named
    by concerns() gets a plain change; too many statuses for a payload make a plain one."""
    from bannertui.store.notify import (
        CHANGES_CHANNEL,
        notifications_of,
        parse_statuses,
        status_moved,
        topic_channel,
    )

    class FakeSession:
        def __init__(self) -> None:
            self.info: dict[str, Any] = {}

    s: Any = FakeSession()
    status_moved(s, "agent_1", 12, "sent")
    status_moved(s, "agent_1", 10, "delivered")
    status_moved(s, "agent_2", 11, "sent")
    concerns(s, "agent_2")
    assert notifications_of(s) == [
        (CHANGES_CHANNEL, ""),
        (topic_channel("agent_1"), "s:10=delivered,12=sent"),
        (topic_channel("agent_2"), ""),
    ]
    assert parse_statuses("s:10=delivered,12=sent") == {10: "delivered", 12: "sent"}
    for odd in ("", "s:", "s:x=sent", "s:1=", "s:1=sent;DROP", "hello"):
        assert parse_statuses(odd) is None

    many: Any = FakeSession()
    for i in range(2_000):
        status_moved(many, "agent_1", 1_000_000 + i, "delivered")
    assert notifications_of(many) == [(CHANGES_CHANNEL, ""), (topic_channel("agent_1"), "")]


@pytest.mark.usefixtures("pg_only")
async def test_a_receivers_writes_of_one_moment_notify_together_after_commit(
    seeded: Database, database_url: str
) -> None:
    """``notify_every``: the notifications of writes committed within the window go out in
    one statement after their commits (one NOTIFY commit: one wake-up of every listening
    connection instead of one per write), and each write returns once they are sent."""
    receiver = Database(database_url, notify_every=0.2)
    alice, bruno = await agent_id(seeded, "alice"), await agent_id(seeded, "bruno")
    banner = await quiet_watcher(seeded, "alice")
    notifies: list[str] = []

    def count(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if "pg_notify" in statement:
            notifies.append(statement)

    sa.event.listen(receiver.engine.sync_engine, "before_cursor_execute", count)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(
            touch(receiver, agent_topic(alice)),
            touch(receiver, agent_topic(bruno)),
            touch(receiver, agent_topic(alice)),
        )
        assert loop.time() - started >= 0.2  # each waited for the batch to be sent
        assert len(notifies) == 1
        assert await banner.wait(WAIT_S) is True

        await touch(receiver, agent_topic(bruno))  # another moment: another statement
        assert len(notifies) == 2
        await caught_up(banner)  # the "no" below follows what it would have heard
        assert await banner.wait(0.4) is False  # bruno's business

        async def refused() -> None:
            async with receiver.write() as session:
                concerns(session, agent_topic(alice))
                await session.execute(sa.update(Account).values(credits=Account.credits + 1))
                raise InsufficientCredits("rolled back")

        with pytest.raises(InsufficientCredits):  # a write that rolls back notifies nobody
            await refused()
        assert len(notifies) == 2
        await caught_up(banner)
        assert await banner.wait(0.4) is False
    finally:
        sa.event.remove(receiver.engine.sync_engine, "before_cursor_execute", count)
        await banner.close()
        await receiver.dispose()


@pytest.mark.usefixtures("pg_only")
async def test_a_text_sent_again_wakes_its_agents_banner_again(
    services: Services, seeded: Database
) -> None:
    """The provider sends a text again when it had no answer: the receiver may have died
    between the commit and its notifications, so the agent's Banner hears of it again."""
    banner = await quiet_watcher(seeded, "alice")
    try:
        args = ("+33612000001", "+33757000010", "Any news?", "prov-again-1")  # Léa → alice
        first = await services.inbound.receive(*args)
        assert first.created
        assert await banner.wait(WAIT_S) is True
        again = await services.inbound.receive(*args)
        assert not again.created
        assert again.message.id == first.message.id
        assert await banner.wait(WAIT_S) is True
    finally:
        await banner.close()


@pytest.mark.usefixtures("pg_only")
async def test_notifications_that_cannot_be_sent_fail_the_write_after_its_commit(
    seeded: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``notify_every``, a write whose notifications cannot be sent (twice) raises after
    its commit: a receiver then answers 500 and the provider sends it again (which notifies
    again) rather than hear it went through while no screen was told."""
    from bannertui.store import notify

    receiver = Database(database_url, notify_every=0.01)
    monkeypatch.setattr(notify, "NOTIFY", sa.text("SELECT no_such_function(:channels)"))
    try:
        async with seeded.read() as session:
            before = await session.scalar(sa.select(Account.credits))
        with pytest.raises(notify.NotificationsLost, match="no_such_function"):
            await touch(receiver, "agent_1")
        async with seeded.read() as session:
            assert await session.scalar(sa.select(Account.credits)) == (before or 0) + 1
    finally:
        await receiver.dispose()
