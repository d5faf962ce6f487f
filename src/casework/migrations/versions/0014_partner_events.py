"""Partners' audit trail: their events (entity 'partner', no case) found by a partial index,
like the users'.

Revision ID: 0014_partner_events
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PARTNER = sa.text("entity = 'partner'")


def upgrade() -> None:
    op.create_index(
        "ix_events_partner", "events", ["entity_id"], sqlite_where=PARTNER, postgresql_where=PARTNER
    )


def downgrade() -> None:
    op.drop_index("ix_events_partner", table_name="events")
