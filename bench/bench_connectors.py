"""Dispatching through each connector type (issue #20), beside a bare httpx loop.

For each connector type, in one run, 10,000 pending messages (GSM-7 and UCS-2, 1 to 4 credits,
to 1,000 mobiles) are sent over loopback HTTPS to that type's simulator, a child process (the
server does not share the client's event loop nor, as far as 2 cores allow, its CPU):

* ``https-json``: ``bannertui provider-sim --port 0``; connector 1 ("Carrier HTTPS") pointed
  at it with ``services.provider.update``; messages from its number +33757000001;
* ``twilio``: ``bannertui twilio-sim --port 0 --number +33757000011 --no-callbacks`` (its auth
  token a random one, in BANNERTUI_SIM_PASSWORD); connector 2 ("Twilio") pointed at it with
  ``services.connectors.edit`` (account SID, API base, CA; the token into the secret store
  of a temporary directory); messages from its number +33757000011.

Status callbacks are OFF for the timed part: the connector has no ``public_url``, so sends ask
for none (no ``StatusCallback``), and the simulator would post none anyway.  The client
measures sending, nothing else.

Each type's messages are sent 32 at a time by:

* ``dispatcher``: the real :class:`Dispatcher` (claims in SQLite write transactions, outcome
  writes in batches) on a temporary demo database, through :class:`ConnectorGateways` (each
  message to its connector's adapter: :class:`HttpProvider` or :class:`TwilioProvider`),
  ``run_once``;
* ``bare httpx``: one ``httpx.AsyncClient`` with the same TLS context, limits, timeouts, auth
  and headers as the adapter, 32 tasks posting the same requests (https-json: the P2 JSON with
  fresh retIds; twilio: the form ``To``/``Body``/``From`` to ``…/Messages.json``) and checking
  the status code, touching no database.

Both clients are built before the clock starts (``ConnectorGateways.refresh()``, as
``bannertui dispatch`` does first); both open their connections inside the timed part.  A
warm-up of 1,000 messages through each path first (imports, TLS, the simulator's number
cache: every destination is seen before the timed rounds).  The order alternates (bare,
dispatcher, bare, dispatcher) and the best run of each is compared.  After each run the
simulator's ``/v1/stats`` must show exactly the new accepted sends (no other request, no
duplicate, nothing refused); after each dispatcher run every message must be ``sent`` in the
database, and for Twilio the message SIDs the database recorded must be exactly those of the
simulator's new sends, each (To, Body) once.

Run: ``.venv/bin/python bench/bench_connectors.py [--messages N] [--types https-json,twilio]
[--rounds R] [--concurrency C] [--profile]`` (``--profile``: cProfile of one more dispatcher
run per type, top functions).  Prints figures and PASS/FAIL (dispatcher >= 0.8× bare, per
type) and a summary; exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import col

from _report import print_summary, progress
from bannertui.domain.enums import MessageStatus
from bannertui.domain.sms import Encoding
from bannertui.gateway.connectors import ConnectorGateways
from bannertui.services import Services
from bannertui.services.dispatch import Dispatcher, DispatchPolicy, DispatchStats
from bannertui.services.gateway import (
    ProviderConfig,
    SendPayload,
    TwilioConfig,
    connector_config,
    ssl_context,
)
from bannertui.services.outbox import OutboundDraft, enqueue
from bannertui.store.database import Database
from bannertui.store.models import Account, Message
from bannertui.testing import prepare_demo_database
from bench_dispatch import message_text

MESSAGES = 10_000
CONCURRENCY = 32
ROUNDS = 2
BATCH = 1_000  # messages per enqueue transaction
DESTINATIONS = 1_000  # distinct mobiles; the warm-up sends to each of them
WARMUP = DESTINATIONS
TARGET = 0.8  # dispatcher throughput / bare throughput, for each type
TYPES = ("https-json", "twilio")
BIN = Path(sys.executable).with_name("bannertui")
API_VERSION = "2010-04-01"
SENT_PAGE = 1_000  # the simulators' /v1/sent page


@dataclass(frozen=True)
class Kind:
    """What differs between the connector types."""

    name: str
    connector_id: int  # the demo's connector of this type
    sender: str  # one of its numbers
    command: tuple[str, ...]  # the simulator, after `bannertui`
    line: re.Pattern[str]  # the simulator's first line: its URL, (account,) CA
    accepted_status: int
    expected: tuple[str, ...]  # the /v1/stats counters a run moves (the first two by n)


KINDS = {
    "https-json": Kind(
        "https-json",
        1,
        "+33757000001",
        ("provider-sim",),
        re.compile(r"listening on (?P<url>https://\S+) \(CA: (?P<ca>.+)\)\s*$"),
        200,
        ("requests", "accepted", "duplicates"),
    ),
    "twilio": Kind(
        "twilio",
        2,
        "+33757000011",
        ("twilio-sim", "--number", "+33757000011", "--no-callbacks"),
        re.compile(
            r"listening on (?P<url>https://\S+) \(account (?P<sid>AC[0-9a-f]{32}), "
            r"CA: (?P<ca>.+)\)\s*$"
        ),
        201,
        ("requests", "accepted", "rejected", "unauthorized"),
    ),
}


# --- the simulator (child process) --------------------------------------------------------------


class SimulatorProcess:
    """``bannertui provider-sim|twilio-sim --port 0`` in a child process; reads back its URL,
    CA (and account)."""

    def __init__(self, kind: Kind, root: Path) -> None:
        self.kind = kind
        self.token = secrets.token_hex(16) if kind.name == "twilio" else ""
        env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
        env.update(
            BANNERTUI_DATA_DIR=str(root / "sim-data"),
            BANNERTUI_CONFIG=str(root / "no-such-dir" / "config.toml"),
        )
        if self.token:
            env["BANNERTUI_SIM_PASSWORD"] = self.token
        self.err = (root / "simulator.err").open("w+b")
        self.proc = subprocess.Popen(
            [str(BIN), *kind.command, "--port", "0", "--cert-dir", str(root / "certs")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.err,
            env=env,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the simulator prints it as soon as it listens
        match = kind.line.search(line)
        if match is None:
            self.stop()
            self.err.seek(0)
            raise RuntimeError(
                f"the simulator did not start: {line!r} {self.err.read().decode(errors='replace')}"
            )
        self.url = match["url"]
        self.ca = Path(match["ca"])
        self.sid = match["sid"] if kind.name == "twilio" else ""
        self.base = self.url.rsplit("/v1/", 1)[0] if kind.name == "https-json" else self.url
        self.auth = (self.sid, self.token) if self.token else None

    def _get(self, path: str, **params: int) -> Any:
        response = httpx.get(
            self.base + path,
            params=params,
            auth=self.auth,
            verify=ssl_context(self.ca),
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, int]:
        data = self._get("/v1/stats")
        assert isinstance(data, dict)
        return data

    def sent(self, after: int, n: int) -> list[dict[str, Any]]:
        """The accepted sends after the first ``after``, ``n`` of them (Twilio's records)."""
        items: list[dict[str, Any]] = []
        while len(items) < n:
            page = self._get("/v1/sent", after=after + len(items), limit=SENT_PAGE)["items"]
            if not page:
                break
            items.extend(page)
        return items[:n]

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
            self.proc.stdout.close()
        self.err.close()


# --- the outbox -----------------------------------------------------------------------------------


async def fill(db: Database, sender: str, n: int, start: int) -> list[Message]:
    """Queue ``n`` pending messages from ``sender`` (so through its connector), ``BATCH`` per
    write transaction (not timed)."""
    messages: list[Message] = []
    for first in range(start, start + n, BATCH):
        now = datetime.now(UTC)
        async with db.write() as session:
            for i in range(first, min(first + BATCH, start + n)):
                draft = OutboundDraft(
                    to_number=f"+33612{i % DESTINATIONS:06d}",
                    from_number=sender,
                    text=message_text(i),
                    sender=sender,
                    agent_id=1,
                )
                messages.append(await enqueue(session, draft, now))
    return messages


async def sent_rows(db: Database, ids: list[int]) -> list[tuple[int, str | None]]:
    """(id, provider message id) of the messages among ``ids`` that are ``sent``."""
    async with db.read() as session:
        rows = await session.execute(
            sa.select(col(Message.id), col(Message.provider_message_id)).where(
                col(Message.id).between(min(ids), max(ids)),
                col(Message.status) == MessageStatus.SENT,
            )
        )
        return [(int(i or 0), p) for i, p in rows.all()]


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

    @property
    def ms_per_msg(self) -> float:
        return self.seconds / self.n * 1e3

    def per_msg(self, seconds: float) -> float:
        return seconds / self.n * 1e6


Requests = list[tuple[str, dict[str, Any]]]  # (URL, the keywords of client.post)


@dataclass
class Bench:
    kind: Kind
    sim: SimulatorProcess
    db: Database
    services: Services
    secrets_dir: Path
    concurrency: int
    config: ProviderConfig | TwilioConfig | None = None

    async def point_connector(self) -> None:
        """The demo's connector of this type at the simulator; its adapter's configuration."""
        if self.kind.name == "https-json":
            await self.services.provider.update(
                actor="system",
                url=self.sim.url,
                auth_enabled=False,
                login=None,
                ca_file=str(self.sim.ca),
            )
        else:
            await self.services.connectors.edit(
                "system",
                self.kind.connector_id,
                settings={
                    "account_sid": self.sim.sid,
                    "api_base": self.sim.url,
                    "ca_file": str(self.sim.ca),
                },
                secret=self.sim.token,
            )
        records = await self.services.connectors.records_for_services()
        rec = next(r for r in records if r.id == self.kind.connector_id)
        assert rec.configured, rec
        assert rec.enabled, rec
        secret = rec.secrets(self.secrets_dir).get()
        self.config = connector_config(rec.type, rec.id, rec.settings, secret)
        assert isinstance(self.config, TwilioConfig) == (self.kind.name == "twilio")

    def requests(self, messages: list[Message]) -> Requests:
        """What the adapter posts for these messages (https-json: with fresh retIds, so that
        the simulator records them too)."""
        config = self.config
        if isinstance(config, TwilioConfig):
            url = f"{config.api_base.rstrip('/')}/{API_VERSION}/Accounts/{config.account_sid}"
            url += "/Messages.json"
            return [  # TwilioProvider.form without a StatusCallback (no public_url)
                (url, {"data": {"To": m.to_number, "Body": m.text, "From": m.sender or ""}})
                for m in messages
            ]
        assert config is not None
        return [
            (
                config.url,
                {
                    "json": SendPayload(
                        type=m.type,
                        sender=m.sender,
                        to=m.to_number,
                        ret_id=uuid.uuid4().hex,
                        is_unicode=m.encoding == Encoding.UCS2,
                        text=m.text,
                        credits=m.credits,
                    ).as_json()
                },
            )
            for m in messages
        ]

    def bare_client(self) -> httpx.AsyncClient:
        """As the adapter builds its client."""
        config = self.config
        assert config is not None
        if isinstance(config, TwilioConfig):
            auth: httpx.Auth | None = httpx.BasicAuth(config.username, config.secret)
        elif config.login is not None:
            auth = httpx.BasicAuth(config.login, config.password or "")
        else:
            auth = None
        return httpx.AsyncClient(
            verify=ssl_context(config.ca_file),
            auth=auth,
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            ),
            headers={"User-Agent": "bannertui", "Accept": "application/json"},
            follow_redirects=False,
        )

    async def timed(
        self,
        label: str,
        n: int,
        go: Callable[[], Awaitable[str]],
        check: Callable[[dict[str, int], dict[str, int]], Awaitable[tuple[bool, str]]],
    ) -> Run:
        """Time ``go()``, then check the simulator's counters moved by exactly ``n`` accepted
        sends (no duplicate, refusal or other request) and run ``check(before, after)``."""
        before = await asyncio.to_thread(self.sim.stats)
        server, cpu, start = self.sim.cpu_seconds(), time.process_time(), time.perf_counter()
        detail = await go()
        seconds = time.perf_counter() - start
        client_cpu, server_cpu = time.process_time() - cpu, self.sim.cpu_seconds() - server
        after = await asyncio.to_thread(self.sim.stats)
        delta = {k: after[k] - before[k] for k in self.kind.expected}
        want = {k: n if k in ("requests", "accepted") else 0 for k in self.kind.expected}
        ok, more = await check(before, after)
        ok = ok and delta == want
        moved = ", ".join(f"+{v:,} {k}" for k, v in delta.items() if k != "requests")
        detail += f"; /v1/stats {moved}{more}"
        return Run(label, n, seconds, client_cpu, server_cpu, detail, ok)

    async def bare(self, messages: list[Message]) -> Run:
        """The same requests through one plain httpx client, 32 tasks."""
        requests = self.requests(messages)
        statuses: dict[int, int] = {}
        client = self.bare_client()

        async def go() -> str:
            async with client:
                queue = iter(requests)

                async def worker() -> None:
                    for url, body in queue:  # a shared iterator: each request is taken once
                        response = await client.post(url, **body)
                        code = response.status_code
                        statuses[code] = statuses.get(code, 0) + 1

                await asyncio.gather(*(worker() for _ in range(self.concurrency)))
            return "HTTP " + ",".join(f"{k}×{v:,}" for k, v in sorted(statuses.items()))

        async def check(before: dict[str, int], after: dict[str, int]) -> tuple[bool, str]:
            return statuses == {self.kind.accepted_status: len(requests)}, ""

        return await self.timed("bare httpx", len(requests), go, check)

    async def dispatcher(
        self, messages: list[Message], profile: cProfile.Profile | None = None
    ) -> Run:
        """The pending messages through the real Dispatcher and ConnectorGateways."""
        ids = [m.id or 0 for m in messages]
        gateways = ConnectorGateways(
            self.services.connectors.records_for_services, secrets_dir=self.secrets_dir
        )
        await gateways.refresh()  # as `bannertui dispatch` does before it starts
        dispatcher = Dispatcher(self.db, gateways, DispatchPolicy(concurrency=self.concurrency))
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
                await gateways.aclose()
            return (
                f"claimed {stats.claimed:,}, sent {stats.sent:,}, retried {stats.retried}, "
                f"failed {stats.failed}"
            )

        async def check(before: dict[str, int], after: dict[str, int]) -> tuple[bool, str]:
            rows = await sent_rows(self.db, ids)
            ok = len(rows) == len(ids) == stats.sent
            more = f"; DB: {len(rows):,} of {len(ids):,} sent"
            if self.kind.name == "twilio":
                new = await asyncio.to_thread(
                    self.sim.sent, before["accepted"], after["accepted"] - before["accepted"]
                )
                sids = {item["sid"] for item in new}
                pairs = {(item["to"], item["body"]) for item in new}
                recorded = {pid for _, pid in rows}
                same = recorded == sids and len(sids) == len(pairs) == len(ids)
                ok = ok and same
                more += f", SIDs {'=' if same else '≠'} the simulator's new sends"
            return ok, more

        return await self.timed("dispatcher", len(ids), go, check)


