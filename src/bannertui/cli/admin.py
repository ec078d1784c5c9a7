"""``bannertui template|number|profile|queue``: the administration tabs' resources from scripts
(administrators; the same services and checks as the app's forms)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import typer

from bannertui.cli.base import (
    DbOption,
    emit,
    fail,
    number_app,
    profile_app,
    queue_app,
    template_app,
    with_services,
)
from bannertui.domain.actor import Actor
from bannertui.domain.text import one_line, plural

T = TypeVar("T")

QueueOption = Annotated[
    list[str] | None,
    typer.Option("--queue", help="A queue that offers it in Smart conversations (repeat)."),
]
KindOption = Annotated[str | None, typer.Option(help="NOTIFICATION (the default) or MARKETING.")]


# --- templates -----------------------------------------------------------------------------


def _template_summary(text: str) -> str:
    from bannertui.domain.sms import measure
    from bannertui.domain.templates import variables

    found = variables(text)
    names = ", ".join(f"${v}" for v in found) if found else "none"
    return f"{plural(measure(text).credits, 'credit')}, variables: {names}"


def _named(rows: Iterable[T], name: str, name_of: Callable[[T], str], refusal: type[Any]) -> T:
    """The row called ``name`` (without case), or ``refusal`` naming what was asked."""
    wanted = name.strip().casefold()
    for row in rows:
        if name_of(row).casefold() == wanted:
            return row
    kind = refusal.name.split()[-1].lower()  # "Invalid template" → "template"
    raise refusal(f"no {kind} named {one_line(name, 60)!r}")


async def _template_by_name(services: Any, actor: Actor, name: str) -> Any:
    from bannertui.domain.errors import InvalidTemplate

    return _named(await services.admin.templates(actor), name, lambda r: r.name, InvalidTemplate)


async def _profile_by_name(services: Any, actor: Actor, name: str) -> Any:
    from bannertui.domain.errors import InvalidProfile

    rows = await services.admin.profiles(actor)
    return _named(rows, name, lambda r: r.settings.name, InvalidProfile)


async def _number_row(services: Any, actor: Actor, number: str) -> Any:
    """One of our numbers, as typed (any format), or Invalid queue saying it is not ours."""
    from bannertui.domain.errors import InvalidQueue
    from bannertui.domain.phone import validate_number

    e164 = validate_number(number)
    for row in await services.admin.numbers(actor):
        if row.number == e164:
            return row
    raise InvalidQueue(f"{e164} is not one of our numbers")


@template_app.command("list")
def template_list(db: DbOption = None) -> None:
    """Every template, one JSON object a line: name, kind, queues, variables, credits."""
    from bannertui.domain.sms import measure

    async def go(services: Any, actor: Actor) -> Any:
        return await services.admin.templates(actor)

    for row in with_services(db, go):
        emit(
            {
                "name": row.name,
                "kind": row.kind,
                "queues": list(row.queues),
                "variables": row.variables,
                "credits": measure(row.text).credits,
                "text": row.text,
            }
        )


@template_app.command("add")
def template_add(
    name: Annotated[str, typer.Argument(help="Its name, as agents pick it.")],
    text: Annotated[str, typer.Option(help="Its text; $firstname|fallback for a variable.")],
    kind: KindOption = None,
    queue: QueueOption = None,
    db: DbOption = None,
) -> None:
    """Add a template (Invalid template: empty, over 8 credits, a name taken)."""

    async def go(services: Any, actor: Actor) -> Any:
        return await services.admin.save_template(
            actor, name=name, text=text, kind=kind or "NOTIFICATION", queues=queue or ()
        )

    with_services(db, go)
    print(f"template {one_line(name.strip(), 60)} added: {_template_summary(text)}")


@template_app.command("edit")
def template_edit(
    name: Annotated[str, typer.Argument(help="The template's name.")],
    rename: Annotated[str | None, typer.Option(help="A new name.")] = None,
    text: Annotated[str | None, typer.Option(help="A new text.")] = None,
    kind: KindOption = None,
    queue: QueueOption = None,
    no_queues: Annotated[
        bool, typer.Option("--no-queues", help="Offered in no queue any more.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Change a template: what is given changes, the rest stays (--queue replaces the
    queues)."""
    if queue and no_queues:
        fail("--queue and --no-queues: give one", 2)

    async def go(services: Any, actor: Actor) -> Any:
        row = await _template_by_name(services, actor, name)
        queues = () if no_queues else (queue if queue else row.queues)
        await services.admin.save_template(
            actor,
            name=rename if rename is not None else row.name,
            text=text if text is not None else row.text,
            kind=kind or row.kind,
            queues=queues,
            template_id=row.id,
        )
        return text if text is not None else row.text

    saved = with_services(db, go)
    print(f"template {one_line((rename or name).strip(), 60)} saved: {_template_summary(saved)}")


