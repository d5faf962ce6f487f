"""Staff: the manager role, a territory (départements) per user, and an index of users' events.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ROLES = ("counsellor", "evaluator", "administrator")
USER = sa.text("entity = 'user'")


def _role_check(roles: tuple[str, ...]) -> str:
    return "role IN (" + ", ".join(f"'{r}'" for r in roles) + ")"


def _roles(roles: tuple[str, ...]) -> None:
    # The role is a closed vocabulary checked by a CHECK constraint (not a native enum): the
    # constraint is replaced. SQLite cannot alter one: batch mode copies the table.
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_user_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_user_role"), sa.text(_role_check(roles)))


def upgrade() -> None:
    _roles((*ROLES, "manager"))
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("territory", JSON_DOC, server_default=sa.text("'[]'"), nullable=False)
        )
    op.create_index(
        "ix_events_user", "events", ["entity_id"], sqlite_where=USER, postgresql_where=USER
    )


def downgrade() -> None:
    op.drop_index("ix_events_user", table_name="events")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("territory")
    op.execute("UPDATE users SET role = 'counsellor' WHERE role = 'manager'")
    _roles(ROLES)
