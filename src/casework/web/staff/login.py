"""`/connexion` (GET: the form; POST: sign in) and `/deconnexion` (POST: sign out).

The login form is CSRF-checked like every form (its cookie is set by the GET), so that another
site cannot sign a browser in to an account of its choosing. A refusal shows the form again
with one message for a wrong login or password alike, tied to the password field; too many
failures show the throttling message (`accounts.signin`). After signing in, the browser goes
to the page it asked for (`suite`: a path of ours only) or to the dashboard.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from casework.accounts.sessions import end_session
from casework.accounts.signin import LoginRefused, sign_in
from casework.text_limits import LOGIN
from casework.web import forms
from casework.web.staff.security import SESSION_COOKIE

if TYPE_CHECKING:
    from casework.web.staff.app import StaffPages

HEADERS = forms.PAGE_HEADERS  # as app.HEADERS

log = logging.getLogger("casework.staff")


def routes(pages: StaffPages) -> list[Route]:
    async def login(request: Request) -> Response:
        if request.method != "POST":
            user = await run_in_threadpool(pages.current_user, request)
            if user is not None:  # signed in already
                return RedirectResponse(_next(request.query_params.get("suite")), 303, HEADERS)
            done = request.query_params.get("fin") == "1"
            return _form(pages, request, notice=done)
        try:
            form = await pages.checked_form(request)
        except forms.FormRefused as refused:
            return _form(pages, request, error=refused.message, status=refused.status)
        login_typed = str(form.get("identifiant", ""))[: LOGIN.max_length]
        password = str(form.get("mot_de_passe", ""))
        address = pages.facts.address(request)
        try:
            signed = await run_in_threadpool(
                sign_in, pages.app, login_typed, password, address, pages.clock.now()
            )
        except LoginRefused as refused:
            # The login typed is logged (it may be a mistyped password: never the password).
            log.info("login refused for %r from %s (%s)", login_typed[:40], address, refused)
            status = 429 if refused.throttled else 401
            return _form(pages, request, error=refused.french(), login=login_typed, status=status)
        log.info("%s signed in from %s", signed.user.login, address)
        response = RedirectResponse(_next(str(form.get("suite", ""))), 303, headers=HEADERS)
        pages.facts.set_session_cookie(request, response, signed.token)
        return response

    async def logout(request: Request) -> Response:
        try:
            await pages.checked_form(request)
        except forms.FormRefused as refused:
            return pages.message(request, refused.title, refused.message, refused.status)
        token = request.cookies.get(SESSION_COOKIE, "")
        if token:
            await run_in_threadpool(_end, pages, token)
        response = RedirectResponse("/connexion?fin=1", 303, headers=HEADERS)
        pages.facts.clear_session_cookie(request, response)
        return response

    return [
        Route("/connexion", login, methods=["GET", "HEAD", "POST"]),
        Route("/deconnexion", logout, methods=["POST"]),
    ]


def _end(pages: StaffPages, token: str) -> None:
    with pages.app.db.transaction() as conn:
        end_session(conn, token, pages.clock.now())


def _form(
    pages: StaffPages,
    request: Request,
    *,
    error: str | None = None,
    login: str = "",
    notice: bool = False,
    status: int = 200,
) -> Response:
    return pages.render(
        request,
        "login.html.j2",
        status,
        error=error,
        login=login,
        notice=notice,
        suite=_next(request.query_params.get("suite")),
    )


def _next(value: str | None) -> str:
    """A path of ours to go back to: never another site ("//evil.example", "https://…")."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]
