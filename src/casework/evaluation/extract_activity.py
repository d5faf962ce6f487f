"""The data-extraction layer, continued: what the counsellors and partners did (events,
contacts, liaison sheets), for Tables 4 to 7.

As in `extract`: grouped in the database; streamed row by row only for the liaison sheets
(their working days are counted on the calendar, in Python) — a fraction of a cohort.
Everything stamped after the cut-off's day (Paris time) is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, String, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from casework.evaluation.extract import Key
from casework.evaluation.population import Population
from casework.models.tables import ASSESSMENTS, CONTACT_LOGS, EVENTS, PARTNERS, SHEETS
from casework.timers.calendar import PARIS


def cutoff_end(population: Population) -> datetime:
    """The first instant after the cut-off day, in Paris, as UTC."""
    day = population.scope.cutoff + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def cases_reaching(conn: Connection, population: Population, triggers: list[str]) -> dict[Key, int]:
    """Cases by (group, trigger) that had a transition with that trigger by the cut-off."""
    query = (
        select(population.group, EVENTS.c.trigger, func.count(func.distinct(EVENTS.c.case_id)))
        .select_from(population.join(EVENTS))
        .where(
            EVENTS.c.entity == "case",
            EVENTS.c.trigger.in_(triggers),
            EVENTS.c.at < cutoff_end(population),
        )
        .group_by(population.group, EVENTS.c.trigger)
    )
    return {(row[0], row[1]): row[2] for row in conn.execute(query)}


def _contacts_by(
    conn: Connection, population: Population, column: ColumnElement[Any] | None
) -> dict[Key, tuple[int, int, int]]:
    """(contacts, minutes, cases contacted) by `column` (or in all)."""
    keys = [] if column is None else [column]
    query = (
        select(
            *keys,
            func.count(),
            func.coalesce(func.sum(CONTACT_LOGS.c.duration_min), 0),
            func.count(func.distinct(CONTACT_LOGS.c.case_id)),
        )
        .select_from(population.join(CONTACT_LOGS))
        .where(CONTACT_LOGS.c.at < cutoff_end(population))
    )
    if keys:
        query = query.group_by(*keys)
    return {tuple(row[:-3]): (row[-3], row[-2], row[-1]) for row in conn.execute(query)}


def contacts(
    conn: Connection, population: Population
) -> dict[str, dict[Key, tuple[int, int, int]]]:
    return {
        "all": _contacts_by(conn, population, None),
        "cycle": _contacts_by(conn, population, CONTACT_LOGS.c.cycle),
        "phase": _contacts_by(conn, population, CONTACT_LOGS.c.phase),
    }


def contacts_per_case(conn: Connection, population: Population) -> dict[int, int]:
    """How many cases had n contacts by the cut-off: n → cases (n ≥ 1)."""
    per_case = (
        select(func.count().label("n"))
        .select_from(population.join(CONTACT_LOGS))
        .where(CONTACT_LOGS.c.at < cutoff_end(population))
        .group_by(CONTACT_LOGS.c.case_id)
        .subquery()
    )
    query = select(per_case.c.n, func.count()).group_by(per_case.c.n)
    return {int(row[0]): int(row[1]) for row in conn.execute(query)}


def difficulties(conn: Connection, population: Population) -> dict[str, tuple[int, int]]:
    """Need category → (contacts that noted it, cases), from each contact's JSON list."""
    inner = (
        select(CONTACT_LOGS.c.id, CONTACT_LOGS.c.case_id, CONTACT_LOGS.c.difficulties)
        .select_from(population.join(CONTACT_LOGS))
        .where(CONTACT_LOGS.c.at < cutoff_end(population))
        .subquery()
    )
    if population.sqlite:
        element = func.json_each(inner.c.difficulties).table_valued("value")
        value = element.c.value
    else:
        element = func.jsonb_array_elements_text(inner.c.difficulties).table_valued("value")
        value = element.c.value
    query = (
        select(value.cast(String), func.count(), func.count(func.distinct(inner.c.case_id)))
        .select_from(inner.join(element, true()))
        .group_by(value.cast(String))
    )
    return {str(row[0]): (int(row[1]), int(row[2])) for row in conn.execute(query)}


def referrals(conn: Connection, population: Population) -> dict[str, tuple[int, int]]:
    """Need category → (sheets sent by the cut-off, cases)."""
    query = (
        select(SHEETS.c.need_category, func.count(), func.count(func.distinct(SHEETS.c.case_id)))
        .select_from(population.join(SHEETS))
        .where(SHEETS.c.sent_at < cutoff_end(population))
        .group_by(SHEETS.c.need_category)
    )
    return {str(row[0]): (int(row[1]), int(row[2])) for row in conn.execute(query)}


@dataclass(frozen=True)
class SentSheet:
    id: int
    partner: str
    partner_kind: str
    ack_days: int | None
    feedback_days: int | None
    need: str
    sent_at: datetime
    acknowledged_at: datetime | None
    feedback_at: datetime | None


def sent_sheets(conn: Connection, population: Population) -> Iterator[SentSheet]:
    """The sheets sent by the cut-off, one by one; an answer after it is not known yet."""
    end = cutoff_end(population)
    query = (
        select(
            SHEETS.c.id,
            PARTNERS.c.name,
            PARTNERS.c.kind,
            PARTNERS.c.ack_days,
            PARTNERS.c.feedback_days,
            SHEETS.c.need_category,
            SHEETS.c.sent_at,
            SHEETS.c.acknowledged_at,
            SHEETS.c.feedback_at,
        )
        .select_from(population.join(SHEETS).join(PARTNERS, PARTNERS.c.id == SHEETS.c.partner_id))
        .where(SHEETS.c.sent_at < end)
        .order_by(SHEETS.c.id)
    )
    for row in conn.execute(query.execution_options(yield_per=5000)):
        sheet = SentSheet(*row)
        yield SentSheet(
            **{
                **sheet.__dict__,
                "acknowledged_at": _known(sheet.acknowledged_at, end),
                "feedback_at": _known(sheet.feedback_at, end),
            }
        )


def _known(at: datetime | None, end: datetime) -> datetime | None:
    return at if at is not None and at < end else None


def sheet_events(
    conn: Connection, population: Population, triggers: list[str]
) -> set[tuple[int, str]]:
    """(sheet id, trigger) of the sheets' transitions with those triggers by the cut-off."""
    query = (
        select(EVENTS.c.entity_id, EVENTS.c.trigger)
        .distinct()
        .select_from(population.join(EVENTS))
        .where(
            EVENTS.c.entity == "liaison",
            EVENTS.c.trigger.in_(triggers),
            EVENTS.c.at < cutoff_end(population),
        )
    )
    return {(int(row[0]), str(row[1])) for row in conn.execute(query)}


def assessments(conn: Connection, population: Population) -> dict[Key, int]:
    """Assessments recorded by the cut-off, counted by (moment, group, situation, diploma,
    satisfaction)."""
    a = ASSESSMENTS.c
    keys = [a.moment, population.group, a.situation, a.diploma, a.satisfaction]
    query = (
        select(*keys, func.count())
        .select_from(population.join(ASSESSMENTS))
        .where(a.recorded_at < cutoff_end(population))
        .group_by(*keys)
    )
    return {tuple(row[:-1]): int(row[-1]) for row in conn.execute(query)}
