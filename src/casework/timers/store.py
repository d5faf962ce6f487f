"""Timer rows: plan them from a workflow's states, insert, cancel, claim and close them.

Storage only; the loop that fires them is `sweep.py`. Every function takes the caller's
connection: timers are always written inside the transaction of the transition (or sweep) they
belong to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from casework.engine.fastsql import FastSQL
from casework.models import TimerStatus
from casework.models.tables import TIMERS
from casework.retry import Backoff
from casework.states.definition import Delay, StateDef, TimerDef
from casework.timers.calendar import Calendar

PENDING = TimerStatus.PENDING.value
TIMER_COLUMNS = (
    "entity",
    "entity_id",
    "case_id",
    "state",
    "set_version",
    "trigger",
    "due_at",
    "run_after",
    "misfire",
    "status",
    "attempts",
    "created_at",
)

# Columns with few distinct values in a batch (see FastSQL.insert).
_FEW = frozenset(TIMER_COLUMNS) - {"entity_id", "case_id", "set_version"}

# What the sweep needs of a claimed timer (reading fewer timestamps is cheaper on SQLite).
CLAIMED = [
    TIMERS.c[name]
    for name in (
        "id",
        "entity",
        "entity_id",
        "case_id",
        "state",
        "set_version",
        "trigger",
        "due_at",
        "misfire",
        "attempts",
    )
]


def _ids() -> Any:
    return bindparam("ids", expanding=True, literal_execute=True)


class TimerStore:
    def __init__(self, sql: FastSQL, calendar: Calendar, postgresql: bool):
        self.sql = sql
        self.calendar = calendar
        self.postgresql = postgresql
        pending = select(TIMERS.c.id).where(
            TIMERS.c.entity == bindparam("b_entity"),
            TIMERS.c.entity_id.in_(_ids()),
            TIMERS.c.status == PENDING,
        )
        if postgresql:
            # A timer another process has claimed is being fired right now: don't wait for it
            # (sweeps lock timers then rows, transitions rows then timers: waiting could
            # deadlock). That sweep finds the row has entered a state since, and discards it.
            pending = pending.with_for_update(skip_locked=True)
        self._cancel = (
            update(TIMERS)
            .where(TIMERS.c.id.in_(pending.scalar_subquery()))
            .values(status=TimerStatus.CANCELLED.value, closed_at=bindparam("b_now"))
        )

    # -- set and cancel (called by the engine, in the transition's transaction) ---------------

    def plan(
        self,
        entity: str,
        entity_id: int,
        case_id: int,
        state: StateDef,
        set_version: int,
        entered_at: datetime,
        value_of: Any,
        due_cache: dict[tuple[int, int, Any], datetime],
    ) -> list[tuple[Any, ...]]:
        """Rows for the timers of `state`, entered at `entered_at`. `value_of(name)` gives the date
        a timer counts from (`contract.start_date`…), and the row's own count for a delay that
        may take one (`partner.ack_days`: the partner's deadline, else the YAML's); a timer
        whose date is unknown is not set. `due_cache` spares recomputing a due time a batch of
        rows shares."""
        rows = []
        for timer in state.timers:
            anchor = None
            if timer.anchor is not None:
                anchor = value_of(timer.anchor)
                if anchor is None:
                    continue
                if isinstance(anchor, datetime):
                    anchor = self.calendar.local_date(anchor)
            delay = timer.delay
            if delay.instead is not None:
                delay = delay.for_row(value_of(delay.instead))
            due = self._due(timer, delay, entered_at, anchor, due_cache)
            rows.append(
                (
                    entity,
                    entity_id,
                    case_id,
                    state.name,
                    set_version,
                    timer.trigger,
                    due,
                    due,
                    timer.misfire,
                    PENDING,
                    0,
                    entered_at,
                )
            )
        return rows

    def _due(
        self,
        timer: TimerDef,
        delay: Delay,
        entered_at: datetime,
        anchor: date | None,
        cache: dict[tuple[int, int, Any], datetime],
    ) -> datetime:
        key = (id(timer), delay.amount, anchor if anchor is not None else entered_at)
        due = cache.get(key)
        if due is None:
            due = cache[key] = self.calendar.due_at(delay, entered_at, anchor)
        return due

    def insert(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        convert, seen = self.sql.converter(TIMERS.c.due_at), {}

        def to_db(when: datetime) -> Any:  # a batch shares a handful of distinct times
            found = seen.get(when)
            if found is None:
                found = seen[when] = convert(when)
            return found

        converted = [(*r[:6], to_db(r[6]), to_db(r[7]), *r[8:11], to_db(r[11])) for r in rows]
        self.sql.insert(conn, TIMERS, TIMER_COLUMNS, converted, few=_FEW)

    def cancel_pending(
        self, conn: Connection, entity: str, entity_ids: Iterable[int], now: datetime
    ) -> int:
        """Cancel the pending timers of these rows: they are leaving the state that set them."""
        ids = sorted(set(entity_ids))
        if not ids:
            return 0
        params = {"b_entity": entity, "ids": ids, "b_now": now}
        return conn.execute(self._cancel, params).rowcount

    # -- claim and close (called by the sweep, in its own transaction) ------------------------

    def claim_due(
        self, conn: Connection, now: datetime, limit: int, only: int | None = None
    ) -> list[Any]:
        """The earliest pending timers whose time has come, locked until the transaction ends.

        PostgreSQL: `FOR UPDATE SKIP LOCKED`, so each of several processes takes its own rows
        and none waits for another. SQLite: the transaction already holds the only write lock.
        """
        stmt = (
            select(*CLAIMED)
            .where(TIMERS.c.status == PENDING, TIMERS.c.run_after <= now)
            .order_by(TIMERS.c.run_after, TIMERS.c.id)
            .limit(limit)
        )
        if only is not None:
            stmt = stmt.where(TIMERS.c.id == only)
        if self.postgresql:
            stmt = stmt.with_for_update(skip_locked=True)
        return list(conn.execute(stmt).all())

    def statuses(self, conn: Connection, ids: Sequence[int]) -> dict[int, str]:
        rows = conn.execute(
            select(TIMERS.c.id, TIMERS.c.status).where(TIMERS.c.id.in_(_ids())), {"ids": list(ids)}
        )
        return {r.id: r.status for r in rows}

    def mark_fired(self, conn: Connection, ids: Sequence[int], now: datetime) -> None:
        """Mark timers fired before firing them, in the same transaction: the engine's
        cancellation of the row's pending timers then leaves them alone. A timer that turns
        out not to fire is closed otherwise, or put back, before the transaction commits."""
        if ids:
            conn.execute(
                update(TIMERS)
                .where(TIMERS.c.id.in_(_ids()))
                .values(
                    status=TimerStatus.FIRED.value, closed_at=now, attempts=TIMERS.c.attempts + 1
                ),
                {"ids": list(ids)},
            )

    def close(
        self,
        conn: Connection,
        ids: Sequence[int],
        status: TimerStatus,
        now: datetime,
        error: str | None = None,
    ) -> None:
        if ids:
            conn.execute(
                update(TIMERS)
                .where(TIMERS.c.id.in_(_ids()))
                .values(status=status.value, closed_at=now, last_error=error),
                {"ids": list(ids)},
            )

    def retry_later(
        self,
        conn: Connection,
        timer: Any,
        now: datetime,
        error: str,
        max_attempts: int,
        backoff: Backoff,
    ) -> bool:
        """After a failure: pending again, to try later (after `backoff`), or parked as failed
        once it has had `max_attempts`. Returns True if parked."""
        attempts = timer.attempts + 1  # as claimed, before this attempt
        if attempts >= max_attempts:
            values = {"status": TimerStatus.FAILED.value, "closed_at": now}
        else:
            values = {
                "status": PENDING,
                "closed_at": None,
                "run_after": now + backoff.delay(attempts),
            }
        conn.execute(
            update(TIMERS)
            .where(TIMERS.c.id == timer.id)
            .values(attempts=attempts, last_error=error, **values)
        )
        return attempts >= max_attempts

    # -- looking (status command, health) ------------------------------------------------------

    def counts(self, conn: Connection, now: datetime, overdue_after: timedelta) -> dict[str, int]:
        """Pending, due (the sweep may take them), overdue (due for longer than `overdue_after`:
        the sweep is behind) and failed timers. Each count reads a partial index (pending ones,
        failed ones): fired timers, the bulk of the table, are never counted."""
        pending = TIMERS.c.status == PENDING

        def count(*where: Any) -> int:
            return int(conn.execute(select(func.count()).where(*where)).scalar_one())

        return {
            "pending": count(pending),
            "due": count(pending, TIMERS.c.run_after <= now),
            "overdue": count(pending, TIMERS.c.run_after <= now - overdue_after),
            "failed": count(TIMERS.c.status == TimerStatus.FAILED.value),
        }

    def failed(self, conn: Connection, limit: int = 100) -> list[Any]:
        stmt = (
            select(TIMERS)
            .where(TIMERS.c.status == TimerStatus.FAILED.value)
            .order_by(TIMERS.c.closed_at.desc())
            .limit(limit)
        )
        return list(conn.execute(stmt).all())

    def upcoming(self, conn: Connection, limit: int = 20) -> list[Any]:
        stmt = (
            select(TIMERS)
            .where(TIMERS.c.status == PENDING)
            .order_by(TIMERS.c.run_after, TIMERS.c.id)
            .limit(limit)
        )
        return list(conn.execute(stmt).all())
