"""The ``bannertui`` command.  Builds Settings → Database → Services → App; nothing at import.

One module per command group (``console``, ``db``, ``provider``, ``connector``, ``account``,
``admin``, ``sms``, ``agents``, ``services``, ``simulate``, ``measure``); ``base`` holds the
Typer apps they register on (``connector`` adds its own) and what they share."""

from __future__ import annotations

import sys

import typer

from bannertui.cli import (  # noqa: F401  (each module registers its commands on import)
    account,
    admin,
    agents,
    connector,
    console,
    db,
    measure,
    provider,
    services,
    simulate,
    sms,
)
from bannertui.cli.base import app, fail, run_async

__all__ = ["app", "fail", "main", "run_async"]


def main() -> None:
    from bannertui.cli_errors import run

    sys.exit(run(typer.main.get_command(app)))
