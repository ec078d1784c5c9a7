"""``bannertui credits`` and ``bannertui check-number``: what a text costs, what a number is."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bannertui.cli.base import app, emit, fail


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
        body = text
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

    raw = number
    allowed = None
    if allow is not None:
        try:
            allowed = phone.parse_allow_list(allow)
        except ValueError as exc:
            fail(str(exc), 2)
    emit(phone.check_number(raw, allowed).as_dict())
