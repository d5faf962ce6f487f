"""What the dashboard shows, read with the queries the command line and the digest use.

- The caseload: the cases the person may see (`accounts.scope`), counted by state
  (`queries.count_by_state`), each state by its label.
- Today's actions: the lines of the person's own daily digest (`notify.digest.due_query`: the
  cases they are the referent of, as the digest and `casework case list --due` see them), each
  marked late when its row is in a state its workflow tags `overdue` (a consent still not
  collected after its reminder, a sheet past its deadline); each line counted, and its first
  twenty listed, late ones first: one query a line, whatever the caseload.
- The unread alerts on their own cases (`inbound.alerts.open_alerts_query`).
- For a manager or an administrator, whose scope is more than their own cases, the late items
  of that scope, counted: cases in a state tagged `overdue` (from the caseload's counts: no
  other query) and liaison sheets past their charter deadline (`open_sheets`), each a link to
  the list filtered on them.

It only reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, case, false, func, or_, select

from casework import wording
from casework.accounts.scope import visible_cases
from casework.app import App
from casework.inbound.alerts import open_alerts_query
from casework.models.beneficiary import display_name
from casework.models.tables import ALERTS, CASES, SHEETS
from casework.notify.digest import DueAction, due_actions, due_item, due_query
from casework.open_sheets import Deadlines, SheetFilter, count_per_partner
from casework.queries import OVERDUE_TAG, CaseFilter, count_by_state
from casework.states.catalog import WorkflowSet
from casework.web.staff.case_view import when

MAX_ALERTS = 50
SHOWN_PER_GROUP = 20  # the others are counted, and listed by `/dossiers?a_faire=1`


@dataclass(frozen=True)
class StateCount:
    state: str  # the code, for the list's filter (a link, never shown)
    label: str
    n: int


@dataclass(frozen=True)
class LateCount:
    """Late items of one kind in a scope, and the list that shows them."""

    what: str
    n: int
    href: str


@dataclass
class DueGroup:
    """One line of the digest (« Point mensuel »): how many cases it has, how many of them
    late, and the first of them (late ones first, then the oldest)."""

    what: str
    action: str
    total: int = 0
    late: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def more(self) -> int:
        """How many are not listed."""
        return self.total - len(self.items)


def caseload(conn: Connection, user: Any, workflows: WorkflowSet) -> list[StateCount]:
    """The cases `user` may see, by state (the groups together), in the workflows' order of
    states; two programmes' states of the same code and label are one line."""
    counts: dict[str, int] = {}
    labels: dict[str, str] = {}
    for row in count_by_state(conn, CaseFilter(visible=visible_cases(user))):
        definition = workflows.find(row.workflow_name, row.workflow_version)
        counts[row.state] = counts.get(row.state, 0) + row.n
        labels.setdefault(row.state, wording.state(definition, row.state))
    order = state_order(workflows)
    return [
        StateCount(state, labels[state], counts[state])
        for state in sorted(counts, key=lambda s: (order.get(s, len(order)), s))
    ]


def state_order(workflows: Iterable[Any]) -> dict[str, int]:
    """Case states in the order their files declare them (the first programme's first)."""
    order: dict[str, int] = {}
    for definition in workflows:
        if definition.entity == "case":
            for code in definition.states:
                order.setdefault(code, len(order))
    return order


@dataclass
class _Line:
    """A digest line's query for the dashboard, built once: its rows for the person (the
    `login` parameter), late ones first then the oldest, each with the line's count and late
    count (window functions: one query reads both)."""

    due: DueAction
    late_keys: frozenset[tuple[str, int, str]]
    query: Select[Any]


def todays_actions(
    conn: Connection, login: str, workflows: WorkflowSet, shown: int = SHOWN_PER_GROUP
) -> list[DueGroup]:
    """The person's digest lines that have cases: each counted, and its first `shown` items
    read, late ones first (a caseload of a thousand must not make a page of a thousand)."""
    groups: dict[str, DueGroup] = {}
    for line in _lines(workflows, shown):
        rows = conn.execute(line.query, {"login": login}).all()
        if not rows:
            continue
        group = groups.setdefault(line.due.what, DueGroup(line.due.what, line.due.action))
        group.total += rows[0].line_total
        group.late += rows[0].line_late
        for row in rows:
            item = due_item(line.due, row)
            item["late"] = (row.workflow_name, row.workflow_version, row.state) in line.late_keys
            group.items.append(item)
    for group in groups.values():
        # Two lines of one wording (two workflows'): late ones first again, then cut.
        group.items.sort(key=lambda item: not item["late"])  # stable: oldest first otherwise
        del group.items[shown:]
    return list(groups.values())


