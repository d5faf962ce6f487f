"""`casework users …`: the people who use casework (counsellors, managers, evaluators,
administrators), what each one follows, and their leaving (see `casework.staff`)."""

from __future__ import annotations

from typing import Any

import click

from casework import staff_history, wording
from casework.actors import Actor
from casework.cli.handover import reason_option, successor_option
from casework.cli.main import CheckedText, Context, acting_person, as_option, printable
from casework.clock import format_local
from casework.labels import ROLE
from casework.models import Role
from casework.staff import (
    add_user,
    any_user,
    caseload_by_state,
    deactivate,
    reactivate,
    update_user,
    user_events,
    user_row,
    users_with_caseload,
)
from casework.territory import TerritoryRefused, departements, shown_territory
from casework.text_limits import ADDRESS, LOGIN, NAME

# The command line's names for roles; "admin" is stored as "administrator" (the value the
# first release stored: existing rows and the CHECK constraint keep it).
ROLES = {
    "counsellor": Role.COUNSELLOR,
    "manager": Role.MANAGER,
    "evaluator": Role.EVALUATOR,
    "admin": Role.ADMINISTRATOR,
}
ROLE_HELP = (
    "counsellor (conseiller(ère), référent(e) de dossiers), manager (responsable d'équipe, "
    "peut aussi suivre des dossiers), evaluator (évaluateur(trice)), admin (administrateur(trice))"
)
# Who added the first user, when nobody could act yet.
FIRST_USER = Actor.system("installation")


class RoleType(click.Choice):  # type: ignore[type-arg]
    """A role by its command-line name; "administrator" (the old `mail add-user`'s) is taken too."""

    def __init__(self) -> None:
        super().__init__(list(ROLES))

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Role):
            return value
        if value == Role.ADMINISTRATOR.value:
            return Role.ADMINISTRATOR
        return ROLES[super().convert(value, param, ctx)]


class TerritoryType(click.ParamType):
    """Département codes ("53,72" or "53 72"), checked by `casework.territory`."""

    name = "départements"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, list):
            return value
        try:
            return departements([str(value)])
        except TerritoryRefused as refused:
            self.fail(refused.french(), param, ctx)


def territory_option(help_text: str) -> Any:
    return click.option("--territory", type=TerritoryType(), metavar="DÉPARTEMENTS", help=help_text)


@click.group("users")
def users() -> None:
    """Les utilisateurs : conseillers, responsables, évaluateurs, administrateurs.

    \b
    Exemples :
      casework users add claire --name "Claire Martin" --email claire@ml.example --territory 53,72
      casework users list
      casework users show claire
      casework users deactivate claire --to paul --reason "départ" --as admin
      casework users reactivate claire --reason "retour de congé" --as admin
    """


@users.command("add")
@click.argument("login", type=CheckedText(LOGIN))
@click.option(
    "--name", required=True, type=CheckedText(NAME), help="Nom affiché (« Claire Martin »)."
)
@click.option(
    "--email", required=True, type=CheckedText(ADDRESS), help="Adresse où envoyer ses courriels."
)
@click.option(
    "--role", type=RoleType(), default="counsellor", show_default=True, help=ROLE_HELP + "."
)
@territory_option("Où la personne travaille : des départements, ex. 53,72 ou 2A (défaut : aucun).")
@as_option("Qui ajoute (sauf pour le tout premier utilisateur)", dest="actor_login")
@click.pass_obj
def add(
    context: Context,
    login: str,
    name: str,
    email: str,
    role: Role,
    territory: list[str] | None,
    actor_login: str | None,
) -> None:
    """Ajoute une personne, connue sous IDENTIFIANT dans les dossiers et l'historique.

    Le tout premier utilisateur s'ajoute sans --as ; ensuite, c'est un utilisateur actif qui
    ajoute les autres. Une personne déjà connue se modifie avec `casework users update`.
    """
    app = context.app
    with app.db.read() as conn:
        first = not any_user(conn)
    actor = FIRST_USER if first else acting_person(app, actor_login)
    with app.db.transaction() as conn:
        add_user(
            conn,
            login=login,
            name=name,
            email=email,
            role=role,
            territory=territory or [],
            by=actor,
            now=app.clock.now(),
        )
    click.echo(
        f"« {login} » ajouté(e) : {ROLE[role]}, territoire {shown_territory(territory or [])}."
    )
    if first:
        click.echo(f"Premier utilisateur : les commandes suivantes peuvent agir avec --as {login}.")


@users.command("update")
@click.argument("login", type=CheckedText(LOGIN))
@click.option("--name", type=CheckedText(NAME), help="Nouveau nom affiché.")
@click.option("--email", type=CheckedText(ADDRESS), help="Nouvelle adresse.")
@click.option("--role", type=RoleType(), help=ROLE_HELP + ".")
@territory_option("Nouveaux départements (une valeur vide : aucun).")
@as_option("Qui modifie", dest="actor_login")
@click.pass_obj
def update(
    context: Context,
    login: str,
    name: str | None,
    email: str | None,
    role: Role | None,
    territory: list[str] | None,
    actor_login: str | None,
) -> None:
    """Modifie le nom, l'adresse, le rôle ou le territoire d'une personne (jamais son état :
    voir `users deactivate` et `users reactivate`).

    Les liens déjà envoyés à l'ancienne adresse ne fonctionnent plus."""
    app = context.app
    actor = acting_person(app, actor_login)
    changes = {"name": name, "email": email, "role": role, "territory": territory}
    with app.db.transaction() as conn:
        changed = update_user(conn, app.workflows, login, changes, by=actor, now=app.clock.now())
    if not changed:
        click.echo(f"« {login} » : rien à changer.")
        return
    fields = ", ".join(_FIELDS[f] for f in changed)
    click.echo(f"« {login} » modifié(e) : {fields}.")


