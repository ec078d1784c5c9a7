"""smpp: connectors of type smpp, and the parts an SMSC accepted

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 01:30:00.000000

Issue #21.  A connector may be of type ``smpp``.  Each part of a message sent over SMPP has
the SMSC's own id, which its delivery receipt names: ``message_part`` keeps them, with the
part's state, so that a message is delivered when all its parts are.

On PostgreSQL the dispatcher holds the SMPP sessions, and receipts and mobile-originated
texts arrive on them: ``bannertui_dispatch`` is given the receiver's rights
(``bannertui_webhook``) as well as its own, and both services read and write
``message_part``; administrators and supervisors read it; agents do not.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUPERVISORS, ADMINS = "bannertui_supervisors", "bannertui_admins"
DISPATCH, WEBHOOK = "bannertui_dispatch", "bannertui_webhook"
SERVICES = f"{DISPATCH}, {WEBHOOK}"


def _types(*allowed: str) -> None:
    with op.batch_alter_table("connector") as batch:
        batch.drop_constraint(batch.f("ck_connector_type_allowed"), type_="check")
        batch.create_check_constraint(
            batch.f("ck_connector_type_allowed"),
            "type IN (" + ", ".join(f"'{t}'" for t in allowed) + ")",
        )


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    # The constraint's name is the naming convention's ("ck_connector_type_allowed").
    _types("https-json", "twilio", "smpp")
    op.create_table(
        "message_part",
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connector.id"],
            name=op.f("fk_message_part_connector_id_connector"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_message_part_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connector_id", "provider_id", name=op.f("pk_message_part")),
    )
    op.create_index(op.f("ix_message_part_message_id"), "message_part", ["message_id"])
    if sqlite:
        return
    for statement in (
        f"GRANT {WEBHOOK} TO {DISPATCH}",
        f"GRANT SELECT, INSERT, UPDATE ON message_part TO {SERVICES}",
        f"GRANT SELECT ON message_part TO {SUPERVISORS}, {ADMINS}",
    ):
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM connector WHERE type = 'smpp'")).scalar():
        raise RuntimeError(
            "connectors of type smpp exist: remove them before going back below 0013"
        )
    op.drop_index(op.f("ix_message_part_message_id"), table_name="message_part")
    op.drop_table("message_part")
    _types("https-json", "twilio")
    if bind.dialect.name != "sqlite":
        op.execute(f"REVOKE {WEBHOOK} FROM {DISPATCH}")
