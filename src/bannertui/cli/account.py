"""``bannertui account``: the credit balance."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bannertui.cli.base import DbOption, account_app, emit, with_services
from bannertui.domain.actor import Actor


@account_app.command("show")
def account_show(db: DbOption = None) -> None:
    """The account as JSON: name, credit balance, whether a provider is set up (and its URL,
    for administrators)."""

    async def go(services: Any, actor: Actor) -> Any:
        return await services.accounts.get(actor)

    acc = with_services(db, go, who="agent")
    shown = {"name": acc.name, "credits": acc.credits, "provider_set": acc.provider_set}
    if acc.provider_url is not None:
        shown["provider_url"] = acc.provider_url
    emit(shown)


@account_app.command("add-credits")
def account_add_credits(
    amount: Annotated[int, typer.Argument(help="Number of credits to add (> 0).")],
    db: DbOption = None,
) -> None:
    """Add SMS credits to the account."""

    async def go(services: Any, actor: Actor) -> int:
        return int(await services.accounts.add_credits(actor, amount))

    emit({"credits": with_services(db, go)})
