"""`casework case reassign` and `casework cases handover`: a case, or all of a referent's
running cases, given to someone else through the engine (`casework.handover`), with the
options other commands that name a successor share. The French refusals say who may take cases.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import Connection, select

from casework.cli.cases import case, cases
from casework.cli.main import CheckedText, Context, acting_person, as_option, printable
from casework.errors import TransitionRefused
from casework.handover import hand_over, reassign, reassign_refused
from casework.models import Case
from casework.staff import user_row
from casework.text_limits import LOGIN, REASON


def successor_option(what: str, dest: str = "to", required: bool = True) -> Any:
    """`--to LOGIN`: who takes cases over (the workflow's guard says who may)."""
    return click.option(
        "--to",
        dest,
        required=required,
        type=CheckedText(LOGIN),
        metavar="IDENTIFIANT",
        help=f"{what} (un conseiller ou un responsable actif).",
    )


def reason_option(what: str = "Pourquoi.", required: bool = False) -> Any:
    # No default at all when required: click takes an explicit default=None as given.
    default = {} if required else {"default": ""}
    return click.option(
        "--reason",
        required=required,
        type=CheckedText(REASON),
        metavar="MOTIF",
        help=what,
        **default,
    )


@case.command("reassign")
@click.argument("case_id", type=int)
@successor_option("Le nouveau référent")
@reason_option()
@click.option(
    "--expected-version", type=int, help="Refuser si le dossier a changé depuis cette version."
)
@as_option("Qui transfère")
@click.pass_obj
def reassign_command(
    context: Context,
    case_id: int,
    to: str,
    reason: str,
    expected_version: int | None,
    login: str | None,
) -> None:
    """Confie le dossier n° DOSSIER à un autre référent : les courriels du dossier lui sont
    adressés dès maintenant (y compris ceux en attente d'envoi), et les liens encore valables
    de l'ancien référent pour ce dossier sont révoqués. Enregistré dans l'historique.

    \b
    Exemple :
      casework case reassign 12 --to paul --reason "congé maternité" --as claire
    """
    app = context.app
    actor = acting_person(app, login)
    with app.db.read() as conn:
        previous = _referent(conn, case_id)
    try:
        done = reassign(app, case_id, to, actor, reason, expected_version)
    except TransitionRefused as refused:
        raise click.ClickException(reassign_refused(refused)) from refused
    before = f" (auparavant : « {printable(previous)} »)" if previous else ""
    click.echo(f"Dossier {case_id} confié à « {to} »{before}.")
    if previous:
        click.echo(f"Les liens envoyés à « {printable(previous)} » pour ce dossier sont révoqués.")
    click.echo(f"Version du dossier : {done.version}.")


@cases.command("handover")
@click.option(
    "--from",
    "source",
    required=True,
    type=CheckedText(LOGIN),
    metavar="IDENTIFIANT",
    help="Le référent dont les dossiers en cours changent de mains.",
)
@successor_option("Qui les reprend")
@reason_option()
@as_option("Qui transfère")
@click.pass_obj
def handover_command(
    context: Context, source: str, to: str, reason: str, login: str | None
) -> None:
    """Confie tous les dossiers en cours d'un référent à un autre, en une transaction : un
    événement par dossier dans l'historique, les courriels adressés au nouveau référent dès
    maintenant, les liens encore valables de l'ancien pour ces dossiers révoqués. Les dossiers
    clos restent à leur référent.

    \b
    Exemple :
      casework cases handover --from claire --to paul --reason "départ" --as admin
    """
    app = context.app
    actor = acting_person(app, login)
    with app.db.transaction() as conn:
        done = hand_over(app, conn, source, to, actor, reason)
        if not done.moved and not done.ended:
            user_row(conn, source)
    if not done.moved:
        click.echo(f"« {source} » ne suit aucun dossier en cours : rien à transférer.")
        return
    moved = len(done.moved)
    cases_moved = "dossiers confiés" if moved > 1 else "dossier confié"
    click.echo(f"{moved} {cases_moved} à « {to} » (référent précédent : « {source} »).")


def _referent(conn: Connection, case_id: int) -> str | None:
    return conn.execute(select(Case.referent).where(Case.id == case_id)).scalar()
