"""Signing in to the staff pages: sessions kept on the server, and failed logins counted.

A session's cookie carries a random id; only its sha256 is stored here, so a copy of the table
opens no session. Failed logins are rows, not memory, so that every process serving the pages
counts the same ones (`casework.accounts.throttle`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, BigId, UTCDateTime


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Moved forward at most once a minute (a write per page would cost every page a write).
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by logout, a password change, a deactivation; an ended session never works again.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the login came from (the client address), for the person's own information.
    address: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # "account:<login as typed, folded>" or "address:<client address>".
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
