"""The command group, its shared options, and how errors reach the user."""

from __future__ import annotations

import contextlib
import getpass
import logging
import sys
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from casework.actors import Actor
from casework.app import App, build_app
from casework.cli import click_fr
from casework.errors import CaseworkError
from casework.settings import Settings, load_settings
from casework.text_hygiene import for_terminal
from casework.text_limits import TextKind, TextRefused, shown

F = TypeVar("F", bound=Callable[..., Any])
click_fr.install()  # "Utilisation :", "Affiche cette aide et quitte.", "Option manquante"…

EPILOG = """\b
Exemples :
  casework init-db
  casework workflows check
  casework workflows show case --mermaid > case.md
  casework case list --state follow_up
  casework case fire 12 record_contact -d channel=phone -d duration_min=20
  casework history 12
  casework serve
  casework status
  casework timers --failed
  casework simulate --days 180
  casework mail status
  casework mail list --status failed
  casework links revoke --user referente --reason "départ"
  casework users add claire --name "Claire Martin" --email claire@ml.example --territory 53
  casework users deactivate claire --to paul --reason "départ"
  casework users set-password claire
  casework privacy access-log --case 12 --as admin
  casework case reassign 12 --to paul
  casework cases handover --from claire --to paul
  casework case list --for claire --due
  casework inbound list
  casework inbound attach 31 12
  casework intake import cma contrats.csv
  casework intake match 2026
  casework partners import partenaires.csv
  casework case propose 12 --need logement
  casework demo --cases 30
  casework power --baseline 0.20 --target 0.135
  casework export --cohort 2026 --out evaluation-2026.xlsx
"""


class Context:
    """Settings and the application, built on first use (so `--help` needs no database)."""

    def __init__(self, config: str | None, database_url: str | None, verbose: bool = False):
        self.config, self.database_url, self.verbose = config, database_url, verbose

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.config)
        return settings.with_database(self.database_url) if self.database_url else settings

    @cached_property
    def app(self) -> App:
        return build_app(self.settings)