# --- one type -------------------------------------------------------------------------------------


@dataclass
class TypeResult:
    kind: Kind
    runs: list[Run]
    profile_text: str = ""

    def best(self, label: str) -> Run:
        return max((r for r in self.runs if r.label == label), key=lambda r: r.rate)

    @property
    def ratio(self) -> float:
        return self.best("dispatcher").rate / self.best("bare httpx").rate

    @property
    def verified(self) -> bool:
        return all(r.ok for r in self.runs)

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio >= TARGET and self.verified else "FAIL"


async def bench_type(kind: Kind, args: argparse.Namespace, root: Path) -> TypeResult:
    progress(f"{kind.name}: starting `bannertui {kind.command[0]}` and a demo database")
    sim = SimulatorProcess(kind, root)
    try:
        db = Database(prepare_demo_database(root))
        secrets_dir = root / "secrets"
        secrets_dir.mkdir(mode=0o700)
        try:
            async with db.write() as session:
                await session.execute(sa.update(Account).values(credits=100_000_000))
            services = Services(db, secrets_dir=secrets_dir)
            b = Bench(kind, sim, db, services, secrets_dir, args.concurrency)
            await b.point_connector()
            index = 0

            async def outbox(n: int) -> list[Message]:
                nonlocal index
                index += n
                return await fill(db, kind.sender, n, index - n)

            progress(f"{kind.name}: warm-up, {WARMUP:,} messages through each path")
            warm = await outbox(WARMUP)
            for run in (await b.bare(warm), await b.dispatcher(warm)):
                if not run.ok:
                    raise RuntimeError(f"{kind.name} warm-up {run.label}: {run.detail}")
            runs: list[Run] = []
            for r in range(args.rounds):
                messages = await outbox(args.messages)  # pending until the dispatcher's turn
                for path in (b.bare, b.dispatcher):
                    runs.append(await path(messages))
                    progress(
                        f"{kind.name}: round {r + 1} {runs[-1].label}: {runs[-1].rate:,.0f} msgs/s"
                    )
            profile_text = ""
            if args.profile:
                prof = cProfile.Profile()
                run = await b.dispatcher(await outbox(args.messages), profile=prof)
                out = io.StringIO()
                stats = pstats.Stats(prof, stream=out).strip_dirs()
                stats.sort_stats("tottime").print_stats(25)
                stats.sort_stats("cumulative").print_stats(40)
                profile_text = (
                    f"cProfile of one more {kind.name} dispatcher run ({run.rate:.0f} msgs/s "
                    f"under the profiler; {'OK' if run.ok else 'MISMATCH'}):\n{out.getvalue()}"
                )
            return TypeResult(kind, runs, profile_text)
        finally:
            await db.dispose()
    finally:
        sim.stop()


