"""connectors: several SMS providers per account, chosen per queue

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 22:00:00.000000

Issue #20.  The account's one provider (``account.provider_*``) becomes connector 1, of type
``https-json``, with the same settings (its password stays where it was: the secret store's
``provider-password`` file or ``BANNERTUI_PROVIDER_PASSWORD`` belong to connector 1).  Every
SMS number and queue is then connector 1's, and every message already stored went through it:
nothing is lost, and sending goes on exactly as before.  The queue's free-text "connector"
field, which nothing read, gives connector 1 its name when every queue said the same.

On PostgreSQL (docs/permissions.md) the connector's settings are read by administrators and
the services only; everyone may read its id, name, type and whether it is configured.
"""

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AGENTS, SUPERVISORS, ADMINS = "bannertui_agents", "bannertui_supervisors", "bannertui_admins"
DISPATCH, WEBHOOK = "bannertui_dispatch", "bannertui_webhook"
PEOPLE = f"{AGENTS}, {SUPERVISORS}, {ADMINS}"
SERVICES = f"{DISPATCH}, {WEBHOOK}"
EVERYONE = f"{PEOPLE}, {SERVICES}"
_ADMIN = "(SELECT bannertui_is_admin())"
CONNECTOR_PUBLIC = "id, name, type, configured, enabled, created_at, updated_at"

