"""The ``bannertui`` command.  Builds Settings → Database → Services → App; nothing at import."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import typer

from bannertui import __version__
from bannertui.domain.actor import Actor

T = TypeVar("T")
#: The webhook receiver sends the notifications of its writes together, at most once every
#: this many seconds (store.database.Database's ``notify_every``): a text reaches its console
#: up to this much later, and PostgreSQL wakes every console's connection a few times a
#: second instead of once per text and per receipt.
WEBHOOK_NOTIFY_EVERY = 0.05

app = typer.Typer(
    name="bannertui",
    help="Keyboard-driven terminal agent console for SMS in contact centers.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Database: migrations and demo data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
provider_app = typer.Typer(help="SMS provider settings (administrators).", no_args_is_help=True)
app.add_typer(provider_app, name="provider")
account_app = typer.Typer(
    help="The account: credit balance (adding credits: administrators).", no_args_is_help=True
)
app.add_typer(account_app, name="account")
simulate_app = typer.Typer(
    help="Make things happen in a running demo or test: calls, inbound SMS.", no_args_is_help=True
)
app.add_typer(simulate_app, name="simulate")
sms_app = typer.Typer(
    help="Send SMS from scripts, through the same rules as the app.", no_args_is_help=True
)
app.add_typer(sms_app, name="sms")
agent_app = typer.Typer(
    help="Agents: add, disable, enable and remove them (administrators; on PostgreSQL with "
    "their database roles), and their password for browser sign-in (`bannertui serve`).",
    no_args_is_help=True,
)
app.add_typer(agent_app, name="agent")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="BANNERTUI_DATABASE_URL",
        help="Database URL (sqlite+aiosqlite:///PATH or postgresql+asyncpg://...).",
        show_envvar=True,
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Stop the command: one line on stderr (see :mod:`bannertui.cli_errors`), exit ``code``."""
    from bannertui.cli_errors import Failure

    raise Failure(message, code)


#: What each optional part of bannertui needs beyond the console (pyproject's extras).
EXTRAS: dict[str, tuple[str, ...]] = {
    "receiver": ("starlette", "uvicorn"),
    "demo": ("starlette", "uvicorn", "trustme"),
    "serve": ("textual_serve", "aiohttp"),
}


def need_extra(extra: str, command: str) -> None:
    """Stop with one line naming the extra to install when ``command`` needs modules this
    installation does not have (the console itself needs none of them)."""
    import importlib.util

    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        fail(
            f"`bannertui {command}` needs the '{extra}' extra, which is not installed "
            f"({', '.join(missing)} missing): pip install 'bannertui[{extra}]'"
        )


