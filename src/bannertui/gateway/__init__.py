"""Outbound adapters implementing the SMS gateway port (:mod:`bannertui.services.gateway`):
the HTTPS JSON adapter and what builds it from the account's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bannertui.gateway.http import HttpProvider
    from bannertui.services.gateway import ProviderConfig


def http_gateway(config: ProviderConfig) -> HttpProvider:
    """The HTTPS adapter for ``config``: the :class:`~bannertui.services.gateway.GatewayFactory`
    the console, the CLI and the demo hand to the services.  httpx is imported on first use,
    not when the console starts."""
    from bannertui.gateway.http import HttpProvider

    return HttpProvider(config)
