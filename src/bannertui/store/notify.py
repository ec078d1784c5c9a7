"""PostgreSQL notifications of the store's writes: which channels a write notifies at commit
(its agents' topics, or everyone), the statuses it moved in place, and the batching sender
of a process that writes much (the webhook receiver).  SQLite has none: its screens poll."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

log = logging.getLogger(__name__)

#: PostgreSQL channels.  Every write transaction notifies CHANGES_CHANNEL at commit (the
#: screens that follow everything listen there: inbox, supervisor); a write that says whom it
#: concerns (:func:`concerns`) also notifies each topic's channel, and one that does not says
#: so on EVERYONE_CHANNEL.  A Banner listens to its agent's channel and EVERYONE_CHANNEL only,
#: so an inbound SMS for one agent wakes one console, not two hundred (a notification on a
#: channel nobody of that connection listens to never reaches its client).
CHANGES_CHANNEL = "bannertui_changes"
EVERYONE_CHANNEL = "bannertui_everyone"
NOTIFY = sa.text(
    "SELECT pg_notify(c, p)"
    " FROM unnest(CAST(:channels AS text[]), CAST(:payloads AS text[])) AS t(c, p)"
)
_TOPICS = "bannertui_topics"
_STATUSES = "bannertui_statuses"
#: The payload of a notification that only moves messages' statuses: ``s:ID=STATUS,…``.
STATUS_PAYLOAD = "s:"
#: PostgreSQL refuses payloads of 8,000 bytes or more: longer ones become plain changes.
_MAX_PAYLOAD = 7_000


def agent_topic(agent_id: int) -> str:
    """The topic of one agent's Banner: their interactions, messages and conversations."""
    return f"agent_{agent_id}"


def topic_channel(topic: str) -> str:
    return f"bannertui_{topic}"


def concerns(session: AsyncSession, *topics: str) -> None:
    """Say whom this write transaction concerns (the PostgreSQL channels it notifies).

    A write that never calls it notifies EVERYONE_CHANNEL, so every console reloads: the safe
    default.  Calling it, even with no topic, narrows that to the topics named (the screens
    that follow everything still hear of it).  The hot paths — inbound SMS, receipts, the
    dispatcher, an agent's own sends — name their agents.
    """
    session.info.setdefault(_TOPICS, set()).update(topics)


def status_moved(session: AsyncSession, topic: str, message_id: int, status: str) -> None:
    """This write moved message ``message_id``, shown by ``topic``'s screens, to ``status``
    (sent, delivered), and changed nothing else those screens show.  The notification on the
    topic's channel then carries the new statuses, and a Banner updates the messages it shows
    without reading anything again (a text's "sent" and "delivered" were two of every
    console's three reloads under bench/load).  A topic also named by :func:`concerns` gets a
    plain notification (a reload); the screens that follow everything always do."""
    session.info.setdefault(_TOPICS, set())
    session.info.setdefault(_STATUSES, {}).setdefault(topic, {})[message_id] = status


def parse_statuses(payload: str) -> dict[int, str] | None:
    """The statuses a notification's payload carries (see :func:`status_moved`); None when it
    carries none (a plain change), or anything unexpected."""
    if not payload.startswith(STATUS_PAYLOAD):
        return None
    moved: dict[int, str] = {}
    for item in payload[len(STATUS_PAYLOAD) :].split(","):
        mid, sep, status = item.partition("=")
        if not sep or not mid.isdigit() or not status.isalpha():
            return None
        moved[int(mid)] = status
    return moved or None


_UNNOTICED = "bannertui_unnoticed"


def unnoticed(session: AsyncSession) -> None:
    """This write changes nothing a screen must show at once: it notifies nobody.

    For frequent writes only, where a NOTIFY costs the most: PostgreSQL wakes every listening
    connection of the database for each one, whatever its channel (200 consoles: 200 wake-ups
    a NOTIFY, a sixth of the server's CPU under bench/load).  A console marking its own
    messages read knows it already.  A message queued to be sent now, and a dispatcher
    claiming it ("sending"), are followed within a moment (the dispatcher's poll, the
    provider's answer) by its outcome, which notifies the same screens: the sender's own
    screen shows its message itself, the others learn of it with its status."""
    session.info[_UNNOTICED] = True


