"""The dispatcher end to end: real loopback HTTPS to the provider simulator, no mocks.

- faults: 1,000 messages through 503s and hung requests, each accepted exactly once;
- kill -9: a ``bannertui dispatch`` process killed mid-run loses nothing and sends nothing
  twice (a message re-sent after the kill is answered as a duplicate, not recorded again);
- two ``bannertui dispatch`` processes over one outbox never send a message twice.

The rules themselves (backoff, Retry-After, refunds, leases) are in
tests/services/test_dispatch_policy.py against a scripted provider.  Fixtures here are
prefixed ``e2e_`` (tests/provider/ has no shared conftest).  Counts worth looking at are
printed: run with ``-s`` to see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from bannertui.domain.enums import Direction, MessageStatus
from bannertui.domain.sms import Encoding
from bannertui.gateway.http import HttpProvider
from bannertui.services import Services
from bannertui.services.dispatch import Dispatcher, DispatchPolicy, DispatchStats
from bannertui.services.gateway import ProviderConfig
from bannertui.services.outbox import OutboundDraft, enqueue
from bannertui.simulator.provider import Simulator, SimulatorConfig, TlsFiles, make_tls
from bannertui.store.database import Database
from bannertui.store.models import Account, Message

BIN = Path(sys.executable).with_name("bannertui")
SENDER = "+33757000001"
MESSAGES = 1_000
INITIAL_CREDITS = 1_000_000
#: How long a phase may take before the test fails: 1,000 sends take 15-25 s with the
#: machine's two cores shared, and longer when other processes keep both busy.  Checked
#: every 0.1 s, so the bound only says when a failing test gives up.
WAIT_S = 180.0

#: Two phases of WAIT_S fit in one test (the project's default is 300 s).
pytestmark = pytest.mark.timeout(600)


# --- the outbox -------------------------------------------------------------------------------


def message_text(i: int) -> str:
    """Varied texts, each unique: GSM-7 and UCS-2, 1 to 4 credits, extension characters."""
    kind = i % 10
    if kind == 0:
        return f"Привет {i}, ваш заказ готов 😀"  # UCS-2, 1 credit, a surrogate pair
    if kind == 1:
        return f"#{i} " + "Напоминание: встреча в среду в 14:00. " * 3  # UCS-2, 2 credits
    if kind == 2:
        return f"#{i} " + "Your parcel [ref {A-12}] costs 25€ ~ paid. " * 8  # GSM-7, 3 credits
    if kind == 3:
        return f"Order {i}: " + "delivery confirmed for tomorrow morning, " * 14  # 4 credits
    return f"Hello {i}, your appointment is confirmed for Tuesday at 10:30."


def recipient(i: int) -> str:
    return f"+33612{i:06d}"


@dataclass(frozen=True)
class Row:
    id: int
    to: str
    text: str
    credits: int
    is_unicode: bool


async def fill_outbox(db: Database, n: int = MESSAGES) -> dict[str, Row]:
    """Create the account, raise its balance, then queue ``n`` pending messages in one write
    transaction; returns them by retId.

    The database is empty but for the account (the ``db`` fixture, not ``seeded``): the demo
    data holds outbound messages of its own, a pending one among them, and the outbox must
    hold exactly ours.
    """
    await Services(db).accounts.ensure()
    now = datetime.now(UTC)
    rows: dict[str, Row] = {}
    async with db.write() as session:
        await session.execute(sa.update(Account).values(credits=INITIAL_CREDITS))
        for i in range(n):
            draft = OutboundDraft(
                to_number=recipient(i),
                from_number=SENDER,
                text=message_text(i),
                sender=SENDER,
            )
            msg = await enqueue(session, draft, now)
            assert msg.id is not None
            assert msg.ret_id is not None
            assert msg.status == MessageStatus.PENDING
            rows[msg.ret_id] = Row(
                msg.id, msg.to_number, msg.text, msg.credits, msg.encoding == Encoding.UCS2
            )
    assert len(rows) == n
    return rows


async def status_counts(db: Database) -> dict[str, int]:
    async with db.read() as session:
        result = await session.execute(
            sa.select(col(Message.status), sa.func.count())
            .where(col(Message.direction) == Direction.OUTBOUND)
            .group_by(col(Message.status))
        )
        return {str(status): int(n) for status, n in result.all()}


async def balance(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(sa.select(col(Account.credits))) or 0)


async def wait_for(
    predicate: Callable[[], Any], within: float, what: str, interval: float = 0.05
) -> None:
    """Await ``predicate()`` (sync or async) until it is true; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {within:g} s")
        await asyncio.sleep(interval)


async def all_sent(db: Database, n: int = MESSAGES) -> bool:
    return (await status_counts(db)).get(MessageStatus.SENT, 0) == n


