"""`/`: the dashboard. For now who is signed in, in which role, and how many cases that role
lets them see (the counsellor's real dashboard is its own slice of issue 14)."""

from __future__ import annotations

from starlette.responses import Response

from casework.accounts.scope import NAMED_CASES, count_visible
from casework.web.staff.page import Page, PageContext


def dashboard(ctx: PageContext) -> Response:
    named = ctx.user.role in NAMED_CASES
    with ctx.app.db.read() as conn:
        cases = count_visible(conn, ctx.user) if named else 0
    return ctx.render("dashboard.html.j2", cases=cases, named=named)


PAGES = [Page("/", "Tableau de bord", dashboard, order=0)]
