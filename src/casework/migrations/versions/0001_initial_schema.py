"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 07:29:39.939349
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Times are stored in UTC (casework.models.base.UTCDateTime does the conversion).
TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

SQLITE_RULES = [
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
    """CREATE TRIGGER cases_group_write_once BEFORE UPDATE OF "group" ON cases
       WHEN OLD."group" IS NOT NEW."group"
       BEGIN SELECT RAISE(ABORT, 'a case group is written once'); END""",
]
POSTGRESQL_RULES = [
    """CREATE FUNCTION casework_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'events are append-only'
           USING ERRCODE = 'integrity_constraint_violation';
       END $$""",
    """CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION casework_events_append_only()""",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION casework_events_append_only()""",
    """CREATE FUNCTION casework_group_write_once() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD."group" IS DISTINCT FROM NEW."group" THEN
           RAISE EXCEPTION 'a case group is written once'
             USING ERRCODE = 'integrity_constraint_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER cases_group_write_once BEFORE UPDATE OF "group" ON cases
       FOR EACH ROW EXECUTE FUNCTION casework_group_write_once()""",
]


def upgrade() -> None:
    op.create_table(
        "beneficiaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("birth_name", sa.String(length=120), nullable=False),
        sa.Column("first_names", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column(
            "sex",
            sa.Enum("F", "M", name="sex", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address_line", sa.String(length=200), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("commune", sa.String(length=120), nullable=True),
        sa.Column("departement", sa.String(length=3), nullable=True),
        sa.Column("ml_id", sa.String(length=40), nullable=True),
        sa.Column("guardian_name", sa.String(length=200), nullable=True),
        sa.Column("guardian_phone", sa.String(length=32), nullable=True),
        sa.Column("guardian_email", sa.String(length=254), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beneficiaries")),
        sa.UniqueConstraint("ml_id", name=op.f("uq_beneficiaries_ml_id")),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "mission_locale",
                "housing",
                "training_centre",
                "social_services",
                "other",
                name="partner_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("need_categories", JSON_DOC, nullable=False),
        sa.Column("territory", sa.String(length=40), nullable=True),
        sa.Column("uai", sa.String(length=8), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_partners_name")),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("cma_number", sa.String(length=40), nullable=False),
        sa.Column("employer_name", sa.String(length=200), nullable=False),
        sa.Column("employer_siret", sa.String(length=14), nullable=True),
        sa.Column("employer_trade", sa.String(length=120), nullable=True),
        sa.Column("training_centre_name", sa.String(length=200), nullable=True),
        sa.Column("training_centre_uai", sa.String(length=8), nullable=True),
        sa.Column("diploma", sa.String(length=120), nullable=True),
        sa.Column("diploma_level", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("planned_end_date", sa.Date(), nullable=False),
        sa.Column("trial_end_date", sa.Date(), nullable=True),
        sa.Column("rupture_date", sa.Date(), nullable=True),
        sa.Column("rupture_reason", sa.Text(), nullable=True),
        sa.Column(
            "rupture_initiative",
            sa.Enum(
                "apprentice",
                "employer",
                "mutual",
                "other",
                name="rupture_initiative",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "diploma_level BETWEEN 3 AND 8", name=op.f("ck_contracts_diploma_level_range")
        ),
        sa.CheckConstraint(
            "planned_end_date >= start_date", name=op.f("ck_contracts_end_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_contracts_beneficiary_id_beneficiaries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("cma_number", name=op.f("uq_contracts_cma_number")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contracts_beneficiary_id"), ["beneficiary_id"], unique=False
        )

    op.create_table(
        "partner_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "contact", "manager", name="contact_role", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("unreachable", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_contacts_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_contacts")),
        sa.UniqueConstraint("partner_id", "email", name="partner_email"),
    )
    with op.batch_alter_table("partner_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_contacts_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_partner_contacts_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.Integer(), nullable=False),
        sa.Column(
            "group",
            sa.Enum(
                "test", "control", name="case_group", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column(
            "assignment_method",
            sa.Enum(
                "parity",
                "lottery",
                "evaluator",
                "manual",
                name="assignment_method",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column(
            "exit_kind",
            sa.Enum(
                "new_contract_same_trade",
                "other_orientation",
                "training",
                "job",
                "without_solution",
                "lost_contact",
                name="exit_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("referent", sa.String(length=120), nullable=True),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("workflow_name", sa.String(length=40), nullable=False),
        sa.Column("workflow_version", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state_since", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_cases_beneficiary_id_beneficiaries"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_cases_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("contract_id", name=op.f("uq_cases_contract_id")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cases_beneficiary_id"), ["beneficiary_id"], unique=False
        )
        batch_op.create_index("ix_cases_cohort_group", ["cohort", "group"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_state"), ["state"], unique=False)

    op.create_table(
        "contact_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "phone",
                "sms",
                "email",
                "visit",
                "meeting",
                "other",
                name="contact_channel",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("difficulties", JSON_DOC, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("phase", sa.String(length=40), nullable=True),
        sa.CheckConstraint("duration_min >= 0", name=op.f("ck_contact_logs_duration_positive")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_contact_logs_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_logs")),
    )
    with op.batch_alter_table("contact_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_logs_case_id"), ["case_id"], unique=False)

    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=60), nullable=True),
        sa.Column("from_state", sa.String(length=40), nullable=True),
        sa.Column("to_state", sa.String(length=40), nullable=True),
        sa.Column(
            "actor_kind",
            sa.Enum(
                "person",
                "partner",
                "timer",
                "import",
                "system",
                name="actor_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_events_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "liaison_sheets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column(
            "need_category",
            sa.Enum(
                "housing",
                "money",
                "health",
                "mobility",
                "family",
                "employer_conflict",
                "motivation",
                "training",
                "other",
                name="need_category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("consent_at", TIMESTAMP, nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=True),
        sa.Column("feedback_at", TIMESTAMP, nullable=True),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("workflow_name", sa.String(length=40), nullable=False),
        sa.Column("workflow_version", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state_since", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_liaison_sheets_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_liaison_sheets_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_liaison_sheets")),
    )
    with op.batch_alter_table("liaison_sheets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_liaison_sheets_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_liaison_sheets_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_liaison_sheets_state"), ["state"], unique=False)

    rules = POSTGRESQL_RULES if op.get_bind().dialect.name == "postgresql" else SQLITE_RULES
    for statement in rules:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER cases_group_write_once ON cases")
        op.execute("DROP FUNCTION casework_group_write_once")
    else:
        op.execute("DROP TRIGGER cases_group_write_once")
    with op.batch_alter_table("liaison_sheets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_liaison_sheets_state"))
        batch_op.drop_index(batch_op.f("ix_liaison_sheets_partner_id"))
        batch_op.drop_index(batch_op.f("ix_liaison_sheets_case_id"))

    op.drop_table("liaison_sheets")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_case_id"))

    op.drop_table("events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION casework_events_append_only")
    with op.batch_alter_table("contact_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_logs_case_id"))

    op.drop_table("contact_logs")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_state"))
        batch_op.drop_index("ix_cases_cohort_group")
        batch_op.drop_index(batch_op.f("ix_cases_beneficiary_id"))

    op.drop_table("cases")
    with op.batch_alter_table("partner_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_contacts_partner_id"))
        batch_op.drop_index(batch_op.f("ix_partner_contacts_email"))

    op.drop_table("partner_contacts")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contracts_beneficiary_id"))

    op.drop_table("contracts")
    op.drop_table("partners")
    op.drop_table("beneficiaries")
