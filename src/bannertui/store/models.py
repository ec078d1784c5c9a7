"""The tables (SQLModel).  One module so Alembic sees the whole schema in one metadata.

Conventions: ids are integers; times are timezone-aware UTC (stored naive-UTC on SQLite by
:class:`UTCDateTime`); enumerations are short strings whose allowed values are the
``StrEnum`` classes of :mod:`bannertui.domain.enums` and are checked by CHECK constraints.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from bannertui.domain.enums import (
    AgentState,
    BotTrigger,
    Channel,
    ConnectorType,
    Direction,
    Folder,
    InteractionStatus,
    MessageStatus,
    MessageType,
    Role,
    Strategy,
)

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# --- column helpers -------------------------------------------------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text written by another tool
            value = datetime.fromisoformat(value)
        result: datetime = value
        return result.replace(tzinfo=UTC) if result.tzinfo is None else result.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=nullable, **kw)


def _check_in(column: str, values: type[enum.StrEnum]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


# --- tables ---------------------------------------------------------------------------


class Account(SQLModel, table=True):
    """The client account: its SMS credit balance.  Its providers are :class:`Connector`
    rows."""

    __table_args__ = (sa.CheckConstraint("credits >= 0", name="credits_not_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    credits: int = Field(default=0)
    updated_at: datetime | None = _ts()


class Connector(SQLModel, table=True):
    """An SMS provider of the account (issue #20): its type and settings (never its secret,
    kept apart by :mod:`bannertui.store.secrets`).  Queues and numbers belong to one; each
    outbound message records the one it goes through.

    ``settings`` holds the type's fields (https-json: url, auth_enabled, login, ca_file;
    twilio: account_sid, api_key_sid, messaging_service_sid, api_base, public_url, ca_file),
    read by administrators and the services only (on PostgreSQL, docs/permissions.md);
    ``configured`` says whether it can send, which everyone may know."""

    __table_args__ = (_check_in("type", ConnectorType),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    type: str = Field(max_length=16)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    configured: bool = False
    enabled: bool = True
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class MessagePart(SQLModel, table=True):
    """One part of an outbound message as an SMSC accepted it (SMPP, issue #21): the SMSC's
    id for it, which its delivery receipt names, and the part's state once a receipt came.
    A message is delivered when every part is, failed when one part failed."""

    __tablename__ = "message_part"

    connector_id: int = Field(foreign_key="connector.id", primary_key=True, ondelete="CASCADE")
    provider_id: str = Field(max_length=128, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True, ondelete="CASCADE")
    seq: int
    state: str | None = Field(default=None, max_length=16)
    error: str | None = Field(default=None, max_length=1000)


class ProfileSmsNumber(SQLModel, table=True):
    __tablename__ = "profile_sms_number"

    profile_id: int = Field(foreign_key="profile.id", primary_key=True, ondelete="CASCADE")
    sms_number_id: int = Field(foreign_key="sms_number.id", primary_key=True, ondelete="CASCADE")


class Profile(SQLModel, table=True):
    __table_args__ = (
        _check_in("role", Role),
        sa.CheckConstraint("max_simultaneous >= 0", name="max_simultaneous_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    role: str = Field(default=Role.AGENT, max_length=16)
    messaging: bool = False
    direct: bool = False
    smart: bool = False
    max_simultaneous: int = 5
    #: ISO 3166 alpha-2 codes, comma separated; "*" authorizes every country, "" none.
    authorized_countries: str = Field(default="", max_length=2048)


class Agent(SQLModel, table=True):
    __table_args__ = (_check_in("state", AgentState),)

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=120)
    profile_id: int = Field(foreign_key="profile.id", index=True)
    state: str = Field(default=AgentState.OFFLINE, max_length=16)
    state_since: datetime | None = _ts()
    last_assigned_at: datetime | None = _ts()
    active: bool = True
    #: Argon2 hash of the browser sign-in password (``bannertui agent password``); None: the
    #: agent cannot sign in to ``bannertui serve``.  Never the password itself.
    password_hash: str | None = Field(default=None, sa_type=sa.Text(), repr=False)


#: Load an agent without their browser password hash (which PostgreSQL refuses to anyone but
#: administrators: docs/permissions.md); reading it then raises rather than loads it.
AGENT_WITHOUT_SECRET = sa.orm.defer(Agent.password_hash, raiseload=True)  # type: ignore[arg-type]


class SmsNumber(SQLModel, table=True):
    __tablename__ = "sms_number"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True)
    label: str = Field(default="", max_length=120)
    #: The connector that owns the number (sends from it, receives on it).  1 is the
    #: account's first connector (made by the schema's migration); the services always say.
    connector_id: int = Field(default=1, foreign_key="connector.id", index=True)


class TemplateQueue(SQLModel, table=True):
    __tablename__ = "template_queue"

    template_id: int = Field(foreign_key="template.id", primary_key=True, ondelete="CASCADE")
    queue_id: int = Field(foreign_key="queue.id", primary_key=True, ondelete="CASCADE")


class Queue(SQLModel, table=True):
    """A distribution queue and its SMS channel (SPEC Q1)."""

    __table_args__ = (
        _check_in("strategy", Strategy),
        sa.CheckConstraint(
            "service_level_s >= 0 AND max_waiting >= 0 AND max_transfer_s >= 0"
            " AND max_time_in_queue_s >= 0",
            name="queue_times_not_negative",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    enabled: bool = True
    #: The connector the queue sends and receives through; its number is one of the
    #: connector's.
    connector_id: int | None = Field(default=None, foreign_key="connector.id", index=True)
    #: One number serves at most one queue.
    sms_number_id: int | None = Field(default=None, foreign_key="sms_number.id", unique=True)
    strategy: str = Field(default=Strategy.ROUND_ROBIN, max_length=16)
    service_level_s: int = 60
    max_waiting: int = 0
    max_transfer_s: int = 0
    max_time_in_queue_s: int = 0
    out_of_hours_message: str = Field(default="", max_length=2000)
    #: Opening hours, e.g. "mon-fri 08:00-18:00; sat 09:00-12:00"; "" = always open.
    opening_hours: str = Field(default="", max_length=500)
    timezone: str = Field(default="UTC", max_length=64)
    inbound_blacklist: bool = False
    outbound_blacklist: bool = False


class QueueAgent(SQLModel, table=True):
    """The agents a queue distributes to (SPEC Q2)."""

    __tablename__ = "queue_agent"

    queue_id: int = Field(foreign_key="queue.id", primary_key=True, ondelete="CASCADE")
    agent_id: int = Field(foreign_key="agent.id", primary_key=True, ondelete="CASCADE")


class Bot(SQLModel, table=True):
    """A scripted message of a queue (SPEC Q3): its template, sent when the trigger happens.
    Several bots of one trigger send in id order."""

    __table_args__ = (_check_in("trigger", BotTrigger),)

    id: int | None = Field(default=None, primary_key=True)
    queue_id: int = Field(foreign_key="queue.id", index=True, ondelete="CASCADE")
    trigger: str = Field(max_length=16)
    template_id: int = Field(foreign_key="template.id")
    enabled: bool = True


class Template(SQLModel, table=True):
    __table_args__ = (_check_in("kind", MessageType),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    text: str = Field(default="", max_length=5000)
    kind: str = Field(default=MessageType.NOTIFICATION, max_length=16)
    deleted: bool = False


class ContactGroup(SQLModel, table=True):
    __tablename__ = "contact_group"

    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    group_id: int = Field(foreign_key="group.id", primary_key=True, ondelete="CASCADE")


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    first_name: str = Field(default="", max_length=120)
    last_name: str = Field(default="", max_length=120)
    #: E.164; one contact per number (a unique index).
    number: str = Field(max_length=16, index=True, unique=True)
    email: str = Field(default="", max_length=254)
    company: str = Field(default="", max_length=120)
    created_at: datetime | None = _ts()
    #: The names, company, email and number folded (domain.contacts.search_key): what a
    #: search looks in, without case or accents both ways (issue #19).
    search_key: str = Field(
        default="",
        sa_column=sa.Column(sa.String(length=700), nullable=False, server_default=""),
    )


class Group(SQLModel, table=True):
    __tablename__ = "group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)


class Interaction(SQLModel, table=True):
    __table_args__ = (
        _check_in("channel", Channel),
        _check_in("status", InteractionStatus),
        sa.Index("ix_interaction_agent_status", "agent_id", "status"),
        sa.Index("ix_interaction_queue_status", "queue_id", "status"),
        sa.Index("ix_interaction_remote_status", "remote_number", "status"),
        # round robin: the queue's latest assignment
        sa.Index("ix_interaction_queue_assigned", "queue_id", "assigned_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=8)
    status: str = Field(max_length=16)
    queue_id: int | None = Field(default=None, foreign_key="queue.id")
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    remote_number: str = Field(max_length=16)
    local_number: str | None = Field(default=None, max_length=16)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    origin_interaction_id: int | None = Field(default=None, foreign_key="interaction.id")
    unread: int = 0
    created_at: datetime | None = _ts(nullable=False)
    assigned_at: datetime | None = _ts()
    last_message_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    archived_at: datetime | None = _ts()
    #: When it waited past the queue's max time in queue (the after-timeout bot ran then).
    timed_out_at: datetime | None = _ts()
    #: When the out-of-hours message was sent to this customer (once per interaction).
    out_of_hours_sent_at: datetime | None = _ts()
    #: It arrived while its queue was closed: outside the service level (Q5).
    out_of_hours: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false()),
    )


class Message(SQLModel, table=True):
    __table_args__ = (
        _check_in("direction", Direction),
        _check_in("status", MessageStatus),
        _check_in("folder", Folder),
        _check_in("type", MessageType),
        sa.CheckConstraint("credits >= 0", name="message_credits_not_negative"),
        # a conversation's latest messages
        sa.Index("ix_message_interaction", "interaction_id", "id"),
        # one page of an inbox view, newest first (keyset on created_at, id)
        sa.Index("ix_message_view", "deleted", "folder", "created_at", "id"),
        sa.Index("ix_message_all", "deleted", "created_at", "id"),
        # what the dispatcher has to do
        sa.Index("ix_message_due", "status", "next_attempt_at"),
        sa.Index("ix_message_remote", "remote_number", "id"),
        # the inbox's scope (X6): an agent's sends, and the replies to them
        sa.Index("ix_message_agent_sent", "agent_id", "remote_number", "from_number"),
        # an agent's inbox counts, in parts (services/inbox.py _scoped_counts): each answered
        # by one of these alone
        sa.Index("ix_message_queue_scope", "queue_id", "agent_id", "deleted", "folder"),
        sa.Index(
            "ix_message_interaction_scope",
            "interaction_id",
            "queue_id",
            "agent_id",
            "deleted",
            "folder",
        ),
        # (the messages outside any queue only; queue_id is a column too, so that SQLite
        # reads the index alone)
        sa.Index(
            "ix_message_direct_scope",
            "direction",
            "to_number",
            "remote_number",
            "agent_id",
            "interaction_id",
            "queue_id",
            "deleted",
            "folder",
            sqlite_where=sa.text("queue_id IS NULL"),
            postgresql_where=sa.text("queue_id IS NULL"),
        ),
        # the supervisor's last hour: volume per direction, failures
        sa.Index("ix_message_direction_created", "direction", "created_at"),
        sa.Index("ix_message_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: int | None = Field(default=None, foreign_key="interaction.id")
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    queue_id: int | None = Field(default=None, foreign_key="queue.id")
    #: The connector it went through (outbound: chosen when queued; inbound: it came from).
    connector_id: int | None = Field(default=None, foreign_key="connector.id", ondelete="SET NULL")
    direction: str = Field(max_length=8)
    from_number: str = Field(max_length=16)
    to_number: str = Field(max_length=16)
    #: The other party's number, whichever the direction (for search and threads).
    remote_number: str = Field(max_length=16)
    text: str = Field(sa_type=sa.Text())
    encoding: str = Field(max_length=8)
    credits: int = 0
    type: str = Field(default=MessageType.NOTIFICATION, max_length=16)
    #: The P2 ``sender`` field; None makes the send MARKETING.
    sender: str | None = Field(default=None, max_length=16)
    #: Our id for the send (P2 ``retId``): set once, never changed on retry.
    ret_id: str | None = Field(default=None, max_length=64, unique=True)
    #: The provider's id for an inbound message (duplicates are stored once).
    provider_message_id: str | None = Field(default=None, max_length=128, unique=True)
    status: str = Field(max_length=16)
    folder: str = Field(max_length=16)
    error: str | None = Field(default=None, max_length=1000)
    attempts: int = 0
    next_attempt_at: datetime | None = _ts()
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = _ts()
    scheduled_at: datetime | None = _ts()
    created_at: datetime | None = _ts(nullable=False)
    sent_at: datetime | None = _ts()
    delivered_at: datetime | None = _ts()
    deleted: bool = False
    #: The view the message was deleted from, shown in Deleted communications.
    deleted_from: str | None = Field(default=None, max_length=16)
    deleted_at: datetime | None = _ts()
    #: This send is paid for (its credits debited and not refunded): set by the money
    #: functions alone (services/accounts.py; on PostgreSQL ``bannertui_charge``), never by
    #: an insert.  The dispatcher sends only paid messages.
    paid: bool | None = Field(
        default=None,
        sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false()),
    )


class Draft(SQLModel, table=True):
    """What an agent has typed and not sent (issue #23 item 3), saved as they type: one per
    conversation of theirs (``slot`` ``interaction:<id>``, with ``interaction_id``), and one
    each for the Direct form (``direct``) and Send SMS (``compose``).  The text is stored as
    typed (screens sanitize what they show); an empty draft is no row at all.  A conversation
    closed elsewhere keeps its agent's draft (services/drafts.py)."""

    __table_args__ = (
        sa.CheckConstraint(
            "(interaction_id IS NULL AND slot IN ('direct', 'compose'))"
            " OR (interaction_id IS NOT NULL AND slot = 'interaction:' || interaction_id)",
            name="slot_allowed",
        ),
    )

    agent_id: int = Field(foreign_key="agent.id", primary_key=True, ondelete="CASCADE")
    slot: str = Field(primary_key=True, max_length=32)
    interaction_id: int | None = Field(
        default=None, foreign_key="interaction.id", index=True, ondelete="CASCADE"
    )
    text: str = Field(sa_type=sa.Text())
    #: The Direct form's number, or Send SMS's recipients as typed; "" for a conversation's.
    recipients: str = Field(default="", sa_type=sa.Text())
    updated_at: datetime | None = _ts(nullable=False)


class BlacklistEntry(SQLModel, table=True):
    __tablename__ = "blacklist_entry"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True)
    reason: str = Field(default="", max_length=500)
    created_at: datetime | None = _ts()
    created_by: str = Field(default="", max_length=64)


class OptOut(SQLModel, table=True):
    __tablename__ = "opt_out"

    number: str = Field(max_length=16, primary_key=True)
    keyword: str = Field(default="", max_length=32)
    at: datetime | None = _ts()


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = _ts(nullable=False)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=200)
    detail: str = Field(default="", max_length=4000)


class WebSession(SQLModel, table=True):
    """A browser session of ``bannertui serve``: the agent who signed in, until it expires or
    they sign out.  The browser holds the token; only its SHA-256 is stored."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    agent_id: int = Field(foreign_key="agent.id", index=True, ondelete="CASCADE")
    created_at: datetime | None = _ts(nullable=False)
    expires_at: datetime | None = _ts(nullable=False)
    ended_at: datetime | None = _ts()
    #: The address the sign-in came from.
    address: str = Field(default="", max_length=64)


metadata = SQLModel.metadata
