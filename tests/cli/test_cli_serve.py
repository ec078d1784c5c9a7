"""`bannertui serve` (SPEC X5, issue [1/8] item 6): the app in a browser through textual-serve,
loopback first, behind a sign-in.

A real ``bannertui serve`` on a free loopback port, over a SQLite database prepared as a
team would: ``db init --admin <the OS account>``, the demo agents beside it, and passwords
set with ``bannertui agent password LOGIN --password-stdin``.  The sign-in is posted as a
browser would, the consoles are opened through the WebSocket (aiohttp's client, and a real
headless Chromium when ``chromium`` is installed: scripts/chromium.sh installs it), and every
wait is for a condition, with a generous deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from test_cli_commands import Result, make_env, run, sqlite_url

BIN = Path(sys.executable).with_name("bannertui")
#: How long a test waits for the server before it fails: starting it (Python, textual) takes
#: about a second idle and several on a loaded machine; it is checked every 0.2 s.
WAIT_S = 60.0
ME = pwd.getpwuid(os.getuid()).pw_name
PASSWORDS = {
    ME: "the administrator's password",
    "alice": "alice's long password",
    "bruno": "bruno's long password",
}
COOKIE = "bannertui-session"
EVIL = "http://evil.example"
#: Escape sequences, to read a console's text out of its terminal output.
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANNERTUI_")}
    env.update(BANNERTUI_DATA_DIR=str(root / "data"), NO_COLOR="1", COLUMNS="200")
    return env


def sql(path: Path, statement: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
    return rows


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


@dataclass
class Served:
    """A running ``bannertui serve``: its process, address and output (one file)."""

    proc: subprocess.Popen[bytes]
    port: int
    output: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return self.base

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=WAIT_S)


def start_serve(env: dict[str, str], output: Path, *args: str) -> Served:
    """Start ``bannertui serve ARGS --port <free>`` and wait until it answers."""
    port = free_port()
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN), "serve", *args, "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(proc, port, output)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve ended ({proc.returncode}): {served.text()}")
        try:
            httpx.get(f"{served.base}/static/css/xterm.css", timeout=2)
            return served
        except httpx.TransportError:
            time.sleep(0.2)
    served.stop()
    raise AssertionError(f"serve did not answer within {WAIT_S:g} s: {served.text()}")


# --- an HTTP client as a browser -------------------------------------------------------------


def client(source: str = "127.0.0.1") -> aiohttp.ClientSession:
    """A client whose connections come from ``source`` (any 127.x address is loopback),
    keeping no cookies by itself: the tests send and read them."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(source, 0), force_close=True),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=WAIT_S),
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    text: str


async def request(
    method: str,
    url: str,
    *,
    source: str = "127.0.0.1",
    origin: str | None = None,
    cookie: str | None = None,
    data: dict[str, str] | None = None,
) -> Answer:
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    async with (
        client(source) as http,
        http.request(method, url, headers=headers, data=data, allow_redirects=False) as resp,
    ):
        return Answer(
            resp.status,
            {k.lower(): v for k, v in resp.headers.items()},
            resp.headers.getall("Set-Cookie", []),
            await resp.text(errors="replace"),
        )


async def sign_in(
    served: Served, login: str, password: str, *, source: str = "127.0.0.1"
) -> Answer:
    return await request(
        "POST",
        f"{served.base}/login",
        source=source,
        origin=served.origin,
        data={"login": login, "password": password},
    )


def session_cookie(answer: Answer, name: str = COOKIE) -> tuple[str, list[str]]:
    """(the session token, the cookie's attributes) of a successful sign-in."""
    assert answer.status == 303, answer
    (cookie,) = answer.cookies
    first, *attributes = cookie.split("; ")
    key, _, value = first.partition("=")
    assert key == name, cookie
    return value, attributes


async def signed_in(served: Served, login: str) -> str:
    token, _ = session_cookie(await sign_in(served, login, PASSWORDS[login]))
    return token


def ws_headers(origin: str | None, cookie: str | None, name: str = COOKIE) -> dict[str, str]:
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if cookie is not None:
        headers["Cookie"] = f"{name}={cookie}"
    return headers


