"""The permission table of docs/permissions.md, run whole (issue [1/8], SPEC X6).

The table is read from the document itself, so the two cannot drift apart: every row names
an operation, whether an agent, a supervisor and an administrator may do it, the profile
permissions it also needs and its scope.  Below, every public operation of every service that
takes the acting agent is mapped to its row (a test fails if one is missing, so a new
operation must be placed in the table), and each is run

* for each role (``alice`` agent, ``sam`` supervisor, ``admin``): an allowed one succeeds
  and whatever it audits names the caller; a refused one raises ``NotAllowed`` and writes
  nothing: every row of every table (the balance with them) is the same after;
* for each role whose profile lacks a permission the row needs: refused with the SPEC's
  error (``No outgoing messaging permission``, ``No Direct SMS permission``, ``No Smart SMS
  permission``), nothing written;
* on data outside the row's scope (another queue's message for an agent, another agent's
  conversation for everyone): refused with ``NotAllowed``, nothing written;
* for an OS account with no agent record: ``Unknown agent``, nothing written.

On SQLite and PostgreSQL (the demo data of ``fast_seeded``).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col
from svc_helpers import Demo

from bannertui.domain.actor import Actor
from bannertui.domain.enums import (
    Channel,
    Direction,
    InteractionStatus,
    MessageStatus,
    MessageType,
    folder_for,
)
from bannertui.domain.errors import (
    BannerError,
    NoDirectPermission,
    NoMessagingPermission,
    NoSmartPermission,
    NotAllowed,
    UnknownAgent,
)
from bannertui.gateway import http_gateway
from bannertui.services import Services
from bannertui.services.admin import ProfileSettings, QueueSettings
from bannertui.services.inbox import InboxFilter, View
from bannertui.store.database import Database
from bannertui.store.models import AuditEvent, Interaction, Message, metadata

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"

#: The demo agent of each role; each has every permission (Messaging, Direct, Smart).
ROLES = {"agent": "alice", "supervisor": "sam", "admin": "admin"}
PROFILES = {"agent": "Direct and Smart", "supervisor": "Supervisor", "admin": "Administrator"}
#: Each profile's first SMS number (a Direct send must come from one of them).
SENDERS = {"alice": "+33757000001", "sam": "+33757000002", "admin": "+33757000001"}
CUSTOMER = "+33612000071"


def sender(actor: Actor) -> str:
    return SENDERS.get(actor.login, "+33757000001")


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo data, copied or re-seeded for each test (tests/services/conftest.py)."""
    return fast_seeded


# --- the table, read from the document ---------------------------------------------------


@dataclass(frozen=True)
class Row:
    operation: str
    cells: dict[str, str]  # role -> the cell as written
    needs: str
    scope: str

    def allows(self, role: str) -> bool:
        cell = self.cells[role].lower()
        assert cell.startswith(("yes", "no")), f"{self.operation!r}: {role} cell {cell!r}"
        return cell.startswith("yes")

    def scoped_roles(self) -> set[str]:
        """The roles the scope column restricts to their own data."""
        scope = self.scope.lower()
        if "assigned to them" in scope:
            return set(ROLES)
        if scope.startswith("agent: own"):
            return {"agent"}
        return set()

    def permission_clauses(self) -> list[str]:
        """The profile permissions of "also needs": "Messaging", "Direct", "Smart" or
        "Direct or Smart" (anything else there, e.g. "the provider set up", is not one)."""
        clauses = []
        for part in self.needs.replace(",", ";").split(";"):
            words = re.findall(r"\b(Messaging|Direct|Smart)\b", part)
            if words:
                clauses.append(" or ".join(words))
        return clauses


def read_table() -> dict[str, Row]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| operation |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    assert header == ["operation", "agent", "supervisor", "admin", "also needs", "scope"]
    rows: dict[str, Row] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(header), line
        op = cells[0]
        rows[op] = Row(op, dict(zip(ROLES, cells[1:4], strict=True)), cells[4], cells[5])
    return rows


TABLE = read_table()


# --- the world each operation runs in ----------------------------------------------------