_connector = sa.table(
    "connector",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("type", sa.String),
    sa.column("settings", sa.JSON),
    sa.column("configured", sa.Boolean),
    sa.column("enabled", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _first_name(bind: sa.Connection) -> str:
    names = Counter(
        (row[0] or "").strip() for row in bind.execute(sa.text("SELECT connector FROM queue"))
    )
    names.pop("", None)
    if len(names) == 1:
        (name,) = names
        return name[:64]
    return "default"


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.create_table(
        "connector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("configured", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "type IN ('https-json', 'twilio')", name=op.f("ck_connector_type_allowed")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector")),
        sa.UniqueConstraint("name", name=op.f("uq_connector_name")),
    )
    account = bind.execute(
        sa.text(
            "SELECT provider_url, provider_auth_enabled, provider_login, provider_ca_file"
            " FROM account ORDER BY id LIMIT 1"
        )
    ).first()
    url, auth, login, ca_file = account if account is not None else (None, False, None, None)
    settings = {
        "url": url or "",
        "auth_enabled": bool(auth),
        "login": login,
        "ca_file": ca_file,
    }
    now = datetime.now(UTC)
    bind.execute(
        _connector.insert().values(
            id=1,
            name=_first_name(bind),
            type="https-json",
            settings=settings,
            configured=bool(url),
            enabled=True,
            created_at=now.replace(tzinfo=None) if sqlite else now,
            updated_at=now.replace(tzinfo=None) if sqlite else now,
        )
    )
    if not sqlite:
        op.execute("SELECT setval(pg_get_serial_sequence('connector', 'id'), 1)")

    with op.batch_alter_table("sms_number") as batch:
        batch.add_column(
            sa.Column("connector_id", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("sms_number") as batch:
        batch.alter_column("connector_id", server_default=None)
        batch.create_index(batch.f("ix_sms_number_connector_id"), ["connector_id"])
        batch.create_foreign_key(
            batch.f("fk_sms_number_connector_id_connector"), "connector", ["connector_id"], ["id"]
        )
    with op.batch_alter_table("queue") as batch:
        batch.add_column(sa.Column("connector_id", sa.Integer(), nullable=True))
    op.execute("UPDATE queue SET connector_id = 1")
    with op.batch_alter_table("queue") as batch:
        batch.drop_column("connector")
        batch.create_index(batch.f("ix_queue_connector_id"), ["connector_id"])
        batch.create_foreign_key(
            batch.f("fk_queue_connector_id_connector"), "connector", ["connector_id"], ["id"]
        )
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("connector_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_message_connector_id_connector"),
            "connector",
            ["connector_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute("UPDATE message SET connector_id = 1")
    # (SQLite drops the stored computed column only by making the table again.)
    with op.batch_alter_table("account", recreate="always" if sqlite else "auto") as batch:
        batch.drop_column("provider_set")
        for column in ("provider_url", "provider_auth_enabled", "provider_login"):
            batch.drop_column(column)
        batch.drop_column("provider_ca_file")

    if sqlite:
        return
    owner = bind.exec_driver_sql("SELECT current_user").scalar_one()
    for statement in (
        f"GRANT SELECT ({CONNECTOR_PUBLIC}) ON connector TO {AGENTS}, {SUPERVISORS}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON connector TO {ADMINS}",
        f"GRANT SELECT ON connector TO {SERVICES}",
        f"GRANT USAGE, SELECT ON SEQUENCE connector_id_seq TO {ADMINS}",
        f"GRANT INSERT (connector_id) ON message TO {PEOPLE}",
        "ALTER TABLE connector ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE connector FORCE ROW LEVEL SECURITY",
        f'CREATE POLICY owner_all ON connector TO "{owner}" USING (true) WITH CHECK (true)',
        f"CREATE POLICY everyone_read ON connector FOR SELECT TO {EVERYONE} USING (true)",
        f"CREATE POLICY admins_write ON connector FOR ALL TO {ADMINS}"
        f" USING ({_ADMIN}) WITH CHECK ({_ADMIN})",
        # the account's public columns for people were granted by name: provider_set is gone
    ):
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    row = bind.execute(sa.select(_connector.c.settings).where(_connector.c.id == 1)).first()
    settings = row[0] if row is not None else {}
    if isinstance(settings, str):
        settings = json.loads(settings)
    with op.batch_alter_table("account", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("provider_url", sa.String(length=2048), nullable=True))
        batch.add_column(
            sa.Column(
                "provider_auth_enabled", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("provider_login", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("provider_ca_file", sa.String(length=4096), nullable=True))
        batch.add_column(
            sa.Column(
                "provider_set",
                sa.Boolean(),
                sa.Computed("provider_url IS NOT NULL AND provider_url <> ''", persisted=True),
                nullable=True,
            )
        )
    bind.execute(
        sa.text(
            "UPDATE account SET provider_url = :url, provider_auth_enabled = :auth,"
            " provider_login = :login, provider_ca_file = :ca"
        ),
        {
            "url": settings.get("url") or None,
            "auth": bool(settings.get("auth_enabled")),
            "login": settings.get("login"),
            "ca": settings.get("ca_file"),
        },
    )
    with op.batch_alter_table("message") as batch:
        batch.drop_constraint(batch.f("fk_message_connector_id_connector"), type_="foreignkey")
        batch.drop_column("connector_id")
    with op.batch_alter_table("queue") as batch:
        batch.add_column(
            sa.Column("connector", sa.String(length=64), nullable=False, server_default="default")
        )
    op.execute("UPDATE queue SET connector = (SELECT name FROM connector WHERE id = 1)")
    with op.batch_alter_table("queue") as batch:
        batch.drop_constraint(batch.f("fk_queue_connector_id_connector"), type_="foreignkey")
        batch.drop_index(batch.f("ix_queue_connector_id"))
        batch.drop_column("connector_id")
    with op.batch_alter_table("sms_number") as batch:
        batch.drop_constraint(batch.f("fk_sms_number_connector_id_connector"), type_="foreignkey")
        batch.drop_index(batch.f("ix_sms_number_connector_id"))
        batch.drop_column("connector_id")
    op.drop_table("connector")
    if not sqlite:
        op.execute(
            f"GRANT SELECT (id, name, credits, updated_at, provider_set) ON account TO {PEOPLE}"
        )
        op.execute(
            "GRANT UPDATE (name, provider_url, provider_auth_enabled, provider_login,"
            f" provider_ca_file, updated_at) ON account TO {ADMINS}, {SERVICES}"
        )
