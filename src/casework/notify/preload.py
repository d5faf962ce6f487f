"""What a batch of queued mails reads before rendering, in a handful of queries.

A render pass reads, for all its mails at once, the cases with their young person and contract,
the sheets with their partner, the users and contacts mails go to, the deadlines set when each
sheet entered the state its mail is about, and since when each case waited. The number of
queries does not grow with the number of mails; nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from casework.models.tables import (
    CASES,
    CONTACTS,
    CONTRACTS,
    EVENTS,
    PARTNERS,
    PEOPLE,
    SHEETS,
    TIMERS,
    USERS,
)


def case_with_person(*columns: Any) -> Select[Any]:
    """`columns` of cases with their young person (`PEOPLE`) and contract (`CONTRACTS`)."""
    return (
        select(*columns)
        .select_from(CASES)
        .join(PEOPLE, PEOPLE.c.id == CASES.c.beneficiary_id)
        .join(CONTRACTS, CONTRACTS.c.id == CASES.c.contract_id)
    )


@dataclass
class Preloaded:
    """Everything a batch of mails reads, keyed for the renderer's lookups."""

    cases: dict[int, Any]
    sheets: dict[int, Any]
    users: dict[str, Any]
    contacts: dict[int, list[Any]]
    deadlines: dict[tuple[int, int], dict[str, datetime]]
    entered: dict[tuple[int, int], str]  # the state each (sheet, state entry) was
    waiting_since: dict[tuple[int, int], datetime]

    @classmethod
    def load(cls, conn: Connection, rows: Sequence[Any]) -> Preloaded:
        sheet_ids = sorted({r.entity_id for r in rows if r.entity == "liaison"})
        sheets = _sheets(conn, sheet_ids)
        cases = _cases(conn, sorted({r.case_id for r in rows if r.case_id is not None}))
        logins = {c.referent for c in cases.values() if c.referent}
        logins |= {(r.context or {}).get("login") for r in rows} - {None}
        users = {}
        if logins:
            users = {
                u.login: u for u in conn.execute(select(USERS).where(USERS.c.login.in_(logins)))
            }
        contacts = _contacts(conn, sorted({s.partner_id for s in sheets.values()}))
        deadlines, entered = _deadlines(conn, sheet_ids)
        waiting = _waiting_since(conn, rows)
        return cls(cases, sheets, users, contacts, deadlines, entered, waiting)


def _sheets(conn: Connection, sheet_ids: list[int]) -> dict[int, Any]:
    if not sheet_ids:
        return {}
    query = (
        select(
            SHEETS.c.id,
            SHEETS.c.case_id,
            SHEETS.c.partner_id,
            SHEETS.c.need_category,
            SHEETS.c.description,
            SHEETS.c.sent_at,
            SHEETS.c.feedback,
            SHEETS.c.state,
            SHEETS.c.workflow_name,
            SHEETS.c.workflow_version,
            PARTNERS.c.name.label("partner_name"),
            PARTNERS.c.feedback_days.label("partner_feedback_days"),
        )
        .join(PARTNERS, PARTNERS.c.id == SHEETS.c.partner_id)
        .where(SHEETS.c.id.in_(sheet_ids))
    )
    return {s.id: s for s in conn.execute(query)}


def _cases(conn: Connection, case_ids: list[int]) -> dict[int, Any]:
    if not case_ids:
        return {}
    query = case_with_person(
        CASES.c.id,
        CASES.c.state,
        CASES.c.workflow_name,
        CASES.c.workflow_version,
        CASES.c.group,
        CASES.c.cycle,
        CASES.c.cohort,
        CASES.c.state_since,
        CASES.c.referent,
        PEOPLE.c.first_names,
        PEOPLE.c.birth_name,
        PEOPLE.c.birth_date,
        PEOPLE.c.phone,
        PEOPLE.c.email,
        PEOPLE.c.guardian_name,
        PEOPLE.c.guardian_phone,
        PEOPLE.c.guardian_email,
        CONTRACTS.c.employer_name,
        CONTRACTS.c.training_centre_name,
        CONTRACTS.c.start_date,
        CONTRACTS.c.planned_end_date,
    ).where(CASES.c.id.in_(case_ids))
    return {c.id: c for c in conn.execute(query)}


def _contacts(conn: Connection, partner_ids: list[int]) -> dict[int, list[Any]]:
    contacts: dict[int, list[Any]] = defaultdict(list)
    if partner_ids:
        query = (
            select(CONTACTS).where(CONTACTS.c.partner_id.in_(partner_ids)).order_by(CONTACTS.c.id)
        )
        for contact in conn.execute(query):
            contacts[contact.partner_id].append(contact)
    return contacts


def _deadlines(
    conn: Connection, sheet_ids: list[int]
) -> tuple[dict[tuple[int, int], dict[str, datetime]], dict[tuple[int, int], str]]:
    """The deadlines set when each sheet entered the state a mail is about, whatever became of
    those timers since (a mail rendered late still states the deadlines it was for), and the
    state each (sheet, state entry) was."""
    deadlines: dict[tuple[int, int], dict[str, datetime]] = defaultdict(dict)
    entered: dict[tuple[int, int], str] = {}
    if sheet_ids:
        query = select(
            TIMERS.c.entity_id,
            TIMERS.c.set_version,
            TIMERS.c.state,
            TIMERS.c.trigger,
            TIMERS.c.due_at,
        ).where(TIMERS.c.entity == "liaison", TIMERS.c.entity_id.in_(sheet_ids))
        for timer in conn.execute(query):
            deadlines[(timer.entity_id, timer.set_version)][timer.trigger] = timer.due_at
            entered[(timer.entity_id, timer.set_version)] = timer.state
    return deadlines, entered


def _waiting_since(conn: Connection, rows: Sequence[Any]) -> dict[tuple[int, int], datetime]:
    """For each case mail, (case, version) → when the case entered the state the mail's
    transition left: the latest state-changing event into it before the mail's own. A case's
    events are a few dozen at most, read through the case's index in one query per batch."""
    wanted = {(r.entity_id, r.version) for r in rows if r.entity == "case"}
    if not wanted:
        return {}
    query = (
        select(EVENTS.c.case_id, EVENTS.c.version, EVENTS.c.from_state, EVENTS.c.to_state)
        .add_columns(EVENTS.c.at)
        .where(
            EVENTS.c.entity == "case",
            EVENTS.c.case_id.in_(sorted({case_id for case_id, _ in wanted})),
            EVENTS.c.to_state.is_not(None),
        )
        .order_by(EVENTS.c.case_id, EVENTS.c.version)
    )
    history: dict[int, list[Any]] = defaultdict(list)
    for event in conn.execute(query):
        history[event.case_id].append(event)
    since: dict[tuple[int, int], datetime] = {}
    for case_id, version in wanted:
        events = history.get(case_id, [])
        mail_event = next((e for e in events if e.version == version), None)
        if mail_event is None:
            continue
        entered = [
            e.at
            for e in events
            if e.version is not None
            and e.version < version
            and e.to_state == mail_event.from_state
            and e.from_state != e.to_state
        ]
        if entered:
            since[(case_id, version)] = entered[-1]
    return since
