"""`/quarantaine`: the mail that came in and that nothing could attach, for a person to review,
as `casework inbound list`, `attach`, `alert` and `reject` do (`casework.inbound.review`).

Who sees what (`visible_mails`): an administrator every quarantined mail; a manager those tied
to no case and those tied to a case of their scope; a counsellor only those already tied to
one of their cases (a reply to one of their sheets from an unknown sender, say). An evaluator
gets 403. A mail out of sight answers 404, like one that does not exist.

Each mail is shown with why it was set aside (in French), its sender, subject and date, and a
preview of its text, escaped (a mail's HTML is never rendered: only the text taken from it).
Newest first, twenty a page, read through the `status` index.

Each action is one transaction: the person's scope checked on the mail and on the sheet or case
typed (a number out of scope is refused as one that does not exist), then the review's own
function, which fires the sheet's transition through the engine or raises the alert, and writes
on the mail who decided. A refusal shows beside its form with nothing written (422).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, or_, select, true
from starlette.responses import RedirectResponse, Response

from casework.accounts.scope import NAMED_CASES, CaseNotFound, visible_cases
from casework.actors import Actor
from casework.errors import CaseworkError
from casework.models import InboundStatus, Role
from casework.models.tables import CASES, INBOUND, SHEETS
from casework.text_limits import REASON
from casework.web.forms import PAGE_HEADERS
from casework.web.staff import posted
from casework.web.staff.case_view import when
from casework.web.staff.page import Page, PageContext

log = logging.getLogger("casework.staff")
PREVIEW_CHARS = 2_000
PATH = "/quarantaine"
# The forms of one mail, by the `action` they post.
ACTIONS = ("fiche", "alerte", "ecarter")


class MailNotFound(Exception):
    """A quarantined mail that does not exist, or that the person may not see (404)."""


def visible_mails(user: Any) -> ColumnElement[bool]:
    """A condition on `INBOUND` true for the mails `user` may review (see the module)."""
    role = Role(user.role)
    if role == Role.ADMINISTRATOR:
        return true()
    theirs = INBOUND.c.case_id.in_(select(CASES.c.id).where(visible_cases(user)))
    if role == Role.MANAGER:
        return or_(INBOUND.c.case_id.is_(None), theirs)
    return theirs


def quarantine_page(ctx: PageContext) -> Response:
    if ctx.request.method != "POST":
        return _show(ctx, notice=_notice(ctx))
    try:
        return _post(ctx)
    except MailNotFound:
        said = "Ce courriel n'existe pas, ou vous n'y avez pas accès."
        return ctx.pages.message(ctx.request, "Courriel introuvable", said, 404, user=ctx.user)


def _show(
    ctx: PageContext, status: int = 200, problem: posted.Problem | None = None, notice: str = ""
) -> Response:
    page = ctx.page_number()
    query = (
        select(
            INBOUND.c.id,
            INBOUND.c.received_at,
            INBOUND.c.sender,
            INBOUND.c.subject,
            INBOUND.c.reason,
            INBOUND.c.case_id,
            INBOUND.c.sheet_id,
            # Only the preview's length is read: a mail's text may be long.
            func.substr(INBOUND.c.text, 1, PREVIEW_CHARS + 1).label("text"),
        )
        .where(INBOUND.c.status == InboundStatus.QUARANTINED, visible_mails(ctx.user))
        .order_by(INBOUND.c.id.desc())
        .limit(posted.PER_PAGE + 1)  # one more than a page: whether there is a next one
        .offset((page - 1) * posted.PER_PAGE)
    )
    with ctx.app.db.read() as conn:
        rows = conn.execute(query).all()
    ctx.record_view()
    mails = [_shown(r) for r in rows[: posted.PER_PAGE]]
    # A refusal about a mail no longer listed (reviewed meanwhile in another tab) goes on top.
    shown_forms = {f"courriel-{m['id']}-{action}" for m in mails for action in ACTIONS}
    return ctx.render(
        "quarantine.html.j2",
        status,
        mails=mails,
        elsewhere=problem if problem is not None and problem.form not in shown_forms else None,
        page=page,
        more=len(rows) > posted.PER_PAGE,
        problem=problem,
        notice=notice,
    )


def _shown(r: Any) -> dict[str, Any]:
    text = r.text or ""
    return {
        "id": r.id,
        "received": when(r.received_at),
        "sender": r.sender or "expéditeur inconnu",
        "subject": r.subject or "(sans objet)",
        "reason": posted.sentence(reason_shown(r.reason)),
        "case_id": r.case_id,
        "sheet_id": r.sheet_id,
        "preview": text[:PREVIEW_CHARS] + (" […]" if len(text) > PREVIEW_CHARS else ""),
    }


def reason_shown(reason: str | None) -> str:
    """Why a mail was set aside, as people read it: the reasons that carry a program's words
    (an exception's name, a transition's code) said in French; the others as written."""
    if not reason:
        return "aucune raison enregistrée"
    if reason.startswith("erreur en le traitant"):
        return "une erreur a empêché de le traiter (le détail est dans le journal du service)"
    head, sep, _rest = reason.partition(" refusé : ")
    if sep and head.isidentifier():  # "acknowledge refusé : …", written by the reply path
        return "la réponse n'a pas pu être enregistrée sur sa fiche, qui avait changé"
    return reason


def _notice(ctx: PageContext) -> str:
    """After a review went through: what the mail now says was done (`?fait=N`)."""
    mail = posted.given_number(ctx.request.query_params.get("fait"))
    if mail is None:
        return ""
    with ctx.app.db.read() as conn:
        found = conn.execute(
            select(INBOUND.c.status, INBOUND.c.reason).where(
                INBOUND.c.id == mail, visible_mails(ctx.user)
            )
        ).first()
    if found is None or found.status == InboundStatus.QUARANTINED:
        return ""  # never repeat what the address says
    return posted.sentence(f"Courriel n° {mail} : {found.reason}")


# -- acting --------------------------------------------------------------------------------------


def _post(ctx: PageContext) -> Response:
    from casework.inbound.review import Review

    form = ctx.form
    assert form is not None  # the core reads a POST's form before calling the page
    mail = posted.given_number(form.get("courriel"))
    action = str(form.get("action", ""))
    if mail is None or action not in ACTIONS:
        raise MailNotFound(mail)
    review, actor = Review(ctx.app), Actor.person(ctx.user.login)
    try:
        with ctx.app.db.transaction() as conn:
            _check_mail(conn, ctx.user, mail)
            if action == "fiche":
                sheet = posted.number(form, "numero")
                _check_sheet(ctx, conn, sheet)
                review.attach(mail, sheet, actor, conn=conn)
            elif action == "alerte":
                case = posted.number(form, "numero")
                _check_case(ctx, conn, case)
                review.attach_alert(mail, case, actor, conn=conn)
            else:
                reason = posted.text(form, "motif", REASON)
                review.reject(mail, actor, reason or "", conn=conn)
    except (posted.FieldRefused, CaseworkError) as error:
        log.info("quarantine %s %s by %s refused: %s", mail, action, ctx.user.login, error)
        return _show(ctx, 422, posted.Problem.of(f"courriel-{mail}-{action}", form, error))
    log.info("quarantine %s: %s by %s", mail, action, ctx.user.login)
    return RedirectResponse(f"{PATH}?fait={mail}#resultat", status_code=303, headers=PAGE_HEADERS)


def _check_mail(conn: Connection, user: Any, mail: int) -> None:
    found = conn.execute(
        select(INBOUND.c.id).where(INBOUND.c.id == mail, visible_mails(user))
    ).first()
    if found is None:
        raise MailNotFound(mail)


def _check_sheet(ctx: PageContext, conn: Connection, sheet: int) -> None:
    """A sheet of a case in the person's scope; another is refused as if it did not exist."""
    case = conn.execute(select(SHEETS.c.case_id).where(SHEETS.c.id == sheet)).scalar()
    try:
        if case is None:
            raise CaseNotFound(case)
        ctx.case(conn, case)
    except CaseNotFound:
        raise posted.FieldRefused(
            "numero", f"fiche n° {sheet} introuvable, ou hors de votre périmètre"
        ) from None


def _check_case(ctx: PageContext, conn: Connection, case: int) -> None:
    try:
        ctx.case(conn, case)
    except CaseNotFound:
        raise posted.FieldRefused(
            "numero", f"dossier n° {case} introuvable, ou hors de votre périmètre"
        ) from None


PAGES = [
    Page(PATH, "Quarantaine", quarantine_page, roles=NAMED_CASES, methods=("GET", "POST"), order=60)
]
