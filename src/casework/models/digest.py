"""One digest per counsellor per working day: the row makes it once, whatever the processes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, UTCDateTime


class Digest(Base):
    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("login", "day", name="login_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(120))
    day: Mapped[date] = mapped_column(Date)
    # How many actions it listed (none: no mail was queued).
    actions: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
