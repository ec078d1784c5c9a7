"""The account's SMS connectors (issue #20): list, add, edit, test, remove, their numbers
and their figures.  Administrators only, except the names and figures (supervisors: the
dashboard); every change is validated (each refusal named) and audited, and the secret goes
to the secret store, never the database.

What the adapters need of a connector is a :class:`ConnectorRecord`; the composition root's
``GatewayFactory`` turns one into an adapter (``bannertui.gateway.connector_gateway``)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bannertui.domain.actor import Actor
from bannertui.domain.connectors import (
    ConnectorInUse,
    InvalidConnector,
    UnknownConnector,
    connector_type,
    is_configured,
    validate_name,
    validate_settings,
)
from bannertui.domain.enums import ConnectorType, Direction, MessageStatus, Role
from bannertui.domain.errors import BannerError, InvalidCaFile, NoProviderConfigured, NotAllowed
from bannertui.domain.phone import validate_number
from bannertui.services.agents import load_agent
from bannertui.services.base import Clock, Service, system_clock
from bannertui.services.gateway import (
    ConnectionReport,
    GatewayFactory,
    connector_config,
    ssl_context,
)
from bannertui.store.database import Database
from bannertui.store.models import Connector, Message, Queue, SmsNumber
from bannertui.store.secrets import SecretStore

#: The dashboard's window for the per-connector figures.
FIGURES_WINDOW = timedelta(hours=1)
#: The types that cannot work without their secret, and what that secret is.
SECRET_REQUIRED = {
    ConnectorType.TWILIO: "the auth token",
    ConnectorType.SMPP: "the bind password",
}


@dataclass(frozen=True, slots=True)
class ConnectorRecord:
    """A connector as the adapters and the screens see it (settings: administrators and the
    services only)."""

    id: int
    name: str
    type: ConnectorType
    settings: Mapping[str, Any] = field(default_factory=dict)
    configured: bool = False
    enabled: bool = True
    updated_at: datetime | None = None

    def secrets(self, directory: Path | None = None) -> SecretStore:
        return SecretStore.of_connector(self.id, directory)

    def key_secrets(self, directory: Path | None = None) -> SecretStore:
        """Twilio with an API key SID: the key's secret (the auth token still signs
        Twilio's callbacks)."""
        return SecretStore.of_api_key(self.id, directory)


@dataclass(frozen=True, slots=True)
class ConnectorFigures:
    id: int
    name: str
    type: str
    sent: int
    failed: int
    last_error: str | None
    numbers: int
    queues: int


def _beside(field_name: str, exc: BannerError) -> BannerError:
    """``exc``, shown beside the form's ``field_name``."""
    exc.fields = MappingProxyType({field_name: exc.message})
    return exc


def _name(name: str) -> str:
    try:
        return validate_name(name)
    except InvalidConnector as exc:
        raise _beside("name", exc) from None


def _name_taken(name: str) -> BannerError:
    return _beside("name", InvalidConnector(f"a connector is already named {name!r}"))


def record(row: Connector) -> ConnectorRecord:
    return ConnectorRecord(
        id=row.id or 0,
        name=row.name,
        type=ConnectorType(row.type),
        settings=dict(row.settings or {}),
        configured=row.configured,
        enabled=row.enabled,
        updated_at=row.updated_at,
    )


async def load_records(session: AsyncSession) -> list[ConnectorRecord]:
    """Every connector, settings included (the services' own reading: the dispatcher, the
    receiver)."""
    rows = (await session.scalars(sa.select(Connector).order_by(col(Connector.id)))).all()
    return [record(r) for r in rows]


async def connector_of_number(session: AsyncSession, number: str) -> int | None:
    return await session.scalar(
        sa.select(col(SmsNumber.connector_id)).where(col(SmsNumber.number) == number)
    )


async def default_connector(session: AsyncSession) -> int | None:
    """The connector a message from no number of ours goes through: the first configured."""
    return await session.scalar(
        sa.select(sa.func.min(col(Connector.id))).where(
            col(Connector.configured).is_(True), col(Connector.enabled).is_(True)
        )
    )


