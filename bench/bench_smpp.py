"""Dispatching through the SMPP connector (issue #21), beside smpp34's bare client.

Loopback TCP, window 10, to the SMSC simulator in a child process (``bannertui smsc-sim
--port 0 --system-id bench --no-receipts --stats-signal``, its password a random one in
BANNERTUI_SMSC_SIM_PASSWORD): the server does not share the client's event loop nor, as far
as 2 cores allow, its CPU.  The demo's SMPP connector (connector 3, "Carrier SMPP") is pointed
at it with ``services.connectors.edit`` (host, port, system_id; the password into the secret
store of a temporary directory); messages go from its number +33757000012 to 1,000 mobiles,
GSM-7 and UCS-2 texts of 1 to 4 credits (``bench_dispatch.message_text``: 1.6 parts each on
average, about 1 in 5 UCS-2).

**Receipts are OFF in both paths** (``--no-receipts``: the simulator sends no ``deliver_sm``
although every submit asks for one with ``registered_delivery`` 1, as the adapter does): the
timed part measures submitting, nothing else, and the two binds (same system_id) never get
each other's receipts.

In each round the same pending messages are sent by:

* ``bare smpp34``: ``smpp34.Client(..., bind_type="TRX", window_size=10)``, one task per
  ``submit_sm`` under an ``asyncio.Semaphore(10)``, submitting the PDUs the adapter would:
  ``submit_parts`` of each text (its concatenation setting, udh8; a fresh reference per
  message), source +33757000012 and destination as E.164 digits with TON 1 / NPI 1,
  ``registered_delivery`` 1; each answer must be ESME_ROK with a message id.  The PDUs are
  built before the clock starts; no database.
* ``dispatcher``: the real :class:`Dispatcher` (claims in SQLite write transactions, outcome
  and part-id writes in batches; ``DispatchPolicy(concurrency=32)``, as ``bannertui
  dispatch``) on a temporary demo database, through :class:`ConnectorGateways` with
  ``inbound=SmppInbound(services.inbound)`` (its :class:`SmppProvider`: segmentation, window
  semaphore of 10, pacing), ``run_once``.

Both bind before the clock starts (the dispatcher as ``bannertui dispatch`` does: the
gateways started, the session bound) and unbind after it stops.  A warm-up of 500 messages
through each path first.  The order alternates (bare, dispatcher, bare, dispatcher) and the
best run of each is compared (messages/s and PDUs/s; target: dispatcher >= 0.8× bare).  After
each run the simulator's counters (printed on SIGUSR1) must have moved by exactly the PDUs
sent, all accepted, none invalid, duplicated or unanswered, and by the messages; after each
dispatcher run every message must be ``sent`` in the database and have one ``message_part``
row per PDU.

Then the connector's ``throughput`` is set to 100 and about 1,200 PDUs (12 s) are dispatched:
their PDUs/s over the run (client wall clock) must be 100 ± 5; the submit_sm the simulator
received in each second of the run (its counters read every second) are shown beside it.

Run: ``.venv/bin/python bench/bench_smpp.py [--messages N] [--rounds R] [--concurrency C]
[--quick] [--profile]`` (``--quick``: a few seconds, a smoke check: 300 messages, one round,
a 3 s throughput run; ``--profile``: cProfile of one more dispatcher run, top functions).
The default run takes about 2 minutes on 2 cores, most of it queueing the messages (untimed:
``enqueue`` charges each one, ~7 ms).  Prints figures and PASS/FAIL rows and a summary;
exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import queue
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import smpp34
import sqlalchemy as sa
from sqlmodel import col

from _report import print_summary, progress
from bannertui.domain.enums import MessageStatus
from bannertui.domain.smpp import submit_parts
from bannertui.gateway.connectors import ConnectorGateways
from bannertui.gateway.smpp import SmppProvider
from bannertui.services import Services
from bannertui.services.dispatch import Dispatcher, DispatchPolicy, DispatchStats
from bannertui.services.gateway import SmppConfig, connector_config
from bannertui.services.inbound import SmppInbound
from bannertui.services.outbox import OutboundDraft, enqueue
from bannertui.store.database import Database
from bannertui.store.models import Account, Message, MessagePart
from bannertui.testing import prepare_demo_database
from bench_dispatch import message_text

MESSAGES = 5_000
ROUNDS = 2
WINDOW = 10
CONCURRENCY = 32  # the dispatcher's sends in flight (`bannertui dispatch`'s default)
WARMUP = 500
BATCH = 1_000  # messages per enqueue transaction
DESTINATIONS = 1_000
TARGET = 0.8  # dispatcher / bare, messages per second
THROUGHPUT = 100  # submit_sm a second, the connector's limit in the last part
THROUGHPUT_SECONDS = 12.0  # how long that run lasts (at least 10 s)
THROUGHPUT_TOLERANCE = 5.0
CONNECTOR = 3  # the demo's "Carrier SMPP"
SENDER = "+33757000012"  # its number
SYSTEM_ID = "bench"
BIN = Path(sys.executable).with_name("bannertui")
_LISTENING = re.compile(r"SMSC simulator listening on (?P<host>\S+):(?P<port>\d+)\s*$")
_STATS = re.compile(r"SMSC simulator stats: (?P<fields>.*)$")
#: The simulator's counters a run moves, and by what (see SmscProcess.delta_ok).
COUNTERS = ("received", "accepted", "messages", "invalid", "unanswered", "duplicate_parts")


# --- the simulator (child process) --------------------------------------------------------------


class SmscProcess:
    """``bannertui smsc-sim --port 0 ...`` in a child process; its standard output read all
    the time by a thread, which hands on the counter lines it prints on SIGUSR1."""

    def __init__(self, root: Path) -> None:
        self.password = secrets.token_hex(4)  # SMPP 3.4: at most 8 characters
        env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
        env.update(
            BANNERTUI_DATA_DIR=str(root / "sim-data"),
            BANNERTUI_CONFIG=str(root / "no-such-dir" / "config.toml"),
            BANNERTUI_SMSC_SIM_PASSWORD=self.password,
        )
        self.err = (root / "simulator.err").open("w+b")
        command = [str(BIN), "smsc-sim", "--port", "0", "--system-id", SYSTEM_ID]
        self.proc = subprocess.Popen(
            [*command, "--no-receipts", "--stats-signal"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.err,
            env=env,
            text=True,
            bufsize=1,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed as soon as it listens
        match = _LISTENING.search(line)
        if match is None:
            self.stop()
            self.err.seek(0)
            raise RuntimeError(
                f"the simulator did not start: {line!r} {self.err.read().decode(errors='replace')}"
            )
        self.host, self.port = match["host"], int(match["port"])
        self._stats: queue.Queue[dict[str, int]] = queue.Queue()
        self._asking = threading.Lock()  # one question at a time
        self._reader = threading.Thread(target=self._read, name="smsc-sim-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # drained all the time: a full pipe would stall it
            if (m := _STATS.search(line)) is not None:
                fields = dict(f.split("=", 1) for f in m["fields"].split())
                self._stats.put({k: int(v) for k, v in fields.items()})

    def stats(self) -> dict[str, int]:
        """Its counters now (SIGUSR1, then its answer line)."""
        with self._asking:
            while not self._stats.empty():
                self._stats.get_nowait()
            self.proc.send_signal(signal.SIGUSR1)
            return self._stats.get(timeout=15)

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
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            with contextlib.suppress(Exception):
                self.proc.stdout.close()
        self.err.close()


# --- the outbox -----------------------------------------------------------------------------------


async def fill(db: Database, n: int, start: int) -> list[Message]:
    """Queue ``n`` pending messages from the SMPP number, ``BATCH`` per write transaction."""
    messages: list[Message] = []
    for first in range(start, start + n, BATCH):
        now = datetime.now(UTC)
        async with db.write() as session:
            for i in range(first, min(first + BATCH, start + n)):
                draft = OutboundDraft(
                    to_number=f"+33612{i % DESTINATIONS:06d}",
                    from_number=SENDER,
                    text=message_text(i),
                    sender=SENDER,
                    agent_id=1,
                )
                messages.append(await enqueue(session, draft, now))
    return messages


async def fill_pdus(db: Database, pdus: int, start: int) -> list[Message]:
    """Queue messages until their credits (their PDUs) reach ``pdus``."""
    n, credits = 0, 0
    while credits < pdus:
        credits += len(submit_parts(message_text(start + n), 0))
        n += 1
    return await fill(db, n, start)


async def db_check(db: Database, ids: list[int]) -> tuple[int, int]:
    """(messages among ``ids`` that are ``sent``, their ``message_part`` rows)."""
    async with db.read() as session:
        sent = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Message)
            .where(
                col(Message.id).between(min(ids), max(ids)),
                col(Message.status) == MessageStatus.SENT,
            )
        )
        parts = await session.scalar(
            sa.select(sa.func.count())
            .select_from(MessagePart)
            .where(col(MessagePart.message_id).between(min(ids), max(ids)))
        )
    return int(sent or 0), int(parts or 0)


# --- the two paths --------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    messages: int
    pdus: int
    seconds: float
    client_cpu: float
    server_cpu: float
    detail: str = ""
    ok: bool = True
    #: (seconds since the start, submit_sm the simulator had received), about every second
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def pdu_rate(self) -> float:
        return self.pdus / self.seconds

    def per_pdu(self, seconds: float) -> float:
        return seconds / self.pdus * 1e6


#: One submit_sm: its destination, short_message and the other keywords of Smsc.submit_sm.
Pdu = tuple[str, bytes, dict[str, Any]]


def _address(number: str) -> tuple[str, int, int]:
    """As the adapter writes an E.164 number: its digits, TON 1 (international), NPI 1."""
    assert number.startswith("+"), number
    assert number[1:].isdigit(), number
    return number[1:], 1, 1


@dataclass
class Bench:
    sim: SmscProcess
    db: Database
    services: Services
    secrets_dir: Path
    concurrency: int
    config: SmppConfig | None = None
    reference: int = field(default_factory=lambda: secrets.randbelow(0x10000))

    async def point_connector(self, throughput: int = 0) -> None:
        """The demo's SMPP connector at the simulator (window 10, this throughput limit)."""
        await self.services.connectors.edit(
            "system",
            CONNECTOR,
            settings={
                "host": self.sim.host,
                "port": self.sim.port,
                "system_id": SYSTEM_ID,
                "window": WINDOW,
                "throughput": throughput,
            },
            secret=self.sim.password,
        )
        records = await self.services.connectors.records_for_services()
        rec = next(r for r in records if r.id == CONNECTOR)
        assert rec.configured, rec
        assert rec.enabled, rec
        secret = rec.secrets(self.secrets_dir).get()
        config = connector_config(rec.type, rec.id, rec.settings, secret)
        assert isinstance(config, SmppConfig), config
        assert config.window == WINDOW, config
        assert config.throughput == throughput, config
        self.config = config

    def pdus(self, messages: list[Message]) -> list[Pdu]:
        """The submit_sm the adapter sends for these messages (SmppProvider.send/_submit)."""
        assert self.config is not None
        concat: Any = self.config.concat  # a Concat, checked by the settings
        out: list[Pdu] = []
        for m in messages:
            self.reference = (self.reference + 1) & 0xFFFF
            source, s_ton, s_npi = _address(m.sender or SENDER)
            destination, d_ton, d_npi = _address(m.to_number)
            for part in submit_parts(m.text, self.reference, concat=concat):
                out.append(
                    (
                        destination,
                        part.short_message,
                        {
                            "source_addr": source,
                            "source_addr_ton": s_ton,
                            "source_addr_npi": s_npi,
                            "dest_addr_ton": d_ton,
                            "dest_addr_npi": d_npi,
                            "esm_class": part.esm_class,
                            "registered_delivery": 1,
                            "data_coding": part.data_coding,
                            "tlvs": [smpp34.Tlv(tag, value) for tag, value in part.tlvs],
                        },
                    )
                )
        return out

    async def timed(
        self,
        label: str,
        messages: int,
        pdus: int,
        go: Callable[[], Awaitable[str]],
        check: Callable[[], Awaitable[tuple[bool, str]]],
        *,
        sample: bool = False,
    ) -> Run:
        """Time ``go()``; then the simulator's counters must have moved by exactly ``pdus``
        accepted submits and ``messages`` whole messages (nothing refused, duplicated or left
        unanswered), and ``check()`` must pass.  With ``sample``, the simulator's count of
        submits is read about every second meanwhile."""
        before = await asyncio.to_thread(self.sim.stats)
        samples: list[tuple[float, int]] = []
        server, cpu = self.sim.cpu_seconds(), time.process_time()
        start = time.monotonic()

        async def sampler() -> None:
            while True:
                await asyncio.sleep(1.0 - (time.monotonic() - start) % 1.0)
                received = (await asyncio.to_thread(self.sim.stats))["received"]
                samples.append((time.monotonic() - start, received - before["received"]))

        sampling = asyncio.create_task(sampler()) if sample else None
        try:
            detail = await go()
        finally:
            if sampling is not None:
                sampling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampling
        end = time.monotonic()
        client_cpu, server_cpu = time.process_time() - cpu, self.sim.cpu_seconds() - server
        after = await asyncio.to_thread(self.sim.stats)
        delta = {k: after[k] - before[k] for k in COUNTERS}
        want = {k: 0 for k in COUNTERS} | {"received": pdus, "accepted": pdus, "messages": messages}
        ok, more = await check()
        ok = ok and delta == want
        moved = ", ".join(f"+{v:,} {k}" for k, v in delta.items() if v or want[k])
        if delta != want:
            moved += f" (expected {want})"
        detail += f"; SMSC: {moved}{more}"
        return Run(label, messages, pdus, end - start, client_cpu, server_cpu, detail, ok, samples)

    async def bare(self, messages: list[Message]) -> Run:
        """The same PDUs through smpp34's own client: a task per submit_sm, 10 at a time."""
        assert self.config is not None
        pdus = self.pdus(messages)
        statuses: dict[str, int] = {}
        client = smpp34.Client(
            self.sim.host,
            self.sim.port,
            SYSTEM_ID,
            self.sim.password,
            bind_type="TRX",
            window_size=WINDOW,
        )
        smsc = await client.connect()  # bound before the clock starts
        window = asyncio.Semaphore(WINDOW)

        async def submit(pdu: Pdu) -> None:
            destination, short_message, fields = pdu
            async with window:
                resp = await smsc.submit_sm(destination, short_message, **fields)
            key = (
                "ESME_ROK"
                if resp.command_status == 0 and resp.message_id
                else (f"0x{resp.command_status:02X}")
            )
            statuses[key] = statuses.get(key, 0) + 1

        async def go() -> str:
            await asyncio.gather(*(submit(p) for p in pdus))
            return "answers " + ", ".join(f"{k}×{v:,}" for k, v in sorted(statuses.items()))

        async def check() -> tuple[bool, str]:
            credits = sum(m.credits for m in messages)  # the PDUs the adapter sends
            return statuses == {"ESME_ROK": len(pdus)} and len(pdus) == credits, ""

        try:
            return await self.timed("bare smpp34", len(messages), len(pdus), go, check)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(smsc.unbind(), 5)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.stop(), 5)

    async def dispatcher(
        self,
        messages: list[Message],
        profile: cProfile.Profile | None = None,
        *,
        sample: bool = False,
    ) -> Run:
        """The pending messages through the real Dispatcher, ConnectorGateways and
        SmppProvider (its session bound first)."""
        ids = [m.id or 0 for m in messages]
        pdus = sum(m.credits for m in messages)
        gateways = ConnectorGateways(
            self.services.connectors.records_for_services,
            secrets_dir=self.secrets_dir,
            inbound=SmppInbound(self.services.inbound),
        )
        await gateways.start()  # as `bannertui dispatch`: the SMPP session opens now
        stats = DispatchStats()
        try:
            adapter = gateways._entries[CONNECTOR].adapter
            assert isinstance(adapter, SmppProvider), gateways._entries[CONNECTOR]
            deadline = time.monotonic() + 30
            while adapter.binds < 1:  # bound (then ready, in the same step)
                if time.monotonic() > deadline:
                    raise RuntimeError("the dispatcher's SMPP session did not bind in 30 s")
                await asyncio.sleep(0.01)
            dispatcher = Dispatcher(self.db, gateways, DispatchPolicy(concurrency=self.concurrency))

            async def go() -> str:
                nonlocal stats
                if profile is not None:
                    profile.enable()
                try:
                    stats = await dispatcher.run_once()
                finally:
                    if profile is not None:
                        profile.disable()
                return (
                    f"claimed {stats.claimed:,}, sent {stats.sent:,}, retried {stats.retried}, "
                    f"failed {stats.failed}, uncertain {adapter.uncertain}"
                )

            async def check() -> tuple[bool, str]:
                sent, parts = await db_check(self.db, ids)
                ok = sent == len(ids) == stats.sent and parts == pdus and adapter.uncertain == 0
                return ok, f"; DB: {sent:,} of {len(ids):,} sent, {parts:,} part ids"

            return await self.timed("dispatcher", len(ids), pdus, go, check, sample=sample)
        finally:
            await gateways.aclose()


