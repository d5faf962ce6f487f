"""`casework serve`, `status`, `timers` and `simulate`: running time forward."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from types import FrameType
from typing import Any

import click
from starlette.routing import BaseRoute

from casework import wording
from casework.app import App, build_app
from casework.cli.main import Context
from casework.clock import PARIS, FastClock, FixedClock, SystemClock, format_local, to_local
from casework.migrate import current_revision, head_revision
from casework.queries import definitions_of
from casework.service.lifecycle import Service
from casework.service.status import service_status, timer_text
from casework.settings import Settings

log = logging.getLogger("casework.cli")
LOOPBACK = ("127.0.0.1", "localhost")


def _ensure_schema(app: App) -> None:
    if current_revision(app.db) != head_revision(app.db):
        raise click.ClickException(
            "Le schéma de la base n'est pas à jour : lancez d'abord `casework init-db`."
        )


def _paris_date(value: str | None, at: time = time(9)) -> datetime | None:
    """The day typed (aaaa-mm-jj) at `at`, Paris time."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} : date attendue (aaaa-mm-jj)") from None
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(UTC)


@click.command("serve")
@click.option("--host", help="Adresse d'écoute (défaut : service.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (défaut : service.port, 8000).")
@click.option("--no-web", is_flag=True, help="Sans serveur HTTP : seulement les minuteurs.")
@click.option(
    "--sweep-interval", type=float, metavar="SECONDES", help="Intervalle entre deux balayages."
)
@click.option(
    "--fast-clock",
    type=float,
    metavar="VITESSE",
    help="Faire passer le temps VITESSE fois plus vite (démonstration ; 259200 = 3 jours/s).",
)
@click.option("--start", metavar="AAAA-MM-JJ", help="Avec --fast-clock : date de départ.")
@click.option(
    "--demo",
    is_flag=True,
    help="Base de démonstration neuve, apprentis fictifs simulés, sur 127.0.0.1 seulement "
    "(refuse une base qu'elle n'a pas créée).",
)
@click.option(
    "--cases",
    "n_cases",
    type=int,
    default=40,
    show_default=True,
    help="Avec --demo : combien d'apprentis environ (ceux que les deux fichiers générés ont "
    "en commun : quelques lignes écartées ou à examiner en font un peu moins).",
)
@click.pass_obj
def serve(
    context: Context,
    host: str | None,
    port: int | None,
    no_web: bool,
    sweep_interval: float | None,
    fast_clock: float | None,
    start: str | None,
    demo: bool,
    n_cases: int,
) -> None:
    """Lance le service : balaie les minuteurs échus et les déclenche, expose /health.

    Plusieurs processus peuvent tourner sur une même base PostgreSQL : chaque minuteur est
    déclenché une seule fois. SIGTERM termine le lot en cours puis arrête le service.
    """
    settings = context.settings
    if demo:
        from casework.cli.demo_service import serve_demo  # imports the demo's modules

        return serve_demo(context, host, port, no_web, sweep_interval, fast_clock, n_cases)
    clock = (
        SystemClock()
        if fast_clock is None
        else FastClock(_paris_date(start) or datetime.now(UTC), fast_clock)
    )
    app = build_app(settings, clock)
    try:
        _ensure_schema(app)
        run_service(app, Service(app, sweep_interval), settings, host, port, no_web)
    finally:
        app.close()


def run_service(
    app: App,
    service: Service,
    settings: Settings,
    host: str | None,
    port: int | None,
    no_web: bool,
    extra_routes: Sequence[BaseRoute] = (),
) -> None:
    if no_web:
        stop = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s received", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        service.start()
        try:
            stop.wait()
        finally:
            service.stop()
        return
    import uvicorn

    from casework.service.web import create_web_app

    config = uvicorn.Config(
        create_web_app(service, extra_routes),
        host=host or settings.service.host,
        port=port or settings.service.port,
        log_level=settings.logging.level.lower(),
        lifespan="on",
        # An access log would write every link's token (the URL) to the logs; the link pages
        # log what happened themselves, without it.
        access_log=False,
        # X-Forwarded-* are believed from `web.trusted_proxies` only, by the staff pages
        # themselves (casework/web/staff/security.py), not from any local address.
        proxy_headers=False,
    )
    if not settings.logging.personal_data:  # uvicorn's own handlers, just configured
        from casework.privacy import logs

        logs.install()
    click.echo(f"Service sur http://{config.host}:{config.port}/health (Ctrl-C pour arrêter).")
    uvicorn.Server(config).run()


