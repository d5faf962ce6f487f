"""`casework privacy export` and `casework privacy rectify`: a young person's rights to a copy
of their data and to its correction (see `casework.privacy.export`, `.rectification`)."""

from __future__ import annotations

from pathlib import Path

import click

from casework.actors import Actor
from casework.app import App
from casework.cli.main import CheckedText, Context, acting_person, as_option, printable
from casework.cli.privacy import checked_person, person_options, privacy
from casework.french import os_error
from casework.models import Role
from casework.staff import user_row
from casework.text_limits import REASON

# Who may hand out a copy of everything held about a person.
EXPORTERS = frozenset({Role.ADMINISTRATOR, Role.MANAGER})
# Who may correct a person's details: those who follow people, and administrators.
RECTIFIERS = frozenset({Role.ADMINISTRATOR, Role.MANAGER, Role.COUNSELLOR})
EXPORT_PAGE = "casework privacy export"  # what the access log says was read


def _allowed(app: App, login: str | None, roles: frozenset[Role], what: str) -> Actor:
    actor = acting_person(app, login)
    with app.db.read() as conn:
        role = user_row(conn, actor.id).role
    if role not in roles:
        raise click.ClickException(f"« {printable(actor.id)} » ne peut pas {what}.")
    return actor


def _formats(value: str) -> tuple[str, ...]:
    from casework.privacy.export import FORMATS

    asked = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    wrong = [f for f in asked if f not in FORMATS]
    if wrong or not asked:
        raise click.BadParameter(
            f"« {printable(value)} » : attendu un ou plusieurs formats parmi json, html, pdf, "
            "séparés par des virgules.",
            param_hint="--format",
        )
    return asked


@privacy.command("export")
@person_options
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    metavar="DOSSIER",
    help="Où écrire la copie (un dossier, créé s'il manque).",
)
@click.option(
    "--format",
    "formats",
    default="json,html",
    show_default=True,
    metavar="FORMATS",
    help="json (la copie complète), html (à lire), pdf (à imprimer), séparés par des virgules.",
)
@as_option("Qui fait la copie (un administrateur ou un responsable d'équipe)", dest="login")
@click.pass_obj
def export_command(
    context: Context,
    person_id: int | None,
    case_id: int | None,
    folder: Path,
    formats: str,
    login: str | None,
) -> None:
    """Écrit tout ce que casework conserve sur une personne (droit d'accès et portabilité) :
    identité, contrats, dossiers et leur historique, contacts, bilans, fiches de liaison,
    alertes, courriels envoyés et reçus, lignes des fichiers importés, consultations.

    Les fichiers ne sont lisibles que par leur propriétaire. La demande est inscrite à
    l'historique de la personne, et la copie au journal des consultations.

    \b
    Exemples :
      casework privacy export 12 --out copies --as admin
      casework privacy export --case 31 --out copies --format json,html,pdf --as admin
    """
    from casework.accounts.access_log import record_access
    from casework.privacy.document import render_html
    from casework.privacy.export import as_json, file_names, read_holdings
    from casework.privacy.requests import Request, record_request
    from casework.timers.calendar import PARIS

    app = context.app
    wanted = _formats(formats)
    actor = _allowed(app, login, EXPORTERS, "faire la copie des données d'une personne "
                     "(réservé aux administrateurs et aux responsables d'équipe)")  # fmt: skip
    person = checked_person(context, person_id, case_id)
    privacy_settings = app.settings.privacy
    now = app.clock.now()
    names = file_names(person, now.astimezone(PARIS).date(), wanted)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(
            f"impossible de créer le dossier {folder} : {os_error(error, writing=True)}"
        ) from None
    # One transaction: the rows read, the request and the reads recorded, or nothing.
    with app.db.transaction() as conn:
        holdings = read_holdings(conn, person, now)
        document = as_json(holdings, privacy_settings.controller, privacy_settings.dpo_contact)
        html = render_html(
            conn,
            app.workflows,
            holdings,
            app.settings.paths.templates,
            privacy_settings.controller,
            privacy_settings.dpo_contact,
        )
        _write_all(folder, names, document, html)
        record_request(
            conn, person, Request.EXPORT, actor, now,
            files=list(names.values()), cases=list(holdings.keys.cases),
        )  # fmt: skip
        for case in holdings.keys.cases or (None,):
            record_access(conn, login=actor.id, page=EXPORT_PAGE, now=now, case_id=case)
    listed = ", ".join(names.values())
    click.echo(
        f"Copie des données de la personne n° {person} écrite dans {printable(folder)} : "
        f"{listed} (lisibles par vous seul)."
    )


def _write_all(folder: Path, names: dict[str, str], document: dict, html: str) -> None:
    """Every file, or none: those already written go if a later one cannot be."""
    from casework.privacy.export import write_html, write_json, write_pdf

    writers = {"json": lambda p: write_json(document, p), "html": lambda p: write_html(html, p)}
    writers["pdf"] = lambda p: write_pdf(html, p)
    done: list[Path] = []
    try:
        for fmt, name in names.items():
            writers[fmt](folder / name)
            done.append(folder / name)
    except OSError as error:
        for path in done:
            path.unlink(missing_ok=True)
        raise click.ClickException(
            f"impossible d'écrire la copie dans {folder} : {os_error(error, writing=True)}"
        ) from None


@privacy.command("rectify")
@person_options
@click.option(
    "--set",
    "pairs",
    multiple=True,
    required=True,
    metavar="CHAMP=VALEUR",
    help="Un champ corrigé (plusieurs fois) : nom, prenoms, date_naissance, sexe, telephone, "
    "courriel, adresse, code_postal, commune, responsable_nom, responsable_telephone, "
    "responsable_courriel. Une valeur vide efface un champ facultatif.",
)
@click.option(
    "--reason",
    required=True,
    type=CheckedText(REASON),
    metavar="MOTIF",
    help="Pourquoi (la demande de la personne, une erreur du fichier…), pour l'historique.",
)
@as_option("Qui corrige", dest="login")
@click.pass_obj
def rectify_command(
    context: Context,
    person_id: int | None,
    case_id: int | None,
    pairs: tuple[str, ...],
    reason: str,
    login: str | None,
) -> None:
    """Corrige l'identité ou les coordonnées d'une personne (droit de rectification).

    Chaque valeur est vérifiée comme à l'import ; rien n'est changé si l'une est refusée.
    L'historique de la personne dit quels champs ont changé, qui l'a fait et pourquoi, jamais
    les valeurs.

    \b
    Exemples :
      casework privacy rectify 12 --set telephone="06 12 34 56 78" --reason "appel du jeune"
      casework privacy rectify --case 31 --set code_postal=53000 --reason "déménagement"
    """
    from casework.privacy.rectification import FIELDS, checked, rectify

    app = context.app
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(
                f"« {printable(pair)} » : attendu CHAMP=VALEUR", param_hint="--set"
            )
        values[name.strip().lower()] = value
    new = checked(values)
    if not reason.strip():
        raise click.BadParameter("le motif ne peut pas être vide.", param_hint="--reason")
    actor = _allowed(app, login, RECTIFIERS, "corriger les données d'une personne")
    person = checked_person(context, person_id, case_id)
    with app.db.transaction() as conn:
        changed = rectify(conn, person, new, actor, app.clock.now(), reason)
    if not changed:
        click.echo(f"Personne n° {person} : ces valeurs sont déjà les siennes, rien n'est changé.")
        return
    fields = ", ".join(FIELDS[name].label for name in changed)  # « corrigé » would need a gender
    click.echo(f"Personne n° {person} : correction enregistrée ({fields}).")
