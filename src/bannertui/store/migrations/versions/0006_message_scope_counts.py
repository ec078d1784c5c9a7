"""message scope counts: an index for each part of an agent's inbox counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:00:00.000000

An agent's inbox counts (SPEC X6, docs/permissions.md) evaluated the scope on every message:
~3 s for 1,000,000 messages (bench/bench_scope.py).  They are now counted in parts that do
not overlap (``services/inbox.py`` ``_scoped_counts``), each read from one index alone: the
messages of their queues and their own sends outside them (``ix_message_queue_scope``), the
rest of their conversations' messages (``ix_message_interaction_scope``), and the replies to
their sends outside any queue (``ix_message_direct_scope``, partial: the messages without a
queue only; each reply still one probe of ``ix_message_agent_sent``, from 0005).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTSIDE_QUEUES = "queue_id IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_message_queue_scope",
        "message",
        ["queue_id", "agent_id", "deleted", "folder"],
        unique=False,
    )
    op.create_index(
        "ix_message_interaction_scope",
        "message",
        ["interaction_id", "queue_id", "agent_id", "deleted", "folder"],
        unique=False,
    )
    op.create_index(
        "ix_message_direct_scope",
        "message",
        [
            "direction",
            "to_number",
            "remote_number",
            "agent_id",
            "interaction_id",
            "queue_id",
            "deleted",
            "folder",
        ],
        unique=False,
        sqlite_where=sa.text(OUTSIDE_QUEUES),
        postgresql_where=sa.text(OUTSIDE_QUEUES),
    )


def downgrade() -> None:
    op.drop_index("ix_message_direct_scope", table_name="message")
    op.drop_index("ix_message_interaction_scope", table_name="message")
    op.drop_index("ix_message_queue_scope", table_name="message")
