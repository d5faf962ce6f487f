"""What casework holds about one young person: every table, and how its rows reach them.

ONE declaration (`HOLDINGS`), read by the rights' export (`casework privacy export`) and by
anything that must find all of a person's data. Every table of the schema is either here or in
`NOT_ABOUT_A_PERSON` with the reason why; a unit test walks the schema, so a table added later
without a word here fails the build instead of being left out of people's copies.

Rows reach a person through the keys `Keys` gathers once: the person's number, their contracts
(and the CMA's numbers, the key of the CMA's file), their cases, the cases' sheets, the mail
received about them, and their Mission Locale number (the key of the ML's file). A few tables
say whose a row is only inside a JSON value (a digest's list of cases, a rejected file row's
cells), which SQL cannot search the same way on SQLite and PostgreSQL: their rows are narrowed
by SQL as far as it can, then kept by `keep` in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Table, and_, false, or_, select, true

from casework.models.tables import (
    ACCESS_LOG,
    ALERTS,
    ASSESSMENTS,
    ATTACHMENTS,
    CASES,
    CONTACT_LOGS,
    CONTRACTS,
    DECISIONS,
    EVENTS,
    INBOUND,
    LINKS,
    OUTBOX,
    PEOPLE,
    PROPOSALS,
    RECORDS,
    REJECTS,
    SHEETS,
    TIMERS,
)
from casework.privacy.requests import PERSON

DIGEST_TEMPLATE = "digest/daily"  # a counsellor's daily list: no case of its own, several inside


@dataclass(frozen=True)
class Keys:
    """How a person's rows are found, read once per person."""

    person_id: int
    ml_id: str | None
    contracts: tuple[int, ...]
    cma_numbers: tuple[str, ...]
    cases: tuple[int, ...]
    sheets: tuple[int, ...]
    inbound: tuple[int, ...]  # mail received about them: matched to a case, a sheet, an alert

    @property
    def file_keys(self) -> tuple[str, ...]:
        """Their keys in the organisations' files: contract numbers and the ML number."""
        return (*self.cma_numbers, *([self.ml_id] if self.ml_id else []))


def keys_of(conn: Connection, person_id: int) -> Keys:
    ml_id = conn.execute(select(PEOPLE.c.ml_id).where(PEOPLE.c.id == person_id)).scalar()
    contracts = conn.execute(
        select(CONTRACTS.c.id, CONTRACTS.c.cma_number)
        .where(CONTRACTS.c.beneficiary_id == person_id)
        .order_by(CONTRACTS.c.id)
    ).all()
    cases = _ids(conn, select(CASES.c.id).where(CASES.c.beneficiary_id == person_id))
    sheets = _ids(conn, select(SHEETS.c.id).where(SHEETS.c.case_id.in_(cases)))
    alerted = select(ALERTS.c.inbound_id).where(ALERTS.c.case_id.in_(cases))
    inbound = _ids(
        conn,
        select(INBOUND.c.id).where(
            or_(
                INBOUND.c.case_id.in_(cases),
                INBOUND.c.sheet_id.in_(sheets),
                INBOUND.c.id.in_(alerted),
            )
        ),
    )
    return Keys(
        person_id=person_id,
        ml_id=ml_id,
        contracts=tuple(int(r.id) for r in contracts),
        cma_numbers=tuple(str(r.cma_number) for r in contracts),
        cases=cases,
        sheets=sheets,
        inbound=inbound,
    )


def _ids(conn: Connection, query: Any) -> tuple[int, ...]:
    return tuple(sorted(int(i) for i in conn.execute(query).scalars()))


@dataclass(frozen=True)
class Holding:
    """A table that holds data about young people: which of its rows are one person's."""

    table: Table
    label: str  # the export's heading, in French
    where: Callable[[Keys], ColumnElement[bool]]
    # For rows whose person is named only inside a JSON value: kept or not, in Python.
    keep: Callable[[Keys, Row[Any]], bool] | None = None

    @property
    def name(self) -> str:
        return self.table.name


def _in_digest(keys: Keys, row: Row[Any]) -> bool:
    if row.case_id is not None:
        return row.case_id in keys.cases
    items = (row.context or {}).get("items") or []
    return any(isinstance(i, dict) and i.get("case_id") in keys.cases for i in items)


def _names_a_key(keys: Keys, row: Row[Any]) -> bool:
    wanted = set(keys.file_keys)
    return any(str(cell).strip() in wanted for cell in row.cells or ())


def _records(keys: Keys) -> ColumnElement[bool]:
    return or_(
        and_(RECORDS.c.source == "cma", RECORDS.c.key.in_(keys.cma_numbers)),
        and_(RECORDS.c.source == "ml", RECORDS.c.key == keys.ml_id) if keys.ml_id else false(),
    )


