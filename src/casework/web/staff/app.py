"""The staff pages' core: sessions, roles, CSRF, headers, the layout, and the pages found in
`casework.web.staff.pages`.

Every request of a page: the session cookie is looked up (`accounts.sessions`); none or an
ended one sends a GET to the login page (with the page to come back to) and refuses a POST;
a role the page does not list gets 403; a POST's form is read only after its CSRF cookie and
Origin are checked, within `service.max_form_bytes` (`web.forms`; a page that takes a file:
within `[intake] max_file_bytes` more), then its CSRF value is compared; then the handler runs
in the thread pool. Every answer carries the link pages' headers (no cache, no frame, no
script, no Referer). A case outside the person's scope is a 404
page, the same as a case that does not exist.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from casework.accounts.scope import CaseNotFound
from casework.accounts.sessions import SessionRules, session_user
from casework.app import App
from casework.clock import Clock
from casework.labels import ROLE
from casework.notify.links import LinkSigner
from casework.web import forms
from casework.web.staff import pages as pages_package
from casework.web.staff.page import Page, PageContext
from casework.web.staff.security import CSRF_COOKIE, SESSION_COOKIE, RequestFacts

log = logging.getLogger("casework.staff")
# The link pages' headers (their Referrer-Policy lets a browser send our Origin on our forms).
HEADERS = forms.PAGE_HEADERS
LOGIN_PATH = "/connexion"


def discover_pages() -> list[Page]:
    """Every `PAGES` of the modules of `casework.web.staff.pages`, in nav order."""
    found: list[Page] = []
    for info in pkgutil.iter_modules(pages_package.__path__):
        module = importlib.import_module(f"{pages_package.__name__}.{info.name}")
        found += getattr(module, "PAGES", [])
    return sorted(found, key=lambda p: (p.order, p.path))


class StaffPages:
    def __init__(self, app: App, signer: LinkSigner | None = None, clock: Clock | None = None):
        self.app = app
        # Sessions, throttling and reset links run on real time, even when the service's clock
        # is the demo's fast one (`Service.wall`); the tests' fixed clock otherwise.
        self.clock = clock or app.clock
        self.signer = signer  # signs password-reset links; None: mail is off, no resets
        self.facts = RequestFacts(app.settings.web)
        self.rules = SessionRules.from_settings(app.settings.web)
        self.max_form_bytes = app.settings.service.max_form_bytes
        self.pages = discover_pages()
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(Path(app.settings.paths.templates) / "web"),
            undefined=jinja2.StrictUndefined,
            autoescape=True,
        )

    def routes(self) -> list[Route]:
        from casework.web.staff import login, password_reset  # the pages before signing in

        routes = login.routes(self) + password_reset.routes(self)
        for page in self.pages:
            routes.append(
                Route(page.path, self._endpoint(page), methods=list(page.methods), name=page.path)
            )
        return routes

    # -- rendering -------------------------------------------------------------------------------

    def render(
        self, request: Request, template: str, status: int = 200, user: Any = None, **values: Any
    ) -> Response:
        csrf = forms.csrf_value(request, CSRF_COOKIE)
        nav = [p for p in self.pages if p.nav and user is not None and user.role in p.roles]
        html = self.env.get_template(f"staff/{template}").render(
            user=user,
            role_label=ROLE.get(str(user.role), "") if user is not None else "",
            nav=nav,
            current=request.url.path,
            csrf=csrf,
            **values,
        )
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        forms.set_csrf_cookie(
            response, CSRF_COOKIE, csrf, path="/", secure=self.facts.secure(request)
        )
        return response

    def message(
        self, request: Request, title: str, text: str, status: int, user: Any = None
    ) -> Response:
        return self.render(request, "message.html.j2", status, user=user, title=title, text=text)

    # -- the session -----------------------------------------------------------------------------

    def current_user(self, request: Request) -> Any | None:
        """The signed-in user (in the thread pool: this reads the database)."""
        token = request.cookies.get(SESSION_COOKIE, "")
        return session_user(self.app.db, token, self.clock.now(), self.rules)

    def to_login(self, request: Request) -> Response:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = LOGIN_PATH if back == "/" else f"{LOGIN_PATH}?suite={quote(back, safe='/')}"
        return RedirectResponse(target, status_code=303, headers=HEADERS)

    async def checked_form(self, request: Request, upload: bool = False) -> Any:
        """The form of a POST from one of our pages (forms.FormRefused otherwise); `upload`:
        it may carry a file of at most `[intake] max_file_bytes`."""
        return await forms.read_checked_form(
            request,
            CSRF_COOKIE,
            self.facts.origin(request),
            self.max_form_bytes,
            reopen="la page",
            upload_bytes=self.app.settings.intake.max_file_bytes if upload else None,
        )

    # -- a page ----------------------------------------------------------------------------------

    def _endpoint(self, page: Page) -> Any:
        async def endpoint(request: Request) -> Response:
            user = await run_in_threadpool(self.current_user, request)
            if user is None:
                if request.method == "POST":
                    return self.message(
                        request,
                        "Session terminée",
                        "Votre session a pris fin. Connectez-vous à nouveau ; rien n'a été "
                        "enregistré.",
                        401,
                    )
                return self.to_login(request)
            if user.role not in page.roles:
                log.info("%s (%s) refused %s", user.login, user.role, page.path)
                return self.message(
                    request,
                    "Accès refusé",
                    "Votre rôle ne donne pas accès à cette page.",
                    403,
                    user=user,
                )
            form = None
            if request.method == "POST":
                try:
                    form = await self.checked_form(request, upload=page.upload)
                except forms.FormRefused as refused:
                    log.warning("staff POST refused (%s): %s", refused.status, refused.detail)
                    return self.message(
                        request, refused.title, refused.message, refused.status, user=user
                    )
            context = PageContext(request, user, self.app, self, page, form, request.path_params)
            try:
                return await run_in_threadpool(page.handler, context)
            except CaseNotFound as error:
                log.info("%s: %s", user.login, error)
                return self.message(request, "Dossier introuvable", error.french(), 404, user=user)
            finally:
                if form is not None and page.upload:
                    await form.close()  # the file Starlette spooled to a temporary file

        endpoint.__name__ = f"staff_{page.path}"
        return endpoint
