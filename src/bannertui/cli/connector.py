"""``bannertui connector``: the account's SMS connectors from scripts (issue #20;
administrators, the same services and checks as the Connectors tab).

A connector's secret (the https-json password, the Twilio auth token, and with an API key SID
the key's secret after it, the SMPP bind password) is asked without echo on the terminal, or
read from standard input with ``--secret-stdin`` (one line each):
never an option's value, never shown (``show`` masks it and names where it is kept).  Before
a connector is saved, "Test connection" runs on the new settings, as in the tab: a failed
test saves nothing (``--no-test`` skips it)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bannertui.cli.base import DbOption, app, emit, fail, read_password, with_services
from bannertui.domain.actor import Actor
from bannertui.domain.text import one_line

connector_app = typer.Typer(
    help="SMS connectors: list, show, add, edit, test and remove them, and their numbers "
    "(administrators).",
    no_args_is_help=True,
)
app.add_typer(connector_app, name="connector")

MASK = "********"

RefArgument = Annotated[str, typer.Argument(metavar="NAME|ID", help="The connector's name or id.")]
TypeOption = Annotated[str, typer.Option("--type", help="https-json, twilio or smpp.")]
UrlOption = Annotated[
    str | None, typer.Option(help="https-json: the provider's https:// URL.", show_default=False)
]
AuthOption = Annotated[
    bool | None,
    typer.Option(
        "--auth/--no-auth",
        help="https-json: send a login and password (--login alone turns it on).",
        show_default=False,
    ),
]
LoginOption = Annotated[str | None, typer.Option(help="https-json: the login.", show_default=False)]
CaFileOption = Annotated[
    str | None,
    typer.Option(
        help="PEM file of the CA that signs the provider's certificate ('' removes it).",
        show_default=False,
    ),
]
AccountSidOption = Annotated[
    str | None, typer.Option(help="twilio: the Account SID (AC…).", show_default=False)
]
ApiKeySidOption = Annotated[
    str | None,
    typer.Option(
        help=(
            "twilio: an API key SID (SK…), whose secret is asked after the auth token "
            "('' removes it)."
        ),
        show_default=False,
    ),
]
MessagingServiceOption = Annotated[
    str | None,
    typer.Option(
        help="twilio: the Messaging Service SID (MG…) to send with ('' removes it).",
        show_default=False,
    ),
]
ApiBaseOption = Annotated[
    str | None,
    typer.Option(
        help="twilio: the API's https:// base URL (default Twilio's).", show_default=False
    ),
]
PublicUrlOption = Annotated[
    str | None,
    typer.Option(
        help="twilio: where Twilio reaches our receiver, for its callbacks ('' removes it).",
        show_default=False,
    ),
]
HostOption = Annotated[
    str | None,
    typer.Option(help="smpp: the SMSC's host name or IP address.", show_default=False),
]
PortOption = Annotated[
    str | None,
    typer.Option(
        metavar="PORT", help="smpp: the SMSC's TCP port (default 2775).", show_default=False
    ),
]
TlsOption = Annotated[
    bool | None,
    typer.Option(
        "--tls/--no-tls",
        help="smpp: TLS, the SMSC's certificate verified against the system's CAs (default off).",
        show_default=False,
    ),
]
SystemIdOption = Annotated[
    str | None,
    typer.Option(
        help="smpp: the system_id the carrier gave you (1-15 characters).", show_default=False
    ),
]
SystemTypeOption = Annotated[
    str | None,
    typer.Option(
        help="smpp: the system_type, when the carrier asks for one (0-12 characters; '' "
        "removes it).",
        show_default=False,
    ),
]
BindModeOption = Annotated[
    str | None,
    typer.Option(
        metavar="MODE",
        help="smpp: transceiver (one bind, the default) or pair (a transmitter and a receiver).",
        show_default=False,
    ),
]
SourceTonOption = Annotated[
    str | None,
    typer.Option(
        metavar="TON",
        help="smpp: the type of number of our sender numbers, 0-6 (default 1, international).",
        show_default=False,
    ),
]
SourceNpiOption = Annotated[
    str | None,
    typer.Option(
        metavar="NPI",
        help="smpp: the numbering plan of our sender numbers, 0-18 (default 1, E.164).",
        show_default=False,
    ),
]
WindowOption = Annotated[
    str | None,
    typer.Option(
        metavar="N",
        help="smpp: submits in flight without an answer, 1-100 (default 10).",
        show_default=False,
    ),
]
ThroughputOption = Annotated[
    str | None,
    typer.Option(
        metavar="PER_SECOND",
        help="smpp: messages a second at most, 0-10000 (default 0: no limit).",
        show_default=False,
    ),
]
ConcatOption = Annotated[
    str | None,
    typer.Option(
        metavar="HOW",
        help="smpp: how a long text's parts are joined: udh8 (the default), udh16 or sar.",
        show_default=False,
    ),
]
TestOption = Annotated[
    bool, typer.Option("--test/--no-test", help="Test the connection before saving.")
]
SecretStdinOption = Annotated[
    bool,
    typer.Option("--secret-stdin", help="Read the secret from standard input instead of a prompt."),
]


def _connectors(services: Any) -> Any:
    """The connector service, able to open an adapter ("Test connection", the provider's
    numbers): the CLI's ``Services`` are built without one."""
    from bannertui.gateway import http_gateway

    svc = services.connectors
    if svc.gateways is None:
        svc.gateways = http_gateway
    return svc


