"""Sending through several connectors (issue #20): each message through the adapter of its
own connector.

:class:`ConnectorGateways` is the one :class:`~bannertui.services.gateway.SmsProvider` the
dispatcher holds.  It reads the connectors (settings and secrets) when it starts and again
every ``refresh_seconds``, or at once for a connector it does not know: an administrator's
change reaches a running dispatcher within seconds, without a restart.  An adapter whose
settings or secret changed is replaced (the old one is closed when the gateway is, so that
its sends in flight finish).  A message for a connector that cannot send (removed, not
configured, no secret) is *held*: not an attempt, it waits with the cause as its error, is
looked at again every minute, and goes once an administrator fixes the connector.

Adapters that hold a session of their own (SMPP, issue #21) are given the ``inbound`` port
(receipts and mobile-originated texts arrive on their session) and started as soon as they
are made: :meth:`ConnectorGateways.start` reads the connectors every ``refresh_seconds``
even when nothing is sent, so a new SMPP connector binds within seconds, and one that was
changed or removed is unbound (after its sends in flight had time to finish).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bannertui.domain.errors import BannerError
from bannertui.services.connectors import ConnectorRecord
from bannertui.services.gateway import (
    CheckableProvider,
    GatewayFactory,
    InboundPort,
    OutcomeKind,
    SendOutcome,
    SendPayload,
    connector_config,
)
from bannertui.store.secrets import SecretError

log = logging.getLogger(__name__)

#: How long a message for a connector that cannot send waits before its next try.
NOT_READY_RETRY_S = 60.0
#: A replaced adapter holding a session (SMPP) is closed this long after: its sends in
#: flight finish first.
RETIRE_AFTER_S = 30.0


@dataclass
class _Entry:
    key: str
    adapter: CheckableProvider | None
    error: str | None = None


class ConnectorGateways:
    def __init__(
        self,
        load: Callable[[], Awaitable[list[ConnectorRecord]]],
        factory: GatewayFactory | None = None,
        *,
        secrets_dir: Path | None = None,
        refresh_seconds: float = 5.0,
        inbound: InboundPort | None = None,
    ) -> None:
        if factory is None:
            from bannertui.gateway import http_gateway

            factory = http_gateway
        self._load = load
        self._factory = factory
        self._secrets_dir = secrets_dir
        self._refresh = refresh_seconds
        self._entries: dict[int, _Entry] = {}
        self._records: list[ConnectorRecord] = []
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()
        self._retired: list[CheckableProvider] = []
        self._inbound = inbound
        self._refresher: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Read the connectors now and every ``refresh_seconds`` until :meth:`aclose`: the
        sessions of SMPP connectors are opened (and kept) without waiting for a send."""
        await self.refresh()
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_forever(), name="connectors")

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            try:
                await self.refresh()
            except Exception as exc:  # the database away: the adapters go on as they are
                log.warning("reading the connectors failed: %s", exc)

    async def refresh(self) -> None:
        """Read the connectors again now."""
        async with self._lock:
            await self._reload()

    async def _reload(self) -> None:
        records = await self._load()
        self._loaded_at = asyncio.get_running_loop().time()
        self._records = records
        seen = set()
        for rec in records:
            seen.add(rec.id)
            try:
                secret = rec.secrets(self._secrets_dir).get()
                key_secret = (
                    rec.key_secrets(self._secrets_dir).get()
                    if rec.settings.get("api_key_sid")
                    else None
                )
            except SecretError as exc:
                self._set(rec.id, f"{rec.name}: {exc}", None, str(exc))
                continue
            key = json.dumps(
                [rec.type, dict(rec.settings), secret, key_secret, rec.enabled], default=str
            )
            current = self._entries.get(rec.id)
            if current is not None and current.key == key:
                continue
            if not rec.enabled:
                self._set(rec.id, key, None, f"the connector {rec.name} is disabled")
                continue
            if not rec.configured:
                self._set(rec.id, key, None, f"the connector {rec.name} is not configured")
                continue
            try:
                config = connector_config(rec.type, rec.id, rec.settings, secret, key_secret)
                adapter = self._factory(config)
            except (BannerError, ValueError) as exc:
                message = exc.message if isinstance(exc, BannerError) else str(exc)
                self._set(rec.id, key, None, f"{rec.name}: {message}")
                continue
            self._set(rec.id, key, adapter, None)
            await self._open(adapter)
        for gone in set(self._entries) - seen:
            self._set(gone, "", None, f"connector {gone} no longer exists")

    async def _open(self, adapter: CheckableProvider) -> None:
        """An adapter with a session of its own: give it the inbound port and open it."""
        attach = getattr(adapter, "attach_inbound", None)
        start = getattr(adapter, "start", None)
        if attach is not None and self._inbound is not None:
            attach(self._inbound)
        if start is not None and self._inbound is not None:
            await start()

    def _set(
        self, cid: int, key: str, adapter: CheckableProvider | None, error: str | None
    ) -> None:
        old = self._entries.get(cid)
        if old is not None and old.adapter is not None:
            if hasattr(old.adapter, "start"):  # a session: unbound once its sends finished
                task = asyncio.create_task(self._retire(old.adapter))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            else:
                self._retired.append(old.adapter)
        self._entries[cid] = _Entry(key, adapter, error)
        if error:
            log.info("connector %s cannot send: %s", cid, error)

    def _stale(self) -> bool:
        if self._loaded_at is None:
            return True
        return asyncio.get_running_loop().time() - self._loaded_at >= self._refresh

    def _default(self) -> int | None:
        for rec in self._records:
            if rec.configured and rec.enabled:
                return rec.id
        return None

    async def _entry(self, connector_id: int | None) -> _Entry:
        if self._stale() or (connector_id is not None and connector_id not in self._entries):
            async with self._lock:
                if self._stale() or (
                    connector_id is not None and connector_id not in self._entries
                ):
                    await self._reload()
        cid = connector_id if connector_id is not None else self._default()
        if cid is None:
            return _Entry("", None, "no connector is configured")
        return self._entries.get(cid) or _Entry("", None, f"connector {cid} does not exist")

    async def send(self, payload: SendPayload) -> SendOutcome:
        entry = await self._entry(payload.connector_id)
        if entry.adapter is None:
            return SendOutcome(
                OutcomeKind.TRANSIENT,
                f"No SMS provider configured: {entry.error}",
                retry_after=NOT_READY_RETRY_S,
                held=True,
            )
        return await entry.adapter.send(payload)

    async def _retire(self, adapter: CheckableProvider) -> None:
        try:
            await asyncio.sleep(RETIRE_AFTER_S)
        finally:
            try:
                await adapter.aclose()
            except Exception:
                log.exception("closing a replaced adapter failed")

    async def aclose(self) -> None:
        refresher, self._refresher = self._refresher, None
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(BaseException):
                await refresher
        for task in list(self._closing):
            task.cancel()  # closes its adapter at once
        if self._closing:
            await asyncio.wait(set(self._closing))
        adapters = [e.adapter for e in self._entries.values() if e.adapter is not None]
        self._entries.clear()
        for adapter in [*adapters, *self._retired]:
            try:
                await adapter.aclose()
            except Exception:  # closing one must not keep the others open
                log.exception("closing an adapter failed")
        self._retired.clear()
