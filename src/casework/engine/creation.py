"""Creating workflow rows (cases, liaison sheets) in their workflow's initial state.

Called by the engine's `create_case`, `create_cases` and `create_sheet`, in the caller's
transaction: the rows are inserted at version 1 in the initial state of the workflow version
they start on, each with its creation event (the audited values and the caller's note), and
the initial state's timers are set as entering any state sets them. Nothing is written unless
all of it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from casework.actors import Actor
from casework.engine.entities import CASE, EntityKind, RowReader
from casework.models.tables import EVENTS
from casework.states.definition import WorkflowDef
from casework.states.fields import to_json
from casework.timers.store import TimerStore


def create_rows(
    conn: Connection,
    entity: EntityKind,
    definition: WorkflowDef,
    actor: Actor,
    rows: Sequence[Mapping[str, Any]],
    audit: tuple[str, ...],
    note: Mapping[str, Any] | None,
    now: datetime,
    timers: TimerStore,
    reader: RowReader,
) -> list[int]:
    """Insert `rows` of `entity` in `definition`'s initial state; returns their ids in order.
    `audit` names the values each creation event keeps; `note` joins each event's data."""
    if not rows:
        return []
    ids = _insert(conn, entity, definition, rows, now)
    case_ids = ids if entity is CASE else [values["case_id"] for values in rows]
    conn.execute(
        insert(EVENTS),
        [
            {
                "case_id": case_id,
                "entity": entity.name,
                "entity_id": entity_id,
                "version": 1,
                "trigger": None,
                "from_state": None,
                "to_state": definition.initial,
                "actor_kind": actor.kind_value,
                "actor": actor.id,
                "at": now,
                "data": to_json(
                    {**{k: values[k] for k in audit if values.get(k) is not None}, **(note or {})}
                ),
            }
            for entity_id, case_id, values in zip(ids, case_ids, rows, strict=True)
        ],
    )
    _set_initial_timers(conn, entity, definition, ids, now, timers, reader)
    return ids


def _insert(
    conn: Connection,
    entity: EntityKind,
    definition: WorkflowDef,
    rows: Sequence[Mapping[str, Any]],
    now: datetime,
) -> list[int]:
    base = {
        "workflow_name": definition.name,
        "workflow_version": definition.version,
        "state": definition.initial,
        "version": 1,
        "entered_version": 1,
        "state_since": now,
        "created_at": now,
        "updated_at": now,
    }
    table = entity.table
    inserted = conn.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True),
        [{**values, **base} for values in rows],
    )
    return list(inserted.scalars())


def _set_initial_timers(
    conn: Connection,
    entity: EntityKind,
    definition: WorkflowDef,
    ids: list[int],
    now: datetime,
    timers: TimerStore,
    reader: RowReader,
) -> None:
    """Entering the initial state sets its timers, like entering any other state."""
    initial = definition.states[definition.initial]
    if not initial.timers:
        return
    planned: list[tuple[Any, ...]] = []
    due_cache: dict[tuple[int, int, Any], datetime] = {}
    for row in reader.read(conn, ids):
        value_of = lambda name, row=row: getattr(row, name.replace(".", "_"), None)  # noqa: E731
        planned += timers.plan(
            entity.name,
            row.id,
            getattr(row, entity.case_id_column),
            initial,
            1,
            now,
            value_of,
            due_cache,
        )
    timers.insert(conn, planned)
