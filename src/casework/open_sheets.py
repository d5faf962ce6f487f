"""The open liaison sheets a person may see, with the charter's deadlines, overdue first; and
their counts per partner.

A sheet is open while its state is not final: a draft not sent yet, a sheet waiting for the
partner, a feedback waiting to be closed. Its charter deadline is the one for what its state
waits for (`awaits` in `workflows/liaison.yaml`: the acknowledgement, then the feedback): the
last working day before the reminder the entry into that state set, as the mails state it
(`notify.deadlines.last_day`). It is read from the sheet's own timers through their index
(entity, entity_id), whatever became of that timer since: a sheet marked overdue keeps the
deadline it missed. A sheet is overdue once that day has passed (`Deadlines.overdue_from`), or
when its state is tagged `overdue` (whatever its timers: the workflow says so).

The scope is `accounts.scope`'s condition on `cases`; a page is one query (sheet, young person,
partner, deadline: no query per row), the counts per partner one GROUP BY. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, or_, select, true

from casework.models.tables import CASES, PARTNERS, PEOPLE, SHEETS, TIMERS
from casework.notify.deadlines import last_day
from casework.queries import OVERDUE_TAG, tagged_state
from casework.states.definition import WorkflowDef
from casework.timers.calendar import Calendar


@dataclass(frozen=True)
class SheetFilter:
    """Which open sheets: those of the cases `visible` selects (a condition on `cases`), of one
    partner, overdue only."""

    visible: ColumnElement[bool]
    partner_id: int | None = None
    overdue_only: bool = False


class Deadlines:
    """The open states and deadline reminders of the loaded liaison workflows, and when a
    deadline is past."""

    def __init__(self, workflows: Iterable[WorkflowDef], calendar: Calendar):
        self.sheets = [wf for wf in workflows if wf.entity == "liaison"]
        self.calendar = calendar

    def open(self) -> ColumnElement[bool]:
        """Sheets in a state their own workflow does not mark final. The states' list first,
        alone, so that the planner may read the states' index."""
        every = sorted({s for wf in self.sheets for s, d in wf.states.items() if not d.final})
        return and_(SHEETS.c.state.in_(every), self._in_states(lambda d: not d.final))

    def deadline(self) -> ColumnElement[Any]:
        """When the reminder of the deadline the sheet's state waits for is (was) due; NULL for
        a state that waits for nothing from the partner (a draft, a feedback to close)."""
        reminders = sorted({wf.trigger_tagged("reminder") for wf in self.sheets})
        latest = (
            select(TIMERS.c.due_at)
            .where(
                TIMERS.c.entity == "liaison",
                TIMERS.c.entity_id == SHEETS.c.id,
                TIMERS.c.trigger.in_(reminders),
                # The timers set when the sheet entered its state, or before (an overdue sheet
                # keeps the deadline it missed); not those of a later entry.
                TIMERS.c.set_version <= SHEETS.c.entered_version,
            )
            .order_by(TIMERS.c.set_version.desc())
            .limit(1)
            .scalar_subquery()
        )
        return case((self._in_states(lambda d: bool(d.awaits)), latest), else_=None)

    def overdue_from(self, now: datetime) -> datetime:
        """The deadline reminders due before this instant are past their last day: a last day
        before today, or today not being a working day, before the next working day (the
        reminder comes the working morning after the last day)."""
        today = self.calendar.local_date(now)
        next_working = self.calendar.add_working_days(today, 0)
        midnight = datetime.combine(next_working + timedelta(days=1), datetime.min.time())
        return midnight.replace(tzinfo=self.calendar.tz).astimezone(UTC)

    def last_day(self, reminder_due: datetime | None) -> date | None:
        return last_day(self.calendar, reminder_due)

    def _in_states(self, keep: Any) -> ColumnElement[bool]:
        return or_(
            false(),
            *(
                and_(
                    SHEETS.c.workflow_name == wf.name,
                    SHEETS.c.workflow_version == wf.version,
                    SHEETS.c.state.in_([s for s, d in wf.states.items() if keep(d)]),
                )
                for wf in self.sheets
            ),
        )


