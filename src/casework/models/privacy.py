"""What the retention purge keeps for itself: the days the service's daily purge ran, and the
permits that let it redact audit events (migration 0020 says how the triggers read them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, JSONDoc, UTCDateTime


class PurgeRun(Base):
    """One row per day of the casework clock: the process that inserts it runs that day's
    purge; any other finds it there and does not."""

    __tablename__ = "purge_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)


class EventRedactionPermit(Base):
    """Present only inside the purge's own transaction (inserted, then deleted before commit)."""

    __tablename__ = "event_redaction_permits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # PostgreSQL: the transaction holding it (`txid_current()`); SQLite: None.
    tx: Mapped[int | None] = mapped_column(BigInteger)
