"""The counsellor's assessments of a followed apprentice: at one year, and at contract end.

A table rather than the event's data: the report counts situations and diplomas by group and
the export puts them on each case's row, and typed columns with CHECK constraints do that with
a plain GROUP BY on both databases (JSON paths differ between SQLite and PostgreSQL and check
nothing). One assessment per case and moment; the event of `record_assessment` keeps the same
values with who recorded them, as every transition's does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import (
    AssessmentMoment,
    Base,
    DiplomaOutcome,
    Situation,
    UTCDateTime,
    str_enum,
)


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("case_id", "moment", name="uq_assessments_case_moment"),
        CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    moment: Mapped[AssessmentMoment] = mapped_column(
        str_enum(AssessmentMoment, "assessment_moment")
    )
    situation: Mapped[Situation] = mapped_column(str_enum(Situation, "assessment_situation"))
    diploma: Mapped[DiplomaOutcome] = mapped_column(str_enum(DiplomaOutcome, "diploma_outcome"))
    # 1 (not at all satisfied) to 5 (very satisfied); None: the apprentice did not say.
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    # Free text: never exported.
    comments: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(120))  # a login
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
