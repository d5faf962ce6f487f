"""Read-side queries shared by the CLI (and, later, the web pages): no writes here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, select

from casework.errors import EntityNotFound
from casework.models import Beneficiary, Case, Contract, Event, LiaisonSheet, Partner


def list_cases(
    conn: Connection,
    *,
    state: str | None = None,
    group: str | None = None,
    cohort: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Row[Any]]:
    stmt = (
        select(
            Case.id,
            Case.cohort,
            Case.group,
            Case.state,
            Case.cycle,
            Case.state_since,
            Beneficiary.first_names,
            Beneficiary.birth_name,
            Contract.employer_name,
        )
        .join(Beneficiary, Beneficiary.id == Case.beneficiary_id)
        .join(Contract, Contract.id == Case.contract_id)
        .order_by(Case.id)
        .limit(limit)
        .offset(offset)
    )
    if state:
        stmt = stmt.where(Case.state == state)
    if group:
        stmt = stmt.where(Case.group == group)
    if cohort:
        stmt = stmt.where(Case.cohort == cohort)
    return list(conn.execute(stmt).all())


def count_by_state(conn: Connection) -> list[Row[Any]]:
    stmt = (
        select(Case.group, Case.state, func.count())
        .group_by(Case.group, Case.state)
        .order_by(Case.group, Case.state)
    )
    return list(conn.execute(stmt).all())


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
