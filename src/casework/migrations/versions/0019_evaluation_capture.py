"""What the evaluation reads: assessments, and each contact's state and phase.

`assessments` holds the counsellor's assessments (one per case and moment: at one year, at
contract end). `contact_logs.state` is the state the case was in at the contact, and
`contact_logs.phase` now holds that state's phase of the counsellor's work as the workflow file
declares it (`phases:`) — until now it held the state itself.

Existing contacts are back-filled: their state is the old `phase` value (which `log_contact`
filled with the case's state), or else, from history, the state the case's last event before
the contact left it in. Their phase comes from that state by the mapping the bundled workflows
declared when this revision was written (below, frozen as every data migration's knowledge is:
a later edit of the files must not change what an old migration writes). A contact whose case
follows another workflow, or whose state is in no phase, keeps no phase.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)

# (workflow, version) → {state: phase}: `phases:` of workflows/case.yaml and
# workflows/pre_apprenticeship.yaml at this revision.
_CASE_V1 = {
    "identified": "identification",
    "consent_asked": "consent",
    "consent_reminded": "consent",
    "consented": "follow_up",
    "follow_up": "follow_up",
    "monitoring": "follow_up",
    "end_assessment": "follow_up",
    "rupture": "rupture",
    "reorientation": "rupture",
}
_PRE_APPRENTICESHIP_V1 = {
    "consent_asked": "consent",
    "consent_reminded": "consent",
    "follow_up": "follow_up",
    "placement": "follow_up",
    "dropped_out": "rupture",
}
PHASES = {("case", 1): _CASE_V1, ("pre_apprenticeship", 1): _PRE_APPRENTICESHIP_V1}

CONTACTS = sa.table(
    "contact_logs",
    sa.column("id", sa.Integer()),
    sa.column("case_id", sa.Integer()),
    sa.column("at", TIMESTAMP),
    sa.column("state", sa.String()),
    sa.column("phase", sa.String()),
)
CASES = sa.table(
    "cases",
    sa.column("id", sa.Integer()),
    sa.column("workflow_name", sa.String()),
    sa.column("workflow_version", sa.Integer()),
)
EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer()),
    sa.column("case_id", sa.Integer()),
    sa.column("entity", sa.String()),
    sa.column("at", TIMESTAMP),
    sa.column("to_state", sa.String()),
)


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "moment",
            sa.Enum(
                "one_year",
                "contract_end",
                name="assessment_moment",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "situation",
            sa.Enum(
                "same_employer",
                "other_employer",
                "training_without_contract",
                "employed",
                "unemployed",
                "unknown",
                name="assessment_situation",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "diploma",
            sa.Enum(
                "obtained",
                "not_obtained",
                "pending",
                name="diploma_outcome",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "satisfaction BETWEEN 1 AND 5", name=op.f("ck_assessments_satisfaction_range")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_assessments_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint("case_id", "moment", name="uq_assessments_case_moment"),
    )
    op.add_column("contact_logs", sa.Column("state", sa.String(length=40), nullable=True))
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """Each existing contact's state (its old `phase`, else from history), then its phase."""
    conn.execute(sa.update(CONTACTS).values(state=CONTACTS.c.phase, phase=None))
    last_event = (
        sa.select(EVENTS.c.to_state)
        .where(
            EVENTS.c.case_id == CONTACTS.c.case_id,
            EVENTS.c.entity == "case",
            EVENTS.c.to_state.is_not(None),
            EVENTS.c.at <= CONTACTS.c.at,
        )
        .order_by(EVENTS.c.at.desc(), EVENTS.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    conn.execute(sa.update(CONTACTS).where(CONTACTS.c.state.is_(None)).values(state=last_event))
    workflow = sa.select(CASES.c.id).where(CASES.c.id == CONTACTS.c.case_id).correlate(CONTACTS)
    for (name, version), phases in PHASES.items():
        of_workflow = workflow.where(
            CASES.c.workflow_name == name, CASES.c.workflow_version == version
        ).exists()
        for state, phase in phases.items():
            conn.execute(
                sa.update(CONTACTS)
                .where(CONTACTS.c.state == state, of_workflow)
                .values(phase=phase)
            )


def downgrade() -> None:
    # The phase column goes back to holding the state, as before this revision.
    conn = op.get_bind()
    conn.execute(sa.update(CONTACTS).values(phase=CONTACTS.c.state))
    if conn.dialect.name == "sqlite":
        op.execute('ALTER TABLE "contact_logs" DROP COLUMN "state"')
    else:
        op.drop_column("contact_logs", "state")
    op.drop_table("assessments")
