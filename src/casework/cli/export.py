"""`casework export`: the evaluator's pseudonymised file of a cohort (`evaluation/export.py`)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from sqlalchemy import select

from casework.cli.main import Context, acting_person, as_option, printable
from casework.cli.reads import Reader
from casework.evaluation.export import MAY_EXPORT, ExportRefused
from casework.evaluation.export_files import export_cohort
from casework.models.tables import USERS
from casework.privacy.access import TERMINAL
from casework.text_limits import french_number


@click.command("export")
@click.option("--cohort", type=int, required=True, metavar="ANNÉE", help="La cohorte exportée.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FICHIER",
    help="Le fichier écrit : .xlsx (avec une feuille Dictionnaire) ou .csv (avec "
    "FICHIER.dictionary.csv à côté).",
)
@as_option("Qui exporte (un évaluateur ou un administrateur)")
@click.pass_obj
def export(context: Context, cohort: int, out: Path, login: str | None) -> None:
    """Exporte une cohorte pour l'évaluation : une ligne par dossier, pseudonymisée.

    Ni nom, ni coordonnées, ni date de naissance, ni texte libre : l'âge au début du contrat,
    le département, les dates du contrat, les états et leurs durées, les contacts et le temps
    par phase, les fiches de liaison par besoin, les bilans. La clé de chaque ligne est un
    pseudonyme stable (HMAC-SHA256 avec la clé [evaluation] pseudonym_key, gardée hors de la
    base) ; sans clé, rien n'est exporté. Chaque export est inscrit au journal.

    \b
    Exemples :
      casework export --cohort 2026 --out evaluation-2026.xlsx --as evaluatrice
      casework export --cohort 2026 --out evaluation-2026.csv
    """
    app = context.app
    actor = acting_person(app, login)
    with app.db.read() as conn:
        role = conn.execute(select(USERS.c.role).where(USERS.c.login == actor.id)).scalar_one()
    if role not in MAY_EXPORT:
        raise click.ClickException(
            f"« {printable(actor.id)} » n'est ni évaluateur(trice) ni administrateur(trice) : "
            "l'export leur est réservé."
        )
    with contextlib.ExitStack() as stack:
        bars: list[click.progressbar[int]] = []

        def start(total: int) -> None:
            bars.append(stack.enter_context(click.progressbar(length=total, label="Export")))

        try:
            report = export_cohort(
                app, cohort, out, actor, progress=lambda n: bars[0].update(n), length=start
            )
        except ExportRefused as refused:
            raise click.ClickException(refused.french()) from None
    # Pseudonymised, but still about people: a read of the cohort, recorded as who exported it
    # (the command line names the cohort and the file).
    Reader(app, actor.id, TERMINAL).saw()
    beside = (
        f" ; dictionnaire des colonnes : {printable(report.dictionary)}"
        if report.dictionary is not None
        else " (dictionnaire des colonnes : feuille « Dictionnaire »)"
    )
    click.echo(
        f"Cohorte {cohort} : {french_number(report.rows)} dossier"
        f"{'s' if report.rows > 1 else ''} exporté{'s' if report.rows > 1 else ''} dans "
        f"{printable(report.path)}{beside}. Export inscrit au journal."
    )
