"""The steering page's figures read small partial indexes: the month's ruptures (broken
contracts), the month's exits (cases with an exit kind), the mails failed for good; and a
manager's scope (the young people living in their territory) reads an index of départements.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_contracts_rupture_date", "contracts", "rupture_date", "rupture_date IS NOT NULL"),
    ("ix_cases_exits", "cases", "state_since", "exit_kind IS NOT NULL"),
    ("ix_outbox_failed", "outbox", "id", "status = 'failed'"),
)


def upgrade() -> None:
    op.create_index(op.f("ix_beneficiaries_departement"), "beneficiaries", ["departement"])
    for name, table, column, where in INDEXES:
        op.create_index(
            name,
            table,
            [column],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, table, _column, _where in INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_index(op.f("ix_beneficiaries_departement"), table_name="beneficiaries")
