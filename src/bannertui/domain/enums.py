"""The domain's enumerations: roles, states, channels, statuses, inbox views, strategies.

The store keeps their values as short strings (CHECK constraints list the allowed values);
every layer above names them from here, so the screens need not import the store.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class ConnectorType(enum.StrEnum):
    """The kinds of SMS connector (issue #20): the seed's HTTPS JSON provider, Twilio, and a
    carrier's SMSC over SMPP 3.4 (issue #21)."""

    HTTPS_JSON = "https-json"
    TWILIO = "twilio"
    SMPP = "smpp"


class AgentState(enum.StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


class Channel(enum.StrEnum):
    SMS = "sms"
    VOICE = "voice"


class InteractionStatus(enum.StrEnum):
    QUEUED = "queued"
    PROGRESSING = "progressing"
    CLOSED = "closed"
    ARCHIVED = "archived"


class Direction(enum.StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class MessageType(enum.StrEnum):
    NOTIFICATION = "NOTIFICATION"
    MARKETING = "MARKETING"


class MessageStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    BLOCKED = "blocked"
    RECEIVED = "received"


class Folder(enum.StrEnum):
    """The inbox view a message belongs to (SPEC I1), kept with the row so a view page is one
    index range.  Set only through :func:`folder_for`."""

    RECEIVED = "received"
    SENT = "sent"
    FAILED = "failed"
    PENDING = "pending"
    NOT_TRIGGERED = "not_triggered"


def folder_for(direction: str, status: str) -> Folder:
    if status == MessageStatus.BLOCKED:
        return Folder.NOT_TRIGGERED
    if direction == Direction.INBOUND:
        return Folder.RECEIVED
    if status in (MessageStatus.SENT, MessageStatus.DELIVERED):
        return Folder.SENT
    if status == MessageStatus.FAILED:
        return Folder.FAILED
    return Folder.PENDING


class Strategy(enum.StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_BUSY = "least_busy"
    LONGEST_IDLE = "longest_idle"


class BotTrigger(enum.StrEnum):
    ON_START = "on_start"
    ON_FINISH = "on_finish"
    AFTER_TIMEOUT = "after_timeout"
