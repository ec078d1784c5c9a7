"""The SMS provider settings of SPEC P1 (``bannertui provider``, the Provider tab): validated,
audited, admin only.  Since connectors (issue #20) they are the settings of the account's
first ``https-json`` connector (connector 1 of a database from before), made when none
exists."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.enums import ConnectorType, Role
from bannertui.domain.errors import InvalidProviderLogin, NoProviderConfigured, NotAllowed
from bannertui.domain.provider_rules import validate_login, validate_provider_url
from bannertui.services.accounts import load_account
from bannertui.services.agents import load_agent
from bannertui.services.base import Clock, Service, system_clock
from bannertui.services.gateway import ConnectionReport, GatewayFactory, ProviderConfig, ssl_context
from bannertui.store.database import Database
from bannertui.store.models import Connector
from bannertui.store.secrets import SecretStore


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    url: str | None
    auth_enabled: bool
    login: str | None
    ca_file: str | None

    @property
    def configured(self) -> bool:
        return bool(self.url)


async def _first_https(session: AsyncSession) -> Connector | None:
    return await session.scalar(
        sa.select(Connector)
        .where(col(Connector.type) == ConnectorType.HTTPS_JSON)
        .order_by(col(Connector.id))
        .limit(1)
    )


def _settings_of(row: Connector) -> ProviderSettings:
    s = row.settings or {}
    return ProviderSettings(
        s.get("url") or None,
        bool(s.get("auth_enabled")),
        s.get("login"),
        s.get("ca_file"),
    )


class ProviderSettingsService(Service):
    def __init__(
        self, db: Database, clock: Clock = system_clock, gateways: GatewayFactory | None = None
    ) -> None:
        super().__init__(db, clock)
        #: Opens a gateway for "Test connection": the adapter the composition root chose
        #: (``bannertui.gateway.http.HttpProvider`` for the console, the CLI and ``serve``).
        self.gateways = gateways

    async def get(self) -> ProviderSettings:
        async with self.db.read() as session:
            row = await _first_https(session)
        if row is None:
            return ProviderSettings(None, False, None, None)
        return _settings_of(row)

    async def connector_id(self) -> int:
        """The id of the connector these settings are (1 when none exists yet)."""
        async with self.db.read() as session:
            row = await _first_https(session)
        return row.id or 1 if row is not None else 1

    async def _checked(
        self,
        actor: Actor | Literal["system"],
        url: str,
        auth_enabled: bool,
        login: str | None,
        ca_file: str | None,
    ) -> tuple[str, str | None]:
        """P1's rules, the admin role first: (the URL, the login or None)."""
        if actor != "system":
            async with self.db.read() as session:
                ctx = await load_agent(session, actor)
            if ctx.profile.role != Role.ADMIN:
                raise NotAllowed("provider settings are for administrators")
        clean_url = validate_provider_url(url)
        clean_login = None
        if auth_enabled:
            if not login:
                raise InvalidProviderLogin("authentication is enabled: a login is required")
            clean_login = validate_login(login)
        if ca_file is not None:
            ssl_context(Path(ca_file))  # refuses a missing or non-PEM file by name
        return clean_url, clean_login

    async def update(
        self,
        *,
        actor: Actor | Literal["system"],
        url: str,
        auth_enabled: bool,
        login: str | None,
        ca_file: str | None = None,
    ) -> ProviderSettings:
        """Validate and store the settings (the password is stored apart, by the caller, in a
        :class:`bannertui.store.secrets.SecretStore`).

        ``actor`` must be an administrator (the screen's agent, or the caller of ``bannertui
        provider set``); ``"system"`` is the demo runtime pointing the demo database at its own
        simulator, which no person does.
        """
        clean_url, clean_login = await self._checked(actor, url, auth_enabled, login, ca_file)
        async with self.db.write() as session:
            await load_account(session)  # (No provider configured: the account is not set up)
            row = await _first_https(session)
            now = self.clock()
            if row is None:
                name = "default"
                if await session.scalar(
                    sa.select(col(Connector.id)).where(col(Connector.name) == name)
                ):
                    name = "https-json"
                row = Connector(name=name, type=ConnectorType.HTTPS_JSON.value, created_at=now)
                session.add(row)
            row.settings = {
                "url": clean_url,
                "auth_enabled": auth_enabled,
                "login": clean_login,
                "ca_file": ca_file,
            }
            row.configured = True
            row.updated_at = now
            self.audit(
                session, actor, "provider.updated", "account",
                url=clean_url, auth_enabled=auth_enabled, login=clean_login, ca_file=ca_file,
            )  # fmt: skip
        return ProviderSettings(clean_url, auth_enabled, clean_login, ca_file)

    async def save(
        self,
        *,
        actor: Actor,
        url: str,
        auth_enabled: bool,
        login: str | None,
        password: str | None,
        ca_file: str | None = None,
        secrets: SecretStore | None = None,
    ) -> ProviderSettings:
        """:meth:`update`, then the password into the secret store (a 0600 file, never the
        database): a new one replaces it, no authentication removes it, and none typed keeps
        the saved one.  What the administration screen and ``bannertui provider set`` do."""
        settings = await self.update(
            actor=actor,
            url=url,
            auth_enabled=auth_enabled,
            login=login,
            ca_file=ca_file,
        )
        store = secrets or SecretStore.of_connector(await self.connector_id())
        if auth_enabled and password:
            store.set(password)
        elif not auth_enabled:
            store.clear()
        return settings

    async def test_settings(
        self,
        *,
        actor: Actor,
        url: str,
        auth_enabled: bool,
        login: str | None,
        password: str | None,
        ca_file: str | None = None,
        secrets: SecretStore | None = None,
    ) -> ConnectionReport:
        """P1's "Test connection" on settings not saved yet (admin only): validated as
        :meth:`update` validates, then one request that sends nothing.  With authentication on
        and no password typed, the saved password is used."""
        if self.gateways is None:
            raise NoProviderConfigured("no provider adapter was given to these services")
        clean_url, clean_login = await self._checked(actor, url, auth_enabled, login, ca_file)
        if auth_enabled and not password:
            password = (secrets or SecretStore.of_connector(await self.connector_id())).get()
        provider = self.gateways(
            ProviderConfig(
                url=clean_url,
                login=clean_login,
                password=password if auth_enabled else None,
                ca_file=Path(ca_file) if ca_file else None,
            )
        )
        try:
            return await provider.test_connection()
        finally:
            await provider.aclose()
