"""The client account: its credit balance and whether an SMS provider is configured."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.errors import InsufficientCredits, NoProviderConfigured, NotAllowed
from bannertui.services.base import Service
from bannertui.store.database import at_commit
from bannertui.store.models import Account

ACCOUNT_ID = 1
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
        """Add ``amount`` (> 0) credits; returns the new balance.  For administrators."""
        from bannertui.services.agents import load_agent  # agents imports this module

        if amount <= 0:
            raise ValueError("the number of credits to add must be positive")
        async with self.db.write() as session:
            ctx = await load_agent(session, actor)
            if not ctx.is_admin:
                raise NotAllowed(f"{ctx.login} is not an administrator: adding credits is for them")
            await load_account(session)
            await refund(session, amount)
            self.audit(session, actor, "credits.added", "account", amount=amount)
            balance = await session.scalar(
                sa.select(col(Account.credits)).where(col(Account.id) == ACCOUNT_ID)
            )
        return int(balance or 0)
