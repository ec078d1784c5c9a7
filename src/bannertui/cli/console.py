"""The console: ``bannertui`` (the agent's own), ``bannertui demo`` and ``bannertui serve``."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from bannertui.cli.base import (
    DbOption,
    app,
    fail,
    need_extra,
    open_database,
    run_async,
    show_version,
)
from bannertui.domain.actor import Actor


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    db: DbOption = None,
    agent: Annotated[
        str | None, typer.Option(help="Agent login (demo mode or admins only).")
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=show_version, is_eager=True, help="Print the version."),
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

    db = open_database(url, "bannertui console")
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

    # (The demo keeps its connectors' secrets in its own directory, with its simulators.)
    services = Services(
        db, gateways=http_gateway, secrets_dir=data_dir() / "demo" if demo else None
    )
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
            checked = open_database(db, "bannertui serve")
            try:
                await upgrade(checked, create=False)
            finally:
                await checked.dispose()

        run_async(prepare)
        database = open_database(db, "bannertui serve")
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
