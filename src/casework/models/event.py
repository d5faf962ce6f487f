"""The audit trail: append-only, one row per transition and per change made by anyone.

The database itself refuses UPDATE and DELETE on this table (triggers in the first migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import ActorKind, Base, BigId, JSONDoc, UTCDateTime, str_enum

# Events about a user (added, changed, deactivated, reactivated) or a partner (imported,
# changed, deactivated, its contacts) belong to no case.
_USER = text("entity = 'user'")
_PARTNER = text("entity = 'partner'")


class Event(Base):
    __tablename__ = "events"
    # A user's own record (`casework users show`), a partner's (`casework partners show`):
    # partial indexes, which the transitions' events never enter, so they cost them nothing
    # but the test of their condition.
    __table_args__ = (
        Index("ix_events_user", "entity_id", sqlite_where=_USER, postgresql_where=_USER),
        Index("ix_events_partner", "entity_id", sqlite_where=_PARTNER, postgresql_where=_PARTNER),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The case the event belongs to (also for its liaison sheets): one timeline per case, and the
    # only full index besides the key, because every transition inserts here (a sheet's own
    # history is its case's events filtered by entity). None for a user's events.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    entity: Mapped[str] = mapped_column(String(20))  # case, liaison, user, partner
    entity_id: Mapped[int] = mapped_column(Integer)
    # The entity's version after this event's transition (none for events that change nothing,
    # such as a discarded timer): (entity, entity_id, version) names one transition.
    version: Mapped[int | None] = mapped_column(Integer)
    trigger: Mapped[str | None] = mapped_column(String(60))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "actor_kind"))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
