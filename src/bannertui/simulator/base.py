"""What the simulators share: serving on loopback HTTPS, and the client that posts their
webhooks (receipts, callbacks, mobile-originated texts) in background tasks."""

from __future__ import annotations

import asyncio
from typing import Self

import httpx

from bannertui.web.serving import LoopbackServer, TlsFiles


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
