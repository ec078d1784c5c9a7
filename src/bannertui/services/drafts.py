"""Drafts (issue #23 item 3): what an agent has typed and not sent yet, kept in the database
as they type, so that it survives switching conversations, a restart and a crash.

One draft per agent and *key*: each conversation of theirs (the interaction id), the Direct
form (``"direct"``) and Send SMS (``"compose"``, with its recipients as typed).  The rules,
here and not only in the screens:

* an agent reads and writes only their own drafts, and a conversation's only while it is
  assigned to them (the scope of a conversation's reads, ``conversations.get``: closed and
  archived ones included, so that a draft outlives a close done elsewhere); another agent's
  conversation is ``Not allowed``, one that does not exist ``Unknown interaction``;
* a blank text (nothing but spaces and line breaks) deletes the draft;
* a draft holds at most :data:`DRAFT_MAX_CHARS` characters (eight credits of SMS are 1,224
  at most: the editor may hold more while the agent trims it), its recipients
  :data:`RECIPIENTS_MAX_CHARS` (``Draft too long``, nothing written);
* the text is stored as typed: the screens sanitize what they show.

A draft whose conversation was closed elsewhere (another console, another process) is *kept*:
it stays stored under that conversation, and :meth:`DraftService.restore` moves it into the
next editor the agent opens for the same customer (a new conversation with their number, the
Direct form to it) or, when Send SMS has no draft of its own, into Send SMS with the
customer's number as its recipient.

Saving a draft is neither audited (it is not an action on anything; the text would fill the
trail at every pause in typing) nor notified (no other screen shows drafts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.errors import DraftTooLong, NotAllowed, UnknownInteraction
from bannertui.services.agents import OPEN_STATUSES, AgentContext, load_agent
from bannertui.services.base import Service
from bannertui.store.models import Draft, Interaction
from bannertui.store.notify import unnoticed

#: The named slots: the Direct form's draft and Send SMS's, one each per agent.
DIRECT = "direct"
COMPOSE = "compose"
SLOTS = (DIRECT, COMPOSE)

#: A conversation's id, or one of :data:`SLOTS`.
DraftKey = int | str

#: The longest draft: generous (eight credits of GSM-7 are 1,224 characters, of UCS-2 536),
#: so that a long paste is kept while the agent trims it, and still bounded.
DRAFT_MAX_CHARS = 10_000
#: The longest recipients list kept with a Send SMS draft (several hundred numbers).
RECIPIENTS_MAX_CHARS = 5_000


@dataclass(frozen=True, slots=True)
class DraftRow:
    """One stored draft."""

    key: DraftKey
    text: str
    #: The Direct form's number or Send SMS's recipients as typed; "" for a conversation's.
    recipients: str
    updated_at: datetime
    #: A conversation's draft whose conversation is no longer open (closed or archived, here
    #: or elsewhere): the draft is kept, the conversation takes no message.
    closed: bool = False
    #: Set by :meth:`DraftService.restore` when it moved the draft here from this closed
    #: conversation (a kept draft), None otherwise.
    adopted_from: int | None = None
    #: The customer's number of the conversation it was adopted from.
    adopted_number: str | None = None


def _check_sizes(text: str, recipients: str) -> None:
    if len(text) > DRAFT_MAX_CHARS:
        raise DraftTooLong(
            f"a draft holds at most {DRAFT_MAX_CHARS:,} characters; this one has {len(text):,}"
        )
    if len(recipients) > RECIPIENTS_MAX_CHARS:
        raise DraftTooLong(
            f"a draft's recipients hold at most {RECIPIENTS_MAX_CHARS:,} characters; "
            f"these have {len(recipients):,}"
        )


def _blank(text: str) -> bool:
    return not text.strip()


def _slot_of(interaction_id: int) -> str:
    return f"interaction:{interaction_id}"


def _row(key: DraftKey, draft: Draft, interaction: Interaction | None) -> DraftRow:
    assert draft.updated_at is not None
    return DraftRow(
        key=key,
        text=draft.text,
        recipients=draft.recipients,
        updated_at=draft.updated_at,
        closed=interaction is not None and interaction.status not in OPEN_STATUSES,
    )


class DraftService(Service):
    async def save(
        self, actor: Actor, key: DraftKey, text: str, *, recipients: str = ""
    ) -> DraftRow | None:
        """Store ``text`` as the draft of ``key`` (replacing the one there); a blank text
        deletes it (None).  ``recipients``: the Direct form's number or Send SMS's "To" as
        typed (ignored for a conversation: its number is the conversation's)."""
        async with self.db.write() as session:
            unnoticed(session)
            ctx = await load_agent(session, actor)
            slot, interaction = await self._slot(session, ctx, key)
            _check_sizes(text, recipients)
            agent_id = ctx.agent.id or 0
            if _blank(text):
                await self._delete(session, agent_id, slot)
                return None
            draft = Draft(
                agent_id=agent_id,
                slot=slot,
                interaction_id=interaction.id if interaction is not None else None,
                text=text,
                recipients="" if interaction is not None else recipients,
                updated_at=self.clock(),
            )
            await session.execute(self._upsert(draft))
            return _row(key, draft, interaction)

    async def get(self, actor: Actor, key: DraftKey) -> DraftRow | None:
        """The draft of ``key``, None when there is none."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            slot, interaction = await self._slot(session, ctx, key)
            draft = await session.get(Draft, (ctx.agent.id, slot))
            return None if draft is None else _row(key, draft, interaction)

    async def clear(self, actor: Actor, key: DraftKey) -> None:
        """Delete the draft of ``key`` (sent, or the conversation ended by the agent); none
        there is no error."""
        async with self.db.write() as session:
            unnoticed(session)
            ctx = await load_agent(session, actor)
            slot, _interaction = await self._slot(session, ctx, key)
            await self._delete(session, ctx.agent.id or 0, slot)

    async def restore(
        self, actor: Actor, key: DraftKey, *, number: str | None = None
    ) -> DraftRow | None:
        """What an editor opening for ``key`` starts with: its draft; when it has none, the
        newest draft kept from a conversation of the agent's that is no longer open to them
        (closed elsewhere) with the same customer, moved here (``adopted_from`` says from
        where).

        The customer is the conversation's number for a conversation, ``number`` (the form's
        recipient) for the Direct form, and anyone for Send SMS, whose recipients become that
        customer's number.  The Direct form's own draft is restored only into a form to the
        number it was written to (None: whatever that number)."""
        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            slot, interaction = await self._slot(session, ctx, key)
            agent_id = ctx.agent.id or 0
            draft = await session.get(Draft, (agent_id, slot))
            if draft is not None:
                if key == DIRECT and number is not None and draft.recipients != number:
                    return None  # another customer's: not into this form
                return _row(key, draft, interaction)
            if interaction is not None:
                customer: str | None = interaction.remote_number
            elif key == DIRECT:
                customer = number
                if customer is None:
                    return None
            else:
                customer = None
            kept = await self._kept(session, agent_id, customer)
        if kept is None:
            return None
        return await self._adopt(actor, key, kept)

    # --- helpers --------------------------------------------------------------------------

    async def _slot(
        self, session: AsyncSession, ctx: AgentContext, key: DraftKey
    ) -> tuple[str, Interaction | None]:
        """The row's slot for ``key``, and its conversation (which must be the agent's: the
        check of ``conversations.get``)."""
        if isinstance(key, bool) or not isinstance(key, int | str):
            raise TypeError(f"a draft key is an interaction id or one of {SLOTS}, not {key!r}")
        if isinstance(key, str):
            if key not in SLOTS:
                raise ValueError(f"no draft slot {key!r}: one of {SLOTS} or an interaction id")
            return key, None
        interaction = await session.get(Interaction, key)
        if interaction is None:
            raise UnknownInteraction(f"no interaction #{key}")
        if interaction.agent_id != ctx.agent.id:
            raise NotAllowed("this interaction is assigned to another agent")
        return _slot_of(key), interaction

    async def _delete(self, session: AsyncSession, agent_id: int, slot: str) -> None:
        await session.execute(
            sa.delete(Draft)
            .where(col(Draft.agent_id) == agent_id, col(Draft.slot) == slot)
            .execution_options(synchronize_session=False)
        )

    def _upsert(self, draft: Draft) -> sa.Executable:
        values = {
            "agent_id": draft.agent_id,
            "slot": draft.slot,
            "interaction_id": draft.interaction_id,
            "text": draft.text,
            "recipients": draft.recipients,
            "updated_at": draft.updated_at,
        }
        if self.db.is_sqlite:
            from sqlalchemy.dialects import sqlite as dialect
        else:  # the PostgreSQL dialect is loaded only by a console on PostgreSQL
            from sqlalchemy.dialects import postgresql as dialect  # type: ignore[no-redef]
        insert = dialect.insert(Draft)
        statement = insert.values(**values)
        return statement.on_conflict_do_update(
            index_elements=["agent_id", "slot"],
            set_={
                "text": statement.excluded.text,
                "recipients": statement.excluded.recipients,
                "updated_at": statement.excluded.updated_at,
            },
        )

    async def _kept(
        self, session: AsyncSession, agent_id: int, customer: str | None
    ) -> tuple[str, str, int] | None:
        """(slot, number, interaction id) of the agent's newest kept draft: one of a
        conversation no longer open to them, with ``customer`` (None: anyone)."""
        query = (
            sa.select(col(Draft.slot), col(Interaction.remote_number), col(Interaction.id))
            .join(Interaction, col(Interaction.id) == col(Draft.interaction_id))
            .where(
                col(Draft.agent_id) == agent_id,
                sa.or_(
                    col(Interaction.status).not_in(OPEN_STATUSES),
                    col(Interaction.agent_id).is_distinct_from(agent_id),
                ),
            )
            .order_by(col(Draft.updated_at).desc(), col(Draft.slot).desc())
            .limit(1)
        )
        if customer is not None:
            query = query.where(col(Interaction.remote_number) == customer)
        found = (await session.execute(query)).first()
        if found is None:
            return None
        slot, number, interaction_id = found
        assert interaction_id is not None  # joined on it
        return slot, number, interaction_id

    async def _adopt(
        self, actor: Actor, key: DraftKey, kept: tuple[str, str, int]
    ) -> DraftRow | None:
        """Move the kept draft into ``key``'s slot, unless either changed meanwhile (another
        console of the agent's): then the slot keeps what it has, the kept draft stays."""
        kept_slot, customer, from_id = kept
        async with self.db.write() as session:
            unnoticed(session)
            ctx = await load_agent(session, actor)
            slot, interaction = await self._slot(session, ctx, key)
            agent_id = ctx.agent.id or 0
            if await session.get(Draft, (agent_id, slot)) is not None:
                return None  # typed there meanwhile
            source = await session.get(Draft, (agent_id, kept_slot))
            if source is None:
                return None  # adopted meanwhile
            draft = Draft(
                agent_id=agent_id,
                slot=slot,
                interaction_id=interaction.id if interaction is not None else None,
                text=source.text,
                recipients="" if interaction is not None else customer,
                updated_at=self.clock(),
            )
            await session.delete(source)
            await session.flush()
            session.add(draft)
            row = _row(key, draft, interaction)
        return DraftRow(
            key=row.key,
            text=row.text,
            recipients=row.recipients,
            updated_at=row.updated_at,
            closed=row.closed,
            adopted_from=from_id,
            adopted_number=customer,
        )