def _in_scope(deadlines: Deadlines, where: SheetFilter) -> Any:
    """The open sheets of the filter's cases, with their deadline."""
    conditions = [deadlines.open(), where.visible]
    if where.partner_id is not None:
        conditions.append(SHEETS.c.partner_id == where.partner_id)
    return (
        select(
            SHEETS.c.id,
            SHEETS.c.case_id,
            SHEETS.c.partner_id,
            deadlines.deadline().label("deadline"),
            # A state its workflow tags overdue is overdue whatever its timers said.
            tagged_state(SHEETS, "liaison", OVERDUE_TAG, deadlines.sheets).label("marked"),
        )
        .join(CASES, CASES.c.id == SHEETS.c.case_id)
        .where(*conditions)
        # Computed once (each sheet's deadline read once), then sorted or counted: a plain
        # subquery would be merged into the outer query, its deadline read at each mention.
        .cte("open_sheets")
        .prefix_with("MATERIALIZED")
    )


def _overdue(found: Any, deadlines: Deadlines, now: datetime) -> ColumnElement[bool]:
    past = and_(found.c.deadline.is_not(None), found.c.deadline < deadlines.overdue_from(now))
    return or_(found.c.marked == true(), past)


def list_open_sheets(
    conn: Connection,
    deadlines: Deadlines,
    where: SheetFilter,
    now: datetime,
    limit: int = 50,
    offset: int = 0,
) -> list[Any]:
    """A page of open sheets: overdue first, then by nearest deadline, then those that wait for
    nothing from the partner; each with its case's young person and its partner."""
    found = _in_scope(deadlines, where)
    overdue = _overdue(found, deadlines, now)
    query = (
        select(
            SHEETS.c.id,
            SHEETS.c.case_id,
            SHEETS.c.state,
            SHEETS.c.workflow_name,
            SHEETS.c.workflow_version,
            SHEETS.c.need_category,
            SHEETS.c.state_since,
            SHEETS.c.sent_at,
            SHEETS.c.acknowledged_at,
            SHEETS.c.feedback_at,
            found.c.deadline,
            overdue.label("overdue"),
            PARTNERS.c.id.label("partner_id"),
            PARTNERS.c.name.label("partner_name"),
            PARTNERS.c.feedback_days.label("partner_feedback_days"),
            PEOPLE.c.first_names,
            PEOPLE.c.birth_name,
        )
        .select_from(found)
        .join(SHEETS, SHEETS.c.id == found.c.id)
        .join(PARTNERS, PARTNERS.c.id == SHEETS.c.partner_id)
        .join(CASES, CASES.c.id == SHEETS.c.case_id)
        .join(PEOPLE, PEOPLE.c.id == CASES.c.beneficiary_id)
        .order_by(
            case((overdue, 0), else_=1),
            found.c.deadline.is_(None),
            found.c.deadline,
            SHEETS.c.state_since,
            SHEETS.c.id,
        )
        .limit(limit)
        .offset(offset)
    )
    if where.overdue_only:
        query = query.where(overdue)
    return list(conn.execute(query).all())


def count_per_partner(
    conn: Connection, deadlines: Deadlines, where: SheetFilter, now: datetime
) -> list[Any]:
    """(partner_id, partner_name, open, overdue) for every partner with an open sheet in the
    filter's scope, the most overdue first."""
    found = _in_scope(deadlines, where)
    late = func.sum(case((_overdue(found, deadlines, now), 1), else_=0))
    query = (
        select(
            PARTNERS.c.id.label("partner_id"),
            PARTNERS.c.name.label("partner_name"),
            func.count().label("open"),
            late.label("overdue"),
        )
        .select_from(found)
        .join(PARTNERS, PARTNERS.c.id == found.c.partner_id)
        .group_by(PARTNERS.c.id, PARTNERS.c.name)
        .order_by(late.desc(), PARTNERS.c.name)
    )
    return list(conn.execute(query).all())
