"""The command line's shared parts: the Typer apps, options, the one way to fail, and
running a coroutine with the database and the services."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
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
template_app = typer.Typer(
    help="Templates: list, add, edit and remove them (administrators).", no_args_is_help=True
)
app.add_typer(template_app, name="template")
number_app = typer.Typer(
    help="Our SMS numbers: list, add, label and remove them (administrators).", no_args_is_help=True
)
app.add_typer(number_app, name="number")
profile_app = typer.Typer(
    help="Profiles: list, add, edit and remove them, with their permissions (administrators).",
    no_args_is_help=True,
)
app.add_typer(profile_app, name="profile")
queue_app = typer.Typer(
    help="Queues: list them and set their members (administrators).", no_args_is_help=True
)
app.add_typer(queue_app, name="queue")

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
    "receiver": ("starlette", "uvicorn", "twilio"),
    "demo": ("starlette", "uvicorn", "trustme", "twilio"),
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


def loop_factory(service: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
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
    ``service``: a long-running service (see :func:`loop_factory`)."""
    with asyncio.Runner(loop_factory=loop_factory(service)) as runner:
        return runner.run(make())


def show_version(value: bool) -> None:
    if value:
        print(f"bannertui {__version__}")
        raise typer.Exit()


def open_database(url: str | None, program: str = "bannertui", notify_every: float = 0.0) -> Any:
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


#: Who may run a command: an administrator, any agent, or no check (the service processes
#: and the demo, see docs/permissions.md).
Caller = Literal["admin", "agent", "none"]


async def caller_actor(services: Any, who: Caller, acting_as: str | None = None) -> Actor:
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


def with_services(
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
    :func:`loop_factory`).  ``notify_every``: see ``Database``."""
    from bannertui.services import Services
    from bannertui.store.migrate import upgrade

    async def go() -> T:
        db = open_database(url, program, notify_every)
        try:
            await upgrade(db, create=False)
            services = Services(db)
            if who == "none":
                await services.accounts.ensure()
                return await fn(services)
            actor = await caller_actor(services, who, acting_as)
            await services.accounts.ensure()
            return await fn(services, actor)
        finally:
            await db.dispose()

    return run_async(go, service=service)


def read_password(prompt: str, from_stdin: bool, no_terminal: str) -> str:
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


def parse_vars(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--var expects NAME=VALUE, got {pair!r}", 2)
        out[name.lstrip("$")] = value
    return out


DemoOption = Annotated[
    bool, typer.Option("--demo", help="Use the demo database (what `bannertui demo` runs on).")
]


def target_db(db: str | None, demo: bool) -> str | None:
    if demo:
        from bannertui.config import demo_database_url

        return demo_database_url()
    return db
