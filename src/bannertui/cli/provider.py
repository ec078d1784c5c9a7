"""``bannertui provider``: the SMS provider's settings (administrators)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bannertui.cli.base import DbOption, emit, fail, provider_app, read_password, with_services
from bannertui.domain.actor import Actor


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
        password = read_password(
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

    settings = with_services(db, go)
    print(f"provider set: {settings.url}" + (f" as {settings.login}" if settings.login else ""))


@provider_app.command("show")
def provider_show(db: DbOption = None) -> None:
    """Show the provider settings as JSON (the password masked)."""
    from bannertui.store.secrets import SecretStore

    store = SecretStore()

    async def go(services: Any, actor: Actor) -> Any:
        settings = await services.provider.get()
        return settings, (store.get() if settings.auth_enabled else None)

    settings, secret = with_services(db, go)
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
    from bannertui.store.secrets import SecretStore

    async def go(services: Any, actor: Actor) -> Any:
        secrets = SecretStore.of_connector(await services.provider.connector_id())
        provider = build_provider(await services.provider.get(), secrets)
        try:
            return await provider.test_connection()
        finally:
            await provider.aclose()

    report = with_services(db, go)
    print(f"{report.result}: {report.message}")
    if not report.ok:
        raise typer.Exit(1)
