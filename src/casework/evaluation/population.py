"""The cases a report counts, as SQL: a cohort's cases with their contract and their person,
filtered by the report's scope, and the few expressions that differ between SQLite and
PostgreSQL (an age, a number of days, a date's year).

Every table's query starts from `Population`, so that all of them count the same cases.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, and_, case, cast, extract, func, literal
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from casework.evaluation.model import Scope
from casework.models.tables import CASES, CONTRACTS, PEOPLE


class Population:
    def __init__(self, scope: Scope, dialect: str):
        self.scope, self.sqlite = scope, dialect == "sqlite"
        self.cutoff = literal(scope.cutoff, Date)

    @property
    def joined(self) -> FromClause:
        return CASES.join(CONTRACTS, CONTRACTS.c.id == CASES.c.contract_id).join(
            PEOPLE, PEOPLE.c.id == CASES.c.beneficiary_id
        )

    @property
    def where(self) -> ColumnElement[bool]:
        conditions = [CASES.c.cohort == self.scope.cohort, CONTRACTS.c.start_date <= self.cutoff]
        if self.scope.year is not None:
            # A range on the column, not its year: an index on start_date could serve it.
            conditions.append(
                CONTRACTS.c.start_date.between(
                    date(self.scope.year, 1, 1), date(self.scope.year, 12, 31)
                )
            )
        return and_(*conditions)

    @property
    def entry_year(self) -> ColumnElement[int]:
        """The calendar year the contract started: a cohort's season may straddle two."""
        return cast(extract("year", CONTRACTS.c.start_date), Integer).label("entry_year")

    @property
    def ruptured(self) -> ColumnElement[bool]:
        """A rupture known and dated by the cut-off."""
        return and_(CONTRACTS.c.rupture_date.is_not(None), CONTRACTS.c.rupture_date <= self.cutoff)

    def age_at_start(self) -> ColumnElement[int]:
        """Completed years at the contract's start, as `models.beneficiary.age_on` counts them
        (someone born on 29 February ages on 1 March in a common year)."""
        start, birth = CONTRACTS.c.start_date, PEOPLE.c.birth_date
        if self.sqlite:
            years = cast(func.strftime("%Y", start), Integer) - cast(
                func.strftime("%Y", birth), Integer
            )
            before_birthday = case(
                (func.strftime("%m-%d", start) < func.strftime("%m-%d", birth), 1), else_=0
            )
            return (years - before_birthday).label("age")
        return cast(func.date_part("year", func.age(start, birth)), Integer).label("age")

    def days(self, end: ColumnElement[date], start: ColumnElement[date]) -> ColumnElement[int]:
        """Days from `start` to `end` (dates)."""
        if self.sqlite:
            return cast(func.julianday(end) - func.julianday(start), Integer)
        return cast(end - start, Integer)

    def time_to_rupture(self) -> tuple[ColumnElement[int], ColumnElement[int]]:
        """Days from the contract's start to its rupture, or to the day it was last known
        running: its planned end, or the cut-off if sooner (censored); and 1 for a rupture."""
        end = case(
            (self.ruptured, CONTRACTS.c.rupture_date),
            (CONTRACTS.c.planned_end_date < self.cutoff, CONTRACTS.c.planned_end_date),
            else_=self.cutoff,
        )
        event = case((self.ruptured, 1), else_=0)
        return self.days(end, CONTRACTS.c.start_date).label("days"), event.label("event")