class _Group(click.Group):
    """Turns casework's own errors into a French message and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CaseworkError as exc:
            raise click.ClickException(exc.french()) from exc
        except DBAPIError as exc:
            schema = _schema_missing(ctx)
            if schema is None:
                raise
            raise click.ClickException(schema) from exc


def _schema_missing(ctx: click.Context) -> str | None:
    """A database error in a folder whose database has no schema, or an old one (a command run
    before `casework init-db`, or from another folder): said as such, not a traceback."""
    from casework.migrate import current_revision, head_revision

    context = ctx.find_object(Context)
    if context is None or "app" not in context.__dict__:
        return None
    try:
        db = context.app.db
        current, head = current_revision(db), head_revision(db)
    except Exception:  # the database itself is unreachable: the original error says more
        return None
    if current == head:
        return None
    where = printable(db.engine.url.render_as_string(hide_password=True))
    if current is None:
        return (
            f"la base {where} n'a pas de schéma : lancez d'abord `casework init-db` "
            "(ou lancez la commande depuis le dossier de la saison)."
        )
    return f"la base {where} n'est pas à jour : lancez `casework init-db` pour la mettre à jour."


@click.group(
    cls=_Group,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    metavar="FICHIER",
    type=click.Path(dir_okay=False),
    help="Les réglages, au format TOML (défaut : ./casework.toml ou $CASEWORK_CONFIG).",
)
@click.option(
    "--database", "database_url", metavar="URL", help="Base de données (remplace la configuration)."
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Journal détaillé (niveau DEBUG) ; sans cette option, seul `serve` écrit son journal "
    "(au niveau des réglages), les autres commandes seulement les avertissements.",
)
@click.pass_context
def main(ctx: click.Context, config: str | None, database_url: str | None, verbose: bool) -> None:
    """casework : suivi des apprentis par workflows, minuteurs et courriels.

    Les réglages viennent de casework.toml puis des variables d'environnement CASEWORK_*.
    Par défaut, la base est un fichier SQLite dans ./var/.
    """
    context = Context(config, database_url, verbose)
    ctx.obj = context
    level = logging.DEBUG if verbose else logging.WARNING
    if not verbose and ctx.invoked_subcommand == "serve":
        # The service's log is its record (journalctl): at the configured level. A one-shot
        # command says what it did in French on stdout; its English log lines only with -v.
        # A broken configuration is reported by the command that needs it, in French.
        with contextlib.suppress(CaseworkError):
            level = getattr(logging, context.settings.logging.level.upper())
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not verbose:  # the libraries' step-by-step logs drown ours
        for noisy in ("transitions", "alembic", "apscheduler", "mail.log"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    _guard_logs(context)
    ctx.call_on_close(lambda: context.__dict__.get("app") and context.app.close())


def _guard_logs(context: Context) -> None:
    """No personal data in the logs (`casework.privacy.logs`), unless `[logging]
    personal_data` says otherwise: then every command says so at start, on stderr and in the
    log. A configuration that cannot be read keeps the filter (its command reports it)."""
    from casework.privacy import logs

    personal = False
    with contextlib.suppress(CaseworkError):
        personal = context.settings.logging.personal_data
    if personal:
        click.echo(logs.WARNING_FRENCH, err=True)
        logs.warn()
    else:
        logs.install()


@main.command("init-db")
@click.pass_obj
def init_db(context: Context) -> None:
    """Crée ou met à jour le schéma de la base (migrations Alembic)."""
    from casework.migrate import current_revision, upgrade

    app = context.app
    before = current_revision(app.db)
    upgrade(app.db)
    after = current_revision(app.db)
    where = app.db.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"Base déjà à jour ({where}, révision {after}).")
    else:
        click.echo(f"Base mise à jour : {before or 'vide'} → {after} ({where}).")


def as_option(what: str, dest: str = "login") -> Callable[[F], F]:
    """`--as LOGIN`: who a command acts as, for the audit log (see `acting_person`)."""
    return click.option(
        "--as",
        dest,
        envvar="CASEWORK_AS",
        metavar="IDENTIFIANT",
        help=f"{what} : un utilisateur actif (défaut : $CASEWORK_AS, sinon l'utilisateur du "
        "terminal).",
    )


def acting_person(app: App, login: str | None) -> Actor:
    """The person a command acts as: `--as LOGIN` (or $CASEWORK_AS), else the terminal's
    login. Either way it must be an active user: the audit log names people, not any string
    typed on a command line."""
    from casework.models import User

    given = login is not None
    login = login if given else getpass.getuser()
    users = User.__table__
    with app.db.read() as conn:
        found = conn.execute(select(users.c.active).where(users.c.login == login)).first()
    who = f"« {printable(login)} »"
    if found is None:
        hint = "" if given else " (l'utilisateur du terminal ; précisez --as IDENTIFIANT)"
        raise click.ClickException(
            f"{who}{hint} n'est pas un utilisateur de casework : voir `casework users add`."
        )
    if not found.active:
        raise click.ClickException(f"{who} est un utilisateur désactivé : il ne peut plus agir.")
    return Actor.person(login)


class CheckedText(click.ParamType):
    """A text typed on the command line, checked as its kind of text is everywhere
    (`casework.text_limits`): a control character or an overlong value is refused, in
    French, before anything is written."""

    name = "texte"

    def __init__(self, kind: TextKind):
        self.kind = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return self.kind.check(str(value))
        except TextRefused as refused:
            self.fail(f"« {shown(value)} » : {refused}", param, ctx)


def printable(value: object) -> str:
    """A value from the database or from outside as it may be printed on one line: escape
    sequences and control characters removed (a name or a mail subject could otherwise clear
    the screen, or fake lines of output)."""
    return for_terminal("" if value is None else str(value), keep_newlines=False)


def _register() -> None:
    from casework.cli import (
        accounts,
        alerts,
        cases,
        catcher,  # noqa: F401  (`mail catcher`, on the `mail` group)
        demo,
        export,
        handover,  # noqa: F401  (`case reassign`, `cases handover`)
        history,
        inbound,
        intake,
        intake_assign,  # noqa: F401  (`intake assign`, on the `intake` group)
        launch,  # noqa: F401  (`cases start`, on the `cases` group)
        links,
        mail,
        partners,
        power,
        privacy,
        privacy_access,
        privacy_purge,  # noqa: F401  (`privacy purge`, `privacy erase`)
        privacy_register,  # noqa: F401  (`privacy register`, on the `privacy` group)
        privacy_rights,  # noqa: F401  (`privacy export`, `privacy rectify`)
        report,
        service,
        sheets,
        users,
        workflows,
    )

    main.add_command(workflows.workflows)
    main.add_command(cases.case)
    main.add_command(cases.cases)
    main.add_command(history.history)
    main.add_command(demo.demo)
    main.add_command(mail.mail)
    main.add_command(links.links)
    main.add_command(inbound.inbound)
    main.add_command(alerts.alerts)
    main.add_command(intake.intake)
    main.add_command(partners.partners)
    cases.case.add_command(partners.propose)
    main.add_command(sheets.sheet)
    main.add_command(users.users)
    users.users.add_command(accounts.set_password_command)
    main.add_command(privacy_access.alias)  # the former name of `privacy access-log`
    main.add_command(power.power)
    main.add_command(export.export)
    main.add_command(report.report)
    main.add_command(privacy.privacy)
    for command in (service.serve, service.status, service.timers, service.simulate):
        main.add_command(command)


_register()
