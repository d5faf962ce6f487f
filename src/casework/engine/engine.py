"""The single write path for workflow state.

Nothing else writes `state`, `version` or `state_since`, except `migration.py` (state and
version: it moves a workflow version's cases to another version, `migrate_workflow`). One call
is one database transaction: the guards run, the machine applies the transition, the row
changes (state, version + 1, what handlers staged), the audit event is inserted, the state's
timers are reset, the transition's mails are queued in the outbox, then the handlers' deferred
writes run (the deciding is here, the writing in `writing.py`, new rows in their initial state
in `creation.py`). If anything raises, the transaction rolls back and nothing at all is
written.

Concurrency. Each row carries a version counter. `fire_case` and `fire_sheet` read the row and
update it with `WHERE version = <the version read>`: if another transaction changed it in
between, no row matches and `VersionConflict` is raised (the other change stands; ours is not
written). A caller that showed the row to a person passes `expected_version` so that a change
made while the person was reading is refused as well. On SQLite every write transaction holds
the write lock from its start (`BEGIN IMMEDIATE`), so only `expected_version` can conflict; on
PostgreSQL the version check catches true interleavings. `fire_many` locks its rows (`FOR NO KEY
UPDATE`, in id order so that two batches cannot deadlock) and writes them back with a few
set-based statements (`fastsql.py`); the version check stays in them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection

from casework.actors import Actor
from casework.chunks import chunks
from casework.clock import Clock
from casework.database import Database
from casework.engine.context import TransitionContext
from casework.engine.creation import create_rows
from casework.engine.entities import CASE, KINDS, LIAISON, EntityKind, RowReader
from casework.engine.fastsql import FastSQL
from casework.engine.migration import MigrationPlan, apply_migration, plan_migration
from casework.engine.writing import Transitioned, TransitionWriter
from casework.errors import EntityNotFound, TransitionRefused, VersionConflict
from casework.notify.outbox import Outbox
from casework.states.catalog import WorkflowSet
from casework.states.fields import check_applying, clean_fields
from casework.states.machine import WorkflowMachine
from casework.timers.calendar import Calendar
from casework.timers.store import TimerStore

CHUNK = 500  # rows read per query in a batch


class FireRequest(NamedTuple):
    """One row's transition in `fire_each`."""

    entity_id: int
    trigger: str
    actor: Actor
    data: Mapping[str, Any]


@dataclass
class BatchResult:
    applied: list[Transitioned] = field(default_factory=list)
    refused: list[TransitionRefused] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    # (entity id, error) of rows whose guards or handlers raised, with `isolate=True`.
    failed: list[tuple[int, Exception]] = field(default_factory=list)