async def handshake(
    served: Served, *, origin: str | None, cookie: str | None, name: str = COOKIE
) -> int:
    """The WebSocket handshake's status: 101 when accepted (then closed), else the refusal."""
    async with client() as http:
        try:
            ws = await http.ws_connect(
                f"{served.base}/ws?width=100&height=30", headers=ws_headers(origin, cookie, name)
            )
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        await ws.close()
        return 101


async def read_console(ws: aiohttp.ClientWebSocketResponse, until: str) -> str:
    """The console's screen text, read from the WebSocket until it shows ``until``."""
    data = b""
    text = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while until not in text:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"the console did not show {until!r} in {WAIT_S:g} s: {text!r}")
        try:
            msg = await ws.receive(timeout=remaining)
        except TimeoutError:
            continue
        if msg.type == aiohttp.WSMsgType.BINARY:
            data += msg.data
            text = ANSI.sub("", data.decode("utf-8", "replace"))
        elif msg.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"the console closed ({msg.type}, {msg.data}): {text!r}")
    return text


async def closed(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    """Read until the server closes the WebSocket (the console's output in between)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while (remaining := deadline - loop.time()) > 0:
        try:
            msg = await ws.receive(timeout=remaining)
        except TimeoutError:
            continue
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return msg
    raise AssertionError(f"the WebSocket was not closed within {WAIT_S:g} s")


# --- the site: a team's database and its server ---------------------------------------------


@dataclass
class Site:
    env: dict[str, str]
    db: Path
    root: Path
    served: Served


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("serve")
    path = root / "team.sqlite3"
    env = make_env(root, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert run(env, "db", "init", "--admin", ME) == Result(0, f"administrator {ME} created\n", "")
    assert run(env, "db", "seed-demo") == Result(0, "demo data loaded\n", "")
    for login, password in PASSWORDS.items():
        result = run(env, "agent", "password", login, "--password-stdin", stdin=password.encode())
        assert result == Result(0, f"password set for {login}\n", "")
    served = start_serve(env, root / "serve.out")
    try:
        yield Site(env, path, root, served)
    finally:
        served.stop()


# --- the command ------------------------------------------------------------------------------


def test_agent_password_stores_a_hash_and_audits_without_the_password(site: Site) -> None:
    hashes = dict(sql(site.db, "SELECT login, password_hash FROM agent"))
    for login, password in PASSWORDS.items():
        assert hashes[login].startswith("$argon2id$")
        assert password not in hashes[login]
    assert hashes["sam"] is None
    rows = sql(site.db, "SELECT actor, target, detail FROM audit_event WHERE action = ?",
               "agent.password_set")  # fmt: skip
    assert [(actor, target) for actor, target, _ in rows] == [
        (ME, f"agent:{ME}"),
        (ME, "agent:alice"),
        (ME, "agent:bruno"),
    ]
    for _, _, detail in rows:
        assert not any(p in detail for p in PASSWORDS.values())
        assert "argon2" not in detail


def test_agent_password_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "team.sqlite3"
    env = make_env(tmp_path, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert run(env, "db", "init", "--admin", ME).code == 0
    assert run(env, "db", "seed-demo").code == 0
    before = dump(path)

    cases = [
        (["agent", "password", ME], None, 2, "no terminal to ask the password on"),
        (["agent", "password", ME, "--password-stdin"], b"too short\n", 1,
         "Invalid password: at least 10 characters"),
        (["agent", "password", ME, "--password-stdin"], b"            \n", 1,
         "Invalid password: not only spaces"),
        (["agent", "password", "nobody", "--password-stdin"], b"long enough password\n", 1,
         "Unknown agent: nobody"),
    ]  # fmt: skip
    for args, stdin, code, message in cases:
        line = run(env, *args, stdin=stdin).error_line(code)
        assert message in line
        assert "too short" not in line
        assert "long enough" not in line
    assert dump(path) == before

    # An agent may set only their own password (the OS account made an agent, not admin).
    sql(path, "UPDATE agent SET login = 'ops' WHERE login = ?", ME)
    sql(path, "UPDATE agent SET login = ? WHERE login = 'alice'", ME)
    before = dump(path)
    line = run(env, "agent", "password", "sam", "--password-stdin", stdin=b"long enough password")
    assert "Not allowed" in line.error_line(1)
    assert dump(path) == before


def test_serve_refuses_agent_outside_the_demo_and_a_wildcard_without_public_url(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path, BANNERTUI_DATABASE_URL=sqlite_url(tmp_path / "team.sqlite3"))
    line = run(env, "serve", "--agent", "alice").error_line(2)
    assert line == "bannertui: serve: agents sign in; --agent is for --demo\n"
    assert "--public-url" in run(env, "serve", "--host", "0.0.0.0").error_line(2)
    assert "--public-url" in run(env, "serve", "--public-url", "ftp://x").error_line(2)
    assert not (tmp_path / "team.sqlite3").exists()


# --- the demo: no sign-in, the Origin checked ---------------------------------------------


async def test_serve_demo_answers_on_loopback_and_checks_the_origin(tmp_path: Path) -> None:
    served = start_serve(env_for(tmp_path), tmp_path / "serve.out", "--demo", "--agent", "sam")
    try:
        page = await request("GET", f"{served.base}/")
        assert page.status == 200
        assert "textual" in page.text.lower()
        assert "bannertui" in page.text
        assert "googleapis" not in page.text
        assert await handshake(served, origin=EVIL, cookie=None) == 403
        assert await handshake(served, origin=None, cookie=None) == 403
        async with (
            client() as http,
            http.ws_connect(f"{served.base}/ws", headers=ws_headers(served.origin, None)) as ws,
        ):
            assert "Sam Okafor" in await read_console(ws, "Sam Okafor")
    finally:
        served.stop()
    text = served.text()
    assert "-m bannertui demo --agent sam" in text
    assert "warning" not in text  # loopback: no warning


def test_serve_on_another_address_warns_that_traffic_is_not_encrypted(tmp_path: Path) -> None:
    port = free_port()
    errors = tmp_path / "serve.err"
    env = make_env(tmp_path, BANNERTUI_DATABASE_URL=sqlite_url(tmp_path / "team.sqlite3"))
    assert run(env, "db", "upgrade").code == 0  # serve uses a database; it makes none
    with errors.open("wb") as err_file:
        proc = subprocess.Popen(
            [str(BIN), "serve", "--host", "0.0.0.0", "--port", str(port),
             "--public-url", f"http://127.0.0.1:{port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
        )  # fmt: skip
    try:
        # Until it has said it (or ended): not a fixed pause, which a loaded machine outlasts.
        deadline = time.monotonic() + WAIT_S
        while (
            "not encrypted" not in errors.read_text(errors="replace")
            and proc.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=WAIT_S)
    said = errors.read_text(errors="replace")
    assert "warning: serving on 0.0.0.0: sign-in is required" in said
    assert "not encrypted unless it is served behind TLS" in said


# --- sign-in ----------------------------------------------------------------------------------


async def test_pages_need_a_session_and_reference_nothing_elsewhere(site: Site) -> None:
    served = site.served
    index = await request("GET", f"{served.base}/")
    assert (index.status, index.headers["location"]) == (303, "/login")

    form = await request("GET", f"{served.base}/login")
    assert form.status == 200
    assert 'name="password" type="password"' in form.text
    links = re.findall(r'(?:src|href|action)="([^"]*)"', form.text)
    assert links
    assert all(link.startswith("/") for link in links), links
    assert "googleapis" not in form.text
    assert form.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    assert form.headers["cache-control"] == "no-store"

    # The font the console uses is served from here.
    font = await request("GET", f"{served.base}/static/fonts/RobotoMono-VariableFont_wght.ttf")
    assert font.status == 200

    # Another name for this server is sent to its one origin (the cookie's and the Origin's).
    other = await request("GET", f"http://localhost:{served.port}/login")
    assert (other.status, other.headers["location"]) == (307, f"{served.base}/login")


async def test_a_wrong_password_is_refused_in_one_line_without_a_cookie(site: Site) -> None:
    served = site.served
    before = sql(site.db, "SELECT count(*) FROM web_session")
    wrong = [(ME, "not my password"), ("nobody", PASSWORDS[ME]), ("sam", "sam has none set")]
    for login, password in wrong:
        answer = await sign_in(served, login, password, source="127.0.0.30")
        assert answer.status == 401
        assert answer.cookies == []
        assert answer.text.count("Wrong login or password") == 1
        assert password not in answer.text
    assert sql(site.db, "SELECT count(*) FROM web_session") == before

    # A form posted from another site (or with no Origin) is refused before it is read.
    data = {"login": ME, "password": PASSWORDS[ME]}
    for origin in (EVIL, None, f"https://127.0.0.1:{served.port}"):
        answer = await request("POST", f"{served.base}/login", origin=origin, data=data)
        assert (answer.status, answer.cookies) == (403, [])


async def test_the_right_password_sets_a_strict_cookie_and_runs_that_agents_console(
    site: Site,
) -> None:
    served = site.served
    answer = await sign_in(served, ME, PASSWORDS[ME])
    token, attributes = session_cookie(answer)
    assert answer.headers["location"] == "/"
    assert len(token) >= 43
    assert "HttpOnly" in attributes
    assert "SameSite=Strict" in attributes
    assert "Path=/" in attributes
    assert "Secure" not in attributes  # plain http on loopback
    assert f"Max-Age={12 * 3600}" in attributes

    page = await request("GET", f"{served.base}/", cookie=token)
    assert page.status == 200
    assert f"signed in as <b>{ME}</b>" in page.text
    assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in page.text
    links = re.findall(r'(?:src|href|action)="([^"]*)"', page.text)
    assert all(link.startswith("/") for link in links), links

    async with (
        client() as http,
        http.ws_connect(f"{served.base}/ws", headers=ws_headers(served.origin, token)) as ws,
    ):
        text = await read_console(ws, "Administrator")  # the OS account's profile
        assert "Alice Martin" not in text


async def test_the_websocket_checks_the_origin_and_the_session_before_the_upgrade(
    site: Site,
) -> None:
    served = site.served
    token = await signed_in(served, "alice")
    assert await handshake(served, origin=served.origin, cookie=token) == 101
    assert await handshake(served, origin=EVIL, cookie=token) == 403
    assert await handshake(served, origin=None, cookie=token) == 403
    assert await handshake(served, origin="null", cookie=token) == 403
    assert (
        await handshake(served, origin=f"http://127.0.0.1:{served.port + 1}", cookie=token) == 403
    )
    assert await handshake(served, origin=served.origin, cookie=None) == 403
    assert await handshake(served, origin=served.origin, cookie="forged" + token[6:]) == 403
    assert await handshake(served, origin=served.origin, cookie="") == 403


async def test_an_expired_session_is_refused(site: Site) -> None:
    served = site.served
    token = await signed_in(served, "alice")
    assert await handshake(served, origin=served.origin, cookie=token) == 101
    sql(
        site.db,
        "UPDATE web_session SET expires_at = '2000-01-01 00:00:00.000000' WHERE token_hash = ?",
        hashlib.sha256(token.encode()).hexdigest(),
    )

    assert await handshake(served, origin=served.origin, cookie=token) == 403
    index = await request("GET", f"{served.base}/", cookie=token)
    assert (index.status, index.headers["location"]) == (303, "/login")
    form = await request("GET", f"{served.base}/login", cookie=token)
    assert form.text.count("Session expired") == 1


async def test_sign_out_ends_the_session_and_closes_its_console(site: Site) -> None:
    served = site.served
    token = await signed_in(served, "alice")
    other = await signed_in(served, "alice")  # another browser of hers goes on
    async with (
        client() as http,
        http.ws_connect(f"{served.base}/ws", headers=ws_headers(served.origin, token)) as ws,
    ):
        await read_console(ws, "Alice Martin")
        answer = await request("POST", f"{served.base}/logout", origin=served.origin, cookie=token)
        assert (answer.status, answer.headers["location"]) == (303, "/login?signed-out=1")
        (cleared,) = answer.cookies
        assert cleared.startswith(f'{COOKIE}=""') or cleared.startswith(f"{COOKIE}=;")
        assert "Max-Age=0" in cleared
        await closed(ws)

    assert await handshake(served, origin=served.origin, cookie=token) == 403
    index = await request("GET", f"{served.base}/", cookie=token)
    assert index.status == 303
    assert await handshake(served, origin=served.origin, cookie=other) == 101
    actors = sql(site.db, "SELECT actor FROM audit_event WHERE action = 'web.signed_out'")
    assert ("alice",) in actors


async def test_two_agents_get_consoles_of_their_own(site: Site) -> None:
    served = site.served
    mine, hers = await signed_in(served, ME), await signed_in(served, "alice")
    async with (
        client() as http,
        http.ws_connect(f"{served.base}/ws", headers=ws_headers(served.origin, mine)) as ws1,
        http.ws_connect(f"{served.base}/ws", headers=ws_headers(served.origin, hers)) as ws2,
    ):
        my_text, her_text = await asyncio.gather(
            read_console(ws1, "Administrator"), read_console(ws2, "Alice Martin")
        )
    assert "Alice Martin" not in my_text
    assert "Administrator" not in her_text
    signed = sql(
        site.db,
        "SELECT actor, detail FROM audit_event WHERE action = 'web.signed_in' ORDER BY id",
    )
    assert [(actor, json.loads(detail)) for actor, detail in signed[-2:]] == [
        (ME, {"address": "127.0.0.1"}),
        ("alice", {"address": "127.0.0.1"}),
    ]

    # Neither the passwords nor the session tokens are written anywhere we can read.
    logs = served.text() + "".join(
        p.read_text(errors="replace") for p in (site.root / "data").glob("*.log")
    )
    for secret in (*PASSWORDS.values(), mine, hers):
        assert secret not in logs
    stored = "\n".join(dump(site.db))
    assert mine not in stored
    assert hers not in stored


async def test_failed_sign_ins_are_limited_per_login(site: Site) -> None:
    served = site.served
    for n in range(5):
        answer = await sign_in(served, "bruno", f"guess number {n}", source=f"127.0.0.{40 + n}")
        assert answer.status == 401
    # The right password, from an address that has not failed: refused all the same.
    answer = await sign_in(served, "bruno", PASSWORDS["bruno"], source="127.0.0.50")
    assert answer.status == 429
    assert answer.cookies == []
    wait = int(answer.headers["retry-after"])
    assert 0 < wait <= 300
    assert answer.text.count(f"Too many attempts, try again in {wait} s") == 1
    # Another agent from that address signs in.
    session_cookie(await sign_in(served, "alice", PASSWORDS["alice"], source="127.0.0.50"))


async def test_failed_sign_ins_are_limited_per_address(site: Site) -> None:
    served = site.served
    for n in range(5):
        answer = await sign_in(served, f"guess{n}", "a guessed password", source="127.0.0.60")
        assert answer.status == 401
    answer = await sign_in(served, "alice", PASSWORDS["alice"], source="127.0.0.60")
    assert answer.status == 429
    assert "Too many attempts, try again in" in answer.text
    session_cookie(await sign_in(served, "alice", PASSWORDS["alice"], source="127.0.0.61"))


async def test_an_https_public_url_makes_the_cookie_secure(site: Site) -> None:
    public = "https://bannertui.example.test"
    served = start_serve(site.env, site.root / "serve-https.out", "--public-url", public)
    try:
        answer = await request(
            "POST",
            f"{served.base}/login",
            origin=public,
            data={"login": "alice", "password": PASSWORDS["alice"]},
        )
        token, attributes = session_cookie(answer, "__Host-bannertui-session")
        assert {"Secure", "HttpOnly", "SameSite=Strict", "Path=/"} <= set(attributes)
        name = "__Host-bannertui-session"
        assert await handshake(served, origin=served.origin, cookie=token, name=name) == 403
        assert await handshake(served, origin=public, cookie=token, name=name) == 101
        page = await request("GET", f"{served.base}/", cookie=None)
        assert page.status == 303
    finally:
        served.stop()


# --- a real browser ---------------------------------------------------------------------------


class DevTools:
    """Just enough of the Chrome DevTools Protocol: commands, and the events seen meanwhile."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.last_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        await self.ws.send_json({"id": self.last_id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=WAIT_S)
            if msg.get("id") == self.last_id:
                assert "error" not in msg, msg
                result: dict[str, Any] = msg.get("result", {})
                return result
            self.events.append(msg)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result["result"].get("value")

    async def wait_for(self, expression: str) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while loop.time() < deadline:
            with_value = await self.evaluate(expression)
            if with_value:
                return with_value
            await asyncio.sleep(0.1)
        text = await self.evaluate("document.body && document.body.innerText")
        raise AssertionError(f"{expression} not true within {WAIT_S:g} s; the page: {text!r}")

    def urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"] if "request" in e["params"] else e["params"]["url"]
            for e in self.events
            if e.get("method") in ("Network.requestWillBeSent", "Network.webSocketCreated")
        ]


