"""`casework users set-password`: signing in to the staff pages (see `casework.accounts`; who
looked at what: `casework privacy access-log`, in `privacy_access.py`)."""

from __future__ import annotations

import getpass
import sys

import click

from casework.accounts.passwords import check_new_password, hash_password, set_password
from casework.actors import Actor
from casework.cli.main import CheckedText, Context, acting_person, printable
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
