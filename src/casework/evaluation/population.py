"""The cases a report counts, as SQL: a cohort's cases with their contract and their person,
filtered by the report's scope, and the few expressions that differ between SQLite and
PostgreSQL (an age, a number of days, a date's year).

Every table's query starts from `Population`, so that all of them count the same cases: the
join is made once per report (`materialised`), into a narrow temporary table of one row per case
counted with what the tables group by; the tables then scan that, or join it on the case id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from casework.evaluation.model import Scope
from casework.models.tables import CASES, CONTRACTS, PEOPLE

# The cases a report counts, one row each: temporary (the connection's own, gone at the end of
# the report's transaction), never part of the schema.
COUNTED = Table(
    "casework_report_cases",
    MetaData(),
    Column("case_id", Integer, primary_key=True),
    Column("grp", String(20)),
    Column("entry_year", Integer),
    Column("age", Integer),
    Column("sex", String(1)),
    Column("level", Integer),
    Column("status", String(20)),
    Column("diploma", String(120)),
    Column("departement", String(3)),
    Column("ruptured", Integer),
    Column("days", Integer),
    Column("event", Integer),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


class Population:
    def __init__(self, scope: Scope, dialect: str):
        self.scope, self.sqlite = scope, dialect == "sqlite"
        self.cutoff = literal(scope.cutoff, Date)
        self.counted = COUNTED

    def join(self, table: Table) -> FromClause:
        """The counted cases joined to a table of theirs (by its `case_id`)."""
        return COUNTED.join(table, table.c.case_id == COUNTED.c.case_id)

    @property
    def group(self) -> ColumnElement[str]:
        return COUNTED.c.grp

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
        if self.sqlite:  # a date is its ISO text: the year is its first four characters
            return cast(func.substr(CONTRACTS.c.start_date, 1, 4), Integer).label("entry_year")
        return cast(extract("year", CONTRACTS.c.start_date), Integer).label("entry_year")

    @property
    def ruptured(self) -> ColumnElement[bool]:
        """A rupture known and dated by the cut-off."""
        return and_(CONTRACTS.c.rupture_date.is_not(None), CONTRACTS.c.rupture_date <= self.cutoff)

    def age_at_start(self) -> ColumnElement[int]:
        """Completed years at the contract's start, as `models.beneficiary.age_on` counts them
        (someone born on 29 February ages on 1 March in a common year).

        On SQLite a date is its ISO text: as the integer YYYYMMDD, the difference of two dates
        over 10,000 is the completed years (the month and day make the last four digits, so the
        year counts only once the birthday is reached) — integer arithmetic per row, where
        parsing each date with `strftime` three times made most of a million cases' time."""
        start, birth = CONTRACTS.c.start_date, PEOPLE.c.birth_date
        if self.sqlite:

            def number(day: ColumnElement[date]) -> ColumnElement[int]:
                return cast(func.replace(day, "-", ""), Integer)

            computed = (number(start) - number(birth)) // 10000
        else:
            computed = cast(func.date_part("year", func.age(start, birth)), Integer)
        # An anonymised person has no birth date: the age written on the contract then.
        return func.coalesce(computed, CONTRACTS.c.age_at_start).label("age")

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


@contextmanager
def materialised(conn: Connection, population: Population) -> Iterator[Population]:
    """The counted cases written once into `COUNTED`, for the block's queries (one pass of the
    three-table join instead of one per query). On PostgreSQL the table goes with the
    transaction (ON COMMIT DROP); on SQLite it is dropped here, or rolled back with the rest."""
    days, event = population.time_to_rupture()
    COUNTED.create(conn)
    rows = (
        select(
            CASES.c.id,
            CASES.c.group,
            population.entry_year,
            population.age_at_start(),
            PEOPLE.c.sex,
            CONTRACTS.c.diploma_level,
            CONTRACTS.c.learner_status,
            CONTRACTS.c.diploma,
            PEOPLE.c.departement,
            case((population.ruptured, 1), else_=0),
            days,
            event,
        )
        .select_from(population.joined)
        .where(population.where)
    )
    conn.execute(COUNTED.insert().from_select([c.name for c in COUNTED.c], rows))
    yield population
    if population.sqlite:
        COUNTED.drop(conn)
