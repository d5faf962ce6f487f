"""`casework privacy purge` (the retention durations applied) and `casework privacy erase`
(erasure on request): see `casework.privacy.purge` and `casework.privacy.erasure`."""

from __future__ import annotations

import click

from casework.cli.main import Context, acting_person, as_option, printable
from casework.cli.privacy import checked_person, person_options, privacy
from casework.text_limits import french_number


@privacy.command("purge")
@click.option(
    "--dry-run",
    "mode",
    flag_value="dry-run",
    default=True,
    help="Compter seulement ce qui est à purger, sans rien modifier (par défaut).",
)
@click.option("--apply", "mode", flag_value="apply", help="Purger ce qui est dû.")
@as_option("Qui lance la purge (inscrit au journal avec --apply)")
@click.pass_obj
def purge_command(context: Context, mode: str, login: str | None) -> None:
    """Applique les durées de conservation ([privacy]) : anonymise ou supprime ce qui a
    atteint la sienne, catégorie par catégorie.

    Par défaut, une simulation : le nombre de lignes de chaque catégorie à traiter, sans rien
    modifier. Avec --apply, la purge est faite par lots (une interruption ne laisse aucun lot
    à moitié fait : la relancer finit le travail) et inscrite au journal. Le service la fait
    aussi chaque jour.

    \b
    Exemples :
      casework privacy purge
      casework privacy purge --apply --as admin
    """
    from casework.privacy.purge import count_due, purge

    app = context.app
    now = app.clock.now()
    if mode != "apply":
        report = count_due(app, now)
    else:
        actor = acting_person(app, login)
        total = count_due(app, now).total
        with click.progressbar(length=total, label="Purge") as bar:
            report = purge(app, now, apply=True, actor=actor, progress=bar.update)
    for line in report.french():
        click.echo(line)


@privacy.command("erase")
@person_options
@click.option("--reason", required=True, metavar="MOTIF", help="Le motif de la demande.")
@click.option("--yes", is_flag=True, help="Ne pas demander de confirmation.")
@as_option("Qui efface (inscrit au journal)")
@click.pass_obj
def erase_command(
    context: Context,
    person_id: int | None,
    case_id: int | None,
    reason: str,
    yes: bool,
    login: str | None,
) -> None:
    """Efface, à sa demande, les données d'une personne : identité, coordonnées, textes
    libres, courriels, lignes importées, en une fois.

    Refusé tant qu'un de ses dossiers est suivi (retirer d'abord le consentement). Les données
    codées et pseudonymisées du suivi sont gardées pour l'évaluation (article 17.3.d du
    RGPD). La demande, son motif et ce qui est gardé sont inscrits au journal.

    \b
    Exemples :
      casework privacy erase 42 --reason "Demande écrite du 3 mars" --as admin
      casework privacy erase --case 117 --reason "Demande par téléphone" --yes
    """
    from casework.privacy.erasure import KEPT, StillFollowed, erase

    app = context.app
    person = checked_person(context, person_id, case_id)
    if not reason.strip():
        raise click.ClickException("Donnez le motif de la demande (--reason).")
    actor = acting_person(app, login)
    if not yes:
        click.confirm(
            f"Effacer les données de la personne n° {person} ? Ce n'est pas réversible.",
            abort=True,
        )
    try:
        done = erase(app, person, reason.strip(), actor, app.clock.now())
    except StillFollowed as refused:
        raise click.ClickException(refused.french()) from None
    cases = ", ".join(f"n° {c}" for c in done.cases) or "aucun"
    click.echo(
        f"Données de la personne n° {person} effacées (dossiers : {cases} ; courriels reçus : "
        f"{french_number(done.inbound)} ; courriels envoyés : {french_number(done.outbox)})."
    )
    click.echo(KEPT)
    click.echo(f"Demande inscrite au journal, au nom de « {printable(actor.id)} ».")
