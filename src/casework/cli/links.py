"""`casework links …`: the action links sent in mails, listed by case, and revoked."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select

from casework import wording
from casework.cli.main import CheckedText, Context, acting_person, as_option, printable
from casework.cli.reads import Reader, reader_option
from casework.clock import format_local
from casework.models import Case
from casework.models.tables import LINKS, USERS
from casework.notify.revocation import links_of_case, revoke_links
from casework.queries import definitions_of
from casework.text_limits import REASON


@click.group("links")
def links() -> None:
    """Liens d'action envoyés par courriel : les voir par dossier, les révoquer."""


@links.command("list")
@click.option("--case", "case_id", type=int, required=True, help="Le dossier.")
@reader_option
@click.pass_obj
def list_links(context: Context, case_id: int, reader_login: str | None) -> None:
    """Les liens d'un dossier et de ses fiches, avec leur numéro et leur état (jamais le lien
    lui-même : seule son empreinte est gardée)."""
    app = context.app
    reader = Reader.of(context, reader_login)
    with app.db.read() as conn:
        rows = links_of_case(conn, case_id)
        definitions = definitions_of(conn, app.workflows, ((r.entity, r.entity_id) for r in rows))
    reader.saw([case_id])  # the addresses the links went to
    if not rows:
        click.echo(f"Aucun lien pour le dossier n° {case_id}.")
        return
    now = app.clock.now()
    for r in rows:
        what = "dossier" if r.entity == "case" else f"fiche n° {r.entity_id}"
        action = wording.action(definitions.get((r.entity, r.entity_id)), r.trigger)
        click.echo(
            f"{r.id:>8}  {format_local(r.created_at)}  {what:14} {action:28} "
            f"{printable(r.recipient)}"
        )
        click.echo(f"          {_state(r, now)}")


def _state(link: Any, now: Any) -> str:
    if link.revoked_at is not None:
        kind, _, who = str(link.revoked_by).partition(":")  # as recorded: "person:anne"
        by = wording.actor(kind, who) if who else link.revoked_by
        return f"révoqué le {format_local(link.revoked_at)} par {printable(by)}"
    if link.used_at is not None:
        return f"utilisé le {format_local(link.used_at)}"
    if link.expires_at <= now:
        return f"expiré le {format_local(link.expires_at)}"
    return f"valable jusqu'au {format_local(link.expires_at)}"


@links.command("revoke")
@click.option("--user", "login", metavar="IDENTIFIANT", help="Tous les liens d'un utilisateur.")
@click.option(
    "--address", metavar="ADRESSE", help="Tous les liens envoyés à une adresse (un partenaire)."
)
@click.option("--case", "case_id", type=int, metavar="N", help="Tous les liens d'un dossier.")
@click.option("--link", "link_id", type=int, metavar="N", help="Un lien (voir `links list`).")
@click.option(
    "--reason",
    default="",
    type=CheckedText(REASON),
    metavar="MOTIF",
    help="Pourquoi (gardé dans l'historique du dossier).",
)
@as_option("Qui révoque", dest="actor_login")
@click.pass_obj
def revoke(
    context: Context,
    login: str | None,
    address: str | None,
    case_id: int | None,
    link_id: int | None,
    reason: str,
    actor_login: str | None,
) -> None:
    """Révoque des liens encore valables : ils affichent alors « Lien révoqué » et ne font plus
    rien. Les liens déjà utilisés ou expirés ne sont pas touchés.

    \b
    Exemples :
      casework links revoke --user referente --reason "départ" --as admin
      casework links revoke --case 12 --reason "dossier repris"
      casework links list --case 12 && casework links revoke --link 345
    """
    targets = (login, address, case_id, link_id)
    if sum(t is not None for t in targets) != 1:
        raise click.UsageError("Indiquez une seule cible : --user, --address, --case ou --link.")
    app = context.app
    actor = acting_person(app, actor_login)
    now = app.clock.now()
    with app.db.transaction() as conn:
        email, target, link = _target(conn, login, address, case_id, link_id)
        count = revoke_links(
            conn,
            user_email=email,
            case_id=case_id,
            link_id=link_id,
            by=actor,
            reason=reason,
            now=now,
        )
    if count:
        s = "s" if count > 1 else ""
        click.echo(f"{count} lien{s} révoqué{s} ({target}).")
    elif link is not None:  # say why this one was left alone
        click.echo(f"Rien à révoquer : lien n° {link.id} {_state(link, now)}.")
    else:
        click.echo(f"Aucun lien encore valable à révoquer ({target}).")


def _target(
    conn: Any, login: str | None, address: str | None, case_id: int | None, link_id: int | None
) -> tuple[str | None, str, Any]:
    """The address to revoke for (a person's), what the message calls the target, and the link
    (with --link). An unknown user, case or link is an error, not "nothing to revoke"."""
    if login is not None:
        email = conn.execute(select(USERS.c.email).where(USERS.c.login == login)).scalar()
        if email is None:
            raise click.ClickException(f"Utilisateur « {login} » inconnu.")
        return email, f"utilisateur « {login} »", None
    if address is not None:
        return address, f"adresse {address}", None
    if case_id is not None:
        if conn.execute(select(func.count()).where(Case.id == case_id)).scalar_one() == 0:
            raise click.ClickException(f"Dossier n° {case_id} introuvable.")
        return None, f"dossier n° {case_id}", None
    link = conn.execute(select(LINKS).where(LINKS.c.id == link_id)).first()
    if link is None:
        raise click.ClickException(f"Lien n° {link_id} inconnu.")
    return None, f"lien n° {link_id}, dossier n° {link.case_id}", link
