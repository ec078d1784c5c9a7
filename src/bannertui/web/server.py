"""The web server of ``bannertui serve``: textual-serve's, behind a sign-in.

textual-serve runs one console process per browser WebSocket.  Here:

- every page but the sign-in form needs a session: a random token in an HttpOnly,
  SameSite=Strict cookie (Secure when the public URL is https), checked against the
  database (:class:`bannertui.services.web_login.WebLoginService`);
- the WebSocket handshake is refused (HTTP 403, before the upgrade) unless its ``Origin`` is
  the served origin (RFC 6455 §10.2: a page of another site could otherwise open it with the
  agent's cookie) and its session is valid; forms are posted only from the served origin;
- each console process gets the session's token in ``BANNERTUI_WEB_SESSION`` (a credential
  it checks against the database, like the cookie) and runs as the session's agent;
- signing out, and a session that ends otherwise (expired, the agent disabled, their
  password set again), closes that session's consoles;
- the pages reference nothing outside this server: textual-serve's own script, style sheet
  and fonts are served from its package, without its template (which loads a web font).

``--demo`` keeps the demo's way (no sign-in, the chosen demo agent) and the Origin check.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from bannertui.domain.errors import BannerError
from bannertui.services import Services
from bannertui.services.web_login import (
    SESSION_ENV,
    NotSignedIn,
    TooManyAttempts,
    token_hash,
)
from bannertui.store.database import Database

log = logging.getLogger("bannertui.web")

#: How often an open console's session is checked again (expired, signed out elsewhere,
#: the agent disabled): the console is closed at the first check that fails.
RECHECK_S = 30.0
#: How long a console has to quit once asked (its WebSocket closed) before it is killed.
STOP_S = 10.0
#: Sign-ins checked at once (each Argon2 check takes 64 MiB and a CPU for a moment).
CONCURRENT_SIGN_INS = 2
#: The largest request body (the sign-in form).
MAX_BODY = 16 * 1024
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
FONT = "fonts/RobotoMono-VariableFont_wght.ttf"


def _host_in_url(host: str) -> str:
    """An IPv6 address in brackets, as a URL writes it."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def default_public_url(host: str, port: int) -> str:
    host = _host_in_url(host)
    return f"http://{host}" if port == 80 else f"http://{host}:{port}"


def _origin(scheme: str, netloc: str) -> str:
    """``scheme://host[:port]`` in lower case, without the scheme's default port."""
    parts = urlsplit(f"{scheme}://{netloc}")
    try:
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    if not host:
        return ""
    default = {"http": 80, "https": 443}.get(scheme)
    host = _host_in_url(host)
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def parse_public_url(url: str) -> tuple[str, str]:
    """(the origin, the path prefix without its final slash) of a public URL; ValueError
    naming what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--public-url {url!r}: expected http(s)://host[:port][/path]")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"--public-url {url!r}: no query, fragment or credentials")
    origin = _origin(parts.scheme, parts.netloc)
    if not origin:
        raise ValueError(f"--public-url {url!r}: invalid host or port")
    return origin, parts.path.rstrip("/")


class ConsoleProcess(AppService):
    """One console process, run as a session's agent (its token in ``BANNERTUI_WEB_SESSION``),
    or as the demo's agent (``token`` None).  The WebSocket is closed when it ends; asked to
    quit, it is killed if it has not within :data:`STOP_S`."""

    def __init__(self, command: str, *, token: str | None, **kwargs: Any) -> None:
        # exec: the console is the shell's process itself, so it is the one killed if need be
        super().__init__(f"exec {command}", **kwargs)
        self._token = token

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment.pop(SESSION_ENV, None)  # never the server's own, if it had one
        if self._token is not None:
            environment[SESSION_ENV] = self._token
        return environment

    async def run(self) -> None:
        await super().run()
        await self.remote_close()  # the console ended (or never started): say so

    async def stop(self) -> None:
        process = self._process
        watchdog = None
        if self._task is not None and process is not None and process.returncode is None:
            watchdog = asyncio.get_running_loop().call_later(STOP_S, self._kill, process)
        try:
            await super().stop()
        finally:
            if watchdog is not None:
                watchdog.cancel()

    @staticmethod
    def _kill(process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            log.warning("a console did not quit within %g s: killed (pid %d)", STOP_S, process.pid)
            process.kill()


PAGE_STYLE = (
    """
