"""`casework demo`: a cohort followed through its workflows, on a simulated clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import click
from sqlalchemy import func, select

from casework.app import build_app
from casework.cli.main import Context
from casework.clock import FixedClock
from casework.demo import prepare_demo_database, run_story
from casework.migrate import upgrade
from casework.models import Case

DEMO_DATABASE = "sqlite:///var/demo.sqlite3"


@click.command("demo")
@click.option(
    "--cases",
    "n_cases",
    type=int,
    default=40,
    show_default=True,
    help="Combien d'apprentis environ (ceux que les deux fichiers générés ont en commun).",
)
@click.option("--cohort", type=int, default=2025, show_default=True, help="Année de campagne.")
@click.option("--days", type=int, default=200, show_default=True, help="Jours simulés.")
@click.option(
    "--seed",
    type=int,
    default=53,
    show_default=True,
    help="Graine du hasard (même graine, même histoire).",
)
@click.option(
    "--fresh", is_flag=True, help="Repartir d'une base vide (seulement une base de la démo)."
)
@click.pass_obj
def demo(context: Context, n_cases: int, cohort: int, days: int, seed: int, fresh: bool) -> None:
    """Crée des apprentis fictifs et fait passer six mois de suivi en quelques secondes.

    Chaque jour simulé, des personnes fictives agissent (consentement, points mensuels, fiches
    de liaison, ruptures) et les minuteurs échus se déclenchent (relances, cycles, échéances),
    comme dans le service. Sans --database, la démo a sa propre base (var/demo.sqlite3) ;
    elle refuse une base qu'elle n'a pas créée.
    """
    settings = (
        context.settings if context.database_url else context.settings.with_database(DEMO_DATABASE)
    )
    # Before anything connects: a database the demo did not create is refused, untouched.
    prepare_demo_database(settings.database.url, wipe=fresh)
    clock = FixedClock(datetime(cohort, 12, 15, tzinfo=UTC))
    app = build_app(settings, clock)
    try:
        upgrade(app.db)
        with app.db.read() as conn:
            existing = conn.execute(select(func.count()).select_from(Case)).scalar_one()
        if existing:
            raise click.ClickException(
                f"La base contient déjà {existing} dossiers : relancez avec --fresh (SQLite) "
                "ou choisissez une autre base."
            )
        click.echo(f"Base : {app.db.url.render_as_string(hide_password=True)}")
        if not context.verbose:  # the story says what happens; the sweep's log would repeat it
            for chatty in ("casework.sweep", "casework.demo"):
                logging.getLogger(chatty).setLevel(logging.WARNING)
        run_story(app, clock, click.echo, n_cases, cohort, seed, days)
    finally:
        app.close()
