"""Serving an ASGI app with uvicorn as a task of the running event loop (loopback by default).

Used by the provider simulator, the webhook receiver, the demo runtime, tests and benches: the
embedding program keeps signal handling, the terminal and the logging set-up.  A request the
HTTP parser itself refuses (a bad ``Content-Length``, ``Transfer-Encoding`` or request line)
is answered in JSON like every other error of our servers (:class:`JsonErrorHttpProtocol`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import sys
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
#: How long an idle keep-alive connection stays open (uvicorn's default is 5 s).  Longer than
#: the idle expiry of many HTTP clients (httpx: 5 s): when both sides time out together, a
#: client may send on a connection the server is closing and get a reset or an empty answer
#: (a provider then sends again).  75 s is nginx's default.
KEEP_ALIVE_S = 75


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The simulator's TLS material: clients trust ``ca``; the server uses ``cert`` + ``key``."""

    ca: Path  # ca.pem
    cert: Path  # server.pem: the server certificate then the CA (chain)
    key: Path  # server.key, mode 0600

    def client_context(self) -> ssl.SSLContext:
        """An SSL context trusting only the simulator's CA (for httpx ``verify=``)."""
        return ssl.create_default_context(cafile=str(self.ca))


#: The ``{"error": ...}`` texts of requests the HTTP parser refuses (docs/webhook.md).
BAD_CONTENT_LENGTH = "invalid Content-Length header"
BAD_TRANSFER_ENCODING = "invalid Transfer-Encoding header"
MALFORMED_REQUEST = "malformed HTTP request"


def parser_error_text(detail: str) -> str:
    """Our error text for the HTTP parser's own (llhttp's) reason."""
    lowered = detail.lower()
    if "transfer-encoding" in lowered:  # also "Content-Length can't be present with" it
        return BAD_TRANSFER_ENCODING
    if "content-length" in lowered:  # not a number, negative, repeated, too large
        return BAD_CONTENT_LENGTH
    return MALFORMED_REQUEST


class JsonErrorHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools), answering a request its parser refuses with
    ``400 {"error": "..."}`` in JSON and ``Connection: close``, instead of uvicorn's plain-text
    "Invalid HTTP request received.".

    uvicorn calls :meth:`send_400_response` from inside its ``except HttpParserError``: the
    parser's reason is that exception.  When an earlier request of the connection, read whole,
    is still being answered (pipelining), the 400 follows its response instead of cutting
    into it."""

    _deferred_error: str | None = None

    def send_400_response(self, msg: str) -> None:
        exc = sys.exc_info()[1]
        detail = str(exc) if exc is not None else msg
        error = parser_error_text(detail)
        logger.info("refused a malformed HTTP request from %s: %s", self.client, detail)
        cycle = self.cycle
        if cycle is None or (cycle.response_complete and not cycle.more_body):
            self._write_error(error)  # a new request is the malformed one
        elif not cycle.more_body:
            self._deferred_error = error  # after the answer in progress
            self.flow.pause_reading()
        elif not cycle.response_started:
            self._write_error(error)  # the body of the request in progress is malformed
        else:
            self.transport.close()  # its answer has begun: no second answer in the middle

    def on_response_complete(self) -> None:
        super().on_response_complete()
        error, cycle = self._deferred_error, self.cycle
        if error is not None and (cycle is None or cycle.response_complete):
            self._deferred_error = None
            if not self.transport.is_closing():
                self._write_error(error)

    def _write_error(self, error: str) -> None:
        body = json.dumps({"error": error}, separators=(",", ":")).encode()
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program embedding it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class LoopbackServer:
    """Serve an ASGI app with uvicorn as a task of the running event loop.

    ``port=0`` picks a free port; :attr:`port` reads it back once started.  With
    ``tls``, the server speaks HTTPS.  Reusable by tests that need a small HTTP server.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: TlsFiles | None = None,
        graceful_timeout_s: int = 2,
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.tls = tls
        self.graceful_timeout_s = graceful_timeout_s
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None

    @property
    def started(self) -> bool:
        return self._server is not None and self._server.started and not self.stopped

    @property
    def stopped(self) -> bool:
        return self._task is not None and self._task.done()

    @property
    def port(self) -> int:
        """The bound port (still known after the server stopped)."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def _bind(self) -> socket.socket:
        """Bind here rather than in uvicorn, so that a busy port raises OSError (uvicorn
        would call sys.exit)."""
        infos = socket.getaddrinfo(
            self.host, self.requested_port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, _, _, _, address = infos[0]
        sock = socket.create_server(address, family=family)
        # Accepted connections inherit it: without it, small responses wait ~40 ms for a
        # delayed ACK (asyncio does not set it on sockets handed to uvicorn this way).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    async def start(self) -> None:
        """Bind, start serving, and return once the server accepts connections."""
        if self._task is not None:
            raise RuntimeError("the server was already started")
        sock = self._bind()
        self._port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.requested_port,
            ssl_certfile=str(self.tls.cert) if self.tls else None,
            ssl_keyfile=str(self.tls.key) if self.tls else None,
            log_level="warning",
            log_config=None,  # leave logging to the host program (a TUI owns the terminal)
            access_log=False,
            http=JsonErrorHttpProtocol,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=self.graceful_timeout_s,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._task = asyncio.create_task(self._serve(server, sock), name="loopback-server")
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while not server.started:
                    if self._task.done():
                        self._task.result()  # raises what stopped it
                        raise RuntimeError("the server stopped while starting")
                    await asyncio.sleep(0.01)
        except BaseException:
            await self.stop()
            raise

    @staticmethod
    async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn exits on startup failures: keep the loop alive
            raise RuntimeError(f"the server failed to start (exit status {exc.code})") from None
        finally:
            sock.close()

    async def wait(self) -> None:
        """Until the server stops (or fails)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await self._task

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return self.base_url