@font-face { font-family: "Roboto Mono"; src: url("{static}"""
    + FONT
    + """") format("truetype");
  font-weight: 100 700; font-display: block; }
html, body { margin: 0; padding: 0; background: #0c181f; color: rgba(255,255,255,0.95);
  font-family: "Roboto Mono", menlo, monospace; }
.bar { height: 28px; box-sizing: border-box; padding: 0 8px; display: flex; gap: 12px;
  align-items: center; justify-content: flex-end; font-size: 13px; background: #12232d; }
.bar form { margin: 0; }
.bar button, .panel button, .intro button { font: inherit; color: inherit; border: none;
  background: #5e0ba7; padding: 2px 12px; cursor: pointer; }
.bar button:hover, .panel button:hover, .intro button:hover { background: #ac5af4; }
"""
)

CONSOLE_STYLE = """
#terminal.textual-terminal { height: calc(100vh - 28px); }
.dialog-container { position: absolute; top: 28px; left: 0; width: 100vw;
  height: calc(100vh - 28px); display: flex; align-items: center; justify-content: center;
  z-index: 10; }
.shade { position: absolute; width: 100%; height: 100%; background: #0c181f; }
.intro { width: 640px; max-width: 90vw; height: 240px; z-index: 20; text-align: center;
  background-color: #12232d; display: flex; flex-direction: column; gap: 16px;
  align-items: center; justify-content: center; }
body.-first-byte .intro-dialog { display: none; }
body .textual-terminal { opacity: 0; transition: opacity 0.3s ease-out; }
body.-first-byte .textual-terminal { opacity: 1; }
.closed-dialog { display: none; }
body.-closed .closed-dialog { display: flex; }
#start { display: none; }
#start.-delay { display: block; }
"""

LOGIN_STYLE = """
main { display: flex; justify-content: center; padding-top: 12vh; }
.panel { background: #12232d; padding: 24px 32px; width: 360px; max-width: 90vw; }
.panel h1 { font-size: 20px; margin: 0 0 16px 0; }
.panel label { display: block; margin: 12px 0 4px 0; }
.panel input { width: 100%; box-sizing: border-box; font: inherit; padding: 4px; }
.panel button { margin-top: 16px; padding: 6px 16px; }
.panel .error { color: #ff8a80; }
.panel .note { color: #9fb3bf; }
"""

#: The console page's own script: the Start and Restart buttons reload the page.
PAGE_SCRIPT = """"use strict";
window.addEventListener("DOMContentLoaded", function () {
  ["start", "restart"].forEach(function (id) {
    var button = document.getElementById(id);
    if (button) {
      button.addEventListener("click", function () {
        window.location.href = window.location.pathname;
      });
    }
  });
});
"""


class ConsoleServer(Server):
    """``bannertui serve``'s aiohttp application: the sign-in, then textual-serve's console.

    ``database`` is None for the demo (no sign-in).  ``public_url``: the address browsers
    use; None serves on ``http://HOST:PORT`` and redirects other host names there, so the
    page, its cookie and its WebSocket share one origin."""

    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        database: Database | None,
        public_url: str | None = None,
        title: str = "bannertui",
        recheck_s: float = RECHECK_S,
    ) -> None:
        self.canonical_host = public_url is None
        url = public_url or default_public_url(host, port)
        self.origin, self.base_path = parse_public_url(url)
        super().__init__(
            command, host=host, port=port, title=title, public_url=self.origin + self.base_path
        )
        self.database = database
        self.services = Services(database) if database is not None else None
        self.secure = self.origin.startswith("https://")
        self.cookie_name = (
            "__Host-bannertui-session"
            if self.secure and not self.base_path
            else "bannertui-session"
        )
        self.cookie_path = self.base_path or "/"
        self.recheck_s = recheck_s
        #: The WebSockets of each session's consoles, by the token's hash.
        self._consoles: dict[str, set[web.WebSocketResponse]] = {}
        self._sign_ins = asyncio.Semaphore(CONCURRENT_SIGN_INS)

    # --- helpers ----------------------------------------------------------------------

    def url(self, path: str) -> str:
        """A path of this server as the browser addresses it (below the public URL's path)."""
        return f"{self.base_path}{path}"

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.secure else "ws"
        return f"{scheme}{self.origin[self.origin.index(':') :]}{self.url('/ws')}"

    def origin_allowed(self, request: web.Request) -> bool:
        """The request's ``Origin`` is the served origin (a missing one is refused)."""
        origin = request.headers.get("Origin", "")
        scheme, sep, netloc = origin.partition("://")
        return bool(sep) and _origin(scheme.lower(), netloc) == self.origin

    async def session_of(self, request: web.Request) -> tuple[str, str]:
        """(the token, the agent's login) of the request's cookie; NotSignedIn or
        SessionExpired when there is none or it is not valid."""
        assert self.services is not None
        token = request.cookies.get(self.cookie_name, "")
        actor = await self.services.web.session(token)
        return token, actor.login

    def _page(
        self, title: str, body: str, style: str, head: str = "", status: int = 200
    ) -> web.Response:
        static = self.url("/static/")
        page = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n"
            f'<link rel="preload" href="{static}{FONT}" as="font" type="font/ttf" crossorigin>\n'
            f"<style>{PAGE_STYLE.replace('{static}', static)}{style}</style>\n"
            f"{head}</head>\n<body>\n{body}\n</body>\n</html>\n"
        )
        return web.Response(text=page, content_type="text/html", charset="utf-8", status=status)

    def _redirect(self, path: str) -> web.HTTPSeeOther:
        return web.HTTPSeeOther(location=self.url(path))

    def _see_other(self, path: str) -> web.Response:
        """A 303 to be returned (with cookies set on it)."""
        return web.Response(status=303, headers={"Location": self.url(path)})

    # --- the application --------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/login", self.handle_login_form, name="login"),
                web.post("/login", self.handle_sign_in),
                web.post("/logout", self.handle_sign_out, name="logout"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/assets/page.js", self.handle_page_script),
                web.static("/static", self.statics_path, show_index=False, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        app.on_cleanup.append(self._dispose)
        return app

    async def _dispose(self, app: web.Application) -> None:
        if self.database is not None:
            await self.database.dispose()

    async def on_shutdown(self, app: web.Application) -> None:
        for sockets in list(self._consoles.values()):
            for websocket in list(sockets):
                with contextlib.suppress(Exception):
                    await websocket.close(code=1001, message=b"server shutting down")

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """One host name (when serving directly), forms only from the served origin, and
        the security headers of every response."""
        try:
            self._check(request)
            response = await handler(request)
        except web.HTTPException as exc:
            self._secure_headers(request, exc)
            raise
        self._secure_headers(request, response)
        return response

    def _check(self, request: web.Request) -> None:
        if self.canonical_host and _origin("http", request.host) != self.origin:
            if request.method in ("GET", "HEAD") and request.path != "/ws":
                raise web.HTTPTemporaryRedirect(location=self.origin + request.path_qs)
            raise web.HTTPForbidden(text="Forbidden: wrong host name\n")
        if request.method == "POST" and not self.origin_allowed(request):
            raise web.HTTPForbidden(text="Forbidden: cross-site request\n")

    def _secure_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        if not isinstance(response, web.WebSocketResponse) and not response.prepared:
            headers = response.headers
            headers.setdefault("X-Content-Type-Options", "nosniff")
            headers.setdefault("Referrer-Policy", "same-origin")  # "no-referrer" sends Origin: null
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault(
                "Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                f"img-src 'self' data:; font-src 'self'; connect-src 'self' {self.ws_origin}; "
                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            )
            if not request.path.startswith("/static/"):
                headers.setdefault("Cache-Control", "no-store")

    @property
    def ws_origin(self) -> str:
        return ("wss" if self.secure else "ws") + self.origin[self.origin.index(":") :]

    async def handle_page_script(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE_SCRIPT, content_type="application/javascript")

    # --- pages ------------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.Response:
        """The console page, for a signed-in browser (else the sign-in form)."""
        if self.services is None:
            bar = "bannertui demo · no sign-in"
        else:
            try:
                _token, login = await self.session_of(request)
            except NotSignedIn:
                raise self._redirect("/login") from None
            bar = (
                f"signed in as <b>{html.escape(login)}</b>"
                f'<form method="post" action="{self.url("/logout")}">'
                '<button type="submit">Sign out</button></form>'
            )
        static = self.url("/static/")
        font_size = max(6, min(64, to_int(request.query.get("fontsize", "16"), 16)))
        title = html.escape(self.title)
        body = (
            f'<header class="bar">{bar}</header>\n'
            '<div class="dialog-container intro-dialog"><div class="shade"></div>'
            f'<div class="intro"><div>{title}</div>'
            '<button type="button" id="start">Start</button></div></div>\n'
            '<div class="dialog-container closed-dialog"><div class="shade"></div>'
            '<div class="intro"><div class="message">Session ended.</div>'
            '<button type="button" id="restart">Restart</button></div></div>\n'
            f'<div id="terminal" class="textual-terminal" '
            f'data-session-websocket-url="{html.escape(self.ws_url)}" '
            f'data-font-size="{font_size}"></div>'
        )
        head = (
            f'<link rel="stylesheet" href="{static}css/xterm.css">\n'
            f'<script src="{static}js/textual.js"></script>\n'
            f'<script src="{self.url("/assets/page.js")}"></script>\n'
        )
        return self._page(self.title, body, CONSOLE_STYLE, head)

    def _login_page(
        self, *, login: str = "", error: str = "", note: str = "", status: int = 200
    ) -> web.Response:
        message = ""
        if error:
            message = f'<p class="error" role="alert">{html.escape(error)}</p>'
        elif note:
            message = f'<p class="note">{html.escape(note)}</p>'
        body = (
            '<main><div class="panel">'
            f"<h1>{html.escape(self.title)}</h1>"
            f'<form method="post" action="{self.url("/login")}">'
            '<label for="login">Login</label>'
            '<input id="login" name="login" autocomplete="username" required autofocus '
            f'maxlength="64" value="{html.escape(login)}">'
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password" '
            'autocomplete="current-password" required>'
            f'{message}<button type="submit">Sign in</button></form>'
            "</div></main>"
        )
        return self._page(f"Sign in · {self.title}", body, LOGIN_STYLE, status=status)

    async def handle_login_form(self, request: web.Request) -> web.Response:
        if self.services is None:
            raise self._redirect("/")
        try:
            await self.session_of(request)
        except NotSignedIn as exc:
            note = exc.message if request.cookies.get(self.cookie_name) else ""
            if request.query.get("signed-out"):
                note = "Signed out."
            return self._login_page(note=note)
        raise self._redirect("/")

    async def handle_sign_in(self, request: web.Request) -> web.Response:
        if self.services is None:
            raise self._redirect("/")
        form = await request.post()
        login = form.get("login")
        password = form.get("password")
        if not isinstance(login, str) or not isinstance(password, str):
            return self._login_page(error="Wrong login or password", status=400)
        try:
            async with self._sign_ins:
                token, actor = await self.services.web.sign_in(
                    login, password, request.remote or ""
                )
        except TooManyAttempts as exc:
            response = self._login_page(login=login, error=exc.message, status=429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except BannerError as exc:
            return self._login_page(login=login, error=exc.message, status=401)
        log.info("signed in: %s from %s", actor.login, request.remote)
        response = self._see_other("/")
        response.set_cookie(
            self.cookie_name,
            token,
            max_age=int(self.services.web.ttl.total_seconds()),
            path=self.cookie_path,
            secure=self.secure,
            httponly=True,
            samesite="Strict",
        )
        return response

    async def handle_sign_out(self, request: web.Request) -> web.Response:
        if self.services is None:
            raise self._redirect("/")
        token = request.cookies.get(self.cookie_name, "")
        actor = await self.services.web.sign_out(token)
        if token:
            await self._close_consoles(token_hash(token), b"signed out")
        if actor is not None:
            log.info("signed out: %s", actor.login)
        response = self._see_other("/login?signed-out=1")
        response.del_cookie(
            self.cookie_name,
            path=self.cookie_path,
            secure=self.secure,
            httponly=True,
            samesite="Strict",
        )
        return response

    # --- consoles ---------------------------------------------------------------------

    async def _close_consoles(self, key: str, why: bytes) -> None:
        for websocket in list(self._consoles.get(key, ())):
            with contextlib.suppress(Exception):
                await websocket.close(code=4001, message=why)

    async def _watch(self, websocket: web.WebSocketResponse, token: str) -> None:
        """Close the console when its session ends (checked every ``recheck_s``)."""
        assert self.services is not None
        while not websocket.closed:
            await asyncio.sleep(self.recheck_s)
            try:
                await self.services.web.session(token)
            except NotSignedIn as exc:
                await websocket.close(code=4001, message=exc.message.encode()[:120])
                return
            except Exception:  # the database unreachable for a moment: check again later
                log.warning("cannot check a browser session", exc_info=True)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """A console for the signed-in agent: the Origin and the session are checked before
        the upgrade (403 otherwise)."""
        if not self.origin_allowed(request):
            raise web.HTTPForbidden(text="Forbidden: the WebSocket's Origin is not this server\n")
        token: str | None = None
        if self.services is not None:
            try:
                token, _login = await self.session_of(request)
            except NotSignedIn as exc:
                raise web.HTTPForbidden(text=f"Forbidden: {exc.message}\n") from None
        width = max(10, min(1000, to_int(request.query.get("width", "80"), 80)))
        height = max(5, min(500, to_int(request.query.get("height", "24"), 24)))
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=1024 * 1024)
        key = token_hash(token) if token is not None else ""
        watch: asyncio.Task[None] | None = None
        console: ConsoleProcess | None = None
        try:
            await websocket.prepare(request)
            self._consoles.setdefault(key, set()).add(websocket)
            if token is not None:
                watch = asyncio.create_task(self._watch(websocket, token))
            console = ConsoleProcess(
                self.command,
                token=token,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await console.start(width, height)
            await self._process_messages(websocket, console)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("console connection failed")
        finally:
            if watch is not None:
                watch.cancel()
            sockets = self._consoles.get(key)
            if sockets is not None:
                sockets.discard(websocket)
                if not sockets:
                    del self._consoles[key]
            if console is not None:
                await console.stop()
        return websocket

    def serve(self, debug: bool = False) -> None:
        """Serve until interrupted (SIGINT, SIGTERM)."""
        self.debug = debug
        self.initialize_logging()
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            print=lambda *args: None,
            access_log=logging.getLogger("aiohttp.access"),
        )
