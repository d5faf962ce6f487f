"""`/`: the dashboard. For whoever sees named cases: their caseload by state (each state a link
to the list of those cases), today's actions from their own daily digest (each a link to the
form that acts on it, on the case page; late ones first, said in words as well as in colour),
and the unread alerts on their cases; for a manager or an administrator, the late items of their
whole scope, counted, each count a link to the list of them. Recorded in the access log: it
names young people. An evaluator sees no case (`casework.web.staff.today` reads it all)."""

from __future__ import annotations

from starlette.responses import Response

from casework.accounts.scope import NAMED_CASES
from casework.models import Role
from casework.web.staff.page import Page, PageContext
from casework.web.staff.today import caseload, scope_late, todays_actions, unread_alerts

# Whose scope is more than their own cases: their dashboard counts the scope's late items.
WIDER_SCOPE = frozenset({Role.MANAGER, Role.ADMINISTRATOR})


def dashboard(ctx: PageContext) -> Response:
    if ctx.user.role not in NAMED_CASES:
        return ctx.render("dashboard.html.j2", named=False)
    workflows = ctx.app.workflows
    with ctx.app.db.read() as conn:  # without SQLite's write lock; the view recorded after
        states = caseload(conn, ctx.user, workflows)
        actions = todays_actions(conn, ctx.user.login, workflows)
        alerts = unread_alerts(conn, ctx.user.login)
        late = scope_late(conn, ctx.user, states, ctx.app) if ctx.user.role in WIDER_SCOPE else None
    with ctx.app.db.transaction() as conn:
        ctx.looked_at(conn)
    return ctx.render(
        "dashboard.html.j2",
        named=True,
        states=states,
        total=sum(s.n for s in states),
        actions=actions,
        alerts=alerts,
        late=late,
    )


PAGES = [Page("/", "Tableau de bord", dashboard, order=0)]
