"""The load and fault harness (issue [7/7]): a team's whole SMS loop on one machine, over
loopback, for a bounded time; it stops by itself and prints its figures.

What runs (each a process of its own, as in a deployment, except the provider side):

* the database: PostgreSQL (``--backend pg``: the server ``scripts/pg.sh`` installs and
  starts; a fresh database per run) or one SQLite file (``--backend sqlite``);
* ``--consoles`` headless agent consoles (``bench/load/consoles.py``: the service layer the
  Banner uses, each console with its own pool and change watcher), in ``--console-procs``
  processes;
* ``--dispatchers`` ``bannertui dispatch`` processes and one ``bannertui webhook`` receiver;
* in this process, the provider side: the HTTPS simulator (accepting sends, idempotent per
  retId, posting signed delivery receipts to the receiver) and the inbound traffic, ``--rate``
  signed inbound SMS a second from ``--customers`` customers to the queues' numbers,
  each POST retried until the receiver answers 2xx (as a provider does).

The load starts with ``--warmup`` seconds at the same rate: every process's connections and
caches go from cold to warm (PostgreSQL's per-connection catalog caches, each connection's
prepared statements, SQLAlchemy's compiled statements), as on a team's first minute of the
day.  Those texts count in every check below; their latencies are printed apart, and the
figures (and the faults) are those of the ``--seconds`` after.

Each inbound text carries a sequence number; a console that shows it notes the time (the
inbound-to-screen latency: from the first POST attempt to the console's read) and replies,
which the dispatchers send (send-to-provider latency: the message's ``created_at`` to its
``sent_at``, both stamped by the service clock).

With ``--faults`` (during the load): ``kill -9`` of one dispatcher (restarted 5 s later, as
a service manager would) and of the webhook receiver (restarted 2 s later), a PostgreSQL
restart, and the simulator answering 503 to every send for ``--outage`` seconds.  The load
then stops; the harness waits for the outbox to empty and checks:

* lost: inbound answered 2xx but not stored; replies the service accepted that never
  reached the provider; delivery receipts not applied — all must be 0;
* duplicated: retIds the provider accepted twice, inbound stored twice — must be 0
  (``resubmitted`` counts sends repeated with the same retId after a crash, which the
  provider's idempotency answers as duplicates: expected after a kill -9);
* stuck: nothing in ``pending``/``sending`` more than 60 s after the last fault ended.

Exit status 1 when a check fails (the short CI run relies on it).

    python bench/load/run.py                      # PostgreSQL, 200 consoles, 50 msgs/s, 90 s
    python bench/load/run.py --faults             # the same with the faults
    python bench/load/run.py --backend sqlite --consoles 20 --faults
    python bench/load/run.py --short ...          # the CI size (under a minute)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bannertui.domain.enums import AgentState, MessageStatus, Role, Strategy
from bannertui.domain.signing import signed_headers
from bannertui.services import Services
from bannertui.simulator.provider import Simulator, SimulatorConfig, make_tls
from bannertui.store.database import Database
from bannertui.store.migrate import upgrade
from bannertui.store.models import Account, Agent, Message, Profile, Queue, QueueAgent, SmsNumber
from bannertui.store.seed import seed

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STRATEGIES = (Strategy.ROUND_ROBIN, Strategy.LEAST_BUSY, Strategy.LONGEST_IDLE)
WORDS = tuple(
    "hello my parcel was due on monday can you check the delivery please thanks where is "  # noqa: SIM905
    "order number invoice address changed tomorrow morning call back".split()
)
IN_PREFIX = "load-in-"


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.0f} ms"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def customer(k: int) -> str:
    return f"+3361{4000000 + k:07d}"


# --- the database -----------------------------------------------------------------------------


@dataclass
class Team:
    logins: list[str]
    numbers: list[str]  # one per queue


async def fresh_database(args: argparse.Namespace, work: Path) -> str:
    if args.backend == "sqlite":
        return f"sqlite+aiosqlite:///{work / 'load.db'}"
    admin_url = os.environ.get("BANNERTUI_TEST_PG_URL")
    if not admin_url:
        raise SystemExit("--backend pg needs BANNERTUI_TEST_PG_URL (make load starts the server)")
    name = f"bannertui_load_{uuid.uuid4().hex[:8]}"
    admin = Database(admin_url)
    try:
        async with admin.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as c:
            allowed = int((await c.exec_driver_sql("SHOW max_connections")).scalar() or 0)
            used = int(
                (await c.exec_driver_sql("SELECT count(*) FROM pg_stat_activity")).scalar() or 0
            )
            # Two a console (its pool and its listener), ten per receiver and dispatcher.
            needed = 2 * args.consoles + 10 * (args.dispatchers + 1) + 10
            if allowed - used < needed:
                raise SystemExit(
                    f"PostgreSQL allows {allowed} connections and {used} are in use: "
                    f"{args.consoles} consoles need about {needed} more "
                    "(scripts/pg.sh starts its server with max_connections=600)"
                )
            await c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(args: argparse.Namespace, url: str) -> None:
    if args.backend != "pg":
        return
    admin = Database(os.environ["BANNERTUI_TEST_PG_URL"])
    name = make_url(url).database
    try:
        async with admin.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as c:
            await c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


async def service_login(url: str, login: str, group: str) -> str:
    """A login role member of the service role ``group`` (made once per server), and the
    database URL that connects as it."""
    admin = Database(url)
    try:
        async with admin.engine.connect() as conn:
            exists = await conn.scalar(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": login}
            )
            if not exists:
                await conn.execute(sa.text(f'CREATE ROLE "{login}" LOGIN IN ROLE "{group}"'))
                await conn.commit()
    finally:
        await admin.dispose()
    return make_url(url).set(username=login).render_as_string(hide_password=False)


async def prepare(url: str, args: argparse.Namespace) -> Team:
    """Schema, the demo data, and the load team: ``--queues`` queues (each with its number;
    strategies in turn), a messaging + smart profile with ``--seats`` seats, and
    ``--consoles`` available agents, agent k a member of queue k % queues."""
    db = Database(url)
    try:
        await upgrade(db)
        await seed(db)
        now = datetime.now(UTC)
        async with db.write() as s:
            profile = Profile(
                name="Load messaging",
                role=Role.AGENT,
                messaging=True,
                smart=True,
                max_simultaneous=args.seats,
                authorized_countries="FR",
            )
            numbers = [
                SmsNumber(number=f"+3375710{q:04d}", label=f"Load {q}") for q in range(args.queues)
            ]
            s.add(profile)
            s.add_all(numbers)
            await s.flush()
            queues = [
                Queue(
                    name=f"Load queue {q}",
                    sms_number_id=n.id,
                    strategy=STRATEGIES[q % len(STRATEGIES)],
                    service_level_s=60,
                )
                for q, n in enumerate(numbers)
            ]
            agents = [
                Agent(
                    login=f"load{k:03d}",
                    display_name=f"Load Agent {k:03d}",
                    profile_id=profile.id or 0,
                    state=AgentState.AVAILABLE,
                    state_since=now - timedelta(seconds=args.consoles - k),
                )
                for k in range(args.consoles)
            ]
            s.add_all([*queues, *agents])
            await s.flush()
            for k, agent in enumerate(agents):
                s.add(QueueAgent(queue_id=queues[k % args.queues].id or 0, agent_id=agent.id or 0))
            account = await s.scalar(sa.select(Account))
            assert account is not None
            account.credits = 100_000_000
        return Team([a.login for a in agents], [n.number for n in numbers])
    finally:
        await db.dispose()


# --- the processes ----------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_text: str
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    async def start(self, timeout: float = 60.0) -> None:
        self.starts += 1
        fh = self.log_path.open("ab")
        self.popen = subprocess.Popen(  # noqa: ASYNC220 (returns at once: no wait)
            self.argv, env=self.env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT
        )
        fh.close()
        if not self.ready_text:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready_text in self.log_path.read_text(errors="replace").split("\n#start")[-1]:
                return
            if self.popen.poll() is not None:
                break
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start: see {self.log_path}")

    def mark(self) -> None:
        with self.log_path.open("a") as fh:
            fh.write("\n#start\n")

    async def restart(self) -> None:
        self.mark()
        await self.start()

    def kill9(self) -> None:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    async def stop(self, timeout: float = 60.0) -> int | None:
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.popen.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        return self.popen.returncode


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU time of every live postgres process (the server and its backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm == "postgres":
                total += cpu_seconds(int(entry.name))
    return total


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bannertui", *args]


# --- the provider side: inbound traffic ------------------------------------------------------


@dataclass
class Posted:
    first_try: float  # wall clock of the first attempt
    ok_at: float | None = None
    attempts: int = 0


@dataclass
class Inbound:
    url: str
    secret: bytes
    posted: dict[int, Posted] = field(default_factory=dict)
    measured_from: float = 0.0  # wall clock: the warm-up over
    gave_up: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    #: POSTs in flight at most (a provider's sending pool): the rest wait their turn here,
    #: their latency counted from when they were due, not piling up in the HTTP client.
    in_flight: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(32))

    async def post(self, client: httpx.AsyncClient, seq: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body, separators=(",", ":")).encode()
        rec = self.posted[seq] = Posted(time.time())
        delay, deadline = 0.2, time.monotonic() + 180
        while time.monotonic() < deadline:
            rec.attempts += 1
            headers = signed_headers(self.secret, raw)  # afresh each attempt
            try:
                async with self.in_flight:
                    response = await client.post(self.url, content=raw, headers=headers)
            except httpx.TransportError as exc:
                self.statuses[type(exc).__name__] += 1
            else:
                self.statuses[str(response.status_code)] += 1
                if response.is_success:
                    rec.ok_at = time.time()
                    return
                if response.status_code < 500:
                    break  # refused: a bug, not a fault; counted as not accepted
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        self.gave_up += 1

    async def run(self, rate: float, seconds: float, customers: int, numbers: list[str]) -> None:
        rng = random.Random(7)
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        tasks: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(timeout=10, limits=limits) as client:
            loop = asyncio.get_running_loop()
            start = loop.time()
            seq = 0
            while (at := start + seq / rate) < start + seconds:
                await asyncio.sleep(max(0.0, at - loop.time()))
                k = rng.randrange(customers)
                words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25)))
                body = {
                    "from": customer(k),
                    "to": numbers[k % len(numbers)],
                    "text": f"L{seq} {words}",
                    "id": f"{IN_PREFIX}{seq}",
                }
                task = asyncio.create_task(self.post(client, seq, body))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                seq += 1
            while tasks:
                await asyncio.wait(set(tasks))


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Faults:
    events: list[tuple[float, str]] = field(default_factory=list)  # (seconds into the run, what)
    windows: list[tuple[float, float]] = field(default_factory=list)  # wall-clock spans
    recovered_at: float | None = None  # wall clock: the last fault over

    def hit(self, when: float) -> bool:
        return any(a <= when <= b for a, b in self.windows)


@dataclass
class Sampler:
    url: str
    backend: str
    outbox: list[tuple[float, int]] = field(default_factory=list)  # (wall, pending+sending)
    connections: list[int] = field(default_factory=list)
    by_app: dict[str, int] = field(default_factory=dict)  # the most seen at once, per program
    lock_waits: int = 0  # samples × backends waiting on a lock
    waits: list[tuple[float, int]] = field(default_factory=list)  # (wall, backends waiting)
    blockers: Counter[str] = field(default_factory=Counter)  # waiter | holder, as seen
    backends: dict[int, str] = field(default_factory=dict)  # server pid → program
    #: (wall, busy share, stolen share) of the machine's CPUs over each second (Linux)
    machine: list[tuple[float, float, float]] = field(default_factory=list)
    #: Who blocks whom (pg_blocking_pids, which takes the lock manager's locks): --keep only
    blockers_on: bool = False

    def sample_machine(self, last: list[int] | None) -> list[int] | None:
        """The machine's CPU ticks now (``/proc/stat``), noting the share of them busy (not
        idle, waiting for I/O or stolen) and stolen (by a hypervisor's other guests) since
        ``last``; ``last`` is kept when too few ticks have passed to say."""
        try:
            ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except (OSError, ValueError):
            return last
        if len(ticks) < 8:
            return None
        if last is not None:
            delta = [a - b for a, b in zip(ticks, last, strict=False)]
            total = sum(delta[:8])
            if total < 10:  # under 1/10 s of one CPU (100 ticks a second): too short
                return last
            idle, stolen = delta[3] + delta[4], delta[7]  # idle + iowait; steal
            self.machine.append((time.time(), 1 - (idle + stolen) / total, stolen / total))
        return ticks

    async def note_blockers(self, s: Any) -> None:
        """Who waits on a lock, for what, and who holds it (program, state, statement)."""
        rows = await s.execute(
            sa.text(
                "SELECT a.application_name, left(a.query, 90), b.application_name, b.state,"
                " left(b.query, 90) FROM pg_stat_activity a"
                " CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS bp(pid)"
                " JOIN pg_stat_activity b ON b.pid = bp.pid"
                " WHERE a.wait_event_type = 'Lock' AND a.datname = current_database()"
            )
        )
        for row in rows:
            self.blockers[" | ".join(" ".join(str(v).split()) for v in row)] += 1

    async def run(self, stop: asyncio.Event) -> None:
        db = Database(self.url, pool_size=1)
        last = self.sample_machine(None)
        try:
            while not stop.is_set():
                last = self.sample_machine(last)
                with contextlib.suppress(Exception):  # the database may be restarting
                    async with db.read() as s:
                        busy = await s.scalar(
                            sa.select(sa.func.count()).where(
                                Message.status.in_(  # type: ignore[attr-defined]
                                    [MessageStatus.PENDING, MessageStatus.SENDING]
                                )
                            )
                        )
                        self.outbox.append((time.time(), int(busy or 0)))
                        if self.backend == "pg":
                            rows = (
                                await s.execute(
                                    sa.text(
                                        "SELECT pid, application_name, wait_event_type"
                                        " FROM pg_stat_activity"
                                        " WHERE datname = current_database()"
                                    )
                                )
                            ).all()
                            self.connections.append(len(rows))
                            per_app = Counter(app for _, app, _ in rows)
                            for app, n in per_app.items():
                                self.by_app[app] = max(self.by_app.get(app, 0), n)
                            waiting = sum(1 for _, _, wait in rows if wait == "Lock")
                            self.lock_waits += waiting
                            self.waits.append((time.time(), waiting))
                            if waiting and self.blockers_on:
                                await self.note_blockers(s)
                            for pid, app, _ in rows:
                                self.backends[int(pid)] = app or "?"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            await db.dispose()


async def pg_restart() -> None:
    proc = await asyncio.create_subprocess_exec(
        "bash", str(ROOT / "scripts" / "pg.sh"), "restart", cwd=ROOT
    )
    if await proc.wait() != 0:
        raise RuntimeError("scripts/pg.sh restart failed")


async def outbox_empty(url: str) -> bool:
    db = Database(url, pool_size=1)
    try:
        async with db.read() as s:
            n = await s.scalar(
                sa.select(sa.func.count()).where(
                    Message.status.in_(  # type: ignore[attr-defined]
                        [MessageStatus.PENDING, MessageStatus.SENDING]
                    )
                )
            )
        return not n
    finally:
        await db.dispose()


async def run(args: argparse.Namespace) -> bool:
    work = Path(tempfile.mkdtemp(prefix="bannertui-load-"))
    url = await fresh_database(args, work)
    log(
        f"{args.backend}: {args.consoles} consoles, {args.rate:g} inbound/s for {args.seconds:g} s"
        f"{', with faults' if args.faults else ''} (work dir {work})"
    )
    team = await prepare(url, args)
    # PostgreSQL enforces the permissions (issue #17): each console connects as its agent's
    # own role, the receiver and the dispatchers as members of their service roles, unless
    # --as-owner (everything as the harness's superuser: row-level security bypassed).
    own_roles = args.backend == "pg" and not args.as_owner
    hook_url = dispatch_url = url
    if own_roles:
        hook_url = await service_login(url, "load_webhook", "bannertui_webhook")
        dispatch_url = await service_login(url, "load_dispatch", "bannertui_dispatch")
    secret = secrets.token_hex(32)
    env = {**os.environ, "BANNERTUI_WEBHOOK_SECRET": secret, "PYTHONUNBUFFERED": "1"}
    env.pop("BANNERTUI_DATABASE_URL", None)
    hook_port = free_port()
    hook = Proc(
        "webhook",
        cli("webhook", "--db", hook_url, "--port", str(hook_port)),
        env,
        work / "webhook.log",
        "listening",
    )
    tls = make_tls(work / "simulator")
    config = SimulatorConfig(
        webhook_url=f"http://127.0.0.1:{hook_port}",
        webhook_secret=secret.encode(),
        receipt_delay_s=0.5,
        latency_ms=30.0,  # a provider's answer takes a moment: a kill -9 finds sends in flight
        webhook_attempts=9,  # 0.2 s doubling: about 100 s of retries, as a provider would
        seed=11,
    )
    procs: list[Proc] = []
    cpu: dict[str, float] = {}
    pg_cpu_before = postgres_cpu() if args.backend == "pg" else 0.0
    own_before = time.process_time()
    sim = Simulator(config, tls)
    await sim.start()
    stop_sampler = asyncio.Event()
    sampler = Sampler(url, args.backend, blockers_on=args.keep)
    sampling = asyncio.create_task(sampler.run(stop_sampler))
    faults = Faults()
    try:
        services_db = Database(url)
        try:
            await Services(services_db).provider.update(
                actor="system",  # the harness stands for the deployment, as the demo runtime
                url=sim.url,
                auth_enabled=False,
                login=None,
                ca_file=str(tls.ca),
            )
        finally:
            await services_db.dispose()
        await hook.start()
        procs.append(hook)
        dispatchers = [
            Proc(
                f"dispatch-{i}",
                cli("dispatch", "--db", dispatch_url, "--lease-seconds", f"{args.lease:g}"),
                env,
                work / f"dispatch-{i}.log",
                "",
            )
            for i in range(args.dispatchers)
        ]
        for d in dispatchers:
            await d.start()
            procs.append(d)
        groups = [team.logins[i :: args.console_procs] for i in range(args.console_procs)]
        consoles = [
            Proc(
                f"consoles-{i}",
                [
                    sys.executable,
                    str(HERE / "consoles.py"),
                    *(["--own-roles"] if own_roles else []),
                    url,
                    str(work / f"consoles-{i}.json"),
                    *logins,
                ],
                env,
                work / f"consoles-{i}.log",
                "ready",
            )
            for i, logins in enumerate(groups)
            if logins
        ]
        for c in consoles:
            await c.start()
        procs.extend(consoles)
        await asyncio.sleep(2)  # every console has made its first read
        inbound = Inbound(f"http://127.0.0.1:{hook_port}/v1/inbound", secret.encode())
        started = time.time()
        log(f"load started; {args.warmup:g} s of warm-up")
        inbound.measured_from = started + args.warmup
        traffic = asyncio.create_task(
            inbound.run(args.rate, args.warmup + args.seconds, args.customers, team.numbers)
        )
        if args.faults:
            await inject_faults(args, inbound.measured_from, dispatchers[0], hook, sim, faults)
        await traffic
        log(f"load over after {time.time() - started:.0f} s; waiting for the outbox to empty")
        drain_until = time.time() + args.drain
        while time.time() < drain_until and not await outbox_empty(url):  # noqa: ASYNC110
            await asyncio.sleep(1)
        await asyncio.sleep(args.receipt_wait)  # the last receipts and replies
        for p in procs:
            if p.popen is not None:
                kind = p.name.split("-")[0]
                cpu[kind] = cpu.get(kind, 0.0) + cpu_seconds(p.popen.pid)
        if args.backend == "pg":
            cpu["postgres"] = postgres_cpu() - pg_cpu_before
            for pid, app in sampler.backends.items():
                key = f"postgres for {app.removeprefix('bannertui ')}"
                cpu[key] = cpu.get(key, 0.0) + cpu_seconds(pid)
        cpu["provider side (this process)"] = time.process_time() - own_before
        for c in consoles:
            await c.stop()
        for p in procs:
            if p not in consoles:
                await p.stop()
        stop_sampler.set()
        await sampling
        figures = [
            f
            for i in range(len(consoles))
            for f in json.loads((work / f"consoles-{i}.json").read_text())
        ]
        ok = await report(args, url, inbound, sim, figures, sampler, faults, procs, cpu)
        if args.keep:  # each text's times, to look into a run afterwards
            seen = first_seen(figures)
            timeline = {
                seq: [p.first_try, p.ok_at, seen.get(seq)] for seq, p in inbound.posted.items()
            }
            dump = {
                "texts": timeline,
                "machine": sampler.machine,
                "outbox": sampler.outbox,
                "lock_waits": sampler.waits,
                "blockers": sampler.blockers.most_common(),
                "faults": faults.events,
                "measured_from": inbound.measured_from,
            }
            (work / "timeline.json").write_text(json.dumps(dump), encoding="utf-8")
    finally:
        for p in procs:
            with contextlib.suppress(Exception):
                await p.stop(5)
        stop_sampler.set()
        with contextlib.suppress(Exception):
            await sampling
        await sim.stop()
        with contextlib.suppress(Exception):
            await drop_database(args, url)
    if ok and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        log(f"logs kept in {work}")
    return ok


async def inject_faults(
    args: argparse.Namespace,
    started: float,
    dispatcher: Proc,
    hook: Proc,
    sim: Simulator,
    faults: Faults,
) -> None:
    step = args.seconds / 8

    async def at(t: float) -> None:
        await asyncio.sleep(max(0.0, started + t - time.time()))

    def note(what: str) -> None:
        faults.events.append((time.time() - started, what))
        log(what)

    await at(step)
    dispatcher.kill9()
    t0 = time.time()
    note("kill -9 dispatcher-0")
    await asyncio.sleep(5)
    await dispatcher.restart()
    faults.windows.append((t0, time.time() + args.lease))
    note("dispatcher-0 restarted")
    await at(2 * step)
    hook.kill9()
    t0 = time.time()
    note("kill -9 webhook receiver")
    await asyncio.sleep(2)
    await hook.restart()
    faults.windows.append((t0, time.time()))
    note("webhook receiver restarted")
    if args.backend == "pg":
        await at(3 * step)
        t0 = time.time()
        note("restarting PostgreSQL")
        await pg_restart()
        faults.windows.append((t0, time.time()))
        note("PostgreSQL restarted")
    await at(4 * step)
    sim.config = dataclasses.replace(sim.config, fail_rate=1.0, status=503)
    t0 = time.time()
    note(f"simulator answers 503 for {args.outage:g} s")
    await asyncio.sleep(args.outage)
    sim.config = dataclasses.replace(sim.config, fail_rate=0.0)
    faults.windows.append((t0, time.time()))
    faults.recovered_at = time.time()
    note("simulator answers again")


# --- the figures ------------------------------------------------------------------------------


def first_seen(consoles: list[dict[str, Any]]) -> dict[int, float]:
    """Each text's sequence number → when a console first showed it."""
    seen: dict[int, float] = {}
    for c in consoles:
        for seq, at in c["seen"].items():
            seen[int(seq)] = min(at, seen.get(int(seq), at))
    return seen


async def report(
    args: argparse.Namespace,
    url: str,
    inbound: Inbound,
    sim: Simulator,
    consoles: list[dict[str, Any]],
    sampler: Sampler,
    faults: Faults,
    procs: list[Proc],
    cpu: dict[str, float],
) -> bool:
    db = Database(url)
    try:
        async with db.read() as s:
            stored_in = Counter(
                (
                    await s.scalars(
                        sa.select(Message.provider_message_id).where(
                            Message.provider_message_id.like(f"{IN_PREFIX}%")  # type: ignore[union-attr]
                        )
                    )
                ).all()
            )
            sent_ret = {ret for c in consoles for _, ret in c["sent"]}
            rows = (
                (
                    await s.execute(
                        sa.select(
                            Message.ret_id, Message.status, Message.created_at, Message.sent_at
                        ).where(Message.ret_id.in_(sent_ret))  # type: ignore[union-attr]
                    )
                ).all()
                if sent_ret
                else []
            )
            stuck = await s.scalar(
                sa.select(sa.func.count()).where(
                    Message.status.in_([MessageStatus.PENDING, MessageStatus.SENDING])  # type: ignore[attr-defined]
                )
            )
    finally:
        await db.dispose()

    ok_seqs = {seq for seq, p in inbound.posted.items() if p.ok_at is not None}
    stored_seqs = {int(pid[len(IN_PREFIX) :]) for pid in stored_in}
    lost_in = len(ok_seqs - stored_seqs)
    dup_in = sum(n - 1 for n in stored_in.values() if n > 1)
    seen = first_seen(consoles)
    unseen_seqs = sorted(stored_seqs - set(seen))
    unseen = len(unseen_seqs)
    if unseen_seqs:
        await explain_unseen(url, unseen_seqs[:5], consoles)
    measured = {q for q, p in inbound.posted.items() if p.first_try >= inbound.measured_from}
    lat_warmup = [
        seen[q] - p.first_try for q, p in inbound.posted.items() if q in seen and q not in measured
    ]
    lat_all = [seen[q] - inbound.posted[q].first_try for q in seen if q in measured]
    lat_calm = [
        seen[q] - inbound.posted[q].first_try
        for q in seen
        if q in measured and not faults.hit(inbound.posted[q].first_try) and not faults.hit(seen[q])
    ]
    status = Counter(r.status for r in rows)
    send_all = [
        (r.sent_at - r.created_at).total_seconds()
        for r in rows
        if r.sent_at and r.created_at.timestamp() >= inbound.measured_from
    ]
    send_calm = [
        (r.sent_at - r.created_at).total_seconds()
        for r in rows
        if r.sent_at
        and r.created_at.timestamp() >= inbound.measured_from
        and not faults.hit(r.created_at.timestamp())
        and not faults.hit(r.sent_at.timestamp())
    ]
    accepted = set(sim.accepted)
    lost_out = len(sent_ret - accepted)
    twice = len(sim.records) - len({r.payload["retId"] for r in sim.records})
    not_receipted = status.get(MessageStatus.SENT, 0)
    errors: Counter[str] = Counter()
    for c in consoles:
        errors.update(c["errors"])
    reloads = sum(c["reloads"] for c in consoles)
    checks = sum(c["checks"] for c in consoles)
    duration = args.seconds

    cleared = None
    if faults.recovered_at is not None:
        after = [(t, n) for t, n in sampler.outbox if t >= faults.recovered_at]
        cleared = next((t - faults.recovered_at for t, n in after if n == 0), None)

    print()
    print(
        f"== load harness: {args.backend}, {args.consoles} consoles in {args.console_procs} "
        f"processes, {args.dispatchers} dispatchers, 1 webhook receiver"
    )
    print(
        f"   inbound: {len(inbound.posted)} posted at {args.rate:g}/s for {args.warmup:g} s "
        f"of warm-up then {duration:g} s "
        f"({len(ok_seqs)} answered 2xx, {inbound.gave_up} given up; "
        f"answers {dict(inbound.statuses)})"
    )
    if faults.events:
        print("   faults: " + "; ".join(f"{t:.0f} s {what}" for t, what in faults.events))
    print(
        f"   warm-up: inbound-to-screen p50 {ms(pct(lat_warmup, 50))}, "
        f"p99 {ms(pct(lat_warmup, 99))}, max {ms(max(lat_warmup, default=float('nan')))} "
        f"over {len(lat_warmup)} messages (not in the figures below)"
    )
    print(
        f"   inbound-to-screen: p50 {ms(pct(lat_all, 50))}, p99 {ms(pct(lat_all, 99))}, "
        f"max {ms(max(lat_all, default=float('nan')))} over {len(lat_all)} messages"
    )
    # Where the time goes: the receiver's answer (from when the text was due), then the
    # consoles (from that answer to the screen).
    answered = [
        (p.ok_at - p.first_try, seen[q] - p.ok_at)
        for q, p in inbound.posted.items()
        if q in seen and q in measured and p.ok_at is not None
    ]
    print(
        f"     of which the receiver's answer p50 {ms(pct([a for a, _ in answered], 50))}, "
        f"p99 {ms(pct([a for a, _ in answered], 99))}; from its answer to the screen "
        f"p50 {ms(pct([b for _, b in answered], 50))}, p99 {ms(pct([b for _, b in answered], 99))}"
    )
    if faults.events:
        print(
            f"     outside the fault windows: p50 {ms(pct(lat_calm, 50))}, "
            f"p99 {ms(pct(lat_calm, 99))} over {len(lat_calm)}"
        )
    print(
        f"   replies: {len(sent_ret)} sent by the consoles; send-to-provider p50 "
        f"{ms(pct(send_all, 50))}, p99 {ms(pct(send_all, 99))} "
        f"(outside faults p50 {ms(pct(send_calm, 50))}, p99 {ms(pct(send_calm, 99))}); "
        f"final status {dict(status)}"
    )
    print(
        f"   provider: {len(sim.records)} accepted, {sim.duplicates} resubmitted with a known "
        f"retId (answered as duplicates), {sim.injected_failures} answered 503, "
        f"{sim.receipts_sent} receipts posted, {sim.webhook_errors} webhook posts given up"
    )
    print(
        f"   consoles: {checks} change checks, {reloads} reloads "
        f"({reloads / max(checks, 1):.0%}), errors {dict(errors) or 'none'}"
    )
    if sampler.connections:
        print(
            f"   database connections: max {max(sampler.connections)}, median "
            f"{pct([float(n) for n in sampler.connections], 50):.0f}; the most at once per "
            "program: " + ", ".join(f"{k or '?'} {v}" for k, v in sorted(sampler.by_app.items()))
        )
        print(
            f"   lock waits: {sampler.lock_waits / max(len(sampler.connections), 1):.1f} "
            "backends waiting on a lock, on average"
        )
    else:
        print("   database connections: one SQLite file (no server)")
    window = (inbound.measured_from, inbound.measured_from + args.seconds)
    measured_cpu = [m for m in sampler.machine if window[0] <= m[0] <= window[1]]
    if measured_cpu:
        busy = [b for _, b, _ in measured_cpu]
        stolen = [t for _, _, t in measured_cpu]
        print(
            f"   machine CPU ({os.cpu_count()} CPUs) over the measured {args.seconds:g} s: busy "
            f"{sum(busy) / len(busy):.0%} on average, {max(busy):.0%} in the busiest second; "
            f"stolen by other guests {sum(stolen) / len(stolen):.0%} on average, "
            f"{max(stolen):.0%} at most"
        )
    print(
        "   CPU seconds (of the last start of each process): "
        + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items())
    )
    texts = len(ok_seqs)
    if texts:
        # What the run's texts cost: the receiver, the dispatchers, the consoles and their
        # server backends (the "postgres for …" figures: this server's, whatever else the
        # machine runs; the harness's own provider side left out): one figure to compare a
        # run with row-level security on (own roles) and one --as-owner.
        spent = sum(
            v
            for k, v in cpu.items()
            if k in ("webhook", "dispatch", "consoles") or k.startswith("postgres for ")
        )
        mode = (
            "every console as its own role, RLS on"
            if args.backend == "pg" and not args.as_owner
            else "as the owner, RLS bypassed"
            if args.backend == "pg"
            else "SQLite"
        )
        print(
            f"   CPU per inbound text ({mode}): {spent / texts * 1000:.1f} ms "
            f"({spent:.0f} CPU s over {texts} texts and what they caused)"
        )
    if cleared is not None:
        print(f"   outbox empty {cleared:.0f} s after the last fault ended")
    for p in procs:
        if p.starts > 1:
            print(f"   {p.name}: started {p.starts} times")
    checks_ok = {
        "inbound lost (2xx but not stored)": lost_in,
        "inbound stored twice": dup_in,
        "inbound never on a console": unseen,
        "replies lost (never reached the provider)": lost_out,
        "retIds accepted twice": twice,
        "receipts not applied (still 'sent')": not_receipted,
        "left in pending/sending": int(stuck or 0),
        "inbound not accepted within 180 s": inbound.gave_up,
    }
    if faults.recovered_at is not None:
        checks_ok["outbox not empty 60 s after recovery"] = int(cleared is None or cleared > 60)
    good = True
    for what, n in checks_ok.items():
        mark = "ok" if n == 0 else "FAIL"
        good &= n == 0
        print(f"   {what}: {n} {mark}")
    calm = lat_calm if faults.events else lat_all
    p99 = pct(calm, 99)
    print(
        "   target inbound-to-screen p99 under 1 s"
        f"{' (outside the faults)' if faults.events else ''}:"
        f" {ms(p99)} {'met' if p99 < 1.0 else 'MISSED'} (reported; not a pass/fail check)"
    )
    print(f"   RESULT: {'PASS' if good else 'FAIL'}")
    return good


