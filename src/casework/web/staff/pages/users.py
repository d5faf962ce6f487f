"""`/utilisateurs`: the people who use casework. Every staff role reads the directory (name,
login, role, territory, whether active; never anything about passwords); an administrator also
sees addresses, a person's caseload and history, and edits, through the same functions as
`casework users add`, `update`, `deactivate --to`, `reactivate` (`casework.staff`), each in one
transaction with its event in the person's history. An administrator may also send a person
the mail with a link to choose a password (`accounts.reset`, as the forgotten-password page
does, within its limit per person), recorded in the history too.

The list is read a page at a time (twenty, active first, by login). A refusal (an address
already someone's, the last administrator, cases left without a successor…) shows beside its
form in French, with what was typed and nothing written (422); a POST from anyone but an
administrator gets 403.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, select
from starlette.responses import RedirectResponse, Response

from casework import wording
from casework.accounts.reset import request_reset
from casework.accounts.throttle import Throttle
from casework.actors import Actor
from casework.audit import record_event
from casework.labels import ROLE
from casework.models import Role
from casework.models.tables import USERS
from casework.models.user import REFERENT_ROLES
from casework.staff import (
    StaffRefused,
    add_user,
    caseload_by_state,
    deactivate,
    reactivate,
    update_user,
    user_events,
    user_row,
)
from casework.staff_history import happened
from casework.territory import TerritoryRefused, departements, shown_territory
from casework.text_limits import ADDRESS, LOGIN, NAME, REASON
from casework.web.forms import PAGE_HEADERS
from casework.web.staff import posted
from casework.web.staff.case_view import when
from casework.web.staff.page import Page, PageContext

log = logging.getLogger("casework.staff")
PATH = "/utilisateurs"
ROLES = [(r.value, ROLE[r]) for r in Role]
DONE = {
    "ajouter": "La personne est ajoutée. Envoyez-lui le lien pour choisir son mot de passe.",
    "modifier": "Les informations sont enregistrées.",
    "desactiver": "La personne est désactivée : elle ne peut plus se connecter ni agir, et les "
    "liens qu'elle avait reçus sont révoqués.",
    "reactiver": "La personne est réactivée.",
    "lien": "Le courriel avec le lien pour choisir un mot de passe est parti.",
}


class UserNotFound(Exception):
    """No user of that login (404)."""


def directory_page(ctx: PageContext) -> Response:
    if ctx.request.method == "POST":
        refused = _not_admin(ctx)
        if refused is not None:
            return refused
        return _act(ctx, "", "ajouter")
    return _list(ctx)


def _list(ctx: PageContext, status: int = 200, problem: posted.Problem | None = None) -> Response:
    page = ctx.page_number()
    query = (
        select(USERS.c.login, USERS.c.name, USERS.c.email, USERS.c.role)
        .add_columns(USERS.c.territory, USERS.c.active)
        .order_by(USERS.c.active.desc(), USERS.c.login)
        .limit(posted.PER_PAGE + 1)
        .offset((page - 1) * posted.PER_PAGE)
    )
    with ctx.app.db.read() as conn:
        rows = conn.execute(query).all()
    ctx.record_view()
    return ctx.render(
        "users.html.j2",
        status,
        people=[_person(r) for r in rows[: posted.PER_PAGE]],
        page=page,
        more=len(rows) > posted.PER_PAGE,
        admin=ctx.user.role == Role.ADMINISTRATOR,
        roles=ROLES,
        problem=problem,
        notice=DONE.get(ctx.request.query_params.get("fait", "")),
    )


def _person(r: Any) -> dict[str, Any]:
    return {
        "login": r.login,
        "href": f"{PATH}/{quote(r.login, safe='')}",
        "name": r.name,
        "email": r.email,
        "role": ROLE.get(r.role, r.role),
        "role_code": str(r.role),
        "territory": shown_territory(r.territory),
        "territory_codes": ", ".join(r.territory),
        "active": r.active,
    }


# -- one person ----------------------------------------------------------------------------------


def person_page(ctx: PageContext) -> Response:
    login = str(ctx.params["login"])
    try:
        if ctx.request.method != "POST":
            notice = DONE.get(ctx.request.query_params.get("fait", ""))
            return _show(ctx, login, notice=notice)
        refused = _not_admin(ctx)
        if refused is not None:
            return refused
        assert ctx.form is not None  # the core reads a POST's form before calling the page
        action = str(ctx.form.get("action", ""))
        if action not in DONE or action == "ajouter":
            raise UserNotFound(login)
        return _act(ctx, login, action)
    except UserNotFound:
        said = "Cette personne n'est pas un utilisateur de la plateforme."
        return ctx.pages.message(ctx.request, "Utilisateur introuvable", said, 404, user=ctx.user)


def _show(
    ctx: PageContext,
    login: str,
    status: int = 200,
    problem: posted.Problem | None = None,
    notice: str | None = None,
) -> Response:
    admin = ctx.user.role == Role.ADMINISTRATOR
    with ctx.app.db.read() as conn:
        user = _user(conn, login)
        load = caseload_by_state(conn, ctx.app.workflows, login) if admin else []
        history = user_events(conn, user.id) if admin else []
        successors = _successors(conn, login) if admin else []
    ctx.record_view()
    return ctx.render(
        "user.html.j2",
        status,
        u=_person(user),
        load=[(_state(ctx, r), r.n) for r in load],
        cases=sum(r.n for r in load),
        history=[
            (when(e.at), happened(e), e.actor if e.actor_kind == "person" else "")
            for e in reversed(history)
        ],
        successors=successors,
        admin=admin,
        roles=ROLES,
        mail_on=ctx.pages.signer is not None,
        problem=problem,
        notice=notice,
    )


def _state(ctx: PageContext, r: Any) -> str:
    return wording.state(ctx.app.workflows.find(r.workflow_name, r.workflow_version), r.state)


def _user(conn: Connection, login: str) -> Any:
    try:
        return user_row(conn, login)
    except StaffRefused:
        raise UserNotFound(login) from None


def _successors(conn: Connection, login: str) -> list[tuple[str, str]]:
    """Who may take a person's cases over: the other active counsellors and managers."""
    query = (
        select(USERS.c.login, USERS.c.name, USERS.c.role)
        .where(
            USERS.c.active.is_(True),
            USERS.c.role.in_(sorted(REFERENT_ROLES)),
            USERS.c.login != login,
        )
        .order_by(USERS.c.name, USERS.c.login)
    )
    return [
        (r.login, f"{r.name} ({r.login}, {ROLE.get(r.role, r.role)})") for r in conn.execute(query)
    ]


