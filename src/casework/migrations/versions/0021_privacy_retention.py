"""Retention: what the purge needs to anonymise, remember it did, and redact audit events.

- `beneficiaries.birth_date` becomes nullable; `birth_year` keeps the year once the date is
  gone, `anonymised_at` says when the identity was anonymised (`casework.privacy.anonymise`).
- `contracts.age_at_start`: the completed years at the contract's start, written when the birth
  date is removed, so the report and the export count the same ages after a purge.
- `cases.notes_purged_at`, `cases.audit_purged_at`, `inbound_mails.purged_at`,
  `outbox.purged_at`: each category done once (a second purge finds nothing due).
- `purge_runs`: one row per day the service's daily purge ran (the claim several processes
  race for).
- `event_redaction_permits`: the events stay append-only, except that the `data` of an event
  may be rewritten inside a transaction that holds a permit row. The purge inserts the permit
  and deletes it before it commits, so no other transaction ever sees one: on PostgreSQL the
  permit also names its own transaction (`txid_current()`), on SQLite there is one writer at a
  time and the row is never committed. No other column may change, and DELETE stays refused.

Plain ADD COLUMNs on cases, events' neighbours and the mail tables: a batch (copy) migration
would drop the triggers of `cases` on SQLite. `beneficiaries` (no trigger) is copied.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-12
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_APPEND_ONLY = "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
_PERMITTED = "EXISTS (SELECT 1 FROM event_redaction_permits)"
_FIXED_COLUMNS = (
    'id, case_id, entity, entity_id, version, "trigger", from_state, to_state, actor_kind, '
    "actor, at"
)
SQLITE_UP = [
    "DROP TRIGGER events_no_update",
    f"CREATE TRIGGER events_no_update BEFORE UPDATE OF {_FIXED_COLUMNS} ON events {_APPEND_ONLY}",
    f"""CREATE TRIGGER events_no_update_data BEFORE UPDATE OF data ON events
       WHEN NOT {_PERMITTED} {_APPEND_ONLY}""",
]
SQLITE_DOWN = [
    "DROP TRIGGER events_no_update_data",
    "DROP TRIGGER events_no_update",
    f"CREATE TRIGGER events_no_update BEFORE UPDATE ON events {_APPEND_ONLY}",
]
_PG_FIXED = " OR ".join(
    f"NEW.{c.strip()} IS DISTINCT FROM OLD.{c.strip()}" for c in _FIXED_COLUMNS.split(",")
)
PG_UP = f"""CREATE OR REPLACE FUNCTION casework_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND NOT ({_PG_FIXED}) AND EXISTS (
          SELECT 1 FROM event_redaction_permits WHERE tx = txid_current()) THEN
        RETURN NEW;  -- the purge's redaction of `data`, in the transaction holding the permit
      END IF;
      RAISE EXCEPTION 'events are append-only'
        USING ERRCODE = 'integrity_constraint_violation';
    END $$"""
PG_DOWN = """CREATE OR REPLACE FUNCTION casework_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'events are append-only'
        USING ERRCODE = 'integrity_constraint_violation';
    END $$"""


def upgrade() -> None:
    with op.batch_alter_table("beneficiaries", schema=None) as batch:
        batch.alter_column("birth_date", existing_type=sa.Date(), nullable=True)
        batch.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("anonymised_at", TIMESTAMP, nullable=True))
    op.add_column("contracts", sa.Column("age_at_start", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("notes_purged_at", TIMESTAMP, nullable=True))
    op.add_column("cases", sa.Column("audit_purged_at", TIMESTAMP, nullable=True))
    op.add_column("inbound_mails", sa.Column("purged_at", TIMESTAMP, nullable=True))
    op.add_column("outbox", sa.Column("purged_at", TIMESTAMP, nullable=True))
    op.create_table(
        "purge_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("host", sa.String(length=120), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("counts", JSON_DOC, nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_purge_runs")),
    )
    op.create_table(
        "event_redaction_permits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tx", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_redaction_permits")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UP)
    else:
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DOWN)
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
    op.drop_table("event_redaction_permits")
    op.drop_table("purge_runs")
    op.drop_column("outbox", "purged_at")
    op.drop_column("inbound_mails", "purged_at")
    op.drop_column("cases", "audit_purged_at")
    op.drop_column("cases", "notes_purged_at")
    op.drop_column("contracts", "age_at_start")
    # A birth date is required again: an anonymised person gets the 1st of January of their
    # year (the day was removed for good).
    people = sa.table(
        "beneficiaries",
        sa.column("birth_date", sa.Date()),
        sa.column("birth_year", sa.Integer()),
    )
    conn = op.get_bind()
    years = conn.execute(
        sa.select(people.c.birth_year).where(people.c.birth_date.is_(None)).distinct()
    ).scalars()
    for year in list(years):
        conn.execute(
            sa.update(people)
            .where(people.c.birth_date.is_(None), people.c.birth_year == year)
            .values(birth_date=date(year or 1900, 1, 1))
        )
    with op.batch_alter_table("beneficiaries", schema=None) as batch:
        batch.drop_column("anonymised_at")
        batch.drop_column("birth_year")
        batch.alter_column("birth_date", existing_type=sa.Date(), nullable=False)
