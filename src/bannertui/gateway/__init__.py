"""Outbound adapters implementing the SMS gateway port (:mod:`bannertui.services.gateway`):
the HTTPS JSON adapter, the Twilio adapter, the SMPP adapter, and what builds them from the
connectors."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bannertui.services.gateway import (
        CheckableProvider,
        ProviderConfig,
        SmppConfig,
        TwilioConfig,
    )


def http_gateway(config: ProviderConfig | TwilioConfig | SmppConfig) -> CheckableProvider:
    """The adapter for ``config`` (HTTPS JSON, or Twilio for a :class:`TwilioConfig`): the
    :class:`~bannertui.services.gateway.GatewayFactory` the console, the CLI and the demo hand
    to the services.  httpx is imported on first use, not when the console starts."""
    from bannertui.services.gateway import SmppConfig, TwilioConfig

    if isinstance(config, SmppConfig):
        from bannertui.gateway.smpp import SmppProvider

        return SmppProvider(config)
    if isinstance(config, TwilioConfig):
        from bannertui.gateway.twilio import TwilioProvider

        return TwilioProvider(config)
    from bannertui.gateway.http import HttpProvider

    return HttpProvider(config)