@users.command("list")
@click.option("--role", type=RoleType(), help="Seulement ce rôle.")
@click.pass_obj
def list_users(context: Context, role: Role | None) -> None:
    """Les utilisateurs (actifs d'abord), avec le nombre de dossiers en cours de chacun."""
    app = context.app
    with app.db.read() as conn:
        rows = users_with_caseload(conn, app.workflows, role)
    if not rows:
        click.echo("Aucun utilisateur : voir `casework users add`.")
        return
    click.echo(
        f"{'Identifiant':16}  {'Nom':24}  {'Rôle':22}  {'Territoire':14}  {'Dossiers':>8}  État"
    )
    for user, load in rows:
        click.echo(
            f"{printable(user.login):16}  {printable(user.name):24}  {ROLE[user.role]:22}  "
            f"{shown_territory(user.territory):14}  {load:>8}  "
            + ("actif(ve)" if user.active else "désactivé(e)")
        )


@users.command("show")
@click.argument("login")
@click.pass_obj
def show(context: Context, login: str) -> None:
    """Une personne : rôle, territoire, état, dossiers en cours par état, et son historique."""
    app = context.app
    with app.db.read() as conn:
        user = user_row(conn, login)
        load = caseload_by_state(conn, app.workflows, user.login)
        history = user_events(conn, user.id)
    click.echo(f"{printable(user.login)} — {printable(user.name)} <{printable(user.email)}>")
    click.echo(f"  Rôle : {ROLE[user.role]} ; territoire : {shown_territory(user.territory)}")
    click.echo(f"  État : {'actif(ve)' if user.active else 'désactivé(e)'}")
    click.echo(f"  Dossiers en cours : {sum(row.n for row in load)}")
    for group in ("test", "control"):
        rows = [row for row in load if row.group == group]
        if rows:
            click.echo(f"    {_GROUP[group]} : {sum(row.n for row in rows)}")
        for row in rows:
            definition = app.workflows.find(row.workflow_name, row.workflow_version)
            label = wording.state(definition, row.state)
            click.echo(f"      {label} : {row.n}")
    if history:
        click.echo("  Historique :")
    for event in history:
        by = f" (par {printable(event.actor)})" if event.actor_kind == "person" else ""
        click.echo(f"    {format_local(event.at)}  {_happened(event)}{by}")


@users.command("deactivate")
@click.argument("login", type=CheckedText(LOGIN))
@successor_option("Qui reprend ses dossiers en cours", dest="successor", required=False)
@reason_option("Pourquoi (gardé dans l'historique).", required=True)
@as_option("Qui désactive", dest="actor_login")
@click.pass_obj
def deactivate_command(
    context: Context, login: str, successor: str | None, reason: str, actor_login: str | None
) -> None:
    """Désactive une personne qui part : ses dossiers en cours passent à --to, les liens
    encore valables qu'elle a reçus sont révoqués, et elle ne peut plus agir ni recevoir de
    courriel. Tout ou rien, en une transaction.

    Sans --to, c'est refusé tant qu'elle suit des dossiers en cours.
    """
    app = context.app
    actor = acting_person(app, actor_login)
    with app.db.transaction() as conn:
        done = deactivate(app, conn, login, successor=successor, reason=reason, by=actor)
    click.echo(f"« {login} » est désactivé(e).")
    moved = len(done.handover.moved)
    if moved:
        click.echo(f"{_count(moved, 'dossier confié', 'dossiers confiés')} à « {successor} ».")
    links = _links(done.links)
    click.echo(f"{links[0].upper()}{links[1:]}.")


@users.command("reactivate")
@click.argument("login", type=CheckedText(LOGIN))
@reason_option()
@as_option("Qui réactive", dest="actor_login")
@click.pass_obj
def reactivate_command(context: Context, login: str, reason: str, actor_login: str | None) -> None:
    """Réactive une personne : elle peut de nouveau agir et recevoir des courriels. Les liens
    révoqués à son départ le restent ; ses anciens dossiers ne lui reviennent pas d'eux-mêmes
    (`casework case reassign`)."""
    app = context.app
    actor = acting_person(app, actor_login)
    with app.db.transaction() as conn:
        reactivate(conn, login, reason=reason, by=actor, now=app.clock.now())
    click.echo(f"« {login} » est réactivé(e).")


_FIELDS = staff_history.FIELDS
_GROUP = {"test": "groupe test", "control": "groupe témoin"}
_count, _links = staff_history.count, staff_history.links_said


def _happened(event: Any) -> str:
    return printable(staff_history.happened(event))
