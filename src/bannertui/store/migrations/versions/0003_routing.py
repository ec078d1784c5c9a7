"""routing: queue members, bots, timeout and out-of-hours marks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:00:00.000000

Inbound routing (SPEC Q2–Q4): the agents each queue distributes to, the queues' bots, and
two marks on interactions so the after-timeout bot and the out-of-hours message are sent
once each.  Indexes on message (direction, created_at) and (status, created_at) for the supervisor's
last hour (S1): the volume per 5 minutes and the failures are index range counts.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_agent",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_queue_agent_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queue.id"],
            name=op.f("fk_queue_agent_queue_id_queue"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("queue_id", "agent_id", name=op.f("pk_queue_agent")),
    )
    op.create_table(
        "bot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "trigger IN ('on_start', 'on_finish', 'after_timeout')",
            name=op.f("ck_bot_trigger_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queue.id"], name=op.f("fk_bot_queue_id_queue"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["template.id"], name=op.f("fk_bot_template_id_template")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot")),
    )
    op.create_index(op.f("ix_bot_queue_id"), "bot", ["queue_id"], unique=False)
    op.create_index(
        "ix_message_direction_created", "message", ["direction", "created_at"], unique=False
    )
    op.create_index("ix_message_status_created", "message", ["status", "created_at"], unique=False)
    op.create_index(
        "ix_interaction_queue_assigned", "interaction", ["queue_id", "assigned_at"], unique=False
    )
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("timed_out_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("out_of_hours_sent_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("out_of_hours_sent_at")
        batch.drop_column("timed_out_at")
    op.drop_index("ix_interaction_queue_assigned", table_name="interaction")
    op.drop_index("ix_message_status_created", table_name="message")
    op.drop_index("ix_message_direction_created", table_name="message")
    op.drop_index(op.f("ix_bot_queue_id"), table_name="bot")
    op.drop_table("bot")
    op.drop_table("queue_agent")
