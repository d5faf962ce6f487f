"""`casework mail …`: the outbox seen from the terminal and a sending round on demand (the
people mail goes to are `casework users`)."""

from __future__ import annotations

import click
from sqlalchemy import select

from casework.cli import users
from casework.cli.main import CheckedText, Context, as_option, printable
from casework.cli.reads import Reader, reader_option
from casework.cli.users import RoleType
from casework.clock import format_local
from casework.labels import MAIL_RECIPIENT, MAIL_STATUS
from casework.models import MailStatus, Role
from casework.models.tables import OUTBOX
from casework.text_limits import ADDRESS, LOGIN, NAME

# Whom a mail with no address yet is for (`outbox.recipient_role`).
ROLES = MAIL_RECIPIENT


@click.group("mail")
def mail() -> None:
    """Courriels sortants : file d'attente, envoi."""


@mail.command("status")
@click.pass_obj
def status(context: Context) -> None:
    """Combien de courriels en attente, envoyés, en échec, non distribuables, annulés."""
    app = context.app
    with app.db.read() as conn:
        counts = app.engine.outbox.counts(conn)
    labels = {
        "queued": "en attente",
        "sent": "envoyés",
        "failed": "en échec",
        "bounced": "revenus en erreur",
        "undeliverable": "sans destinataire",
        "cancelled": "annulés",
    }
    click.echo(", ".join(f"{counts[k]} {label}" for k, label in labels.items()) + ".")


@mail.command("list")
@click.option(
    "--status",
    "wanted",
    type=click.Choice([s.value for s in MailStatus]),
    help="Seulement les courriels dans cet état (défaut : tous).",
)
@click.option("--case", "case_id", type=int, help="Seulement ceux d'un dossier.")
@click.option("--limit", type=int, default=30, show_default=True)
@reader_option
@click.pass_obj
def list_mails(
    context: Context,
    wanted: str | None,
    case_id: int | None,
    limit: int,
    reader_login: str | None,
) -> None:
    """Les derniers courriels, avec leur état et, en cas d'échec, la raison."""
    query = select(OUTBOX).order_by(OUTBOX.c.id.desc()).limit(limit)
    if wanted:
        query = query.where(OUTBOX.c.status == wanted)
    if case_id is not None:
        query = query.where(OUTBOX.c.case_id == case_id)
    reader = Reader.of(context, reader_login)
    with context.app.db.read() as conn:
        rows = conn.execute(query).all()
    reader.saw([case_id])  # recipients and subjects: one case's, or a listing's
    if not rows:
        click.echo("Aucun courriel.")
    for m in rows:
        to = printable(", ".join(m.recipients or []) or ROLES.get(m.recipient_role, "?"))
        status = MAIL_STATUS.get(m.status, m.status)
        click.echo(f"{m.id:>7}  {format_local(m.created_at)}  {status:<18} → {to}")
        if m.subject:
            click.echo(f"         « {printable(m.subject)} »")
        if m.last_error:
            click.echo(
                f"         {m.attempts} essai(s), dernière erreur : {printable(m.last_error)}"
            )


@mail.command("send")
@click.pass_obj
def send(context: Context) -> None:
    """Envoie maintenant ce qui est dû (le service le fait tout seul toutes les quelques
    secondes), puis dit ce qui s'est passé."""
    from casework.notify.sender import MailSender

    report = MailSender(context.app).drain_sync()
    click.echo(
        f"{report.sent} envoyé(s), {report.retried} à réessayer, {report.failed} en échec, "
        f"{report.undeliverable} sans destinataire."
    )
    for error in report.errors:
        click.echo(f"Erreur : {error}", err=True)
    if report.errors:  # a script (or a supervisor) must see that mail did not go
        raise SystemExit(1)


@mail.command("add-user")
@click.argument("login", type=CheckedText(LOGIN))
@click.option("--name", required=True, type=CheckedText(NAME), help="Nom affiché.")
@click.option("--email", required=True, type=CheckedText(ADDRESS), help="Adresse.")
@click.option("--role", type=RoleType(), default="counsellor", show_default=True)
@as_option("Qui ajoute (sauf pour le tout premier utilisateur)", dest="actor_login")
@click.pass_context
def add_user(
    ctx: click.Context, login: str, name: str, email: str, role: Role, actor_login: str | None
) -> None:
    """Obsolète : remplacé par `casework users add` (même effet ; une personne déjà connue se
    modifie avec `casework users update`)."""
    click.echo("`casework mail add-user` est remplacé par `casework users add`.", err=True)
    ctx.invoke(
        users.add,
        login=login,
        name=name,
        email=email,
        role=role,
        territory=None,
        actor_login=actor_login,
    )
