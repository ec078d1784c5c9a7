"""``bannertui db``: migrations, the demo data, a first administrator."""

from __future__ import annotations

from typing import Annotated

import typer

from bannertui.cli.base import DbOption, caller_actor, db_app, open_database, run_async


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply the schema migrations."""
    from bannertui.store.migrate import upgrade

    async def go() -> tuple[str | None, str]:
        database = open_database(db)
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
        database = open_database(db)
        try:
            await upgrade(database)
            if await is_empty(database):
                await seed(database)
                return
            await caller_actor(Services(database), "admin")
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
        database = open_database(db)
        try:
            await upgrade(database)
            services = Services(database)
            await services.accounts.ensure()
            await services.agents.init_admin(login, display, os_login())
        finally:
            await database.dispose()

    run_async(go)
    print(f"administrator {login} created")
