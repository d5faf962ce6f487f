"""Revoked links: when, by whom and why a link was revoked (it then answers 410).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("action_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", TIMESTAMP, nullable=True))
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("revoke_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_links", schema=None) as batch_op:
        batch_op.drop_column("revoke_reason")
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("revoked_at")
