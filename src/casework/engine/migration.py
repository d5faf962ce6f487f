"""Moving running cases from one version of their workflow to another
(`casework workflows migrate case --from 1 --to 2 --map old=new --dry-run`).

A case stays on the version it was created in (`workflow_version`); this is the only code that
changes it, and besides the engine's transitions the only code that writes a case's state.

Guarantees:
- *Checked first.* A plan names every case of the workflow at `--from` and where each goes:
  its own state when `--to` has it, else the state `--map` gives. A case in a state `--to` lacks
  and that no `--map` names, a `--map` naming a state unknown at `--from` or at `--to`, or an
  unknown version: refused in French, before anything is written.
- *One transaction.* Every case moves, or none: rows locked (`FOR NO KEY UPDATE` on PostgreSQL,
  SQLite's write lock otherwise), each with `version + 1` (a person acting on what they saw
  before gets `VersionConflict`) and an audit event `migrate_workflow` (from state, to state,
  the versions).
- *Timers as the new version plans them, on the case's own clock.* The case does not enter a
  new state: its state entry (`entered_version`, `state_since`) is kept, so links sent for it
  stay good where their trigger is still open, and its timers are the `--to` state's timers
  counted from when the case entered its state, not from the migration: a deadline counted
  from entering a state stays counted from there (a reminder due in two days is not pushed a
  week later because the rules were reworded). A pending timer the new plan has as well (same
  state, trigger and due time) is kept as it is; the others are cancelled; the new ones
  inserted. One due before now fires at the next sweep, once, like any timer after downtime.
  Failed timers are left for `casework timers --failed`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from casework.actors import Actor
from casework.engine.entities import CASE, RowReader
from casework.errors import CaseworkError, VersionConflict
from casework.models import Event, Timer, TimerStatus
from casework.states.definition import WorkflowDef
from casework.states.fields import to_json

TRIGGER = "migrate_workflow"  # the audit event's trigger (no workflow declares it)
CASES, EVENTS, TIMERS = CASE.table, Event.__table__, Timer.__table__
CHUNK = 500


class MigrationRefused(CaseworkError):
    """A migration that cannot be done as asked (said in French); nothing was written."""


@dataclass(frozen=True)
class PlannedTimer:
    trigger: str
    due_at: datetime


@dataclass(frozen=True)
class CaseMove:
    """One case's move: its state before and after, and its pending timers."""

    case_id: int
    version: int  # the row's version read (the event is version + 1)
    source: str
    dest: str
    cancelled: tuple[PlannedTimer, ...]
    kept: tuple[PlannedTimer, ...]
    added: tuple[PlannedTimer, ...]
    cancel_ids: tuple[int, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()  # the timers to insert (TimerStore.insert's rows)


@dataclass
class MigrationPlan:
    before: WorkflowDef
    after: WorkflowDef
    mapping: Mapping[str, str]
    moves: list[CaseMove] = field(default_factory=list)

    def by_states(self) -> dict[tuple[str, str], int]:
        """How many cases go from each state to each state."""
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for move in self.moves:
            counts[(move.source, move.dest)] += 1
        return dict(sorted(counts.items()))


def plan_migration(
    conn: Connection,
    engine: Any,
    before: WorkflowDef,
    after: WorkflowDef,
    mapping: Mapping[str, str],
    now: datetime,
) -> MigrationPlan:
    """Read (and lock) every case on `before` and decide its move; refuse what cannot be."""
    _check_mapping(before, after, mapping)
    ids = list(
        conn.execute(
            select(CASES.c.id)
            .where(CASES.c.workflow_name == before.name, CASES.c.workflow_version == before.version)
            .order_by(CASES.c.id)
        ).scalars()
    )
    pg = engine.db.is_postgresql
    reader = RowReader(CASE, lock=pg, join=not pg)
    plan = MigrationPlan(before, after, dict(mapping))
    unmapped: dict[str, int] = defaultdict(int)
    due_cache: dict[tuple[int, int, Any], datetime] = {}
    for first in range(0, len(ids), CHUNK):
        rows = reader.read(conn, ids[first : first + CHUNK])  # locked from here on
        # Moved meanwhile by another migration (PostgreSQL: before the lock was taken).
        rows = [r for r in rows if r.workflow_version == before.version]
        found = [r.id for r in rows]
        query = select(CASES.c.id, CASES.c.state_since).where(CASES.c.id.in_(found))
        since = {case_id: at for case_id, at in conn.execute(query)}
        pending = _pending(conn, found)
        for row in rows:
            dest = mapping.get(row.state, row.state)
            if dest not in after.states:
                unmapped[row.state] += 1
                continue
            timers = pending.get(row.id, [])
            plan.moves.append(
                _move(engine, row, dest, after, timers, since[row.id], now, due_cache)
            )
    if unmapped:
        raise MigrationRefused(_unmapped_message(before, after, unmapped))
    return plan


def apply_migration(
    conn: Connection, plan: MigrationPlan, actor: Actor, now: datetime, engine: Any
) -> None:
    """Write the plan read in this same transaction: rows, events, timers."""
    by_states: dict[tuple[str, str], list[CaseMove]] = defaultdict(list)
    for move in plan.moves:
        by_states[(move.source, move.dest)].append(move)
    for (source, dest), moves in by_states.items():
        for first in range(0, len(moves), CHUNK):
            part = moves[first : first + CHUNK]
            changed = conn.execute(
                update(CASES)
                .where(
                    CASES.c.id.in_([m.case_id for m in part]),
                    CASES.c.workflow_name == plan.before.name,
                    CASES.c.workflow_version == plan.before.version,
                    CASES.c.state == source,
                )
                .values(
                    workflow_version=plan.after.version,
                    state=dest,
                    version=CASES.c.version + 1,
                    updated_at=now,
                )
            ).rowcount
            if changed != len(part):  # the rows are locked: only a bug gets here
                raise VersionConflict("case", part[0].case_id, part[0].version, None)
    data = {
        "workflow": plan.before.name,
        "from_version": plan.before.version,
        "to_version": plan.after.version,
    }
    for first in range(0, len(plan.moves), CHUNK):
        part = plan.moves[first : first + CHUNK]
        conn.execute(
            insert(EVENTS),
            [
                {
                    "case_id": m.case_id,
                    "entity": CASE.name,
                    "entity_id": m.case_id,
                    "version": m.version + 1,
                    "trigger": TRIGGER,
                    "from_state": m.source,
                    "to_state": m.dest,
                    "actor_kind": actor.kind_value,
                    "actor": actor.id,
                    "at": now,
                    "data": to_json(data),
                }
                for m in part
            ],
        )
    cancel = [i for m in plan.moves for i in m.cancel_ids]
    engine.timers.close(conn, cancel, TimerStatus.CANCELLED, now)
    engine.timers.insert(conn, [r for m in plan.moves for r in m.rows])


# -- the parts ---------------------------------------------------------------------------------


def _check_mapping(before: WorkflowDef, after: WorkflowDef, mapping: Mapping[str, str]) -> None:
    if before.key == after.key:
        raise MigrationRefused("la version de départ et la version d'arrivée sont les mêmes")
    if before.entity != after.entity or before.entity != CASE.name:
        raise MigrationRefused(f"« {before.name} » n'est pas un workflow de dossiers")
    for old, new in mapping.items():
        if old not in before.states:
            raise MigrationRefused(
                f"--map {old}={new} : « {old} » n'est pas un état de la version "
                f"{before.version} ({_states(before)})"
            )
        if new not in after.states:
            raise MigrationRefused(
                f"--map {old}={new} : « {new} » n'est pas un état de la version "
                f"{after.version} ({_states(after)})"
            )


def _states(definition: WorkflowDef) -> str:
    return "états : " + ", ".join(definition.states)


def _unmapped_message(before: WorkflowDef, after: WorkflowDef, unmapped: Mapping[str, int]) -> str:
    listed = "; ".join(
        f"{state} « {before.states[state].label} » ({n} dossier{'s' if n > 1 else ''})"
        for state, n in sorted(unmapped.items())
    )
    total = sum(unmapped.values())
    are = "1 dossier est" if total == 1 else f"{total} dossiers sont"
    return (
        f"{are} dans un état qui n'existe plus en version {after.version} : "
        f"{listed}. Indiquez où les mettre avec --map ancien=nouveau ({_states(after)})."
    )


def _pending(conn: Connection, ids: list[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    if not ids:
        return found
    query = (
        select(TIMERS.c.id, TIMERS.c.entity_id, TIMERS.c.state, TIMERS.c.trigger, TIMERS.c.due_at)
        .where(
            TIMERS.c.entity == CASE.name,
            TIMERS.c.entity_id.in_(ids),
            TIMERS.c.status == TimerStatus.PENDING.value,
        )
        .order_by(TIMERS.c.due_at, TIMERS.c.id)
    )
    for timer in conn.execute(query):
        found[timer.entity_id].append(timer)
    return found


def _move(
    engine: Any,
    row: Any,
    dest: str,
    after: WorkflowDef,
    pending: list[Any],
    entered_at: datetime,
    now: datetime,
    due_cache: dict[tuple[int, int, Any], datetime],
) -> CaseMove:
    """The case's timers as `after` plans them for `dest`, from when it entered its state."""
    facts = lambda name: getattr(row, name.replace(".", "_"), None)  # noqa: E731
    planned = engine.timers.plan(
        CASE.name, row.id, row.id, after.states[dest], row.entered_version, entered_at,
        facts, due_cache,
    )  # fmt: skip
    planned = [(*r[:11], now) for r in planned]  # created now, counted from the state's entry
    old = {(t.state, t.trigger, t.due_at): t for t in pending}
    kept, rows = [], []
    for r in planned:
        same = old.pop((r[3], r[5], r[6]), None)
        if same is not None:
            kept.append(PlannedTimer(same.trigger, same.due_at))
        else:
            rows.append(r)
    return CaseMove(
        case_id=row.id,
        version=row.version,
        source=row.state,
        dest=dest,
        cancelled=tuple(PlannedTimer(t.trigger, t.due_at) for t in old.values()),
        kept=tuple(kept),
        added=tuple(PlannedTimer(r[5], r[6]) for r in rows),
        cancel_ids=tuple(t.id for t in old.values()),
        rows=tuple(rows),
    )
