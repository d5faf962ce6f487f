"""`/partenaires`: the partner directory, for every staff role, as `casework partners list` and
`partners show` give it; its edits for administrators only, through the same functions as
`casework partners add-contact`, `deactivate`, `reactivate` and `reachable`
(`casework.partners.directory`), each in one transaction with its event in the partner's
history (`partners.audit`).

The list: active partners (`?tous=1`: the deactivated too), filtered by need (`?besoin=`, a
need's code) and by département (`?departement=`: one it covers, or a postcode in it), twenty
a page. The directory is a small table (a few hundred partners for a national deployment):
read whole and filtered here, as `partners list` does, the same on both databases; only the
contacts of the page shown are read. A partner's page: everything the directory knows, its
sheets under way and its history. Both are in the access log (contacts are people).

A POST from anyone but an administrator gets 403; a value that does not fit its field, or an
unknown partner, shows beside its form with nothing written (422, 404).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from casework.actors import Actor
from casework.intake.fields import Invalid
from casework.labels import CONTACT_ROLE, NEED_CATEGORY
from casework.models import Role
from casework.partners import described
from casework.partners.audit import happened, partner_events
from casework.partners.directory import (
    PartnerNotFound,
    add_contact,
    contacts_of,
    find_partner,
    list_partners,
    mark_reachable,
    open_sheets,
    set_active,
)
from casework.partners.reading import ContactEntry
from casework.partners.vocabulary import parse_email, parse_phone, parse_role
from casework.territory import TerritoryRefused, departements
from casework.text_limits import NAME
from casework.web.forms import PAGE_HEADERS
from casework.web.staff import posted
from casework.web.staff.case_view import when
from casework.web.staff.page import Page, PageContext

log = logging.getLogger("casework.staff")
PATH = "/partenaires"
DONE = {
    "contact": "Le contact est enregistré.",
    "desactiver": "Le partenaire est désactivé : il n'est plus proposé et ne reçoit plus de "
    "fiches ; ses fiches en cours continuent, relances comprises.",
    "reactiver": "Le partenaire est de nouveau proposé et reçoit des fiches.",
    "joignable": "L'adresse est de nouveau joignable : elle reçoit les fiches et les relances.",
}


def directory_page(ctx: PageContext) -> Response:
    query = ctx.request.query_params
    need = query.get("besoin") or None
    need = need if need in NEED_CATEGORY else None
    departement = _departement(query.get("departement", ""))
    everyone = query.get("tous") == "1"
    page = ctx.page_number()
    with ctx.app.db.read() as conn:
        rows = [p for p in list_partners(conn, need, everyone) if _covers(p, departement)]
        shown = rows[(page - 1) * posted.PER_PAGE : page * posted.PER_PAGE]
        contacts = contacts_of(conn, [p.id for p in shown])
    ctx.record_view()
    kept = {"besoin": need, "departement": departement, "tous": "1" if everyone else None}
    filters = urlencode({k: v for k, v in kept.items() if v})  # the pages' links keep them
    return ctx.render(
        "partners.html.j2",
        partners=[_summary(p, contacts[p.id]) for p in shown],
        needs=list(NEED_CATEGORY.items()),
        need=need or "",
        departement=departement,
        everyone=everyone,
        page=page,
        more=len(rows) > page * posted.PER_PAGE,
        filters=filters + "&" if filters else "",
    )


def _departement(given: str) -> str:
    """A département's code as `casework.territory` reads it; anything else is no filter."""
    try:
        found = departements([given]) if given.strip() else []
    except TerritoryRefused:
        return ""
    return found[0] if len(found) == 1 else ""


def _covers(p: Any, departement: str) -> bool:
    if not departement:
        return True
    return departement in p.departements or any(
        c.startswith(departement) for c in p.postcodes if departement.isdigit()
    )


def _summary(p: Any, contacts: list[Any]) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": described.named(p.name, p.kind),
        "active": p.active,
        "needs": described.needs(p.need_categories),
        "territory": described.territory(p),
        "deadlines": described.deadlines(p),
        "contacts": [_contact(c) for c in contacts],
    }


def _contact(c: Any) -> dict[str, Any]:
    return {
        "role": CONTACT_ROLE.get(c.role, c.role),
        "name": c.name,
        "email": c.email,
        "phone": c.phone,
        "unreachable": c.unreachable,
    }


# -- one partner ---------------------------------------------------------------------------------


