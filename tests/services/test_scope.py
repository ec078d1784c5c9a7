"""SPEC X6's data scope in the inbox (issue [1/8]): an agent sees and acts on the messages of
the queues they are a member of, of the conversations assigned to them, their own Direct sends
and the replies to those; supervisors and administrators see everything.  On SQLite and
PostgreSQL, on the demo data (Support and Sales: alice and bruno; Billing: nobody; chloe is
Direct only and a member of no queue)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bannertui.domain.actor import Actor
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
