"""Outgoing mail: users (counsellors…), the outbox, signed action links, daily digests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_index("ix_cases_referent_state", "cases", ["referent", "state"])
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=120), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("actions", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("login", "day", name="login_day"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "counsellor",
                "evaluator",
                "administrator",
                name="user_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("login", name=op.f("uq_users_login")),
    )
    op.create_table(
        "action_links",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=60), nullable=False),
        sa.Column("entered_version", sa.Integer(), nullable=False),
        sa.Column("valid_for_entry", sa.Integer(), nullable=False),
        sa.Column("mail_id", BIG_ID, nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_action_links_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_action_links_token_hash")),
    )
    with op.batch_alter_table("action_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_links_case_id"), ["case_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(length=20), nullable=True),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("state_entry", sa.Integer(), nullable=True),
        sa.Column("template", sa.String(length=120), nullable=False),
        sa.Column("recipient_role", sa.String(length=40), nullable=False),
        sa.Column("recipients", JSON_DOC, nullable=False),
        sa.Column("context", JSON_DOC, nullable=False),
        sa.Column("reply_token", sa.String(length=200), nullable=True),
        sa.Column("message_id", sa.String(length=250), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "sent",
                "failed",
                "bounced",
                "undeliverable",
                name="mail_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("about_mail_id", BIG_ID, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_outbox_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_waiting",
            ["next_attempt_at", "id"],
            unique=False,
            sqlite_where=sa.text("status = 'queued'"),
            postgresql_where=sa.text("status = 'queued'"),
        )
        # Unique among rendered mails only: queued rows (NULL) cost these indexes nothing.
        for column in ("message_id", "reply_token"):
            batch_op.create_index(
                f"uq_outbox_{column}",
                [column],
                unique=True,
                sqlite_where=sa.text(f"{column} IS NOT NULL"),
                postgresql_where=sa.text(f"{column} IS NOT NULL"),
            )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("uq_outbox_reply_token")
        batch_op.drop_index("uq_outbox_message_id")
        batch_op.drop_index(
            "ix_outbox_waiting",
            sqlite_where=sa.text("status = 'queued'"),
            postgresql_where=sa.text("status = 'queued'"),
        )
        batch_op.drop_index(batch_op.f("ix_outbox_case_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("action_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_links_case_id"))

    op.drop_table("action_links")
    op.drop_table("users")
    op.drop_table("digests")
    op.drop_index("ix_cases_referent_state", table_name="cases")
