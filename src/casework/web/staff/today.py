"""What the dashboard shows, read with the queries the command line and the digest use.

- The caseload: the cases the person may see (`accounts.scope`), counted by state
  (`queries.count_by_state`), each state by its label.
- Today's actions: the lines of the person's own daily digest (`notify.digest.due_items`: the
  cases they are the referent of, as the digest and `casework case list --due` see them), each
  marked late when its row is in a state its workflow tags `overdue` (a consent still not
  collected after its reminder, a sheet past its deadline); late ones first.
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

from sqlalchemy import Connection, select

from casework import wording
from casework.accounts.scope import visible_cases
from casework.app import App
from casework.inbound.alerts import open_alerts_query
from casework.models.beneficiary import display_name
from casework.models.tables import CASES, SHEETS
from casework.notify.digest import due_items
from casework.open_sheets import Deadlines, SheetFilter, count_per_partner
from casework.queries import OVERDUE_TAG, CaseFilter, count_by_state
from casework.states.catalog import WorkflowSet
from casework.web.staff.case_view import when

MAX_ALERTS = 50


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
    """One line of the digest (« Point mensuel »), with its cases."""

    what: str
    action: str
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def late(self) -> int:
        return sum(1 for item in self.items if item["late"])


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


def todays_actions(conn: Connection, login: str, workflows: WorkflowSet) -> list[DueGroup]:
    """The person's digest lines that have cases, late items first in each."""
    items = due_items(conn, login, workflows)
    late = _late_rows(conn, items, workflows)
    groups: dict[str, DueGroup] = {}
    for item in items:
        item["late"] = (item["entity"], item["entity_id"]) in late
        groups.setdefault(item["what"], DueGroup(item["what"], item["action"])).items.append(item)
    for group in groups.values():
        group.items.sort(key=lambda item: not item["late"])  # stable: oldest first otherwise
    return list(groups.values())


def _late_rows(
    conn: Connection, items: list[dict[str, Any]], workflows: WorkflowSet
) -> set[tuple[str, int]]:
    """(entity, id) of the items' rows in a state their own workflow tags overdue."""
    late: set[tuple[str, int]] = set()
    for entity, table in (("case", CASES), ("liaison", SHEETS)):
        ids = sorted({i["entity_id"] for i in items if i["entity"] == entity})
        if not ids:
            continue
        rows = conn.execute(
            select(
                table.c.id, table.c.state, table.c.workflow_name, table.c.workflow_version
            ).where(table.c.id.in_(ids))
        )
        for row in rows:
            definition = workflows.find(row.workflow_name, row.workflow_version)
            if definition is not None and row.state in definition.states_tagged(OVERDUE_TAG):
                late.add((entity, row.id))
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
    rows = conn.execute(open_alerts_query(login).limit(MAX_ALERTS)).all()
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
