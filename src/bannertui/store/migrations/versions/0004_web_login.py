"""web login: agents' sign-in passwords and browser sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00.000000

``bannertui serve`` asks agents to sign in (docs/deploy.md, "Browser access"): an agent's
password is kept as an Argon2 hash (``agent.password_hash``, NULL: no browser sign-in), and
each signed-in browser has a ``web_session`` row holding the SHA-256 of its token (never the
token), the agent, when it started and expires, when it was ended (signed out), and the
address it signed in from.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("password_hash", sa.Text(), nullable=True))
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_web_session_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_session_token_hash")),
    )
    op.create_index(op.f("ix_web_session_agent_id"), "web_session", ["agent_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_session_agent_id"), table_name="web_session")
    op.drop_table("web_session")
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("password_hash")
