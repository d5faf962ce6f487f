"""Each running service process says it is alive and what its last sweep did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, JSONDoc, UTCDateTime


class ServiceHeartbeat(Base):
    __tablename__ = "service_heartbeats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sweep_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the last sweep did: counts by outcome and trigger.
    last_sweep: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Each mail reader of the process (IMAP, LMTP): running, last taken in, last error, since.
    readers: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
