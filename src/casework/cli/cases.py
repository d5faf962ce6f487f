"""`casework case …`: look at cases and move them by hand (their history: `history.py`; handing
them to someone else: `handover.py`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import click
from sqlalchemy import Connection, select

from casework import wording
from casework.cli.main import Context, F, acting_person, as_option, printable
from casework.cli.reads import Reader, reader_option
from casework.clock import format_local, to_local
from casework.engine.entities import CASE, RowReader
from casework.labels import (
    ASSIGNMENT_METHOD,
    GROUP,
    LEARNER_STATUS,
    NEED_CATEGORY,
    RUPTURE_INITIATIVE,
)
from casework.models.beneficiary import age_on, display_name
from casework.models.contract import UNKNOWN_EMPLOYER
from casework.models.tables import SHEETS, USERS
from casework.queries import (
    CaseFilter,
    case_detail,
    count_by_state,
    definitions_of,
    list_cases,
)
from casework.staff import user_row
from casework.states.definition import WorkflowDef
from casework.states.machine import WorkflowMachine
from casework.text_hygiene import for_terminal
from casework.web.action_forms import person_actions


@click.group()
def case() -> None:
    """Consulter les dossiers et leur appliquer une action."""


@case.command("list")
@click.option(
    "--state",
    help="Seulement les dossiers dans cet état : son code (ex. follow_up) ou son libellé "
    "(ex. « Suivi mensuel »).",
)
@click.option(
    "--group",
    type=click.Choice(["test", "témoin", "control"]),
    callback=lambda _ctx, _param, value: {"témoin": "control"}.get(value, value),
    help="Groupe test ou témoin (control, en anglais, est aussi compris).",
)
@click.option("--cohort", type=int, help="Année de campagne.")
@click.option(
    "--for",
    "referent",
    metavar="IDENTIFIANT",
    help="Seulement les dossiers dont cette personne est référente.",
)
@click.option(
    "--due",
    is_flag=True,
    help="Seulement ceux où une action attend le référent : consentement à recueillir, point "
    "mensuel pas encore fait ce mois-ci, rupture à traiter, retour d'un partenaire à clore, "
    "fiche en retard (ce que liste son récapitulatif quotidien).",
)
@click.option(
    "--overdue",
    is_flag=True,
    help="Seulement ceux où une échéance est passée sans suite : consentement toujours pas "
    "recueilli après la relance, fiche de liaison en retard chez un partenaire, minuteur échu "
    "qui n'a pas encore agi ou en échec.",
)
@click.option("--limit", type=int, default=50, show_default=True, help="Nombre de lignes au plus.")
@click.option("--offset", type=int, default=0, help="Lignes à sauter (pagination).")
@click.option(
    "--summary",
    is_flag=True,
    help="Seulement le nombre de dossiers par groupe et état (avec les mêmes filtres).",
)
@reader_option
@click.pass_obj
def list_(
    context: Context,
    state: str | None,
    group: str | None,
    cohort: int | None,
    referent: str | None,
    due: bool,
    overdue: bool,
    limit: int,
    offset: int,
    summary: bool,
    reader_login: str | None,
) -> None:
    """Liste les dossiers (numéro, cohorte, groupe, état, depuis quand, apprenti, employeur).

    \b
    Exemples :
      casework case list --for claire --due
      casework case list --overdue --cohort 2026
      casework case list --summary --cohort 2026 --group test
    """
    app = context.app
    reader = Reader.of(context, reader_login)
    if state is not None:
        state = _state_code(context, state)
    late = timedelta(seconds=app.settings.timers.overdue_after_seconds)
    where = CaseFilter(
        state=state,
        group=group,
        cohort=cohort,
        referent=referent,
        due=due,
        overdue_before=app.clock.now() - late if overdue else None,
        workflows=tuple(app.workflows),
    )
    with app.db.read() as conn:
        if referent is not None:
            user_row(conn, referent)  # a typo is an error, not an empty list
        if summary:
            _summary(context, count_by_state(conn, where))
            return
        rows = list_cases(conn, where=where, limit=limit, offset=offset)
    reader.saw()  # one row for the listing (its filters in the command line), not one per case
    if not rows:
        click.echo("Aucun dossier.")
        return
    states = [_state_in_list(context, r) for r in rows]
    width = max(22, *(len(s) for s in states))
    click.echo(
        f"{'N°':>6}  {'Coh.':4}  {'Groupe':7}  {'État':{width}}  {'Depuis':16}  "
        "Apprenti — employeur"
    )
    for r, state_label in zip(rows, states, strict=True):
        name = printable(display_name(r.first_names, r.birth_name))
        employer = printable(r.employer_name or UNKNOWN_EMPLOYER)
        click.echo(
            f"{r.id:>6}  {r.cohort:4}  {GROUP.get(r.group, r.group):7}  {state_label:{width}}  "
            f"{format_local(r.state_since):16}  {name} — {employer}"
        )


list_.name = "list"


def _summary(context: Context, counts: list[Any]) -> None:
    """Counts by group and state, with their labels (people read it, not the codes)."""
    if not counts:
        click.echo("Aucun dossier.")
        return
    workflows = context.app.workflows
    several = len({(r.workflow_name, r.workflow_version) for r in counts}) > 1
    lines = []
    for r in counts:
        definition = workflows.find(r.workflow_name, r.workflow_version)
        label = wording.state(definition, r.state)
        if several:  # two programmes may both have a "follow_up": say whose
            label = f"{label} ({definition.label if definition else r.workflow_name})"
        lines.append((GROUP.get(r.group, r.group), label, r.n))
    width = max(len("État"), *(len(label) for _group, label, _n in lines))
    click.echo(f"{'Groupe':7}  {'État':{width}}  {'Dossiers':>8}")
    for group_label, label, n in lines:
        click.echo(f"{group_label:7}  {label:{width}}  {n:>8}")
    click.echo(f"{'Total':7}  {'':{width}}  {sum(n for _g, _l, n in lines):>8}")


def _state_code(context: Context, given: str) -> str:
    """A state named by its code or its label (any case workflow); an unknown one is an error
    listing the labels, not an empty list."""
    states = [
        (code, state.label or code)
        for definition in context.app.workflows
        if definition.entity == "case"
        for code, state in definition.states.items()
    ]
    folded = given.strip().casefold()
    for code, label in states:
        if given == code or label.casefold() == folded:
            return code
    known = " ; ".join(sorted({label for _code, label in states}))
    raise click.BadParameter(f"état « {given} » inconnu. États : {known}.", param_hint="--state")


def _state_in_list(context: Context, r: Any) -> str:
    """A case's state as `case list` shows it: its label, and the cycle while followed."""
    definition = context.app.workflows.find(r.workflow_name, r.workflow_version)
    label = wording.state(definition, r.state)
    state = definition.states.get(r.state)
    cycling = state is not None and CYCLES_TAG in state.tags  # the monthly follow-up
    return label + (f" ({r.cycle}/{_cycles(definition)})" if cycling else "")


