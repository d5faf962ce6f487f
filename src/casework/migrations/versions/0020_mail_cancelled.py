"""Mails cancelled: a young person who withdraws consent is mailed about no more, and the
mails of their case not sent yet are marked `cancelled` (`casework.privacy.withdrawal`).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

STATUSES = ("queued", "sent", "failed", "bounced", "undeliverable")


def _statuses(statuses: tuple[str, ...]) -> None:
    # A closed vocabulary checked by a CHECK constraint (not a native enum, on PostgreSQL too):
    # the constraint is replaced. SQLite cannot alter one: batch mode copies the table.
    check = "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_mail_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_mail_status"), sa.text(check))


def upgrade() -> None:
    _statuses((*STATUSES, "cancelled"))


def downgrade() -> None:
    # Before this revision, a mail never sent with nobody to send it to was "undeliverable".
    op.execute("UPDATE outbox SET status = 'undeliverable' WHERE status = 'cancelled'")
    _statuses(STATUSES)
