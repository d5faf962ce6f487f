"""The data-extraction layer: what each table needs, computed in the database.

Counts come grouped (GROUP BY in SQL: a few dozen rows for a million cases); durations come as
(group, days, event, count) so that a survival curve is fitted on weights rather than on a
million rows; only the cases a table follows one by one (sheets for working days, ruptures for
the time to a positive exit) are streamed, and never as ORM objects.

Everything reads the cases counted as `population.materialised` wrote them (one pass of the
join): grouping on their plain columns, which PostgreSQL also needs (it does not see two bound
parameters — the cut-off in SELECT and in GROUP BY — as the same expression).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from casework.evaluation.population import Population
from casework.models.tables import CASES, CONTRACTS

Key = tuple[object, ...]


def grouped(
    conn: Connection, population: Population, *columns: ColumnElement[object]
) -> dict[Key, int]:
    """Cases counted by (group, entry year, *columns of the counted cases)."""
    counted = population.counted
    keys = [counted.c.grp, counted.c.entry_year, *columns]
    query: Select[tuple[object, ...]] = select(*keys, func.count()).group_by(*keys)
    return {tuple(row[:-1]): row[-1] for row in conn.execute(query)}


# Table 1's variables, grouped together where their values are few (a GROUP BY sorts every
# counted case once: three sorts instead of six), each then summed apart.
PROFILE_PASSES = (("age", "sex", "level", "status"), ("diploma",), ("departement",))


def profile_counts(conn: Connection, population: Population) -> dict[str, dict[Key, int]]:
    """Table 1's variables, each counted by group and entry year."""
    counted = population.counted
    counts: dict[str, dict[Key, int]] = {}
    for names in PROFILE_PASSES:
        together = grouped(conn, population, *(counted.c[name] for name in names))
        for position, name in enumerate(names, start=2):
            alone = counts.setdefault(name, {})
            for key, n in together.items():
                own = (key[0], key[1], key[position])
                alone[own] = alone.get(own, 0) + n
    return counts


def rupture_counts(conn: Connection, population: Population) -> dict[Key, int]:
    """Cases by (group, entry year, ruptured by the cut-off: 0 or 1)."""
    return grouped(conn, population, population.counted.c.ruptured)


def durations(conn: Connection, population: Population) -> dict[Key, int]:
    """Cases by (group, entry year, days to rupture or censoring, event)."""
    counted = population.counted
    return grouped(conn, population, counted.c.days, counted.c.event)


@dataclass(frozen=True)
class AfterRupture:
    case_id: int
    group: str
    rupture_date: date
    state: str
    state_since: datetime
    exit_kind: str | None


def ruptured_cases(conn: Connection, population: Population) -> Iterator[AfterRupture]:
    """The cases whose contract broke by the cut-off, one by one (a fraction of a cohort)."""
    query = (
        select(
            CASES.c.id,
            CASES.c.group,
            CONTRACTS.c.rupture_date,
            CASES.c.state,
            CASES.c.state_since,
            CASES.c.exit_kind,
        )
        .select_from(
            population.counted.join(CASES, CASES.c.id == population.counted.c.case_id).join(
                CONTRACTS, CONTRACTS.c.id == CASES.c.contract_id
            )
        )
        .where(population.counted.c.ruptured == 1)
        .order_by(CASES.c.id)
    )
    for row in conn.execute(query.execution_options(yield_per=5000)):
        yield AfterRupture(*row)
