"""Hardening: a case is never deleted (deleting then inserting it again, or SQLite's INSERT OR
REPLACE, would rewrite its group); each service process records the state of its mail readers;
failed timers have a small index of their own (status and /health count them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NEVER_DELETED = "a case group is written once: cases are never deleted"


def upgrade() -> None:
    with op.batch_alter_table("service_heartbeats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("readers", JSON_DOC, nullable=True))
    failed = sa.text("status = 'failed'")
    op.create_index(
        "ix_timers_failed",
        "timers",
        ["closed_at"],
        sqlite_where=failed,
        postgresql_where=failed,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""CREATE FUNCTION casework_cases_never_deleted() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                  RAISE EXCEPTION '{NEVER_DELETED}'
                    USING ERRCODE = 'integrity_constraint_violation';
                END $$"""
        )
        op.execute(
            """CREATE TRIGGER cases_never_deleted BEFORE DELETE ON cases
               FOR EACH ROW EXECUTE FUNCTION casework_cases_never_deleted()"""
        )
    else:
        # Fires for INSERT OR REPLACE's implicit delete too, with PRAGMA recursive_triggers=ON
        # (set on every connection by casework.database).
        op.execute(
            f"""CREATE TRIGGER cases_never_deleted BEFORE DELETE ON cases
                BEGIN SELECT RAISE(ABORT, '{NEVER_DELETED}'); END"""
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER cases_never_deleted ON cases")
        op.execute("DROP FUNCTION casework_cases_never_deleted")
    else:
        op.execute("DROP TRIGGER cases_never_deleted")
    op.drop_index("ix_timers_failed", table_name="timers")
    with op.batch_alter_table("service_heartbeats", schema=None) as batch_op:
        batch_op.drop_column("readers")