def _pairs(table: Table) -> Callable[[Keys], ColumnElement[bool]]:
    """The cross-matching's pairs that name one of their contracts or their ML number."""
    return lambda k: or_(
        table.c.cma_key.in_(k.cma_numbers),
        table.c.ml_key == k.ml_id if k.ml_id else false(),
    )


# One entry per table, in the order the export shows them.
HOLDINGS: tuple[Holding, ...] = (
    Holding(PEOPLE, "Identité et coordonnées", lambda k: PEOPLE.c.id == k.person_id),
    Holding(CONTRACTS, "Contrats d'apprentissage", lambda k: CONTRACTS.c.id.in_(k.contracts)),
    Holding(CASES, "Dossiers de suivi", lambda k: CASES.c.id.in_(k.cases)),
    Holding(
        EVENTS,
        "Historique (journal d'audit)",
        # The cases' and their sheets' events, and the person's own requests (this export…).
        lambda k: or_(
            EVENTS.c.case_id.in_(k.cases),
            and_(EVENTS.c.entity == PERSON, EVENTS.c.entity_id == k.person_id),
        ),
    ),
    Holding(
        CONTACT_LOGS, "Contacts avec le référent", lambda k: CONTACT_LOGS.c.case_id.in_(k.cases)
    ),
    Holding(ASSESSMENTS, "Bilans", lambda k: ASSESSMENTS.c.case_id.in_(k.cases)),
    Holding(SHEETS, "Fiches de liaison", lambda k: SHEETS.c.id.in_(k.sheets)),
    Holding(ALERTS, "Alertes des partenaires", lambda k: ALERTS.c.case_id.in_(k.cases)),
    Holding(INBOUND, "Courriels reçus", lambda k: INBOUND.c.id.in_(k.inbound)),
    Holding(
        ATTACHMENTS,
        "Pièces jointes des courriels reçus",
        lambda k: ATTACHMENTS.c.inbound_id.in_(k.inbound),
    ),
    Holding(
        OUTBOX,
        "Courriels envoyés",
        lambda k: or_(
            OUTBOX.c.case_id.in_(k.cases),
            and_(OUTBOX.c.case_id.is_(None), OUTBOX.c.template == DIGEST_TEMPLATE),
        ),
        keep=_in_digest,
    ),
    Holding(LINKS, "Liens d'action envoyés", lambda k: LINKS.c.case_id.in_(k.cases)),
    Holding(TIMERS, "Échéances programmées", lambda k: TIMERS.c.case_id.in_(k.cases)),
    Holding(ACCESS_LOG, "Consultations du dossier", lambda k: ACCESS_LOG.c.case_id.in_(k.cases)),
    Holding(RECORDS, "Lignes des fichiers importés (CMA, Mission Locale)", _records),
    Holding(
        REJECTS,
        "Lignes écartées des fichiers importés",
        # Rejected rows are tied to no one; one whose cells hold their key is theirs.
        lambda k: true() if k.file_keys else false(),
        keep=_names_a_key,
    ),
    Holding(PROPOSALS, "Rapprochements proposés", _pairs(PROPOSALS)),
    Holding(DECISIONS, "Rapprochements décidés", _pairs(DECISIONS)),
)

# Tables that hold nothing about any one young person, and why (see the module's docstring).
NOT_ABOUT_A_PERSON: dict[str, str] = {
    "users": "the staff's accounts",
    "staff_sessions": "the staff's sign-ins",
    "login_failures": "failed sign-ins, by login or client address",
    "service_heartbeats": "the service's processes",
    "digests": "one row per counsellor and day: a count, no case (the mail is in `outbox`)",
    "partners": "organisations (a sheet names its partner: said in the export by name)",
    "partner_contacts": "the partners' staff",
    "intake_files": "an imported file's name, checksum and counts",
    "assignment_draws": "a draw's method, seed and strata (each case's group is on the case)",
    "purge_runs": "one row per day the daily purge ran: the day, the process, its counts",
    "event_redaction_permits": "never a committed row: the purge's permit lives inside its "
    "own transaction",
}


def held(conn: Connection, keys: Keys) -> Iterator[tuple[Holding, list[Row[Any]]]]:
    """Each holding with the person's rows in it, by key order, empty ones included."""
    for holding in HOLDINGS:
        key = next(iter(holding.table.primary_key.columns))
        query = select(holding.table).where(holding.where(keys)).order_by(key)
        rows = list(conn.execute(query))
        if holding.keep is not None:
            rows = [r for r in rows if holding.keep(keys, r)]
        yield holding, rows
