"""`casework report`: the programme report of a cohort, in HTML, PDF or XLSX."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from casework.cli.main import Context
from casework.french import os_error


@click.command("report")
@click.option(
    "--cohort",
    type=int,
    required=True,
    metavar="ANNÉE",
    help="La cohorte (l'année de la saison de signature).",
)
@click.option(
    "--year",
    type=int,
    metavar="ANNÉE",
    help="Seulement les contrats commencés cette année-là (défaut : toutes).",
)
@click.option(
    "--cutoff",
    metavar="AAAA-MM-JJ",
    help="Date d'arrêt des données : rien de daté après n'est compté (défaut : aujourd'hui).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf", "xlsx"]),
    default="html",
    show_default=True,
    help="Format du rapport.",
)
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    metavar="DOSSIER",
    help="Où écrire le rapport (un dossier, créé s'il manque).",
)
@click.pass_obj
def report(
    context: Context, cohort: int, year: int | None, cutoff: str | None, fmt: str, folder: Path
) -> None:
    """Écrit le rapport d'évaluation d'une cohorte : profil des jeunes, ruptures, délai avant
    la rupture, après une rupture, activité d'accompagnement, partenaires, bilans.

    \b
    Exemples :
      casework report --cohort 2026 --format pdf --out rapports
      casework report --cohort 2026 --year 2026 --cutoff 2027-06-30 --format xlsx --out rapports
    """
    from casework.evaluation.model import Scope
    from casework.evaluation.outputs import write
    from casework.evaluation.report import STEPS, build_report
    from casework.timers.calendar import PARIS

    app = context.app
    if cutoff is None:
        day = app.clock.now().astimezone(PARIS).date()
    else:
        try:
            day = date.fromisoformat(cutoff)
        except ValueError:
            raise click.BadParameter(
                f"« {cutoff} » n'est pas une date (AAAA-MM-JJ).", param_hint="--cutoff"
            ) from None
    scope = Scope(cohort=cohort, cutoff=day, year=year)
    with click.progressbar(length=STEPS + 1, label="Calcul des tableaux", file=None) as bar:
        computed = build_report(app, scope, progress=lambda: bar.update(1))
        try:
            path = write(computed, fmt, app.settings.paths.templates, folder)
        except OSError as error:
            raise click.ClickException(
                f"impossible d'écrire le rapport dans {folder} : {os_error(error, writing=True)}"
            ) from None
        bar.update(1)
    cases = "dossier" if computed.population < 2 else "dossiers"
    click.echo(
        f"Rapport écrit : {path} ({computed.population} {cases}, données arrêtées au "
        f"{day.strftime('%d/%m/%Y')})."
    )
