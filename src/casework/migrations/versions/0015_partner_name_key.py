"""Partners are known by their folded name: the database makes it unique (`name_key`).

`casework.names.fold` has no SQL equivalent on both databases (PostgreSQL's unaccent is an
extension; SQLite has nothing), so the key is a column Python fills, with a unique index (an
index, which SQLite adds in place: a constraint would mean copying `partners`, which sheets,
contacts and alerts refer to). Rows already there get their key here; two that fold alike
(possible before) keep theirs apart with the later one's number ("adlj 53 #7"), so nothing is
lost and the import's exact-name match still finds both. SQLite keeps the empty server default
the new NOT NULL column needed (it cannot drop one in place); every insert gives a key.

Revision ID: 0015_partner_name_key
Revises: 0014_partner_events
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from casework.names import fold

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PARTNERS = sa.table(
    "partners", sa.column("id", sa.Integer()), sa.column("name", sa.String()), sa.column("name_key")
)


def upgrade() -> None:
    op.add_column(
        "partners", sa.Column("name_key", sa.String(length=200), nullable=False, server_default="")
    )
    conn = op.get_bind()
    taken: set[str] = set()
    for partner_id, name in conn.execute(
        sa.select(PARTNERS.c.id, PARTNERS.c.name).order_by(PARTNERS.c.id)
    ).all():
        key = fold(name)
        if key in taken:
            key = f"{key} #{partner_id}"
        taken.add(key)
        conn.execute(sa.update(PARTNERS).where(PARTNERS.c.id == partner_id).values(name_key=key))
    if conn.dialect.name != "sqlite":
        op.alter_column("partners", "name_key", server_default=None)
    op.create_index("ix_partners_name_key", "partners", ["name_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_partners_name_key", table_name="partners")
    if op.get_bind().dialect.name == "sqlite":
        op.execute('ALTER TABLE "partners" DROP COLUMN "name_key"')
    else:
        op.drop_column("partners", "name_key")