# --- the report -----------------------------------------------------------------------------------


def report_type(args: argparse.Namespace, result: TypeResult) -> None:
    kind = result.kind
    print(
        f"{kind.name}: {args.messages:,} messages from {kind.sender} (connector "
        f"{kind.connector_id}), concurrency {args.concurrency}, loopback HTTPS to "
        f"`bannertui {' '.join(kind.command)}` in a child process, callbacks off"
    )
    header = (
        f"{'round':>5} {'path':<11} {'msgs/s':>7} {'ms/msg':>7} {'wall s':>7} "
        f"{'cli CPU µs/msg':>14} {'sim CPU s':>9} {'sim CPU µs/msg':>14}  checks"
    )
    print(header)
    print("-" * len(header))
    for i, run in enumerate(result.runs):
        print(
            f"{i // 2 + 1:>5} {run.label:<11} {run.rate:>7.0f} {run.ms_per_msg:>7.3f} "
            f"{run.seconds:>7.2f} {run.per_msg(run.client_cpu):>14.0f} {run.server_cpu:>9.2f} "
            f"{run.per_msg(run.server_cpu):>14.0f}  {'OK' if run.ok else 'MISMATCH'}: {run.detail}"
        )
    bare, disp = result.best("bare httpx"), result.best("dispatcher")
    print(
        f"best: bare httpx {bare.rate:,.0f} msgs/s ({bare.ms_per_msg:.3f} ms/msg, sim CPU "
        f"{bare.server_cpu:.2f} s), dispatcher {disp.rate:,.0f} msgs/s ({disp.ms_per_msg:.3f} "
        f"ms/msg, sim CPU {disp.server_cpu:.2f} s)"
    )
    print(
        f"ratio: throughput dispatcher / bare = {result.ratio:.2f}×; client CPU/msg "
        f"dispatcher / bare = {disp.client_cpu / bare.client_cpu:.2f}× "
        f"(+{disp.per_msg(disp.client_cpu) - bare.per_msg(bare.client_cpu):.0f} µs)"
    )
    print(
        f"verify: every run's sends accepted once, every dispatched message sent: "
        f"{'OK' if result.verified else 'MISMATCH'}"
    )
    print(f"target: dispatcher >= {TARGET:.1f}× bare throughput: {result.verdict}")
    print()


