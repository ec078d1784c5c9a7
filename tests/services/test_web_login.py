"""Browser sign-in (``bannertui serve``): passwords, sessions and the failed sign-in limit,
through :class:`WebLoginService` on SQLite and PostgreSQL with a clock the tests move.

The demo data: alice (an agent), sam (a supervisor), admin (an administrator); nobody has a
password until a test sets one.  Argon2 runs with small parameters here (the service's own
default is argon2-cffi's RFC 9106 profile, tested end to end in tests/cli/test_cli_serve.py).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from svc_helpers import Demo

from bannertui.domain.actor import Actor
from bannertui.domain.errors import NotAllowed, UnknownAgent
from bannertui.services import Services
from bannertui.services.web_login import (
    FAILURE_WINDOW,
    MAX_FAILURES,
    SESSION_TTL,
    FailureLimiter,
    InvalidPassword,
    NotSignedIn,
    SessionExpired,
    TooManyAttempts,
    WebLoginService,
    WrongLoginOrPassword,
)
from bannertui.store.database import Database
from bannertui.store.models import Agent, AuditEvent, WebSession

PASSWORD = "correct horse battery"
ALICE = Actor("alice")
ADMIN = Actor("admin")


@pytest.fixture
def seeded(fast_seeded: Database) -> Database:
    """The demo database, reset cheaply for each test (see conftest.py)."""
    return fast_seeded


@pytest.fixture
def web(services: Services, clock: object) -> WebLoginService:
    return WebLoginService(
        services.db,
        services.web.clock,
        hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )


async def password_hash(demo: Demo, login: str) -> str | None:
    async with demo.db.read() as session:
        return await session.scalar(sa.select(Agent.password_hash).where(Agent.login == login))


async def written(demo: Demo) -> tuple[int, int, tuple[str | None, ...]]:
    """What a refused operation must leave as it was: sessions, audit events, hashes."""
    async with demo.db.read() as session:
        hashes = (await session.scalars(sa.select(Agent.password_hash).order_by(Agent.id))).all()
    return await demo.count(WebSession), await demo.count(AuditEvent), tuple(hashes)


def test_the_container_has_the_service(services: Services) -> None:
    assert isinstance(services.web, WebLoginService)
    assert services.web.ttl == SESSION_TTL == timedelta(hours=12)


# --- passwords ----------------------------------------------------------------------------


async def test_an_agent_sets_their_own_password_hashed_and_audited_without_it(
    web: WebLoginService, demo: Demo
) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)

    stored = await password_hash(demo, "alice")
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    (event,) = await demo.audit("agent.password_set")
    assert (event.actor, event.target) == ("alice", "agent:alice")
    assert PASSWORD not in event.detail
    assert stored not in event.detail
    assert "argon2" not in event.detail


async def test_an_administrator_sets_anyones_password_and_acting_as_is_audited(
    web: WebLoginService, demo: Demo
) -> None:
    await web.set_password(ADMIN, "alice", PASSWORD)
    await web.set_password(Actor("alice", by="admin"), "alice", PASSWORD + "!")

    events = await demo.audit("agent.password_set")
    assert [(e.actor, e.target) for e in events] == [
        ("admin", "agent:alice"),
        ("admin as alice", "agent:alice"),
    ]
    _token, actor = await web.sign_in("alice", PASSWORD + "!", "127.0.0.1")
    assert actor == ALICE


@pytest.mark.parametrize("caller", ["alice", "sam"])
async def test_agents_and_supervisors_may_not_set_anothers_password(
    web: WebLoginService, demo: Demo, caller: str
) -> None:
    before = await written(demo)
    with pytest.raises(NotAllowed, match="only their own password"):
        await web.set_password(Actor(caller), "admin", PASSWORD)
    assert await written(demo) == before


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("123456789", "at least 10 characters"),
        ("", "at least 10 characters"),
        (" " * 12, "not only spaces"),
        ("\t \n" * 5, "not only spaces"),
        ("x" * 1025, "at most 1024 characters"),
    ],
)
async def test_a_weak_password_is_refused_with_nothing_written(
    web: WebLoginService, demo: Demo, password: str, why: str
) -> None:
    before = await written(demo)
    with pytest.raises(InvalidPassword) as exc:
        await web.set_password(ALICE, "alice", password)
    assert exc.value.message == f"Invalid password: {why}"
    assert await written(demo) == before


async def test_an_unknown_agent_is_refused_with_nothing_written(
    web: WebLoginService, demo: Demo
) -> None:
    before = await written(demo)
    with pytest.raises(UnknownAgent, match="Unknown agent: nobody"):
        await web.set_password(ADMIN, "nobody", PASSWORD)
    with pytest.raises(UnknownAgent, match="Unknown agent: nobody"):
        await web.set_password(Actor("nobody"), "nobody", PASSWORD)
    assert await written(demo) == before


# --- sessions -----------------------------------------------------------------------------


async def test_sign_in_opens_a_session_stored_as_the_tokens_hash(
    web: WebLoginService, demo: Demo
) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)

    token, actor = await web.sign_in(" alice ", PASSWORD, "192.0.2.7")

    assert actor == ALICE
    assert len(token) >= 43
    async with demo.db.read() as session:
        (row,) = (await session.scalars(sa.select(WebSession))).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.token_hash != token
    assert row.address == "192.0.2.7"
    assert row.agent_id == await demo.agent_id("alice")
    assert row.expires_at is not None
    assert row.created_at is not None
    assert row.expires_at - row.created_at == SESSION_TTL
    assert row.ended_at is None
    (event,) = await demo.audit("web.signed_in")
    assert (event.actor, event.target) == ("alice", "agent:alice")
    assert "192.0.2.7" in event.detail
    assert token not in event.detail
    assert await web.session(token) == ALICE


async def test_two_agents_get_two_sessions_of_their_own(web: WebLoginService) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)
    await web.set_password(ADMIN, "admin", PASSWORD + "2")

    alice_token, _ = await web.sign_in("alice", PASSWORD, "127.0.0.1")
    admin_token, _ = await web.sign_in("admin", PASSWORD + "2", "127.0.0.1")
    again, _ = await web.sign_in("alice", PASSWORD, "127.0.0.1")

    assert len({alice_token, admin_token, again}) == 3
    assert await web.session(alice_token) == ALICE
    assert await web.session(admin_token) == ADMIN
    await web.sign_out(alice_token)
    assert await web.session(again) == ALICE  # another browser's session goes on


@pytest.mark.parametrize("case", ["unknown login", "no password set", "wrong password", "disabled"])
async def test_every_wrong_sign_in_gets_the_same_answer_and_writes_nothing(
    web: WebLoginService, demo: Demo, case: str
) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)
    login, password = {
        "unknown login": ("nobody", PASSWORD),
        "no password set": ("sam", PASSWORD),
        "wrong password": ("alice", PASSWORD + "x"),
        "disabled": ("alice", PASSWORD),
    }[case]
    if case == "disabled":
        await demo.update(Agent, Agent.login == "alice", active=False)
    before = await written(demo)

    with pytest.raises(WrongLoginOrPassword) as exc:
        await web.sign_in(login, password, "127.0.0.1")

    assert exc.value.message == "Wrong login or password"
    assert await written(demo) == before


async def test_a_session_expires_after_its_time(web: WebLoginService, clock: object) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)
    token, _ = await web.sign_in("alice", PASSWORD, "127.0.0.1")
    start = clock.now  # type: ignore[attr-defined]

    clock.now = start + SESSION_TTL - timedelta(seconds=1)  # type: ignore[attr-defined]
    assert await web.session(token) == ALICE
    clock.now = start + SESSION_TTL  # type: ignore[attr-defined]
    with pytest.raises(SessionExpired) as exc:
        await web.session(token)
    assert exc.value.message == "Session expired"
    assert isinstance(exc.value, NotSignedIn)


async def test_a_shorter_session_time_is_a_setting(services: Services, clock: object) -> None:
    web = WebLoginService(
        services.db,
        services.web.clock,
        ttl=timedelta(minutes=30),
        hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
    await web.set_password(ALICE, "alice", PASSWORD)
    token, _ = await web.sign_in("alice", PASSWORD, "127.0.0.1")
    clock.now += timedelta(minutes=30)  # type: ignore[attr-defined]
    with pytest.raises(SessionExpired):
        await web.session(token)


async def test_sign_out_ends_the_session(web: WebLoginService, demo: Demo) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)
    token, _ = await web.sign_in("alice", PASSWORD, "127.0.0.1")

    assert await web.sign_out(token) == ALICE

    with pytest.raises(NotSignedIn) as exc:
        await web.session(token)
    assert exc.value.message == "Not signed in"
    (event,) = await demo.audit("web.signed_out")
    assert (event.actor, event.target) == ("alice", "agent:alice")
    before = await written(demo)
    assert await web.sign_out(token) is None  # once is enough: nothing more is written
    assert await web.sign_out("forged") is None
    assert await written(demo) == before


@pytest.mark.parametrize("token", [None, "", "forged", "x" * 43, "y" * 5000])
async def test_no_token_or_a_forged_one_is_not_signed_in(
    web: WebLoginService, token: str | None
) -> None:
    with pytest.raises(NotSignedIn) as exc:
        await web.session(token)
    assert type(exc.value) is NotSignedIn


async def test_a_disabled_agents_session_ends(web: WebLoginService, demo: Demo) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)
    token, _ = await web.sign_in("alice", PASSWORD, "127.0.0.1")
    await demo.update(Agent, Agent.login == "alice", active=False)
    with pytest.raises(NotSignedIn):
        await web.session(token)


async def test_setting_the_password_again_ends_the_agents_sessions(
    web: WebLoginService, demo: Demo
) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)
    await web.set_password(ADMIN, "admin", PASSWORD)
    alice_token, _ = await web.sign_in("alice", PASSWORD, "127.0.0.1")
    admin_token, _ = await web.sign_in("admin", PASSWORD, "127.0.0.1")

    await web.set_password(ADMIN, "alice", "a new password")

    with pytest.raises(NotSignedIn):
        await web.session(alice_token)
    assert await web.session(admin_token) == ADMIN
    with pytest.raises(WrongLoginOrPassword):
        await web.sign_in("alice", PASSWORD, "127.0.0.1")
    assert (await web.sign_in("alice", "a new password", "127.0.0.1"))[1] == ALICE
    events = await demo.audit("agent.password_set")
    assert '"sessions_ended": 1' in events[-1].detail


# --- failed sign-ins ----------------------------------------------------------------------


async def test_failures_per_login_lock_it_from_every_address_for_a_while(
    web: WebLoginService, demo: Demo, clock: object
) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)
    await web.set_password(ADMIN, "admin", PASSWORD)
    for n in range(MAX_FAILURES):
        clock.now += timedelta(seconds=10)  # type: ignore[attr-defined]
        with pytest.raises(WrongLoginOrPassword):
            await web.sign_in("alice", f"guess {n}", f"198.51.100.{n}")
    first_failure = clock.now - timedelta(seconds=10 * (MAX_FAILURES - 1))  # type: ignore[attr-defined]
    before = await written(demo)

    # The right password, from an address that has not failed: refused all the same.
    with pytest.raises(TooManyAttempts) as exc:
        await web.sign_in("ALICE", PASSWORD, "203.0.113.1")
    wait = int((first_failure + FAILURE_WINDOW - clock.now).total_seconds())  # type: ignore[attr-defined]
    assert exc.value.retry_after == wait
    assert exc.value.message == f"Too many attempts, try again in {wait} s"
    assert await written(demo) == before
    # Another login from the same addresses is not locked.
    assert (await web.sign_in("admin", PASSWORD, "198.51.100.1"))[1] == ADMIN

    clock.now = first_failure + FAILURE_WINDOW  # type: ignore[attr-defined]
    assert (await web.sign_in("alice", PASSWORD, "203.0.113.1"))[1] == ALICE


async def test_failures_per_address_lock_it_for_every_login(
    web: WebLoginService, clock: object
) -> None:
    await web.set_password(ALICE, "alice", PASSWORD)
    for n in range(MAX_FAILURES):
        with pytest.raises(WrongLoginOrPassword):
            await web.sign_in(f"guess{n}", PASSWORD, "198.51.100.9")

    with pytest.raises(TooManyAttempts) as exc:
        await web.sign_in("alice", PASSWORD, "198.51.100.9")
    assert exc.value.retry_after == int(FAILURE_WINDOW.total_seconds())
    assert (await web.sign_in("alice", PASSWORD, "198.51.100.10"))[1] == ALICE
    clock.now += FAILURE_WINDOW  # type: ignore[attr-defined]
    assert (await web.sign_in("alice", PASSWORD, "198.51.100.9"))[1] == ALICE


def test_the_limiter_counts_failures_in_a_sliding_window(clock: object) -> None:
    limiter = FailureLimiter(clock, max_failures=2, window=timedelta(seconds=60))  # type: ignore[arg-type]
    assert limiter.retry_after(["k"]) is None
    limiter.failed(["k"])
    clock.now += timedelta(seconds=20)  # type: ignore[attr-defined]
    limiter.failed(["k"])
    assert limiter.retry_after(["k"]) == 40
    assert limiter.retry_after(["other"]) is None
    clock.now += timedelta(seconds=40)  # type: ignore[attr-defined]
    assert limiter.retry_after(["k"]) is None  # the first failure has left the window
    limiter.failed(["k"])
    assert limiter.retry_after(["k"]) == 20
    clock.now += timedelta(minutes=5)  # type: ignore[attr-defined]
    assert limiter.retry_after(["k"]) is None
    assert limiter._failures == {}  # forgotten once expired
