"""`casework inbound …`: mail that came in, and the quarantine a person reviews."""

from __future__ import annotations

import click
from sqlalchemy import select

from casework.cli.main import CheckedText, Context, acting_person, as_option, printable
from casework.cli.reads import Reader, reader_option
from casework.clock import format_local
from casework.labels import INBOUND_KIND, INBOUND_STATUS
from casework.models import InboundStatus
from casework.models.tables import INBOUND
from casework.text_hygiene import for_terminal
from casework.text_limits import REASON

# How a message came in (`inbound_mails.source`).
SOURCES = {"imap": "lu par IMAP", "lmtp": "reçu par LMTP", "demo": "démonstration"}


@click.group("inbound")
def inbound() -> None:
    """Courriels reçus (réponses des partenaires) et quarantaine à examiner."""


@inbound.command("list")
@click.option(
    "--status",
    "wanted",
    type=click.Choice([s.value for s in InboundStatus]),
    default=InboundStatus.QUARANTINED.value,
    show_default=True,
)
@click.option("--limit", type=int, default=30, show_default=True)
@reader_option
@click.pass_obj
def list_inbound(context: Context, wanted: str, limit: int, reader_login: str | None) -> None:
    """Les derniers courriels reçus dans cet état (par défaut : la quarantaine)."""
    query = (
        select(INBOUND.c.id, INBOUND.c.received_at, INBOUND.c.sender, INBOUND.c.subject)
        .add_columns(INBOUND.c.reason, INBOUND.c.sheet_id)
        .where(INBOUND.c.status == wanted)
        .order_by(INBOUND.c.id.desc())
        .limit(limit)
    )
    reader = Reader.of(context, reader_login)
    with context.app.db.read() as conn:
        rows = conn.execute(query).all()
    reader.saw()
    if not rows:
        click.echo(f"Aucun courriel {INBOUND_STATUS[wanted]}.")
    for r in rows:
        sheet = f"  fiche n° {r.sheet_id}" if r.sheet_id else ""
        click.echo(f"{r.id:>7}  {format_local(r.received_at)}  {printable(r.sender or '?')}{sheet}")
        click.echo(f"         « {printable(r.subject or '(sans objet)')} »")
        if r.reason:
            click.echo(f"         {printable(r.reason)}")


@inbound.command("show")
@click.argument("inbound_id", type=int)
@reader_option
@click.pass_obj
def show(context: Context, inbound_id: int, reader_login: str | None) -> None:
    """Un courriel reçu : d'où, quand, pourquoi, et ce que la personne a écrit."""
    reader = Reader.of(context, reader_login)
    with context.app.db.read() as conn:
        r = conn.execute(select(INBOUND).where(INBOUND.c.id == inbound_id)).first()
    if r is None:
        raise click.ClickException(f"Courriel reçu n° {inbound_id} inconnu.")
    reader.saw([r.case_id])  # the case it was filed under, if any
    source = SOURCES.get(r.source, printable(r.source))
    click.echo(f"Courriel reçu n° {r.id} ({source}), le {format_local(r.received_at)}")
    click.echo(f"De : {printable(r.sender or '?')}\nObjet : {printable(r.subject)}")
    kind = INBOUND_KIND.get(str(r.kind), str(r.kind))
    click.echo(f"État : {INBOUND_STATUS[str(r.status)]} ({kind})")
    if r.reason:
        click.echo(f"Raison : {printable(r.reason)}")
    click.echo("\n" + (for_terminal(r.text) or "(pas de texte)"))


@inbound.command("attach")
@click.argument("inbound_id", type=int)
@click.argument("sheet_id", type=int)
@as_option("Qui décide")
@click.pass_obj
def attach(context: Context, inbound_id: int, sheet_id: int, login: str | None) -> None:
    """Rattache un courriel en quarantaine à une fiche : il vaut accusé de réception ou retour."""
    from casework.inbound.review import Review

    actor = acting_person(context.app, login)
    answer = Review(context.app).attach(inbound_id, sheet_id, actor)
    click.echo(f"Courriel n° {inbound_id} rattaché à la fiche n° {sheet_id} : {answer.says}.")


@inbound.command("reject")
@click.argument("inbound_id", type=int)
@click.option("--reason", required=True, type=CheckedText(REASON), help="Pourquoi il est écarté.")
@as_option("Qui décide")
@click.pass_obj
def reject(context: Context, inbound_id: int, reason: str, login: str | None) -> None:
    """Écarte un courriel en quarantaine (il reste conservé)."""
    from casework.inbound.review import Review

    actor = acting_person(context.app, login)
    Review(context.app).reject(inbound_id, actor, reason)
    click.echo(f"Courriel n° {inbound_id} écarté.")


@inbound.command("alert")
@click.argument("inbound_id", type=int)
@click.argument("case_id", type=int)
@as_option("Qui décide")
@click.pass_obj
def alert(context: Context, inbound_id: int, case_id: int, login: str | None) -> None:
    """Fait d'un courriel en quarantaine une alerte sur un dossier suivi (son conseiller est
    prévenu)."""
    from casework.inbound.review import Review

    actor = acting_person(context.app, login)
    alert_id = Review(context.app).attach_alert(inbound_id, case_id, actor)
    click.echo(f"Courriel n° {inbound_id} : alerte n° {alert_id} sur le dossier n° {case_id}.")