def report(args: argparse.Namespace, results: list[TypeResult]) -> None:
    print(
        f"connectors: {args.messages:,} messages per type, {args.rounds} rounds, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, httpx {httpx.__version__}, "
        "SQLite (WAL)"
    )
    print()
    for result in results:
        report_type(args, result)
    summary: list[tuple[str, str, str, str]] = []
    for result in results:
        name = result.kind.name
        bare, disp = result.best("bare httpx"), result.best("dispatcher")
        summary += [
            (f"{name} bare httpx msgs/s", f"{bare.rate:,.0f}", "", ""),
            (f"{name} dispatcher msgs/s", f"{disp.rate:,.0f}", "", ""),
            (f"{name} dispatcher ms/msg", f"{disp.ms_per_msg:.3f}", "", ""),
            (f"{name} sim CPU s (dispatcher)", f"{disp.server_cpu:.2f}", "", ""),
            (f"{name} dispatcher / bare", f"{result.ratio:.2f}×", f">= {TARGET}×", result.verdict),
            (
                f"{name} checks",
                "OK" if result.verified else "MISMATCH",
                "OK",
                "PASS" if result.verified else "FAIL",
            ),
        ]
    print_summary(summary)
    for result in results:
        if result.profile_text:
            print()
            print(result.profile_text)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument(
        "--types", default=",".join(TYPES), help="comma-separated: " + ",".join(TYPES)
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one dispatcher run per type"
    )
    args = parser.parse_args()
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    unknown = [t for t in types if t not in KINDS]
    if unknown or not types or args.messages < 1 or args.rounds < 1 or args.concurrency < 1:
        parser.error(
            f"--types: one or more of {', '.join(TYPES)}; --messages, --rounds, "
            f"--concurrency: at least 1 (unknown: {', '.join(unknown) or 'none'})"
        )
    with tempfile.TemporaryDirectory(prefix="bannertui-bench-") as tmp:
        root = Path(tmp)
        # Nothing of the caller's: no secret read from, nor written beside, its configuration.
        for name in [k for k in os.environ if k.startswith("BANNERTUI_")]:
            del os.environ[name]
        os.environ["BANNERTUI_DATA_DIR"] = str(root / "data")
        os.environ["BANNERTUI_CONFIG"] = str(root / "config" / "config.toml")
        results = []
        for name in types:  # one at a time
            directory = root / name
            directory.mkdir()
            results.append(asyncio.run(bench_type(KINDS[name], args, directory)))
        report(args, results)


if __name__ == "__main__":
    main()