# --- the benchmark --------------------------------------------------------------------------------


@dataclass
class Result:
    runs: list[Run]
    limited: Run
    profile_text: str = ""

    @property
    def per_second(self) -> list[float]:
        """submit_sm a second at the simulator, between consecutive samples of the limited
        run (the first from its start)."""
        out, last_t, last_n = [], 0.0, 0
        for t, n in self.limited.samples:
            out.append((n - last_n) / (t - last_t))
            last_t, last_n = t, n
        return out

    def best(self, label: str) -> Run:
        return max((r for r in self.runs if r.label == label), key=lambda r: r.rate)

    @property
    def ratio(self) -> float:
        return self.best("dispatcher").rate / self.best("bare smpp34").rate

    @property
    def verified(self) -> bool:
        return all(r.ok for r in self.runs) and self.limited.ok

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio >= TARGET and self.verified else "FAIL"

    @property
    def limit_verdict(self) -> str:
        ok = abs(self.limited.pdu_rate - THROUGHPUT) <= THROUGHPUT_TOLERANCE and self.limited.ok
        return "PASS" if ok else "FAIL"


async def bench(args: argparse.Namespace, root: Path) -> Result:
    progress("starting `bannertui smsc-sim` and a demo database")
    sim = SmscProcess(root)
    try:
        db = Database(prepare_demo_database(root))
        secrets_dir = root / "secrets"
        secrets_dir.mkdir(mode=0o700)
        try:
            async with db.write() as session:
                await session.execute(sa.update(Account).values(credits=100_000_000))
            services = Services(db, secrets_dir=secrets_dir)
            b = Bench(sim, db, services, secrets_dir, args.concurrency)
            await b.point_connector()
            index = 0

            async def outbox(n: int) -> list[Message]:
                nonlocal index
                index += n
                return await fill(db, n, index - n)

            progress(f"warm-up: {args.warmup:,} messages through each path")
            warm = await outbox(args.warmup)
            for run in (await b.bare(warm), await b.dispatcher(warm)):
                if not run.ok:
                    raise RuntimeError(f"warm-up {run.label}: {run.detail}")
            runs: list[Run] = []
            for r in range(args.rounds):
                messages = await outbox(args.messages)  # pending until the dispatcher's turn
                for path in (b.bare, b.dispatcher):
                    runs.append(await path(messages))
                    last = runs[-1]
                    progress(
                        f"round {r + 1} {last.label}: {last.rate:,.0f} msgs/s, "
                        f"{last.pdu_rate:,.0f} PDUs/s{'' if last.ok else ' MISMATCH'}"
                    )
            profile_text = ""
            if args.profile:
                prof = cProfile.Profile()
                run = await b.dispatcher(await outbox(args.messages), profile=prof)
                out = io.StringIO()
                pstats_ = pstats.Stats(prof, stream=out).strip_dirs()
                pstats_.sort_stats("tottime").print_stats(25)
                pstats_.sort_stats("cumulative").print_stats(40)
                profile_text = (
                    f"cProfile of one more dispatcher run ({run.rate:.0f} msgs/s under the "
                    f"profiler; {'OK' if run.ok else 'MISMATCH'}):\n{out.getvalue()}"
                )

            target_pdus = round(THROUGHPUT * args.throughput_seconds) + 1
            progress(
                f"throughput limit {THROUGHPUT}/s: {target_pdus:,} PDUs "
                f"(~{args.throughput_seconds:g} s)"
            )
            await b.point_connector(throughput=THROUGHPUT)
            limited_messages = await fill_pdus(db, target_pdus, index)
            index += len(limited_messages)
            limited = await b.dispatcher(limited_messages, sample=True)
            limited.label = f"dispatcher, limit {THROUGHPUT}/s"
            progress(f"limited: {limited.pdu_rate:.1f} PDUs/s over {limited.seconds:.1f} s")
            return Result(runs, limited, profile_text)
        finally:
            await db.dispose()
    finally:
        sim.stop()


