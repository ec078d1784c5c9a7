"""Browser sign-in for ``bannertui serve``: agents' passwords and browser sessions.

An agent's password is set with ``bannertui agent password LOGIN`` (by themself, or by an
administrator) and kept as an Argon2 hash; it is never stored, logged or audited in clear.
Signing in checks it and opens a session: the browser keeps a random token (in a cookie),
the database only its SHA-256.  A session lasts :data:`SESSION_TTL` unless its agent signs
out, is disabled, or has their password set again.

Failed sign-ins are counted in memory (per login and per address): past
:data:`MAX_FAILURES` in :data:`FAILURE_WINDOW` the next ones are refused, without checking
the password, until the oldest failure leaves the window.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.errors import BannerError, NotAllowed
from bannertui.services.agents import load_agent
from bannertui.services.base import Clock, Service, system_clock
from bannertui.store.database import Database
from bannertui.store.models import Agent, WebSession

#: The environment variable that hands a console process its browser session's token
#: (``bannertui serve`` sets it; the console checks it against the database).
SESSION_ENV = "BANNERTUI_WEB_SESSION"
#: How long a browser session lasts after sign-in.
SESSION_TTL = timedelta(hours=12)
#: A password's length, in characters.
PASSWORD_MIN = 10
PASSWORD_MAX = 1024
#: Failed sign-ins allowed per login and per address in FAILURE_WINDOW.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=5)
#: The longest login (Agent.login) and address (WebSession.address).
LOGIN_MAX = 64
ADDRESS_MAX = 64
#: A token longer than this is not one of ours (secrets.token_urlsafe(32) makes 43).
TOKEN_MAX = 128


class WrongLoginOrPassword(BannerError):
    """The same refusal for an unknown login, a disabled agent, an agent with no password
    and a wrong password: a sign-in attempt learns nothing else."""

    name = "Wrong login or password"


class InvalidPassword(BannerError):
    name = "Invalid password"


class NotSignedIn(BannerError):
    """No session, an unknown (forged) token, a session signed out, or its agent disabled."""

    name = "Not signed in"


class SessionExpired(NotSignedIn):
    name = "Session expired"


class TooManyAttempts(BannerError):
    name = "Too many attempts"

    def __init__(self, retry_after: int) -> None:
        #: Seconds until a sign-in is accepted again.
        self.retry_after = retry_after
        super().__init__(f"try again in {retry_after} s")

    @property
    def message(self) -> str:
        return f"{self.name}, try again in {self.retry_after} s"


def token_hash(token: str) -> str:
    """What the database keeps of a session token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class FailureLimiter:
    """Failed attempts per key in a sliding window, in memory (one process's view)."""

    def __init__(
        self,
        clock: Clock = system_clock,
        max_failures: int = MAX_FAILURES,
        window: timedelta = FAILURE_WINDOW,
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, keys: Iterable[str]) -> int | None:
        """Seconds to wait when any key has had its failures in the window, else None."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                # Accepted again once enough failures have left the window.
                oldest_counted = times[len(times) - self.max_failures]
                wait = max(wait, (oldest_counted + self.window - now).total_seconds())
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        if len(self._failures) > 1000:  # forget the keys whose failures have all expired
            for key in list(self._failures):
                self._recent(key, now)
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)


def _limit_keys(login: str, address: str) -> tuple[str, str]:
    return f"login:{login[: LOGIN_MAX + 1].casefold()}", f"address:{address[:ADDRESS_MAX]}"


class WebLoginService(Service):
    def __init__(
        self,
        db: Database,
        clock: Clock = system_clock,
        *,
        ttl: timedelta = SESSION_TTL,
        hasher: PasswordHasher | None = None,
        limiter: FailureLimiter | None = None,
    ) -> None:
        super().__init__(db, clock)
        self.ttl = ttl
        self.hasher = hasher or PasswordHasher()
        self.limiter = limiter or FailureLimiter(clock)
        self._dummy_hash: str | None = None

    # --- passwords --------------------------------------------------------------------

    async def set_password(self, actor: Actor, login: str, password: str) -> None:
        """Set ``login``'s sign-in password: an agent their own, an administrator anyone's.
        Their open browser sessions end.  Audited as ``agent.password_set`` (never the
        password, nor its hash)."""
        async with self.db.read() as session:
            caller = await load_agent(session, actor)
        if login != caller.login and not caller.is_admin:
            raise NotAllowed(f"{caller.login} may set only their own password")
        if len(password) < PASSWORD_MIN:
            raise InvalidPassword(f"at least {PASSWORD_MIN} characters")
        if len(password) > PASSWORD_MAX:
            raise InvalidPassword(f"at most {PASSWORD_MAX} characters")
        if not password.strip():
            raise InvalidPassword("not only spaces")
        hashed = await asyncio.to_thread(self.hasher.hash, password)

        async def tx(session: AsyncSession) -> None:
            target = await load_agent(session, login)  # Unknown agent: <login>
            now = self.clock()
            await session.execute(
                sa.update(Agent)
                .where(col(Agent.id) == target.agent.id)
                .values(password_hash=hashed)
            )
            ended = await session.execute(
                sa.update(WebSession)
                .where(
                    col(WebSession.agent_id) == target.agent.id, col(WebSession.ended_at).is_(None)
                )
                .values(ended_at=now)
            )
            self.audit(
                session,
                actor,
                "agent.password_set",
                f"agent:{target.login}",
                sessions_ended=int(cast(CursorResult[Any], ended).rowcount),
            )

        await self.db.run_write(tx)

    def _dummy(self) -> str:
        """A hash to check unknown logins against, so they take as long as known ones."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored or self._dummy(), password)) and bool(stored)
        except (VerificationError, InvalidHashError):
            return False

    # --- sessions ---------------------------------------------------------------------

    async def sign_in(self, login: str, password: str, address: str) -> tuple[str, Actor]:
        """Check ``login``'s password and open a session: (its token, the agent).  Refused as
        ``Wrong login or password`` whatever was wrong, and as ``Too many attempts`` past
        the failures allowed for this login or this address (nothing is written then)."""
        login = login.strip()
        address = address[:ADDRESS_MAX]
        keys = _limit_keys(login, address)
        if (wait := self.limiter.retry_after(keys)) is not None:
            raise TooManyAttempts(wait)
        stored: str | None = None
        if 0 < len(login) <= LOGIN_MAX and len(password) <= PASSWORD_MAX:
            async with self.db.read() as session:
                row = (
                    await session.execute(
                        sa.select(col(Agent.password_hash)).where(
                            col(Agent.login) == login, col(Agent.active).is_(True)
                        )
                    )
                ).first()
            stored = row[0] if row is not None else None
        if not await asyncio.to_thread(self._verify, stored, password[:PASSWORD_MAX]):
            self.limiter.failed(keys)
            raise WrongLoginOrPassword()
        assert stored is not None
        rehashed = (
            await asyncio.to_thread(self.hasher.hash, password)
            if self.hasher.check_needs_rehash(stored)
            else None
        )
        token = secrets.token_urlsafe(32)

        async def tx(session: AsyncSession) -> Actor:
            ctx = await load_agent(session, login)
            now = self.clock()
            session.add(
                WebSession(
                    token_hash=token_hash(token),
                    agent_id=ctx.agent.id or 0,
                    created_at=now,
                    expires_at=now + self.ttl,
                    address=address,
                )
            )
            if rehashed is not None:
                await session.execute(
                    sa.update(Agent)
                    .where(col(Agent.id) == ctx.agent.id)
                    .values(password_hash=rehashed)
                )
            actor = Actor(ctx.login)
            self.audit(session, actor, "web.signed_in", f"agent:{ctx.login}", address=address)
            return actor

        return token, await self.db.run_write(tx)

    async def session(self, token: str | None) -> Actor:
        """The agent of a browser session: ``Not signed in`` for no token, a token that is
        not a session's, a session signed out or an agent disabled; ``Session expired`` past
        its time."""
        if not token or len(token) > TOKEN_MAX:
            raise NotSignedIn()
        async with self.db.read() as session:
            row = (
                await session.execute(
                    sa.select(
                        col(WebSession.expires_at),
                        col(WebSession.ended_at),
                        col(Agent.login),
                        col(Agent.active),
                    )
                    .join(Agent, col(Agent.id) == col(WebSession.agent_id))
                    .where(col(WebSession.token_hash) == token_hash(token))
                )
            ).first()
        if row is None:
            raise NotSignedIn()
        expires_at, ended_at, login, active = row
        if ended_at is not None or not active:
            raise NotSignedIn()
        if expires_at is None or expires_at <= self.clock():
            raise SessionExpired()
        return Actor(login)

    async def sign_out(self, token: str | None) -> Actor | None:
        """End a session (the agent, or None when there was no open session)."""
        if not token or len(token) > TOKEN_MAX:
            return None

        async def tx(session: AsyncSession) -> Actor | None:
            row = (
                await session.execute(
                    sa.select(col(WebSession.id), col(Agent.login))
                    .join(Agent, col(Agent.id) == col(WebSession.agent_id))
                    .where(
                        col(WebSession.token_hash) == token_hash(token),
                        col(WebSession.ended_at).is_(None),
                    )
                )
            ).first()
            if row is None:
                return None
            session_id, login = row
            await session.execute(
                sa.update(WebSession)
                .where(col(WebSession.id) == session_id)
                .values(ended_at=self.clock())
            )
            actor = Actor(login)
            self.audit(session, actor, "web.signed_out", f"agent:{login}")
            return actor

        return await self.db.run_write(tx)
