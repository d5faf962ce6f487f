"""Intake: the rows a file left out (--skip-invalid) kept with its import, and its header.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("intake_files") as batch:  # SQLite: batch mode
        batch.add_column(sa.Column("header", JSON_DOC, nullable=True))
    op.create_table(
        "intake_rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("cells", JSON_DOC, nullable=False),
        sa.Column("reasons", JSON_DOC, nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["intake_files.id"], name=op.f("fk_intake_rejects_file_id_intake_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_rejects")),
    )
    op.create_index(op.f("ix_intake_rejects_file_id"), "intake_rejects", ["file_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_intake_rejects_file_id"), table_name="intake_rejects")
    op.drop_table("intake_rejects")
    with op.batch_alter_table("intake_files") as batch:
        batch.drop_column("header")
