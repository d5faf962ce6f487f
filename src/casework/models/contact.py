"""The counsellor's log of contacts with an apprentice (the pilot could not measure this time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, ContactChannel, JSONDoc, UTCDateTime, str_enum


class ContactLog(Base):
    __tablename__ = "contact_logs"
    __table_args__ = (CheckConstraint("duration_min >= 0", name="duration_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[ContactChannel] = mapped_column(str_enum(ContactChannel, "contact_channel"))
    duration_min: Mapped[int] = mapped_column(Integer)
    # NeedCategory values found during the contact.
    difficulties: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    # Who made the contact (a login).
    author: Mapped[str] = mapped_column(String(120))
    # Workflow cycle the contact belongs to, for time-by-phase figures.
    cycle: Mapped[int | None] = mapped_column(Integer)
    # The state the case was in at the contact, and that state's phase of the counsellor's
    # work as the case's workflow declares it (`phases:`; None outside every phase): time per
    # phase is a GROUP BY on this column.
    state: Mapped[str | None] = mapped_column(String(40))
    phase: Mapped[str | None] = mapped_column(String(40))
