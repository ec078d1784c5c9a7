"""SPEC X6's data scope in the inbox (issue [1/8]): an agent sees and acts on the messages of
the queues they are a member of, of the conversations assigned to them, their own Direct sends
and the replies to those; supervisors and administrators see everything.  On SQLite and
PostgreSQL, on the demo data (Support and Sales: alice and bruno; Billing: nobody; chloe is
Direct only and a member of no queue)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bannertui.domain.actor import Actor
from bannertui.domain.enums import folder_for
from bannertui.domain.errors import NotAllowed
from bannertui.services import Services
from bannertui.services.inbox import View
from bannertui.store.models import Agent, Interaction, Message, Queue, QueueAgent

ALICE, BRUNO, CHLOE, SAM, ADMIN = (Actor(x) for x in ("alice", "bruno", "chloe", "sam", "admin"))


async def everything(services: Services, actor: Actor, view: View = View.ALL) -> list[int]:
    return await services.inbox.view_ids(actor, view, limit=100_000)


async def visible_by_rule(services: Services, login: str) -> set[int]:
    """The scope computed the slow, obvious way, in Python, from every row."""
    async with services.db.read() as session:
        me = await session.scalar(sa.select(Agent.id).where(Agent.login == login))
        queues = set(
            await session.scalars(sa.select(QueueAgent.queue_id).where(QueueAgent.agent_id == me))
        )
        mine = set(
            await session.scalars(sa.select(Interaction.id).where(Interaction.agent_id == me))
        )
        rows = (await session.execute(sa.select(Message))).scalars().all()
    sent_pairs = {(m.remote_number, m.from_number) for m in rows if m.agent_id == me}
    return {
        m.id
        for m in rows
        if m.agent_id == me
        or m.queue_id in queues
        or m.interaction_id in mine
        or (
            m.queue_id is None
            and m.direction == "inbound"
            and (m.remote_number, m.to_number) in sent_pairs
        )
    }


async def test_supervisors_and_administrators_see_every_message(services: Services) -> None:
    async with services.db.read() as session:
        total = await session.scalar(sa.select(sa.func.count()).select_from(Message))
    for actor in (SAM, ADMIN):
        counts = await services.inbox.counts(actor)
        assert counts[View.ALL] + counts[View.DELETED] == total
        assert len(await everything(services, actor)) == counts[View.ALL]


@pytest.mark.parametrize("login", ["alice", "bruno", "chloe", "david"])
async def test_an_agent_sees_exactly_their_scope(services: Services, login: str) -> None:
    actor = Actor(login)
    expected = await visible_by_rule(services, login)
    seen = set(await everything(services, actor)) | set(
        await everything(services, actor, View.DELETED)
    )
    assert seen == expected
    counts = await services.inbox.counts(actor)
    assert counts[View.ALL] + counts[View.DELETED] == len(expected)
    # every page of every view holds only what is in scope
    for view in View:
        page = await services.inbox.page(actor, view, limit=500)
        assert {r.id for r in page.rows} <= expected


async def test_chloe_sees_only_her_direct_sends_not_the_account(services: Services) -> None:
    """The reproduction: chloe (Direct only, in no queue) saw all the account's messages."""
    async with services.db.read() as session:
        total = await session.scalar(sa.select(sa.func.count()).select_from(Message))
        chloe = await session.scalar(sa.select(Agent.id).where(Agent.login == "chloe"))
        theirs = await session.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.agent_id == chloe)
        )
    counts = await services.inbox.counts(CHLOE)
    assert counts[View.ALL] + counts[View.DELETED] < total
    assert counts[View.SENT] + counts[View.FAILED] + counts[View.PENDING] <= theirs


async def sales_inbound(services: Services) -> int:
    async with services.db.read() as session:
        sales = await session.scalar(sa.select(Queue.id).where(Queue.name == "Sales"))
        mid = await session.scalar(
            sa.select(Message.id)
            .where(Message.queue_id == sales, Message.direction == "inbound")
            .limit(1)
        )
    assert mid is not None
    return int(mid)


async def row(services: Services, mid: int) -> tuple[object, ...]:
    async with services.db.read() as session:
        m = await session.get(Message, mid)
        assert m is not None
        return (m.deleted, m.deleted_from, m.status, m.folder)


async def audit_count(services: Services) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(sa.text("SELECT count(*) FROM audit_event")) or 0)


async def test_chloe_cannot_delete_a_sales_text(services: Services) -> None:
    """The reproduction: chloe deleted an inbound text of the Sales queue."""
    mid = await sales_inbound(services)
    before, audits = await row(services, mid), await audit_count(services)
    with pytest.raises(NotAllowed, match=f"message #{mid} is not in your queues"):
        await services.inbox.delete(CHLOE, [mid])
    assert await row(services, mid) == before
    assert await audit_count(services) == audits
    # a member of Sales may
    assert await services.inbox.delete(BRUNO, [mid]) == 1


@pytest.mark.parametrize("operation", ["message", "reply_numbers", "restore", "resend", "forward"])
async def test_out_of_scope_messages_are_refused_everywhere(
    services: Services, operation: str
) -> None:
    mid = await sales_inbound(services)
    before, audits = await row(services, mid), await audit_count(services)
    balance = await services.accounts.balance(ADMIN)
    calls = {
        "message": lambda: services.inbox.message(CHLOE, mid),
        "reply_numbers": lambda: services.inbox.reply_numbers(CHLOE, [mid]),
        "restore": lambda: services.inbox.restore(CHLOE, [mid]),
        "resend": lambda: services.inbox.resend_failed(CHLOE, [mid]),
        "forward": lambda: services.inbox.forward(CHLOE, [mid], ["+33612000009"]),
    }
    with pytest.raises(NotAllowed):
        await calls[operation]()
    assert await row(services, mid) == before
    assert await audit_count(services) == audits
    assert await services.accounts.balance(ADMIN) == balance


