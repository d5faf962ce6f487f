"""`/dossiers/{case_id}`: one case, for whoever may see it (`accounts.scope`), else 404.

GET shows the case (`casework.web.staff.case_view`) and the actions a person may take now on
it and on its liaison sheets, as forms built from the workflow files' fields
(`casework.web.action_forms`, as the pages behind mail links). Each view is recorded in the
access log.

POST (one form of the page) fires its action through the engine (`Engine.fire_case` or
`fire_sheet`) with the version the page was shown at, in one transaction with the scope check;
then the page again (303), saying what was recorded. Nothing is written when:
- a value does not fit its field: the form again (422), the reason beside the field;
- a guard says no (a minor's consent without the guardian's agreement): the form again (422)
  with the guard's French reason;
- the case or the sheet changed since the page was shown (another person, a timer, a reply):
  the fresh page (409) saying so, what was typed kept in the form.

A referral's form asks for the need first (a GET: nothing written), then proposes the partners
that handle it, nearest first (`partners.proposals`), as `casework case propose` does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from starlette.responses import RedirectResponse, Response

from casework import wording
from casework.accounts.scope import NAMED_CASES, CaseNotFound
from casework.actors import Actor
from casework.engine.entities import CASE, LIAISON, RowReader
from casework.errors import InvalidTransitionData, TransitionRefused, VersionConflict
from casework.inbound.alerts import AlertDesk
from casework.labels import NEED_CATEGORY
from casework.models.tables import ALERTS, CASES, SHEETS
from casework.partners.proposals import propose_partners
from casework.web.action_forms import field_view, form_data, person_actions, typed
from casework.web.forms import PAGE_HEADERS
from casework.web.staff.case_view import read_case
from casework.web.staff.page import Page, PageContext

log = logging.getLogger("casework.staff")
MARK_ALERT_READ = "alerte_lue"  # the one form that is no transition: an alert marked read
CONFLICT = (
    "Le dossier a changé entre-temps (une autre personne, un minuteur ou une réponse). Rien "
    "n'a été enregistré : voici la page à jour. Vérifiez, puis validez à nouveau."
)


class _Closed(Exception):
    """The action is no longer open from where the row now is."""


@dataclass
class Problem:
    """What went wrong with the form posted, shown next to it."""

    form: str  # the form's id: "action-give_consent", "fiche-3-close"
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # by field name
    refusal: str | None = None
    conflict: bool = False


def case_page(ctx: PageContext) -> Response:
    case_id = int(ctx.params["case_id"])
    if ctx.request.method == "POST":
        return _post(ctx, case_id)
    return _show(ctx, case_id, notice=_notice(ctx, case_id))


# -- showing -----------------------------------------------------------------------------------


def _show(
    ctx: PageContext,
    case_id: int,
    status: int = 200,
    problem: Problem | None = None,
    notice: str | None = None,
) -> Response:
    # Read without SQLite's write lock (a page view must not queue behind another's), then
    # the view recorded, before answering.
    with ctx.app.db.read() as conn:
        ctx.case(conn, case_id)
        view = read_case(ctx.app, conn, case_id)
        view.show_timeline_page(ctx.page_number("historique"))
        need = _need(ctx, problem)
        actions = _case_forms(ctx, conn, case_id, need)
        sheet_forms = _sheet_forms(ctx, conn, [s["row"].id for s in view.sheets])
    with ctx.app.db.transaction() as conn:
        ctx.looked_at(conn, case_id)
    return ctx.render(
        "case.html.j2",
        status,
        case_id=case_id,
        view=view,
        name=view.identity[0][1],
        actions=actions,
        sheet_forms=sheet_forms,
        needs=list(NEED_CATEGORY.items()),
        need=need,
        problem=problem,
        notice=notice,
        conflict=CONFLICT,
    )


def _need(ctx: PageContext, problem: Problem | None) -> str | None:
    """The need a referral's partners are proposed for: the one chosen (`?besoin=`), or the one
    the refused form carried."""
    given = problem.values.get("need_category") if problem else None
    given = given or ctx.request.query_params.get("besoin")
    return given if isinstance(given, str) and given in NEED_CATEGORY else None


def _case_forms(
    ctx: PageContext, conn: Connection, case_id: int, need: str | None
) -> list[dict[str, Any]]:
    (row,) = RowReader(CASE, lock=False, join=True).read(conn, [case_id])
    return _forms(ctx, conn, row, "action", need)


def _sheet_forms(ctx: PageContext, conn: Connection, ids: list[int]) -> dict[int, list[Any]]:
    if not ids:
        return {}
    rows = RowReader(LIAISON, lock=False, join=True).read(conn, ids)
    return {row.id: _forms(ctx, conn, row, f"fiche-{row.id}", None) for row in rows}


def _forms(
    ctx: PageContext, conn: Connection, row: Any, prefix: str, need: str | None
) -> list[dict[str, Any]]:
    """The forms of what a person may do on `row` now; a referral's partners for `need`."""
    machine = ctx.app.workflows.machine(row.workflow_name, row.workflow_version)
    now = ctx.app.clock.now()
    forms = []
    for action in person_actions(machine.definition, machine, row, now):
        names = {f.name for f in action.fields}
        referral = {"partner_id", "need_category"} <= names
        shown = {
            "id": f"{prefix}-{action.trigger}",
            "trigger": action.trigger,
            "label": action.label,
            "version": row.version,
            "sheet": row.id if prefix != "action" else None,
            "fields": [field_view(f) for f in action.fields],
            "referral": referral,
            "partners": [],
            "need_label": NEED_CATEGORY.get(need or "", ""),
        }
        if referral and need is not None:
            shown["partners"] = [
                (p.partner_id, f"{p.name} ({p.why})") for p in propose_partners(conn, row.id, need)
            ]
        forms.append(shown)
    return forms