def emit(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _loop_factory(service: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop for the long-running services (``dispatch``, ``webhook``) where it is installed
    (not on Windows): their CPU goes to the event loop, HTTP and the database driver, and
    under load uvloop does the same work for less of it.  Everything else — the terminal
    app first — runs on asyncio's own loop."""
    if not service:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_async(make: Callable[[], Coroutine[Any, Any, T]], *, service: bool = False) -> T:
    """Run a coroutine; its errors reach the one error path (:mod:`bannertui.cli_errors`).
    ``service``: a long-running service (see :func:`_loop_factory`)."""
    with asyncio.Runner(loop_factory=_loop_factory(service)) as runner:
        return runner.run(make())


def _version(value: bool) -> None:
    if value:
        print(f"bannertui {__version__}")
        raise typer.Exit()


def _open_database(url: str | None, program: str = "bannertui", notify_every: float = 0.0) -> Any:
    """The configured database; ``program`` names our connections in PostgreSQL's
    ``pg_stat_activity`` (application_name); ``notify_every``: see ``Database``.  Only a
    database in the app's own data directory may have that directory made for it: a path
    someone typed with a mistake in its folders is refused, not created."""
    from bannertui.config import data_dir, load_settings
    from bannertui.store.database import Database, sqlite_path

    settings = load_settings(url)
    path = sqlite_path(settings.database_url)
    return Database(
        settings.database_url,
        busy_timeout=settings.sqlite_busy_timeout,
        pool_size=settings.pool_size,
        application_name=program,
        notify_every=notify_every,
        create_directory=path is not None and path.parent == data_dir(),
    )


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    db: DbOption = None,
    agent: Annotated[
        str | None, typer.Option(help="Agent login (demo mode or admins only).")
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Run the agent console (the default), or one of the commands below."""
    if ctx.invoked_subcommand is not None:
        return
    _run_app(db, agent, demo=False)


def _run_app(url: str | None, agent: str | None, *, demo: bool) -> None:
    from bannertui.identity import os_login
    from bannertui.services import Services
    from bannertui.services.web_login import SESSION_ENV
    from bannertui.store.migrate import upgrade
    from bannertui.ui.app import BannerApp

    db = _open_database(url, "bannertui console")
    caller = os_login()
    # A console of `bannertui serve`: its browser session's token, a credential checked against
    # the database (not a name); read once, and not handed down to what the console runs.
    web_session = os.environ.pop(SESSION_ENV, None)

    async def prepare() -> Actor:
        await upgrade(db, create=demo)
        if demo:
            await _seed_if_empty(db)
        services = Services(db)
        if web_session is not None:
            await services.accounts.ensure()
            actor: Actor = await services.web.session(web_session)
        else:
            login = await db.session_login() or caller
            await services.accounts.ensure()
            actor = await services.agents.authenticate(login, acting_as=agent, demo=demo)
        await db.dispose()
        return actor

    actor = run_async(prepare)
    from bannertui.config import data_dir
    from bannertui.logs import log_to_file

    # The terminal is the app's: warnings and errors go to a file (demo: demo.log).
    log_path = data_dir() / ("demo.log" if demo else "bannertui.log")
    if log_to_file(log_path) is None:
        typer.echo(f"bannertui: cannot write {log_path}: warnings will not be kept", err=True)
    from bannertui.gateway import http_gateway

    services = Services(db, gateways=http_gateway)
    runtime = None
    if demo:
        from bannertui.runtime import DemoRuntime

        runtime = DemoRuntime(services, data_dir() / "demo")
    app = BannerApp(services, actor, runtime=runtime)
    # One console a process, for a working day: what is loaded now lives as long.
    from bannertui.ui.textual_fixes import freeze_startup_objects

    freeze_startup_objects()
    app.run()


@app.command()
def demo(
    agent: Annotated[str, typer.Option(help="Demo agent to log in as.")] = "alice",
    reset: Annotated[
        bool, typer.Option(help="Delete the demo database and seed it again.")
    ] = False,
) -> None:
    """Run the app on the embedded demo database (created and seeded on first use)."""
    need_extra("demo", "demo")
    from bannertui.config import demo_database_url
    from bannertui.store.database import sqlite_path

    url = demo_database_url()
    path = sqlite_path(url)
    if reset and path is not None:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    _run_app(url, agent, demo=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="The address browsers use, e.g. https://console.example.com behind a TLS "
            "proxy (default: http://HOST:PORT).  Sign-in cookies are Secure when it is https."
        ),
    ] = None,
    db: DbOption = None,
    demo_mode: Annotated[
        bool, typer.Option("--demo", help="Serve `bannertui demo` instead of the console.")
    ] = False,
    agent: Annotated[
        str | None, typer.Option(help="The demo agent (with --demo; agents sign in otherwise).")
    ] = None,
) -> None:
    """Serve the console to web browsers (textual-serve), for supervisors without a terminal
    (SPEC X5).  Agents sign in with the password set by `bannertui agent password`; each
    browser session runs its own console as the agent who signed in.  Traffic is plain HTTP:
    serve a network only behind a TLS proxy, with --public-url https://... (docs/deploy.md)."""
    need_extra("serve", "serve")
    import shlex

    from bannertui.web.server import WILDCARD_HOSTS, ConsoleServer, parse_public_url

    if agent is not None and not demo_mode:
        fail("serve: agents sign in; --agent is for --demo", 2)
    if public_url is None and host in WILDCARD_HOSTS:
        fail(
            f"serve: on {host or 'every address'}, give --public-url: the address browsers "
            "use, e.g. http://console.example.com:8000",
            2,
        )
    if public_url is not None:
        try:
            parse_public_url(public_url)
        except ValueError as exc:
            fail(f"serve: {exc}", 2)
    command = [sys.executable, "-m", "bannertui"]
    if db:
        command += ["--db", db]
    if demo_mode:
        command.append("demo")
        if agent:
            command += ["--agent", agent]
    database = None
    if not demo_mode:
        from bannertui.store.migrate import upgrade

        async def prepare() -> None:  # the database answers and is migrated
            checked = _open_database(db, "bannertui serve")
            try:
                await upgrade(checked, create=False)
            finally:
                await checked.dispose()

        run_async(prepare)
        database = _open_database(db, "bannertui serve")
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {host}: "
            + (
                "anyone who can reach it gets a demo console (the demo has no sign-in)"
                if demo_mode
                else "sign-in is required, but traffic (passwords included) is not encrypted "
                "unless it is served behind TLS (docs/deploy.md, Browser access)"
            ),
            file=sys.stderr,
        )
    ConsoleServer(
        shlex.join(command),
        host=host,
        port=port,
        public_url=public_url,
        database=database,
        title="bannertui demo" if demo_mode else "bannertui",
    ).serve()


async def _seed_if_empty(db: Any) -> None:
    """The demo's data, on a database with no agent yet."""
    from bannertui.store.seed import is_empty, seed

    if await is_empty(db):
        await seed(db)


@app.command()
def credits(
    text: Annotated[
        str | None, typer.Argument(help="The message (default: standard input).")
    ] = None,
) -> None:
    """Measure an SMS: characters, encoding, units, credits (JSON).

    Text from standard input loses one trailing newline (as `echo` adds one).
    """
    from bannertui.domain.sms import measure

    if text is None:
        raw = sys.stdin.buffer.read()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            fail(f"standard input is not valid UTF-8 (byte {exc.start})", 2)
        if body.endswith("\r\n"):
            body = body[:-2]
        elif body.endswith("\n"):
            body = body[:-1]
    else:
        body = text
    emit(measure(body).as_dict())


@app.command("check-number")
def check_number(
    number: Annotated[
        str, typer.Argument(help="A number in international format (+33… or 0033…).")
    ],
    allow: Annotated[
        str | None, typer.Option(help="Authorized countries, ISO codes: FR,BE,…")
    ] = None,
) -> None:
    """Validate a recipient number (JSON): E.164, region, type, and the refusal if any."""
    from bannertui.domain import phone

    raw = number
    allowed = None
    if allow is not None:
        try:
            allowed = phone.parse_allow_list(allow)
        except ValueError as exc:
            fail(str(exc), 2)
    emit(phone.check_number(raw, allowed).as_dict())


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply the schema migrations."""
    from bannertui.store.migrate import upgrade

    async def go() -> tuple[str | None, str]:
        database = _open_database(db)
        try:
            return await upgrade(database)
        finally:
            await database.dispose()

    before, after = run_async(go)
    print(
        f"database schema: {before or 'empty'} -> {after}"
        if before != after
        else f"database schema is up to date ({after})"
    )


@db_app.command("seed-demo")
def db_seed_demo(db: DbOption = None) -> None:
    """Load the demo data into an empty database (migrating it first).  Into one that has
    only its administrators (`db init`), an administrator may load it beside them."""
    from bannertui.services import Services
    from bannertui.store.migrate import upgrade
    from bannertui.store.seed import is_empty, seed

    async def go() -> None:
        database = _open_database(db)
        try:
            await upgrade(database)
            if await is_empty(database):
                await seed(database)
                return
            await _caller(Services(database), "admin")
            await seed(database, beside_administrators=True)
        finally:
            await database.dispose()

    run_async(go)
    print("demo data loaded")


@db_app.command("init")
def db_init(
    admin: Annotated[str, typer.Option(help="Login of the first administrator.")],
    name: Annotated[str | None, typer.Option(help="Their display name.")] = None,
    db: DbOption = None,
) -> None:
    """Create (or migrate) a database and its first administrator.  Refused once any
    administrator exists: from then on administrators add the agents."""
    from bannertui.identity import os_login
    from bannertui.services import Services
    from bannertui.store.migrate import upgrade

    login = admin
    display = name if name is not None else login

    async def go() -> None:
        database = _open_database(db)
        try:
            await upgrade(database)
            services = Services(database)
            await services.accounts.ensure()
            await services.agents.init_admin(login, display, os_login())
        finally:
            await database.dispose()

    run_async(go)
    print(f"administrator {login} created")


#: Who may run a command: an administrator, any agent, or no check (the service processes
#: and the demo, see docs/permissions.md).
Caller = Literal["admin", "agent", "none"]


async def _caller(services: Any, who: Caller, acting_as: str | None = None) -> Actor:
    """The caller as an :class:`Actor` (``Unknown agent: <login>`` when it has no agent
    record), checked against ``who``: on PostgreSQL the database role it authenticated as, on
    SQLite the OS account running it (docs/permissions.md)."""
    from bannertui.domain.errors import NotAllowed
    from bannertui.identity import os_login

    login = await services.db.session_login() or os_login()
    actor: Actor = await services.agents.authenticate(login, acting_as=acting_as)
    if who == "admin":
        ctx = await services.agents.context(Actor(actor.by or actor.login))
        if not ctx.is_admin:
            raise NotAllowed(f"{ctx.login} is not an administrator: this command is for them")
    return actor


def _with_services(
    url: str | None,
    fn: Callable[..., Coroutine[Any, Any, T]],
    program: str = "bannertui",
    *,
    who: Caller = "admin",
    acting_as: str | None = None,
    service: bool = False,
    notify_every: float = 0.0,
) -> T:
    """Open the database (migrated), authenticate the caller (``who``: see :data:`Caller`),
    run ``fn(services, actor)`` (``fn(services)`` when ``who`` is "none"), close it; errors →
    one line.  ``service``: a long-running service (``dispatch``, ``webhook``; see
    :func:`_loop_factory`).  ``notify_every``: see ``Database``."""
    from bannertui.services import Services
    from bannertui.store.migrate import upgrade

    async def go() -> T:
        db = _open_database(url, program, notify_every)
        try:
            await upgrade(db, create=False)
            services = Services(db)
            if who == "none":
                await services.accounts.ensure()
                return await fn(services)
            actor = await _caller(services, who, acting_as)
            await services.accounts.ensure()
            return await fn(services, actor)
        finally:
            await db.dispose()

    return run_async(go, service=service)


@provider_app.command("set")
def provider_set(
    url: Annotated[str, typer.Option(help="The provider's https:// URL.")],
    login: Annotated[str | None, typer.Option(help="Login (enables authentication).")] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input instead of a prompt.")
    ] = False,
    ca_file: Annotated[
        str | None, typer.Option(help="PEM file of the CA that signs the provider's certificate.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Set the account's SMS provider.  The password is asked without echo and stored in a file
    only you can read (or set BANNERTUI_PROVIDER_PASSWORD); it never enters the database."""
    ca_path = str(Path(ca_file).resolve()) if ca_file else None
    password: str | None = None
    if login is not None:
        password = _read_password(
            "Provider password",
            password_stdin,
            "a login needs a password: use --password-stdin or a terminal",
        )
        if not password:
            fail("the password is empty", 2)

    async def go(services: Any, actor: Actor) -> Any:
        return await services.provider.save(
            actor=actor,
            url=url,
            auth_enabled=login is not None,
            login=login,
            password=password,
            ca_file=ca_path,
        )

    settings = _with_services(db, go)
    print(f"provider set: {settings.url}" + (f" as {settings.login}" if settings.login else ""))


@provider_app.command("show")
def provider_show(db: DbOption = None) -> None:
    """Show the provider settings as JSON (the password masked)."""
    from bannertui.store.secrets import SecretStore

    store = SecretStore()

    async def go(services: Any, actor: Actor) -> Any:
        settings = await services.provider.get()
        return settings, (store.get() if settings.auth_enabled else None)

    settings, secret = _with_services(db, go)
    emit(
        {
            "url": settings.url,
            "auth_enabled": settings.auth_enabled,
            "login": settings.login,
            "password": "********" if secret else None,
            "password_source": ("environment" if store.from_env else "file") if secret else None,
            "ca_file": settings.ca_file,
        }
    )


@provider_app.command("test")
def provider_test(db: DbOption = None) -> None:
    """Test the connection: reachable, TLS failure, authentication refused or timeout."""
    from bannertui.gateway.factory import build_provider

    async def go(services: Any, actor: Actor) -> Any:
        provider = build_provider(await services.provider.get())
        try:
            return await provider.test_connection()
        finally:
            await provider.aclose()

    report = _with_services(db, go)
    print(f"{report.result}: {report.message}")
    if not report.ok:
        raise typer.Exit(1)


@account_app.command("show")
def account_show(db: DbOption = None) -> None:
    """The account as JSON: name, credit balance, whether a provider is set up (and its URL,
    for administrators)."""

    async def go(services: Any, actor: Actor) -> Any:
        return await services.accounts.get(actor)

    acc = _with_services(db, go, who="agent")
    shown = {"name": acc.name, "credits": acc.credits, "provider_set": acc.provider_set}
    if acc.provider_url is not None:
        shown["provider_url"] = acc.provider_url
    emit(shown)


@account_app.command("add-credits")
def account_add_credits(
    amount: Annotated[int, typer.Argument(help="Number of credits to add (> 0).")],
    db: DbOption = None,
) -> None:
    """Add SMS credits to the account."""

    async def go(services: Any, actor: Actor) -> int:
        return int(await services.accounts.add_credits(actor, amount))

    emit({"credits": _with_services(db, go)})


def _read_password(prompt: str, from_stdin: bool, no_terminal: str) -> str:
    """A password: one line of standard input, or asked twice without echo on a terminal
    (``no_terminal`` is the refusal when there is neither)."""
    if from_stdin:
        raw = sys.stdin.buffer.readline()
        try:
            return raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            fail(f"standard input is not valid UTF-8 (byte {exc.start})", 2)
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=True))
    fail(no_terminal, 2)


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--var expects NAME=VALUE, got {pair!r}", 2)
        out[name.lstrip("$")] = value
    return out


