"""The single write path for workflow state.

Nothing else writes `state`, `version` or `state_since`. One call is one database transaction:
the guards run, the machine applies the transition, the row changes (state, version + 1, what
handlers staged), the audit event is inserted, then the handlers' deferred writes run. If
anything raises, the transaction rolls back and nothing at all is written.

Concurrency. Each row carries a version counter. `fire` reads the row and updates it with
`WHERE version = <the version read>`: if another transaction changed it in between, no row
matches and `VersionConflict` is raised (the other change stands; ours is not written). A caller
that showed the row to a person passes `expected_version` so that a change made while the
person was reading is refused as well. On SQLite every write transaction holds the write lock
from its start (`BEGIN IMMEDIATE`), so only `expected_version` can conflict; on PostgreSQL the
version check catches true interleavings. `fire_many` locks its rows (`FOR UPDATE`, in id order
so that two batches cannot deadlock) and writes them with a few `executemany` statements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from casework.actors import Actor
from casework.clock import Clock
from casework.database import Database
from casework.engine.context import TransitionContext
from casework.engine.entities import CASE, KINDS, LIAISON, EntityKind
from casework.errors import EntityNotFound, TransitionRefused, VersionConflict
from casework.models import Event
from casework.states.catalog import WorkflowSet
from casework.states.fields import clean_fields, to_json

EVENTS = Event.__table__
CHUNK = 500  # rows per SELECT … IN (…) in batches: well under every driver's parameter limit


@dataclass(frozen=True)
class Transitioned:
    """What one applied transition did."""

    kind: str
    entity_id: int
    case_id: int
    trigger: str
    source: str
    dest: str
    version: int  # the row's version after the change


@dataclass
class BatchResult:
    applied: list[Transitioned] = field(default_factory=list)
    refused: list[TransitionRefused] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    # (entity id, error) of rows whose guards or handlers raised, with `isolate=True`.
    failed: list[tuple[int, Exception]] = field(default_factory=list)


class Engine:
    def __init__(self, db: Database, workflows: WorkflowSet, clock: Clock):
        self.db = db
        self.workflows = workflows
        self.clock = clock

    # -- firing -----------------------------------------------------------------------------

    def fire(
        self,
        case_id: int,
        trigger: str,
        actor: Actor,
        expected_version: int | None = None,
        *,
        conn: Connection | None = None,
        **data: Any,
    ) -> Transitioned:
        """Apply `trigger` to a case. Raises TransitionRefused, VersionConflict,
        InvalidTransitionData or EntityNotFound, having written nothing."""
        return self._fire_one(CASE, case_id, trigger, actor, expected_version, data, conn)

    def fire_sheet(
        self,
        sheet_id: int,
        trigger: str,
        actor: Actor,
        expected_version: int | None = None,
        *,
        conn: Connection | None = None,
        **data: Any,
    ) -> Transitioned:
        """Apply `trigger` to a liaison sheet (same rules as `fire`)."""
        return self._fire_one(LIAISON, sheet_id, trigger, actor, expected_version, data, conn)

    def fire_many(
        self,
        kind: str,
        ids: Iterable[int],
        trigger: str,
        actor: Actor,
        data: Mapping[str, Any] | None = None,
        *,
        conn: Connection | None = None,
        isolate: bool = False,
    ) -> BatchResult:
        """Apply one trigger to many rows in one transaction.

        Rows whose state does not allow the trigger (or whose guards say no) are left unchanged
        and listed in `refused`; unknown ids in `missing`. With `isolate=True`, a row whose guard
        or handler raises is listed in `failed` instead of failing the batch.
        """
        entity = KINDS[kind]
        result = BatchResult()
        data = data or {}
        with self._transaction(conn) as c:
            for part in _chunks(sorted(set(ids)), CHUNK):
                stmt = select(entity.table).where(entity.table.c.id.in_(part))
                stmt = stmt.order_by(entity.table.c.id)
                if self.db.is_postgresql:
                    stmt = stmt.with_for_update()
                rows = c.execute(stmt).all()
                found = {row.id for row in rows}
                result.missing.extend(i for i in part if i not in found)
                now = self.clock.now()
                decided = []
                for row in rows:
                    try:
                        decided.append(self._decide(entity, row, trigger, actor, data, c, now))
                    except TransitionRefused as refusal:
                        result.refused.append(refusal)
                    except Exception as exc:
                        if not isolate:
                            raise
                        result.failed.append((row.id, exc))
                result.applied.extend(self._write(c, entity, decided, now))
        return result

    # -- creating ---------------------------------------------------------------------------

    def create_case(self, conn: Connection, actor: Actor, **values: Any) -> int:
        """Insert a case in its workflow's initial state, with its creation event."""
        return self.create_cases(conn, actor, [values])[0]

    def create_cases(
        self, conn: Connection, actor: Actor, rows: Sequence[Mapping[str, Any]]
    ) -> list[int]:
        """Insert many cases (imports, benchmarks): one multi-row INSERT and their events."""
        return self._create(conn, CASE, actor, rows, audit=("cohort", "group", "assignment_method"))

    def create_sheet(self, conn: Connection, actor: Actor, **values: Any) -> int:
        """Insert a liaison sheet in its workflow's initial state, with its creation event."""
        audit = ("partner_id", "need_category")
        return self._create(conn, LIAISON, actor, [values], audit=audit)[0]

    # -- internals --------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, conn: Connection | None) -> Iterator[Connection]:
        """Join the caller's transaction if one is given, else open (and commit) our own."""
        if conn is not None:
            yield conn
        else:
            with self.db.transaction() as own:
                yield own

    def _fire_one(
        self,
        entity: EntityKind,
        entity_id: int,
        trigger: str,
        actor: Actor,
        expected_version: int | None,
        data: Mapping[str, Any],
        conn: Connection | None,
    ) -> Transitioned:
        with self._transaction(conn) as c:
            row = c.execute(select(entity.table).where(entity.table.c.id == entity_id)).first()
            if row is None:
                raise EntityNotFound(entity.name, entity_id)
            if expected_version is not None and row.version != expected_version:
                raise VersionConflict(entity.name, entity_id, expected_version, row.version)
            now = self.clock.now()
            ctx = self._decide(entity, row, trigger, actor, data, c, now)
            return self._write(c, entity, [ctx], now)[0]

    def _decide(
        self,
        entity: EntityKind,
        row: Row[Any],
        trigger: str,
        actor: Actor,
        data: Mapping[str, Any],
        conn: Connection,
        now: datetime,
    ) -> TransitionContext:
        """Run the machine on one row: guards, then handlers, which only stage their effects."""
        machine = self.workflows.machine(row.workflow_name, row.workflow_version)
        if not machine.is_allowed(row.state, trigger):
            raise TransitionRefused(
                entity.name, row.id, trigger, row.state, machine.allowed_triggers(row.state)
            )
        definition = machine.definition
        candidates = [t for t in definition.transitions_from(row.state) if t.trigger == trigger]
        if not any(actor.kind.value in t.by for t in candidates):
            raise TransitionRefused(
                entity.name,
                row.id,
                trigger,
                row.state,
                machine.allowed_triggers(row.state),
                reason="actor",
                actor_kind=actor.kind.value,
            )
        ctx = TransitionContext(
            engine=self,
            kind=entity,
            row=row,
            trigger=trigger,
            actor=actor,
            data=clean_fields(trigger, definition.fields_for(trigger), data),
            now=now,
            params=definition.parameters,
            conn=conn,
        )
        dest = machine.run(row.state, trigger, ctx)
        if dest is None or ctx.transition is None:
            raise TransitionRefused(
                entity.name,
                row.id,
                trigger,
                row.state,
                machine.allowed_triggers(row.state),
                reason="guards",
                detail=ctx.refusal,
            )
        if actor.kind.value not in ctx.transition.by:
            raise TransitionRefused(
                entity.name,
                row.id,
                trigger,
                row.state,
                machine.allowed_triggers(row.state),
                reason="actor",
                actor_kind=actor.kind.value,
            )
        ctx.dest = dest
        return ctx

    def _write(
        self,
        conn: Connection,
        entity: EntityKind,
        decided: Sequence[TransitionContext],
        now: datetime,
    ) -> list[Transitioned]:
        """Persist decided transitions: grouped UPDATEs, one multi-row event INSERT, deferred."""
        if not decided:
            return []
        table = entity.table
        groups: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
        events: list[dict[str, Any]] = []
        done: list[Transitioned] = []
        for ctx in decided:
            row, tdef = ctx.row, ctx.transition
            assert tdef is not None  # _decide only returns contexts with a transition taken
            params = {"_id": row.id, "_version": row.version, "_state": ctx.dest}
            params.update({f"_c_{k}": v for k, v in ctx.changes.items()})
            groups[(tdef.internal, tuple(sorted(ctx.changes)))].append(params)
            events.append(
                {
                    "case_id": ctx.case_id,
                    "entity": entity.name,
                    "entity_id": row.id,
                    "trigger": ctx.trigger,
                    "from_state": row.state,
                    "to_state": ctx.dest,
                    "actor_kind": ctx.actor.kind.value,
                    "actor": ctx.actor.id,
                    "at": now,
                    "data": to_json({**ctx.data, **ctx.notes}),
                }
            )
            done.append(
                Transitioned(
                    entity.name,
                    row.id,
                    ctx.case_id,
                    ctx.trigger,
                    row.state,
                    ctx.dest,
                    row.version + 1,
                )
            )
        for (internal, columns), params in groups.items():
            values: dict[str, Any] = {
                "state": bindparam("_state"),
                "version": table.c.version + 1,
                "updated_at": now,
                **{c: bindparam(f"_c_{c}") for c in columns},
            }
            if not internal:  # re-entering a state (reflexive transition) restarts its clock
                values["state_since"] = now
            stmt = (
                update(table)
                .where(table.c.id == bindparam("_id"), table.c.version == bindparam("_version"))
                .values(values)
            )
            changed = conn.execute(stmt, params).rowcount
            if changed != len(params) and (
                len(params) == 1 or conn.dialect.supports_sane_multi_rowcount
            ):
                self._raise_conflict(conn, entity, params)
        conn.execute(insert(EVENTS), events)
        for ctx in decided:
            for deferred in ctx.deferred:
                deferred(conn)
        return done

    @staticmethod
    def _raise_conflict(
        conn: Connection, entity: EntityKind, params: Sequence[Mapping[str, Any]]
    ) -> None:
        expected = {p["_id"]: p["_version"] for p in params}
        current = dict(
            conn.execute(
                select(entity.table.c.id, entity.table.c.version).where(
                    entity.table.c.id.in_(expected)
                )
            ).all()
        )
        for entity_id, version in expected.items():
            if current.get(entity_id) != version + 1:
                raise VersionConflict(entity.name, entity_id, version, current.get(entity_id))
        first = next(iter(expected))
        raise VersionConflict(entity.name, first, expected[first], current.get(first))

    def _create(
        self,
        conn: Connection,
        entity: EntityKind,
        actor: Actor,
        rows: Sequence[Mapping[str, Any]],
        audit: tuple[str, ...],
    ) -> list[int]:
        if not rows:
            return []
        machine = self.workflows.latest(entity.name)
        definition = machine.definition
        now = self.clock.now()
        base = {
            "workflow_name": definition.name,
            "workflow_version": definition.version,
            "state": definition.initial,
            "version": 1,
            "state_since": now,
            "created_at": now,
            "updated_at": now,
        }
        table = entity.table
        inserted = conn.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [{**values, **base} for values in rows],
        )
        ids = list(inserted.scalars())
        case_ids = ids if entity is CASE else [values["case_id"] for values in rows]
        conn.execute(
            insert(EVENTS),
            [
                {
                    "case_id": case_id,
                    "entity": entity.name,
                    "entity_id": entity_id,
                    "trigger": None,
                    "from_state": None,
                    "to_state": definition.initial,
                    "actor_kind": actor.kind.value,
                    "actor": actor.id,
                    "at": now,
                    "data": to_json({k: values[k] for k in audit if k in values}),
                }
                for entity_id, case_id, values in zip(ids, case_ids, rows, strict=True)
            ],
        )
        return ids


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
