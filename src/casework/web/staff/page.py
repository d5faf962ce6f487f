"""A staff page as its module declares it (`Page`), and what its handler is given
(`PageContext`): the signed-in user, the database, the rendering of its template inside the
layout, the scope check of a case and the access log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from casework.accounts.access_log import record_access
from casework.accounts.scope import STAFF, check_case
from casework.models import Role

if TYPE_CHECKING:
    from casework.app import App
    from casework.web.staff.app import StaffPages


def page_number(given: str) -> int:
    """A list's page as the address or a form gives it, from 1; anything else is the first."""
    return max(1, int(given)) if given.isascii() and given.isdigit() and len(given) < 7 else 1


@dataclass(frozen=True)
class Page:
    """One route of the staff pages. `handler` runs in the thread pool (it may use the
    database); a POST's form is read, bounded and CSRF-checked before it is called."""

    path: str  # Starlette's pattern: "/dossiers/{case_id:int}"
    title: str  # French: the nav's entry and the page's <title>
    handler: Callable[[PageContext], Response]
    roles: frozenset[Role] = STAFF  # who may open it; others get 403 and never see it in the nav
    methods: tuple[str, ...] = ("GET",)
    nav: bool = True  # listed in the nav (a page about one case is not)
    order: int = 100  # place in the nav
    # Its POST may carry a file (multipart/form-data, at most `[intake] max_file_bytes`); the
    # handler gets it in `ctx.form`, and the core closes it after the handler.
    upload: bool = False


@dataclass
class PageContext:
    request: Request
    user: Any  # the `users` row of the person signed in
    app: App
    pages: StaffPages
    page: Page
    form: FormData | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str | None:
        return self.pages.facts.address(self.request)

    def page_number(self, name: str = "page") -> int:
        """A list's page from the query (`?page=`), from 1; anything else is the first page."""
        return page_number(self.request.query_params.get(name, "1"))

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        """`templates/web/staff/<template>` in the layout (user, nav, CSRF value for forms)."""
        return self.pages.render(self.request, template, status, user=self.user, **values)

    def case(self, conn: Connection, case_id: int) -> None:
        """Refuse (404 page, `scope.CaseNotFound`) a case this person may not see."""
        check_case(conn, self.user, case_id)

    def record_view(self, case_id: int | None = None) -> None:
        """`looked_at` in a short transaction of its own, after the page's reading: a page reads
        without the write lock (SQLite) and records before it answers."""
        with self.app.db.transaction() as conn:
            self.looked_at(conn, case_id)

    def looked_at(self, conn: Connection, case_id: int | None = None) -> None:
        """Record in the access log that this person saw this page (and case), in `conn`'s
        transaction: call it from every page that shows personal data."""
        record_access(
            conn,
            login=self.user.login,
            page=self.page.path,
            now=self.pages.clock.now(),
            case_id=case_id,
            address=self.address,
        )