def _settings_given(
    kind: str,
    *,
    url: str | None,
    auth: bool | None,
    login: str | None,
    ca_file: str | None,
    account_sid: str | None,
    api_key_sid: str | None,
    messaging_service_sid: str | None,
    api_base: str | None,
    public_url: str | None,
    smpp: dict[str, Any],
) -> dict[str, Any]:
    """The settings the options name (those not given left out), checked against the type:
    an option of another type is refused by name.  ``smpp``: the SMPP options, by setting."""
    from bannertui.domain.connectors import FIELDS, InvalidConnector, connector_type

    ctype = connector_type(kind)
    ca_path = str(Path(ca_file).resolve()) if ca_file else ca_file
    given: dict[str, Any] = {
        "url": url,
        "auth_enabled": auth,
        "login": login,
        "ca_file": ca_path,
        "account_sid": account_sid,
        "api_key_sid": api_key_sid,
        "messaging_service_sid": messaging_service_sid,
        "api_base": api_base,
        "public_url": public_url,
        **smpp,
    }
    given = {k: v for k, v in given.items() if v is not None}
    foreign = [k for k in given if k not in FIELDS[ctype]]
    if foreign:
        flags = ", ".join(
            "--" + ("auth" if k == "auth_enabled" else k.replace("_", "-")) for k in foreign
        )
        raise InvalidConnector(f"a {ctype.value} connector has no option {flags}")
    if login is not None:
        if auth is False:
            fail("--login needs authentication: drop --no-auth", 2)
        given["auth_enabled"] = True
    return given


def _smpp_given(
    *,
    host: str | None,
    port: str | None,
    tls: bool | None,
    system_id: str | None,
    system_type: str | None,
    bind_mode: str | None,
    source_ton: str | None,
    source_npi: str | None,
    window: str | None,
    throughput: str | None,
    concat: str | None,
) -> dict[str, Any]:
    """The SMPP options by setting (as typed: the domain's validation refuses each by name)."""
    return {
        "host": host,
        "port": port,
        "tls": tls,
        "system_id": system_id,
        "system_type": system_type,
        "bind_mode": bind_mode,
        "source_ton": source_ton,
        "source_npi": source_npi,
        "window": window,
        "throughput": throughput,
        "concat": concat,
    }


#: What each type's secret is called when it is asked (https-json: its password).
SECRET_LABEL = {"twilio": "Auth token", "smpp": "Bind password"}


def _needs_secret(kind: str, settings: dict[str, Any]) -> bool:
    """Whether the connector works with a secret: Twilio and SMPP always, https-json when it
    authenticates."""
    return kind in SECRET_LABEL or bool(settings.get("auth_enabled"))


def _read_secret(kind: str, from_stdin: bool) -> str:
    label = SECRET_LABEL.get(kind, "Provider password")
    secret = read_password(
        label, from_stdin, "the secret is asked on a terminal: use --secret-stdin to pipe it"
    )
    if not secret:
        fail("the secret is empty", 2)
    return secret


