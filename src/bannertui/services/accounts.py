"""The client account: its credit balance and whether an SMS provider is configured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction, MessageStatus
from bannertui.domain.errors import (
    BalanceLimitExceeded,
    InsufficientCredits,
    InvalidAmount,
    NoProviderConfigured,
    NotAllowed,
)
from bannertui.services.base import Service, pg_refusal
from bannertui.store.database import at_commit
from bannertui.store.models import Account, Connector, Message

ACCOUNT_ID = 1
#: The most credits the balance may hold, and so the most one addition may bring.  Far above
#: any real account, and below what the column holds on PostgreSQL (a 32-bit integer, up to
#: 2,147,483,647): refunds of messages sent before a top-up can still take the balance above
#: it without overflowing.  Without a bound, SQLite turned a balance past 2**63 into a float.
MAX_BALANCE = 1_000_000_000
ACCOUNT_NOT_SET_UP = "the account is not set up: run `bannertui db seed-demo`"


async def load_balance(session: AsyncSession) -> int:
    """The balance (No provider configured when there is no account)."""
    balance = await session.scalar(
        sa.select(col(Account.credits)).where(col(Account.id) == ACCOUNT_ID)
    )
    if balance is None:
        raise NoProviderConfigured(ACCOUNT_NOT_SET_UP)
    return int(balance)


async def load_account(session: AsyncSession) -> Account:
    account = await session.get(Account, ACCOUNT_ID)
    if account is None:
        raise NoProviderConfigured(ACCOUNT_NOT_SET_UP)
    return account


_SETTINGS: Any = Connector.__table__.c.settings  # type: ignore[attr-defined]
#: The first configured connector's URL (https-json), API base (Twilio) or ``smpp://host``
#: (SMPP), for administrators.
PROVIDER_URL = (
    sa.select(
        sa.func.coalesce(
            sa.func.nullif(_SETTINGS["url"].as_string(), ""),
            _SETTINGS["api_base"].as_string(),
            sa.literal("smpp://") + _SETTINGS["host"].as_string(),
        )
    )
    .where(col(Connector.configured).is_(True))
    .order_by(col(Connector.id))
    .limit(1)
    .scalar_subquery()
)


@dataclass(frozen=True, slots=True)
class AccountView:
    """The account as an agent may see it (``provider_url``: administrators only)."""

    name: str
    credits: int
    provider_set: bool
    provider_url: str | None = None


def on_postgresql(session: AsyncSession) -> bool:
    return session.sync_session.get_bind().dialect.name == "postgresql"


async def _call(session: AsyncSession, statement: sa.Executable, params: dict[str, Any]) -> Any:
    try:
        return await session.scalar(statement, params)
    except DBAPIError as exc:
        refusal = pg_refusal(exc)
        if refusal is None:
            raise
        raise refusal from None


_CHARGE = sa.text("SELECT bannertui_charge(CAST(:ids AS integer[]))")
_REFUND = sa.text("SELECT bannertui_refund(:id)")
_ADD = sa.text("SELECT bannertui_add_credits(:amount, :most)")


async def charge(session: AsyncSession, message_ids: Sequence[int]) -> int:
    """Pay for these sends (each unpaid, pending or scheduled): their credits leave the
    balance in the caller's transaction, never below zero (Insufficient credits), and each is
    marked paid, so it is paid once.  Returns the credits taken.  On PostgreSQL the function
    ``bannertui_charge`` does it, and checks that the caller may send them."""
    ids = sorted(set(message_ids))
    if not ids:
        return 0
    if on_postgresql(session):
        return int(await _call(session, _CHARGE, {"ids": ids}) or 0)
    rows = (
        await session.execute(
            sa.update(Message)
            .where(
                col(Message.id).in_(ids),
                col(Message.paid).is_(False),
                col(Message.direction) == Direction.OUTBOUND,
                col(Message.status).in_((MessageStatus.SCHEDULED, MessageStatus.PENDING)),
            )
            .values({col(Message.paid): True})
            .returning(col(Message.credits))
            .execution_options(synchronize_session=False)
        )
    ).all()
    if len(rows) != len(ids):  # as bannertui_charge says it on PostgreSQL
        raise NotAllowed("a message to pay for is not an unpaid send")
    total = sum(int(r[0]) for r in rows)
    if total <= 0:
        return 0
    result = await session.execute(
        sa.update(Account)
        .where(col(Account.id) == ACCOUNT_ID, col(Account.credits) >= total)
        .values(credits=col(Account.credits) - total)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        balance = await session.scalar(
            sa.select(col(Account.credits)).where(col(Account.id) == ACCOUNT_ID)
        )
        raise InsufficientCredits(f"{total} needed, {balance or 0} left")
    return total


async def check_balance(session: AsyncSession, credits: int, balance: int | None = None) -> None:
    """Refuse early (Insufficient credits) when ``credits`` more than this transaction's
    charges at commit would take the balance below zero (``balance``: as already read)."""
    pending = session.info.get(_DEFERRED_CREDITS, 0)
    if balance is None:
        balance = await session.scalar(
            sa.select(col(Account.credits)).where(col(Account.id) == ACCOUNT_ID)
        )
    if (balance or 0) < pending + credits:
        raise InsufficientCredits(f"{pending + credits} needed, {balance or 0} left")


_DEFERRED = "bannertui_deferred_charge"
_DEFERRED_CREDITS = "bannertui_deferred_credits"


def charge_at_commit(session: AsyncSession, message_id: int, credits: int) -> None:
    """Like :func:`charge`, but as the transaction's last statement (``store.database.
    at_commit``): every send updates the one account row, and holding its lock for a whole
    send transaction queued other agents' sends behind it (84 waiting, seen under
    bench/load).  Call :func:`check_balance` first, so that a short balance is refused before
    anything is written; the charge at commit checks again and raises the same error, rolling
    everything back, when other sends took the credits meanwhile."""
    pending: list[int] | None = session.info.get(_DEFERRED)
    session.info[_DEFERRED_CREDITS] = session.info.get(_DEFERRED_CREDITS, 0) + credits
    if pending is not None:
        pending.append(message_id)
        return
    session.info[_DEFERRED] = [message_id]

    async def settle(s: AsyncSession) -> None:
        s.info.pop(_DEFERRED_CREDITS, None)
        await charge(s, s.info.pop(_DEFERRED, []))

    at_commit(session, settle)


async def refund(session: AsyncSession, message_id: int) -> int:
    """Give a failed, never sent message's credits back, once (it is no longer paid).
    Returns the credits given back (0: not paid, or sent)."""
    if on_postgresql(session):
        return int(await _call(session, _REFUND, {"id": message_id}) or 0)
    credits = await session.scalar(
        sa.update(Message)
        .where(
            col(Message.id) == message_id,
            col(Message.status) == MessageStatus.FAILED,
            col(Message.sent_at).is_(None),
            col(Message.paid).is_(True),
        )
        .values({col(Message.paid): False})
        .returning(col(Message.credits))
        .execution_options(synchronize_session=False)
    )
    if credits:
        await session.execute(
            sa.update(Account)
            .where(col(Account.id) == ACCOUNT_ID)
            .values(credits=col(Account.credits) + credits)
        )
    return int(credits or 0)


class AccountService(Service):
    async def ensure(self, name: str = "Default account") -> None:
        """Create the account row (0 credits, no provider) if the database has none."""
        async with self.db.read() as session:
            if await session.scalar(
                sa.select(col(Account.id)).where(col(Account.id) == ACCOUNT_ID)
            ):
                return
        async with self.db.write() as session:
            if await session.get(Account, ACCOUNT_ID) is None:
                session.add(Account(id=ACCOUNT_ID, name=name, credits=0, updated_at=self.clock()))

    async def get(self, actor: Actor) -> AccountView:
        """The account, for any active agent: its name, balance and whether a provider is
        set up; its provider URL for administrators only (the provider settings are theirs:
        on PostgreSQL, the database refuses them to anyone else)."""
        from bannertui.services.agents import PROVIDER_SET, load_agent  # (imports this module)

        async with self.db.read() as session:
            ctx = await load_agent(session, actor)
            row = (
                await session.execute(
                    sa.select(
                        col(Account.name),
                        col(Account.credits),
                        PROVIDER_SET,
                        *([PROVIDER_URL] if ctx.is_admin else []),
                    ).where(col(Account.id) == ACCOUNT_ID)
                )
            ).first()
        if row is None:
            raise NoProviderConfigured(ACCOUNT_NOT_SET_UP)
        return AccountView(
            name=row[0],
            credits=int(row[1]),
            provider_set=bool(row[2]),
            provider_url=row[3] if ctx.is_admin else None,
        )

    async def balance(self, actor: Actor) -> int:
        """The account's credits, for any active agent (the balance is shared); read with the
        agent in one statement."""
        from bannertui.services.agents import load_agent  # agents imports this module

        async with self.db.read() as session:
            return (await load_agent(session, actor)).account_balance()

    async def add_credits(self, actor: Actor, amount: int) -> int:
        """Add ``amount`` credits (a whole number from 1 to :data:`MAX_BALANCE`, the balance
        staying at most that); returns the new balance.  For administrators."""
        from bannertui.services.agents import load_agent  # agents imports this module

        if (
            isinstance(amount, bool)
            or not isinstance(amount, int)
            or not (1 <= amount <= MAX_BALANCE)
        ):
            raise InvalidAmount(
                f"the credits to add must be a whole number from 1 to {MAX_BALANCE:,} "
                f"(got {amount})"
            )
        async with self.db.write() as session:
            ctx = await load_agent(session, actor)
            if not ctx.is_admin:
                raise NotAllowed(f"{ctx.login} is not an administrator: adding credits is for them")
            await load_balance(session)
            balance = await self._add(session, amount)
            self.audit(session, actor, "credits.added", "account", amount=amount)
        return balance

    async def _add(self, session: AsyncSession, amount: int) -> int:
        """Add to the balance, checked in the update itself (two additions at once cannot
        both pass); on PostgreSQL through ``bannertui_add_credits``, which checks the caller is
        an administrator."""
        if on_postgresql(session):
            before = await load_balance(session)
            try:
                return int(await _call(session, _ADD, {"amount": amount, "most": MAX_BALANCE}))
            except DBAPIError as exc:
                inner = (exc.orig.__cause__ if exc.orig is not None else None) or exc.orig
                if getattr(inner, "sqlstate", None) != "BT413":
                    raise
            balance: int | None = before  # (the transaction is aborted: read before)
        else:
            added = await session.execute(
                sa.update(Account)
                .where(col(Account.id) == ACCOUNT_ID, col(Account.credits) <= MAX_BALANCE - amount)
                .values(credits=col(Account.credits) + amount)
            )
            if cast(CursorResult[Any], added).rowcount == 1:
                return int(
                    await session.scalar(
                        sa.select(col(Account.credits)).where(col(Account.id) == ACCOUNT_ID)
                    )
                    or 0
                )
            balance = await load_balance(session)
        raise BalanceLimitExceeded(
            f"the balance is {balance:,}: adding {amount:,} would take it above "
            f"{MAX_BALANCE:,} credits"
        )
