"""`casework demo`: a cohort followed through its workflows, on a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import func, select

from casework.app import build_app
from casework.cli.main import Context
from casework.clock import FixedClock
from casework.demo import Demo
from casework.migrate import upgrade
from casework.models import Case

DEMO_DATABASE = "sqlite:///var/demo.sqlite3"


@click.command("demo")
@click.option(
    "--cases", "n_cases", type=int, default=40, show_default=True, help="Nombre d'apprentis."
)
@click.option("--cohort", type=int, default=2025, show_default=True, help="Année de campagne.")
@click.option(
    "--seed",
    type=int,
    default=53,
    show_default=True,
    help="Graine du hasard (même graine, même histoire).",
)
@click.option("--fresh", is_flag=True, help="Repartir d'une base SQLite vide.")
@click.pass_obj
def demo(context: Context, n_cases: int, cohort: int, seed: int, fresh: bool) -> None:
    """Crée des apprentis fictifs et les fait avancer dans leurs workflows, mois après mois.

    Sans --database, la démo utilise sa propre base (var/demo.sqlite3). Tout passe par le
    moteur, comme en vrai : regardez ensuite `casework --database sqlite:///var/demo.sqlite3
    history N`.
    """
    settings = (
        context.settings if context.database_url else context.settings.with_database(DEMO_DATABASE)
    )
    clock = FixedClock(datetime(cohort, 12, 15, tzinfo=UTC))
    app = build_app(settings, clock)
    try:
        if fresh:
            if not app.db.is_sqlite:
                raise click.ClickException("--fresh n'efface qu'une base SQLite.")
            app.db.dispose()
            path = app.db.url.database
            if path:
                for suffix in ("", "-wal", "-shm"):
                    Path(path + suffix).unlink(missing_ok=True)
        upgrade(app.db)
        with app.db.read() as conn:
            existing = conn.execute(select(func.count()).select_from(Case)).scalar_one()
        if existing:
            raise click.ClickException(
                f"La base contient déjà {existing} dossiers : relancez avec --fresh (SQLite) "
                "ou choisissez une autre base."
            )
        click.echo(f"Base : {app.db.url.render_as_string(hide_password=True)}")
        Demo(app, clock, click.echo, seed).run(n_cases, cohort)
    finally:
        app.close()
