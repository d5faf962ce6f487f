"""`casework users set-password` and `casework access-log`: signing in to the staff pages, and
who looked at what there (see `casework.accounts`)."""

from __future__ import annotations

import getpass
import sys
from datetime import time

import click

from casework.accounts.access_log import read_access_log
from casework.accounts.passwords import check_new_password, hash_password, set_password
from casework.actors import Actor
from casework.cli.main import CheckedText, Context, acting_person, as_option, printable
from casework.cli.service import _paris_date
from casework.clock import format_local
from casework.models import Role
from casework.staff import user_row
from casework.text_limits import LOGIN


@click.command("set-password")
@click.argument("login", type=CheckedText(LOGIN))
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Lire le mot de passe sur l'entrée standard (première ligne), pour un script.",
)
@click.option(
    "--as",
    "actor_login",
    envvar="CASEWORK_AS",
    metavar="IDENTIFIANT",
    help="Qui le fait, pour l'historique : un utilisateur actif (défaut : $CASEWORK_AS, sinon "
    "noté comme fait depuis le terminal, pour le tout premier mot de passe).",
)
@click.pass_obj
def set_password_command(
    context: Context, login: str, from_stdin: bool, actor_login: str | None
) -> None:
    """Donne un mot de passe à IDENTIFIANT pour les pages du personnel (demandé deux fois).

    Au moins 12 caractères (réglage web.min_password_length), dont 5 différents, sans
    l'identifiant ni le nom, et pas l'un des mots de passe les plus répandus. Les sessions
    ouvertes de la personne sont fermées.

    \b
    Le premier administrateur :
      casework users add admin --name "Alex Admin" --email admin@ml.example --role admin
      casework users set-password admin
    """
    app = context.app
    actor = (
        acting_person(app, actor_login)
        if actor_login
        else Actor.system(f"terminal:{getpass.getuser()}")
    )
    with app.db.read() as conn:
        user = user_row(conn, login)
    if not user.active:
        raise click.ClickException(
            f"« {printable(login)} » est désactivé(e) : réactivez-le d'abord."
        )
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            "Nouveau mot de passe",
            hide_input=True,
            confirmation_prompt="Encore une fois, pour vérifier",
            prompt_suffix=" : ",
        )
    check_new_password(
        password, login=user.login, name=user.name, min_length=app.settings.web.min_password_length
    )
    new_hash = hash_password(password)
    with app.db.transaction() as conn:
        ended = set_password(
            conn, user, new_hash, by=actor, now=app.clock.now(), why="set-password"
        )
    closed = {0: "", 1: " ; sa session ouverte est fermée"}.get(
        ended, f" ; ses {ended} sessions ouvertes sont fermées"
    )
    click.echo(f"Mot de passe de « {printable(login)} » enregistré{closed}.")


@click.command("access-log")
@click.option(
    "--user", "login", metavar="IDENTIFIANT", help="Seulement ce que cette personne a vu."
)
@click.option("--case", "case_id", type=int, metavar="N", help="Seulement ce dossier.")
@click.option("--since", metavar="AAAA-MM-JJ", help="Depuis ce jour (heure de Paris).")
@click.option("--limit", type=int, default=200, show_default=True, help="Lignes au plus.")
@as_option("Qui consulte : un administrateur", dest="actor_login")
@click.pass_obj
def access_log(
    context: Context,
    login: str | None,
    case_id: int | None,
    since: str | None,
    limit: int,
    actor_login: str | None,
) -> None:
    """Le journal des consultations : qui a ouvert quelle page, quel dossier, quand et
    d'où (les plus récentes d'abord). Réservé aux administrateurs."""
    app = context.app
    actor = acting_person(app, actor_login)
    with app.db.read() as conn:
        if user_row(conn, actor.id).role != Role.ADMINISTRATOR:
            raise click.ClickException(
                f"« {printable(actor.id)} » n'est pas administrateur(trice) : le journal des "
                "consultations leur est réservé."
            )
        rows = read_access_log(
            conn, login=login, case_id=case_id, since=_paris_date(since, time(0)), limit=limit
        )
    if not rows:
        click.echo("Aucune consultation enregistrée pour ces critères.")
        return
    for row in rows:
        case = f"  dossier n° {row.case_id}" if row.case_id is not None else ""
        where = f"  depuis {printable(row.address)}" if row.address else ""
        click.echo(
            f"{format_local(row.at)}  {printable(row.user_login)}  {printable(row.page)}"
            f"{case}{where}"
        )
