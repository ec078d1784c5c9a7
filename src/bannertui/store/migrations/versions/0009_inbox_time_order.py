"""inbox in time order: its pages keyed by (created_at, id)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:00:00.000000

Issue #19: the inbox listed messages in the order they were stored (ids), so a message
stored late with an earlier time (the seeded data, an import, a clock set right) showed
out of time order.  A view's page is now newest first by (created_at, id), a keyset on both
(the id breaks ties: the order is total and stable from page to page).  The two indexes
that served the pages by id are replaced by the same with ``created_at`` before ``id``;
their ``deleted``/``folder`` prefix still answers the counts.

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_view")
        batch_op.drop_index("ix_message_all")
        batch_op.create_index("ix_message_view", ["deleted", "folder", "created_at", "id"])
        batch_op.create_index("ix_message_all", ["deleted", "created_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_view")
        batch_op.drop_index("ix_message_all")
        batch_op.create_index("ix_message_view", ["deleted", "folder", "id"])
        batch_op.create_index("ix_message_all", ["deleted", "id"])
