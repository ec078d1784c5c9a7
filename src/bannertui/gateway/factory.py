"""Build the HTTPS provider from the account's settings and the secret store."""

from __future__ import annotations

from pathlib import Path

from bannertui.domain.errors import NoProviderConfigured
from bannertui.gateway.http import HttpProvider
from bannertui.services.gateway import ProviderConfig
from bannertui.services.provider_settings import ProviderSettings
from bannertui.store.secrets import SecretStore


def provider_config(
    settings: ProviderSettings, secrets: SecretStore | None = None
) -> ProviderConfig:
    if not settings.url:
        raise NoProviderConfigured("set it with `bannertui provider set`")
    password = None
    if settings.auth_enabled:
        password = (secrets or SecretStore()).get()
        if not password:
            raise NoProviderConfigured(
                "the provider password is not set: run `bannertui provider set` or set "
                "BANNERTUI_PROVIDER_PASSWORD"
            )
    return ProviderConfig(
        url=settings.url,
        login=settings.login if settings.auth_enabled else None,
        password=password,
        ca_file=Path(settings.ca_file) if settings.ca_file else None,
    )


def build_provider(settings: ProviderSettings, secrets: SecretStore | None = None) -> HttpProvider:
    return HttpProvider(provider_config(settings, secrets))
