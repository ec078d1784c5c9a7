"""How fast does the dispatcher drain the outbox?  Times it beside a bare httpx loop.

10,000 pending messages (GSM-7 and UCS-2, 1 to 4 credits) are sent over loopback HTTPS to the
provider simulator (``bannertui provider-sim --port 0``, a child process: the server does not
share the client's event loop nor its CPU), 32 at a time, by:

* ``dispatcher``: the real :class:`Dispatcher` (claims in SQLite write transactions, sends
  through :class:`HttpProvider`, writes outcomes in batches) on a temporary demo database;
* ``bare httpx``: one ``httpx.AsyncClient`` with the same TLS context, limits, timeouts and
  headers, 32 tasks posting the same 10,000 payloads (with fresh retIds, so the simulator
  records them too) and checking the status code, touching no database.

The order alternates (bare, dispatcher, bare, dispatcher) and the best run of each is compared.
After each dispatcher run every message must be ``sent`` in the database and the simulator's
``/v1/stats`` must show 10,000 more accepted sends and no duplicate.

Run: ``.venv/bin/python bench/bench_dispatch.py [--messages N] [--concurrency C]
[--rounds R] [--profile]`` (``--profile``: cProfile of one more dispatcher run, top functions).
Prints figures and PASS/FAIL against the target; exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import re
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import col

from bannertui.domain.enums import MessageStatus
from bannertui.domain.sms import Encoding
from bannertui.gateway.http import HttpProvider
from bannertui.services.dispatch import Dispatcher, DispatchPolicy, DispatchStats
from bannertui.services.gateway import ProviderConfig, SendPayload
from bannertui.services.outbox import OutboundDraft, enqueue
from bannertui.store.database import Database
from bannertui.store.models import Account, Message
from bannertui.testing import prepare_demo_database

MESSAGES = 10_000
CONCURRENCY = 32
ROUNDS = 2
BATCH = 1_000  # messages per enqueue transaction
WARMUP = 200  # sends by each path before the timed rounds (imports, TLS, caches)
TARGET = 0.8  # dispatcher throughput / bare throughput
SENDER = "+33757000001"  # the demo's alice number
BIN = Path(sys.executable).with_name("bannertui")
_LISTENING = re.compile(r"listening on (https://\S+) \(CA: (.+)\)\s*$")


def message_text(i: int) -> str:
    kind = i % 10
    if kind == 0:
        return f"Привет {i}, ваш заказ готов 😀"  # UCS-2, 1 credit
    if kind == 1:
        return f"#{i} " + "Напоминание: встреча в среду в 14:00. " * 3  # UCS-2, 2 credits
    if kind == 2:
        return f"#{i} " + "Your parcel [ref {A-12}] costs 25€ ~ paid. " * 8  # GSM-7, 3 credits
    if kind == 3:
        return f"Order {i}: " + "delivery confirmed for tomorrow morning, " * 14  # 4 credits
    return f"Hello {i}, your appointment is confirmed for Tuesday at 10:30."


def trusting(ca: Path | None) -> ssl.SSLContext:
    """The default verification, plus the simulator's CA (as HttpProvider sets it up)."""
    return ssl.create_default_context(cafile=str(ca) if ca else None)


# --- the simulator (child process) --------------------------------------------------------------