def _read_key_secret(from_stdin: bool) -> str:
    """Twilio with an API key SID: the key's secret too (with --secret-stdin, the line after
    the auth token's)."""
    secret = read_password(
        "API key secret",
        from_stdin,
        "the API key secret is asked on a terminal: use --secret-stdin to pipe it",
    )
    if not secret:
        fail("the API key secret is empty", 2)
    return secret


async def _test_first(
    svc: Any,
    actor: Actor,
    kind: str,
    settings: dict[str, Any],
    secret: str | None,
    ref: Any,
    key_secret: str | None = None,
) -> str:
    """ "Test connection" on settings about to be saved: refused (nothing saved) unless the
    provider answered."""
    report = await svc.test(
        actor, kind=kind, settings=settings, secret=secret, ref=ref, key_secret=key_secret
    )
    if not report.ok:
        fail(f"Connection test failed: {report.result}: {report.message}")
    return f"{report.result}: {report.message}"


# --- reading -------------------------------------------------------------------------------


@connector_app.command("list")
def connector_list(db: DbOption = None) -> None:
    """Every connector, one JSON object a line: id, name, type, configured, enabled."""

    async def go(services: Any, actor: Actor) -> Any:
        return await services.connectors.connectors(actor)

    for rec in with_services(db, go):
        emit(
            {
                "id": rec.id,
                "name": rec.name,
                "type": rec.type.value,
                "configured": rec.configured,
                "enabled": rec.enabled,
            }
        )


@connector_app.command("show")
def connector_show(ref: RefArgument, db: DbOption = None) -> None:
    """One connector as JSON, its secret masked.

    Its settings (the secret shown as ******** with where it is kept: environment or file),
    the last hour's sent and failed messages and latest error, how many queues and numbers
    it serves, and its numbers."""

    async def go(services: Any, actor: Actor) -> Any:
        svc = services.connectors
        rec = await svc.get(actor, ref)
        figures = next(f for f in await svc.figures(actor) if f.id == rec.id)
        numbers = await svc.numbers_of(rec.id)
        store = rec.secrets(svc.secrets_dir)
        secret = store.get() if _needs_secret(rec.type.value, dict(rec.settings)) else None
        return (
            rec,
            figures,
            numbers,
            (("environment" if store.from_env else "file") if secret else None),
        )

    rec, figures, numbers, source = with_services(db, go)
    emit(
        {
            "id": rec.id,
            "name": rec.name,
            "type": rec.type.value,
            "configured": rec.configured,
            "enabled": rec.enabled,
            "settings": dict(rec.settings),
            "secret": MASK if source else None,
            "secret_source": source,
            "last_hour": {
                "sent": figures.sent,
                "failed": figures.failed,
                "last_error": figures.last_error,
            },
            "queue_count": figures.queues,
            "number_count": figures.numbers,
            "numbers": numbers,
        }
    )


# --- changing ------------------------------------------------------------------------------


