"""Headless agent consoles for the load harness (run by ``bench/load/run.py``, one process per
group of consoles).

Each console is what one agent's ``bannertui`` process does, without the screen: its own
``Services`` over its own ``Database`` (its own connection pool) and its own
``ChangeWatcher``, checked as the Banner does: at once when a notification arrives, or 0.25 s
after its last reload (``CHANGE_POLL_SECONDS``) if that was sooner, and every 1 s besides on
PostgreSQL (every 0.25 s on SQLite, which has no notifications).  When
the watcher says the database moved, the console reads its ``overview`` (agent, balance,
open interactions: the Banner's one read); for every interaction that has unread messages or
a newer last message it reads the thread (what the open pane shows), notes each inbound
message it sees for the first time ("on screen": the harness's inbound-to-screen latency),
marks it read, replies through ``OutboundService.send_smart`` and, after a few replies,
closes the interaction.

Usage (by the harness): ``python consoles.py [--own-roles] URL RESULTS_JSON LOGIN [LOGIN ...]``
(``--own-roles``: each console connects as its agent's database role); it runs
until SIGTERM, then writes its figures to RESULTS_JSON and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import signal
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bannertui.domain.actor import Actor
from bannertui.domain.enums import Direction
from bannertui.services import Services
from bannertui.services.changes import ChangeWatcher
from bannertui.store.database import Database
from bannertui.ui.screens.banner import CHANGE_POLL_SECONDS
from bannertui.ui.screens.base import PUSHED_TICK_SECONDS

#: The Banner's change check interval, and its tick on PostgreSQL, where notifications start
#: the checks: the screen's own constants, so the harness follows them when they change.
POLL_SECONDS = CHANGE_POLL_SECONDS
#: A console closes a conversation after this many replies (a new text opens another).
REPLIES_BEFORE_CLOSE = 3
SEQ = re.compile(r"^L(\d+) ")


@dataclass
class Console:
    login: str
    services: Services
    watcher: ChangeWatcher
    seen: dict[int, float] = field(default_factory=dict)  # harness seq → when first on screen
    last_message: dict[int, datetime | None] = field(default_factory=dict)
    shown: set[int] = field(default_factory=set)  # inbound message ids already on screen

    @property
    def actor(self) -> Actor:
        return Actor(self.login)

    replies: Counter[int] = field(default_factory=Counter)
    sent: list[tuple[int, str]] = field(default_factory=list)  # (seq replied to, retId)
    errors: Counter[str] = field(default_factory=Counter)
    listed: dict[int, str] = field(default_factory=dict)  # interaction → first listed (diagnostics)
    reloads: int = 0
    checks: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # a notification came
    changed_at: float = 0.0  # monotonic: the last check that found a change
    sent_since_reload: bool = False  # the Banner reloads after its own send (MessageSent)
    closed: int = 0

    async def step(self, rng: random.Random) -> None:
        self.checks += 1
        changed = await self.watcher.changed() or self.sent_since_reload
        self.sent_since_reload = False
        # "sent" / "delivered" alone: the Banner updates the open thread in place, no read.
        self.watcher.take_statuses()
        if not changed:
            return
        self.changed_at = time.monotonic()
        self.reloads += 1
        snap = await self.services.conversations.overview(self.actor)
        if snap.ctx.agent.id is not None:
            self.watcher.follow_agent(snap.ctx.agent.id)  # as the Banner does
        for item in snap.interactions:
            self.listed.setdefault(
                item.id, f"{time.time():.3f} unread {item.unread} last {item.last_message_at}"
            )
            if not item.unread and self.last_message.get(item.id) == item.last_message_at:
                continue
            self.last_message[item.id] = item.last_message_at
            page = await self.services.conversations.thread(self.actor, item.id, limit=20)
            now = time.time()
            # New to this screen wherever they are in the thread (not only below the last
            # one seen: a text's place is its id, taken when it was stored).
            fresh = [
                m
                for m in page.messages
                if m.direction == Direction.INBOUND and (m.id or 0) not in self.shown
            ]
            if not fresh:
                continue
            self.shown.update(m.id or 0 for m in fresh)
            for m in fresh:
                match = SEQ.match(m.text)
                if match:
                    self.seen.setdefault(int(match.group(1)), now)
            if item.unread:
                await self.services.conversations.mark_read(self.actor, item.id)
            last = SEQ.match(fresh[-1].text)
            seq = int(last.group(1)) if last else -1
            msg = await self.services.outbound.send_smart(
                self.actor, item.id, f"Re {seq}: thanks, noted {rng.randrange(10**6)}"
            )
            self.sent.append((seq, msg.ret_id or ""))
            # The Banner reloads after its own send (balance, list, the pane): a queued send
            # notifies nobody, so the reload is the console's own, at once.
            self.sent_since_reload = True
            self.wake.set()
            self.replies[item.id] += 1
            if self.replies[item.id] >= REPLIES_BEFORE_CLOSE:
                await self.services.conversations.close(self.actor, item.id)
                self.closed += 1
                # A text that arrived while closing was on the pane until it closed.
                page = await self.services.conversations.thread(self.actor, item.id, limit=20)
                now = time.time()
                for m in page.messages:
                    match = SEQ.match(m.text) if m.direction == Direction.INBOUND else None
                    if match:
                        self.seen.setdefault(int(match.group(1)), now)

    async def run(self, stop: asyncio.Event, seed: int) -> None:
        rng = random.Random(seed)
        self.watcher.on_change(self.wake.set)
        # Consoles do not all start in the same instant (nor check in step).
        await asyncio.sleep(rng.uniform(0, POLL_SECONDS))
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.step(rng)
            except Exception as exc:  # a database restart, a lost connection: go on
                self.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.5)
            # As the Banner (ui.screens.base.LiveScreen): the next tick, or at once on a
            # notification — but not sooner than POLL_SECONDS after the last reload.
            if self.sent_since_reload:
                continue  # the Banner's reload after its own send is not throttled
            tick = POLL_SECONDS if self.services.db.is_sqlite else PUSHED_TICK_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), tick)
                since = time.monotonic() - self.changed_at
                if since < POLL_SECONDS:
                    await asyncio.sleep(POLL_SECONDS - since)

    def figures(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "seen": self.seen,
            "sent": self.sent,
            "errors": dict(self.errors),
            "reloads": self.reloads,
            "checks": self.checks,
            "closed": self.closed,
            "listed": self.listed,
        }


async def main(url: str, out: str, logins: list[str], *, own_roles: bool = False) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    consoles = []
    for login in logins:
        # --own-roles: each console logged in as its agent's own database role (issue #17),
        # as a real console on PostgreSQL is; else all as the harness's (superuser) role.
        own = make_url(url).set(username=login).render_as_string(hide_password=False)
        db = Database(own if own_roles else url, pool_size=1, application_name="bannertui console")
        consoles.append(Console(login, Services(db), ChangeWatcher(db, POLL_SECONDS)))
    tasks = [asyncio.create_task(c.run(stop, seed=zlib.crc32(c.login.encode()))) for c in consoles]
    print("ready", flush=True)
    await stop.wait()
    await asyncio.gather(*tasks, return_exceptions=True)
    figures = json.dumps([c.figures() for c in consoles])
    await asyncio.to_thread(Path(out).write_text, figures, encoding="utf-8")
    for c in consoles:
        try:
            await c.watcher.close()
            await c.services.db.dispose()
        except Exception:
            pass


if __name__ == "__main__":
    argv = sys.argv[1:]
    own_roles = bool(argv) and argv[0] == "--own-roles"
    if own_roles:
        argv = argv[1:]
    asyncio.run(main(argv[0], argv[1], argv[2:], own_roles=own_roles))
