"""`casework serve --demo`: a fresh demo database, simulated people, a local mail catcher
and the demo's clock (fast, in working hours), served on this machine only."""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Iterable

import click

from casework.app import App, build_app, build_calendar
from casework.cli.demo import DEMO_DATABASE
from casework.cli.main import Context
from casework.cli.service import LOOPBACK, run_service
from casework.clock import FastClock
from casework.demo.clock import WorkingHoursClock, beat_seconds
from casework.migrate import upgrade
from casework.service.lifecycle import Service
from casework.settings import Settings


def serve_demo(
    context: Context,
    host: str | None,
    port: int | None,
    no_web: bool,
    sweep_interval: float | None,
    fast_clock: float | None,
    n_cases: int,
) -> None:
    """`casework serve --demo` (see `casework serve --help` and the README's Quick start)."""
    from casework.demo import (
        DemoPeople,
        cohort_start,
        demo_cases,
        prepare_demo_database,
        seed_cohort,
    )
    from casework.demo.accounts import demo_accounts
    from casework.demo.mailcatcher import MailCatcher

    _refuse_other_hosts(host)
    host = "127.0.0.1"
    settings = (
        context.settings if context.database_url else context.settings.with_database(DEMO_DATABASE)
    )
    port = port or settings.service.port
    speed = fast_clock or 3 * 86_400
    beat = beat_seconds(speed)
    # Before anything starts or connects: the demo empties only a database it created.
    prepare_demo_database(settings.database.url, wipe=True)
    # Mail goes to a catcher in this process (on a free port), shown at /mails; the links point
    # at this server.
    catcher = MailCatcher("127.0.0.1").start()
    settings = _demo_settings(settings, catcher.port, f"http://{host}:{port}", beat)
    cohort = 2025
    # Fast, and in working hours only: the digest's 08:00 is crossed every working day, and
    # the simulated people act and mail is sent in office hours (casework/demo/clock.py).
    clock = WorkingHoursClock(
        FastClock(cohort_start(cohort), speed), build_calendar(settings.calendar)
    )
    app = build_app(settings, clock)
    try:
        upgrade(app.db)
        seed_cohort(app, n_cases, cohort, seed=53)
        yours, example, housing = demo_cases(app)
        people = DemoPeople(app, seed=53, spared_cases=yours, spared_partner=housing)
        _echo_intro(app, speed, host, port, catcher.port, yours, example, demo_accounts(app))
        service = Service(app, sweep_interval or beat, before_sweep=people.act)
        # Beats this quick often find the previous round still going and are skipped, by
        # design (one round at a time): APScheduler would warn of each one.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        # Replies written on the catcher's pages are delivered as a mail server would.
        from casework.inbound.ingest import Ingestor

        ingestor = Ingestor(app, service.mail.signer)
        routes = catcher.routes(
            lambda raw: ingestor.ingest(raw, "demo"), settings.service.max_form_bytes
        )
        run_service(app, service, settings, host, port, no_web, extra_routes=routes)
    finally:
        app.close()
        catcher.stop()


def _refuse_other_hosts(host: str | None) -> None:
    # The demo's pages let anyone who reaches them act and write as the partners: this machine
    # only, whatever the settings say.
    if host not in (None, *LOOPBACK):
        raise click.ClickException(
            f"La démonstration n'écoute que sur cette machine (127.0.0.1) : --host {host} "
            "n'est pas accepté avec --demo."
        )


def _demo_settings(settings: Settings, catcher_port: int, base_url: str, beat: float) -> Settings:
    """The demo's settings: its mail to the local catcher, its links to this server, no real
    mailbox read, a link key of its own."""
    return dataclasses.replace(
        settings,
        # Replies come in through the catcher's form: a demo must never read (and flag as seen)
        # a real mailbox, or take mail for a real server, that a casework.toml nearby names.
        inbound=dataclasses.replace(settings.inbound, imap_enabled=False, lmtp_enabled=False),
        mail=dataclasses.replace(
            settings.mail,
            enabled=True,
            smtp_host="127.0.0.1",
            smtp_port=catcher_port,
            smtp_security="none",
            smtp_user="",
            base_url=base_url,
            # Always a key of its own: signed with a real deployment's keys, the demo's reply
            # addresses (an HMAC of a mail's number) would be valid there for that number.
            link_keys=secrets.token_urlsafe(32),
            # Demo time runs days per second: links must outlive a few real minutes.
            link_max_age_days=max(settings.mail.link_max_age_days, 3650),
            send_interval_seconds=beat,
            rate_per_second=0,
        ),
    )


def _echo_intro(
    app: App,
    speed: float,
    host: str,
    port: int,
    catcher_port: int,
    yours: Iterable[int],
    example: int | None,
    staff: tuple[str, list[str]],
) -> None:
    """What the demo made and where to look: the staff pages and their accounts (the password,
    the accounts), the catcher's page, the cases left to the person trying it, one case the
    simulation moves."""
    password, accounts = staff
    click.echo(_banner(app, speed))
    click.echo(
        f"Pages du personnel : http://{host}:{port}/ (identifiants ci-dessous)\n"
        f"  comptes : {', '.join(accounts)}\n  mot de passe de chacun : {password}"
    )
    click.echo(
        f"Courriels reçus : http://{host}:{port}/mails (boîte locale, SMTP {catcher_port}). "
        f"Les dossiers n° {', '.join(map(str, sorted(yours)))} et les fiches du partenaire "
        "logement vous sont laissés : agissez par les liens des courriels."
    )
    database = app.db.url.render_as_string(hide_password=True)
    click.echo(
        f"Un dossier du groupe test que la simulation fait vivre : casework --database "
        f"{database} history {example}"
    )


def _banner(app: App, speed: float) -> str:
    """What the demo made: the cases the files had in common (about `--cases`: rows set aside
    and pairs left for review make it a few less), its clock, its database."""
    from sqlalchemy import func, select

    from casework.models import Case

    with app.db.read() as conn:
        groups = dict(conn.execute(select(Case.group, func.count()).group_by(Case.group)).all())
    days = f"{speed / 86_400:g}".replace(".", ",")
    times = f"{speed:,.0f}".replace(",", " ")  # 259 200
    return (
        f"Démonstration : {sum(groups.values())} apprentis sur les deux fichiers générés "
        f"({groups.get('test', 0)} en groupe test, {groups.get('control', 0)} en groupe témoin), "
        f"horloge x{times} (1 seconde = {days} jour{'s' if speed >= 2 * 86_400 else ''}, "
        f"en heures ouvrées), base {app.db.url.render_as_string(hide_password=True)}."
    )