def partner_page(ctx: PageContext) -> Response:
    partner_id = int(ctx.params["partner_id"])
    try:
        if ctx.request.method == "POST":
            return _post(ctx, partner_id)
        return _show(ctx, partner_id, notice=DONE.get(ctx.request.query_params.get("fait", "")))
    except PartnerNotFound:
        said = "Ce partenaire n'existe pas."
        return ctx.pages.message(ctx.request, "Partenaire introuvable", said, 404, user=ctx.user)


def _show(
    ctx: PageContext,
    partner_id: int,
    status: int = 200,
    problem: posted.Problem | None = None,
    notice: str | None = None,
) -> Response:
    definition = ctx.app.workflows.latest("liaison").definition
    finals = {s.name for s in definition.states.values() if s.final}
    with ctx.app.db.read() as conn:
        p = find_partner(conn, str(partner_id))
        contacts = contacts_of(conn, [p.id])[p.id]
        sheets = open_sheets(conn, p.id, finals)
        history = partner_events(conn, p.id)
    ctx.record_view()
    ids = [f"SIRET {p.siret}" if p.siret else "", f"UAI {p.uai}" if p.uai else ""]
    return ctx.render(
        "partner.html.j2",
        status,
        p={
            **_summary(p, contacts),
            "ids": ", ".join(i for i in ids if i) or "—",
            "sheets": sheets,
            "deactivated": (when(p.deactivated_at), p.deactivated_by) if not p.active else None,
        },
        history=[
            (when(e.at), happened(e), e.actor if e.actor_kind == "person" else "")
            for e in reversed(history)
        ],
        admin=ctx.user.role == Role.ADMINISTRATOR,
        unreachable=[(c.email, c.email) for c in contacts if c.unreachable],
        problem=problem,
        notice=notice,
    )


def _post(ctx: PageContext, partner_id: int) -> Response:
    if ctx.user.role != Role.ADMINISTRATOR:
        said = "Seul un administrateur peut modifier l'annuaire des partenaires."
        return ctx.pages.message(ctx.request, "Accès refusé", said, 403, user=ctx.user)
    form = ctx.form
    assert form is not None  # the core reads a POST's form before calling the page
    action = str(form.get("action", ""))
    if action not in DONE:
        raise PartnerNotFound(str(partner_id))
    actor, now = Actor.person(ctx.user.login), ctx.app.clock.now()
    try:
        with ctx.app.db.transaction() as conn:
            partner = find_partner(conn, str(partner_id))
            if action == "contact":
                add_contact(conn, partner, _contact_entry(form), now, actor)
            elif action == "joignable":
                email = _parsed(form, "courriel", parse_email) or ""
                known = {c.email for c in contacts_of(conn, [partner.id])[partner.id]}
                if email not in known:
                    raise posted.FieldRefused(
                        "courriel", "ce n'est pas un contact de ce partenaire"
                    )
                mark_reachable(conn, email, actor, now)
            elif partner.active != (action == "reactiver"):
                set_active(conn, partner, action == "reactiver", actor, now)
    except posted.FieldRefused as error:
        return _show(ctx, partner_id, 422, posted.Problem.of(action, form, error))
    log.info("partner %s: %s by %s", partner_id, action, ctx.user.login)
    target = f"{PATH}/{partner_id}?fait={action}#resultat"
    return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)


def _contact_entry(form: Any) -> ContactEntry:
    email = _parsed(form, "courriel", parse_email)
    name = posted.text(form, "nom", NAME, required=False)
    phone = _parsed(form, "telephone", parse_phone, required=False)
    role = _parsed(form, "role", parse_role) or "contact"
    return ContactEntry(0, email or "", name, phone, role)


def _parsed(form: Any, name: str, parse: Any, required: bool = True) -> str | None:
    """A field read as a partner file's cell is (`partners.vocabulary`), refused in French."""
    given = str(form.get(name, "")).strip()
    if not given:
        if required:
            raise posted.FieldRefused(name, "à remplir")
        return None
    try:
        return str(parse(given))
    except Invalid as error:
        raise posted.FieldRefused(name, str(error)) from None


PAGES = [
    Page(PATH, "Partenaires", directory_page, order=70),
    Page(
        PATH + "/{partner_id:int}",
        "Partenaire",
        partner_page,
        methods=("GET", "POST"),
        nav=False,
    ),
]