@sms_app.command("send")
def sms_send(
    to: Annotated[str, typer.Option(help="Recipient, international format.")],
    agent: Annotated[
        str | None,
        typer.Option(help="Send as this agent (administrators only; default: yourself)."),
    ] = None,
    sender: Annotated[
        str | None, typer.Option("--from", help="Sender number (default: the profile's only one).")
    ] = None,
    template: Annotated[str | None, typer.Option(help="Template name.")] = None,
    var: Annotated[list[str] | None, typer.Option(help="Template variable NAME=VALUE.")] = None,
    text: Annotated[str | None, typer.Option(help="Message text (default: the template).")] = None,
    db: DbOption = None,
) -> None:
    """Queue a Direct SMS with the same rules as the app; prints {"retId", "credits", "status"}."""
    variables = _parse_vars(var or [])
    body = text if text is not None else None

    async def go(services: Any, actor: Actor) -> Any:
        tid = await services.outbound.template_id(actor, template) if template else None
        return await services.outbound.send_direct(
            actor, to, sender, body, template_id=tid, variables=variables
        )

    acting_as = agent if agent is not None else None
    msg = _with_services(db, go, who="agent", acting_as=acting_as)
    emit({"retId": msg.ret_id, "credits": msg.credits, "status": msg.status})


@agent_app.command("add")
def agent_add(
    login: Annotated[
        str,
        typer.Argument(
            help="Their login: their OS account, and on PostgreSQL their database role."
        ),
    ],
    profile: Annotated[str, typer.Option(help="The profile whose permissions they get.")],
    name: Annotated[
        str | None, typer.Option(help="Their display name (default: the login).")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(help="agent, supervisor or admin: must be the profile's role (a check)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add an agent (administrators).  On PostgreSQL their login role is created too, in the
    group of their role (bannertui_agents, bannertui_supervisors or bannertui_admins): they
    connect as it (peer, scram-sha-256 or a certificate: docs/deploy.md)."""
    if role is not None and role not in ("agent", "supervisor", "admin"):
        fail(f"--role must be agent, supervisor or admin, not {role!r}", 2)

    async def go(services: Any, actor: Actor) -> Any:
        return await services.agents.add(actor, login, name or login, profile, role)

    agent = _with_services(db, go)
    print(f"agent {agent.login} added")


@agent_app.command("disable")
def agent_disable(
    login: Annotated[str, typer.Argument(help="The agent's login.")], db: DbOption = None
) -> None:
    """Disable an agent (administrators): refused at their next operation; on PostgreSQL
    their database role can no longer log in."""

    _set_active(login, False, db)


@agent_app.command("enable")
def agent_enable(
    login: Annotated[str, typer.Argument(help="The agent's login.")], db: DbOption = None
) -> None:
    """Enable a disabled agent again (administrators)."""

    _set_active(login, True, db)


def _set_active(login: str, active: bool, db: str | None) -> None:
    async def go(services: Any, actor: Actor) -> None:
        await services.agents.set_active(actor, login, active)

    _with_services(db, go)
    print(f"agent {login} {'enabled' if active else 'disabled'}")


@agent_app.command("remove")
def agent_remove(
    login: Annotated[str, typer.Argument(help="The agent's login.")], db: DbOption = None
) -> None:
    """Remove an agent with nothing on record (administrators); on PostgreSQL their database
    role loses its login and group.  One with messages or conversations is disabled instead."""

    async def go(services: Any, actor: Actor) -> None:
        await services.agents.remove(actor, login)

    _with_services(db, go)
    print(f"agent {login} removed")


@agent_app.command("password")
def agent_password(
    login: Annotated[str, typer.Argument(help="The agent's login.")],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input instead of a prompt.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Set an agent's password for browser sign-in (`bannertui serve`): your own, or anyone's
    for administrators.  Asked twice without echo (or read from standard input); at least 10
    characters; kept as an Argon2 hash.  The agent's open browser sessions end."""
    target = login
    password = _read_password(
        "New password", password_stdin, "no terminal to ask the password on: use --password-stdin"
    )

    async def go(services: Any, actor: Actor) -> None:
        await services.web.set_password(actor, target, password)

    _with_services(db, go, who="agent")
    print(f"password set for {target}")


@app.command()
def dispatch(
    once: Annotated[bool, typer.Option(help="Send what is due now, then exit.")] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Sends in flight.")] = 32,
    lease_seconds: Annotated[
        float,
        typer.Option(
            min=1, help="A message claimed longer than this by a dead dispatcher is sent again."
        ),
    ] = 30.0,
    db: DbOption = None,
) -> None:
    """Send the outbox through the provider (several dispatchers may run at once)."""
    import math
    import signal

    if not math.isfinite(lease_seconds):
        fail(f"--lease-seconds: {lease_seconds} is not a number of seconds", 2)

    from bannertui.gateway.factory import build_provider
    from bannertui.services.dispatch import Dispatcher, DispatchPolicy

    async def go(services: Any) -> Any:
        provider = build_provider(await services.provider.get())
        dispatcher = Dispatcher(
            services.db,
            provider,
            DispatchPolicy(concurrency=concurrency, lease_seconds=lease_seconds),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await (dispatcher.run_once() if once else dispatcher.run(stop))
        finally:
            await provider.aclose()

    stats = _with_services(db, go, "bannertui dispatch", who="none", service=True)
    emit(
        {
            "claimed": stats.claimed,
            "sent": stats.sent,
            "retried": stats.retried,
            "failed": stats.failed,
        }
    )


DemoOption = Annotated[
    bool, typer.Option("--demo", help="Use the demo database (what `bannertui demo` runs on).")
]


def _target_db(db: str | None, demo: bool) -> str | None:
    if demo:
        from bannertui.config import demo_database_url

        return demo_database_url()
    return db


@simulate_app.command("call")
def simulate_call(
    number: Annotated[str, typer.Argument(help="The caller, international format.")],
    agent: Annotated[
        str | None, typer.Option(help="Agent who takes the call (default: least busy available).")
    ] = None,
    demo: DemoOption = False,
    db: DbOption = None,
) -> None:
    """An incoming voice call from the CTI feed: a voice interaction for an agent (B11)."""
    raw = number

    async def go(services: Any, *actor: Actor) -> Any:
        return await services.voice.incoming_call(raw, agent)

    call = _with_services(_target_db(db, demo), go, who="none" if demo else "admin")
    emit({"interaction": call.id, "channel": "voice", "from": call.remote_number})


@simulate_app.command("sms")
def simulate_sms(
    sender: Annotated[str, typer.Option("--from", help="The customer's number.")],
    to: Annotated[str, typer.Option(help="One of our numbers (a queue's number routes it).")],
    text: Annotated[str, typer.Option(help="The message.")],
    demo: DemoOption = False,
    db: DbOption = None,
) -> None:
    """An inbound SMS, stored as the webhook receiver would store it."""
    import uuid

    body = text

    async def go(services: Any, *actor: Actor) -> Any:
        return await services.inbound.receive(sender, to, body, f"sim-cli-{uuid.uuid4().hex}")

    result = _with_services(_target_db(db, demo), go, who="none" if demo else "admin")
    emit({"message": result.message.id, "interaction": result.message.interaction_id})


@app.command("webhook")
def webhook_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8090,
    db: DbOption = None,
) -> None:
    """Receive inbound SMS and delivery receipts from the provider (see docs/webhook.md).
    The shared secret comes from BANNERTUI_WEBHOOK_SECRET."""
    need_extra("receiver", "webhook")
    import signal

    from bannertui.web.webhook import WebhookServer, load_webhook_secret

    try:
        secret = load_webhook_secret()
    except ValueError as exc:
        fail(str(exc), 2)

    async def go(services: Any) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            server = WebhookServer(services, secret, host, port)
            await server.start()
        except OSError as exc:
            raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        print(f"webhook receiver listening on {server.url}", flush=True)
        try:
            await stop.wait()
        finally:
            await server.stop()

    _with_services(
        db,
        go,
        "bannertui webhook",
        who="none",
        service=True,
        notify_every=WEBHOOK_NOTIFY_EVERY,
    )


@app.command("provider-sim")
def provider_sim(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8443,
    cert_dir: Annotated[
        Path | None, typer.Option(help="Where its CA and certificate live (default: data dir).")
    ] = None,
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Receiver base URL for receipts and replies, e.g. http://127.0.0.1:8090"),
    ] = None,
    login: Annotated[
        str | None,
        typer.Option(help="Require Basic auth (password from BANNERTUI_SIM_PASSWORD)."),
    ] = None,
    fail_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of sends refused.")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(min=0, max=1, help="Share that hang.")] = 0.0,
    latency_ms: Annotated[float, typer.Option(min=0, help="Added to every request.")] = 0.0,
    status: Annotated[int, typer.Option(help="HTTP status of refused sends.")] = 503,
    delivery_fail_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    receipt_delay: Annotated[float, typer.Option(min=0, help="Seconds before receipts.")] = 0.5,
    reply: Annotated[list[str] | None, typer.Option(help="Scripted reply (repeatable).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
) -> None:
    """A local HTTPS SMS gateway for demos and tests (loopback; its own CA)."""
    need_extra("demo", "provider-sim")
    from bannertui.config import data_dir
    from bannertui.simulator.provider import SimulatorConfig, run_simulator
    from bannertui.web.webhook import load_webhook_secret

    secret = b""
    if webhook_url:
        try:
            secret = load_webhook_secret()
        except ValueError as exc:
            fail(str(exc), 2)
    try:
        config = SimulatorConfig(
            host=host,
            port=port,
            login=login,
            password=os.environ.get("BANNERTUI_SIM_PASSWORD") if login else None,
            webhook_url=webhook_url,
            webhook_secret=secret,
            receipt_delay_s=receipt_delay,
            delivery_fail_rate=delivery_fail_rate,
            fail_rate=fail_rate,
            timeout_rate=timeout_rate,
            latency_ms=latency_ms,
            status=status,
            replies=list(reply or []),
            seed=seed,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    try:
        asyncio.run(run_simulator(config, cert_dir or data_dir() / "simulator"))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass


def main() -> None:
    from bannertui.cli_errors import run

    sys.exit(run(typer.main.get_command(app)))