class Engine:
    def __init__(
        self, db: Database, workflows: WorkflowSet, clock: Clock, calendar: Calendar | None = None
    ):
        self.db = db
        self.workflows = workflows
        self.clock = clock
        self.sql = FastSQL(db.engine.dialect)
        self.timers = TimerStore(self.sql, calendar or Calendar(), db.is_postgresql)
        self.outbox = Outbox(self.sql, db.is_postgresql)
        self._writer = TransitionWriter(self.sql, self.timers, self.outbox)
        # Batches lock their rows on PostgreSQL (SQLite's write lock already covers them); a
        # single `fire_case` or `fire_sheet` relies on the version check alone.
        pg = db.is_postgresql
        self._batch_readers = {n: RowReader(k, lock=pg, join=not pg) for n, k in KINDS.items()}
        self._readers = {n: RowReader(k, lock=False, join=not pg) for n, k in KINDS.items()}

    # -- firing -----------------------------------------------------------------------------

    def fire_case(
        self,
        case_id: int,
        trigger: str,
        actor: Actor,
        expected_version: int | None = None,
        *,
        conn: Connection | None = None,
        **data: Any,
    ) -> Transitioned:
        """Apply `trigger` to one case (cases only; a sheet is `fire_sheet`, many rows of any
        kind `fire_many`). Raises TransitionRefused, VersionConflict, InvalidTransitionData or
        EntityNotFound, having written nothing."""
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
        """Apply `trigger` to a liaison sheet (same rules as `fire_case`)."""
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
        entered: Mapping[int, int] | None = None,
    ) -> BatchResult:
        """Apply one trigger to many rows of `kind` ("case", "liaison") in one transaction.

        Unlike `fire_case` (one case, a refusal raised), it names its entity kind and lists
        refusals instead of raising them: rows whose state does not allow the trigger (or whose
        guards say no) are left unchanged and listed in `refused`; unknown ids in `missing`.
        With `isolate=True`, a row whose guard or handler raises is listed in `failed` instead
        of failing the batch. `entered` maps ids to the state entry (`entered_version`) the
        caller acts for (a timer's): a row that has entered a state since is refused as stale.
        """
        entity = KINDS[kind]
        data = data or {}
        cleaned: dict[WorkflowMachine, dict[str, Any]] = {}

        def decide(row: Any, c: Connection, now: datetime) -> TransitionContext:
            if entered is not None and row.entered_version != entered[row.id]:
                machine = self.workflows.machine(row.workflow_name, row.workflow_version)
                raise self._refusal(entity, row, trigger, machine, "stale")
            return self._decide(entity, row, trigger, actor, data, c, now, cleaned)

        return self._fire_rows(entity, set(ids), decide, conn, isolate)

    def fire_each(
        self, kind: str, requests: Sequence[FireRequest], *, conn: Connection | None = None
    ) -> BatchResult:
        """Each row its own trigger, actor and data (replies taken in together), applied as
        `fire_many` applies one trigger: one transaction, a few statements, rows locked on
        PostgreSQL. Each row at most once per call. A refusal is listed in `refused`; a row
        whose guard, handler or data check raises is listed in `failed` (the others go on)."""
        entity = KINDS[kind]
        wanted = {r.entity_id: r for r in requests}
        if len(wanted) != len(requests):
            raise ValueError("fire_each: each row at most once per call")

        def decide(row: Any, c: Connection, now: datetime) -> TransitionContext:
            r = wanted[row.id]
            return self._decide(entity, row, r.trigger, r.actor, r.data, c, now, {})

        return self._fire_rows(entity, set(wanted), decide, conn, isolate=True)

    def _fire_rows(
        self,
        entity: EntityKind,
        ids: set[int],
        decide: Callable[[Any, Connection, datetime], TransitionContext],
        conn: Connection | None,
        isolate: bool,
    ) -> BatchResult:
        """Read the rows a chunk at a time (locked on PostgreSQL, in id order so that two
        batches cannot deadlock), decide each, write the decided ones together."""
        result = BatchResult()
        with self._transaction(conn) as c:
            now = self.clock.now()  # one transaction, one time
            for part in chunks(sorted(ids), CHUNK):
                rows = self._batch_readers[entity.name].read(c, part)
                found = {row.id for row in rows}
                result.missing.extend(i for i in part if i not in found)
                decided = []
                for row in rows:
                    try:
                        decided.append(decide(row, c, now))
                    except TransitionRefused as refusal:
                        result.refused.append(refusal)
                    except Exception as exc:
                        if not isolate:
                            raise
                        result.failed.append((row.id, exc))
                result.applied.extend(self._writer.write(c, entity, decided, now))
        return result

    # -- creating ---------------------------------------------------------------------------

    def create_case(
        self, conn: Connection, actor: Actor, workflow: str = "case", **values: Any
    ) -> int:
        """Insert a case in `workflow`'s initial state (its latest version), with its creation
        event."""
        return self.create_cases(conn, actor, [values], workflow=workflow)[0]

    def create_cases(
        self,
        conn: Connection,
        actor: Actor,
        rows: Sequence[Mapping[str, Any]],
        note: Mapping[str, Any] | None = None,
        *,
        workflow: str = "case",
        workflow_version: int | None = None,
    ) -> list[int]:
        """Insert many cases (imports, benchmarks): one multi-row INSERT and their events.
        `note` joins each creation event's data (an assignment says which draw it came from).
        The cases start in `workflow` at `workflow_version` (None: its latest version) and stay
        on that version whatever is loaded later (`casework workflows migrate` moves them)."""
        audit = ("cohort", "group", "assignment_method", "referent")
        machine = self.workflows.starting(workflow, workflow_version, CASE.name)
        return self._create(conn, CASE, machine, actor, rows, audit, note)

    def create_sheet(self, conn: Connection, actor: Actor, **values: Any) -> int:
        """Insert a liaison sheet in its workflow's initial state, with its creation event."""
        audit = ("partner_id", "need_category")
        machine = self.workflows.starting(LIAISON.name, None, LIAISON.name)
        return self._create(conn, LIAISON, machine, actor, [values], audit, None)[0]

    def _create(
        self,
        conn: Connection,
        entity: EntityKind,
        machine: WorkflowMachine,
        actor: Actor,
        rows: Sequence[Mapping[str, Any]],
        audit: tuple[str, ...],
        note: Mapping[str, Any] | None,
    ) -> list[int]:
        reader = self._readers[entity.name]
        now = self.clock.now()
        return create_rows(
            conn, entity, machine.definition, actor, rows, audit, note, now, self.timers, reader
        )

    # -- migrating --------------------------------------------------------------------------

    def migrate_workflow(
        self,
        name: str,
        from_version: int,
        to_version: int,
        mapping: Mapping[str, str],
        actor: Actor,
        *,
        dry_run: bool = False,
    ) -> MigrationPlan:
        """Move every case on `name` at `from_version` to `to_version`, in one transaction (see
        `engine/migration.py`); `dry_run` plans only. Raises MigrationRefused or
        UnknownWorkflow, having written nothing."""
        before = self.workflows.definition(name, from_version)
        after = self.workflows.definition(name, to_version)
        with self._transaction(None) as conn:
            now = self.clock.now()
            plan = plan_migration(conn, self, before, after, mapping, now)
            if not dry_run:
                apply_migration(conn, plan, actor, now, self)
        return plan

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
            found = self._readers[entity.name].read(c, [entity_id])
            if not found:
                raise EntityNotFound(entity.name, entity_id)
            row = found[0]
            if expected_version is not None and row.version != expected_version:
                raise VersionConflict(entity.name, entity_id, expected_version, row.version)
            now = self.clock.now()
            ctx = self._decide(entity, row, trigger, actor, data, c, now, {})
            return self._writer.write(c, entity, [ctx], now)[0]

    def _decide(
        self,
        entity: EntityKind,
        row: Any,
        trigger: str,
        actor: Actor,
        data: Mapping[str, Any],
        conn: Connection,
        now: datetime,
        cleaned: dict[WorkflowMachine, dict[str, Any]],
    ) -> TransitionContext:
        """Run the machine on one row: guards, then handlers, which only stage their effects.

        `cleaned` memoises the checked data per workflow version: a batch checks it once.
        """
        machine = self.workflows.machine(row.workflow_name, row.workflow_version)
        found = machine.candidates(row.state, trigger)
        if found is None:
            raise self._refusal(entity, row, trigger, machine, "state", actor=actor)
        if actor.kind_value not in found.actor_kinds:
            raise self._refusal(entity, row, trigger, machine, "actor", actor=actor)
        checked = cleaned.get(machine)
        if checked is None:
            checked = cleaned[machine] = clean_fields(trigger, found.transitions[0].fields, data)
        if machine.conditions:  # fields that apply to some rows only: this row's
            check_applying(
                trigger,
                found.transitions[0].fields,
                checked,
                lambda f: machine.applies(f, row, now),
                lambda when: machine.conditions[when].says,
            )
        ctx = TransitionContext(self, entity, row, trigger, actor, checked, now, machine, conn)
        dest = machine.run(row.state, trigger, ctx)
        if dest is None or ctx.transition is None:
            raise self._refusal(entity, row, trigger, machine, "guards", detail=ctx.refusal)
        if actor.kind_value not in ctx.transition.by:
            raise self._refusal(entity, row, trigger, machine, "actor", actor=actor)
        ctx.dest = dest
        return ctx

    @staticmethod
    def _refusal(
        entity: EntityKind,
        row: Any,
        trigger: str,
        machine: WorkflowMachine,
        reason: str,
        detail: str | None = None,
        actor: Actor | None = None,
    ) -> TransitionRefused:
        allowed = machine.allowed_triggers(row.state)
        if actor is not None:  # what this actor may do (a person is not offered a timer's)
            by = {
                t.trigger
                for t in machine.definition.transitions_from(row.state)
                if actor.kind_value in t.by
            }
            allowed = tuple(t for t in allowed if t in by)
        return TransitionRefused(
            entity.name,
            row.id,
            trigger,
            row.state,
            allowed,
            reason=reason,
            detail=detail,
            actor_kind=actor.kind_value if actor else None,
            state_label=machine.definition.states[row.state].label,
            case_id=getattr(row, entity.case_id_column, None),
        )
