"""The partner directory: territory as départements and postcodes, SIRET, the partner's own
deadlines, deactivation; a contact's phone.

The old free-text `territory` is split into codes (five digits: a postcode; else a
département) and dropped. SQLite drops the column in place (3.35+): copying `partners`, as
batch mode would, means dropping a table that sheets, contacts and alerts refer to.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
PARTNERS = sa.table(
    "partners",
    sa.column("id", sa.Integer()),
    sa.column("territory", sa.String()),
    sa.column("departements", JSON_DOC),
    sa.column("postcodes", JSON_DOC),
)


def upgrade() -> None:
    # Server defaults fill the rows already there (plain strings: SQLite adds such columns in
    # place).
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("departements", JSON_DOC, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("postcodes", JSON_DOC, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("siret", sa.String(length=14), nullable=True))
        batch.add_column(sa.Column("ack_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("feedback_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("deactivated_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("deactivated_by", sa.String(length=120), nullable=True))
    with op.batch_alter_table("partner_contacts") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(PARTNERS.c.id, PARTNERS.c.territory).where(PARTNERS.c.territory.is_not(None))
    ).all()
    for partner_id, territory in rows:
        codes = [c.upper() for c in re.split(r"[^0-9A-Za-z]+", territory) if c]
        conn.execute(
            sa.update(PARTNERS)
            .where(PARTNERS.c.id == partner_id)
            .values(
                departements=[c for c in codes if len(c) != 5],
                postcodes=[c for c in codes if len(c) == 5],
            )
        )
    _drop_column("partners", "territory")


def downgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("territory", sa.String(length=40), nullable=True))
    conn = op.get_bind()
    for partner_id, departements, postcodes in conn.execute(
        sa.select(PARTNERS.c.id, PARTNERS.c.departements, PARTNERS.c.postcodes)
    ).all():
        codes = [*_listed(departements), *_listed(postcodes)]
        conn.execute(
            sa.update(PARTNERS)
            .where(PARTNERS.c.id == partner_id)
            .values(territory=" ".join(codes)[:40] or None)
        )
    for column in (
        "departements",
        "postcodes",
        "siret",
        "ack_days",
        "feedback_days",
        "active",
        "deactivated_at",
        "deactivated_by",
    ):
        _drop_column("partners", column)
    _drop_column("partner_contacts", "phone")


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    else:
        op.drop_column(table, column)


def _listed(value: object) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value or [])