@template_app.command("remove")
def template_remove(
    name: Annotated[str, typer.Argument(help="The template's name.")], db: DbOption = None
) -> None:
    """Remove a template (past messages keep it; a bot using it stops sending)."""

    async def go(services: Any, actor: Actor) -> None:
        row = await _template_by_name(services, actor, name)
        await services.admin.delete_template(actor, row.id)

    with_services(db, go)
    print(f"template {one_line(name.strip(), 60)} removed")


# --- numbers -------------------------------------------------------------------------------


@number_app.command("list")
def number_list(db: DbOption = None) -> None:
    """Our SMS numbers, one JSON object a line: number, label, queue, profiles, connector."""

    async def go(services: Any, actor: Actor) -> Any:
        return await services.admin.numbers(actor)

    for row in with_services(db, go):
        emit(
            {
                "number": row.number,
                "label": row.label,
                "queue": row.queue,
                "profiles": list(row.profiles),
                "connector": row.connector,
            }
        )


@number_app.command("add")
def number_add(
    number: Annotated[str, typer.Argument(help="A mobile number, international format.")],
    label: Annotated[str, typer.Option(help="What it is for.")] = "",
    connector: Annotated[
        str,
        typer.Option(
            help="The https-json or SMPP connector it belongs to (default: the first). A "
            "Twilio number: `bannertui connector add-number`."
        ),
    ] = "",
    db: DbOption = None,
) -> None:
    """Add one of our SMS numbers (a valid mobile number, once)."""

    async def go(services: Any, actor: Actor) -> Any:
        return await services.admin.add_number(actor, number, label, connector)

    row = with_services(db, go)
    print(f"number {row.number} added")


@number_app.command("edit")
def number_edit(
    number: Annotated[str, typer.Argument(help="The number.")],
    label: Annotated[str, typer.Option(help="What it is for.")],
    db: DbOption = None,
) -> None:
    """Change one of our numbers' label."""

    async def go(services: Any, actor: Actor) -> str:
        row = await _number_row(services, actor, number)
        await services.admin.set_number_label(actor, row.id, label)
        return str(row.number)

    print(f"number {with_services(db, go)} labelled")


@number_app.command("remove")
def number_remove(
    number: Annotated[str, typer.Argument(help="The number.")], db: DbOption = None
) -> None:
    """Remove one of our numbers (refused while a queue or a profile uses it, named)."""

    async def go(services: Any, actor: Actor) -> str:
        row = await _number_row(services, actor, number)
        await services.admin.remove_number(actor, row.id)
        return str(row.number)

    print(f"number {with_services(db, go)} removed")


# --- profiles ------------------------------------------------------------------------------

RoleOption = Annotated[str | None, typer.Option(help="agent, supervisor or admin.")]
FlagOption = Annotated[bool | None, typer.Option(show_default=False)]
SenderOption = Annotated[
    list[str] | None,
    typer.Option("--sender", help="One of our numbers the profile sends from (repeat)."),
]


@profile_app.command("list")
def profile_list(db: DbOption = None) -> None:
    """Every profile, one JSON object a line, with its permissions and sender numbers."""

    async def go(services: Any, actor: Actor) -> Any:
        return await services.admin.profiles(actor)

    for row in with_services(db, go):
        settings = dataclasses.asdict(row.settings)
        settings["sender_numbers"] = list(row.settings.sender_numbers)
        emit(settings)


def _profile_changes(**given: Any) -> dict[str, Any]:
    renamed = {"max": "max_simultaneous", "countries": "authorized_countries"}
    changes = {renamed.get(k, k): v for k, v in given.items() if v is not None}
    if "sender" in changes:
        changes["sender_numbers"] = tuple(changes.pop("sender"))
    return changes


