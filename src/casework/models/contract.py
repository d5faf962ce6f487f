"""The apprenticeship contract registered by the chamber of trades (CMA)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, LearnerStatus, RuptureInitiative, UTCDateTime, str_enum

# What people read where a contract's file did not give the employer.
UNKNOWN_EMPLOYER = "employeur non renseigné"

_BROKEN = text("rupture_date IS NOT NULL")


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("planned_end_date >= start_date", name="end_after_start"),
        CheckConstraint("diploma_level BETWEEN 3 AND 8", name="diploma_level_range"),
        # The ruptures of a month (the steering page): the few broken contracts only.
        Index(
            "ix_contracts_rupture_date",
            "rupture_date",
            sqlite_where=_BROKEN,
            postgresql_where=_BROKEN,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    # The chamber's registration number: the key later files are matched on.
    cma_number: Mapped[str] = mapped_column(String(40), unique=True)
    # None: a file without it (the counsellor checks the contract with the young person).
    employer_name: Mapped[str | None] = mapped_column(String(200))
    employer_siret: Mapped[str | None] = mapped_column(String(14))
    employer_trade: Mapped[str | None] = mapped_column(String(120))
    training_centre_name: Mapped[str | None] = mapped_column(String(200))
    # UAI: the national identifier of the training centre (8 characters).
    training_centre_uai: Mapped[str | None] = mapped_column(String(8))
    diploma: Mapped[str | None] = mapped_column(String(120))
    # National qualification framework level: 3 = CAP/BEP, 4 = bac pro/BP, 5 = BTS...
    diploma_level: Mapped[int | None] = mapped_column(Integer)
    # 1 for the first year of the diploma's training, 2 for the second…
    training_year: Mapped[int | None] = mapped_column(Integer)
    learner_status: Mapped[LearnerStatus | None] = mapped_column(
        str_enum(LearnerStatus, "learner_status")
    )
    start_date: Mapped[date] = mapped_column(Date)
    planned_end_date: Mapped[date] = mapped_column(Date)
    trial_end_date: Mapped[date | None] = mapped_column(Date)
    rupture_date: Mapped[date | None] = mapped_column(Date)
    rupture_reason: Mapped[str | None] = mapped_column(Text)
    rupture_initiative: Mapped[RuptureInitiative | None] = mapped_column(
        str_enum(RuptureInitiative, "rupture_initiative")
    )
    # Completed years at `start_date`, written when the birth date is removed (anonymised):
    # the report and the export count the same ages after a purge as before.
    age_at_start: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
