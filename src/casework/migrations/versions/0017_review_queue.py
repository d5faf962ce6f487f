"""The cross-matching review queue read by an index (band, probability): the staff pages show
it a page at a time and count the pairs above a threshold without scanning the proposals.

Revision ID: 0017_review_queue
Revises: 0016
Create Date: 2026-12-10
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_match_proposals_band_probability", "match_proposals", ["band", "probability"]
    )


def downgrade() -> None:
    op.drop_index("ix_match_proposals_band_probability", table_name="match_proposals")
