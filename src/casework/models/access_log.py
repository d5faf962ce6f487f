"""Who looked at what, and when: one row per staff page that shows personal data.

Append-only in use (nothing in casework updates or deletes a row); read by an administrator
with `casework access-log`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, BigId, UTCDateTime


class AccessLogEntry(Base):
    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_user_at", "user_login", "at"),
        Index("ix_access_log_case_at", "case_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The login, not a key: the log outlives any change to the users table.
    user_login: Mapped[str] = mapped_column(String(120))
    # The page, by its path pattern ("/dossiers/{case_id}"), and the case it showed, if one.
    page: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    address: Mapped[str | None] = mapped_column(String(64))
