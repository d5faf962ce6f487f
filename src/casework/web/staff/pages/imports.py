"""`/imports`: importing the organisations' files from the browser, as `casework intake import`
does, for managers and administrators; others get 403.

- GET `/imports`: the form (the file, which organisation sent it, whether to set bad rows
  aside) and the history of imports (`intake_files`, the latest first, twenty a page).
- POST `/imports` (multipart, the file within `[intake] max_file_bytes`: 413 beyond, counted as
  it streams, `web.forms`): the file is kept on the server for this session
  (`casework.web.staff.uploads`), its dry run made (`import_run.dry_run`: nothing written), then
  303 to `/imports/envoi/{id}`, `id` being the upload's random id.
- GET `/imports/envoi/{id}`: the dry run: counts, every rejected row with its line, column and
  reason (fifty a page), the columns not read; a button to confirm, one to cancel.
- POST `/imports/envoi/{id}`: `action=confirmer` claims the upload (once: a second click finds
  nothing), imports it in one transaction (`import_run.run`), removes it, then 303 to the
  history saying what was imported; `action=annuler` removes it.
- GET `/imports/{n}`: the rows import n° n set aside, and why (`casework intake rejects n`).

The dry run and the rejected rows show young people's data: each view is in the access log.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from casework.accounts.scope import INTAKE_STAFF
from casework.actors import Actor
from casework.clock import format_local
from casework.errors import CaseworkError
from casework.models.tables import FILES, REJECTS
from casework.web.forms import PAGE_HEADERS, size_label
from casework.web.staff import import_run
from casework.web.staff.page import Page, PageContext
from casework.web.staff.uploads import Upload, UploadStore

log = logging.getLogger("casework.staff")
PATH = "/imports"
HISTORY_PAGE, PROBLEMS_PAGE = 20, 50
GONE = (
    "Ce fichier n'est plus en attente : il a déjà été importé ou annulé, ou il a expiré. "
    "Rien n'a été importé de plus. Voyez l'historique des imports, ou envoyez-le à nouveau."
)


def imports_page(ctx: PageContext) -> Response:
    if ctx.request.method == "POST":
        return _upload(ctx)
    return _history(ctx)


# -- the form and the history --------------------------------------------------------------------


def _history(
    ctx: PageContext, status: int = 200, errors: dict[str, str] | None = None, **chosen: Any
) -> Response:
    page = ctx.page_number()
    with ctx.app.db.read() as conn:
        rows = conn.execute(
            select(FILES)
            .order_by(FILES.c.id.desc())
            .limit(HISTORY_PAGE + 1)
            .offset((page - 1) * HISTORY_PAGE)
        ).all()
        notice = _notice(ctx, conn)
    return ctx.render(
        "imports.html.j2",
        status,
        sources=list(import_run.SOURCES.items()),
        imports=[_listed(r) for r in rows[:HISTORY_PAGE]],
        page=page,
        more=len(rows) > HISTORY_PAGE,
        errors=errors or {},
        chosen=chosen,
        notice=notice,
        max_size=size_label(ctx.app.settings.intake.max_file_bytes),
    )


def _listed(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "source": import_run.SOURCES.get(row.source, row.source).split(" (")[0],
        "at": format_local(row.imported_at),
        "by": import_run.imported_by(row.imported_by),
        "records": row.records,
        "created": row.created,
        "updated": row.updated,
        "rejected": row.rejected,
    }


def _notice(ctx: PageContext, conn: Any) -> str | None:
    """After a confirmation or a cancel: what happened, read from the database."""
    query = ctx.request.query_params
    if query.get("annule"):
        return "Import annulé : le fichier envoyé est supprimé, rien n'a été importé."
    number = _number(query.get("fait", ""))
    found = conn.execute(select(FILES).where(FILES.c.id == number)).first() if number else None
    if found is None:
        return None
    said = f"Import n° {found.id} de {found.name} : {_count(found.created, 'nouvelle ligne')}, "
    said += f"{_count(found.updated, 'ligne mise', 'lignes mises')} à jour"
    if found.rejected:
        said += f", {_count(found.rejected, 'ligne écartée')}"
    return said + "."


# -- sending a file: kept, and its dry run made ---------------------------------------------------


def _upload(ctx: PageContext) -> Response:
    form = ctx.form
    assert form is not None  # the core reads a POST's form before calling the page
    source, sent = str(form.get("organisation", "")), form.get("fichier")
    skip = form.get("ecarter") == "oui"
    errors = {}
    if source not in import_run.SOURCES:
        errors["organisation"] = "Choisissez l'organisation qui a envoyé le fichier."
    if not isinstance(sent, UploadFile) or not sent.filename or not sent.size:
        errors["fichier"] = "Choisissez le fichier à importer (CSV ou classeur XLSX)."
    if errors or not isinstance(sent, UploadFile):
        return _history(ctx, 422, errors, source=source, skip=skip)
    store = _store(ctx)
    now = ctx.pages.clock.now()
    upload = store.save(
        sent.file, sent.filename or "", ctx.user.session_id, ctx.user.login, now,
        {"source": source, "skip_invalid": skip},
    )  # fmt: skip
    summary = import_run.dry_run(ctx.app, upload.path, source, skip, _actor(ctx))
    store.update(upload, {**upload.details, "dry_run": summary})
    log.info("%s sent %s (%s) to import", ctx.user.login, upload.name, source)
    return RedirectResponse(f"{PATH}/envoi/{upload.id}", status_code=303, headers=PAGE_HEADERS)


# -- the dry run, confirmed or cancelled -----------------------------------------------------------


def upload_page(ctx: PageContext) -> Response:
    store = _store(ctx)
    upload = store.find(str(ctx.params["upload_id"]), ctx.user.session_id, ctx.pages.clock.now())
    if upload is None:  # a confirmation clicked twice is a conflict; a page asked for, gone
        status = 409 if ctx.request.method == "POST" else 404
        return ctx.pages.message(ctx.request, "Fichier introuvable", GONE, status, user=ctx.user)
    if ctx.request.method == "POST":
        assert ctx.form is not None
        if ctx.form.get("action") == "annuler":
            store.discard(upload)
            return _to_history("annule=1")
        return _confirm(ctx, store, upload)
    return _dry_run(ctx, upload)


def _dry_run(ctx: PageContext, upload: Upload, status: int = 200, refusal: str = "") -> Response:
    summary = upload.details["dry_run"]
    page = ctx.page_number()
    problems = summary.get("problems", [])
    start = (page - 1) * PROBLEMS_PAGE
    ctx.record_view()  # the rows' values: names, birth dates
    return ctx.render(
        "import_dry_run.html.j2",
        status,
        upload=upload,
        source=import_run.SOURCES[upload.details["source"]],
        skip=upload.details["skip_invalid"],
        summary=summary,
        problems=problems[start : start + PROBLEMS_PAGE],
        lines=len({p[0] for p in problems}),
        page=page,
        more=len(problems) > start + PROBLEMS_PAGE,
        refusal=refusal,
    )


def _confirm(ctx: PageContext, store: UploadStore, upload: Upload) -> Response:
    if "refused" in upload.details["dry_run"] or "already" in upload.details["dry_run"]:
        return _dry_run(ctx, upload, 409)  # nothing to confirm: the page says why
    taken = store.claim(upload)
    if taken is None:  # a second click, or another process, took it first
        return ctx.pages.message(ctx.request, "Fichier introuvable", GONE, 409, user=ctx.user)
    try:
        report = import_run.run(
            ctx.app, taken.path, taken.details["source"], taken.details["skip_invalid"],
            _actor(ctx),
        )  # fmt: skip
    except CaseworkError as error:
        log.warning("%s: import of %s refused: %s", ctx.user.login, taken.name, error)
        text = import_run.without_path(error.french(), taken.path)
        return ctx.pages.message(ctx.request, "Import refusé", text, 409, user=ctx.user)
    finally:
        store.discard(taken)
    number = report.file_id if report.already is None else report.already.id
    log.info("%s imported %s: import %s", ctx.user.login, taken.name, number)
    return _to_history(f"fait={number}")


# -- the rows an import set aside -----------------------------------------------------------------


def rejects_page(ctx: PageContext) -> Response:
    file_id = int(ctx.params["file_id"])
    page = ctx.page_number()
    with ctx.app.db.read() as conn:
        found = conn.execute(select(FILES).where(FILES.c.id == file_id)).first()
        if found is None:
            text = f"Aucun import n° {file_id}."
            return ctx.pages.message(ctx.request, "Import introuvable", text, 404, user=ctx.user)
        rows = conn.execute(
            select(REJECTS.c.line, REJECTS.c.reasons)
            .where(REJECTS.c.file_id == file_id)
            .order_by(REJECTS.c.line)
            .limit(PROBLEMS_PAGE + 1)
            .offset((page - 1) * PROBLEMS_PAGE)
        ).all()
        total = conn.execute(
            select(func.count()).select_from(REJECTS).where(REJECTS.c.file_id == file_id)
        ).scalar_one()
    ctx.record_view()
    return ctx.render(
        "import_rejects.html.j2",
        listed=_listed(found),
        rows=[(r.line, " ; ".join(r.reasons)) for r in rows[:PROBLEMS_PAGE]],
        total=total,
        page=page,
        more=len(rows) > PROBLEMS_PAGE,
    )


# -- small things ---------------------------------------------------------------------------------


def _store(ctx: PageContext) -> UploadStore:
    return UploadStore.from_settings(ctx.app.settings.web)


def _actor(ctx: PageContext) -> Actor:
    return Actor.person(ctx.user.login)


def _to_history(query: str) -> Response:
    return RedirectResponse(f"{PATH}?{query}#resultat", status_code=303, headers=PAGE_HEADERS)


def _count(n: int, one: str, many: str | None = None) -> str:
    """ "1 nouvelle ligne", "3 nouvelles lignes", "aucune nouvelle ligne"."""
    many = many or " ".join(w + "s" for w in one.split())
    return f"aucune {one}" if n == 0 else f"1 {one}" if n == 1 else f"{n} {many}"


def _number(given: str) -> int | None:
    return int(given) if given.isascii() and given.isdigit() and len(given) < 12 else None


PAGES = [
    Page(
        PATH,
        "Imports",
        imports_page,
        roles=INTAKE_STAFF,
        methods=("GET", "POST"),
        order=50,
        upload=True,
    ),
    Page(
        f"{PATH}/envoi/{{upload_id}}",
        "Import : simulation",
        upload_page,
        roles=INTAKE_STAFF,
        methods=("GET", "POST"),
        nav=False,
    ),
    Page(f"{PATH}/{{file_id:int}}", "Lignes écartées", rejects_page, roles=INTAKE_STAFF, nav=False),
]
