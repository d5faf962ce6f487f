"""Sessions of the staff pages, kept in the database.

- The cookie carries a random id (32 bytes, URL-safe); the table keeps its sha256 only.
- A session works while it is not ended, was used within `web.session_idle_minutes`, and began
  within `web.session_max_hours`; past either it is ended the next time it is presented.
- `last_seen_at` moves at most once a minute: a page costs no write in between.
- Logout ends one session; a password change and a deactivation end all of a person's
  (`end_sessions`); an inactive user's session is refused even before that.
- Sessions that can never work again are deleted a day later by the service's beat
  (`purge_sessions`), so the table holds about the sessions open now.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from casework.database import Database
from casework.models.tables import SESSIONS, USERS
from casework.settings import WebSettings

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionRules:
    idle: timedelta
    lifetime: timedelta

    @classmethod
    def from_settings(cls, settings: WebSettings) -> SessionRules:
        return cls(
            timedelta(minutes=settings.session_idle_minutes),
            timedelta(hours=settings.session_max_hours),
        )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_session(conn: Connection, user_id: int, now: datetime, address: str | None) -> str:
    """A new session for the user; returns the cookie's value (never stored as such)."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(SESSIONS),
        {
            "token_hash": _hash(token),
            "user_id": user_id,
            "created_at": now,
            "last_seen_at": now,
            "address": (address or "")[:64] or None,
        },
    )
    return token


def session_user(db: Database, token: str, now: datetime, rules: SessionRules) -> Any | None:
    """The active user whose working session `token` is, or None. Read without the write lock;
    a write only to end a session found past its idle time or lifetime, or to move
    `last_seen_at` (at most once a minute)."""
    if not token or len(token) > 100:
        return None
    with db.read() as conn:
        found = conn.execute(
            select(
                SESSIONS.c.id.label("session_id"),
                SESSIONS.c.created_at.label("session_began"),
                SESSIONS.c.last_seen_at,
                USERS,
            )
            .join(USERS, USERS.c.id == SESSIONS.c.user_id)
            .where(SESSIONS.c.token_hash == _hash(token), SESSIONS.c.ended_at.is_(None))
        ).first()
    if found is None or not found.active:
        return None
    session = SESSIONS.c.id == found.session_id
    if now - found.last_seen_at > rules.idle or now - found.session_began > rules.lifetime:
        with db.transaction() as conn:
            conn.execute(update(SESSIONS).where(session).values(ended_at=now))
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        with db.transaction() as conn:
            conn.execute(update(SESSIONS).where(session).values(last_seen_at=now))
    return found


def end_session(conn: Connection, token: str, now: datetime) -> None:
    conn.execute(
        update(SESSIONS)
        .where(SESSIONS.c.token_hash == _hash(token), SESSIONS.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions(conn: Connection, user_id: int, now: datetime) -> int:
    """End every open session of a person; returns how many."""
    done = conn.execute(
        update(SESSIONS)
        .where(SESSIONS.c.user_id == user_id, SESSIONS.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(done.rowcount or 0)


def purge_sessions(conn: Connection, now: datetime, rules: SessionRules) -> int:
    """Delete the sessions that can never work again — ended, or past their idle time or
    lifetime — once a day has passed (a row kept that long still answers "who was signed in
    then"; the access log keeps what was seen). How many were deleted."""
    keep = timedelta(days=1)
    dead = or_(
        SESSIONS.c.ended_at < now - keep,
        SESSIONS.c.last_seen_at < now - rules.idle - keep,
        SESSIONS.c.created_at < now - rules.lifetime - keep,
    )
    return conn.execute(delete(SESSIONS).where(dead)).rowcount or 0
