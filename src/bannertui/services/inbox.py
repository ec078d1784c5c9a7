"""The SMS inbox (SPEC I1–I7, I9, X2): views with counts, keyset pages with search filters,
sending to many recipients (typed numbers, contacts, groups), reply, forward, delete and
restore, resending failed messages and scheduling.

The inbox is the account's: every agent with the Messaging permission sees every message.
A message's view is its ``folder`` column (kept by :func:`folder_for` on every status
change) unless it is deleted; deleting only sets ``deleted`` (the folder stays), so restoring
returns it to the view it came from — or to the view its status has moved to since, when a
deleted pending message was sent meanwhile (deleting never cancels a send).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.contacts import fold
from bannertui.domain.enums import Direction, Folder, MessageStatus, MessageType
from bannertui.domain.errors import (
    BannerError,
    InsufficientCredits,
    InvalidDate,
    InvalidSchedule,
    NoSenderNumber,
    NotAllowed,
    UnknownContact,
    UnknownMessage,
)
from bannertui.domain.phone import validate_number
from bannertui.domain.routing import SendMode, routing_mode
from bannertui.services import accounts
from bannertui.services.agents import AgentContext, check_prerequisites, load_agent
from bannertui.services.base import Service, like_contains
from bannertui.services.outbox import OutboundDraft, enqueue, measure_for_send, new_ret_id
from bannertui.services.people import contact_names
from bannertui.store.models import (
    BlacklistEntry,
    Contact,
    ContactGroup,
    Interaction,
    Message,
    OptOut,
    Queue,
    QueueAgent,
    UTCDateTime,
)

PAGE = 50
#: Messages requeued per transaction by a bulk resend (progress is reported between them).
RESEND_CHUNK = 500
#: Recipients of one send at most (a bigger campaign belongs to a queue's bots).
MAX_RECIPIENTS = 1_000
#: Messages one "select the whole view" takes at most.
MAX_SELECTION = 100_000


class View(enum.StrEnum):
    ALL = "all"
    RECEIVED = "received"
    SENT = "sent"
    FAILED = "failed"
    PENDING = "pending"
    NOT_TRIGGERED = "not_triggered"
    DELETED = "deleted"

    @property
    def label(self) -> str:
        return VIEW_LABELS[self]

    @property
    def short(self) -> str:
        """The label in the narrow view list."""
        return SHORT_LABELS[self]


VIEW_LABELS: dict[View, str] = {
    View.ALL: "All communications",
    View.RECEIVED: "SMS received",
    View.SENT: "SMS sent",
    View.FAILED: "SMS failed",
    View.PENDING: "SMS pending",
    View.NOT_TRIGGERED: "Did not trigger",
    View.DELETED: "Deleted communications",
}

SHORT_LABELS: dict[View, str] = {
    View.ALL: "All",
    View.RECEIVED: "Received",
    View.SENT: "Sent",
    View.FAILED: "Failed",
    View.PENDING: "Pending",
    View.NOT_TRIGGERED: "Did not trigger",
    View.DELETED: "Deleted",
}

_FOLDER_VIEW = {Folder(v.value): v for v in View if v.value in Folder._value2member_map_}


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """I9: each field narrows the view; empty fields are ignored.

    ``number``: digits anywhere in the other party's number ("612 00" finds +33612000…);
    ``contact``: words of a contact's name, company or email; ``text``: a piece of the body;
    ``since`` / ``until``: the message's creation time, ``since`` included, ``until`` not.
    """

    number: str = ""
    contact: str = ""
    text: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        """Refuses dates without a time zone, or an end before the start (Invalid date)."""
        for label, at in (("start", self.since), ("end", self.until)):
            if at is not None and at.tzinfo is None:
                raise InvalidDate(f"the {label} date has no time zone")
        if self.since is not None and self.until is not None and self.until < self.since:
            raise InvalidDate("the end is before the start")

    @property
    def empty(self) -> bool:
        return not (self.number.strip() or self.contact.strip() or self.text or self.since) and (
            self.until is None
        )


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    created_at: datetime | None
    direction: str
    remote_number: str
    contact_name: str | None
    text: str
    status: str
    error: str | None
    folder: str
    deleted: bool
    from_number: str
    to_number: str
    credits: int
    scheduled_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    type: str

    @property
    def view(self) -> View:
        """The view the message is in (or, deleted, the one it returns to)."""
        return _FOLDER_VIEW[Folder(self.folder)]

    @property
    def who(self) -> str:
        return self.contact_name or self.remote_number


@dataclass(frozen=True, slots=True)
class PageKey:
    """Where a page ends: its last row's time and id (the inbox is newest first by both)."""

    created_at: datetime
    id: int

    @classmethod
    def of(cls, row: InboxRow) -> PageKey:
        assert row.created_at is not None
        return cls(row.created_at, row.id)


