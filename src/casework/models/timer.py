"""Durable timers: one row per "fire this trigger on this row at that time".

The database is the record of truth (not APScheduler's job store): a transition that enters a
state inserts the state's timers, leaving it cancels them, both in the transition's own
transaction; the sweep marks a timer fired in the transaction of the transition it fires.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, BigId, UTCDateTime, str_enum


class TimerStatus(enum.StrEnum):
    PENDING = "pending"
    FIRED = "fired"  # its transition was applied
    DISCARDED = "discarded"  # the row had moved on, or a misfire was skipped: an event says why
    CANCELLED = "cancelled"  # its state was left before it was due
    FAILED = "failed"  # retried, then parked: `casework timers --failed` lists them


_PENDING = text("status = 'pending'")
_FAILED = text("status = 'failed'")


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (
        # The sweep's query, over pending timers only: a small index.
        Index(
            "ix_timers_pending_run_after",
            "run_after",
            "id",
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        ),
        # The cancellation's query and a row's timers. Not partial: closing a timer then leaves
        # it untouched, and every timer is closed once.
        Index("ix_timers_entity", "entity", "entity_id"),
        # Failed timers, for `casework timers --failed`, status and /health: a few rows.
        Index("ix_timers_failed", "closed_at", sqlite_where=_FAILED, postgresql_where=_FAILED),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(20))  # case, liaison
    entity_id: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # The state whose timer this is, and the entity version the transition that set it left:
    # the event (entity, entity_id, version) is that transition.
    state: Mapped[str] = mapped_column(String(40))
    set_version: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the sweep may take it: the due time, later after a failure (backoff).
    run_after: Mapped[datetime] = mapped_column(UTCDateTime)
    misfire: Mapped[str] = mapped_column(String(10))  # fire | skip, from the workflow
    status: Mapped[TimerStatus] = mapped_column(
        str_enum(TimerStatus, "timer_status"), default=TimerStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
