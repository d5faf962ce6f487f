"""Needs: "legal" (rights, justice) joins the vocabulary partners and liaison sheets share.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

NEEDS = (
    "housing",
    "money",
    "health",
    "mobility",
    "family",
    "employer_conflict",
    "motivation",
    "training",
    "other",
)


def _needs(needs: tuple[str, ...]) -> None:
    # A closed vocabulary checked by a CHECK constraint (not a native enum): the constraint is
    # replaced. SQLite cannot alter one: batch mode copies the table (casework.migrate turns
    # foreign keys off for it, and checks them before committing).
    check = "need_category IN (" + ", ".join(f"'{n}'" for n in needs) + ")"
    with op.batch_alter_table("liaison_sheets") as batch:
        batch.drop_constraint(op.f("ck_liaison_sheets_need_category"), type_="check")
        batch.create_check_constraint(op.f("ck_liaison_sheets_need_category"), sa.text(check))


def upgrade() -> None:
    _needs((*NEEDS, "legal"))


def downgrade() -> None:
    op.execute("UPDATE liaison_sheets SET need_category = 'other' WHERE need_category = 'legal'")
    _needs(NEEDS)