async def test_a_mixed_selection_is_refused_whole(services: Services) -> None:
    """One message out of scope refuses the whole delete: nothing is half done."""
    mine = (await everything(services, ALICE))[:3]
    assert mine
    # alice is in Support and Sales; Billing's messages (if any) or another agent's direct
    # sends are outside her scope
    outside = sorted(set(await everything(services, SAM)) - set(await everything(services, ALICE)))
    assert outside, "the demo data has messages outside alice's scope"
    with pytest.raises(NotAllowed, match="not in your queues"):
        await services.inbox.delete(ALICE, [*mine, outside[0]])
    assert set(mine) <= set(await everything(services, ALICE))  # none deleted


async def views_by_rule(services: Services, login: str) -> dict[View, int]:
    """How many messages of :func:`visible_by_rule` each view holds."""
    ids = await visible_by_rule(services, login)
    async with services.db.read() as session:
        rows = (await session.execute(sa.select(Message.id, Message.deleted, Message.folder))).all()
    counts = dict.fromkeys(View, 0)
    for mid, deleted, folder in rows:
        if mid in ids:
            if deleted:
                counts[View.DELETED] += 1
            else:
                counts[View(folder)] += 1
                counts[View.ALL] += 1
    return counts


@pytest.mark.parametrize("login", ["alice", "bruno", "chloe", "david"])
async def test_each_view_counts_exactly_the_scope(services: Services, login: str) -> None:
    assert await services.inbox.counts(Actor(login)) == await views_by_rule(services, login)


async def test_counts_hold_each_message_once_whatever_parts_of_the_scope_it_matches(
    services: Services,
) -> None:
    """counts() adds parts of the scope that do not overlap (their queues; their sends
    outside them; their conversations' other messages; the replies to their sends): a
    message matching several parts is counted once, one matching none not at all."""
    direct, other_direct = "+33757000001", "+33757000002"
    customer, stranger = "+33698100001", "+33698100002"
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    async with services.db.write() as session:
        ids = {
            login: await session.scalar(sa.select(Agent.id).where(Agent.login == login))
            for login in ("alice", "bruno", "chloe")
        }
        queue = {
            name: await session.scalar(sa.select(Queue.id).where(Queue.name == name))
            for name in ("Support", "Billing")
        }
        conversations = {}
        for name, queue_id in (("support", queue["Support"]), ("billing", queue["Billing"])):
            conversations[name] = Interaction(
                channel="sms",
                status="closed",
                queue_id=queue_id,
                agent_id=ids["alice"],
                remote_number=customer,
                local_number=direct,
                created_at=now,
            )
            session.add(conversations[name])
        await session.flush()

        def message(
            direction: str,
            *,
            queue: int | None = None,
            agent: str | None = None,
            conversation: str | None = None,
            local: str = direct,
            remote: str = customer,
            status: str = "delivered",
            deleted: bool = False,
        ) -> Message:
            inbound = direction == "inbound"
            status = "received" if inbound else status
            m = Message(
                direction=direction,
                from_number=remote if inbound else local,
                to_number=local if inbound else remote,
                remote_number=remote,
                text="scope",
                encoding="gsm7",
                status=status,
                folder=folder_for(direction, status),
                queue_id=queue,
                agent_id=ids[agent] if agent else None,
                interaction_id=conversations[conversation].id if conversation else None,
                created_at=now,
                deleted=deleted,
            )
            session.add(m)
            return m

        support, billing = queue["Support"], queue["Billing"]
        seen = [
            # their queue, their send, their conversation: three parts
            message("outbound", queue=support, agent="alice", conversation="support"),
            # their send in another queue, in their conversation there
            message("outbound", queue=billing, agent="alice", conversation="billing"),
            message("outbound", queue=billing, agent="alice", status="failed", deleted=True),
            # their conversation in another queue: the customer's text, a colleague's send
            message("inbound", queue=billing, conversation="billing"),
            message("outbound", queue=billing, agent="bruno", conversation="billing"),
            # their conversation, a message without a queue sent by someone else
            message("outbound", agent="chloe", conversation="billing", local=other_direct),
            # their Direct send, and the replies to it (one in their conversation, one
            # carrying their agent id, one deleted)
            message("outbound", agent="alice"),
            message("inbound"),
            message("inbound", conversation="billing"),
            message("inbound", agent="alice"),
            message("inbound", deleted=True),
        ]
        unseen = [
            message("inbound", local=other_direct),  # to a number they did not send from
            message("inbound", remote=stranger),  # from a number they did not send to
            message("inbound", queue=billing),  # in a queue: not a reply outside any queue
            message("outbound", queue=billing, agent="bruno"),
            message("outbound", agent="chloe"),
        ]
        await session.flush()
        seen_ids = {m.id for m in seen}
        unseen_ids = {m.id for m in unseen}

    visible = await visible_by_rule(services, "alice")
    assert seen_ids <= visible
    assert not unseen_ids & visible
    listed = set(await everything(services, ALICE)) | set(
        await everything(services, ALICE, View.DELETED)
    )
    assert listed == visible
    counts = await services.inbox.counts(ALICE)
    assert counts == await views_by_rule(services, "alice")
    assert counts[View.ALL] + counts[View.DELETED] == len(visible)
