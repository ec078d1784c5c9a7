"""interaction.out_of_hours: arrived while its queue was closed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 20:10:00.000000

Issue #19 (Q5): the service level counted a conversation that arrived out of hours as late
(nobody could answer it in time).  Whether the queue was open is known when the
conversation arrives (the queue's hours of that moment, which may change afterwards): the
routing stores it.  The dashboard leaves these out of the service level and counts them
apart.  Conversations from before: those that were sent the out-of-hours message.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("out_of_hours", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE interaction SET out_of_hours = true WHERE out_of_hours_sent_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.drop_column("out_of_hours")
