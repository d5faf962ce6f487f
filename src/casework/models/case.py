"""A case: one beneficiary's follow-up for one contract, in one cohort, in one group."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import AssignmentMethod, Base, ExitKind, Group, UTCDateTime, str_enum
from casework.models.workflow_entity import WorkflowEntity

# Cases that ended after a rupture (`exit_kind` is written then, in a final state).
_EXITED = text("exit_kind IS NOT NULL")


class Case(WorkflowEntity, Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_cohort_group", "cohort", "group"),
        # A counsellor's cases by state: the daily digest.
        Index("ix_cases_referent_state", "referent", "state"),
        # The exits of a month (the steering page): a final state's `state_since` is the day
        # the case left; the few exited cases only.
        Index("ix_cases_exits", "state_since", sqlite_where=_EXITED, postgresql_where=_EXITED),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The beneficiary is the stable identity; the contract is the one this case follows (after a
    # rupture the young person may sign another one, recorded as a new contract).
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), unique=True)
    # Campaign year: the signing season (July–December) the case was identified in.
    cohort: Mapped[int] = mapped_column(Integer)
    # Written once at assignment; the audit log says how it was decided.
    group: Mapped[Group] = mapped_column(str_enum(Group, "case_group"))
    assignment_method: Mapped[AssignmentMethod] = mapped_column(
        str_enum(AssignmentMethod, "assignment_method")
    )
    # Monthly follow-up cycle in progress (0 before the first one).
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    exit_kind: Mapped[ExitKind | None] = mapped_column(str_enum(ExitKind, "exit_kind"))
    # The counsellor in charge (a login); mail goes to them.
    referent: Mapped[str | None] = mapped_column(String(120))
    # When the retention purge removed the case's free text, then emptied its events' data
    # (`casework.privacy.retention`): each done once.
    notes_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audit_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
