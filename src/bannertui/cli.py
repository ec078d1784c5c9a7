"""The ``bannertui`` command.  Builds Settings → Database → Services → App; nothing at import."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from bannertui import __version__

T = TypeVar("T")

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
    """One line on stderr, then exit."""
    print(f"bannertui: {' '.join(message.split())}", file=sys.stderr)
    raise typer.Exit(code)


def emit(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine, turning expected errors into one line on stderr and exit 1."""
    from bannertui.domain.errors import BannerError
    from bannertui.store.database import DatabaseError
    from bannertui.store.seed import SeedError

    try:
        return asyncio.run(make())
    except BannerError as exc:
        fail(exc.message)
    except (DatabaseError, SeedError) as exc:
        fail(str(exc))


def _version(value: bool) -> None:
    if value:
        print(f"bannertui {__version__}")
        raise typer.Exit()


def _open_database(url: str | None) -> Any:
    from bannertui.config import load_settings
    from bannertui.store.database import Database

    settings = load_settings(url)
    return Database(
        settings.database_url,
        busy_timeout=settings.sqlite_busy_timeout,
        pool_size=settings.pool_size,
    )


def _text_arg(value: str) -> str:
    """An argv string back to its bytes and strictly UTF-8 decoded (argv uses surrogateescape)."""
    try:
        return os.fsencode(value).decode("utf-8")
    except UnicodeError:
        fail("the argument is not valid UTF-8 text", 2)


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
    from bannertui.services import Services
    from bannertui.store.migrate import upgrade
    from bannertui.ui.app import BannerApp

    db = _open_database(url)
    login = agent or getpass.getuser()

    async def prepare() -> None:
        await upgrade(db)
        services = Services(db)
        await services.accounts.ensure()
        ctx = await services.agents.context(login)
        if agent and not demo and ctx.profile.role != "admin":
            from bannertui.domain.errors import NotAllowed

            raise NotAllowed("--agent is for demo mode and administrators only")
        await db.dispose()

    run_async(prepare)
    BannerApp(Services(db), login=login).run()


@app.command()
def demo(
    agent: Annotated[str, typer.Option(help="Demo agent to log in as.")] = "alice",
    reset: Annotated[
        bool, typer.Option(help="Delete the demo database and seed it again.")
    ] = False,
) -> None:
    """Run the app on the embedded demo database (created and seeded on first use)."""
    from bannertui.config import demo_database_url
    from bannertui.store.database import sqlite_path

    url = demo_database_url()
    path = sqlite_path(url)
    if reset and path is not None:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    _ensure_seeded(url)
    _run_app(url, agent, demo=True)


def _ensure_seeded(url: str) -> None:
    from bannertui.store.migrate import upgrade
    from bannertui.store.seed import is_empty, seed

    async def go() -> None:
        db = _open_database(url)
        try:
            await upgrade(db)
            if await is_empty(db):
                await seed(db)
        finally:
            await db.dispose()

    run_async(go)


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
        body = _text_arg(text)
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

    raw = _text_arg(number)
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
    """Load the demo data into an empty database (migrating it first)."""
    from bannertui.store.migrate import upgrade
    from bannertui.store.seed import seed

    async def go() -> None:
        database = _open_database(db)
        try:
            await upgrade(database)
            await seed(database)
        finally:
            await database.dispose()

    run_async(go)
    print("demo data loaded")


def main() -> None:
    app()
