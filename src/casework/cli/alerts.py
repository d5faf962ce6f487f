"""`casework alerts …`: alerts partners raised by mail, for the counsellors."""

from __future__ import annotations

import click

from casework.cli.main import Context, acting_person, as_option, printable
from casework.cli.reads import Reader, reader_option
from casework.clock import format_local
from casework.models.beneficiary import display_name


@click.group("alerts")
def alerts() -> None:
    """Alertes envoyées par les partenaires à l'adresse d'alerte."""


@alerts.command("list")
@click.option("--all", "everything", is_flag=True, help="Aussi les alertes déjà lues.")
@click.option("--for", "login", help="Seulement les dossiers de ce conseiller (identifiant).")
@click.option("--limit", type=int, default=30, show_default=True)
@reader_option
@click.pass_obj
def list_alerts(
    context: Context, everything: bool, login: str | None, limit: int, reader_login: str | None
) -> None:
    """Les alertes non lues (les plus récentes d'abord), avec ce que le partenaire a écrit."""
    from casework.inbound.alerts import open_alerts_query

    reader = Reader.of(context, reader_login)
    with context.app.db.read() as conn:
        rows = conn.execute(open_alerts_query(login, everything).limit(limit)).all()
    reader.saw()
    if not rows:
        click.echo("Aucune alerte." if everything else "Aucune alerte non lue.")
    for r in rows:
        seen = f"  lue par {r.seen_by}" if r.seen_at else ""
        who = printable(display_name(r.first_names, r.birth_name))
        click.echo(
            f"{r.id:>6}  {format_local(r.created_at)}  dossier n° {r.case_id} ({who}), "
            f"référent : {r.referent or 'aucun'}{seen}"
        )
        click.echo(
            f"        écrite par {printable(r.sender)} : "
            f"« {printable(r.subject or '(sans objet)')} »"
        )
        text = printable(r.text)
        if text:
            click.echo(f"        {text[:200]}{'…' if len(text) > 200 else ''}")


@alerts.command("seen")
@click.argument("alert_id", type=int)
@as_option("Qui l'a lue")
@click.pass_obj
def seen(context: Context, alert_id: int, login: str | None) -> None:
    """Marque une alerte comme lue."""
    from casework.inbound.alerts import AlertDesk

    actor = acting_person(context.app, login)
    AlertDesk(context.app).mark_seen(alert_id, actor)
    click.echo(f"Alerte n° {alert_id} marquée lue.")