@connector_app.command("add")
def connector_add(
    name: Annotated[str, typer.Argument(help="Its name, unique in the account.")],
    kind: TypeOption,
    url: UrlOption = None,
    auth: AuthOption = None,
    login: LoginOption = None,
    ca_file: CaFileOption = None,
    account_sid: AccountSidOption = None,
    api_key_sid: ApiKeySidOption = None,
    messaging_service_sid: MessagingServiceOption = None,
    api_base: ApiBaseOption = None,
    public_url: PublicUrlOption = None,
    host: HostOption = None,
    port: PortOption = None,
    tls: TlsOption = None,
    system_id: SystemIdOption = None,
    system_type: SystemTypeOption = None,
    bind_mode: BindModeOption = None,
    source_ton: SourceTonOption = None,
    source_npi: SourceNpiOption = None,
    window: WindowOption = None,
    throughput: ThroughputOption = None,
    concat: ConcatOption = None,
    test: TestOption = True,
    secret_stdin: SecretStdinOption = False,
    db: DbOption = None,
) -> None:
    """Add a connector, tested before it is saved.

    Its secret (the Twilio auth token, the SMPP bind password, or https-json's password with
    a login) is asked without echo, or read from standard input with --secret-stdin.  "Test
    connection" runs before anything is saved: a failed test saves nothing (--no-test skips
    it)."""
    from bannertui.domain.connectors import (
        InvalidConnector,
        connector_type,
        validate_name,
        validate_settings,
    )

    ctype = connector_type(kind).value
    settings = _settings_given(
        ctype,
        url=url,
        auth=auth,
        login=login,
        ca_file=ca_file,
        account_sid=account_sid,
        api_key_sid=api_key_sid,
        messaging_service_sid=messaging_service_sid,
        api_base=api_base,
        public_url=public_url,
        smpp=_smpp_given(
            host=host,
            port=port,
            tls=tls,
            system_id=system_id,
            system_type=system_type,
            bind_mode=bind_mode,
            source_ton=source_ton,
            source_npi=source_npi,
            window=window,
            throughput=throughput,
            concat=concat,
        ),
    )
    clean_name = validate_name(name)
    validate_settings(ctype, settings)  # refused before the secret is typed

    async def go(services: Any, actor: Actor) -> tuple[Any, str | None]:
        # (an administrator: checked before the secret is asked, and so is the name)
        svc = _connectors(services)
        if any(n.casefold() == clean_name.casefold() for _, n in await svc.names(actor)):
            raise InvalidConnector(f"a connector is already named {clean_name!r}")
        secret = _read_secret(ctype, secret_stdin) if _needs_secret(ctype, settings) else None
        key = _read_key_secret(secret_stdin) if settings.get("api_key_sid") else None
        tested = await _test_first(svc, actor, ctype, settings, secret, None, key) if test else None
        added = await svc.add(
            actor, name=name, kind=ctype, settings=settings, secret=secret, key_secret=key
        )
        return added, tested

    rec, tested = with_services(db, go)
    if tested:
        print(f"connection test: {tested}")
    print(f"connector {one_line(rec.name, 64)} added (id {rec.id}, {rec.type.value})")


@connector_app.command("edit")
def connector_edit(
    ref: RefArgument,
    new_name: Annotated[
        str | None, typer.Option("--name", help="A new name.", show_default=False)
    ] = None,
    enabled: Annotated[
        bool | None,
        typer.Option(
            "--enable/--disable",
            help="A disabled connector sends nothing: its messages wait until it is enabled.",
            show_default=False,
        ),
    ] = None,
    url: UrlOption = None,
    auth: AuthOption = None,
    login: LoginOption = None,
    ca_file: CaFileOption = None,
    account_sid: AccountSidOption = None,
    api_key_sid: ApiKeySidOption = None,
    messaging_service_sid: MessagingServiceOption = None,
    api_base: ApiBaseOption = None,
    public_url: PublicUrlOption = None,
    host: HostOption = None,
    port: PortOption = None,
    tls: TlsOption = None,
    system_id: SystemIdOption = None,
    system_type: SystemTypeOption = None,
    bind_mode: BindModeOption = None,
    source_ton: SourceTonOption = None,
    source_npi: SourceNpiOption = None,
    window: WindowOption = None,
    throughput: ThroughputOption = None,
    concat: ConcatOption = None,
    secret: Annotated[
        bool, typer.Option("--secret", help="Type a new secret (asked without echo).")
    ] = False,
    test: TestOption = True,
    secret_stdin: SecretStdinOption = False,
    db: DbOption = None,
) -> None:
    """Change a connector: only the options given change.

    The saved secret is kept unless --secret or --secret-stdin gives a new one.  New
    settings or a new secret are tested before they are saved: a failed test saves nothing
    (--no-test skips it); a rename alone is not tested."""
    from bannertui.domain.connectors import validate_settings

    async def go(services: Any, actor: Actor) -> tuple[Any, str | None]:
        svc = _connectors(services)
        current = await svc.get(actor, ref)
        kind = current.type.value
        given = _settings_given(
            kind,
            url=url,
            auth=auth,
            login=login,
            ca_file=ca_file,
            account_sid=account_sid,
            api_key_sid=api_key_sid,
            messaging_service_sid=messaging_service_sid,
            api_base=api_base,
            public_url=public_url,
            smpp=_smpp_given(
                host=host,
                port=port,
                tls=tls,
                system_id=system_id,
                system_type=system_type,
                bind_mode=bind_mode,
                source_ton=source_ton,
                source_npi=source_npi,
                window=window,
                throughput=throughput,
                concat=concat,
            ),
        )
        settings = {**current.settings, **given}
        validate_settings(kind, settings)  # refused before the secret is typed
        typed = _read_secret(kind, secret_stdin) if secret or secret_stdin else None
        if (
            typed is None
            and _needs_secret(kind, settings)
            and not current.secrets(svc.secrets_dir).get()
        ):
            fail(f"{current.name} has no secret saved: give one with --secret or --secret-stdin", 2)
        key = (
            _read_key_secret(secret_stdin)
            if settings.get("api_key_sid")
            and (secret or secret_stdin or not current.key_secrets(svc.secrets_dir).get())
            else None
        )
        changed = bool(given) or typed is not None or key is not None
        tested = (
            await _test_first(svc, actor, kind, settings, typed, current.id, key)
            if test and changed
            else None
        )
        saved = await svc.edit(
            actor,
            current.id,
            settings=settings,
            secret=typed,
            name=new_name,
            key_secret=key,
            enabled=enabled,
        )
        return saved, tested

    rec, tested = with_services(db, go)
    if tested:
        print(f"connection test: {tested}")
    print(f"connector {one_line(rec.name, 64)} saved")


