"""`/dossiers`: the cases the person may see (`accounts.scope`), in number order, a page at a
time, filtered by state (`?etat=`, the state's code, as the dashboard links to it) and to those
where an action waits for their referent (`?a_faire=1`, the dashboard's « Et N autres »: what
`casework case list --due` lists). Read with
`queries.list_cases`, as `casework case list`. Recorded in the access log: it names young
people."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from casework import wording
from casework.accounts.scope import NAMED_CASES, visible_cases
from casework.models.beneficiary import display_name
from casework.models.contract import UNKNOWN_EMPLOYER
from casework.notify.render import paris_date
from casework.queries import CaseFilter, list_cases
from casework.web.staff.page import Page, PageContext

PER_PAGE = 50


def case_list(ctx: PageContext) -> Response:
    workflows = ctx.app.workflows
    states = _case_states(workflows)
    wanted = ctx.request.query_params.get("etat") or None
    if wanted not in states:
        wanted = None  # an unknown state is no filter, not an error page
    due = ctx.request.query_params.get("a_faire") == "1"
    page = ctx.page_number()
    where = CaseFilter(
        state=wanted, due=due, workflows=tuple(workflows), visible=visible_cases(ctx.user)
    )
    with ctx.app.db.read() as conn:  # without SQLite's write lock; the view recorded after
        # One more than a page: whether there is a next one.
        rows = list_cases(conn, where=where, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    with ctx.app.db.transaction() as conn:
        ctx.looked_at(conn)
    cases = [_shown(workflows, r) for r in rows[:PER_PAGE]]
    return ctx.render(
        "cases.html.j2",
        cases=cases,
        states=list(states.items()),
        wanted=wanted,
        wanted_label=states.get(wanted or "", ""),
        due=due,
        page=page,
        more=len(rows) > PER_PAGE,
    )


def _case_states(workflows: Any) -> dict[str, str]:
    """Every case state's code and label (the first programme's label for a shared code), in
    the files' order."""
    found: dict[str, str] = {}
    for definition in workflows:
        if definition.entity == "case":
            for code in definition.states:
                found.setdefault(code, wording.state(definition, code))
    return found


def _shown(workflows: Any, r: Any) -> dict[str, Any]:
    definition = workflows.find(r.workflow_name, r.workflow_version)
    return {
        "id": r.id,
        "name": display_name(r.first_names, r.birth_name),
        "employer": r.employer_name or UNKNOWN_EMPLOYER,
        "state": wording.state(definition, r.state),
        "since": paris_date(r.state_since),
    }


PAGES = [Page("/dossiers", "Dossiers", case_list, roles=NAMED_CASES, order=10)]
