"""Persisting decided transitions: the second half of the engine's one write path.

The engine decides (guards, handlers staging their effects); the writer writes what was decided
in the caller's transaction, for one row or a thousand with the same few statements: each row's
UPDATE with its version check (a row changed meanwhile raises `VersionConflict`, and the caller
rolls back), its audit event, its old state's pending timers cancelled and its new state's set,
its mails queued in the outbox, then the handlers' deferred writes. Only the engine calls it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from casework.engine.context import TransitionContext
from casework.engine.entities import EntityKind
from casework.engine.fastsql import FastSQL
from casework.errors import VersionConflict
from casework.models.tables import EVENTS
from casework.notify.outbox import Outbox
from casework.states.fields import to_json
from casework.timers.store import TimerStore

EVENT_COLUMNS = (
    "case_id",
    "entity",
    "entity_id",
    "version",
    "trigger",
    "from_state",
    "to_state",
    "actor_kind",
    "actor",
    "at",
    "data",
)
# Columns with few distinct values in a batch (see FastSQL.insert).
EVENT_FEW = frozenset(EVENT_COLUMNS) - {"case_id", "entity_id", "version"}


class Transitioned(NamedTuple):
    """What one applied transition did."""

    kind: str
    entity_id: int
    case_id: int
    trigger: str
    source: str
    dest: str
    version: int  # the row's version after the change


class TransitionWriter:
    def __init__(self, sql: FastSQL, timers: TimerStore, outbox: Outbox):
        self.sql = sql
        self.timers = timers
        self.outbox = outbox

    # long: one pass over a batch's rows builds every statement's rows; kept whole for speed.
    def write(
        self,
        conn: Connection,
        entity: EntityKind,
        decided: Sequence[TransitionContext],
        now: datetime,
    ) -> list[Transitioned]:
        """Persist decided transitions: each row's UPDATE (with the version check) and event,
        grouped into a few statements, then the handlers' deferred writes."""
        if not decided:
            return []
        sql, table = self.sql, entity.table
        now_db = sql.converter(table.c.updated_at)(now)
        at_db = sql.converter(EVENTS.c.at)(now)
        data_db = sql.converter(EVENTS.c.data)
        payloads: dict[tuple[Any, ...], Any] = {}
        updates: dict[tuple[bool, tuple[str, ...]], list[tuple[Any, ...]]] = defaultdict(list)
        events: list[tuple[Any, ...]] = []
        done: list[Transitioned] = []
        for ctx in decided:
            row, tdef, dest = ctx.row, ctx.transition, ctx.dest
            assert tdef is not None  # the engine decides only contexts with a transition taken
            assert dest is not None
            if ctx.changes:
                columns = tuple(sorted(ctx.changes))
                values = sql.convert_values(table, columns, ctx.changes)
            else:
                columns, values = (), ()
            # Re-entering a state (not an internal transition) restarts its clock.
            updates[(not tdef.internal, columns)].append((row.id, row.version, dest, *values))
            payload = _payload(ctx, payloads, data_db)
            case_id = getattr(row, entity.case_id_column)
            events.append(
                (
                    case_id,
                    entity.name,
                    row.id,
                    row.version + 1,
                    ctx.trigger,
                    row.state,
                    dest,
                    ctx.actor.kind_value,
                    ctx.actor.id,
                    at_db,
                    payload,
                )
            )
            done.append(
                Transitioned(
                    entity.name, row.id, case_id, ctx.trigger, row.state, dest, row.version + 1
                )
            )
        for (reenter, columns), rows in updates.items():
            if sql.update_states(conn, table, columns, reenter, rows, now_db) != len(rows):
                _raise_conflict(conn, entity, {r[0]: r[1] for r in rows})
        sql.insert(conn, EVENTS, EVENT_COLUMNS, events, few=EVENT_FEW)
        self._reset_timers(conn, entity, decided, now)
        self.outbox.queue_for(conn, entity, decided, now)
        for ctx in decided:
            for deferred in ctx.deferred:
                deferred(conn)
        return done

    def _reset_timers(
        self,
        conn: Connection,
        entity: EntityKind,
        decided: Sequence[TransitionContext],
        now: datetime,
    ) -> None:
        """Leaving a state cancels its pending timers; entering one sets its timers. Internal
        transitions leave and enter nothing."""
        entered = [ctx for ctx in decided if not ctx.transition.internal]  # type: ignore[union-attr]
        if not entered:
            return
        self.timers.cancel_pending(conn, entity.name, (ctx.row.id for ctx in entered), now)
        planned: list[tuple[Any, ...]] = []
        due_cache: dict[tuple[int, int, Any], datetime] = {}
        for ctx in entered:
            state = ctx.machine.definition.states[ctx.dest]  # type: ignore[index]
            if state.timers:
                planned += self.timers.plan(
                    entity.name,
                    ctx.row.id,
                    ctx.case_id,
                    state,
                    ctx.row.version + 1,
                    now,
                    ctx.value_of,
                    due_cache,
                )
        self.timers.insert(conn, planned)


def _payload(
    ctx: TransitionContext, payloads: dict[tuple[Any, ...], Any], data_db: Callable[[Any], Any]
) -> Any:
    """The event's data as stored. Rows of a batch share their data, and often their notes:
    each is serialised once (`payloads` remembers them for the batch)."""
    try:
        key: tuple[Any, ...] | None = (id(ctx.data), *ctx.notes.items())
        payload = payloads.get(key)  # type: ignore[arg-type]
    except TypeError:  # a note that cannot be a key (a list): serialise it alone
        key, payload = None, None
    if payload is None:
        payload = data_db(to_json({**ctx.data, **ctx.notes}))
        if key is not None:
            payloads[key] = payload
    return payload


def _raise_conflict(conn: Connection, entity: EntityKind, expected: dict[int, int]) -> None:
    """Some row's version moved under us: name the first one, then the caller rolls back."""
    current = dict(
        conn.execute(
            select(entity.table.c.id, entity.table.c.version).where(entity.table.c.id.in_(expected))
        ).all()
    )
    for entity_id, version in expected.items():
        if current.get(entity_id) != version + 1:
            raise VersionConflict(entity.name, entity_id, version, current.get(entity_id))
    first = next(iter(expected))
    raise VersionConflict(entity.name, first, expected[first], current.get(first))
