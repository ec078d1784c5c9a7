"""The dispatcher outlives the database going away (bench/load restarts PostgreSQL under
it): a claim that fails is tried again, outcomes that cannot be written are kept and written
later, and nothing is sent twice meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from svc_helpers import WAIT_S
from test_dispatch_policy import ScriptedProvider, _queue

from bannertui.domain.enums import MessageStatus
from bannertui.services import Services
from bannertui.services.dispatch import Dispatcher, DispatchPolicy
from bannertui.store.models import Message

FAST = DispatchPolicy(poll_seconds=0.02, db_retry_seconds=0.01, db_retry_max_seconds=0.02)


def failing_first(times: int, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``fn``, except that its first ``times`` calls raise what a lost connection raises."""
    calls = {"n": 0}

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("server restarting"))
        return await fn(*args, **kwargs)

    return wrapper


async def statuses(services: Services, ids: list[int]) -> list[str]:
    async with services.db.read() as session:
        return [(await session.get(Message, i)).status for i in ids]  # type: ignore[union-attr]


async def run_until_sent(dispatcher: Dispatcher, services: Services, ids: list[int]) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        async with asyncio.timeout(WAIT_S):  # a bound for a failure, checked every 20 ms
            while set(await statuses(services, ids)) != {MessageStatus.SENT}:
                assert not task.done(), task  # it must not have died
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


async def test_claims_that_fail_are_tried_again(services: Services, clock: Any) -> None:
    msgs = await _queue(services, 3)
    provider = ScriptedProvider()
    dispatcher = Dispatcher(services.db, provider, FAST, clock=clock)
    dispatcher.claim = failing_first(3, dispatcher.claim)  # type: ignore[method-assign]
    await run_until_sent(dispatcher, services, [m.id or 0 for m in msgs])
    assert sorted(provider.calls.values()) == [1, 1, 1]


async def test_outcomes_that_cannot_be_written_are_kept_until_they_can(
    services: Services, clock: Any
) -> None:
    msgs = await _queue(services, 2)
    provider = ScriptedProvider()
    dispatcher = Dispatcher(services.db, provider, FAST, clock=clock)
    dispatcher._write_outcomes = failing_first(2, dispatcher._write_outcomes)  # type: ignore[method-assign]
    await run_until_sent(dispatcher, services, [m.id or 0 for m in msgs])
    assert sorted(provider.calls.values()) == [1, 1]  # accepted once, written later


async def test_a_stopping_dispatcher_gives_up_writing_after_its_grace(
    services: Services, clock: Any
) -> None:
    """The database never comes back: stopping still ends, the messages stay claimed (their
    lease makes them sent again with the same retId, which the provider deduplicates)."""
    msgs = await _queue(services, 1)
    provider = ScriptedProvider()
    policy = DispatchPolicy(
        poll_seconds=0.02,
        db_retry_seconds=0.01,
        db_retry_max_seconds=0.02,
        outcome_retry_on_stop_seconds=0.1,
    )
    dispatcher = Dispatcher(services.db, provider, policy, clock=clock)
    dispatcher._write_outcomes = failing_first(10**6, dispatcher._write_outcomes)  # type: ignore[method-assign]
    # The grace is 0.1 s (~0.2 s idle in all): 10 s holds on a loaded machine and still
    # fails when the grace is ignored (the default, 30 s, would apply).
    stats = await asyncio.wait_for(dispatcher.run_once(), 10)
    assert stats.claimed == 1
    assert stats.sent == 0
    assert await statuses(services, [msgs[0].id or 0]) == [MessageStatus.SENDING]


async def test_run_once_reports_a_database_that_is_down(services: Services, clock: Any) -> None:
    """`bannertui dispatch --once` with nothing in flight: the error, not a silent retry."""
    await _queue(services, 1)
    dispatcher = Dispatcher(services.db, ScriptedProvider(), FAST, clock=clock)
    dispatcher.claim = failing_first(1, dispatcher.claim)  # type: ignore[method-assign]
    with pytest.raises(OperationalError):
        await dispatcher.run_once()


async def test_a_message_queued_in_the_same_process_wakes_the_idle_dispatcher(
    services: Services, clock: Any
) -> None:
    """The demo's dispatcher runs in the console's process with a poll of seconds: what the
    console queues is sent at once, not at the next poll (a write's commit wakes it)."""
    provider = ScriptedProvider()
    dispatcher = Dispatcher(services.db, provider, DispatchPolicy(poll_seconds=600), clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        for _ in range(3):  # idle, then woken, three times over
            await asyncio.sleep(0)  # (the dispatcher reaches its idle wait by itself)
            msgs = await _queue(services, 1)
            async with asyncio.timeout(WAIT_S):  # far below the poll: the wake-up sends it
                while await statuses(services, [m.id or 0 for m in msgs]) != [MessageStatus.SENT]:
                    assert not task.done(), task
                    await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
    assert sum(provider.calls.values()) == 3