def notifications_of(session: AsyncSession) -> list[tuple[str, str]]:
    """(channel, payload) of each NOTIFY this write transaction sends at commit."""
    topics: set[str] | None = session.info.pop(_TOPICS, None)
    statuses: dict[str, dict[int, str]] = session.info.pop(_STATUSES, {})
    if session.info.pop(_UNNOTICED, False):
        return []
    if topics is None:
        return [(CHANGES_CHANNEL, ""), (EVERYONE_CHANNEL, "")]
    out = [(CHANGES_CHANNEL, "")]
    for topic in sorted(topics | statuses.keys()):
        moved = statuses.get(topic) if topic not in topics else None
        payload = (
            STATUS_PAYLOAD + ",".join(f"{mid}={status}" for mid, status in sorted(moved.items()))
            if moved
            else ""
        )
        out.append((topic_channel(topic), payload if len(payload) < _MAX_PAYLOAD else ""))
    return out


def notify_params(notifications: list[tuple[str, str]]) -> dict[str, list[str]]:
    """``NOTIFY``'s parameters for these (channel, payload) pairs."""
    return {"channels": [c for c, _ in notifications], "payloads": [p for _, p in notifications]}


class NotificationsLost(Exception):
    """A write committed, but its notifications could not be sent (``notify_every``)."""


class Notifier:
    """Sends the notifications of a process's committed writes together: at most one
    statement (one NOTIFY commit) every ``every`` seconds.  PostgreSQL wakes every listening
    connection of the database for each committed NOTIFY, whatever its channels (200
    consoles: 200 wake-ups), so a webhook receiver taking 50 texts and 50 receipts a second
    sends a few NOTIFYs a second instead of a hundred.  A write waits for its notifications
    to be sent before it returns (a receiver answers the provider after that): one that is
    never answered is retried by the provider and notified again.  When they cannot be sent
    (twice), the write raises :class:`NotificationsLost` after its commit, for the same
    reason."""

    def __init__(self, engine: AsyncEngine, every: float) -> None:
        self.engine = engine  # AUTOCOMMIT: the statement commits by itself
        self.every = every
        self._pending: dict[tuple[str, str], None] = {}  # in order, each once
        self._waiters: list[asyncio.Future[None]] = []
        self._task: asyncio.Task[None] | None = None

    async def send(self, notifications: list[tuple[str, str]]) -> None:
        loop = asyncio.get_running_loop()
        self._pending.update(dict.fromkeys(notifications))
        sent: asyncio.Future[None] = loop.create_future()
        self._waiters.append(sent)
        if self._task is None:
            self._task = loop.create_task(self._run())
        await asyncio.shield(sent)  # a caller cancelled meanwhile: they are sent all the same

    async def drain(self) -> None:
        """Wait until what is pending is sent."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(self.every)
                batch, waiters = list(self._pending), self._waiters
                self._pending, self._waiters = {}, []
                params = notify_params(batch)
                error: Exception | None = None
                for _attempt in range(2):  # a connection lost unnoticed: once more, anew
                    try:
                        async with self.engine.connect() as conn:
                            await conn.execute(NOTIFY, params)
                        error = None
                        break
                    except Exception as exc:
                        error = exc
                if error is not None:
                    log.warning("%d notifications not sent: %s", len(batch), error)
                for waiter in waiters:
                    if waiter.done():
                        continue
                    if error is None:
                        waiter.set_result(None)
                    else:
                        # Committed, but nobody told: the write fails, so that whoever asked
                        # for it asks again (a provider retries; a text or receipt sent again
                        # is notified again) rather than hear it went through unseen.
                        waiter.set_exception(
                            NotificationsLost(f"committed, but its screens were not told: {error}")
                        )
        finally:
            self._task = None
