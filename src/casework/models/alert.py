"""Alerts partners raise about an apprentice by writing to the platform's alert address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, BigId, UTCDateTime


class Alert(Base):
    """One alert on one case, for its counsellor. What the partner wrote is the inbound mail's
    (raw kept there, extracted text shown); the alert says whose it is and whether it was seen."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # One mail makes at most one alert (a second delivery of it finds the first).
    inbound_id: Mapped[int] = mapped_column(BigId, ForeignKey("inbound_mails.id"), unique=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    sender: Mapped[str] = mapped_column(String(254))
    # Who tied the mail to the case: "automatic" (names found), or the person who attached it.
    identified_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_by: Mapped[str | None] = mapped_column(String(120))
