"""`/dossiers/{case_id}`: one case, for whoever may see it (`accounts.scope`), else 404. For now
its number, the young person's name and its state; the full case page (timeline, actions) is its
own slice of issue 14. Recorded in the access log: it shows personal data."""

from __future__ import annotations

from starlette.responses import Response

from casework.accounts.scope import NAMED_CASES
from casework.models.beneficiary import display_name
from casework.models.tables import CASES, PEOPLE
from casework.notify.preload import case_with_person
from casework.web.staff.page import Page, PageContext


def case_page(ctx: PageContext) -> Response:
    case_id = int(ctx.params["case_id"])
    with ctx.app.db.transaction() as conn:
        ctx.case(conn, case_id)
        row = conn.execute(
            case_with_person(
                CASES.c.id,
                CASES.c.state,
                CASES.c.workflow_name,
                CASES.c.workflow_version,
                CASES.c.referent,
                PEOPLE.c.first_names,
                PEOPLE.c.birth_name,
            ).where(CASES.c.id == case_id)
        ).one()
        ctx.looked_at(conn, case_id)
    definition = ctx.app.workflows.definition(row.workflow_name, row.workflow_version)
    return ctx.render(
        "case.html.j2",
        case_id=row.id,
        name=display_name(row.first_names, row.birth_name),
        state=definition.states[row.state].label or row.state,
        referent=row.referent,
    )


PAGES = [
    Page("/dossiers/{case_id:int}", "Dossier", case_page, roles=NAMED_CASES, nav=False),
]