class World:
    """The services on a fresh copy of the demo data, and the rows an operation works on
    (written directly, outside the services under test)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.demo = Demo(services.db)
        self.admin = Actor("admin")
        self.now = services.inbox.clock()

    async def queue(self, name: str) -> int:
        return await self.demo.queue_id(name)

    async def conversation(
        self, login: str, status: InteractionStatus = InteractionStatus.PROGRESSING
    ) -> int:
        """A Support conversation with a customer, assigned to ``login``, one unread text."""
        support = await self.queue("Support")
        agent = await self.demo.agent_id(login)
        async with self.services.db.write() as session:
            inter = Interaction(
                channel=Channel.SMS,
                status=status,
                queue_id=support,
                agent_id=agent,
                remote_number=CUSTOMER,
                local_number="+33757000010",
                created_at=self.now - timedelta(minutes=5),
                assigned_at=self.now - timedelta(minutes=5),
                last_message_at=self.now - timedelta(minutes=4),
                closed_at=None if status is InteractionStatus.PROGRESSING else self.now,
                unread=1,
            )
            session.add(inter)
            await session.flush()
            session.add(
                self._message(
                    Direction.INBOUND, MessageStatus.RECEIVED, "+33757000010", support, inter.id
                )
            )
            return int(inter.id or 0)

    def _message(
        self,
        direction: Direction,
        status: MessageStatus,
        local: str,
        queue_id: int | None,
        interaction_id: int | None = None,
        agent_id: int | None = None,
        *,
        deleted: bool = False,
    ) -> Message:
        inbound = direction is Direction.INBOUND
        folder = folder_for(direction, status)
        return Message(
            interaction_id=interaction_id,
            agent_id=agent_id,
            queue_id=queue_id,
            direction=direction,
            from_number=CUSTOMER if inbound else local,
            to_number=local if inbound else CUSTOMER,
            remote_number=CUSTOMER,
            text="Is my order on its way?",
            encoding="GSM7",
            credits=0 if inbound else 1,
            type=MessageType.NOTIFICATION,
            sender=None if inbound else local,
            status=status,
            folder=folder,
            error="Recipient handset unreachable" if status is MessageStatus.FAILED else None,
            attempts=0 if inbound else 1,
            created_at=self.now - timedelta(minutes=3),
            deleted=deleted,
            deleted_from=folder if deleted else None,
            deleted_at=self.now if deleted else None,
        )

    async def message(
        self,
        queue: str = "Support",
        *,
        failed: bool = False,
        deleted: bool = False,
        sender: str = "bruno",
    ) -> int:
        """A text of ``queue`` (Support: alice's queue; Billing: nobody's, so outside an
        agent's scope): received from a customer, or sent by ``sender`` and failed."""
        qid = await self.queue(queue)
        local = "+33757000010" if queue == "Support" else "+33757000011"
        if failed:
            msg = self._message(
                Direction.OUTBOUND,
                MessageStatus.FAILED,
                local,
                qid,
                agent_id=await self.demo.agent_id(sender),
                deleted=deleted,
            )
        else:
            msg = self._message(
                Direction.INBOUND, MessageStatus.RECEIVED, local, qid, deleted=deleted
            )
        async with self.services.db.write() as session:
            session.add(msg)
            await session.flush()
            return int(msg.id or 0)

    async def contact(self) -> int:
        row = await self.services.people.create_contact(
            self.admin, first_name="Noé", number="+33612000072"
        )
        return row.id

    async def group(self) -> int:
        return (await self.services.people.create_group(self.admin, "Partners")).id


Prep = Callable[[World, str], Awaitable[Any]]
Call = Callable[[World, Actor, Any], Awaitable[Any]]


async def nothing(w: World, login: str) -> None:
    return None


@dataclass(frozen=True)
class Op:
    row: str  # the table row's "operation" cell
    method: str  # "service.method": what the completeness check counts
    call: Call
    prep: Prep = nothing  # what the call works on, for the acting login
    #: The same call on data outside the row's scope (for an agent: another queue's; for a
    #: conversation: another agent's).
    foreign: Prep | None = None
    label: str = ""  # when one method has several ops

    @property
    def id(self) -> str:
        return self.label or self.method


S = Services


async def own_conversation(w: World, login: str) -> int:
    return await w.conversation(login)


async def closed_conversation(w: World, login: str) -> int:
    return await w.conversation(login, InteractionStatus.CLOSED)


async def brunos_conversation(w: World, login: str) -> int:
    return await w.conversation("bruno")


async def brunos_closed_conversation(w: World, login: str) -> int:
    return await w.conversation("bruno", InteractionStatus.CLOSED)


async def support_text(w: World, login: str) -> int:
    return await w.message("Support")


async def billing_text(w: World, login: str) -> int:
    return await w.message("Billing")


async def support_failed(w: World, login: str) -> int:
    return await w.message("Support", failed=True)


async def billing_failed(w: World, login: str) -> int:
    return await w.message("Billing", failed=True)


async def support_deleted(w: World, login: str) -> int:
    return await w.message("Support", deleted=True)


async def billing_deleted(w: World, login: str) -> int:
    return await w.message("Billing", deleted=True)


#: A template a bot can always fill (SPEC §7: the demo's need values only an agent knows).
BOT_TEMPLATE = "Goodbye"


async def support_queue_and_a_bot_template(w: World, login: str) -> int:
    await w.services.admin.save_template(
        w.admin,
        name=BOT_TEMPLATE,
        text='Thank you $firstname|"for writing to" $queue.',
        queues=["Support"],
    )
    return await w.queue("Support")


async def a_bot(w: World, login: str) -> int:
    support = await support_queue_and_a_bot_template(w, login)
    return await w.services.admin.add_bot(w.admin, support, "on_finish", BOT_TEMPLATE)


async def an_unused_profile(w: World, login: str) -> int:
    return await w.services.admin.save_profile(w.admin, ProfileSettings(name="Unused"))


async def a_number(w: World, login: str) -> int:
    return (await w.services.admin.add_number(w.admin, "+33757000030", "Lyon desk")).id


async def a_template(w: World, login: str) -> int:
    return await w.services.admin.save_template(w.admin, name="Spare", text="Hello")


async def a_listed_number(w: World, login: str) -> str:
    return (await w.services.admin.add_to_blacklist(w.admin, "+33612000088", "abuse")).number


async def a_contact(w: World, login: str) -> int:
    return await w.contact()


async def a_group(w: World, login: str) -> int:
    return await w.group()


async def a_group_and_contact(w: World, login: str) -> tuple[int, int]:
    return await w.group(), await w.contact()


async def an_agent_with_no_history(w: World, login: str) -> str:
    await w.services.agents.add(Actor("admin"), "zoe", "Zoé", "Direct only")
    return "zoe"


async def support_queue(w: World, login: str) -> int:
    return await w.queue("Support")


async def a_spare_connector(w: World, login: str) -> int:
    return (
        await w.services.connectors.add(
            w.admin, name="Spare", kind="https-json", settings={"url": "https://127.0.0.1:1/x"}
        )
    ).id


CONNECTOR_SETTINGS = {"url": "https://127.0.0.1:1/sms"}
PROVIDER = {
    "url": "https://127.0.0.1:1/sms",
    "auth_enabled": False,
    "login": None,
    "password": None,
}
QUEUE = QueueSettings(name="Team")
PROFILE = ProfileSettings(
    name="Night shift", messaging=True, direct=True, authorized_countries="FR"
)

CONSOLE = "open the console (Banner)"
NEW = "New interaction: check prerequisites, check a number"
DIRECT = "send a Direct SMS (`sms send`, Banner, Send SMS)"
START = "start a Smart conversation"
CONV = "send in, close, archive, mark read a conversation"
DRAFTS = "drafts: save, read, clear, restore (a conversation, the Direct form, Send SMS)"
READ = "inbox: views, counts, pages, search, a message"
REPLY = "inbox: reply, forward"
DELETE = "inbox: delete, restore"
RESEND = "inbox: resend failed"
PEOPLE = "contacts and groups: read, create, edit, delete, import"
TEMPLATES = "templates: list, read (the New forms, a conversation)"
BALANCE = "account balance (`account show`, the Banner)"
DASHBOARD = "supervisor dashboard (`F7`)"
ADMIN = (
    "administration (`F10`): queues, members, bots, templates, profiles, numbers, "
    "blacklist, audit trail"
)
PROVIDER_ROW = "provider settings (`provider set/show/test`, Test connection)"
CONNECTORS = "connectors (`connector add/edit/show/test/remove`, the Connectors tab)"
CREDITS = "add credits (`account add-credits`)"
ACT_AS = "act as another agent (`--agent X`)"
OWN_PASSWORD = "set their own sign-in password (`agent password`)"
OTHER_PASSWORD = "set another agent's sign-in password"
AGENTS = "agents: add, disable, enable, remove (`agent add/disable/enable/remove`)"

OPS: list[Op] = [
    # the console
    Op(CONSOLE, "agents.context", lambda w, a, t: w.services.agents.context(a)),
    Op(CONSOLE, "conversations.overview", lambda w, a, t: w.services.conversations.overview(a)),
    Op(CONSOLE, "conversations.summaries", lambda w, a, t: w.services.conversations.summaries(a)),
    Op(
        CONSOLE,
        "conversations.open_interactions",
        lambda w, a, t: w.services.conversations.open_interactions(a),
    ),
    # New
    Op(NEW, "agents.outbound_options", lambda w, a, t: w.services.agents.outbound_options(a)),
    Op(
        NEW,
        "outbound.check_recipient",
        lambda w, a, t: w.services.outbound.check_recipient(a, "+33 6 12 00 00 71"),
    ),
    # Direct
    Op(
        DIRECT,
        "outbound.send_direct",
        lambda w, a, t: w.services.outbound.send_direct(a, CUSTOMER, sender(a), "Hi"),
    ),
    Op(DIRECT, "inbox.send", lambda w, a, t: w.services.inbox.send(a, [CUSTOMER], "Hi")),
    Op(DIRECT, "inbox.recipients", lambda w, a, t: w.services.inbox.recipients(a, [CUSTOMER])),
    # Smart
    Op(
        START,
        "outbound.start_smart",
        lambda w, a, t: w.services.outbound.start_smart(a, CUSTOMER, t),
        prep=support_queue,
    ),
    Op(
        CONV,
        "outbound.send_smart",
        lambda w, a, t: w.services.outbound.send_smart(a, t, "On its way"),
        prep=own_conversation,
        foreign=brunos_conversation,
    ),
    Op(
        CONV,
        "conversations.get",
        lambda w, a, t: w.services.conversations.get(a, t),
        prep=own_conversation,
        foreign=brunos_conversation,
    ),
    Op(
        CONV,
        "conversations.thread",
        lambda w, a, t: w.services.conversations.thread(a, t),
        prep=own_conversation,
        foreign=brunos_conversation,
    ),
    Op(
        CONV,
        "conversations.mark_read",
        lambda w, a, t: w.services.conversations.mark_read(a, t),
        prep=own_conversation,
        foreign=brunos_conversation,
    ),
    Op(
        CONV,
        "conversations.close",
        lambda w, a, t: w.services.conversations.close(a, t),
        prep=own_conversation,
        foreign=brunos_conversation,
    ),
    Op(
        CONV,
        "conversations.archive",
        lambda w, a, t: w.services.conversations.archive(a, t),
        prep=closed_conversation,
        foreign=brunos_closed_conversation,
    ),
    # drafts: the agent's own; a conversation's while it is assigned to them
    Op(
        DRAFTS,
        "drafts.save",
        lambda w, a, t: w.services.drafts.save(a, t, "On its way"),
        prep=own_conversation,
        foreign=brunos_conversation,
    ),
    Op(
        DRAFTS,
        "drafts.save",
        lambda w, a, t: w.services.drafts.save(a, "direct", "Hi", recipients=CUSTOMER),
        label="drafts.save (direct)",
    ),
    Op(
        DRAFTS,
        "drafts.get",
        lambda w, a, t: w.services.drafts.get(a, t),
        prep=own_conversation,
        foreign=brunos_conversation,
    ),
    Op(
        DRAFTS,
        "drafts.get",
        lambda w, a, t: w.services.drafts.get(a, "compose"),
        label="drafts.get (compose)",
    ),
    Op(
        DRAFTS,
        "drafts.clear",
        lambda w, a, t: w.services.drafts.clear(a, t),
        prep=own_conversation,
        foreign=brunos_conversation,
    ),
    Op(
        DRAFTS,
        "drafts.restore",
        lambda w, a, t: w.services.drafts.restore(a, t),
        prep=own_conversation,
        foreign=brunos_conversation,
    ),
    Op(
        DRAFTS,
        "drafts.restore",
        lambda w, a, t: w.services.drafts.restore(a, "direct", number=CUSTOMER),
        label="drafts.restore (direct)",
    ),
    # the inbox
    Op(READ, "inbox.counts", lambda w, a, t: w.services.inbox.counts(a)),
    Op(READ, "inbox.page", lambda w, a, t: w.services.inbox.page(a, View.ALL)),
    Op(
        READ,
        "inbox.page",
        lambda w, a, t: w.services.inbox.page(a, View.RECEIVED, filters=InboxFilter(text="order")),
        label="inbox.page (search)",
    ),
    Op(READ, "inbox.view_ids", lambda w, a, t: w.services.inbox.view_ids(a, View.ALL)),
    Op(
        READ,
        "inbox.message",
        lambda w, a, t: w.services.inbox.message(a, t),
        prep=support_text,
        foreign=billing_text,
    ),
    Op(
        REPLY,
        "inbox.reply_numbers",
        lambda w, a, t: w.services.inbox.reply_numbers(a, [t]),
        prep=support_text,
        foreign=billing_text,
    ),
    Op(
        REPLY,
        "inbox.reply_sender",
        lambda w, a, t: w.services.inbox.reply_sender(a, [t]),
        prep=support_text,
        foreign=billing_text,
    ),
    Op(
        REPLY,
        "inbox.reply",
        lambda w, a, t: w.services.inbox.reply(a, [t], "We are on it", sender=sender(a)),
        prep=support_text,
        foreign=billing_text,
    ),
    Op(
        REPLY,
        "inbox.forward",
        lambda w, a, t: w.services.inbox.forward(a, [t], ["+33612000073"], sender=sender(a)),
        prep=support_text,
        foreign=billing_text,
    ),
    Op(
        DELETE,
        "inbox.delete",
        lambda w, a, t: w.services.inbox.delete(a, [t]),
        prep=support_text,
        foreign=billing_text,
    ),
    Op(
        DELETE,
        "inbox.restore",
        lambda w, a, t: w.services.inbox.restore(a, [t]),
        prep=support_deleted,
        foreign=billing_deleted,
    ),
    Op(
        RESEND,
        "inbox.failed_ids",
        lambda w, a, t: w.services.inbox.failed_ids(a, [t]),
        prep=support_failed,
        foreign=billing_failed,
    ),
    Op(
        RESEND,
        "inbox.resend_quote",
        lambda w, a, t: w.services.inbox.resend_quote(a, [t]),
        prep=support_failed,
        foreign=billing_failed,
    ),
    Op(
        RESEND,
        "inbox.resend_failed",
        lambda w, a, t: w.services.inbox.resend_failed(a, [t]),
        prep=support_failed,
        foreign=billing_failed,
    ),
    # contacts and groups
    Op(
        PEOPLE,
        "people.create_contact",
        lambda w, a, t: w.services.people.create_contact(
            a, first_name="Inès", number="+33612000074"
        ),
    ),
    Op(
        PEOPLE,
        "people.update_contact",
        lambda w, a, t: w.services.people.update_contact(a, t, company="Acme"),
        prep=a_contact,
    ),
    Op(
        PEOPLE,
        "people.delete_contact",
        lambda w, a, t: w.services.people.delete_contact(a, t),
        prep=a_contact,
    ),
    Op(PEOPLE, "people.create_group", lambda w, a, t: w.services.people.create_group(a, "Press")),
    Op(
        PEOPLE,
        "people.rename_group",
        lambda w, a, t: w.services.people.rename_group(a, t, "Media"),
        prep=a_group,
    ),
    Op(
        PEOPLE,
        "people.delete_group",
        lambda w, a, t: w.services.people.delete_group(a, t),
        prep=a_group,
    ),
    Op(
        PEOPLE,
        "people.add_to_group",
        lambda w, a, t: w.services.people.add_to_group(a, t[0], [t[1]]),
        prep=a_group_and_contact,
    ),
    Op(
        PEOPLE,
        "people.remove_from_group",
        lambda w, a, t: w.services.people.remove_from_group(a, t[0], [t[1]]),
        prep=a_group_and_contact,
    ),
    Op(
        PEOPLE,
        "people.import_csv",
        lambda w, a, t: w.services.people.import_csv(a, "first_name,number\nJules,+33612000075\n"),
    ),
    Op(PEOPLE, "people.contacts", lambda w, a, t: w.services.people.contacts(a, "Léa")),
    Op(PEOPLE, "people.contact_count", lambda w, a, t: w.services.people.contact_count(a, "Léa")),
    Op(PEOPLE, "people.contact", lambda w, a, t: w.services.people.contact(a, t), prep=a_contact),
    Op(
        PEOPLE,
        "people.contact_by_number",
        lambda w, a, t: w.services.people.contact_by_number(a, "+33612000001"),
    ),
    Op(PEOPLE, "people.names_for", lambda w, a, t: w.services.people.names_for(a, [CUSTOMER])),
    Op(PEOPLE, "people.groups", lambda w, a, t: w.services.people.groups(a)),
    Op(
        PEOPLE,
        "people.group_numbers",
        lambda w, a, t: w.services.people.group_numbers(a, [t]),
        prep=a_group,
    ),
    # templates
    Op(
        TEMPLATES,
        "outbound.templates",
        lambda w, a, t: w.services.outbound.templates(a, t),
        prep=support_queue,
    ),
    Op(
        TEMPLATES,
        "outbound.template_id",
        lambda w, a, t: w.services.outbound.template_id(a, "Ticket follow-up"),
    ),
    Op(
        TEMPLATES,
        "outbound.template_text",
        lambda w, a, t: w.services.outbound.template_text(a, t),
        prep=a_template,
    ),
    # the balance
    Op(BALANCE, "accounts.balance", lambda w, a, t: w.services.accounts.balance(a)),
    Op(BALANCE, "accounts.get", lambda w, a, t: w.services.accounts.get(a)),
    # the dashboard
    Op(DASHBOARD, "supervisor.dashboard", lambda w, a, t: w.services.supervisor.dashboard(a)),
    # administration
    Op(ADMIN, "admin.require_admin", lambda w, a, t: w.services.admin.require_admin(a)),
    Op(ADMIN, "admin.queues", lambda w, a, t: w.services.admin.queues(a)),
    Op(ADMIN, "admin.save_queue", lambda w, a, t: w.services.admin.save_queue(a, QUEUE)),
    Op(
        ADMIN,
        "admin.set_members",
        lambda w, a, t: w.services.admin.set_members(a, t, ["alice", "bruno", "chloe"]),
        prep=support_queue,
    ),
    Op(ADMIN, "admin.bots", lambda w, a, t: w.services.admin.bots(a)),
    Op(
        ADMIN,
        "admin.add_bot",
        lambda w, a, t: w.services.admin.add_bot(a, t, "on_start", BOT_TEMPLATE),
        prep=support_queue_and_a_bot_template,
    ),
    Op(
        ADMIN,
        "admin.set_bot_enabled",
        lambda w, a, t: w.services.admin.set_bot_enabled(a, t, False),
        prep=a_bot,
    ),
    Op(ADMIN, "admin.remove_bot", lambda w, a, t: w.services.admin.remove_bot(a, t), prep=a_bot),
    Op(ADMIN, "admin.templates", lambda w, a, t: w.services.admin.templates(a)),
    Op(
        ADMIN,
        "admin.save_template",
        lambda w, a, t: w.services.admin.save_template(a, name="Welcome", text="Welcome!"),
    ),
    Op(
        ADMIN,
        "admin.delete_template",
        lambda w, a, t: w.services.admin.delete_template(a, t),
        prep=a_template,
    ),
    Op(ADMIN, "admin.profiles", lambda w, a, t: w.services.admin.profiles(a)),
    Op(ADMIN, "admin.save_profile", lambda w, a, t: w.services.admin.save_profile(a, PROFILE)),
    Op(
        ADMIN,
        "admin.delete_profile",
        lambda w, a, t: w.services.admin.delete_profile(a, t),
        prep=an_unused_profile,
    ),
    Op(
        ADMIN,
        "admin.set_number_label",
        lambda w, a, t: w.services.admin.set_number_label(a, t, "Front desk"),
        prep=a_number,
    ),
    Op(ADMIN, "admin.roster", lambda w, a, t: w.services.admin.roster(a)),
    Op(ADMIN, "admin.numbers", lambda w, a, t: w.services.admin.numbers(a)),
    Op(
        ADMIN,
        "admin.add_number",
        lambda w, a, t: w.services.admin.add_number(a, "+33757000031", "Nice desk"),
    ),
    Op(
        ADMIN,
        "admin.remove_number",
        lambda w, a, t: w.services.admin.remove_number(a, t),
        prep=a_number,
    ),
    Op(ADMIN, "admin.blacklist", lambda w, a, t: w.services.admin.blacklist(a)),
    Op(
        ADMIN,
        "admin.add_to_blacklist",
        lambda w, a, t: w.services.admin.add_to_blacklist(a, "+33612000077", "spam"),
    ),
    Op(
        ADMIN,
        "admin.remove_from_blacklist",
        lambda w, a, t: w.services.admin.remove_from_blacklist(a, t),
        prep=a_listed_number,
    ),
    Op(ADMIN, "admin.audit_trail", lambda w, a, t: w.services.admin.audit_trail(a)),
    # the provider
    Op(
        PROVIDER_ROW,
        "provider.save",
        lambda w, a, t: w.services.provider.save(actor=a, **PROVIDER),
    ),
    Op(
        PROVIDER_ROW,
        "provider.test_settings",
        lambda w, a, t: w.services.provider.test_settings(actor=a, **PROVIDER),
    ),
    # the connectors
    Op(CONNECTORS, "connectors.connectors", lambda w, a, t: w.services.connectors.connectors(a)),
    Op(CONNECTORS, "connectors.get", lambda w, a, t: w.services.connectors.get(a, 1)),
    Op(CONNECTORS, "connectors.names", lambda w, a, t: w.services.connectors.names(a)),
    Op(
        CONNECTORS,
        "connectors.add",
        lambda w, a, t: w.services.connectors.add(
            a, name="Backup", kind="https-json", settings=CONNECTOR_SETTINGS
        ),
    ),
    Op(
        CONNECTORS,
        "connectors.edit",
        lambda w, a, t: w.services.connectors.edit(a, 1, settings=CONNECTOR_SETTINGS),
    ),
    Op(
        CONNECTORS,
        "connectors.remove",
        lambda w, a, t: w.services.connectors.remove(a, t),
        prep=a_spare_connector,
    ),
    Op(
        CONNECTORS,
        "connectors.add_number",
        lambda w, a, t: w.services.connectors.add_number(a, 1, "+33757000031"),
    ),
    Op(
        CONNECTORS,
        "connectors.test",
        lambda w, a, t: w.services.connectors.test(
            a, kind="https-json", settings=CONNECTOR_SETTINGS
        ),
    ),
    Op(
        CONNECTORS,
        "connectors.provider_numbers",
        lambda w, a, t: w.services.connectors.provider_numbers(a, 1),
    ),
    Op(DASHBOARD, "connectors.figures", lambda w, a, t: w.services.connectors.figures(a)),
    # credits
    Op(CREDITS, "accounts.add_credits", lambda w, a, t: w.services.accounts.add_credits(a, 500)),
    # acting as another agent: authenticated as the role's login, asking to act as bruno
    Op(
        ACT_AS,
        "agents.authenticate",
        lambda w, a, t: w.services.agents.authenticate(a.login, acting_as="bruno"),
    ),
    # passwords
    Op(
        OWN_PASSWORD,
        "web.set_password",
        lambda w, a, t: w.services.web.set_password(a, a.login, "correct horse battery"),
        label="web.set_password (own)",
    ),
    # agents and their database roles
    Op(
        AGENTS,
        "agents.add",
        lambda w, a, t: w.services.agents.add(a, "eve", "Eve", "Direct and Smart", "agent"),
    ),
    Op(
        AGENTS, "agents.set_active", lambda w, a, t: w.services.agents.set_active(a, "david", False)
    ),
    Op(
        AGENTS,
        "agents.remove",
        lambda w, a, t: w.services.agents.remove(a, t),
        prep=an_agent_with_no_history,
    ),
    Op(
        OTHER_PASSWORD,
        "web.set_password",
        lambda w, a, t: w.services.web.set_password(a, "bruno", "correct horse battery"),
        label="web.set_password (another's)",
    ),
]

#: Public methods that take no acting agent, and why (docs/permissions.md, "Processes that
#: are not agents"): they are the dispatcher's, the webhook receiver's, the telephony
#: simulator's, or what runs before anyone is authenticated.
NOT_AN_AGENTS = {
    "accounts.ensure": "setup: `db init` and the seed create the account",
    "agents.init_admin": "`db init --admin`: refused once an administrator exists",
    "inbound.receive": "the webhook receiver: the provider posts an inbound text",
    "inbound.record_receipt": "the webhook receiver: a delivery receipt",
    "routing.sweep": "the router's timer: queue time-outs and distribution",
    "voice.incoming_call": "the telephony simulator: a call arriving for an agent",
    "provider.get": "the dispatcher reads where to send",
    "provider.connector_id": "the dispatcher reads which connector the provider settings are",
    "inbound.provider_status": "the webhook receiver: a Twilio status callback",
    "inbound.part_receipt": "the dispatcher's SMPP session: a receipt for one part",
    "connectors.records_for_services": "the dispatcher and the receiver read the connectors",
    "connectors.numbers_of": "the demo runtime gives a connector's numbers to its simulator",
    "provider.update": "the provider settings written by the system (no secrets)",
    "web.sign_in": "before authentication: a login and a password",
    "web.session": "before authentication: the browser's session token",
    "web.sign_out": "the browser's session token ends",
}

OP_IDS = [op.id for op in OPS]
assert len(set(OP_IDS)) == len(OP_IDS), "op ids must be unique"


def public_methods() -> dict[str, inspect.Signature]:
    """Every public method of every service of the container, "service.method"."""
    found: dict[str, inspect.Signature] = {}
    unbound = Services(None)  # type: ignore[arg-type]  (services made, never run)
    for attr, member in vars(Services).items():
        if not isinstance(member, functools.cached_property):
            continue
        cls = type(getattr(unbound, attr))
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            sig = inspect.signature(fn)
            params = list(sig.parameters)
            if len(params) > 1 and params[1] == "session":
                continue  # a helper taking the caller's transaction (audit)
            found[f"{attr}.{name}"] = sig
    return found


# --- the checks ------------------------------------------------------------------------


def _fingerprint_queries() -> list[tuple[str, str]]:
    out = []
    for table in metadata.sorted_tables:
        pk = list(table.primary_key.columns) or list(table.columns)
        order = ", ".join(f'"{c.name}"' for c in pk)
        out.append((table.name, f'SELECT * FROM "{table.name}" ORDER BY {order}'))
    return out


FINGERPRINT_QUERIES = _fingerprint_queries()


async def fingerprint(db: Database) -> dict[str, str]:
    """Every table's rows, hashed: "nothing written" is two equal fingerprints.  (The rows as
    the driver returns them: no statement to compile, no type to convert, thousands of times.)"""
    out = {}
    async with db.read() as session:
        conn = await session.connection()
        for name, query in FINGERPRINT_QUERIES:
            rows = (await conn.exec_driver_sql(query)).all()
            out[name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return out


async def audit_actors_since(db: Database, last_id: int) -> set[str]:
    async with db.read() as session:
        return set(
            await session.scalars(sa.select(AuditEvent.actor).where(col(AuditEvent.id) > last_id))
        )


async def last_audit_id(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0)


PERMISSION_ERRORS: dict[str, type[BannerError]] = {
    "Messaging": NoMessagingPermission,
    "Direct": NoDirectPermission,
    "Smart": NoSmartPermission,
    "Direct or Smart": NoSmartPermission,
}
PERMISSION_COLUMNS = {
    "Messaging": {"messaging": False},
    "Direct": {"direct": False},
    "Smart": {"smart": False},
    "Direct or Smart": {"direct": False, "smart": False},
}


def test_every_operation_of_every_service_is_in_the_table() -> None:
    methods = public_methods()
    takes_actor = {m for m, sig in methods.items() if "actor" in sig.parameters}
    covered = {op.method for op in OPS}
    missing = sorted(takes_actor - covered - set(NOT_AN_AGENTS))
    assert not missing, f"operations not placed in the permission table: {missing}"
    unexplained = sorted(set(methods) - takes_actor - set(NOT_AN_AGENTS) - covered)
    assert not unexplained, f"public operations taking no acting agent: {unexplained}"
    assert not (set(NOT_AN_AGENTS) - set(methods)), "NOT_AN_AGENTS names a missing method"
    text = DOC.read_text(encoding="utf-8")
    undocumented = [m for m in NOT_AN_AGENTS if f"`{m}`" not in text]
    assert not undocumented, f"docs/permissions.md does not name {undocumented}"
    # ... and an operation that takes an actor is never waved through as "not an agent's"
    assert not (set(NOT_AN_AGENTS) & takes_actor - {"provider.update"})


def test_every_row_of_the_table_is_run() -> None:
    rows = {op.row for op in OPS}
    unknown = rows - set(TABLE)
    assert not unknown, f"ops name rows that docs/permissions.md does not have: {unknown}"
    elsewhere = {
        # rows that are commands, not service operations: tests/cli/test_cli_identity.py
        "`db seed-demo` into a database that has agents",
        "`simulate call`, `simulate sms` on a real database",
        "`db init --admin`",
    }
    assert set(TABLE) - rows == elsewhere


def _expected(op: Op, role: str) -> bool:
    return TABLE[op.row].allows(role)


@pytest.fixture(params=["owner", "own role"])
async def connected(
    request: pytest.FixtureRequest, services: Services
) -> AsyncIterator[Callable[[str], Services]]:
    """``connected(login)``: the services the call under test runs on.  "owner": the test's
    own connection (the services' checks alone); "own role" (PostgreSQL only): a connection
    logged in as the agent's own database role, where row-level security and the grants
    apply too (issue #17: the whole table passes with each role connected as itself)."""
    if request.param == "own role" and services.db.is_sqlite:
        pytest.skip("SQLite has no database roles")
    opened: list[Database] = []

    def make(login: str) -> Services:
        if request.param == "owner":
            return services
        db = Database(services.db.url.set(username=login).render_as_string(hide_password=False))
        opened.append(db)
        return Services(db, services.outbound.clock, gateways=http_gateway)

    yield make
    for db in opened:
        await db.dispose()


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
async def test_each_role(
    services: Services, connected: Callable[[str], Services], op: Op, role: str
) -> None:
    w = World(services)
    login = ROLES[role]
    target = await op.prep(w, login)
    actor = Actor(login)
    w.services = connected(login)
    if _expected(op, role):
        last = await last_audit_id(services.db)
        await op.call(w, actor, target)
        assert await audit_actors_since(services.db, last) <= {login}, (
            "the audit trail names the caller"
        )
    else:
        before = await fingerprint(services.db)
        with pytest.raises(NotAllowed) as refused:
            await op.call(w, actor, target)
        assert str(refused.value).startswith("Not allowed: ")
        assert await fingerprint(services.db) == before


def _needs(op: Op) -> list[str]:
    """The clauses of the row's "also needs" this op itself needs (see OP_NEEDS)."""
    return OP_NEEDS.get(op.id, TABLE[op.row].permission_clauses())


#: Where an op needs fewer of its row's permissions than the row lists (the row says which).
OP_NEEDS: dict[str, list[str]] = {
    "inbox.recipients": [],  # resolving the typed recipients sends nothing
    # a conversation's reads and closing need no permission; sending in it needs Smart
    "conversations.get": [],
    "conversations.thread": [],
    "conversations.mark_read": [],
    "conversations.close": [],
    "conversations.archive": [],
    "inbox.reply_numbers": [],  # what a reply would go to; sends nothing
    "inbox.reply_sender": [],  # what a reply would go from; sends nothing
    "inbox.failed_ids": [],  # which of the selection failed; sends nothing
    "inbox.resend_quote": [],  # what a resend would cost; sends nothing
}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(
    ("op", "clause"),
    [(op, clause) for op in OPS for clause in _needs(op)],
    ids=[f"{op.id}-{clause}" for op in OPS for clause in _needs(op)],
)
async def test_each_permission_the_row_needs(
    services: Services, op: Op, clause: str, role: str
) -> None:
    """Without a permission its row needs, an allowed operation is refused with the SPEC's
    error, whatever the role (an administrator without Direct cannot send Direct)."""
    if not _expected(op, role):
        pytest.skip(f"{role} may not {op.row} at all")
    w = World(services)
    login = ROLES[role]
    target = await op.prep(w, login)
    await w.demo.set_profile(PROFILES[role], **PERMISSION_COLUMNS[clause])
    before = await fingerprint(services.db)
    with pytest.raises(PERMISSION_ERRORS[clause]):
        await op.call(w, Actor(login), target)
    assert await fingerprint(services.db) == before


def test_the_permissions_named_by_the_rows_are_needed_by_their_ops() -> None:
    """Each permission a row's "also needs" names is needed by at least one of its ops, and
    an op needs only permissions its row names."""
    for row in {op.row for op in OPS}:
        named = set(TABLE[row].permission_clauses())
        needed = {c for op in OPS if op.row == row for c in _needs(op)}
        assert needed == named, row


SCOPED = [op for op in OPS if op.foreign is not None]


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("op", SCOPED, ids=[op.id for op in SCOPED])
async def test_the_scope_of_each_role(
    services: Services, connected: Callable[[str], Services], op: Op, role: str
) -> None:
    """On data outside the role's scope: refused, nothing written; where the role's scope
    is everything, the same call is allowed."""
    if not _expected(op, role):
        pytest.skip(f"{role} may not {op.row} at all")
    assert op.foreign is not None
    w = World(services)
    login = ROLES[role]
    target = await op.foreign(w, login)
    w.services = connected(login)
    if role in TABLE[op.row].scoped_roles():
        before = await fingerprint(services.db)
        with pytest.raises(NotAllowed):
            await op.call(w, Actor(login), target)
        assert await fingerprint(services.db) == before
    else:
        await op.call(w, Actor(login), target)


@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
async def test_an_os_account_with_no_agent_record(services: Services, op: Op) -> None:
    w = World(services)
    target = await op.prep(w, "admin")
    before = await fingerprint(services.db)
    with pytest.raises(UnknownAgent, match="Unknown agent: mallory"):
        await op.call(w, Actor("mallory"), target)
    assert await fingerprint(services.db) == before