def _notice(ctx: PageContext, case_id: int) -> str | None:
    """After a POST went through: what was recorded (`?fait=TRIGGER`, `&fiche=N`)."""
    trigger = ctx.request.query_params.get("fait")
    if not trigger:
        return None
    if trigger == MARK_ALERT_READ:
        return "L'alerte est marquée comme lue."
    sheet = _number(ctx.request.query_params.get("fiche"))
    table = CASES if sheet is None else SHEETS
    mine = CASES.c.id == case_id if sheet is None else SHEETS.c.case_id == case_id
    with ctx.app.db.read() as conn:
        found = conn.execute(
            select(table.c.workflow_name, table.c.workflow_version).where(
                table.c.id == (case_id if sheet is None else sheet), mine
            )
        ).first()
    definition = ctx.app.workflows.find(*found) if found is not None else None
    if definition is None or trigger not in definition.triggers:
        return None  # never repeat what the address says
    said = f"Enregistré : {wording.action(definition, trigger)}."
    if "partner_id" in wording.fields_of(definition, trigger):
        said += " La fiche de liaison est créée en brouillon : envoyez-la au partenaire."
    return said


# -- acting --------------------------------------------------------------------------------------


def _post(ctx: PageContext, case_id: int) -> Response:
    form = ctx.form
    assert form is not None  # the core reads a POST's form before calling the page
    trigger = str(form.get("action", ""))
    if trigger == MARK_ALERT_READ:
        return _mark_alert_read(ctx, case_id, str(form.get("alerte", "")))
    sheet = _number(form.get("fiche"))
    form_id = f"fiche-{sheet}-{trigger}" if sheet is not None else f"action-{trigger}"
    expected = _number(form.get("version"))
    actor = Actor.person(ctx.user.login)
    try:
        with ctx.app.db.transaction() as conn:
            ctx.case(conn, case_id)
            row = _row(conn, case_id, sheet)
            if expected is None or row.version != expected:
                raise VersionConflict(
                    "case" if sheet is None else "liaison", row.id, expected or 0, row.version
                )
            machine = ctx.app.workflows.machine(row.workflow_name, row.workflow_version)
            now = ctx.app.clock.now()
            action = next(
                (
                    a
                    for a in person_actions(machine.definition, machine, row, now)
                    if a.trigger == trigger
                ),
                None,
            )
            if action is None:
                raise _Closed()
            data = form_data(action.fields, form)
            fire = ctx.app.engine.fire_case if sheet is None else ctx.app.engine.fire_sheet
            fire(row.id, trigger, actor, expected, conn=conn, **data)
    except InvalidTransitionData as error:
        problem = Problem(form_id, typed(form), errors={error.field: error.reason})
        return _show(ctx, case_id, 422, problem)
    except TransitionRefused as error:
        if error.reason != "guards":
            return _show(ctx, case_id, 409, Problem(form_id, typed(form), conflict=True))
        log.info("case %s %s by %s: a guard said no", case_id, trigger, ctx.user.login)
        why = error.detail or "les conditions de cette action ne sont pas remplies"
        refusal = why[:1].upper() + why[1:]
        return _show(ctx, case_id, 422, Problem(form_id, typed(form), refusal=refusal))
    except (VersionConflict, _Closed):
        return _show(ctx, case_id, 409, Problem(form_id, typed(form), conflict=True))
    log.info("case %s: %s by %s", case_id, trigger, ctx.user.login)
    done = f"/dossiers/{case_id}?fait={trigger}" + (f"&fiche={sheet}" if sheet else "")
    return RedirectResponse(f"{done}#resultat", status_code=303, headers=PAGE_HEADERS)


def _row(conn: Connection, case_id: int, sheet: int | None) -> Any:
    """The case, or its sheet `sheet` (another case's sheet is not found)."""
    if sheet is None:
        (row,) = RowReader(CASE, lock=False, join=True).read(conn, [case_id])
        return row
    rows = RowReader(LIAISON, lock=False, join=True).read(conn, [sheet])
    if not rows or rows[0].case_id != case_id:
        raise CaseNotFound(case_id)
    return rows[0]


def _mark_alert_read(ctx: PageContext, case_id: int, given: str) -> Response:
    alert = _number(given)
    with ctx.app.db.read() as conn:
        ctx.case(conn, case_id)
        found = conn.execute(
            select(ALERTS.c.id).where(ALERTS.c.id == (alert or 0), ALERTS.c.case_id == case_id)
        ).first()
    if found is None:
        raise CaseNotFound(case_id)  # an alert of another case: as if it did not exist
    AlertDesk(ctx.app).mark_seen(found.id, Actor.person(ctx.user.login))
    target = f"/dossiers/{case_id}?fait={MARK_ALERT_READ}#resultat"
    return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)


def _number(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


PAGES = [
    Page(
        "/dossiers/{case_id:int}",
        "Dossier",
        case_page,
        roles=NAMED_CASES,
        methods=("GET", "POST"),
        nav=False,
    ),
]
