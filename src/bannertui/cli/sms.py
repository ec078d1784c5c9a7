"""``bannertui sms send``: SMS from scripts, through the app's rules."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bannertui.cli.base import DbOption, emit, parse_vars, sms_app, with_services
from bannertui.domain.actor import Actor


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
    variables = parse_vars(var or [])
    body = text if text is not None else None

    async def go(services: Any, actor: Actor) -> Any:
        tid = await services.outbound.template_id(actor, template) if template else None
        return await services.outbound.send_direct(
            actor, to, sender, body, template_id=tid, variables=variables
        )

    acting_as = agent if agent is not None else None
    msg = with_services(db, go, who="agent", acting_as=acting_as)
    emit({"retId": msg.ret_id, "credits": msg.credits, "status": msg.status})
