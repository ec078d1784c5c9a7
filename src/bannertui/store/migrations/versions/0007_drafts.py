"""drafts: what an agent typed and has not sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 10:00:00.000000

Issue #23 item 3: a draft was lost on switching conversations, on a restart and when the
conversation was closed elsewhere.  ``draft`` keeps it, saved as the agent types: one row per
agent and slot — each conversation of theirs (``interaction:<id>``, with ``interaction_id``),
the Direct form (``direct``) and Send SMS (``compose``, with its recipients as typed).  The
text is stored as typed; an empty draft is no row.  The primary key (agent, slot) is what a
save upserts on; ``ix_draft_interaction_id`` serves the foreign key and the look-up of the
drafts kept from conversations closed elsewhere.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draft",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(interaction_id IS NULL AND slot IN ('direct', 'compose'))"
            " OR (interaction_id IS NOT NULL AND slot = 'interaction:' || interaction_id)",
            name=op.f("ck_draft_slot_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_draft_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interaction.id"],
            name=op.f("fk_draft_interaction_id_interaction"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "slot", name=op.f("pk_draft")),
    )
    op.create_index(op.f("ix_draft_interaction_id"), "draft", ["interaction_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_draft_interaction_id"), table_name="draft")
    op.drop_table("draft")
