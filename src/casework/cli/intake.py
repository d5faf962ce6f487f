"""`casework intake …`: importing both organisations' files, cross-matching, review (assignment:
`intake_assign.py`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from casework.cli.main import Context, acting_person, as_option, printable
from casework.cli.reads import Reader, reader_option
from casework.clock import format_local
from casework.french import os_error

if TYPE_CHECKING:  # for the annotation only: the commands import the intake modules as they run
    from casework.intake.importer import ImportReport

SOURCES = {"cma": "contrats de la CMA", "ml": "jeunes suivis par la Mission Locale"}


@click.group("intake")
def intake() -> None:
    """Fichiers de la CMA et de la Mission Locale : import, rapprochement, groupes.

    \b
    Une saison, dans l'ordre :
      casework intake import cma contrats.csv
      casework intake import ml jeunes.xlsx
      casework intake match 2026
      casework intake review                  # les paires à examiner
      casework intake decide CMA-2026-0042 oui
      casework intake assign 2026 --dry-run   # qui est retenu, et pourquoi pas les autres
      casework intake assign 2026 --method parity

    Qui est retenu : la règle d'éligibilité de la cohorte ([intake.eligibility] de la
    configuration) ; une cohorte sur le seul fichier de la CMA n'a rien à rapprocher.
    """


@intake.command("import")
@click.argument("source", type=click.Choice(list(SOURCES)))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--profile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Profil TOML des colonnes (défaut : celui de la source, voir examples/profiles/).",
)
@click.option(
    "--skip-invalid", is_flag=True, help="Importer les bonnes lignes, écarter les autres."
)
@click.option(
    "--rejected",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Où écrire les lignes écartées (défaut : <fichier>.rejets.csv).",
)
@click.option("--dry-run", is_flag=True, help="Montrer ce qui changerait, sans rien écrire.")
@as_option("Qui importe")
@click.pass_obj
def import_file(
    context: Context,
    source: str,
    path: Path,
    profile: Path | None,
    skip_invalid: bool,
    rejected: Path | None,
    dry_run: bool,
    login: str | None,
) -> None:
    """Importe un fichier (CSV ou XLSX) : entier ou pas du tout, sauf --skip-invalid.

    Réimporter le même fichier ne change rien ; un fichier plus récent met à jour les lignes
    qu'il reprend (dates, employeur, CFA) et une date de rupture nouvelle enregistre la rupture
    du dossier, dans les deux groupes.
    """
    from casework.intake.importer import Importer, ImportRefused
    from casework.intake.profile import default_profile, load_profile
    from casework.intake.reading import check_file

    chosen = load_profile(profile) if profile else default_profile(source)
    if chosen.source != source:
        raise click.ClickException(f"le profil {profile} est pour la source {chosen.source}")
    checked = check_file(path, chosen, context.app.settings.intake)
    try:
        label = f"Import de {path.name}"
        with click.progressbar(length=len(checked.records), label=label) as bar:
            report = Importer(context.app).run(
                path,
                source,
                chosen,
                actor=acting_person(context.app, login),
                skip_invalid=skip_invalid,
                rejected_to=rejected,
                dry_run=dry_run,
                progress=bar.update,
                checked=checked,
            )
    except ImportRefused as refused:
        for problem in refused.problems[:50]:
            click.echo(f"  {problem}", err=True)
        if len(refused.problems) > 50:
            click.echo(f"  … et {len(refused.problems) - 50} autre(s)", err=True)
        raise click.ClickException(str(refused)) from None
    _echo_import(report, path, source, dry_run)


def _echo_import(report: ImportReport, path: Path, source: str, dry_run: bool) -> None:
    """What an import did (or would do), line by line: counts, changes, ruptures, rejects."""
    if report.already is not None:
        earlier = report.already
        when = format_local(earlier.imported_at)
        click.echo(f"{path.name} : déjà importé le {when} par {earlier.imported_by} (import "
                   f"n° {earlier.id}) ; rien ne change.")  # fmt: skip
        if earlier.rejected:
            click.echo(f"  {earlier.rejected} ligne(s) écartée(s) alors : casework intake "
                       f"rejects {earlier.id}")  # fmt: skip
        return
    prefix = "Simulation — " if dry_run else ""
    number = f", import n° {report.file_id}" if not dry_run else ""
    click.echo(
        f"{prefix}{path.name} ({report.described}, {SOURCES[source]}{number}) : "
        f"{len(report.created)} nouvelle(s) ligne(s), {len(report.updated)} mise(s) à jour, "
        f"{report.unchanged} inchangée(s)."
    )
    if report.incomplete:
        click.echo(
            f"  dont {report.incomplete} incomplète(s) (sans nom, prénom ou date de naissance), "
            "gardée(s) et rapprochée(s) sur ce qu'elles donnent"
        )
    if report.ignored:
        click.echo(f"  colonnes ignorées : {printable(', '.join(report.ignored))}")
    for key, fields in report.updated[:20]:
        click.echo(f"  {key} : {', '.join(fields)}")
    if report.contracts_updated:
        click.echo(f"  {report.contracts_updated} contrat(s) de dossiers mis à jour")
    for key, case_id, outcome in report.ruptures:
        click.echo(f"  rupture du contrat {key} (dossier n° {case_id}) : {outcome}")
    if report.rejected and dry_run:
        click.echo(f"  {report.rejected} ligne(s) seraient écartée(s)")
    elif report.rejected_file is not None:
        click.echo(
            f"  {report.rejected} ligne(s) écartée(s), écrite(s) dans {report.rejected_file}"
        )
    elif report.rejected:
        click.echo(
            f"  {report.rejected} ligne(s) écartée(s), gardée(s) avec l'import mais pas écrite(s) "
            f"({report.rejected_file_error}) : casework intake rejects {report.file_id} --csv "
            "FICHIER"
        )


@intake.command("rejects")
@click.argument("ref", metavar="IMPORT")
@click.option(
    "--csv",
    "to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Écrire les lignes écartées dans ce fichier CSV (comme <fichier>.rejets.csv).",
)
@reader_option
@click.pass_obj
def show_rejects(context: Context, ref: str, to: Path | None, reader_login: str | None) -> None:
    """Les lignes qu'un import a écartées (--skip-invalid), et pourquoi.

    IMPORT : le numéro de l'import (donné à l'import) ou le nom du fichier importé (son
    dernier import). Elles sont gardées avec l'import : un fichier de rejets perdu s'écrit à
    nouveau, même quand réimporter le fichier ne dit que « déjà importé ».

    \b
      casework intake rejects 3
      casework intake rejects contrats_cma.csv --csv /tmp/rejets.csv
    """
    from casework.intake import rejects

    reader = Reader.of(context, reader_login)
    with context.app.db.read() as conn:
        found = rejects.find(conn, ref)
        rows = rejects.load(conn, found.id)
    reader.saw()  # the rows' values (names, birth dates) are written with --csv
    when = format_local(found.imported_at)
    click.echo(
        f"{found.name} (import n° {found.id} du {when} par {found.imported_by}) : "
        f"{len(rows)} ligne(s) écartée(s)."
    )
    if to is not None:
        if found.header is None:
            raise click.ClickException("import antérieur à la conservation des rejets")
        try:
            rejects.write_csv(to, found.header, rows)
        except OSError as error:
            raise click.ClickException(
                f"{to} : écriture impossible ({os_error(error, writing=True)})"
            ) from None
        click.echo(f"  écrite(s) dans {to}")
        return
    for line, _cells, reasons in rows:
        click.echo(f"  ligne {line} : {' ; '.join(reasons)}")


@intake.command("match")
@click.argument("cohort", type=int)
@click.pass_obj
def match(context: Context, cohort: int) -> None:
    """Rapproche les deux listes pour une cohorte (saison de signature de l'année COHORTE)."""
    from casework.intake.matching import match as run

    report = run(context.app, cohort)
    if not report.needed:
        click.echo(
            f"Cohorte {cohort} : sa règle d'éligibilité ne demande que le fichier de la CMA ; "
            f"rien à rapprocher. Qui est retenu : casework intake assign {cohort} --dry-run"
        )
        return
    click.echo(
        f"Cohorte {cohort} : {report.contracts} contrat(s) de la saison, {report.young_people} "
        f"jeune(s) de la Mission Locale, {report.compared} paire(s) comparée(s).\n"
        f"  {report.matched} rapproché(s), {report.to_review} à examiner "
        "(casework intake review)."
    )


@intake.command("review")
@click.option("--limit", type=int, default=20, show_default=True)
@reader_option
@click.pass_obj
def review(context: Context, limit: int, reader_login: str | None) -> None:
    """Les paires à examiner, expliquées champ par champ, les plus probables d'abord."""
    from casework.intake.matching import shown_probability, waiting

    reader = Reader.of(context, reader_login)
    pairs = waiting(context.app, limit)
    reader.saw()
    if not pairs:
        click.echo("Aucune paire à examiner.")
    for proposal, cma, ml in pairs:
        click.echo(
            f"{proposal.cma_key} ↔ {proposal.ml_key}  "
            f"(probabilité {shown_probability(proposal.probability)})"
        )
        click.echo(f"  CMA : {_person(cma)}")
        click.echo(f"  ML  : {_person(ml)}")
        for line in proposal.explanation:
            click.echo(f"    {line}")
        click.echo(f"  → casework intake decide {proposal.cma_key} oui|non\n")


def _person(row: dict) -> str:
    """ "MARTIN Léa, née le 04/05/2008, 53000 Laval": what the row gives, what it lacks said
    once, and no separator left dangling."""
    name = " ".join(
        (row.get("birth_name") or "(nom inconnu)", row.get("first_names") or "(prénom inconnu)")
    )
    born = row.get("birth_date")
    said = {"F": "née", "M": "né"}.get(row.get("sex") or "", "né(e)")
    birth = (
        f"{said} le {date.fromisoformat(born).strftime('%d/%m/%Y')}"
        if born
        else "date de naissance inconnue"
    )
    place = " ".join(filter(None, (row.get("postcode"), row.get("commune"))))
    return printable(", ".join(filter(None, (name, birth, place))))


@intake.command("decide")
@click.argument("contract")
@click.argument("verdict", type=click.Choice(["oui", "non"]))
@as_option("Qui décide")
@click.pass_obj
def decide(context: Context, contract: str, verdict: str, login: str | None) -> None:
    """Même personne (oui) ou non : la décision vaut pour tous les rapprochements suivants."""
    from casework.intake.matching import decide as take

    take(context.app, contract, verdict == "oui", acting_person(context.app, login))
    click.echo(f"Contrat {contract} : {'même personne' if verdict == 'oui' else 'écarté'}.")


@intake.command("sample-files")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--size", type=int, default=200, show_default=True, help="Jeunes par fichier.")
@click.option("--seed", type=int, default=53, show_default=True)
@click.option("--cohort", type=int, default=2026, show_default=True)
@click.option(
    "--as-sent",
    is_flag=True,
    help="Tels que les organisations les envoient souvent : le fichier de la CMA sans colonnes "
    "sexe, employeur ni SIRET, niveaux anciens (V, IV, III), colonnes statut et année de "
    "formation, colonnes inutiles ; des deux côtés, des lignes sans prénom, nom ou date de "
    "naissance.",
)
def sample_files(folder: Path, size: int, seed: int, cohort: int, as_sent: bool) -> None:
    """Écrit une saison fictive réaliste : le CSV de la CMA (cp1252, « ; », quelques lignes
    fautives) et le classeur de la Mission Locale, avec les écarts des vrais fichiers."""
    from casework.intake.sample_files import write_sample_files

    try:
        data = write_sample_files(folder, size, seed=seed, cohort=cohort, as_sent=as_sent)
    except OSError as error:
        where = error.filename or folder
        raise click.ClickException(
            f"{where} : écriture impossible ({os_error(error, writing=True)})"
        ) from None
    click.echo(
        f"{folder / 'contrats_cma.csv'} et {folder / 'jeunes_ml.xlsx'} : {size} jeune(s) par "
        f"fichier, dont {len(data.pairs)} sur les deux."
    )