# -- acting --------------------------------------------------------------------------------------


def _not_admin(ctx: PageContext) -> Response | None:
    if ctx.user.role == Role.ADMINISTRATOR:
        return None
    said = "Seul un administrateur peut modifier les utilisateurs."
    return ctx.pages.message(ctx.request, "Accès refusé", said, 403, user=ctx.user)


def _act(ctx: PageContext, login: str, action: str) -> Response:
    """One administrator's change, in one transaction; the page again with the refusal."""
    form = ctx.form
    assert form is not None
    actor, now = Actor.person(ctx.user.login), ctx.app.clock.now()
    try:
        with ctx.app.db.transaction() as conn:
            if action == "ajouter":
                login = posted.text(form, "identifiant", LOGIN) or ""
                add_user(conn, login=login, **_identity(form), by=actor, now=now)
            else:
                _user(conn, login)
            if action == "modifier":
                changes = _identity(form)
                update_user(conn, ctx.app.workflows, login, changes, by=actor, now=now)
            elif action == "desactiver":
                successor = str(form.get("successeur", "")).strip() or None
                reason = posted.text(form, "motif", REASON) or ""
                deactivate(ctx.app, conn, login, successor=successor, reason=reason, by=actor)
            elif action == "reactiver":
                reason = posted.text(form, "motif", REASON, required=False) or ""
                reactivate(conn, login, reason=reason, by=actor, now=now)
            elif action == "lien":
                _send_link(ctx, conn, login, actor)
    except (posted.FieldRefused, StaffRefused) as error:
        problem = posted.Problem.of(action, form, error)
        if action == "ajouter":
            return _list(ctx, 422, problem)
        return _show(ctx, login, 422, problem)
    log.info("user %s: %s by %s", login, action, ctx.user.login)
    target = f"{PATH}/{quote(login, safe='')}?fait={action}#resultat"
    return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)


def _identity(form: Any) -> dict[str, Any]:
    """Name, address, role and territory as typed (every one required but the territory)."""
    role = str(form.get("role", ""))
    if role not in {r.value for r in Role}:
        raise posted.FieldRefused("role", "choisissez un rôle")
    try:
        territory = departements([str(form.get("territoire", ""))])
    except TerritoryRefused as refused:
        raise posted.FieldRefused("territoire", refused.french()) from None
    return {
        "name": posted.text(form, "nom", NAME),
        "email": posted.text(form, "courriel", ADDRESS),
        "role": Role(role),
        "territory": territory,
    }


def _send_link(ctx: PageContext, conn: Connection, login: str, actor: Actor) -> None:
    """The mail to choose a password, queued as the forgotten-password page queues it; its
    sending recorded in the person's history."""
    web = ctx.app.settings.web
    if ctx.pages.signer is None:
        raise StaffRefused("L'envoi de courriels n'est pas activé sur cette plateforme.")
    user = _user(conn, login)
    if not user.active:
        raise StaffRefused(f"« {login} » est désactivé(e) : réactivez ce compte d'abord.")
    now = ctx.pages.clock.now()
    valid_for = timedelta(minutes=web.reset_link_minutes)
    if not request_reset(conn, login, now, valid_for, Throttle.from_settings(web)):
        raise StaffRefused(
            f"Trop de liens demandés pour « {login} » ces {web.login_window_minutes} dernières "
            "minutes : attendez un peu avant d'en envoyer un autre."
        )
    record_event(conn, "user", user.id, "reset_mail", actor, now, {})


PAGES = [
    Page(PATH, "Utilisateurs", directory_page, methods=("GET", "POST"), order=80),
    Page(PATH + "/{login}", "Utilisateur", person_page, methods=("GET", "POST"), nav=False),
]