async def explain_unseen(url: str, seqs: list[int], consoles: list[dict[str, Any]]) -> None:
    """Where the texts no console showed ended up (for the FAIL line's reader)."""
    db = Database(url)
    try:
        async with db.read() as s:
            rows = (
                await s.execute(
                    sa.text(
                        "SELECT m.provider_message_id, m.status, m.created_at, i.id, i.status,"
                        " i.agent_id, i.closed_at, a.login, i.created_at, i.assigned_at,"
                        " i.last_message_at, i.unread, m.id FROM message m"
                        " LEFT JOIN interaction i ON i.id = m.interaction_id"
                        " LEFT JOIN agent a ON a.id = i.agent_id"
                        " WHERE m.provider_message_id IN :ids"
                    ).bindparams(sa.bindparam("ids", expanding=True)),
                    {"ids": [f"{IN_PREFIX}{q}" for q in seqs]},
                )
            ).all()
        for r in rows:
            print(
                f"   not shown: {r[0]} ({r[1]}, stored {r[2]:%H:%M:%S.%f}) in interaction {r[3]} "
                f"({r[4]}, agent {r[7]}, closed {r[6]:%H:%M:%S.%f})"
                if r[6]
                else f"   not shown: {r[0]} ({r[1]}) in interaction {r[3]} ({r[4]}, agent {r[7]})"
            )
            listed = next(
                (c["listed"].get(str(r[3])) for c in consoles if c["login"] == r[7]), None
            )
            print(
                f"     message {r[12]} stored {r[2]}; interaction created {r[8]}, assigned {r[9]},"
                f" last message {r[10]}, unread {r[11]}; its agent's console first listed it:"
                f" {listed or 'never'}"
            )
    finally:
        await db.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--backend", choices=("pg", "sqlite"), default="pg")
    p.add_argument("--consoles", type=int, default=200)
    p.add_argument("--console-procs", type=int, default=4)
    p.add_argument("--dispatchers", type=int, default=2)
    p.add_argument("--rate", type=float, default=50.0, help="inbound SMS a second")
    p.add_argument("--seconds", type=float, default=90.0, help="how long the load is measured")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds of load before that")
    p.add_argument("--customers", type=int, default=0, help="default: 5 per console, at most 1,000")
    p.add_argument("--queues", type=int, default=4)
    p.add_argument("--seats", type=int, default=30, help="open conversations per agent")
    p.add_argument(
        "--as-owner",
        action="store_true",
        help="PostgreSQL: every process connects as the harness's superuser, row-level "
        "security bypassed (the baseline of issue #17); by default each console connects "
        "as its agent's own role and the services as their roles",
    )
    p.add_argument("--faults", action="store_true")
    p.add_argument("--outage", type=float, default=30.0, help="seconds of 503s (--faults)")
    p.add_argument("--lease", type=float, default=30.0, help="the dispatchers' lease (s)")
    p.add_argument("--drain", type=float, default=120.0, help="max wait for the outbox (s)")
    p.add_argument("--receipt-wait", type=float, default=3.0)
    p.add_argument("--short", action="store_true", help="the CI size")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args(argv)
    if args.customers <= 0:
        args.customers = min(1000, 5 * args.consoles)
    if args.short:
        args.consoles = min(args.consoles, 20)
        args.console_procs = min(args.console_procs, 2)
        args.rate = min(args.rate, 10.0)
        # The faults keep their order in 24 s (every step is seconds / 8; the outage is 8 s);
        # a 20 s lease still outlasts a send that times out (10 s, connecting 5 s more).
        args.seconds = min(args.seconds, 24.0)
        args.lease = min(args.lease, 20.0)
        args.warmup = min(args.warmup, 5.0)
        args.customers = min(args.customers, 200)
        args.outage = min(args.outage, 8.0)
    return args


def main(argv: list[str] | None = None) -> int:
    return 0 if asyncio.run(run(parse_args(argv))) else 1


if __name__ == "__main__":
    sys.exit(main())
