"""How fast does the webhook receiver ingest inbound SMS?  Times it beside a bare endpoint.

10,000 signed inbound messages (unique ids, a few hundred senders, to the demo's Support and
Sales numbers and to numbers without a queue) are POSTed over loopback HTTP, 32 at a time,
with one ``httpx.AsyncClient``, to:

* ``webhook``: the real app (``WebhookServer``: auth, body cap, JSON checks, one SQLite write
  per message) on a fresh demo database;
* ``bare``: a Starlette endpoint served with the same uvicorn settings that reads the same
  body and headers and answers a similar JSON, checking and writing nothing.

Each server runs in a child process (one uvicorn worker, as ``bannertui webhook`` runs), so
the client's own work does not share its CPU.  Afterwards the database must hold exactly
10,000 new inbound rows.

Run: ``.venv/bin/python bench/bench_webhook.py [--messages N] [--concurrency C]``.
Prints figures, never fails (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import col
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bannertui.domain.enums import Direction
from bannertui.domain.signing import signed_headers
from bannertui.services import Services
from bannertui.store.database import Database
from bannertui.store.models import Interaction, Message
from bannertui.testing import prepare_demo_database
from bannertui.web.serving import LoopbackServer
from bannertui.web.webhook import WebhookServer

SECRET = b"bench-webhook-secret-0123456789abcdef"
MESSAGES = 10_000
CONCURRENCY = 32
SENDERS = 300
WARMUP = 200  # GET /healthz per server before timing (connections, imports, caches)
ID_PREFIX = "bench-"

SUPPORT, SALES = "+33757000010", "+33757000011"
NO_QUEUE = ("+33757000001", "+33757000002", "+33757000099")  # ours without a queue, unknown
_WORDS = (  # noqa: SIM905 (a sentence reads better than a list of words)
    "hello order parcel delivery tomorrow please call me back invoice refund thanks where is "
    "my appointment confirmed cancel change address code ticket urgent bonjour merci été"
).split()


# --- the payloads ---------------------------------------------------------------------------


def build_bodies(n: int, seed: int = 5) -> list[bytes]:
    rnd = random.Random(seed)
    senders = [f"+3361{2000000 + i * 37:07d}" for i in range(SENDERS)]
    bodies = []
    for i in range(n):
        roll = rnd.random()
        to = SUPPORT if roll < 0.45 else SALES if roll < 0.80 else rnd.choice(NO_QUEUE)
        text = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(3, 40)))
        if rnd.random() < 0.1:
            text += " 😀"
        payload: dict[str, object] = {
            "from": rnd.choice(senders),
            "to": to,
            "text": text,
            "id": f"{ID_PREFIX}{i:06d}",
        }
        if i % 2:
            payload["received_at"] = "2026-11-02T09:59:58Z"
        bodies.append(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    return bodies


# --- the servers (child processes) ------------------------------------------------------------


def bare_app() -> Starlette:
    """Reads the body like the receiver does, checks nothing, writes nothing."""

    async def inbound(request: Request) -> Response:
        await request.body()
        return JSONResponse({"status": "stored", "message_id": 0, "duplicate": False})

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/inbound", inbound, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


async def _serve(kind: str, url: str, conn: Connection) -> None:
    db = Database(url) if kind == "webhook" else None
    server = WebhookServer(Services(db), SECRET) if db is not None else LoopbackServer(bare_app())
    loop = asyncio.get_running_loop()
    try:
        async with server:
            conn.send(server.port)
            # "mark" starts the CPU count (after the warm-up); "stop" answers it and stops.
            mark = time.process_time()
            while await loop.run_in_executor(None, conn.recv) != "stop":
                mark = time.process_time()
            conn.send(time.process_time() - mark)
    finally:
        if db is not None:
            await db.dispose()


def serve_child(kind: str, url: str, conn: Connection) -> None:
    asyncio.run(_serve(kind, url, conn))


class Child:
    """One server in a child process: ``with Child(kind, url) as child: child.port``."""

    def __init__(self, kind: str, url: str) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=serve_child, args=(kind, url, child_conn), daemon=True)
        self.port = 0
        self.cpu_seconds = 0.0  # the server process's CPU time from mark() to exit

    def mark(self) -> None:
        self.conn.send("mark")

    def __enter__(self) -> Child:
        self.proc.start()
        if not self.conn.poll(60):
            raise RuntimeError("the server did not start within 60 s")
        self.port = int(self.conn.recv())
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        if self.conn.poll(30):
            self.cpu_seconds = float(self.conn.recv())
        self.proc.join(30)
        if self.proc.is_alive():
            self.proc.kill()


# --- the client -------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    duplicates: int = 0
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def per_msg(self, seconds: float) -> float:
        return seconds / len(self.latencies) * 1e6

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def client_for(port: int, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60)


async def drive(label: str, child: Child, bodies: list[bytes], concurrency: int) -> Run:
    run = Run(label)
    async with client_for(child.port, concurrency) as client:
        warm = [client.get("/healthz") for _ in range(WARMUP)]
        for resp in await asyncio.gather(*warm):
            resp.raise_for_status()
        queue = iter(bodies)

        async def worker() -> None:
            for body in queue:  # a shared iterator: each body is taken once
                start = time.perf_counter()
                resp = await client.post(
                    "/v1/inbound", content=body, headers=signed_headers(SECRET, body)
                )
                run.latencies.append(time.perf_counter() - start)
                run.statuses[resp.status_code] = run.statuses.get(resp.status_code, 0) + 1
                if resp.status_code == 200 and resp.json()["duplicate"]:
                    run.duplicates += 1

        child.mark()
        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.seconds = time.perf_counter() - start
        run.client_cpu = time.process_time() - cpu
    return run


# --- checks and report ------------------------------------------------------------------------


async def count_rows(url: str) -> tuple[int, int, int]:
    """(inbound rows from this bench, all inbound rows, interactions)."""
    db = Database(url)
    try:
        async with db.read() as session:
            ours = await session.scalar(
                sa.select(sa.func.count())
                .select_from(Message)
                .where(
                    col(Message.direction) == Direction.INBOUND,
                    col(Message.provider_message_id).like(f"{ID_PREFIX}%"),
                )
            )
            inbound = await session.scalar(
                sa.select(sa.func.count())
                .select_from(Message)
                .where(col(Message.direction) == Direction.INBOUND)
            )
            interactions = await session.scalar(sa.select(sa.func.count()).select_from(Interaction))
    finally:
        await db.dispose()
    return int(ours or 0), int(inbound or 0), int(interactions or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    n, conc = args.messages, args.concurrency

    with tempfile.TemporaryDirectory(prefix="bannertui-bench-") as tmp:
        url = prepare_demo_database(Path(tmp))
        _, inbound_before, interactions_before = asyncio.run(count_rows(url))
        bodies = build_bodies(n)
        size = statistics.mean(len(b) for b in bodies)

        with Child("bare", url) as child:
            bare = asyncio.run(drive("bare endpoint", child, bodies, conc))
        bare.server_cpu = child.cpu_seconds
        with Child("webhook", url) as child:
            real = asyncio.run(drive("webhook (SQLite)", child, bodies, conc))
        real.server_cpu = child.cpu_seconds

        ours, inbound_after, interactions_after = asyncio.run(count_rows(url))

    print(
        f"webhook ingest: {n:,} signed inbound POSTs, concurrency {conc}, mean body "
        f"{size:.0f} B, loopback HTTP, uvicorn {_uvicorn_http()} in a child process, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    header = (
        f"{'server':<18} {'msgs/s':>7} {'wall s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'srv CPU µs/msg':>14} {'cli CPU µs/msg':>14}  statuses"
    )
    print(header)
    print("-" * len(header))
    for run in (bare, real):
        statuses = ",".join(f"{k}×{v}" for k, v in sorted(run.statuses.items()))
        print(
            f"{run.label:<18} {run.rate:>7.0f} {run.seconds:>7.2f} {run.pct(0.50):>7.2f} "
            f"{run.pct(0.99):>7.2f} {max(run.latencies) * 1000:>7.1f} "
            f"{run.per_msg(run.server_cpu):>14.0f} {run.per_msg(run.client_cpu):>14.0f}  "
            f"{statuses}"
        )
    print()
    print("same-run ratios (webhook vs bare):")
    print(f"  throughput       bare / webhook = {bare.rate / real.rate:5.2f}×")
    print(f"  p50 latency      webhook / bare = {real.pct(0.50) / bare.pct(0.50):5.2f}×")
    print(f"  p99 latency      webhook / bare = {real.pct(0.99) / bare.pct(0.99):5.2f}×")
    print(
        f"  server CPU/msg   webhook / bare = {real.server_cpu / bare.server_cpu:5.2f}×  "
        f"(+{real.per_msg(real.server_cpu) - bare.per_msg(bare.server_cpu):.0f} µs: "
        "auth, JSON, checks, SQLite read + write)"
    )
    print()
    ok = ours == n and inbound_after - inbound_before == n and real.duplicates == 0
    print(
        f"verify: {ours:,} bench inbound rows (expected {n:,}); all inbound "
        f"{inbound_before:,} → {inbound_after:,}; interactions {interactions_before:,} → "
        f"{interactions_after:,}; duplicates answered {real.duplicates}: "
        f"{'OK' if ok else 'MISMATCH'}"
    )


def _uvicorn_http() -> str:
    try:
        import httptools  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


if __name__ == "__main__":
    main()
