"""`casework intake assign`: draw a cohort's groups, make its cases, give the test group its
referents and start them, in one transaction (`casework.intake.assignment`); with `--dry-run`,
who is eligible and who is not, and why (`intake_roll.py`), nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from casework.cli.intake import intake
from casework.cli.launch import referent_options, referents, started_line
from casework.cli.main import Context, acting_person, as_option
from casework.labels import ASSIGNMENT_METHOD

if TYPE_CHECKING:  # for the annotation only: the command imports the assignment as it runs
    from casework.intake.assignment import AssignReport


# long: the body is mostly its French help and the parameters of its options.
@intake.command("assign")
@click.argument("cohort", type=int)
@click.option(
    "--method",
    type=click.Choice(["parity", "lottery", "evaluator"]),
    help="parity (jour de naissance pair : test), lottery (tirage au sort), evaluator (table "
    "de l'évaluateur) ; obligatoire, sauf avec --dry-run.",
)
@click.option("--seed", type=int, help="Graine du tirage au sort (lottery) : il se refait.")
@click.option(
    "--strata",
    default="",
    help="Strates du tirage, séparées par des virgules : sex, diploma_level, "
    "postcode_department, training_centre_uai.",
)
@click.option("--block-size", type=int, default=4, show_default=True)
@click.option(
    "--table",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Table d'allocation de l'évaluateur (N° contrat ; Groupe).",
)
@referent_options
@click.option(
    "--no-start",
    is_flag=True,
    help="Créer les dossiers sans les démarrer (casework cases start les démarrera).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Montrer qui est retenu et qui ne l'est pas, et pourquoi, sans rien enregistrer.",
)
@click.option(
    "--limit",
    type=int,
    default=50,
    show_default=True,
    help="Avec --dry-run : personnes montrées par liste (0 : toutes).",
)
@as_option("Qui attribue")
@click.pass_obj
def assign(
    context: Context,
    cohort: int,
    method: str | None,
    seed: int | None,
    strata: str,
    block_size: int,
    table: Path | None,
    referent: str | None,
    allocate_how: str | None,
    no_start: bool,
    dry_run: bool,
    limit: int,
    login: str | None,
) -> None:
    """Crée les dossiers des jeunes retenus, chacun dans le groupe test ou témoin.

    Retenus : les contrats que la règle d'éligibilité de la cohorte prend ([intake.eligibility]
    de la configuration) et, si elle demande les deux fichiers, rapprochés d'un jeune de la
    Mission Locale. Un jeune n'a qu'un dossier : un jeune déjà suivi, ou inscrit deux fois au
    fichier de la CMA (deux contrats), est reconnu à son nom, ses prénoms et sa date de
    naissance. De deux contrats, le premier par numéro est retenu. Le groupe est écrit une
    fois ; le tirage (méthode, graine, strates) est enregistré. Chaque dossier du groupe test
    reçoit son référent (--referent ou --allocate : sinon rien n'est attribué), puis les
    dossiers démarrent dans la même transaction : consentement demandé pour le groupe test (le
    courriel part au référent), suivi des résultats seulement pour le groupe témoin
    (--no-start : plus tard, par casework cases start).

    \b
      casework intake assign 2026 --dry-run       # qui est retenu, qui ne l'est pas et pourquoi
      casework intake assign 2026 --method parity --allocate balanced
      casework intake assign 2026 --method lottery --seed 7 --referent claire --no-start
    """
    from casework.intake.assignment import assign as run

    if dry_run:
        from casework.cli.intake_roll import show_roll
        from casework.cli.reads import Reader

        show_roll(context.app, Reader.of(context, login), cohort, limit)
        return
    if method is None:
        raise click.UsageError("--method est obligatoire (sauf avec --dry-run)")

    report = run(
        context.app,
        cohort,
        method,
        actor=acting_person(context.app, login),
        seed=seed,
        strata=tuple(s.strip() for s in strata.split(",") if s.strip()),
        block_size=block_size,
        table=table,
        referents=referents(referent, allocate_how),
        start=not no_start,
    )
    if not report.cases:
        click.echo("Aucun jeune retenu sans dossier : rien à attribuer.")
        if report.not_eligible:
            click.echo(f"  {_not_eligible(report.not_eligible, cohort)}")
        return
    _echo_assigned(report, cohort, method, no_start)


def _not_eligible(count: int, cohort: int) -> str:
    return (
        f"{count} contrat(s) sans dossier non retenu(s) : casework intake assign {cohort} "
        "--dry-run dit pourquoi."
    )


def _echo_assigned(report: AssignReport, cohort: int, method: str, no_start: bool) -> None:
    """The draw made: its groups, the referents given, the cases started (or to start)."""
    click.echo(
        f"Cohorte {cohort}, répartition n° {report.draw_id} "
        f"({ASSIGNMENT_METHOD.get(method, method)}) : "
        f"{report.cases.get('test', 0)} test, {report.cases.get('control', 0)} témoin"
        + (
            f" ; {report.ruptures} rupture(s) déjà connue(s) enregistrée(s)"
            if report.ruptures
            else ""
        )
        + "."
    )
    if report.referents:
        given = ", ".join(f"{login} {n}" for login, n in sorted(report.referents.items()))
        click.echo(f"  Référents du groupe test : {given}.")
    if no_start:
        click.echo(f"  Dossiers créés sans démarrer : casework cases start --cohort {cohort}.")
    else:
        click.echo(f"  {started_line(report.started)}")
    if report.not_eligible:
        click.echo(f"  {_not_eligible(report.not_eligible, cohort)}")
