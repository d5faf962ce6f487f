"""The steering figures of a territory (the staff page `/pilotage`): aggregates only, never a
young person's name.

- The caseload per counsellor: the followed cases in the scope, in their main states (not
  final, not the control group's outcome tracking), one GROUP BY (referent, state) over
  `ix_cases_referent_state`.
- The ruptures of a month, by group: contracts whose rupture date falls in it, read through the
  partial index of broken contracts (`ix_contracts_rupture_date`).
- The exits of a month, by kind: cases that reached a final state with an exit kind in it, read
  through the partial index of exited cases (`ix_cases_exits`).

Every query takes the scope as `accounts.scope`'s condition on `cases`; nothing here writes.
Overdue sheets per partner are `open_sheets.count_per_partner`, the service's health
`service.status`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import ColumnElement, Connection, func, select

from casework import wording
from casework.clock import PARIS
from casework.labels import MONTHS, POSITIVE_EXIT
from casework.models.tables import CASES, CONTRACTS, USERS
from casework.states.definition import WorkflowDef

# Case states whose cases are outcomes only (the control group), not a counsellor's work.
NOT_FOLLOWED = ("tracked", "no_contact")


@dataclass
class Counsellor:
    login: str | None  # None: cases without a referent
    name: str
    counts: dict[str, int] = field(default_factory=dict)  # by state code

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Caseload:
    states: list[tuple[str, str]]  # (code, label) of the states that have cases, files' order
    counsellors: list[Counsellor]

    def total(self, state: str) -> int:
        return sum(c.counts.get(state, 0) for c in self.counsellors)


def main_states(workflows: Iterable[WorkflowDef]) -> dict[str, str]:
    """Code → label of the case states a followed case waits in, in the files' order (the first
    programme's label for a shared code)."""
    found: dict[str, str] = {}
    for wf in workflows:
        if wf.entity != "case":
            continue
        for code, state in wf.states.items():
            if not state.final and not set(NOT_FOLLOWED) & set(state.tags):
                found.setdefault(code, wording.state(wf, code))
    return found


def caseload(
    conn: Connection, visible: ColumnElement[bool], workflows: Iterable[WorkflowDef]
) -> Caseload:
    states = main_states(workflows)
    rows = conn.execute(
        select(CASES.c.referent, CASES.c.state, func.count().label("n"))
        .where(visible, CASES.c.state.in_(list(states)))
        .group_by(CASES.c.referent, CASES.c.state)
    ).all()
    logins = sorted({r.referent for r in rows if r.referent is not None})
    names = dict(
        conn.execute(select(USERS.c.login, USERS.c.name).where(USERS.c.login.in_(logins))).all()
    )
    counsellors: dict[str | None, Counsellor] = {}
    for r in rows:
        name = names.get(r.referent, r.referent) if r.referent else "Sans référent(e)"
        who = counsellors.setdefault(r.referent, Counsellor(r.referent, name))
        who.counts[r.state] = who.counts.get(r.state, 0) + r.n
    shown = [(code, label) for code, label in states.items() if any(code == r.state for r in rows)]
    ordered = sorted(counsellors.values(), key=lambda c: (c.login is None, c.name.casefold()))
    return Caseload(shown, ordered)


@dataclass(frozen=True)
class Month:
    first: date  # its first day
    next: date  # the first day of the next one

    @property
    def label(self) -> str:
        return f"{MONTHS[self.first.month - 1]} {self.first.year}"

    @property
    def previous(self) -> Month:
        last = date.fromordinal(self.first.toordinal() - 1)
        return Month(last.replace(day=1), self.first)

    def instants(self) -> tuple[datetime, datetime]:
        """Its bounds as instants: midnight in Paris."""
        start, end = (datetime.combine(d, time(0), tzinfo=PARIS) for d in (self.first, self.next))
        return start, end

    @classmethod
    def of(cls, day: date) -> Month:
        first = day.replace(day=1)
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return cls(first, after)


@dataclass(frozen=True)
class Outcomes:
    ruptures: dict[str, int]  # by group (test, control)
    exits: dict[str, int]  # by exit kind

    @property
    def positive_exits(self) -> int:
        return sum(n for kind, n in self.exits.items() if kind in POSITIVE_EXIT)


def outcomes(conn: Connection, visible: ColumnElement[bool], month: Month) -> Outcomes:
    broken = CONTRACTS.c.rupture_date
    ruptures = conn.execute(
        select(CASES.c.group, func.count())
        .select_from(CONTRACTS)
        .join(CASES, CASES.c.contract_id == CONTRACTS.c.id)
        # The partial index's own condition, then the month.
        .where(broken.is_not(None), broken >= month.first, broken < month.next, visible)
        .group_by(CASES.c.group)
    ).all()
    start, end = month.instants()
    exits = conn.execute(
        select(CASES.c.exit_kind, func.count())
        .where(
            CASES.c.exit_kind.is_not(None),
            CASES.c.state_since >= start,
            CASES.c.state_since < end,
            visible,
        )
        .group_by(CASES.c.exit_kind)
    ).all()
    return Outcomes({str(g): int(n) for g, n in ruptures}, {str(k): int(n) for k, n in exits})