@dataclass(frozen=True, slots=True)
class InboxPage:
    view: View
    rows: tuple[InboxRow, ...]
    #: The key to pass as ``after`` for the next page (None: this is the last page).
    next_after: PageKey | None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A recipient that cannot be sent to, and why (the error's name and detail)."""

    recipient: str
    error: str
    detail: str
    exc: BannerError | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.recipient}: {self.error}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True, slots=True)
class Recipients:
    """Recipients checked before sending: each valid number once, and the rejected ones."""

    numbers: tuple[str, ...]
    rejected: tuple[Rejected, ...] = ()


@dataclass(frozen=True, slots=True)
class SendReport:
    message_ids: tuple[int, ...]
    credits: int
    scheduled_at: datetime | None = None
    rejected: tuple[Rejected, ...] = ()


@dataclass(frozen=True, slots=True)
class ResendQuote:
    """What a resend of a selection would do, told before it is confirmed (I6)."""

    #: The failed messages of the selection, in the order given: what is resent.
    ids: tuple[int, ...]
    #: The credits they need, and the balance now.
    credits: int
    balance: int
    #: What the balance pays for: the resend goes chunk by chunk (RESEND_CHUNK messages, in
    #: id order) and stops at the first chunk it cannot pay, the rest staying failed.
    payable: int
    payable_credits: int

    @property
    def short(self) -> bool:
        return self.credits > self.balance


@dataclass(slots=True)
class ResendReport:
    requeued: int = 0
    #: Selected messages that were not failed (any more): left as they are.
    skipped: int = 0
    credits: int = 0
    #: Why the resend stopped early (Insufficient credits), if it did.
    stopped: BannerError | None = None
    ids: list[int] = field(default_factory=list)


_DIGITS = re.compile(r"\D+")


def _row(m: Any, names: dict[str, str]) -> InboxRow:
    return InboxRow(
        id=m.id,
        created_at=m.created_at,
        direction=m.direction,
        remote_number=m.remote_number,
        contact_name=names.get(m.remote_number),
        text=m.text,
        status=m.status,
        error=m.error,
        folder=m.folder,
        deleted=m.deleted,
        from_number=m.from_number,
        to_number=m.to_number,
        credits=m.credits,
        scheduled_at=m.scheduled_at,
        sent_at=m.sent_at,
        delivered_at=m.delivered_at,
        type=m.type,
    )


_ROW_COLUMNS = (
    col(Message.id),
    col(Message.created_at),
    col(Message.direction),
    col(Message.remote_number),
    col(Message.text),
    col(Message.status),
    col(Message.error),
    col(Message.folder),
    col(Message.deleted),
    col(Message.from_number),
    col(Message.to_number),
    col(Message.credits),
    col(Message.scheduled_at),
    col(Message.sent_at),
    col(Message.delivered_at),
    col(Message.type),
)


#: The inbox's order: newest first, the id breaking ties (ix_message_view, ix_message_all).
NEWEST_FIRST = (col(Message.created_at).desc(), col(Message.id).desc())


async def _failed_credits(
    session: AsyncSession, ctx: AgentContext, ids: list[int]
) -> dict[int, int]:
    """The credits of each of ``ids`` a resend would requeue (:func:`_resendable`), by
    chunks of :data:`RESEND_CHUNK`; a selection holding a message outside the agent's scope
    is refused whole (NotAllowed), as the resend itself would be."""
    await _check_visible(session, ctx, ids)
    credits_of: dict[int, int] = {}
    for start in range(0, len(ids), RESEND_CHUNK):
        rows = await session.execute(
            sa.select(col(Message.id), col(Message.credits)).where(
                *_resendable(ids[start : start + RESEND_CHUNK]), *visible_to(ctx)
            )
        )
        credits_of.update((i, int(c)) for i, c in rows.all() if i is not None)
    return credits_of


def _in_view(view: View) -> list[sa.ColumnElement[bool]]:
    if view is View.DELETED:
        return [col(Message.deleted).is_(True)]
    where: list[sa.ColumnElement[bool]] = [col(Message.deleted).is_(False)]
    if view is not View.ALL:
        where.append(col(Message.folder) == view.value)
    return where


def _contact_numbers(words: str) -> sa.Select[Any]:
    """The numbers of the contacts whose name, company or email hold every word (folded
    both ways, as the people search)."""
    query = sa.select(col(Contact.number))
    for word in words.split():
        query = query.where(col(Contact.search_key).like(like_contains(fold(word)), escape="\\"))
    return query


