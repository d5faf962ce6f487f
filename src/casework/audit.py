"""Events about what has no workflow (a user, a partner): who changed it, when, what — in the
append-only events table the transitions write to, with no case, version or states."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from casework.actors import Actor
from casework.models import Event

EVENTS: Any = Event.__table__


def record_event(
    conn: Connection,
    entity: str,
    entity_id: int,
    what: str,
    by: Actor,
    now: datetime,
    data: dict[str, Any],
) -> None:
    conn.execute(
        insert(EVENTS),
        {
            "case_id": None,
            "entity": entity,
            "entity_id": entity_id,
            "version": None,  # no workflow
            "trigger": what,
            "from_state": None,
            "to_state": None,
            "actor_kind": by.kind_value,
            "actor": by.id,
            "at": now,
            "data": data,
        },
    )
