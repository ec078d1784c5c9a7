"""message scope: an index of each agent's sends

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:00:00.000000

The inbox's data scope (SPEC X6, docs/permissions.md) shows an agent the replies to their own
Direct sends: the inbound texts whose (remote number, our number) is one an agent's message
went (remote number, from number).  ``ix_message_agent_sent`` answers that set from the index
alone, and "the messages they sent" by its first column, instead of a scan of every message
once per inbox statement.

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_message_agent_sent",
        "message",
        ["agent_id", "remote_number", "from_number"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_message_agent_sent", table_name="message")