def _filtered(where: list[sa.ColumnElement[bool]], f: InboxFilter) -> list[sa.ColumnElement[bool]]:
    where = list(where)
    digits = _DIGITS.sub("", f.number)
    if f.number.strip() and not digits:
        where.append(sa.false())  # "abc" is no number: nothing matches
    elif digits:
        where.append(col(Message.remote_number).like(like_contains(digits), escape="\\"))
    if f.contact.strip():
        where.append(col(Message.remote_number).in_(_contact_numbers(f.contact)))
    if f.text:
        where.append(
            sa.func.lower(col(Message.text)).like(like_contains(f.text.lower()), escape="\\")
        )
    if f.since is not None:
        where.append(col(Message.created_at) >= f.since)
    if f.until is not None:
        where.append(col(Message.created_at) < f.until)
    return where


async def _names(session: AsyncSession, numbers: Iterable[str]) -> dict[str, str]:
    """The contacts' names of these numbers; a contact without a name is left out (the row
    shows its number)."""
    names = await contact_names(session, numbers)
    return {number: name for number, name in names.items() if name != number}


class InboxService(Service):
    # --- reading ---------------------------------------------------------------------------

    async def counts(self, actor: Actor) -> dict[View, int]:
        """I1: how many messages each view holds: for a supervisor one grouped scan of the
        view index; for an agent, their scope counted in disjoint parts, each from an index
        of its own (:func:`_scoped_counts`)."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            if ctx.is_supervisor:
                statement: sa.Executable = sa.select(
                    col(Message.deleted), col(Message.folder), sa.func.count()
                ).group_by(col(Message.deleted), col(Message.folder))
            else:
                statement = _scoped_counts(ctx)
            rows = await session.execute(statement)
            counts = dict.fromkeys(View, 0)
            for deleted, folder, n in rows.all():
                if deleted:
                    counts[View.DELETED] += n
                else:
                    counts[_FOLDER_VIEW[Folder(folder)]] += n
                    counts[View.ALL] += n
            return counts

    async def page(
        self,
        actor: Actor,
        view: View,
        *,
        after: PageKey | None = None,
        limit: int = PAGE,
        filters: InboxFilter | None = None,
    ) -> InboxPage:
        """One page of ``view``, newest first (by time, then id), after ``after`` (the
        previous page's ``next_after``): one index range whatever the page's depth (keyset,
        not OFFSET)."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            where = _in_view(view) + visible_to(ctx)
            if filters is not None and not filters.empty:
                filters.check()
                where = _filtered(where, filters)
            if after is not None:
                where.append(
                    sa.tuple_(col(Message.created_at), col(Message.id))
                    < sa.tuple_(sa.literal(after.created_at, UTCDateTime()), after.id)
                )
            rows = (
                await session.execute(
                    sa.select(*_ROW_COLUMNS).where(*where).order_by(*NEWEST_FIRST).limit(limit + 1)
                )
            ).all()
            shown = rows[:limit]
            names = await _names(session, (r.remote_number for r in shown))
        page_rows = tuple(_row(r, names) for r in shown)
        more = len(rows) > limit
        return InboxPage(view, page_rows, PageKey.of(page_rows[-1]) if more and page_rows else None)

    async def view_ids(
        self,
        actor: Actor,
        view: View,
        *,
        filters: InboxFilter | None = None,
        limit: int = MAX_SELECTION,
    ) -> list[int]:
        """The ids of every message of ``view`` (in the pages' order, at most ``limit``):
        "select all" across pages, for bulk delete and resend."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            where = _in_view(view) + visible_to(ctx)
            if filters is not None and not filters.empty:
                filters.check()
                where = _filtered(where, filters)
            rows = await session.scalars(
                sa.select(col(Message.id)).where(*where).order_by(*NEWEST_FIRST).limit(limit)
            )
            return [i for i in rows.all() if i is not None]

    async def failed_ids(self, actor: Actor, message_ids: Sequence[int]) -> list[int]:
        """The ones of ``message_ids`` a resend would requeue (:func:`_resendable`), in the
        order given: what the confirmation counts.  A selection holding a message outside
        the agent's scope is refused whole, as the resend itself would be."""
        ids = list(dict.fromkeys(message_ids))
        async with self.db.read() as session:
            credits_of = await _failed_credits(session, await load_agent(session, actor), ids)
        return [i for i in ids if i in credits_of]

    async def resend_quote(self, actor: Actor, message_ids: Sequence[int]) -> ResendQuote:
        """The failed ones of ``message_ids`` (:meth:`failed_ids`), the credits a resend of
        them needs against the balance, and how many of them the balance pays for."""
        ids = list(dict.fromkeys(message_ids))
        async with self.db.read() as session:
            credits_of = await _failed_credits(session, await load_agent(session, actor), ids)
            balance = await accounts.load_balance(session)
        failed = [i for i in ids if i in credits_of]
        payable = payable_credits = 0
        left = balance
        ordered = sorted(failed)
        for start in range(0, len(ordered), RESEND_CHUNK):
            chunk = sum(credits_of[i] for i in ordered[start : start + RESEND_CHUNK])
            if chunk > left:
                break
            left -= chunk
            payable += len(ordered[start : start + RESEND_CHUNK])
            payable_credits += chunk
        return ResendQuote(
            tuple(failed),
            sum(credits_of.values()),
            balance,
            payable,
            payable_credits,
        )

    async def message(self, actor: Actor, message_id: int) -> InboxRow:
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            row = (
                await session.execute(
                    sa.select(*_ROW_COLUMNS).where(col(Message.id) == message_id, *visible_to(ctx))
                )
            ).first()
            if row is None:
                await _check_visible(session, ctx, [message_id])  # NotAllowed if not theirs
                raise UnknownMessage(f"no message #{message_id}")
            return _row(row, await _names(session, [row.remote_number]))

    # --- recipients and sending ------------------------------------------------------------

    async def recipients(
        self,
        actor: Actor,
        numbers: Sequence[str] = (),
        *,
        contact_ids: Sequence[int] = (),
        group_ids: Sequence[int] = (),
    ) -> Recipients:
        """I2: every recipient checked with the Banner's rules (mobile, authorized country,
        blacklist is [6/7]'s); each valid number once, in the order given; bad ones named."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            return await self._recipients(session, ctx, numbers, contact_ids, group_ids)

    async def _recipients(
        self,
        session: AsyncSession,
        ctx: AgentContext,
        numbers: Sequence[str],
        contact_ids: Sequence[int],
        group_ids: Sequence[int],
    ) -> Recipients:
        candidates: list[tuple[str, str]] = [(raw, raw) for raw in numbers if raw.strip()]
        if contact_ids:
            rows = await session.execute(
                sa.select(col(Contact.id), col(Contact.number)).where(
                    col(Contact.id).in_(set(contact_ids))
                )
            )
            by_id = {cid: number for cid, number in rows.all()}
            for cid in contact_ids:
                if cid not in by_id:
                    candidates.append((f"contact #{cid}", ""))
                else:
                    candidates.append((by_id[cid], by_id[cid]))
        if group_ids:
            rows2 = await session.execute(
                sa.select(col(Contact.number))
                .join(ContactGroup, col(ContactGroup.contact_id) == col(Contact.id))
                .where(col(ContactGroup.group_id).in_(set(group_ids)))
                .order_by(col(Contact.last_name), col(Contact.first_name), col(Contact.id))
            )
            candidates += [(n, n) for n in rows2.scalars().all()]
        seen: dict[str, None] = {}
        rejected: list[Rejected] = []
        for label, raw in candidates:
            try:
                if not raw:
                    raise UnknownContact("it was deleted")
                e164 = validate_number(raw, ctx.allowed_regions)
            except BannerError as exc:
                rejected.append(Rejected(label.strip(), exc.name, exc.detail or "", exc))
                continue
            seen.setdefault(e164)
        if len(seen) > MAX_RECIPIENTS:
            raise NotAllowed(f"{len(seen):,} recipients; {MAX_RECIPIENTS:,} at most in one send")
        return Recipients(tuple(seen), tuple(rejected))

    async def send(
        self,
        actor: Actor,
        numbers: Sequence[str],
        text: str,
        *,
        sender: str | None = None,
        contact_ids: Sequence[int] = (),
        group_ids: Sequence[int] = (),
        scheduled_at: datetime | None = None,
        skip_rejected: bool = False,
        action: str = "sms.sent",
        origin: int | None = None,
    ) -> SendReport:
        """I2/I7: one message per recipient, all stored (and debited) in one transaction.

        A bad recipient refuses the whole send, naming it, unless ``skip_rejected`` (the
        person chose to send to the good ones).  ``sender`` defaults to the profile's first
        number ("leave it to use the default configuration").  ``scheduled_at`` must be in
        the future; the dispatcher sends it at that time, or on its next start if it was
        down then.
        """
        now = self.clock()
        if scheduled_at is not None:
            if scheduled_at.tzinfo is None:
                raise InvalidSchedule("the time has no time zone")
            if scheduled_at <= now:
                raise InvalidSchedule(
                    f"{scheduled_at:%Y-%m-%d %H:%M} has already passed; choose a later time"
                )
        measure_for_send(text)

        async def tx(session: AsyncSession) -> SendReport:
            ctx = await load_agent(session, actor)
            await check_prerequisites(session, ctx, SendMode.DIRECT, new=False)
            from_number = self._sender(ctx, sender)
            checked = await self._recipients(session, ctx, numbers, contact_ids, group_ids)
            if checked.rejected and not skip_rejected:
                first = checked.rejected[0]
                more = len(checked.rejected) - 1
                raise _refusal(first, more)
            if not checked.numbers:
                raise NotAllowed("no recipient to send to")
            ids: list[int] = []
            credits = 0
            for number in checked.numbers:
                msg = await enqueue(
                    session,
                    OutboundDraft(
                        to_number=number,
                        from_number=from_number,
                        text=text,
                        sender=from_number,
                        kind=MessageType.NOTIFICATION,
                        agent_id=ctx.agent.id,
                        scheduled_at=scheduled_at,
                        check_blacklist=True,
                        debit_at_commit=True,
                    ),
                    self.clock(),
                )
                ids.append(msg.id or 0)
                credits += msg.credits
            self.audit(
                session,
                actor,
                action,
                ",".join(checked.numbers[:10]) + (" …" if len(checked.numbers) > 10 else ""),
                recipients=len(checked.numbers),
                credits=credits,
                scheduled_at=scheduled_at.isoformat() if scheduled_at else None,
                origin=origin,
            )
            return SendReport(tuple(ids), credits, scheduled_at, checked.rejected)

        return await self.db.run_write(tx)

    @staticmethod
    def _sender(ctx: AgentContext, sender: str | None) -> str:
        if not ctx.sender_numbers:
            raise NoSenderNumber("no SMS number is assigned to your profile")
        if sender is None or not sender.strip():
            return ctx.sender_numbers[0]
        if sender not in ctx.sender_numbers:
            raise NoSenderNumber(f"{sender} is not assigned to your profile")
        return sender

    async def reply(
        self,
        actor: Actor,
        message_ids: Sequence[int],
        text: str,
        *,
        sender: str | None = None,
        scheduled_at: datetime | None = None,
    ) -> SendReport:
        """I3: one reply to each distinct number among the selected messages, from ``sender``
        or else from the number they wrote to (:meth:`reply_sender`)."""
        numbers = await self.reply_numbers(actor, message_ids)
        if sender is None:
            sender = await self.reply_sender(actor, message_ids)
        return await self.send(
            actor, numbers, text, sender=sender, scheduled_at=scheduled_at, action="sms.replied"
        )

    async def reply_numbers(self, actor: Actor, message_ids: Sequence[int]) -> list[str]:
        if not message_ids:
            raise NotAllowed("select the messages to reply to")
        _ctx, rows = await self._selected(actor, message_ids, col(Message.remote_number))
        return list(dict.fromkeys(r.remote_number for r in rows))

    async def reply_sender(self, actor: Actor, message_ids: Sequence[int]) -> str | None:
        """The number a reply goes from by default: ours in the selected messages (the one a
        customer wrote to, the one we sent from), when they all have the same and it is one
        of the agent's sender numbers; else None (the profile's first number)."""
        ctx, rows = await self._selected(
            actor,
            message_ids,
            col(Message.direction),
            col(Message.from_number),
            col(Message.to_number),
        )
        ours = {r.to_number if r.direction == Direction.INBOUND else r.from_number for r in rows}
        if len(ours) == 1:
            (number,) = ours
            if number in ctx.sender_numbers:
                return str(number)
        return None

    async def _selected(
        self, actor: Actor, message_ids: Sequence[int], *columns: Any
    ) -> tuple[AgentContext, list[Any]]:
        """``columns`` of the selected messages, in the order given (each once): NotAllowed
        when one is outside the agent's scope, UnknownMessage when one does not exist."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            rows = (
                await session.execute(
                    sa.select(col(Message.id), *columns).where(
                        col(Message.id).in_(set(message_ids)), *visible_to(ctx)
                    )
                )
            ).all()
            by_id = {r.id: r for r in rows}
            missing = [i for i in message_ids if i not in by_id]
            if missing:
                await _check_visible(session, ctx, missing)  # NotAllowed if not theirs
        if missing:
            raise UnknownMessage(f"no message #{missing[0]}")
        return ctx, [by_id[i] for i in dict.fromkeys(message_ids)]

    async def forward(
        self,
        actor: Actor,
        message_ids: Sequence[int],
        numbers: Sequence[str],
        text: str | None = None,
        *,
        contact_ids: Sequence[int] = (),
        group_ids: Sequence[int] = (),
        sender: str | None = None,
        skip_rejected: bool = False,
        scheduled_at: datetime | None = None,
    ) -> SendReport:
        """I4: exactly one message, its text (edited or not) to one or many recipients."""
        if len(message_ids) != 1:
            raise NotAllowed(
                f"forward one message at a time ({len(message_ids)} selected)"
                if message_ids
                else "select the message to forward"
            )
        original = await self.message(actor, message_ids[0])
        return await self.send(
            actor,
            numbers,
            original.text if text is None else text,
            sender=sender,
            contact_ids=contact_ids,
            group_ids=group_ids,
            skip_rejected=skip_rejected,
            scheduled_at=scheduled_at,
            action="sms.forwarded",
            origin=original.id,
        )

    # --- delete, restore, resend -----------------------------------------------------------

    async def delete(self, actor: Actor, message_ids: Sequence[int]) -> int:
        """I5: into Deleted communications; returns how many moved (already deleted ones are
        left as they are)."""
        return await self._set_deleted(actor, message_ids, True)

    async def restore(self, actor: Actor, message_ids: Sequence[int]) -> int:
        """I5: back to the view each came from."""
        return await self._set_deleted(actor, message_ids, False)

    async def _set_deleted(self, actor: Actor, message_ids: Sequence[int], deleted: bool) -> int:
        ids = sorted(set(message_ids))
        if not ids:
            raise NotAllowed("select the messages first")

        async def tx(session: AsyncSession) -> int:
            ctx = await load_agent(session, actor)
            routing_permission(ctx)
            await _check_visible(session, ctx, ids)
            moved = 0
            for start in range(0, len(ids), RESEND_CHUNK):
                chunk = ids[start : start + RESEND_CHUNK]
                result = await session.execute(
                    sa.update(Message)
                    .where(col(Message.id).in_(chunk), col(Message.deleted).is_(not deleted))
                    .values(
                        deleted=deleted,
                        deleted_from=col(Message.folder) if deleted else None,
                        deleted_at=self.clock() if deleted else None,
                    )
                    .execution_options(synchronize_session=False)
                )
                moved += int(getattr(result, "rowcount", 0) or 0)
            self.audit(
                session,
                actor,
                "sms.deleted" if deleted else "sms.restored",
                _ids_text(ids),
                count=moved,
            )
            return moved

        return await self.db.run_write(tx)

    async def resend_failed(
        self,
        actor: Actor,
        message_ids: Sequence[int],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> ResendReport:
        """I6: failed messages back to SMS pending, debited again (a failure refunded them),
        with their retId unchanged (the provider sends a retId at most once: resending can
        never deliver a message twice).  In chunks of :data:`RESEND_CHUNK`, each its own
        transaction, ``progress(done, total)`` after each; stops at the first chunk the
        balance cannot pay for, keeping what was requeued before it."""
        ids = sorted(set(message_ids))
        if not ids:
            raise NotAllowed("select the failed messages to resend")
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            await check_prerequisites(session, ctx, None, new=False)
            await _check_visible(session, ctx, ids)
        report = ResendReport()
        for start in range(0, len(ids), RESEND_CHUNK):
            chunk = ids[start : start + RESEND_CHUNK]
            try:
                requeued, credits = await self.db.run_write(
                    lambda session, chunk=chunk: self._resend_chunk(session, actor, chunk)
                )
            except InsufficientCredits as exc:
                report.stopped = exc
                break
            report.requeued += len(requeued)
            report.skipped += len(chunk) - len(requeued)
            report.credits += credits
            report.ids += requeued
            if progress is not None:
                progress(min(start + len(chunk), len(ids)), len(ids))
        return report

    async def _resend_chunk(
        self, session: AsyncSession, actor: Actor, chunk: list[int]
    ) -> tuple[list[int], int]:
        """Requeue the failed ones of ``chunk``: the update claims them (a concurrent resend of
        the same messages finds them pending and requeues nothing), then one debit pays for
        what it claimed; short of credits, the whole chunk rolls back."""
        now = self.clock()
        failed = _resendable(chunk)
        requeue = {
            "status": MessageStatus.PENDING,
            "folder": Folder.PENDING,
            "error": None,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_by": None,
            "claimed_at": None,
        }
        # Never accepted by the provider (refused, or given up on): the same retId, so a send
        # the provider did record after all is not delivered twice.
        kept = (
            await session.execute(
                sa.update(Message)
                .where(*failed, col(Message.sent_at).is_(None))
                .values(**requeue)
                .returning(col(Message.id), col(Message.credits))
                .execution_options(synchronize_session=False)
            )
        ).all()
        # Accepted, then a receipt said it failed: the provider has that retId already and
        # would ignore it, so the new attempt is a new send with a new retId.
        reached = (
            (
                await session.execute(
                    sa.select(col(Message.id)).where(*failed, col(Message.sent_at).is_not(None))
                )
            )
            .scalars()
            .all()
        )
        renewed: list[tuple[int, int]] = []
        for mid in reached:
            row = (
                await session.execute(
                    sa.update(Message)
                    .where(col(Message.id) == mid, col(Message.status) == MessageStatus.FAILED)
                    .values(**requeue, ret_id=new_ret_id(), sent_at=None, delivered_at=None)
                    .returning(col(Message.id), col(Message.credits))
                    .execution_options(synchronize_session=False)
                )
            ).first()
            if row is not None and row[0] is not None:
                renewed.append((row[0], row[1]))
        rows = [(mid, credits) for mid, credits in kept if mid is not None] + renewed
        if not rows:
            return [], 0
        found = sorted(mid for mid, _ in rows)
        credits = await accounts.charge(session, found)
        self.audit(
            session,
            actor,
            "sms.resent",
            _ids_text(found),
            count=len(found),
            credits=credits,
            new_ret_ids=len(renewed),
        )
        return found, credits


def _resendable(ids: Sequence[int]) -> tuple[sa.ColumnElement[bool], ...]:
    """Which of ``ids`` a resend requeues: failed outbound messages, not deleted, and never
    again to a number blacklisted since, nor MARKETING to one that opted out."""
    return (
        col(Message.id).in_(ids),
        col(Message.status) == MessageStatus.FAILED,
        col(Message.direction) == Direction.OUTBOUND,
        col(Message.deleted).is_(False),
        col(Message.remote_number).not_in(sa.select(col(BlacklistEntry.number))),
        sa.not_(
            sa.and_(
                sa.or_(col(Message.type) == MessageType.MARKETING, col(Message.sender).is_(None)),
                col(Message.remote_number).in_(sa.select(col(OptOut.number))),
            )
        ),
    )


#: The agent's own sends, for the replies to them (:func:`visible_to`); built once.
_SENT = sa.orm.aliased(Message, name="sent")


def _replied_to(me: int | None) -> sa.ColumnElement[bool]:
    """An inbound text outside any queue is a reply to one of ``me``'s sends: one probe of
    ``ix_message_agent_sent`` (agent, remote number, our number), answered from the index
    alone (``SELECT sent.id``: SQLite reads the table row for ``SELECT *``)."""
    return sa.and_(
        col(Message.queue_id).is_(None),
        col(Message.direction) == Direction.INBOUND,
        sa.select(col(_SENT.id))
        .where(
            col(_SENT.agent_id) == me,
            col(_SENT.remote_number) == col(Message.remote_number),
            col(_SENT.from_number) == col(Message.to_number),
        )
        # OFFSET 0 keeps PostgreSQL from turning the probe into a hash of every send of the
        # agent's: under row-level security (a console connected as its agent's role) it
        # did, and built it for every page, ~380 ms at 1,000,000 messages
        # (bench/bench_rls.py); a probe per row stays ~3 ms.
        .offset(0)
        .exists(),
    )


def _their_queues(me: int | None) -> sa.Select[Any]:
    return sa.select(col(QueueAgent.queue_id)).where(col(QueueAgent.agent_id) == me)


def _their_conversations(me: int | None) -> sa.Select[Any]:
    return sa.select(col(Interaction.id)).where(col(Interaction.agent_id) == me)


def visible_to(ctx: AgentContext) -> list[sa.ColumnElement[bool]]:
    """SPEC X6's data scope, as a WHERE clause on messages: supervisors and administrators
    see every message; an agent sees the messages of the queues they are a member of, of the
    conversations assigned to them (now or before), the ones they sent (their Direct sends),
    and the customers' replies to those (an inbound text outside any queue, from a number
    they sent to, to the number they sent from).

    The queues and conversations are ``IN`` sets built once per statement; a reply is one
    probe of ``ix_message_agent_sent`` (agent, remote number, our number) for each inbound
    text outside a queue.  (Without that index the probe walked every message of the
    customer's number; as an ``IN`` set, an agent's 150,000 sends were gathered again for
    every statement: ~100 ms a page, bench/bench_scope.py.)  Evaluated row by row: right
    for a page (a few hundred rows of the view index) and a selection, not for counting a
    whole scope: :func:`_scoped_counts` counts it."""
    if ctx.is_supervisor:
        return []
    me = ctx.agent.id
    return [
        sa.or_(
            col(Message.agent_id) == me,
            col(Message.queue_id).in_(_their_queues(me)),
            col(Message.interaction_id).in_(_their_conversations(me)),
            _replied_to(me),
        )
    ]


def _scoped_counts(ctx: AgentContext) -> sa.CompoundSelect[bool, str, int]:
    """An agent's :func:`visible_to` counted per (deleted, folder), in parts that do not
    overlap, each answered by an index alone instead of the scope evaluated on every message
    (~3 s for 1,000,000 messages, bench/bench_scope.py):

    1. the messages of their queues: ``ix_message_queue_scope`` (queue, agent, deleted,
       folder), grouped in the index's order;
    2. the ones they sent outside their queues (no queue, or another queue):
       ``ix_message_queue_scope`` again, (queue, agent) ranges;
    3. the rest of their conversations' messages (no queue or another queue, sent by anyone
       else): ``ix_message_interaction_scope`` (conversation, queue, agent, deleted,
       folder); on SQLite, (conversation, queue) ranges: a big conversation in one of their
       queues is not walked;
    4. the replies to their sends that none of the parts before holds: the inbound texts
       outside any queue (the partial ``ix_message_direct_scope``), each one probe of
       ``ix_message_agent_sent``.

    "Another queue" is the queues they are not a member of, read from ``queue`` (a
    message's queue is a foreign key: it exists), so that parts 2 and 3 are index ranges.
    Every message of the scope is in exactly one part (a message of their queue they sent
    is counted by 1 only, a reply in their conversation by 3 only: test_scope.py)."""
    me = ctx.agent.id
    queues, conversations = _their_queues(me), _their_conversations(me)
    other_queues = sa.select(col(Queue.id)).where(col(Queue.id).not_in(queues))
    not_theirs = sa.or_(col(Message.agent_id).is_(None), col(Message.agent_id) != me)
    outside_conversations = sa.or_(
        col(Message.interaction_id).is_(None), col(Message.interaction_id).not_in(conversations)
    )
    deleted, folder = col(Message.deleted), col(Message.folder)

    def part(*where: sa.ColumnElement[bool], by: Sequence[Any] = ()) -> sa.Select[bool, str, int]:
        return (
            sa.select(deleted, folder, sa.func.count()).where(*where).group_by(*by, deleted, folder)
        )

    queue_id, agent_id = col(Message.queue_id), col(Message.agent_id)
    in_conversation = col(Message.interaction_id).in_(conversations)
    return sa.union_all(
        part(queue_id.in_(queues), by=(queue_id, agent_id)),
        part(agent_id == me, queue_id.is_(None)),
        part(agent_id == me, queue_id.in_(other_queues), by=(queue_id,)),
        part(in_conversation, queue_id.is_(None), not_theirs),
        part(in_conversation, queue_id.in_(other_queues), not_theirs),
        part(_replied_to(me), not_theirs, outside_conversations),
    )


async def _check_visible(session: AsyncSession, ctx: AgentContext, ids: Sequence[int]) -> None:
    """Refuse the whole operation when any of ``ids`` is outside the agent's scope (or does
    not exist): nothing is half-done, and a message of another queue is not even confirmed
    to exist."""
    if ctx.is_supervisor:
        return
    seen: set[int] = set()
    for start in range(0, len(ids), RESEND_CHUNK):
        rows = await session.scalars(
            sa.select(col(Message.id)).where(
                col(Message.id).in_(ids[start : start + RESEND_CHUNK]), *visible_to(ctx)
            )
        )
        seen.update(i for i in rows.all() if i is not None)
    hidden = [i for i in ids if i not in seen]
    if hidden:
        raise NotAllowed(
            f"message #{hidden[0]} is not in your queues or conversations"
            + (f" (and {len(hidden) - 1} more)" if len(hidden) > 1 else "")
        )


def routing_permission(ctx: AgentContext) -> None:
    """The inbox needs the outgoing Messaging permission (B1's first check)."""
    routing_mode(ctx.permissions)


def _ids_text(ids: Sequence[int]) -> str:
    shown = ",".join(str(i) for i in ids[:20])
    return f"message:{shown}" + (f" … ({len(ids)})" if len(ids) > 20 else "")


def _refusal(first: Rejected, more: int) -> BannerError:
    """The first rejected recipient's own error (same class, same name), naming it."""
    detail = f"{first.recipient}" + (f": {first.detail}" if first.detail else "")
    if more:
        detail += f" (and {more} more rejected recipient{'s' if more > 1 else ''})"
    kind = type(first.exc) if first.exc is not None else NotAllowed
    return kind(detail)
