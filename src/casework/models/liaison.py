"""A liaison sheet: a referral of one need of one case to one partner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, NeedCategory, UTCDateTime, str_enum
from casework.models.workflow_entity import WorkflowEntity


class LiaisonSheet(WorkflowEntity, Base):
    __tablename__ = "liaison_sheets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    need_category: Mapped[NeedCategory] = mapped_column(str_enum(NeedCategory, "need_category"))
    description: Mapped[str] = mapped_column(Text)
    # The young person agreed to this referral; a sheet is never sent without it.
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the partner reported it did (the extracted text of its answer).
    feedback: Mapped[str | None] = mapped_column(Text)
