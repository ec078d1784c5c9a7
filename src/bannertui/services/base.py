"""What every service shares: the database, a clock, and the audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bannertui.domain.actor import Actor
from bannertui.domain.errors import (
    BannerError,
    InsufficientCredits,
    InvalidAmount,
    NotAllowed,
)
from bannertui.store.database import Database
from bannertui.store.models import AuditEvent

#: The SQLSTATEs of the database's own refusals (store/migrations/versions/0008: the money
#: functions, the agent-role trigger).
_PG_ERRORS = {"BT402": InsufficientCredits, "BT403": NotAllowed, "BT422": InvalidAmount}


def pg_refusal(exc: DBAPIError) -> BannerError | None:
    """A refusal of the database's own (PostgreSQL) as our error (its message after the SPEC
    name), or None."""
    inner = (exc.orig.__cause__ if exc.orig is not None else None) or exc.orig
    kind = _PG_ERRORS.get(str(getattr(inner, "sqlstate", "") or ""))
    if kind is None:
        return None
    text = str(getattr(inner, "message", None) or inner).split("\n")[0]
    _, _, detail = text.partition(": ")
    return kind(detail or text)


Clock = Callable[[], datetime]


def like_contains(text: str) -> str:
    """A LIKE pattern (``escape="\\"``) matching ``text`` anywhere, ``%`` and ``_`` literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: AuditEvent.target's length.
TARGET_MAX = 200


def system_clock() -> datetime:
    return datetime.now(UTC)


class Service:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock

    def audit(
        self,
        session: AsyncSession,
        actor: Actor | Literal["system"],
        action: str,
        target: str = "",
        **detail: object,
    ) -> None:
        """Add an audit event to the caller's transaction: it lands with the change or not.
        The actor is the authenticated caller (``admin as alice`` when an administrator acts
        as an agent), or ``"system"`` for what no person did (an inbound text refused)."""
        if isinstance(actor, str) and actor != "system":
            raise TypeError(f"the audit actor is an Actor or 'system', not {actor!r}")
        session.add(
            AuditEvent(
                at=self.clock(),
                actor=actor if isinstance(actor, str) else actor.audit_name,
                action=action,
                target=target if len(target) <= TARGET_MAX else target[: TARGET_MAX - 1] + "…",
                detail=json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True),
            )
        )
