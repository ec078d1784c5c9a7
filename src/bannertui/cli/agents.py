"""``bannertui agent``: agents and their database roles, and browser passwords."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bannertui.cli.base import DbOption, agent_app, fail, read_password, with_services
from bannertui.domain.actor import Actor


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

    agent = with_services(db, go)
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

    with_services(db, go)
    print(f"agent {login} {'enabled' if active else 'disabled'}")


@agent_app.command("remove")
def agent_remove(
    login: Annotated[str, typer.Argument(help="The agent's login.")], db: DbOption = None
) -> None:
    """Remove an agent with nothing on record (administrators); on PostgreSQL their database
    role loses its login and group.  One with messages or conversations is disabled instead."""

    async def go(services: Any, actor: Actor) -> None:
        await services.agents.remove(actor, login)

    with_services(db, go)
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
    password = read_password(
        "New password", password_stdin, "no terminal to ask the password on: use --password-stdin"
    )

    async def go(services: Any, actor: Actor) -> None:
        await services.web.set_password(actor, target, password)

    with_services(db, go, who="agent")
    print(f"password set for {target}")
