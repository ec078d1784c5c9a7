"""Issue #15: the shared reads take the acting agent too.  Contacts, groups, templates and the
balance are the whole account's, so every role reads them; an unknown or disabled login is
refused as "Unknown agent" before anything is read.  The list of agents is for supervisors and
administrators.  On SQLite and PostgreSQL, on the demo data (alice: agent, sam: supervisor,
admin: administrator)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from svc_helpers import Demo

from bannertui.domain.actor import Actor
from bannertui.domain.errors import UnknownAgent
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import Agent

ALICE, SAM, ADMIN, NOBODY = (Actor(x) for x in ("alice", "sam", "admin", "nobody"))
LEA = "+33612000001"


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py)."""
    return fast_seeded


Read = Callable[[Services, Demo, Actor], Awaitable[Any]]


async def _contacts(s: Services, d: Demo, a: Actor) -> Any:
    return await s.people.contacts(a, "Léa")


async def _no_contacts(s: Services, d: Demo, a: Actor) -> Any:
    return await s.people.contacts(a, limit=0)  # nothing to read: still checked


async def _contact(s: Services, d: Demo, a: Actor) -> Any:
    row = await s.people.contact_by_number(ADMIN, LEA)
    assert row is not None
    return await s.people.contact(a, row.id)


async def _contact_by_number(s: Services, d: Demo, a: Actor) -> Any:
    return await s.people.contact_by_number(a, LEA)


async def _groups(s: Services, d: Demo, a: Actor) -> Any:
    return await s.people.groups(a)


async def _group_numbers(s: Services, d: Demo, a: Actor) -> Any:
    vip = next(g.id for g in await s.people.groups(ADMIN) if g.name == "VIP")
    return await s.people.group_numbers(a, [vip])


async def _no_group_numbers(s: Services, d: Demo, a: Actor) -> Any:
    return await s.people.group_numbers(a, [])  # nothing to read: still checked


async def _names_for(s: Services, d: Demo, a: Actor) -> Any:
    return await s.people.names_for(a, [LEA])


async def _templates(s: Services, d: Demo, a: Actor) -> Any:
    return await s.outbound.templates(a)


async def _queue_templates(s: Services, d: Demo, a: Actor) -> Any:
    return await s.outbound.templates(a, await d.queue_id("Support"))


async def _template_text(s: Services, d: Demo, a: Actor) -> Any:
    return await s.outbound.template_text(a, await d.template_id("Appointment reminder"))


async def _template_id(s: Services, d: Demo, a: Actor) -> Any:
    return await s.outbound.template_id(a, "Appointment reminder")


async def _balance(s: Services, d: Demo, a: Actor) -> Any:
    return await s.accounts.balance(a)


SHARED: dict[str, Read] = {
    "contacts": _contacts,
    "contacts(limit=0)": _no_contacts,
    "contact": _contact,
    "contact_by_number": _contact_by_number,
    "groups": _groups,
    "group_numbers": _group_numbers,
    "group_numbers([])": _no_group_numbers,
    "names_for": _names_for,
    "templates": _templates,
    "templates(queue)": _queue_templates,
    "template_text": _template_text,
    "template_id": _template_id,
    "balance": _balance,
}


@pytest.mark.parametrize("read", SHARED.values(), ids=SHARED.keys())
async def test_every_role_reads_what_the_account_shares(
    services: Services, demo: Demo, read: Read
) -> None:
    results = [await read(services, demo, actor) for actor in (ALICE, SAM, ADMIN)]
    assert results[0] == results[1] == results[2]
    assert results[0] not in (None, "")


@pytest.mark.parametrize("read", SHARED.values(), ids=SHARED.keys())
async def test_an_unknown_or_disabled_agent_reads_nothing_shared(
    services: Services, demo: Demo, read: Read
) -> None:
    with pytest.raises(UnknownAgent, match="nobody"):
        await read(services, demo, NOBODY)
    await demo.update(Agent, Agent.login == "alice", active=False)
    with pytest.raises(UnknownAgent, match="alice"):
        await read(services, demo, ALICE)