# Built once per set of workflows (the app's, for its life), by identity: a few of them.
_BUILT: dict[int, tuple[WorkflowSet, int, tuple[_Line, ...]]] = {}


def _lines(workflows: WorkflowSet, shown: int) -> tuple[_Line, ...]:
    """Each digest line's query for these workflows (building them cost more than running
    them)."""
    found = _BUILT.get(id(workflows))
    if found is None or found[0] is not workflows or found[1] != shown:
        if len(_BUILT) > 8:
            _BUILT.clear()  # tests build many apps; a service, one
        found = _BUILT[id(workflows)] = (workflows, shown, _build_lines(workflows, shown))
    return found[2]


def _build_lines(workflows: WorkflowSet, shown: int) -> tuple[_Line, ...]:
    lines = []
    for due in due_actions(workflows):
        table = SHEETS if due.entity == "liaison" else CASES
        late_keys = _late_states(due, workflows)
        late = case(
            (
                or_(
                    false(),
                    *(
                        and_(
                            table.c.workflow_name == name,
                            table.c.workflow_version == version,
                            table.c.state == state,
                        )
                        for name, version, state in sorted(late_keys)
                    ),
                ),
                1,
            ),
            else_=0,
        )
        query = (
            due_query(bindparam("login"), due)
            .add_columns(
                func.count().over().label("line_total"), func.sum(late).over().label("line_late")
            )
            .order_by(None)
            .order_by(late.desc(), table.c.state_since, table.c.id)
            .limit(shown)
        )
        lines.append(_Line(due, frozenset(late_keys), query))
    return tuple(lines)


def _late_states(due: DueAction, workflows: WorkflowSet) -> set[tuple[str, int, str]]:
    """(workflow, version, state) of `due`'s rows that are late: in a state their own workflow
    tags overdue (a consent still not collected after its reminder, a sheet past its
    deadline)."""
    late = set()
    for name, version in due.keys:
        definition = workflows.find(name, version)
        if definition is not None:
            tagged = definition.states_tagged(OVERDUE_TAG)
            late |= {(name, version, state) for state in due.states if state in tagged}
    return late


def scope_late(conn: Connection, user: Any, states: list[StateCount], app: App) -> list[LateCount]:
    """The late items of the person's whole scope: cases by overdue state, overdue sheets."""
    tagged = {
        s for wf in app.workflows if wf.entity == "case" for s in wf.states_tagged(OVERDUE_TAG)
    }
    late = [
        LateCount(s.label, s.n, f"/dossiers?etat={s.state}") for s in states if s.state in tagged
    ]
    deadlines = Deadlines(app.workflows, app.engine.timers.calendar)
    partners = count_per_partner(conn, deadlines, SheetFilter(visible_cases(user)), app.clock.now())
    sheets = sum(int(p.overdue) for p in partners)
    return [*late, LateCount("Fiches de liaison en retard", sheets, "/fiches?retard=1")]


def unread_alerts(conn: Connection, login: str) -> list[dict[str, Any]]:
    """The unread alerts on the person's own cases, newest first."""
    # Found first among the person's cases by index, then read with their names: left to
    # itself, SQLite's planner read the name of each of a thousand cases before finding none.
    mine = (
        select(ALERTS.c.id)
        .join(CASES, CASES.c.id == ALERTS.c.case_id)
        .where(ALERTS.c.seen_at.is_(None), CASES.c.referent == login)
        .order_by(ALERTS.c.id.desc())
        .limit(MAX_ALERTS)
    )
    query = open_alerts_query(login).where(ALERTS.c.id.in_(mine)).limit(MAX_ALERTS)
    rows = conn.execute(query).all()
    return [
        {
            "id": r.id,
            "case_id": r.case_id,
            "who": display_name(r.first_names, r.birth_name),
            "sender": r.sender,
            "subject": r.subject,
            "at": when(r.created_at),
        }
        for r in rows
    ]
