"""`/mot-de-passe-oublie` (ask for a link by mail) and `/mot-de-passe/{token}` (choose a new
password with it), see `casework.accounts.reset`.

Asking always answers the same page, whether the login or address names someone or not. The
link's page checks the token on GET (nothing is written: mail scanners open links) and sets
the password on POST, once, ending every session of the person. A password the rule refuses,
or two that differ, show the form again with the reason tied to the field.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from casework.accounts.passwords import PasswordRefused, check_new_password, hash_password
from casework.accounts.reset import ResetRefused, ResetTokens, request_reset
from casework.accounts.throttle import Throttle
from casework.web import forms

if TYPE_CHECKING:
    from casework.web.staff.app import StaffPages

log = logging.getLogger("casework.staff")


def routes(pages: StaffPages) -> list[Route]:
    web = pages.app.settings.web
    tokens = ResetTokens(pages.signer.keys) if pages.signer is not None else None

    async def forgot(request: Request) -> Response:
        if tokens is None:
            return pages.message(
                request,
                "Mot de passe oublié",
                "L'envoi de courriels n'est pas activé sur cette plateforme : demandez un "
                "nouveau mot de passe à un administrateur.",
                200,
            )
        if request.method != "POST":
            return pages.render(request, "forgot.html.j2", sent=False, minutes=None)
        try:
            form = await pages.checked_form(request)
        except forms.FormRefused as refused:
            return pages.message(request, refused.title, refused.message, refused.status)
        given = str(form.get("identifiant", ""))
        queued = await run_in_threadpool(_ask, pages, given)
        log.info("password reset asked (%s)", "mail queued" if queued else "nothing sent")
        return pages.render(request, "forgot.html.j2", sent=True, minutes=web.reset_link_minutes)

    async def reset(request: Request) -> Response:
        token = request.path_params["token"]
        if tokens is None:
            return _refused(pages, request)
        if request.method != "POST":
            try:
                await run_in_threadpool(_check, pages, tokens, token)
            except ResetRefused as refused:
                log.info("reset link refused: %s", refused.detail)
                return _refused(pages, request)
            return _form(pages, request, {})
        try:
            form = await pages.checked_form(request)
        except forms.FormRefused as refused:
            return pages.message(request, refused.title, refused.message, refused.status)
        password = str(form.get("mot_de_passe", ""))
        if password != str(form.get("confirmation", "")):
            return _form(
                pages, request, {"confirmation": "Les deux saisies ne sont pas identiques."}, 422
            )
        try:
            login = await run_in_threadpool(_set, pages, tokens, token, password)
        except ResetRefused as refused:
            log.info("reset link refused: %s", refused.detail)
            return _refused(pages, request)
        except PasswordRefused as refused:
            return _form(pages, request, {"mot_de_passe": refused.french()}, 422)
        log.info("%s chose a new password by a reset link", login)
        return pages.render(request, "password_set.html.j2")

    return [
        Route("/mot-de-passe-oublie", forgot, methods=["GET", "HEAD", "POST"]),
        Route("/mot-de-passe/{token}", reset, methods=["GET", "HEAD", "POST"]),
    ]


def _ask(pages: StaffPages, given: str) -> bool:
    app = pages.app
    valid_for = timedelta(minutes=app.settings.web.reset_link_minutes)
    throttle = Throttle.from_settings(app.settings.web)
    with app.db.transaction() as conn:
        return request_reset(conn, given, pages.clock.now(), valid_for, throttle)


def _check(pages: StaffPages, tokens: ResetTokens, token: str) -> None:
    with pages.app.db.read() as conn:
        tokens.check(conn, token, pages.clock.now())


def _set(pages: StaffPages, tokens: ResetTokens, token: str, password: str) -> str:
    app = pages.app
    with app.db.read() as conn:
        user = tokens.check(conn, token, pages.clock.now())
    check_new_password(
        password, login=user.login, name=user.name, min_length=app.settings.web.min_password_length
    )
    new_hash = hash_password(password)  # outside the transaction: it takes a while
    with app.db.transaction() as conn:
        return str(tokens.use(conn, token, new_hash, pages.clock.now()).login)


def _form(
    pages: StaffPages, request: Request, errors: dict[str, str], status: int = 200
) -> Response:
    return pages.render(
        request,
        "reset.html.j2",
        status,
        errors=errors,
        min_length=pages.app.settings.web.min_password_length,
    )


def _refused(pages: StaffPages, request: Request) -> Response:
    return pages.message(request, "Lien plus valable", ResetRefused("").french(), 410)
