"""Durable timers and service heartbeats; events name the version their transition left.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "service_heartbeats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=120), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("last_sweep_at", TIMESTAMP, nullable=True),
        sa.Column("last_sweep", JSON_DOC, nullable=False),
        sa.Column("stopped_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_heartbeats")),
    )
    op.create_table(
        "timers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("set_version", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=60), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("run_after", TIMESTAMP, nullable=False),
        sa.Column("misfire", sa.String(length=10), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "fired",
                "discarded",
                "cancelled",
                "failed",
                name="timer_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_timers_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
    )
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index("ix_timers_entity", ["entity", "entity_id"], unique=False)
        batch_op.create_index(
            "ix_timers_pending_run_after",
            ["run_after", "id"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    # Plain ADD COLUMNs: a batch (copy) migration would drop the append-only triggers.
    op.add_column("events", sa.Column("version", sa.Integer(), nullable=True))
    for table in ("cases", "liaison_sheets"):
        op.add_column(
            table,
            sa.Column("entered_version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        )


def downgrade() -> None:
    op.drop_column("events", "version")
    for table in ("cases", "liaison_sheets"):
        op.drop_column(table, "entered_version")

    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_timers_pending_run_after",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index("ix_timers_entity")

    op.drop_table("timers")
    op.drop_table("service_heartbeats")
