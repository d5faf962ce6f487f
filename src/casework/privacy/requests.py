"""Every request about a person's data (a copy, a rectification, an erasure, consent withdrawn)
is an audit event on the person (entity "person"), in the transaction that carries it out: the
audit log says who asked, who did it, when, and what was done or refused and why."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from casework.actors import Actor
from casework.audit import record_event

PERSON = "person"  # the events' `entity` for a young person (their number is `entity_id`)


class Request(enum.StrEnum):
    EXPORT = "rights_export"  # a copy of everything held (art. 15 and 20)
    RECTIFICATION = "rectification"  # art. 16
    ERASURE = "erasure"  # art. 17
    CONSENT_WITHDRAWAL = "consent_withdrawal"  # art. 7(3)


def record_request(
    conn: Connection,
    person_id: int,
    request: Request,
    by: Actor,
    now: datetime,
    **details: Any,
) -> None:
    """One event for the request. `details` say what was done (never a removed value)."""
    record_event(conn, PERSON, person_id, request.value, by, now, details)