@profile_app.command("add")
def profile_add(
    name: Annotated[str, typer.Argument(help="Its name.")],
    role: RoleOption = None,
    messaging: Annotated[bool, typer.Option(help="May send SMS at all.")] = True,
    direct: Annotated[bool, typer.Option(help="May send Direct SMS.")] = False,
    smart: Annotated[bool, typer.Option(help="May open Smart SMS interactions.")] = False,
    max: Annotated[int, typer.Option(help="Simultaneous interactions at most.")] = 5,
    countries: Annotated[str, typer.Option(help='"*" or ISO codes: "FR,BE".')] = "",
    sender: SenderOption = None,
    db: DbOption = None,
) -> None:
    """Add a profile with its permissions (B1/B3)."""
    from bannertui.services.admin import ProfileSettings

    settings = ProfileSettings(
        name=name,
        role=role or "agent",
        messaging=messaging,
        direct=direct,
        smart=smart,
        max_simultaneous=max,
        authorized_countries=countries,
        sender_numbers=tuple(sender or ()),
    )

    async def go(services: Any, actor: Actor) -> Any:
        return await services.admin.save_profile(actor, settings)

    with_services(db, go)
    print(f"profile {one_line(name.strip(), 60)} added")


@profile_app.command("edit")
def profile_edit(
    name: Annotated[str, typer.Argument(help="The profile's name.")],
    rename: Annotated[str | None, typer.Option(help="A new name.")] = None,
    role: RoleOption = None,
    messaging: FlagOption = None,
    direct: FlagOption = None,
    smart: FlagOption = None,
    max: Annotated[int | None, typer.Option(help="Simultaneous interactions at most.")] = None,
    countries: Annotated[str | None, typer.Option(help='"*" or ISO codes: "FR,BE".')] = None,
    sender: SenderOption = None,
    db: DbOption = None,
) -> None:
    """Change a profile: what is given changes, the rest stays (--sender replaces the sender
    numbers)."""
    changes = _profile_changes(
        name=rename,
        role=role,
        messaging=messaging,
        direct=direct,
        smart=smart,
        max=max,
        countries=countries,
        sender=sender,
    )

    async def go(services: Any, actor: Actor) -> None:
        row = await _profile_by_name(services, actor, name)
        settings = dataclasses.replace(row.settings, **changes)
        await services.admin.save_profile(actor, settings, row.id)

    with_services(db, go)
    print(f"profile {one_line((rename or name).strip(), 60)} saved")


@profile_app.command("remove")
def profile_remove(
    name: Annotated[str, typer.Argument(help="The profile's name.")], db: DbOption = None
) -> None:
    """Delete a profile no agent has (refused naming those who still do)."""

    async def go(services: Any, actor: Actor) -> None:
        row = await _profile_by_name(services, actor, name)
        await services.admin.delete_profile(actor, row.id)

    with_services(db, go)
    print(f"profile {one_line(name.strip(), 60)} removed")


# --- queues --------------------------------------------------------------------------------


@queue_app.command("list")
def queue_list(db: DbOption = None) -> None:
    """Every queue, one JSON object a line: its settings and members."""

    async def go(services: Any, actor: Actor) -> Any:
        return await services.admin.queues(actor)

    for row in with_services(db, go):
        emit({**dataclasses.asdict(row.settings), "members": list(row.members)})


@queue_app.command("members")
def queue_members(
    queue: Annotated[str, typer.Argument(help="The queue's name.")],
    logins: Annotated[
        list[str] | None, typer.Argument(help="The agents it distributes to (none: nobody).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Set the agents a queue distributes to (replaces the list; each login must be an
    agent's)."""

    async def go(services: Any, actor: Actor) -> Any:
        from bannertui.domain.errors import UnknownQueue

        rows = await services.admin.queues(actor)
        row = _named(rows, queue, lambda r: r.settings.name, UnknownQueue)
        await services.admin.set_members(actor, row.id, logins or [])
        return row.settings.name

    name = with_services(db, go)
    members = ", ".join(logins or []) or "nobody"
    print(f"queue {one_line(name, 60)}: {one_line(members, 200)}")
