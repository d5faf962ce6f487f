"""`casework privacy access-log`: who read which case, when and from where, for an
administrator (`casework.privacy.access`); `casework access-log` is its former name, kept."""

from __future__ import annotations

from datetime import time

import click

from casework.cli.main import Context, acting_person, as_option, printable
from casework.cli.privacy import privacy
from casework.cli.reads import Reader
from casework.cli.service import _paris_date
from casework.clock import format_local
from casework.errors import CaseworkError
from casework.models import Role
from casework.privacy.access import TERMINAL, as_json, entries, origin
from casework.privacy.people import find_person
from casework.staff import user_row
from casework.text_hygiene import json_for_terminal

EXAMPLES = """\b
Exemples :
  casework privacy access-log --person 7 --as admin
  casework privacy access-log --case 12 --as admin
  casework privacy access-log --user claire --since 2026-09-01 --as admin
"""


@privacy.command("access-log", epilog=EXAMPLES)
@click.option(
    "--person",
    "person_id",
    type=int,
    metavar="N",
    help="Seulement les consultations des dossiers de cette personne (son numéro).",
)
@click.option("--case", "case_id", type=int, metavar="N", help="Seulement ce dossier.")
@click.option(
    "--user", "login", metavar="IDENTIFIANT", help="Seulement ce que cette personne a vu."
)
@click.option("--since", metavar="AAAA-MM-JJ", help="Depuis ce jour (heure de Paris).")
@click.option("--limit", type=int, default=200, show_default=True, help="Lignes au plus.")
@click.option("--json", "as_json_lines", is_flag=True, help="Une ligne JSON par consultation.")
@as_option("Qui consulte (un administrateur)", dest="reader_login")
@click.pass_obj
def access_log(
    context: Context,
    person_id: int | None,
    case_id: int | None,
    login: str | None,
    since: str | None,
    limit: int,
    as_json_lines: bool,
    reader_login: str | None,
) -> None:
    """Le journal des consultations : qui a vu quel dossier, quelle page ou quelle liste, quand
    et d'où (les plus récentes d'abord). Réservé aux administrateurs.

    Les pages du personnel et les commandes qui affichent des données personnelles (case
    show, history, case list…) y inscrivent chaque lecture ; cette consultation-ci aussi. Le
    journal est gardé [privacy] access_log_months mois.
    """
    if person_id is not None and case_id is not None:
        raise click.UsageError("Donnez --person ou --case, pas les deux.")
    app = context.app
    # An administrator's reading: the terminal's login is checked too (as `acting_person`).
    reader = Reader(app, acting_person(app, reader_login).id, TERMINAL)
    since_at = _paris_date(since, time(0))
    with app.db.read() as conn:
        if user_row(conn, reader.login).role != Role.ADMINISTRATOR:
            raise click.ClickException(
                f"« {printable(reader.login)} » n'est pas administrateur(trice) : le journal des "
                "consultations leur est réservé."
            )
        try:
            if person_id is not None:
                find_person(conn, person_id, None)
        except CaseworkError as error:
            raise click.ClickException(error.french()) from None
        rows = entries(
            conn, person_id=person_id, case_id=case_id, login=login, since=since_at, limit=limit
        )
    # Reading the log is itself a read: it says who read whom, and the staff's own comings
    # and goings. One row, with no case: the command line says whose reads were looked at.
    reader.saw()
    if as_json_lines:
        for row in rows:
            click.echo(json_for_terminal(as_json(row)))
        return
    if not rows:
        click.echo("Aucune consultation enregistrée pour ces critères.")
        return
    for row in rows:
        case = f"  dossier n° {row.case_id}" if row.case_id is not None else ""
        where = f"  {printable(origin(row.address))}" if row.address else ""
        click.echo(
            f"{format_local(row.at)}  {printable(row.user_login)}  {printable(row.page)}"
            f"{case}{where}"
        )


# The former name, kept so scripts and habits still work; its help says what it is.
alias = click.Command(
    "access-log",
    params=access_log.params,
    callback=access_log.callback,
    epilog=EXAMPLES,
    help="Ancien nom de `casework privacy access-log`, gardé comme alias : voir "
    "`casework privacy access-log --help`.",
    short_help="Alias de `casework privacy access-log` (ancien nom).",
)
