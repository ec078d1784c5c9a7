"""The client account: its credit balance and whether an SMS provider is configured."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.errors import (
    BalanceLimitExceeded,
    InsufficientCredits,
    InvalidAmount,
    NoProviderConfigured,
    NotAllowed,
)
from bannertui.services.base import Service
from bannertui.store.database import at_commit
from bannertui.store.models import Account

ACCOUNT_ID = 1
#: The most credits the balance may hold, and so the most one addition may bring.  Far above
#: any real account, and below what the column holds on PostgreSQL (a 32-bit integer, up to
#: 2,147,483,647): refunds of messages sent before a top-up can still take the balance above
#: it without overflowing.  Without a bound, SQLite turned a balance past 2**63 into a float.
MAX_BALANCE = 1_000_000_000
ACCOUNT_NOT_SET_UP = "the account is not set up: run `bannertui db seed-demo`"


async def load_account(session: AsyncSession) -> Account:
    account = await session.get(Account, ACCOUNT_ID)
    if account is None:
        raise NoProviderConfigured(ACCOUNT_NOT_SET_UP)
    return account


async def debit(session: AsyncSession, credits: int) -> None:
    """Take ``credits`` from the balance in the caller's transaction, never below zero."""
    if credits <= 0:
        return
    result = await session.execute(
        sa.update(Account)
        .where(col(Account.id) == ACCOUNT_ID, col(Account.credits) >= credits)
        .values(credits=col(Account.credits) - credits)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        balance = await session.scalar(
            sa.select(col(Account.credits)).where(col(Account.id) == ACCOUNT_ID)
        )
        raise InsufficientCredits(f"{credits} needed, {balance or 0} left")


_DEFERRED = "bannertui_deferred_debit"


async def debit_at_commit(
    session: AsyncSession, credits: int, *, balance: int | None = None
) -> None:
    """Like :func:`debit`, but the balance is updated as the transaction's last statement
    (``store.database.at_commit``): every send updates the one account row, and holding its
    lock for a whole send transaction queued other agents' sends behind it (84 waiting, seen
    under bench/load).  The balance is checked now too, so a short balance is refused before
    anything else is done (against ``balance`` when the transaction has read it already); the
    debit at commit checks again and raises the same error, rolling everything back, when
    other sends took the credits meanwhile."""
    if credits <= 0:
        return
    pending = session.info.get(_DEFERRED, 0)
    if balance is None:
        balance = await session.scalar(
            sa.select(col(Account.credits)).where(col(Account.id) == ACCOUNT_ID)
        )
    if (balance or 0) < pending + credits:
        raise InsufficientCredits(f"{pending + credits} needed, {balance or 0} left")
    session.info[_DEFERRED] = pending + credits
    if not pending:

        async def settle(s: AsyncSession) -> None:
            await debit(s, s.info.pop(_DEFERRED, 0))

        at_commit(session, settle)


async def refund(session: AsyncSession, credits: int) -> None:
    if credits > 0:
        await session.execute(
            sa.update(Account)
            .where(col(Account.id) == ACCOUNT_ID)
            .values(credits=col(Account.credits) + credits)
        )


class AccountService(Service):
    async def ensure(self, name: str = "Default account") -> Account:
        """Create the account row (0 credits, no provider) if the database has none."""
        async with self.db.write() as session:
            account = await session.get(Account, ACCOUNT_ID)
            if account is None:
                account = Account(id=ACCOUNT_ID, name=name, credits=0, updated_at=self.clock())
                session.add(account)
            return account

    async def get(self, actor: Actor) -> Account:
        """The account (its name, balance and provider URL), for any active agent."""
        from bannertui.services.agents import load_agent  # agents imports this module

        async with self.db.read() as session:
            await load_agent(session, actor)
            return await load_account(session)

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
            await load_account(session)
            # Checked in the update itself: two additions at once cannot both pass.
            added = await session.execute(
                sa.update(Account)
                .where(col(Account.id) == ACCOUNT_ID, col(Account.credits) <= MAX_BALANCE - amount)
                .values(credits=col(Account.credits) + amount)
            )
            if cast(CursorResult[Any], added).rowcount != 1:
                balance = await session.scalar(
                    sa.select(col(Account.credits)).where(col(Account.id) == ACCOUNT_ID)
                )
                raise BalanceLimitExceeded(
                    f"the balance is {balance or 0:,}: adding {amount:,} would take it above "
                    f"{MAX_BALANCE:,} credits"
                )
            self.audit(session, actor, "credits.added", "account", amount=amount)
            balance = await session.scalar(
                sa.select(col(Account.credits)).where(col(Account.id) == ACCOUNT_ID)
            )
        return int(balance or 0)
