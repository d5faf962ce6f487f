"""Intake, files as organisations send them: a young person's sex may be unknown (NULL), a
contract's employer too; a contract keeps its year of training and the young person's status
(apprentice or higher-education student).

Unknown sex is NULL rather than a third value ("U", "X"): it is information a file did not
give, not a sex; the CHECK constraint keeps the vocabulary to what files state (F, M), and every
count by sex meets the NULLs as a group of their own, to be named "inconnu".

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEX = sa.Enum("F", "M", name="sex", native_enum=False, create_constraint=True)
LEARNER_STATUS = sa.Enum(
    "apprentice", "student", name="learner_status", native_enum=False, create_constraint=True
)


def upgrade() -> None:
    # SQLite: the tables are copied (`casework.migrate` turns foreign keys off meanwhile).
    with op.batch_alter_table("beneficiaries") as batch:
        batch.alter_column("sex", existing_type=SEX, nullable=True)
    with op.batch_alter_table("contracts") as batch:
        batch.alter_column("employer_name", existing_type=sa.String(length=200), nullable=True)
        batch.add_column(sa.Column("training_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("learner_status", LEARNER_STATUS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.drop_constraint(op.f("ck_contracts_learner_status"), type_="check")
        batch.drop_column("learner_status")
        batch.drop_column("training_year")
        batch.alter_column("employer_name", existing_type=sa.String(length=200), nullable=False)
    with op.batch_alter_table("beneficiaries") as batch:
        batch.alter_column("sex", existing_type=SEX, nullable=False)
