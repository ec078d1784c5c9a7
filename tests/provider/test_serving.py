"""LoopbackServer (provider.serving): what the webhook receiver and the simulator serve with."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bannertui.web.serving import KEEP_ALIVE_S, LoopbackServer

REQUEST = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def _ping(_: Request) -> PlainTextResponse:
    return PlainTextResponse("pong")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One request on an open connection; the response's head and body ("" once closed)."""
    writer.write(REQUEST)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await asyncio.wait_for(reader.readexactly(length), 5)


@pytest.mark.slow
async def test_an_idle_keep_alive_connection_outlives_a_clients_5_s_expiry() -> None:
    """httpx (and so a provider written with it) drops an idle connection after 5 s, which was
    uvicorn's own default: a post sent as the server closed its side got a reset.  The server
    now keeps it longer, so a connection idle for 6 s still answers."""
    assert KEEP_ALIVE_S > 5
    app = Starlette(routes=[Route("/ping", _ping)])
    async with LoopbackServer(app) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            first = await _exchange(reader, writer)
            assert first.startswith(b"HTTP/1.1 200")
            assert first.endswith(b"pong")
            await asyncio.sleep(6)
            again = await _exchange(reader, writer)  # the same connection
            assert again.startswith(b"HTTP/1.1 200")
            assert again.endswith(b"pong")
        finally:
            writer.close()
            await writer.wait_closed()
