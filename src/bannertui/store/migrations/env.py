"""Alembic environment: runs on the connection bannertui hands over (see store/migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bannertui.store.models import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `bannertui db upgrade` (bannertui.store.migrate)")
_run(connection)
