"""`/pilotage`: the steering page, for managers (their territory) and administrators (all):
the caseload per counsellor by main state, the open and overdue liaison sheets per partner,
the ruptures and exits of this month beside last month's, and the service's health as
`casework status` gives it. Aggregates only (`casework.steering`, `open_sheets`,
`service.status`): no young person's name, so not in the access log."""

from __future__ import annotations

from starlette.responses import Response

from casework.accounts.scope import visible_cases
from casework.clock import to_local
from casework.models import Role
from casework.open_sheets import Deadlines, SheetFilter, count_per_partner
from casework.service.status import service_status
from casework.steering import Month, caseload, outcomes
from casework.web.staff.page import Page, PageContext

STEERING = frozenset({Role.MANAGER, Role.ADMINISTRATOR})


def steering(ctx: PageContext) -> Response:
    visible = visible_cases(ctx.user)
    now = ctx.app.clock.now()
    this_month = Month.of(to_local(now).date())
    deadlines = Deadlines(ctx.app.workflows, ctx.app.engine.timers.calendar)
    with ctx.app.db.read() as conn:
        load = caseload(conn, visible, ctx.app.workflows)
        partners = count_per_partner(conn, deadlines, SheetFilter(visible), now)
        months = [(m, outcomes(conn, visible, m)) for m in (this_month, this_month.previous)]
    return ctx.render(
        "steering.html.j2",
        caseload=load,
        partners=partners,
        months=months,
        service=service_status(ctx.app),
        whole=ctx.user.role == Role.ADMINISTRATOR or not ctx.user.territory,
    )


PAGES = [Page("/pilotage", "Pilotage", steering, roles=STEERING, order=80)]
