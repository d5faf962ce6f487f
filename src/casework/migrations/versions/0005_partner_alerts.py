"""Partner alerts by mail: the alerts table, and a folded birth name to find apprentices by.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from casework.names import name_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 10_000


def upgrade() -> None:
    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=120), nullable=True))
    _fill_name_keys()
    op.create_index("ix_beneficiaries_name_key", "beneficiaries", ["name_key"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", BIG_ID, nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("identified_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("seen_at", TIMESTAMP, nullable=True),
        sa.Column("seen_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_alerts_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_mails.id"], name=op.f("fk_alerts_inbound_id_inbound_mails")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_alerts_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("inbound_id", name=op.f("uq_alerts_inbound_id")),
    )
    op.create_index("ix_alerts_case_id", "alerts", ["case_id"])


def _fill_name_keys() -> None:
    """Existing beneficiaries get their key, in batches (the folding is Python's)."""
    conn = op.get_bind()
    people = sa.table("beneficiaries", sa.column("id"), sa.column("birth_name"))
    keyed = sa.table("beneficiaries", sa.column("id"), sa.column("name_key"))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(people.c.id, people.c.birth_name)
            .where(people.c.id > last)
            .order_by(people.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            sa.update(keyed).where(keyed.c.id == sa.bindparam("key_id")),
            [{"key_id": r.id, "name_key": name_key(r.birth_name)} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_alerts_case_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_beneficiaries_name_key", table_name="beneficiaries")
    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.drop_column("name_key")