def _referent_shown(conn: Connection, login: str | None) -> str:
    """Who follows the case, as people know them: name (login), and whether they left."""
    if login is None:
        return "aucun"
    user = conn.execute(select(USERS).where(USERS.c.login == login)).first()
    if user is None:
        return printable(login)
    left = "" if user.active else ", désactivé"
    return f"{printable(user.name)} ({printable(login)}{left})"


# States where a case goes through its cycles carry this tag (`workflows/case.yaml`).
CYCLES_TAG = "cycles"


def _cycles(definition: Any) -> Any:
    return definition.parameters.get("follow_up_cycles") if definition is not None else "?"


@case.command("show")
@click.argument("case_id", type=int)
@reader_option
@click.pass_obj
def show(context: Context, case_id: int, reader_login: str | None) -> None:
    """Affiche un dossier : apprenti, contrat, état, actions possibles, fiches de liaison
    (inscrit au journal des consultations)."""
    app = context.app
    reader = Reader.of(context, reader_login)
    with app.db.read() as conn:
        detail = case_detail(conn, case_id)
        (row,) = RowReader(CASE, lock=False, join=True).read(conn, [case_id])
        referent = _referent_shown(conn, detail.case.referent)
    reader.saw([case_id])
    c, b, k = detail.case, _printable_row(detail.beneficiary), _printable_row(detail.contract)
    definition = app.workflows.definition(c.workflow_name, c.workflow_version)
    machine = app.workflows.machine(c.workflow_name, c.workflow_version)
    sheets = app.workflows.latest("liaison").definition
    now = app.clock.now()
    click.echo(f"Dossier {c.id} — {b.first_names} {b.birth_name.upper()}")
    if b.birth_date is None:  # anonymised (`casework.privacy`): the year only
        born = f"Né(e) en {b.birth_year or '—'} (données anonymisées)"
    else:
        age = age_on(b.birth_date, to_local(now).date())
        born = f"Né(e) le {_d(b.birth_date)} ({age} ans{', mineur(e)' if age < 18 else ''})"
    click.echo(f"  {born}, tél. {b.phone or '—'}, courriel {b.email or '—'}")
    if b.guardian_name:
        click.echo(f"  Représentant légal : {b.guardian_name}, tél. {b.guardian_phone or '—'}")
    address = " ".join(p for p in (b.postcode, b.commune) if p)
    click.echo(f"  Adresse : {', '.join(p for p in (b.address_line, address) if p) or '—'}")
    click.echo(
        f"  Contrat {k.cma_number} : {k.employer_name or UNKNOWN_EMPLOYER} "
        f"({k.employer_trade or 'métier non renseigné'}), "
        f"du {_d(k.start_date)} au {_d(k.planned_end_date)}"
    )
    status = LEARNER_STATUS.get(k.learner_status or "", "non renseigné")
    click.echo(
        f"  CFA : {k.training_centre_name or '—'} ; diplôme : {k.diploma or '—'} ; "
        f"statut : {status}"
    )
    if k.rupture_date:
        initiative = RUPTURE_INITIATIVE.get(k.rupture_initiative or "", "initiative inconnue")
        click.echo(f"  Rupture le {_d(k.rupture_date)} ({initiative})")
    cycle = f", cycle {c.cycle}/{_cycles(definition)}" if c.cycle else ""
    method = ASSIGNMENT_METHOD.get(c.assignment_method, c.assignment_method)
    click.echo(f"  Cohorte {c.cohort}, groupe {GROUP.get(c.group, c.group)} ({method})")
    click.echo(f"  Référent : {referent}")
    click.echo(
        f"  État : {wording.state(definition, c.state)}{cycle}, "
        f"depuis le {format_local(c.state_since)}"
    )
    click.echo(f"  Version : {c.version} ({definition.label}, version {c.workflow_version})")
    _echo_actions(definition, machine, row, now)
    for s in detail.sheets:
        need = NEED_CATEGORY.get(s.need_category, s.need_category)
        click.echo(
            f"  Fiche {s.id} : {need} → {printable(s.partner_name)}, "
            f"{wording.state(sheets, s.state)} depuis le {format_local(s.state_since)}"
        )


