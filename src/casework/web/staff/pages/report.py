"""`/rapport`: the evaluation's files from the browser, for managers, evaluators and
administrators (counsellors get 403).

- GET `/rapport`: the cohorts (cases per group), a form for the programme report (HTML, PDF or
  XLSX; the data cut-off, today by default; one entry year or all) and, for evaluators and
  administrators, one for the pseudonymised export (XLSX, or CSV with its dictionary in a ZIP);
  without a pseudonym key the page says the export cannot be made.
- POST `/rapport/rapport`, POST `/rapport/export`: the file, computed by the same functions as
  `casework report` (`build_report`, `outputs.write`) and `casework export` (`export_cohort`,
  which records the export in the audit log), written into a temporary folder, streamed back
  as an attachment and removed once sent (or at once if anything fails). Each download is in
  the access log (who, which download, when). A refusal re-shows the page with its reason.

POSTs because a download is recorded: CSRF-checked like every form of these pages.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from casework.actors import Actor
from casework.evaluation.export import MAY_EXPORT, ExportRefused
from casework.evaluation.export_files import export_cohort
from casework.evaluation.model import Scope
from casework.evaluation.outputs import write
from casework.evaluation.report import build_report
from casework.labels import GROUP
from casework.models import Role
from casework.models.tables import CASES
from casework.timers.calendar import PARIS
from casework.web.forms import PAGE_HEADERS
from casework.web.staff.page import Page, PageContext

PATH = "/rapport"
READERS = frozenset({Role.MANAGER, Role.EVALUATOR, Role.ADMINISTRATOR})
REPORT_FORMATS = {"pdf": "PDF", "html": "Page HTML", "xlsx": "Classeur XLSX"}
EXPORT_FORMATS = {
    "xlsx": "Classeur XLSX (feuille Dictionnaire)",
    "csv": "CSV et son dictionnaire (ZIP)",
}
MEDIA = {
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".zip": "application/zip",
}


NO_KEY = (
    "Rien n'a été exporté : aucune clé de pseudonymisation n'est réglée sur le serveur, et sans "
    "elle aucun export n'est fait."
)


def report_page(ctx: PageContext, status: int = 200, **shown: Any) -> Response:
    with ctx.app.db.read() as conn:
        counts = conn.execute(
            select(CASES.c.cohort, CASES.c.group, func.count())
            .group_by(CASES.c.cohort, CASES.c.group)
            .order_by(CASES.c.cohort.desc())
        ).all()
    cohorts: dict[int, dict[str, int]] = {}
    for cohort, group, n in counts:
        cohorts.setdefault(int(cohort), {g: 0 for g in GROUP})[str(group)] = int(n)
    return ctx.render(
        "report.html.j2",
        status,
        cohorts=[
            (c, by["test"], by["control"], by["test"] + by["control"]) for c, by in cohorts.items()
        ],
        report_formats=list(REPORT_FORMATS.items()),
        export_formats=list(EXPORT_FORMATS.items()),
        may_export=ctx.user.role in MAY_EXPORT,
        has_key=bool(ctx.app.settings.evaluation.pseudonym_key),
        today=_today(ctx).isoformat(),
        errors=shown.get("errors", {}),
        form=shown.get("form", ""),
        chosen=shown.get("chosen", {}),
    )


def download_report(ctx: PageContext) -> Response:
    values, errors, cohort, fmt = _asked(ctx, REPORT_FORMATS, "Choisissez le format du rapport.")
    cutoff = _today(ctx)
    if values.get("arret"):
        try:
            cutoff = date.fromisoformat(values["arret"])
        except ValueError:
            errors["arret"] = "La date d'arrêt doit être une date (jour, mois, année)."
    year = None
    if values.get("annee"):
        given = values["annee"]
        if not (given.isascii() and given.isdigit() and len(given) == 4):
            errors["annee"] = (
                "L'année d'entrée s'écrit en quatre chiffres (2026), ou se laisse vide."
            )
        else:
            year = int(given)
    if errors or cohort is None:
        return report_page(ctx, 422, errors=errors, form="rapport", chosen=values)
    folder = Path(tempfile.mkdtemp(prefix="casework-rapport-"))
    try:
        computed = build_report(ctx.app, Scope(cohort=cohort, cutoff=cutoff, year=year))
        path = write(computed, fmt, ctx.app.settings.paths.templates, folder)
        _logged(ctx)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return _sent(path, folder)


def download_export(ctx: PageContext) -> Response:
    values, errors, cohort, fmt = _asked(ctx, EXPORT_FORMATS, "Choisissez le format de l'export.")
    if not ctx.app.settings.evaluation.pseudonym_key:
        errors["refus"] = NO_KEY
    if errors or cohort is None:
        return report_page(ctx, 422, errors=errors, form="export", chosen=values)
    folder = Path(tempfile.mkdtemp(prefix="casework-export-"))
    try:
        done = export_cohort(
            ctx.app, cohort, folder / f"evaluation-{cohort}.{fmt}", Actor.person(ctx.user.login)
        )
        path = done.path
        if done.dictionary is not None:  # a CSV and its dictionary travel together
            path = folder / f"evaluation-{cohort}.zip"
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as both:
                both.write(done.path, done.path.name)
                both.write(done.dictionary, done.dictionary.name)
        _logged(ctx)
    except ExportRefused as refused:
        shutil.rmtree(folder, ignore_errors=True)
        errors["refus"] = f"Rien n'a été exporté : {refused.french()}."
        return report_page(ctx, 422, errors=errors, form="export", chosen=values)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return _sent(path, folder)


def _asked(
    ctx: PageContext, formats: dict[str, str], no_format: str
) -> tuple[dict[str, str], dict[str, str], int | None, str]:
    """The form's values, the reasons to refuse so far, the cohort (None: refused), the
    format."""
    assert ctx.form is not None  # the core reads a POST's form before calling the page
    fields = ("cohorte", "format", "arret", "annee")
    values = {k: str(ctx.form.get(k, "")).strip() for k in fields}
    errors: dict[str, str] = {}
    cohort = _cohort(ctx, values["cohorte"], errors)
    if values["format"] not in formats:
        errors["format"] = no_format
    return values, errors, cohort, values["format"]


def _cohort(ctx: PageContext, given: str, errors: dict[str, str]) -> int | None:
    """A cohort that has cases, or None with the reason in `errors`."""
    if given.isascii() and given.isdigit() and len(given) == 4:
        with ctx.app.db.read() as conn:
            found = conn.execute(
                select(CASES.c.id).where(CASES.c.cohort == int(given)).limit(1)
            ).first()
        if found is not None:
            return int(given)
    errors["cohorte"] = "Choisissez une cohorte de la liste."
    return None


def _today(ctx: PageContext) -> date:
    return ctx.app.clock.now().astimezone(PARIS).date()


def _logged(ctx: PageContext) -> None:
    with ctx.app.db.transaction() as conn:
        ctx.looked_at(conn)


def _sent(path: Path, folder: Path) -> Response:
    """The file as an attachment; its folder removed once the answer is sent."""
    return FileResponse(
        path,
        media_type=MEDIA[path.suffix],
        filename=path.name,
        headers=PAGE_HEADERS,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


PAGES = [
    Page(PATH, "Rapport d'évaluation", report_page, roles=READERS, order=90),
    Page(f"{PATH}/rapport", "Rapport d'évaluation", download_report, roles=READERS,
         methods=("POST",), nav=False),
    Page(f"{PATH}/export", "Export pour l'évaluation", download_export,
         roles=frozenset(MAY_EXPORT), methods=("POST",), nav=False),
]  # fmt: skip
