"""What the simulators share: serving on loopback HTTPS, and the client that posts their
webhooks (receipts, callbacks, mobile-originated texts) in background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any, Self

import httpx

from bannertui.web.serving import LoopbackServer, TlsFiles


class WebhookError(RuntimeError):
    """A webhook post failed after every attempt."""


class LoopbackSimulator:
    """A simulator's lifecycle: ``async with Sim(config, tls) as sim: ...``.

    A subclass builds its app and ``self._server`` (after ``super().__init__``), keeps its
    background posts in ``self._tasks`` and makes its webhook client in
    :meth:`_webhook_client`."""

    def __init__(self, tls: TlsFiles) -> None:
        self.tls = tls
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._server: LoopbackServer

    def _webhook_client(self) -> httpx.AsyncClient:
        raise NotImplementedError

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        return self._server.base_url

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        self._client = self._webhook_client()
        try:
            await self._server.start()
        except BaseException:
            await self._client.aclose()
            self._client = None
            raise

    async def stop(self) -> None:
        """Stop serving (waking hung requests), cancel pending posts, close the client."""
        self._stopping.set()
        await self._server.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def wait(self) -> None:
        """Until the server stops."""
        await self._server.wait()

    async def drain(self) -> None:
        """Wait until the scheduled posts (receipts, callbacks, replies) have been made (or
        given up); bound it with ``asyncio.timeout``."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- posting webhooks ---

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background (cancelled by :meth:`stop`, awaited by drain)."""
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(
        self,
        url: str,
        raw: bytes,
        headers: Callable[[], Mapping[str, str]],
        *,
        attempts: int,
        backoff_s: float,
        slots: asyncio.Semaphore,
        shown: str | None = None,
    ) -> None:
        """POST ``raw`` to ``url``, retrying connection errors and 5xx with doubling backoff
        (``headers()`` afresh for each attempt: a signature may carry its time).  Raises
        :class:`WebhookError` naming ``shown`` (default ``url``) when every attempt failed or
        the receiver refused it (4xx).  On a simulator not started, a client of its own."""
        client = self._client
        own_client = client is None
        if client is None:  # simulate_inbound on a simulator that is not started
            client = self._webhook_client()
        delay = backoff_s
        problem = ""
        try:
            for attempt in range(1, attempts + 1):
                try:
                    async with slots:
                        response = await client.post(url, content=raw, headers=headers())
                except httpx.TransportError as exc:
                    problem = type(exc).__name__
                else:
                    if response.is_success:
                        return
                    problem = f"HTTP {response.status_code}"
                    if response.status_code < 500:
                        break  # the receiver refused it: retrying will not help
                if attempt < attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
        finally:
            if own_client:
                await client.aclose()
        raise WebhookError(f"POST {shown or url} failed: {problem}")


@contextlib.asynccontextmanager
async def stop_on_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by Ctrl+C or SIGTERM while inside (the handlers are installed from the
    main thread only, where the platform allows them, and removed on the way out)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    try:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, stop.set)
                except (NotImplementedError, RuntimeError, ValueError):  # e.g. Windows
                    continue
                installed.append(sig)
        yield stop
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
