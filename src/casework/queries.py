"""Read-side queries shared by the CLI and the staff pages: no writes here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, exists, false, func, or_, select

from casework.errors import EntityNotFound
from casework.models import (
    Beneficiary,
    Case,
    Contract,
    Event,
    LiaisonSheet,
    Partner,
    Timer,
    TimerStatus,
)
from casework.notify.digest import case_is_due
from casework.states.catalog import WorkflowSet
from casework.states.definition import WorkflowDef


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a list or a count is about; every criterion given must hold."""

    state: str | None = None
    group: str | None = None
    cohort: int | None = None
    referent: str | None = None  # a login
    due: bool = False  # something waits for the referent now (their digest's list)
    # A deadline passed with nothing done: timers late by this time (see `overdue`) count.
    overdue_before: datetime | None = None
    # The workflows whose files say what is due (`digest:`) and overdue (states tagged so):
    # needed with `due` or `overdue_before`.
    workflows: tuple[WorkflowDef, ...] = ()
    # A condition of the caller's on `cases`: the cases a person may see on the staff pages
    # (`accounts.scope.visible_cases`).
    visible: ColumnElement[bool] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found = []
        if self.state:
            found.append(Case.state == self.state)
        if self.group:
            found.append(Case.group == self.group)
        if self.cohort:
            found.append(Case.cohort == self.cohort)
        if self.referent:
            found.append(Case.referent == self.referent)
        if (self.due or self.overdue_before is not None) and not self.workflows:
            raise ValueError("CaseFilter: due and overdue need the workflows")
        if self.due:
            found.append(case_is_due(self.workflows))
        if self.overdue_before is not None:
            found.append(overdue(self.overdue_before, self.workflows))
        if self.visible is not None:
            found.append(self.visible)
        return found


# States where a deadline has passed (the consent still not obtained after its reminder, a
# liaison sheet the partner let go past its deadline) carry this tag in `workflows/*.yaml`.
OVERDUE_TAG = "overdue"


def overdue(late_before: datetime, workflows: Iterable[WorkflowDef]) -> ColumnElement[bool]:
    """A case past a deadline: in an overdue state, with an overdue sheet, or with a timer that
    was due before `late_before` and has not fired (the service is behind, or the timer
    failed: `casework timers --failed`). Timers are read through their partial indexes."""
    timers = Timer.__table__
    late = select(timers.c.case_id).where(
        or_(
            and_(timers.c.status == TimerStatus.PENDING.value, timers.c.run_after <= late_before),
            timers.c.status == TimerStatus.FAILED.value,
        )
    )
    sheets = LiaisonSheet.__table__
    return or_(
        tagged_state(Case.__table__, "case", OVERDUE_TAG, workflows),
        exists().where(
            sheets.c.case_id == Case.id, tagged_state(sheets, "liaison", OVERDUE_TAG, workflows)
        ),
        Case.id.in_(late),
    )


def tagged_state(
    table: Any, entity: str, tag: str, workflows: Iterable[WorkflowDef]
) -> ColumnElement[bool]:
    """Rows of `table` in a state their own workflow tags `tag`."""
    return or_(
        false(),
        *(
            and_(
                table.c.workflow_name == wf.name,
                table.c.workflow_version == wf.version,
                table.c.state.in_(wf.states_tagged(tag)),
            )
            for wf in workflows
            if wf.entity == entity and wf.states_tagged(tag)
        ),
    )


def list_cases(
    conn: Connection,
    *,
    state: str | None = None,
    group: str | None = None,
    cohort: int | None = None,
    limit: int = 50,
    offset: int = 0,
    where: CaseFilter | None = None,
) -> list[Row[Any]]:
    """Cases in number order; `where` adds to (and may replace) `state`, `group`, `cohort`."""
    where = where or CaseFilter(state=state, group=group, cohort=cohort)
    stmt = (
        select(
            Case.id,
            Case.cohort,
            Case.group,
            Case.state,
            Case.workflow_name,
            Case.workflow_version,
            Case.cycle,
            Case.state_since,
            Beneficiary.first_names,
            Beneficiary.birth_name,
            Contract.employer_name,
        )
        .join(Beneficiary, Beneficiary.id == Case.beneficiary_id)
        .join(Contract, Contract.id == Case.contract_id)
        .where(*where.conditions())
        .order_by(Case.id)
        .limit(limit)
        .offset(offset)
    )
    return list(conn.execute(stmt).all())


def count_by_state(conn: Connection, where: CaseFilter | None = None) -> list[Row[Any]]:
    """(group, workflow_name, workflow_version, state, n): a state is a state of its workflow."""
    by = (Case.group, Case.workflow_name, Case.workflow_version, Case.state)
    stmt = (
        select(*by, func.count().label("n"))
        .where(*(where or CaseFilter()).conditions())
        .group_by(*by)
        .order_by(*by)
    )
    return list(conn.execute(stmt).all())


def definitions_of(
    conn: Connection, workflows: WorkflowSet, rows: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], WorkflowDef]:
    """The definition each row, given as (entity kind, id), runs on: its own workflow and
    version, not the latest of its kind (cases of several programmes, and of older versions,
    live side by side). A row whose workflow is no longer loaded is left out."""
    wanted: dict[str, set[int]] = {}
    for kind, entity_id in rows:
        wanted.setdefault(kind, set()).add(entity_id)
    found = {}
    for kind, table in (("case", Case.__table__), ("liaison", LiaisonSheet.__table__)):
        if kind not in wanted:  # callers list a page of rows: one query per kind
            continue
        query = select(table.c.id, table.c.workflow_name, table.c.workflow_version).where(
            table.c.id.in_(sorted(wanted[kind]))
        )
        for row in conn.execute(query):
            definition = workflows.find(row[1], row[2])
            if definition is not None:
                found[(kind, row.id)] = definition
    return found


@dataclass(frozen=True)
class CaseDetail:
    case: Row[Any]
    beneficiary: Row[Any]
    contract: Row[Any]
    sheets: list[Row[Any]]


def case_detail(conn: Connection, case_id: int) -> CaseDetail:
    case = conn.execute(select(Case.__table__).where(Case.id == case_id)).first()
    if case is None:
        raise EntityNotFound("case", case_id)
    beneficiary = conn.execute(
        select(Beneficiary.__table__).where(Beneficiary.id == case.beneficiary_id)
    ).one()
    contract = conn.execute(select(Contract.__table__).where(Contract.id == case.contract_id)).one()
    sheets = conn.execute(
        select(LiaisonSheet.__table__, Partner.name.label("partner_name"))
        .join(Partner, Partner.id == LiaisonSheet.partner_id)
        .where(LiaisonSheet.case_id == case_id)
        .order_by(LiaisonSheet.id)
    ).all()
    return CaseDetail(case, beneficiary, contract, list(sheets))


def timeline(conn: Connection, case_id: int) -> list[Row[Any]]:
    """Every event of a case and of its liaison sheets, oldest first."""
    if conn.execute(select(Case.id).where(Case.id == case_id)).first() is None:
        raise EntityNotFound("case", case_id)
    stmt = select(Event.__table__).where(Event.case_id == case_id).order_by(Event.id)
    return list(conn.execute(stmt).all())
