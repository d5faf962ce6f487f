"""Inbound records written: a message's row, its attachments, and what was made of it.

Guarantees: a record's texts are cut to their columns' lengths before they are written (a
sender can put anything in a header, and PostgreSQL refuses an overlong value); records go in
with one statement and come back as their ids in the order given; every quarantined record is
logged with its reason (shortened). Writes only in the connection's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, insert

from casework.models import InboundKind, InboundStatus
from casework.models.tables import ATTACHMENTS, INBOUND
from casework.text_limits import shown

log = logging.getLogger("casework.inbound")


@dataclass(frozen=True)
class Ingested:
    id: int
    status: InboundStatus
    reason: str | None
    duplicate: bool = False


def inbound_row(
    record: dict[str, Any],
    kind: InboundKind,
    text: str | None,
    status: InboundStatus,
    reason: str | None,
) -> dict[str, Any]:
    """A message's record with what was made of it."""
    # What the database cannot hold (NUL…) is cleaned where every statement goes out
    # (`casework.text_hygiene`); the raw bytes keep the message as it came.
    return {**record, "kind": kind, "text": text, "status": status, "reason": reason}


def quarantined_row(record: dict[str, Any], text: str | None, reason: str) -> dict[str, Any]:
    """A message written by someone, set aside for a person with `reason`."""
    return inbound_row(record, InboundKind.ANSWER, text, InboundStatus.QUARANTINED, reason)


def store(
    conn: Connection,
    record: dict[str, Any],
    kind: InboundKind,
    text: str | None,
    status: InboundStatus,
    reason: str | None,
) -> Ingested:
    """One record, now (the rare paths; the batch inserts its records together)."""
    (inbound_id,) = insert_records(conn, [inbound_row(record, kind, text, status, reason)])
    if status == InboundStatus.QUARANTINED:
        log_quarantined(inbound_id, reason)
    return Ingested(inbound_id, status, reason)


def log_quarantined(inbound_id: int, reason: str | None) -> None:
    log.warning("inbound %s quarantined: %s", inbound_id, shown(reason, 200))


def insert_records(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert inbound records (one statement) and their attachments; their ids, in order."""
    if not rows:
        return []
    attachments = [r.pop("_attachments", []) for r in rows]
    columns = {c.name for c in INBOUND.columns} - {"id"}
    values = [_fitted(INBOUND, {name: r.get(name) for name in columns}) for r in rows]
    ids = list(
        conn.execute(
            insert(INBOUND).returning(INBOUND.c.id, sort_by_parameter_order=True), values
        ).scalars()
    )
    files = [
        _fitted(ATTACHMENTS, {**a, "inbound_id": i})
        for i, found in zip(ids, attachments, strict=True)
        for a in found
    ]
    if files:
        conn.execute(insert(ATTACHMENTS), files)
    return ids


def _lengths(table: Any) -> dict[str, int]:
    return {
        c.name: c.type.length
        for c in table.columns
        if isinstance(c.type, String) and c.type.length is not None
    }


_LENGTHS = {INBOUND.name: _lengths(INBOUND), ATTACHMENTS.name: _lengths(ATTACHMENTS)}


def _fitted(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """A record's texts cut to their columns' lengths: a sender can write anything in a
    header, and PostgreSQL refuses an overlong value (SQLite would keep it)."""
    for name, length in _LENGTHS[table.name].items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > length:
            values[name] = value[:length]
    return values