@connector_app.command("test")
def connector_test(ref: RefArgument, db: DbOption = None) -> None:
    """Test a connector's saved settings (exit status 1 unless reachable).

    Prints reachable, tls failure, authentication refused, bind refused (SMPP), timeout or
    unreachable, and why.  Nothing is sent (SMPP: a bind, no submit_sm)."""

    async def go(services: Any, actor: Actor) -> Any:
        svc = _connectors(services)
        rec = await svc.get(actor, ref)
        return await svc.test(actor, kind=rec.type.value, settings=rec.settings, ref=rec.id)

    report = with_services(db, go)
    print(f"{report.result}: {report.message}")
    if not report.ok:
        raise typer.Exit(1)


@connector_app.command("remove")
def connector_remove(
    ref: RefArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
) -> None:
    """Remove a connector that no queue and none of our numbers use.

    Asks to type its name on the terminal unless --yes."""

    async def find(services: Any, actor: Actor) -> Any:
        return await services.connectors.get(actor, ref)

    name = with_services(db, find).name
    if not yes:
        if not sys.stdin.isatty():
            fail("removing a connector is confirmed on a terminal: use --yes in scripts", 2)
        typed = typer.prompt(
            f"Type the connector's name ({name}) to remove it", default="", show_default=False
        )
        if str(typed).strip().casefold() != name.casefold():
            fail("not removed: the name typed is not the connector's")

    async def go(services: Any, actor: Actor) -> None:
        svc = services.connectors
        rec = await svc.get(actor, ref)
        if rec.name != name:  # renamed meanwhile: not what was confirmed
            fail(f"not removed: the connector {ref} is now named {rec.name!r}")
        await svc.remove(actor, rec.id)

    with_services(db, go)
    print(f"connector {one_line(name, 64)} removed")


# --- numbers -------------------------------------------------------------------------------


@connector_app.command("numbers")
def connector_numbers(ref: RefArgument, db: DbOption = None) -> None:
    """The numbers the provider lists for the connector, one JSON object a line.

    Twilio: the account's incoming phone numbers; https-json, which has no such listing:
    ours of the connector; SMPP cannot list a carrier's numbers: refused (add each with
    `connector add-number`).  Each: number, in_account (already one of our numbers)."""

    async def go(services: Any, actor: Actor) -> tuple[list[str], set[str]]:
        listed = await _connectors(services).provider_numbers(actor, ref)
        ours = {row.number for row in await services.admin.numbers(actor)}
        return listed, ours

    listed, ours = with_services(db, go)
    for number in listed:
        emit({"number": number, "in_account": number in ours})


@connector_app.command("add-number")
def connector_add_number(
    ref: RefArgument,
    number: Annotated[str, typer.Argument(help="The number, international format.")],
    label: Annotated[str, typer.Option(help="What it is for.")] = "",
    db: DbOption = None,
) -> None:
    """Make one of the connector's numbers one of ours.

    Twilio: refused unless the Twilio account owns it (see `connector numbers`); https-json
    and SMPP: any valid number the carrier gave you."""

    async def go(services: Any, actor: Actor) -> tuple[str, str]:
        svc = _connectors(services)
        rec = await svc.get(actor, ref)
        return await svc.add_number(actor, rec.id, number, label), rec.name

    added, name = with_services(db, go)
    print(f"number {added} added to {one_line(name, 64)}")