# --- the report -----------------------------------------------------------------------------------


def report(args: argparse.Namespace, result: Result) -> None:
    print(
        f"smpp: {args.messages:,} messages per run, {args.rounds} rounds, window {WINDOW}, "
        f"dispatcher concurrency {args.concurrency}, {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, smpp34 {smpp34.__version__}, SQLite (WAL); loopback TCP to "
        "`bannertui smsc-sim` in a child process, receipts off"
    )
    header = (
        f"{'round':>5} {'path':<12} {'msgs/s':>7} {'PDUs/s':>7} {'PDUs':>6} {'wall s':>7} "
        f"{'cli CPU µs/PDU':>14} {'sim CPU s':>9} {'sim CPU µs/PDU':>14}  checks"
    )
    print(header)
    print("-" * len(header))
    for i, run in enumerate(result.runs):
        print(
            f"{i // 2 + 1:>5} {run.label:<12} {run.rate:>7.0f} {run.pdu_rate:>7.0f} "
            f"{run.pdus:>6,} {run.seconds:>7.2f} {run.per_pdu(run.client_cpu):>14.0f} "
            f"{run.server_cpu:>9.2f} {run.per_pdu(run.server_cpu):>14.0f}  "
            f"{'OK' if run.ok else 'MISMATCH'}: {run.detail}"
        )
    bare, disp = result.best("bare smpp34"), result.best("dispatcher")
    print(
        f"best: bare smpp34 {bare.rate:,.0f} msgs/s ({bare.pdu_rate:,.0f} PDUs/s), dispatcher "
        f"{disp.rate:,.0f} msgs/s ({disp.pdu_rate:,.0f} PDUs/s)"
    )
    print(
        f"ratio: dispatcher / bare = {result.ratio:.2f}×; client CPU per PDU dispatcher / bare "
        f"= {disp.client_cpu / disp.pdus / (bare.client_cpu / bare.pdus):.2f}× "
        f"(+{disp.per_pdu(disp.client_cpu) - bare.per_pdu(bare.client_cpu):.0f} µs)"
    )
    print(f"target: dispatcher >= {TARGET:.1f}× bare (messages/s): {result.verdict}")
    print()
    lim = result.limited
    spread = " ".join(f"{n:.0f}" for n in result.per_second) or "n/a"
    print(
        f"throughput limit {THROUGHPUT}/s: {lim.pdus:,} PDUs ({lim.messages:,} messages) in "
        f"{lim.seconds:.2f} s = {lim.pdu_rate:.1f} PDUs/s ({lim.rate:.1f} msgs/s); submit_sm "
        f"received by the SMSC in each second of the run: {spread}"
    )
    print(f"  {'OK' if lim.ok else 'MISMATCH'}: {lim.detail}")
    print(
        f"target: {THROUGHPUT} ± {THROUGHPUT_TOLERANCE:g} PDUs/s over >= 10 s "
        f"({lim.seconds:.1f} s here): {result.limit_verdict}"
    )
    print()
    summary = [
        ("bare smpp34 msgs/s", f"{bare.rate:,.0f}", "", ""),
        ("bare smpp34 PDUs/s", f"{bare.pdu_rate:,.0f}", "", ""),
        ("dispatcher msgs/s", f"{disp.rate:,.0f}", "", ""),
        ("dispatcher PDUs/s", f"{disp.pdu_rate:,.0f}", "", ""),
        ("dispatcher / bare", f"{result.ratio:.2f}×", f">= {TARGET}×", result.verdict),
        (
            f"PDUs/s, limit {THROUGHPUT}/s ({lim.seconds:.1f} s)",
            f"{lim.pdu_rate:.1f}",
            f"{THROUGHPUT}±{THROUGHPUT_TOLERANCE:g}",
            result.limit_verdict,
        ),
        (
            "checks (SMSC counts, DB)",
            "OK" if result.verified else "MISMATCH",
            "OK",
            "PASS" if result.verified else "FAIL",
        ),
    ]
    print_summary(summary)
    if result.profile_text:
        print()
        print(result.profile_text)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=None, help=f"per run ({MESSAGES:,})")
    parser.add_argument("--rounds", type=int, default=None, help=f"(default {ROUNDS})")
    parser.add_argument(
        "--concurrency", type=int, default=CONCURRENCY, help="the dispatcher's (default 32)"
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds: a smoke check")
    parser.add_argument("--profile", action="store_true", help="cProfile one dispatcher run")
    args = parser.parse_args()
    args.warmup = 100 if args.quick else WARMUP
    args.throughput_seconds = 3.0 if args.quick else THROUGHPUT_SECONDS
    if args.messages is None:
        args.messages = 300 if args.quick else MESSAGES
    if args.rounds is None:
        args.rounds = 1 if args.quick else ROUNDS
    if args.messages < 1 or args.rounds < 1 or args.concurrency < 1:
        parser.error("--messages, --rounds, --concurrency: at least 1")
    with tempfile.TemporaryDirectory(prefix="bannertui-bench-") as tmp:
        root = Path(tmp)
        # Nothing of the caller's: no secret read from, nor written beside, its configuration.
        for name in [k for k in os.environ if k.startswith("BANNERTUI_")]:
            del os.environ[name]
        os.environ["BANNERTUI_DATA_DIR"] = str(root / "data")
        os.environ["BANNERTUI_CONFIG"] = str(root / "config" / "config.toml")
        result = asyncio.run(bench(args, root))
        report(args, result)


if __name__ == "__main__":
    main()