class SimulatorProcess:
    """``bannertui provider-sim --port 0`` in a child process; reads back its URL and CA."""

    def __init__(self, root: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
        env.update(
            BANNERTUI_DATA_DIR=str(root / "data"),
            BANNERTUI_CONFIG=str(root / "no-such-dir" / "config.toml"),
        )
        self.err = (root / "simulator.err").open("w+b")
        self.proc = subprocess.Popen(
            [str(BIN), "provider-sim", "--port", "0", "--cert-dir", str(root / "certs")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.err,
            env=env,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the simulator prints it as soon as it listens
        match = _LISTENING.search(line)
        if match is None:
            self.stop()
            self.err.seek(0)
            raise RuntimeError(
                f"the simulator did not start: {line!r} {self.err.read().decode(errors='replace')}"
            )
        self.url = match.group(1)
        self.ca = Path(match.group(2))
        self.stats_url = self.url.rsplit("/v1/", 1)[0] + "/v1/stats"

    def stats(self) -> dict[str, int]:
        response = httpx.get(self.stats_url, verify=trusting(self.ca), timeout=10)
        response.raise_for_status()
        data = response.json()
        assert isinstance(data, dict)
        return data

    def cpu_seconds(self) -> float:
        """The child's user + system CPU time so far (Linux /proc; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: it stops serving and exits
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


# --- the outbox -----------------------------------------------------------------------------------


async def fill(db: Database, n: int, start: int) -> list[Message]:
    """Queue ``n`` pending messages, ``BATCH`` per write transaction (not timed)."""
    messages: list[Message] = []
    for first in range(start, start + n, BATCH):
        now = datetime.now(UTC)
        async with db.write() as session:
            for i in range(first, min(first + BATCH, start + n)):
                draft = OutboundDraft(
                    to_number=f"+33612{i % 1_000_000:06d}",
                    from_number=SENDER,
                    text=message_text(i),
                    sender=SENDER,
                    agent_id=1,
                )
                messages.append(await enqueue(session, draft, now))
    return messages


def bare_payloads(messages: list[Message]) -> list[dict[str, object]]:
    """The same P2 bodies as the dispatcher sends, each with a fresh retId."""
    return [
        SendPayload(
            type=m.type,
            sender=m.sender,
            to=m.to_number,
            ret_id=uuid.uuid4().hex,
            is_unicode=m.encoding == Encoding.UCS2,
            text=m.text,
            credits=m.credits,
        ).as_json()
        for m in messages
    ]


async def count_sent(db: Database, ids: list[int]) -> int:
    async with db.read() as session:
        n = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Message)
            .where(
                col(Message.id).between(min(ids), max(ids)),
                col(Message.status) == MessageStatus.SENT,
            )
        )
    return int(n or 0)


# --- the two paths --------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    n: int
    seconds: float
    client_cpu: float
    server_cpu: float
    detail: str = ""
    ok: bool = True

    @property
    def rate(self) -> float:
        return self.n / self.seconds

    def per_msg(self, seconds: float) -> float:
        return seconds / self.n * 1e6


@dataclass
class Bench:
    sim: SimulatorProcess
    db: Database
    concurrency: int

    def config(self) -> ProviderConfig:
        return ProviderConfig(url=self.sim.url, ca_file=self.sim.ca)

    async def timed(
        self,
        label: str,
        n: int,
        go: Callable[[], Awaitable[str]],
        check: Callable[[], Awaitable[tuple[bool, str]]],
    ) -> Run:
        """Time ``go()``, then check the simulator's counters moved by exactly ``n`` accepted
        sends (no duplicate, no other request) and run ``check()``."""
        before = await asyncio.to_thread(self.sim.stats)
        server, cpu, start = self.sim.cpu_seconds(), time.process_time(), time.perf_counter()
        detail = await go()
        seconds = time.perf_counter() - start
        client_cpu, server_cpu = time.process_time() - cpu, self.sim.cpu_seconds() - server
        after = await asyncio.to_thread(self.sim.stats)
        delta = {k: after[k] - before[k] for k in ("requests", "accepted", "duplicates")}
        ok, more = await check()
        ok = ok and delta == {"requests": n, "accepted": n, "duplicates": 0}
        detail += f"; /v1/stats +{delta['accepted']:,} accepted, +{delta['duplicates']} dup{more}"
        return Run(label, n, seconds, client_cpu, server_cpu, detail, ok)

    async def bare(self, messages: list[Message]) -> Run:
        """The messages' payloads, with fresh retIds, through one plain httpx client."""
        payloads = bare_payloads(messages)
        config = self.config()
        statuses: dict[int, int] = {}

        async def go() -> str:
            async with httpx.AsyncClient(  # as HttpProvider builds its client
                verify=trusting(config.ca_file),
                timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
                limits=httpx.Limits(
                    max_connections=config.max_connections,
                    max_keepalive_connections=config.max_connections,
                ),
                headers={"User-Agent": "bannertui", "Accept": "application/json"},
                follow_redirects=False,
            ) as client:
                queue = iter(payloads)

                async def worker() -> None:
                    for payload in queue:  # a shared iterator: each payload is taken once
                        response = await client.post(config.url, json=payload)
                        code = response.status_code
                        statuses[code] = statuses.get(code, 0) + 1

                await asyncio.gather(*(worker() for _ in range(self.concurrency)))
            return "HTTP " + ",".join(f"{k}×{v:,}" for k, v in sorted(statuses.items()))

        async def check() -> tuple[bool, str]:
            return statuses == {200: len(payloads)}, ""

        return await self.timed("bare httpx", len(payloads), go, check)

    async def dispatcher(
        self, messages: list[Message], profile: cProfile.Profile | None = None
    ) -> Run:
        """The pending messages through the real Dispatcher (``run_once``: until none is due)."""
        ids = [m.id or 0 for m in messages]
        provider = HttpProvider(self.config())
        dispatcher = Dispatcher(self.db, provider, DispatchPolicy(concurrency=self.concurrency))
        stats = DispatchStats()

        async def go() -> str:
            nonlocal stats
            if profile is not None:
                profile.enable()
            try:
                stats = await dispatcher.run_once()
            finally:
                if profile is not None:
                    profile.disable()
                await provider.aclose()
            return f"claimed {stats.claimed:,}, sent {stats.sent:,}, retried {stats.retried}"

        async def check() -> tuple[bool, str]:
            sent = await count_sent(self.db, ids)
            return sent == len(ids) == stats.sent, f"; DB: {sent:,} of {len(ids):,} sent"

        return await self.timed("dispatcher", len(ids), go, check)


# --- main -------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, root: Path, sim: SimulatorProcess) -> None:
    db = Database(prepare_demo_database(root))
    try:
        async with db.write() as session:
            await session.execute(sa.update(Account).values(credits=100_000_000))
        b = Bench(sim, db, args.concurrency)
        index = 0

        async def outbox(n: int) -> list[Message]:
            nonlocal index
            index += n
            return await fill(db, n, index - n)

        warm = await outbox(WARMUP)
        await b.bare(warm)
        await b.dispatcher(warm)
        runs: list[Run] = []
        for _ in range(args.rounds):
            messages = await outbox(args.messages)  # pending until the dispatcher's turn
            runs.append(await b.bare(messages))
            runs.append(await b.dispatcher(messages))
        profile_text = ""
        if args.profile:
            prof = cProfile.Profile()
            run = await b.dispatcher(await outbox(args.messages), profile=prof)
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out).strip_dirs()
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
            profile_text = (
                f"cProfile of one more dispatcher run ({run.rate:.0f} msgs/s under the "
                f"profiler):\n{out.getvalue()}"
            )
        report(args, runs, profile_text)
    finally:
        await db.dispose()


def report(args: argparse.Namespace, runs: list[Run], profile_text: str) -> None:
    print(
        f"dispatch: {args.messages:,} messages, concurrency {args.concurrency}, loopback HTTPS "
        f"to `bannertui provider-sim` in a child process, SQLite (WAL), {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}, httpx {httpx.__version__}"
    )
    header = (
        f"{'round':>5} {'path':<11} {'msgs/s':>7} {'wall s':>7} {'cli CPU µs/msg':>14} "
        f"{'sim CPU µs/msg':>14}  checks"
    )
    print(header)
    print("-" * len(header))
    for i, run in enumerate(runs):
        print(
            f"{i // 2 + 1:>5} {run.label:<11} {run.rate:>7.0f} {run.seconds:>7.2f} "
            f"{run.per_msg(run.client_cpu):>14.0f} {run.per_msg(run.server_cpu):>14.0f}  "
            f"{'OK' if run.ok else 'MISMATCH'}: {run.detail}"
        )
    bare = max((r for r in runs if r.label == "bare httpx"), key=lambda r: r.rate)
    disp = max((r for r in runs if r.label == "dispatcher"), key=lambda r: r.rate)
    ratio = disp.rate / bare.rate
    print()
    print("same-run ratios (best of each):")
    print(f"  throughput       dispatcher / bare = {ratio:5.2f}×")
    print(
        f"  client CPU/msg   dispatcher / bare = {disp.client_cpu / bare.client_cpu:5.2f}×  "
        f"(+{disp.per_msg(disp.client_cpu) - bare.per_msg(bare.client_cpu):.0f} µs: claims, "
        "outcome writes, SQLite thread)"
    )
    print()
    verified = all(r.ok for r in runs)
    print(
        f"verify: every run's sends accepted once, every dispatched message sent: "
        f"{'OK' if verified else 'MISMATCH'}"
    )
    verdict = "PASS" if ratio >= TARGET and verified else "FAIL"
    print(
        f"target: dispatcher >= {TARGET:.1f}× bare throughput: {verdict} "
        f"({disp.rate:.0f} vs {bare.rate:.0f} msgs/s)"
    )
    if profile_text:
        print()
        print(profile_text)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--profile", action="store_true", help="cProfile one dispatcher run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bannertui-bench-") as tmp:
        root = Path(tmp)
        sim = SimulatorProcess(root)
        try:
            asyncio.run(bench(args, root, sim))
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