@click.command("status")
@click.pass_obj
def status(context: Context) -> None:
    """Minuteurs en attente, échus, en retard, en échec ; chaque service (en marche ou arrêté,
    dernier balayage) et ses lecteurs de courriels."""
    app = context.app
    _ensure_schema(app)
    found = service_status(app)
    counts = found.timers
    click.echo(
        f"Minuteurs : {counts['pending']} en attente, {counts['due']} échus, "
        f"{counts['overdue']} en retard (plus de {found.overdue_after:.0f} s), "
        f"{counts['failed']} en échec."
    )
    for due_at, text in found.upcoming:
        click.echo(f"  prochain : {format_local(due_at)}  {text}")
    if not found.processes:
        click.echo("Aucun service n'a encore tourné sur cette base.")
    for process in found.processes:
        click.echo(process.line)
        for reader in process.readers:
            click.echo(f"  {reader}")


SWEPT = {
    "fired": "déclenché(s)",
    "discarded": "écarté(s)",
    "retried": "à réessayer",
    "failed": "mis de côté en échec",
}


def _swept(app: App, report: Any) -> str:
    """A sweep as `simulate` tells it: "3 déclenché(s) (Relancer pour le consentement ×2, …)"."""
    return str(report.told(lambda t: wording.any_action(app.workflows, t), SWEPT))


@click.command("timers")
@click.option("--failed", is_flag=True, help="Les minuteurs en échec, avec la raison.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_obj
def timers(context: Context, failed: bool, limit: int) -> None:
    """Liste les prochains minuteurs (ou ceux en échec avec --failed)."""
    app = context.app
    _ensure_schema(app)
    store = app.engine.timers
    with app.db.read() as conn:
        rows = store.failed(conn, limit) if failed else store.upcoming(conn, limit)
        definitions = definitions_of(conn, app.workflows, ((t.entity, t.entity_id) for t in rows))
    if not rows:
        click.echo("Aucun minuteur en échec." if failed else "Aucun minuteur en attente.")
        return
    for t in rows:
        definition = definitions.get((t.entity, t.entity_id))
        state = wording.state(definition, t.state)
        click.echo(
            f"{t.id:>8}  {format_local(t.due_at)}  {timer_text(definition, t)} (état : {state}), "
            f"{t.attempts} tentative(s)"
        )
        if failed:
            click.echo(f"          raison : {t.last_error}")


@click.command("simulate")
@click.option("--days", type=int, required=True, help="Combien de jours faire passer.")
@click.option(
    "--from", "start", metavar="AAAA-MM-JJ", help="Date de départ (défaut : aujourd'hui)."
)
@click.option("--step-hours", type=float, default=24.0, show_default=True, help="Pas de l'horloge.")
@click.option(
    "--mail",
    "send_mail",
    is_flag=True,
    help="Envoyer aussi, à chaque pas, les courriels échus à l'heure simulée (au relais).",
)
@click.pass_obj
def simulate(
    context: Context, days: int, start: str | None, step_hours: float, send_mail: bool
) -> None:
    """Fait avancer une horloge simulée et déclenche les minuteurs échus à chaque pas.

    Six mois de suivi passent en quelques secondes ; tout est enregistré comme en vrai. Les
    courriels que ces étapes demandent sont datés du jour simulé : --mail les envoie au fil du
    temps simulé (sans lui, ils partent quand leur date arrive vraiment).
    """
    clock = FixedClock(_paris_date(start) or datetime.now(UTC))
    app = build_app(context.settings, clock)
    try:
        _ensure_schema(app)
        end = clock.now() + timedelta(days=days)
        step = timedelta(hours=step_hours)
        total = sent = 0
        sender = None
        if send_mail:
            from casework.notify.sender import MailSender

            sender = MailSender(app)
        while clock.now() < end:
            clock.advance(min(step, end - clock.now()))
            report = app.sweeper.drain(clock.now())
            fired = sum(report.fired.values())
            total += fired
            if report.claimed:
                click.echo(f"{to_local(clock.now()):%d/%m/%Y} : {_swept(app, report)}")
            if sender is not None:
                round_ = sender.drain_sync()
                sent += round_.sent
                if round_.errors:  # the relay is down: the rest would fail the same way
                    raise click.ClickException(
                        f"envoi impossible le {to_local(clock.now()):%d/%m/%Y} : "
                        f"{'; '.join(round_.errors)} ({sent} courriel(s) envoyé(s) jusque-là ; "
                        "les autres partiront quand le relais répondra)"
                    )
        click.echo(f"{days} jour(s) simulé(s) : {total} minuteur(s) déclenché(s).")
        if sender is not None:
            click.echo(f"{sent} courriel(s) envoyé(s).")
    finally:
        app.close()