def _echo_actions(
    definition: WorkflowDef, machine: WorkflowMachine, row: Any, now: datetime
) -> None:
    """What a person may do now (`case fire`): the codes to type, with their labels; the fields
    that apply to this case only (no guardian's agreement for an adult)."""
    actions = person_actions(definition, machine, row, now)
    if actions:
        click.echo(f"  Actions possibles (casework case fire {row.id} ACTION -d CHAMP=VALEUR) :")
    for action in sorted(actions, key=lambda a: a.trigger):
        fields = [f"{f.name}{'*' if f.required else ''} ({f.label})" for f in action.fields]
        click.echo(f"    {wording.action(definition, action.trigger)} : {action.trigger}")
        if fields:
            click.echo(f"      champs : {', '.join(fields)}")


def action_options(what: str) -> Callable[[F], F]:
    """What a command that fires an action takes: `-d CHAMP=VALEUR` (see `data_pairs`),
    `--expected-version`, `--as`."""

    def decorate(command: F) -> F:
        for option in reversed(
            (
                click.option(
                    "-d",
                    "--data",
                    "pairs",
                    multiple=True,
                    metavar="CHAMP=VALEUR",
                    help="Ce que l'action enregistre, un champ à la fois (répétable) ; une "
                    "liste se donne séparée par des virgules.",
                ),
                click.option(
                    "--expected-version",
                    type=int,
                    help=f"Refuser si {what} a changé depuis cette version.",
                ),
                as_option("Qui agit"),
            )
        ):
            command = option(command)
        return command

    return decorate


@case.command("fire")
@click.argument("case_id", type=int)
@click.argument("trigger")
@action_options("le dossier")
@click.pass_obj
def fire(
    context: Context,
    case_id: int,
    trigger: str,
    pairs: tuple[str, ...],
    expected_version: int | None,
    login: str | None,
) -> None:
    """Applique ACTION (le code d'une action, voir case show) au dossier n° DOSSIER, en une
    transaction."""
    data = data_pairs(pairs)
    actor = acting_person(context.app, login)
    with context.app.db.read() as conn:
        sheets_before = set(_sheet_ids(conn, case_id))
    done = context.app.engine.fire_case(case_id, trigger, actor, expected_version, **data)
    with context.app.db.read() as conn:
        definition = definition_of_case(context, conn, case_id)
        opened = [i for i in _sheet_ids(conn, case_id) if i not in sheets_before]
    step = wording.state(definition, done.source)
    if done.dest != done.source:
        step += f" → {wording.state(definition, done.dest)}"
    click.echo(f"Dossier {done.entity_id} : {wording.action(definition, trigger)} — {step}.")
    click.echo(f"Version du dossier : {done.version}.")
    for sheet_id in opened:  # a referral opens a sheet: its number is what comes next
        click.echo(
            f"Fiche de liaison n° {sheet_id} créée (brouillon) : "
            f"casework sheet fire {sheet_id} send pour l'envoyer au partenaire."
        )


def _sheet_ids(conn: Connection, case_id: int) -> list[int]:
    return list(conn.execute(select(SHEETS.c.id).where(SHEETS.c.case_id == case_id)).scalars())


@click.group("cases")
def cases() -> None:
    """Agir sur plusieurs dossiers à la fois."""


def definition_of_case(context: Context, conn: Connection, case_id: int) -> WorkflowDef | None:
    """The workflow the case runs on: its own programme and version."""
    return definitions_of(conn, context.app.workflows, [("case", case_id)]).get(("case", case_id))


def data_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    """`-d CHAMP=VALEUR` options as the fields of an action."""
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} : attendu CHAMP=VALEUR", param_hint="--data")
        data[key.strip()] = value
    return data


def _printable_row(row: Any) -> Any:
    """A row whose texts may be printed (see `printable`)."""
    values = row._asdict() if hasattr(row, "_asdict") else dict(row._mapping)
    return SimpleNamespace(
        **{
            k: for_terminal(v, keep_newlines=False) if isinstance(v, str) else v
            for k, v in values.items()
        }
    )


def _d(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "—"
