"""contact.search_key: what a contact search looks in, folded

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 20:20:00.000000

Issue #19 (I9): search was accent-insensitive one way only ("ines" did not find "Inès").
Each contact keeps its names, company, email and number folded (without case or accents,
:func:`bannertui.domain.contacts.search_key`); a search folds what is typed the same way and
looks in this column, on both backends alike.  Filled here for the contacts already stored.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bannertui.domain.contacts import search_key

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1000


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search_key", sa.String(length=700), nullable=False, server_default="")
        )
    bind = op.get_bind()
    contact = sa.table(
        "contact",
        sa.column("id", sa.Integer),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
        sa.column("company", sa.String),
        sa.column("email", sa.String),
        sa.column("number", sa.String),
        sa.column("search_key", sa.String),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(
                contact.c.id,
                contact.c.first_name,
                contact.c.last_name,
                contact.c.company,
                contact.c.email,
                contact.c.number,
            )
            .where(contact.c.id > last)
            .order_by(contact.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        bind.execute(
            contact.update().where(contact.c.id == sa.bindparam("cid")),
            [{"cid": r.id, "search_key": search_key(*r[1:])} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("search_key")
