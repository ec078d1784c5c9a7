"""people: one contact per number

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000

The index on ``contact.number`` becomes unique.  A database that already holds several
contacts with the same number (possible only through tools other than bannertui) has
them merged first into the oldest one (lowest id): its empty fields take the others'
values, it gains their group memberships, and interactions that named them name it.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIELDS = ("first_name", "last_name", "email", "company")


def _merge_duplicate_numbers() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, number, first_name, last_name, email, company FROM contact"
            " WHERE number IN (SELECT number FROM contact GROUP BY number HAVING COUNT(*) > 1)"
            " ORDER BY number, id"
        )
    ).all()
    keepers: dict[str, dict[str, object]] = {}
    for row in rows:
        data = dict(row._mapping)
        keeper = keepers.get(str(data["number"]))
        if keeper is None:
            keepers[str(data["number"])] = data
            continue
        keep_id, dup_id = keeper["id"], data["id"]
        for field in _FIELDS:
            if not keeper[field] and data[field]:
                keeper[field] = data[field]
                conn.execute(
                    sa.text(f"UPDATE contact SET {field} = :value WHERE id = :id"),
                    {"value": data[field], "id": keep_id},
                )
        conn.execute(
            sa.text(
                "INSERT INTO contact_group (contact_id, group_id)"
                " SELECT :keep, group_id FROM contact_group WHERE contact_id = :dup"
                " AND group_id NOT IN"
                " (SELECT group_id FROM contact_group WHERE contact_id = :keep)"
            ),
            {"keep": keep_id, "dup": dup_id},
        )
        conn.execute(
            sa.text("UPDATE interaction SET contact_id = :keep WHERE contact_id = :dup"),
            {"keep": keep_id, "dup": dup_id},
        )
        conn.execute(sa.text("DELETE FROM contact_group WHERE contact_id = :dup"), {"dup": dup_id})
        conn.execute(sa.text("DELETE FROM contact WHERE id = :dup"), {"dup": dup_id})


def upgrade() -> None:
    """Upgrade schema."""
    _merge_duplicate_numbers()
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_number"))
        batch_op.create_index(batch_op.f("ix_contact_number"), ["number"], unique=True)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_number"))
        batch_op.create_index(batch_op.f("ix_contact_number"), ["number"], unique=False)