def _living_in_group(pgid: int) -> list[int]:
    """The processes of group ``pgid`` still running (zombies, awaiting their reaper, write
    nothing: they do not count)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                pids.append(int(stat.parent.name))
    return pids


def end_process_group(pgid: int) -> None:
    """Kill every process of group ``pgid`` and wait until none is left running."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + WAIT_S
    while _living_in_group(pgid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process group {pgid} outlived SIGKILL for {WAIT_S:g} s")
        time.sleep(0.05)


async def open_chromium(profile: Path) -> tuple[asyncio.subprocess.Process, str]:
    """A headless Chromium that resolves no name but loopback (as with no internet): the
    process and its page's DevTools WebSocket URL."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium is not None
    proc = await asyncio.create_subprocess_exec(
        chromium, *["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}",
         "--remote-debugging-port=0", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "about:blank"],
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # a process group of its own: see the test's clean-up
    )  # fmt: skip
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        lines = port_file.read_text().split("\n") if port_file.exists() else []
        if lines and lines[0].isdigit():
            async with client() as http:
                try:
                    async with http.get(f"http://127.0.0.1:{lines[0]}/json/list") as resp:
                        targets = await resp.json()
                except aiohttp.ClientError:
                    targets = []
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return proc, pages[0]["webSocketDebuggerUrl"]
        if proc.returncode is not None:
            raise AssertionError(f"chromium ended ({proc.returncode})")
        await asyncio.sleep(0.2)
    proc.kill()
    await proc.wait()
    raise AssertionError(f"chromium's DevTools did not answer within {WAIT_S:g} s")


@pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
    reason="no chromium: the real-browser test of `bannertui serve` was SKIPPED "
    "(bash scripts/chromium.sh installs it; `make test` runs it)",
)
async def test_in_chromium_sign_in_runs_the_console_with_nothing_from_elsewhere(
    site: Site,
) -> None:
    served = site.served
    with tempfile.TemporaryDirectory() as profile:
        proc, devtools_url = await open_chromium(Path(profile))
        try:
            async with (
                client() as http,
                http.ws_connect(devtools_url, max_msg_size=0) as ws,
            ):
                page = DevTools(ws)
                await page.call("Network.enable")
                await page.call("Page.enable")
                await page.call(
                    "Page.addScriptToEvaluateOnNewDocument",
                    source="window.__csp = []; document.addEventListener("
                    "'securitypolicyviolation', e => window.__csp.push("
                    "e.violatedDirective + ' ' + e.blockedURI));",
                )
                await page.call("Page.navigate", url=f"{served.base}/")
                await page.wait_for(
                    "location.pathname === '/login' && document.readyState === 'complete'"
                )
                await page.evaluate(
                    f"document.getElementById('login').value = {json.dumps(ME)};"
                    f"document.getElementById('password').value = {json.dumps(PASSWORDS[ME])};"
                    "document.querySelector('form button').click(); true"
                )
                # The console's first bytes came through the WebSocket: its Origin and cookie
                # passed, from a real browser.
                await page.wait_for(
                    "location.pathname === '/' && document.body.classList.contains('-first-byte')"
                )
                assert await page.evaluate("document.cookie") == ""  # HttpOnly
                assert await page.wait_for(
                    "document.fonts.status === 'loaded' && [...document.fonts].some("
                    "f => f.family.replace(/\"/g, '') === 'Roboto Mono' && f.status === 'loaded')"
                )
                assert await page.evaluate("window.__csp") == []
                assert ME in await page.evaluate("document.querySelector('.bar').innerText")

                await page.evaluate("document.querySelector('.bar button').click(); true")
                await page.wait_for(
                    "location.pathname === '/login' && document.body.innerText.includes("
                    "'Signed out.')"
                )
                await page.call("Page.navigate", url=f"{served.base}/")
                await page.wait_for(
                    "location.pathname === '/login' && document.readyState === 'complete'"
                )
                urls = page.urls()
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), WAIT_S)
            # Its helpers (renderer, crashpad) may still write into the profile: end them
            # all first, or removing it races them ("Directory not empty: 'Default'").
            await asyncio.to_thread(end_process_group, proc.pid)
    assert f"ws://127.0.0.1:{served.port}/ws?" in " ".join(urls)
    elsewhere = [
        u for u in urls if not u.startswith((served.base + "/", f"ws://127.0.0.1:{served.port}/"))
    ]
    assert elsewhere == [], elsewhere
