"""``bannertui simulate``: calls and inbound SMS in a running demo or test."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bannertui.cli.base import DbOption, DemoOption, emit, simulate_app, target_db, with_services
from bannertui.domain.actor import Actor


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

    call = with_services(target_db(db, demo), go, who="none" if demo else "admin")
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

    result = with_services(target_db(db, demo), go, who="none" if demo else "admin")
    emit({"message": result.message.id, "interaction": result.message.interaction_id})
