"""Inbound mail: every message kept raw, with what was made of it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def upgrade() -> None:
    op.create_table(
        "inbound_mails",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("imap_uidvalidity", BIG_ID, nullable=True),
        sa.Column("imap_uid", BIG_ID, nullable=True),
        sa.Column("message_id", sa.String(length=250), nullable=True),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column(
            "kind",
            _enum("inbound_kind", "answer", "auto_reply", "bounce", "unreadable"),
            nullable=False,
        ),
        sa.Column(
            "status",
            _enum("inbound_status", "recorded", "ignored", "quarantined", "rejected"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outbox_id", BIG_ID, nullable=True),
        sa.Column("sheet_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("event_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["liaison_sheets.id"],
            name=op.f("fk_inbound_mails_sheet_id_liaison_sheets"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_inbound_mails_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mails")),
    )
    with op.batch_alter_table("inbound_mails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_mails_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_inbound_status", ["status"], unique=False)
        batch_op.create_index(
            "uq_inbound_imap_uid",
            ["imap_uidvalidity", "imap_uid"],
            unique=True,
            sqlite_where=sa.text("imap_uid IS NOT NULL"),
            postgresql_where=sa.text("imap_uid IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_inbound_message_id",
            ["message_id"],
            unique=True,
            sqlite_where=sa.text("message_id IS NOT NULL"),
            postgresql_where=sa.text("message_id IS NOT NULL"),
        )

    op.create_table(
        "inbound_attachments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("inbound_id", BIG_ID, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_mails.id"],
            name=op.f("fk_inbound_attachments_inbound_id_inbound_mails"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_attachments")),
    )
    with op.batch_alter_table("inbound_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_attachments_inbound_id"), ["inbound_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("inbound_attachments")
    op.drop_table("inbound_mails")