class ConnectorService(Service):
    def __init__(
        self,
        db: Database,
        clock: Clock = system_clock,
        gateways: GatewayFactory | None = None,
        secrets_dir: Path | None = None,
    ) -> None:
        super().__init__(db, clock)
        #: Opens an adapter for "Test connection" and the numbers' listing.
        self.gateways = gateways
        #: Where the secret files are (None: beside the configuration file).
        self.secrets_dir = secrets_dir

    def _secret_store(self, connector_id: int) -> SecretStore:
        return SecretStore.of_connector(connector_id, self.secrets_dir)

    def _key_store(self, connector_id: int) -> SecretStore:
        return SecretStore.of_api_key(connector_id, self.secrets_dir)

    async def _role(self, session: AsyncSession, actor: Actor | Literal["system"]) -> Role:
        if actor == "system":
            return Role.ADMIN
        ctx = await load_agent(session, actor)
        return Role(ctx.profile.role)

    async def _admin(self, session: AsyncSession, actor: Actor | Literal["system"]) -> None:
        if await self._role(session, actor) != Role.ADMIN:
            raise NotAllowed("connectors are for administrators")

    async def _find(self, session: AsyncSession, ref: int | str) -> Connector:
        query = sa.select(Connector)
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            query = query.where(col(Connector.id) == int(ref))
        else:
            query = query.where(sa.func.lower(col(Connector.name)) == ref.strip().lower())
        row = await session.scalar(query)
        if row is None:
            raise UnknownConnector(f"no connector {ref!r}")
        return row

    # --- reading ------------------------------------------------------------------------

    async def connectors(self, actor: Actor) -> list[ConnectorRecord]:
        """Every connector with its settings (administrators)."""
        async with self.db.read() as session:
            await self._admin(session, actor)
            return await load_records(session)

    async def get(self, actor: Actor, ref: int | str) -> ConnectorRecord:
        async with self.db.read() as session:
            await self._admin(session, actor)
            return record(await self._find(session, ref))

    async def names(self, actor: Actor) -> list[tuple[int, str]]:
        """(id, name) of every connector, for the queue and number forms (administrators)."""
        async with self.db.read() as session:
            await self._admin(session, actor)
            rows = await session.execute(
                sa.select(col(Connector.id), col(Connector.name)).order_by(col(Connector.id))
            )
            return [(int(i or 0), str(n)) for i, n in rows.all()]

    async def records_for_services(self) -> list[ConnectorRecord]:
        """The dispatcher's and the receiver's reading (no person: ``bannertui dispatch``,
        ``bannertui webhook``, the demo)."""
        async with self.db.read() as session:
            return await load_records(session)

    async def numbers_of(self, ref: int | str) -> list[str]:
        """The account's numbers of a connector (the services' reading: the demo runtime
        gives them to its Twilio simulator)."""
        async with self.db.read() as session:
            rec = await self._find(session, ref)
            return list(
                (
                    await session.scalars(
                        sa.select(col(SmsNumber.number))
                        .where(col(SmsNumber.connector_id) == rec.id)
                        .order_by(col(SmsNumber.number))
                    )
                ).all()
            )

    async def figures(self, actor: Actor) -> list[ConnectorFigures]:
        """Per connector, the last hour's sent and failed messages and its latest error;
        its numbers and queues (supervisors and administrators: the dashboard)."""
        now = self.clock()
        async with self.db.read() as session:
            if await self._role(session, actor) == Role.AGENT:
                raise NotAllowed("the connectors' figures are for supervisors")
            connectors = (
                await session.execute(
                    sa.select(col(Connector.id), col(Connector.name), col(Connector.type)).order_by(
                        col(Connector.id)
                    )
                )
            ).all()
            since = now - FIGURES_WINDOW
            sent_states = (MessageStatus.SENT, MessageStatus.DELIVERED)
            counts = {
                cid: (int(sent or 0), int(failed or 0))
                for cid, sent, failed in (
                    await session.execute(
                        sa.select(
                            col(Message.connector_id),
                            sa.func.sum(
                                sa.case((col(Message.status).in_(sent_states), 1), else_=0)
                            ),
                            sa.func.sum(
                                sa.case((col(Message.status) == MessageStatus.FAILED, 1), else_=0)
                            ),
                        )
                        .where(
                            col(Message.direction) == Direction.OUTBOUND,
                            col(Message.created_at) >= since,
                        )
                        .group_by(col(Message.connector_id))
                    )
                ).all()
            }
            numbers = dict(
                (
                    await session.execute(
                        sa.select(col(SmsNumber.connector_id), sa.func.count()).group_by(
                            col(SmsNumber.connector_id)
                        )
                    )
                ).all()
            )
            queues = dict(
                (
                    await session.execute(
                        sa.select(col(Queue.connector_id), sa.func.count()).group_by(
                            col(Queue.connector_id)
                        )
                    )
                ).all()
            )
            out = []
            for cid_, name, kind in connectors:
                cid = int(cid_ or 0)
                last_error = await session.scalar(
                    sa.select(col(Message.error))
                    .where(
                        col(Message.connector_id) == cid,
                        col(Message.direction) == Direction.OUTBOUND,
                        col(Message.error).is_not(None),
                        col(Message.created_at) >= since,
                    )
                    .order_by(col(Message.created_at).desc(), col(Message.id).desc())
                    .limit(1)
                )
                sent, failed = counts.get(cid, (0, 0))
                out.append(
                    ConnectorFigures(
                        id=cid,
                        name=name,
                        type=kind,
                        sent=sent,
                        failed=failed,
                        last_error=last_error,
                        numbers=int(numbers.get(cid, 0)),
                        queues=int(queues.get(cid, 0)),
                    )
                )
            return out

    # --- changing -----------------------------------------------------------------------

    def _clean(
        self, kind: str, settings: Mapping[str, Any]
    ) -> tuple[ConnectorType, dict[str, Any]]:
        ctype = connector_type(kind)
        clean = validate_settings(ctype, settings)
        if clean.get("ca_file"):
            try:
                ssl_context(Path(clean["ca_file"]))  # refuses a missing or non-PEM file
            except InvalidCaFile as exc:
                raise _beside("ca_file", exc) from None
        return ctype, clean

    def _store_secret(
        self,
        connector_id: int,
        kind: ConnectorType,
        settings: Mapping[str, Any],
        secret: str | None,
        key_secret: str | None = None,
    ) -> None:
        store = self._secret_store(connector_id)
        if kind is ConnectorType.HTTPS_JSON and not settings.get("auth_enabled"):
            store.clear()
        elif secret:
            store.set(secret)
        keys = self._key_store(connector_id)
        if not settings.get("api_key_sid"):
            keys.clear()
        elif key_secret:
            keys.set(key_secret)

    def _need_secret(
        self,
        connector_id: int | None,
        kind: ConnectorType,
        settings: Mapping[str, Any],
        secret: str | None,
        key_secret: str | None = None,
    ) -> None:
        """Twilio cannot work without its auth token (which signs its callbacks) nor, with an
        API key SID, without the key's secret; SMPP not without its bind password; https-json
        with authentication not without its password: refused by name when none is typed or
        saved."""
        missing: dict[str, str] = {}
        needs = kind in SECRET_REQUIRED or bool(settings.get("auth_enabled"))
        saved = connector_id is not None and self._secret_store(connector_id).get()
        if needs and not secret and not saved:
            what = SECRET_REQUIRED.get(kind, "the password (authentication is on)")
            missing["secret"] = f"secret: {what} is required"
        key_saved = connector_id is not None and self._key_store(connector_id).get()
        if settings.get("api_key_sid") and not key_secret and not key_saved:
            missing["key_secret"] = "key_secret: the API key's secret is required"
        if missing:
            exc = InvalidConnector("; ".join(missing.values()))
            exc.fields = MappingProxyType(missing)
            raise exc

    async def add(
        self,
        actor: Actor | Literal["system"],
        *,
        name: str,
        kind: str,
        settings: Mapping[str, Any],
        secret: str | None = None,
        key_secret: str | None = None,
        enabled: bool = True,
    ) -> ConnectorRecord:
        """A new connector; its secret into the secret store (Twilio with an API key SID:
        ``secret`` is the auth token, ``key_secret`` the key's).  A disabled one sends
        nothing: its messages wait."""
        clean_name = _name(name)
        ctype, clean = self._clean(kind, settings)
        self._need_secret(None, ctype, clean, secret, key_secret)

        async def tx(session: AsyncSession) -> Connector:
            await self._admin(session, actor)
            taken = await session.scalar(
                sa.select(col(Connector.id)).where(
                    sa.func.lower(col(Connector.name)) == clean_name.lower()
                )
            )
            if taken is not None:
                raise _name_taken(clean_name)
            now = self.clock()
            row = Connector(
                name=clean_name,
                type=ctype.value,
                settings=clean,
                configured=is_configured(ctype, clean),
                enabled=enabled,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            self.audit(session, actor, "connector.added", clean_name, type=ctype.value, **clean)
            return row

        row = await self.db.run_write(tx)
        self._store_secret(row.id or 0, ctype, clean, secret, key_secret)
        return record(row)

    async def edit(
        self,
        actor: Actor | Literal["system"],
        ref: int | str,
        *,
        settings: Mapping[str, Any],
        secret: str | None = None,
        name: str | None = None,
        key_secret: str | None = None,
        enabled: bool | None = None,
    ) -> ConnectorRecord:
        """New settings (and name) for a connector; a secret typed replaces the saved one, none
        keeps it (https-json without authentication removes it)."""
        async with self.db.read() as session:
            await self._admin(session, actor)
            current = record(await self._find(session, ref))
        ctype, clean = self._clean(current.type.value, settings)
        self._need_secret(current.id, ctype, clean, secret, key_secret)
        clean_name = _name(name) if name is not None else current.name

        async def tx(session: AsyncSession) -> Connector:
            await self._admin(session, actor)
            row = await self._find(session, current.id)
            if clean_name.lower() != row.name.lower():
                taken = await session.scalar(
                    sa.select(col(Connector.id)).where(
                        sa.func.lower(col(Connector.name)) == clean_name.lower()
                    )
                )
                if taken is not None:
                    raise _name_taken(clean_name)
            row.name = clean_name
            row.settings = clean
            row.configured = is_configured(ctype, clean)
            if enabled is not None:
                row.enabled = enabled
            row.updated_at = self.clock()
            self.audit(
                session, actor, "connector.updated", clean_name, enabled=row.enabled, **clean
            )
            return row

        row = await self.db.run_write(tx)
        self._store_secret(current.id, ctype, clean, secret, key_secret)
        return record(row)

    async def remove(self, actor: Actor, ref: int | str) -> None:
        """Refused while a queue uses it or a number belongs to it (Connector in use)."""

        async def tx(session: AsyncSession) -> int:
            await self._admin(session, actor)
            row = await self._find(session, ref)
            queues = (
                await session.scalars(
                    sa.select(col(Queue.name)).where(col(Queue.connector_id) == row.id)
                )
            ).all()
            if queues:
                raise ConnectorInUse(
                    f"{row.name} serves the queue(s) {', '.join(sorted(queues))}: move them first"
                )
            numbers = (
                await session.scalars(
                    sa.select(col(SmsNumber.number)).where(col(SmsNumber.connector_id) == row.id)
                )
            ).all()
            if numbers:
                raise ConnectorInUse(
                    f"{row.name} owns the number(s) {', '.join(sorted(numbers)[:5])}: "
                    "remove them first"
                )
            # (its messages keep their history; their connector_id becomes NULL: the
            # foreign key's ON DELETE SET NULL, which PostgreSQL applies as the owner)
            await session.delete(row)
            self.audit(session, actor, "connector.removed", row.name)
            return row.id or 0

        cid = await self.db.run_write(tx)
        self._secret_store(cid).clear()
        self._key_store(cid).clear()

    async def add_number(self, actor: Actor, ref: int | str, number: str, label: str = "") -> str:
        """A number of the connector into the account (Twilio: it must be one of the
        account's incoming phone numbers; https-json and SMPP: any valid number, the carrier
        having given it)."""
        clean = validate_number(number)
        async with self.db.read() as session:
            await self._admin(session, actor)
            rec = record(await self._find(session, ref))
        if rec.type is ConnectorType.TWILIO:
            owned = await self.provider_numbers(actor, rec.id)
            if clean not in owned:
                raise InvalidConnector(
                    f"{clean} is not a number of the Twilio account of {rec.name}"
                )

        async def tx(session: AsyncSession) -> str:
            await self._admin(session, actor)
            existing = await session.scalar(
                sa.select(SmsNumber).where(col(SmsNumber.number) == clean)
            )
            if existing is not None:
                raise InvalidConnector(f"{clean} is already a number of the account")
            session.add(SmsNumber(number=clean, label=label.strip()[:120], connector_id=rec.id))
            self.audit(session, actor, "number.added", clean, connector=rec.name)
            return clean

        await self.db.run_write(tx)
        return clean

    # --- talking to the provider -----------------------------------------------------------

    def _adapter(
        self, rec: ConnectorRecord, secret: str | None, key_secret: str | None = None
    ) -> Any:
        if self.gateways is None:
            raise NoProviderConfigured("no provider adapter was given to these services")
        return self.gateways(connector_config(rec.type, rec.id, rec.settings, secret, key_secret))

    async def test(
        self,
        actor: Actor,
        *,
        kind: str,
        settings: Mapping[str, Any],
        secret: str | None = None,
        ref: int | str | None = None,
        key_secret: str | None = None,
    ) -> ConnectionReport:
        """ "Test connection" on settings not saved yet (administrators): validated as
        :meth:`add` validates (a secret the type needs, none typed nor saved, refused beside
        its field), then one request that sends nothing (SMPP: a bind, no submit_sm).  No
        secret typed: the saved one of ``ref`` (likewise its API key secret)."""
        ctype, clean = self._clean(kind, settings)
        async with self.db.read() as session:
            await self._admin(session, actor)
            current = record(await self._find(session, ref)) if ref is not None else None
        self._need_secret(current.id if current else None, ctype, clean, secret, key_secret)
        if not secret and current is not None:
            secret = self._secret_store(current.id).get()
        if not key_secret and current is not None:
            key_secret = self._key_store(current.id).get()
        rec = ConnectorRecord(
            id=current.id if current else 0,
            name=current.name if current else "new",
            type=ctype,
            settings=clean,
            configured=True,
        )
        adapter = self._adapter(rec, secret, key_secret)
        try:
            report: ConnectionReport = await adapter.test_connection()
            return report
        finally:
            await adapter.aclose()

    async def provider_numbers(self, actor: Actor, ref: int | str) -> list[str]:
        """The numbers the provider says the connector owns (Twilio: its incoming phone
        numbers); https-json has no such listing: the account's numbers of the connector.
        SMPP cannot list a carrier's numbers at all: refused, saying how to add them."""
        async with self.db.read() as session:
            await self._admin(session, actor)
            rec = record(await self._find(session, ref))
            if rec.type is ConnectorType.SMPP:
                raise InvalidConnector(
                    "an SMPP connector cannot list the carrier's numbers: add each one the "
                    f"carrier gave you with `bannertui connector add-number {rec.id} NUMBER` "
                    f"or `bannertui number add NUMBER --connector {shlex.quote(rec.name)}`"
                )
            if rec.type is ConnectorType.HTTPS_JSON:
                return list(
                    (
                        await session.scalars(
                            sa.select(col(SmsNumber.number))
                            .where(col(SmsNumber.connector_id) == rec.id)
                            .order_by(col(SmsNumber.number))
                        )
                    ).all()
                )
        adapter = self._adapter(
            rec, self._secret_store(rec.id).get(), self._key_store(rec.id).get()
        )
        try:
            numbers: list[str] = await adapter.list_numbers()
            return numbers
        finally:
            await adapter.aclose()
