"""`/fiches`: the open liaison sheets of the cases the person may see (`accounts.scope`: a
counsellor's own, a manager's territory, every one for an administrator), overdue first, then
by nearest charter deadline, fifty a page (`?page=`), filtered by partner (`?partenaire=`) and
to the overdue ones (`?retard=1`). Read with `casework.open_sheets`, in one query a page; each
sheet links to its part of the case page. Recorded in the access log: it names young people."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from casework import wording
from casework.accounts.scope import NAMED_CASES, visible_cases
from casework.labels import NEED_CATEGORY
from casework.models.beneficiary import display_name
from casework.models.tables import PARTNERS
from casework.notify.deadlines import feedback_days, in_working_days
from casework.notify.render import paris_date
from casework.open_sheets import Deadlines, SheetFilter, list_open_sheets
from casework.web.staff.page import Page, PageContext, page_number
from casework.web.staff.pages.cases import PER_PAGE


def sheet_list(ctx: PageContext) -> Response:
    query = ctx.request.query_params
    given = query.get("partenaire", "")
    partner = int(given) if given.isascii() and given.isdigit() and len(given) < 10 else None
    overdue_only = query.get("retard") == "1"
    page = page_number(query.get("page", "1"))
    deadlines = Deadlines(ctx.app.workflows, ctx.app.engine.timers.calendar)
    where = SheetFilter(visible_cases(ctx.user), partner, overdue_only)
    with ctx.app.db.read() as conn:
        partners = conn.execute(
            select(PARTNERS.c.id, PARTNERS.c.name).order_by(PARTNERS.c.name)
        ).all()
        # One more than a page: whether there is a next one.
        rows = list_open_sheets(
            conn,
            deadlines,
            where,
            ctx.app.clock.now(),
            limit=PER_PAGE + 1,
            offset=(page - 1) * PER_PAGE,
        )
    ctx.record_view()
    if partner not in {p.id for p in partners}:
        partner = None  # an unknown partner filtered nothing but is no error page either
    filters = [("partenaire", partner), ("retard", 1 if overdue_only else None)]
    return ctx.render(
        "sheets.html.j2",
        sheets=[_shown(ctx, deadlines, r) for r in rows[:PER_PAGE]],
        partners=partners,
        partner=partner,
        partner_name=next((p.name for p in partners if p.id == partner), ""),
        overdue_only=overdue_only,
        query="&".join(f"{k}={v}" for k, v in filters if v is not None),
        page=page,
        more=len(rows) > PER_PAGE,
    )


def _shown(ctx: PageContext, deadlines: Deadlines, r: Any) -> dict[str, Any]:
    definition = ctx.app.workflows.find(r.workflow_name, r.workflow_version)
    by = deadlines.last_day(r.deadline)
    if r.acknowledged_at is not None:
        acknowledgement = f"reçu le {paris_date(r.acknowledged_at)}"
    elif by is not None:
        acknowledgement = f"au plus tard le {paris_date(by)}"
    else:
        acknowledgement = "—"
    if r.feedback_at is not None:
        feedback = f"reçu le {paris_date(r.feedback_at)}"
    elif by is not None and r.acknowledged_at is not None:
        feedback = f"au plus tard le {paris_date(by)}"
    elif by is not None and definition is not None:
        days = in_working_days(feedback_days(definition, r.partner_feedback_days))
        feedback = f"dans les {days} après l'accusé de réception"
    else:
        feedback = "—"
    return {
        "id": r.id,
        "case_id": r.case_id,
        "who": display_name(r.first_names, r.birth_name),
        "partner": r.partner_name,
        "need": NEED_CATEGORY.get(r.need_category, r.need_category),
        "state": wording.state(definition, r.state),
        "since": paris_date(r.state_since),
        "acknowledgement": acknowledgement,
        "feedback": feedback,
        "overdue": bool(r.overdue),
    }


PAGES = [Page("/fiches", "Fiches de liaison", sheet_list, roles=NAMED_CASES, order=20)]