def check_accepted(sim: Simulator, rows: dict[str, Row]) -> None:
    """The simulator recorded each of our messages once, with exactly our payload."""
    assert set(sim.accepted) == set(rows)
    assert len(sim.records) == len(rows)  # a retId is never recorded twice
    for ret_id, row in rows.items():
        assert sim.accepted[ret_id] == {
            "type": "NOTIFICATION",
            "sender": SENDER,
            "to": row.to,
            "retId": ret_id,
            "isUnicode": row.is_unicode,
            "text": row.text,
            "credits": row.credits,
        }


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def e2e_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("e2e-certs"))


@pytest.fixture
def e2e_env(tmp_path: Path) -> dict[str, str]:
    """The environment of ``bannertui`` subprocesses: nothing of the caller's BANNERTUI_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
    env.update(
        BANNERTUI_DATA_DIR=str(tmp_path / "data"),
        BANNERTUI_CONFIG=str(tmp_path / "no-such-dir" / "config.toml"),
    )
    return env


class DispatchProcess:
    """``bannertui dispatch`` as a subprocess; its output goes to files (no pipe to drain)."""

    def __init__(self, name: str, db_url: str, env: dict[str, str], root: Path) -> None:
        self.name = name
        self.args = [str(BIN), "dispatch", "--db", db_url]
        self.env = env
        self.out = root / f"{name}.out"
        self.err = root / f"{name}.err"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *extra: str) -> DispatchProcess:
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                *self.args,
                *extra,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=self.env,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def signal(self, sig: signal.Signals) -> int:
        """Send ``sig`` and return the exit code (within 30 s)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 30)

    def stats(self) -> dict[str, int]:
        """The JSON line a dispatcher prints when it stops."""
        lines = self.out.read_text().splitlines()
        assert len(lines) == 1, (lines, self.err.read_text())
        stats = json.loads(lines[0])
        assert isinstance(stats, dict)
        return stats

    def kill(self) -> None:
        """Clean-up: SIGKILL if still running (only this process, by its own pid)."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()


@pytest.fixture
async def e2e_processes(
    tmp_path: Path, e2e_env: dict[str, str]
) -> AsyncIterator[Callable[[str, str], DispatchProcess]]:
    """Make dispatcher processes; any still running at the end is killed and reaped."""
    made: list[DispatchProcess] = []

    def make(name: str, db_url: str) -> DispatchProcess:
        p = DispatchProcess(name, db_url, e2e_env, tmp_path)
        made.append(p)
        return p

    yield make
    for p in made:
        p.kill()
        if p.proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(p.proc.wait(), 10)


async def point_account_at(db: Database, sim: Simulator, tls: TlsFiles) -> None:
    await Services(db).provider.update(
        actor="system",  # the empty database has no agent: as the demo runtime does
        url=sim.url,
        auth_enabled=False,
        login=None,
        ca_file=str(tls.ca),
    )


# --- 1. faults --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_every_message_is_accepted_once_through_failures_and_timeouts(
    db: Database, e2e_tls: TlsFiles
) -> None:
    rows = await fill_outbox(db)
    total_credits = sum(r.credits for r in rows.values())
    assert await balance(db) == INITIAL_CREDITS - total_credits
    config = SimulatorConfig(fail_rate=0.3, timeout_rate=0.1, hang_s=2.0, status=503, seed=7)
    policy = DispatchPolicy(
        concurrency=32,
        base_backoff=0.01,
        max_backoff=0.05,
        max_attempts=100,
        lease_seconds=30,
        poll_seconds=0.05,
    )
    started = time.monotonic()
    async with Simulator(config, e2e_tls) as sim:
        provider = HttpProvider(ProviderConfig(url=sim.url, ca_file=e2e_tls.ca, timeout=0.5))
        try:
            dispatcher = Dispatcher(db, provider, policy)
            stop = asyncio.Event()
            run = asyncio.create_task(dispatcher.run(stop))

            async def done() -> bool:
                if run.done():  # a crash of run() must fail the test, not time it out
                    return True
                counts = await status_counts(db)
                return counts.get(MessageStatus.SENT, 0) + counts.get(
                    MessageStatus.FAILED, 0
                ) == len(rows)

            try:
                await wait_for(done, WAIT_S, "every message sent", interval=0.1)
            finally:
                stop.set()
                stats: DispatchStats = await asyncio.wait_for(run, 30)
        finally:
            await provider.aclose()
        elapsed = time.monotonic() - started

        counts = await status_counts(db)
        async with db.read() as session:
            attempts = int(await session.scalar(sa.select(sa.func.sum(col(Message.attempts)))) or 0)
        print(
            f"\nfaults: {len(rows)} messages in {elapsed:.1f} s; simulator {sim.stats()}; "
            f"dispatcher {stats}; attempts in the DB {attempts}"
        )
        assert counts == {MessageStatus.SENT: len(rows)}
        check_accepted(sim, rows)
        assert sim.injected_failures > 0
        assert sim.injected_timeouts > 0
        assert sim.rejected == 0
        # Every attempt is one claim; each retry is a claim more; nothing failed for good.
        assert (stats.sent, stats.failed) == (len(rows), 0)
        assert stats.claimed == attempts == len(rows) + stats.retried
        # Each injected 503 and hang cost an attempt that was retried.
        assert stats.retried >= sim.injected_failures + sim.injected_timeouts
        # A request reaches the simulator at most once per attempt.
        assert sim.requests <= attempts
        assert await balance(db) == INITIAL_CREDITS - total_credits


# --- 2. kill -9 -------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_dispatcher_killed_mid_run_loses_nothing_and_sends_nothing_twice(
    db: Database,
    database_url: str,
    e2e_tls: TlsFiles,
    e2e_processes: Callable[[str, str], DispatchProcess],
) -> None:
    rows = await fill_outbox(db)
    total_credits = sum(r.credits for r in rows.values())
    async with Simulator(SimulatorConfig(latency_ms=40, seed=11), e2e_tls) as sim:
        await point_account_at(db, sim, e2e_tls)
        # The lease outlasts a send that times out (the provider timeout is 10 s, connecting
        # 5 s more), as DispatchPolicy asks: at 2 s, on a loaded machine, the second
        # dispatcher took its own sends still in flight as abandoned and sent them again
        # (thousands of duplicates).  It only delays the messages the kill left "sending".
        args = ("--concurrency", "16", "--lease-seconds", "20")

        first = await e2e_processes("first", database_url).start(*args)
        await wait_for(
            lambda: len(sim.accepted) >= 200 or not first.alive(), WAIT_S, "200 sends", 0.005
        )
        assert first.alive(), first.err.read_text()
        os.kill(first.pid, signal.SIGKILL)
        assert first.proc is not None
        assert await asyncio.wait_for(first.proc.wait(), 30) == -signal.SIGKILL
        accepted_at_kill = len(sim.accepted)
        at_kill = await status_counts(db)
        sending = at_kill.get(MessageStatus.SENDING, 0)
        sent_at_kill = at_kill.get(MessageStatus.SENT, 0)

        second = await e2e_processes("second", database_url).start(*args)
        try:
            await wait_for(lambda: all_sent(db), WAIT_S, "all 1,000 sent", 0.1)
        finally:
            code = await second.signal(signal.SIGTERM)
        stats = second.stats()
        print(
            f"\nkill -9: accepted by the simulator at the kill {accepted_at_kill}, in the DB "
            f"{at_kill}: left sending {sending}; after restart simulator {sim.stats()}, "
            f"second dispatcher {stats}; duplicates {sim.duplicates}"
        )
        assert code == 0, second.err.read_text()

        assert sending > 0  # the kill did interrupt sends
        assert await status_counts(db) == {MessageStatus.SENT: MESSAGES}
        check_accepted(sim, rows)
        # What was accepted but not yet written when the process died was sent again after
        # the lease, with the same retId, and answered as a duplicate.
        # (A send in flight at the kill that the simulator had not yet accepted was sent
        # again as a first: its request was counted, but never recorded.)
        assert accepted_at_kill - sent_at_kill <= sim.duplicates <= sending
        assert sim.duplicates > 0
        assert MESSAGES + sim.duplicates <= sim.requests <= MESSAGES + sim.duplicates + sending
        assert stats["sent"] == MESSAGES - sent_at_kill
        assert stats["failed"] == 0
        accepted_credits = sum(int(p["credits"]) for p in sim.accepted.values())
        assert accepted_credits == total_credits
        assert await balance(db) == INITIAL_CREDITS - accepted_credits


# --- 3. two dispatcher processes --------------------------------------------------------------


@pytest.mark.slow
async def test_two_dispatcher_processes_send_each_message_once(
    db: Database,
    database_url: str,
    e2e_tls: TlsFiles,
    e2e_processes: Callable[[str, str], DispatchProcess],
) -> None:
    rows = await fill_outbox(db)
    # A little latency keeps both processes busy at once (without it, whichever starts
    # first may have sent everything before the other has claimed anything).
    async with Simulator(SimulatorConfig(latency_ms=20, seed=3), e2e_tls) as sim:
        await point_account_at(db, sim, e2e_tls)
        args = ("--concurrency", "16")
        procs = [e2e_processes(name, database_url) for name in ("a", "b")]
        await asyncio.gather(*(p.start(*args) for p in procs))
        try:
            await wait_for(lambda: all_sent(db), WAIT_S, "all 1,000 sent", 0.1)
        finally:
            codes = [await p.signal(signal.SIGTERM) for p in procs]
        stats = [p.stats() for p in procs]
        print(f"\ntwo dispatchers: {stats}; simulator {sim.stats()}")
        assert codes == [0, 0], [p.err.read_text() for p in procs]

        assert sim.requests == MESSAGES  # no message was sent twice
        assert sim.duplicates == 0
        check_accepted(sim, rows)
        assert sum(s["claimed"] for s in stats) == MESSAGES  # nor claimed twice
        assert sum(s["sent"] for s in stats) == MESSAGES
        assert all(s["claimed"] > 0 for s in stats), stats  # both took part
        assert await status_counts(db) == {MessageStatus.SENT: MESSAGES}
