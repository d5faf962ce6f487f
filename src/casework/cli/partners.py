"""`casework partners …`: the partner directory; `casework case propose`: whom to refer to."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import IntegrityError

from casework.cli.main import CheckedText, Context, acting_person, as_option, printable
from casework.clock import format_local
from casework.intake.fields import Invalid
from casework.labels import CONTACT_ROLE, NEED_CATEGORY
from casework.partners import described
from casework.partners.vocabulary import (
    parse_email,
    parse_needs,
    parse_phone,
    parse_role,
)
from casework.text_limits import NAME, shown

log = logging.getLogger(__name__)

EXAMPLES = """\b
Exemples :
  casework partners import examples/partenaires.csv --dry-run
  casework partners import examples/partenaires.csv --as claire
  casework partners list --need logement
  casework partners show "ADLJ 53"
  casework partners add-contact "ADLJ 53" accueil@adlj53.example --name "Sophie Martin"
  casework partners reachable accueil@adlj53.example --as claire
  casework partners deactivate "Conseil départemental de la Sarthe" --as claire
  casework case propose 12 --need logement
"""


@click.group("partners", epilog=EXAMPLES)
def partners() -> None:
    """L'annuaire des partenaires : qui reçoit les fiches de liaison, pour quels besoins, où."""


class Parsed(click.ParamType):
    """A value read as a partner file's cell is (`casework.partners.vocabulary`): refused in
    French, with the reason."""

    def __init__(self, name: str, parse: Callable[[Any], Any]):
        self.name, self.parse = name, parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self.parse(value)
        except Invalid as error:
            self.fail(f"« {printable(shown(value))} » : {error}", param, ctx)


def _one_need(value: Any) -> str:
    needs = parse_needs(str(value))
    if len(needs) != 1:
        raise Invalid("un seul besoin à la fois")
    return needs[0]


NEED = Parsed("besoin", _one_need)


@partners.command("import", epilog=EXAMPLES)
@click.argument("path", metavar="FICHIER", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Montrer ce qui changerait, sans rien écrire.")
@as_option("Qui importe")
@click.pass_obj
def import_partners(context: Context, path: Path, dry_run: bool, login: str | None) -> None:
    """Importe l'annuaire depuis un fichier CSV, XLSX ou TOML, entier ou pas du tout.

    Tableur : une ligne par contact (colonnes Nom, Type, Besoins, Territoire, SIRET, UAI,
    Délai accusé de réception, Délai de retour, Contact, Courriel, Téléphone, Rôle). Un
    partenaire est reconnu à son nom : réimporter met à jour celui qui porte ce nom ; une case
    vide laisse ce qui est enregistré ; les partenaires et contacts absents du fichier restent
    tels quels.
    """
    from casework.partners.directory import apply_import, plan_import
    from casework.partners.reading import read_partners

    app = context.app
    actor = acting_person(app, login)
    found = read_partners(path, app.settings.intake)
    if found.problems:
        for problem in found.problems[:50]:
            click.echo(f"  {printable(problem)}", err=True)
        if len(found.problems) > 50:
            click.echo(f"  … et {len(found.problems) - 50} autres", err=True)
        raise click.ClickException(
            f"{path.name} refusé : {_count(len(found.problems), 'problème')} ; rien n'est importé."
        )
    if dry_run:
        with app.db.read() as conn:
            changes = plan_import(conn, found.entries)
    else:
        try:
            with app.db.transaction() as conn:
                changes = plan_import(conn, found.entries)
                apply_import(conn, changes, app.clock.now(), actor, path.name)
        except IntegrityError:  # a partner of that (folded) name was created meanwhile
            raise click.ClickException(
                f"{path.name} : l'annuaire a changé pendant l'import (un autre import en même "
                "temps ?) ; rien n'est importé, relancez la commande."
            ) from None
    contacts = sum(len(e.contacts) for e in found.entries)
    click.echo(
        f"{'Simulation — ' if dry_run else ''}{path.name} ({found.described}) : "
        f"{_count(len(found.entries), 'partenaire')}, {_count(contacts, 'contact')}."
    )
    for change in changes:
        click.echo(f"  {_change(change)}")
    if found.ignored:
        click.echo(f"Colonnes ignorées : {printable(', '.join(found.ignored))}.")
    created = sum(c.partner_id is None for c in changes)
    updated = sum(c.partner_id is not None and bool(c.values) for c in changes)
    verb = "Seraient créés" if dry_run else "Créés"
    click.echo(
        f"{verb} : {_count(created, 'partenaire')} ; modifiés : {_count(updated, 'partenaire')} ; "
        f"contacts ajoutés : {sum(len(c.new_contacts) for c in changes)}, modifiés : "
        f"{sum(len(c.changed_contacts) for c in changes)}."
        + (" Rien n'est écrit." if dry_run else "")
    )
    if not dry_run:
        log.info("partner directory: %s imported by %s", path.name, actor.id)


def _change(change: Any) -> str:
    name = printable(change.entry.name)
    contacts = []
    if change.new_contacts:
        contacts.append(_count(len(change.new_contacts), "contact ajouté", "contacts ajoutés"))
    if change.changed_contacts:
        changed = len(change.changed_contacts)
        contacts.append(_count(changed, "contact modifié", "contacts modifiés"))
    if change.partner_id is None:
        return f"nouveau : {name}" + (f" ({', '.join(contacts)})" if contacts else "")
    said = ([", ".join(change.what)] if change.values else []) + contacts
    inactive = " — désactivé, le reste" if change.inactive else ""
    if not said:
        return f"inchangé : {name}{inactive}"
    return f"modifié : {name} ({' ; '.join(said)}){inactive}"


@partners.command("list")
@click.option("--need", type=NEED, help="Seulement ceux qui traitent ce besoin (ex. logement).")
@click.option("--all", "everyone", is_flag=True, help="Aussi les partenaires désactivés.")
@click.pass_obj
def list_partners(context: Context, need: str | None, everyone: bool) -> None:
    """Les partenaires : numéro, nom, type, besoins, territoire, délais, contacts."""
    from casework.partners.directory import contacts_of, list_partners

    with context.app.db.read() as conn:
        rows = list_partners(conn, need, everyone)
        contacts = contacts_of(conn, [p.id for p in rows])
    if not rows:
        click.echo("Aucun partenaire." if need is None else "Aucun partenaire pour ce besoin.")
        return
    for p in rows:
        people = contacts[p.id]
        lost = sum(c.unreachable for c in people)
        said = _count(len(people), "contact") + (f" dont {lost} injoignable" if lost else "")
        off = " — désactivé" if not p.active else ""
        click.echo(f"{p.id:>4}  {_named(p.name, p.kind)}{off}")
        click.echo(
            f"      {_needs(p.need_categories)} — {_territory(p)} — {_deadlines(p)} — {said}"
        )


@partners.command("show")
@click.argument("key", metavar="PARTENAIRE")
@click.pass_obj
def show(context: Context, key: str) -> None:
    """Un partenaire (par son numéro ou son nom) : tout ce que l'annuaire en sait, et son
    historique (qui l'a créé, modifié, désactivé, qui a ajouté ses contacts)."""
    from casework.partners.audit import happened, partner_events
    from casework.partners.directory import contacts_of, find_partner, open_sheets

    app = context.app
    with app.db.read() as conn:
        p = find_partner(conn, key)
        people = contacts_of(conn, [p.id])[p.id]
        sheets = open_sheets(conn, p.id, _final_sheet_states(context))
        history = partner_events(conn, p.id)
    click.echo(f"Partenaire n° {p.id} — {_named(p.name, p.kind)}")
    if not p.active:
        click.echo(
            f"  Désactivé le {format_local(p.deactivated_at)} par {printable(p.deactivated_by)} :"
            " ne reçoit plus de nouvelles fiches"
        )
    click.echo(f"  Besoins : {_needs(p.need_categories)}")
    click.echo(f"  Territoire : {_territory(p)}")
    ids = [f"SIRET {p.siret}" if p.siret else "", f"UAI {p.uai}" if p.uai else ""]
    click.echo(f"  Identifiants : {', '.join(i for i in ids if i) or '—'}")
    click.echo(f"  Délais : {_deadlines(p)}")
    click.echo(f"  Fiches en cours : {sheets}")
    if not people:
        click.echo("  Aucun contact : les fiches ne pourraient être remises à personne.")
    for c in people:
        phone = f", tél. {printable(c.phone)}" if c.phone else ""
        lost = " — injoignable (courriel revenu en erreur)" if c.unreachable else ""
        click.echo(
            f"  {CONTACT_ROLE[c.role].capitalize()} : {printable(c.name)} "
            f"<{printable(c.email)}>{phone}{lost}"
        )
    if history:
        click.echo("  Historique :")
    for event in history:
        by = f" (par {printable(event.actor)})" if event.actor_kind == "person" else ""
        click.echo(f"    {format_local(event.at)}  {printable(happened(event))}{by}")


@partners.command("add-contact", epilog=EXAMPLES)
@click.argument("key", metavar="PARTENAIRE")
@click.argument("email", metavar="COURRIEL", type=Parsed("courriel", parse_email))
@click.option("--name", type=CheckedText(NAME), help="Son nom (défaut : celui du partenaire).")
@click.option("--phone", type=Parsed("téléphone", parse_phone), help="Son téléphone.")
@click.option(
    "--role",
    type=Parsed("rôle", parse_role),
    default="contact",
    show_default=True,
    help="contact : reçoit les fiches et les relances ; responsable : reçoit les escalades.",
)
@as_option("Qui l'ajoute")
@click.pass_obj
def add_contact(
    context: Context,
    key: str,
    email: str,
    name: str | None,
    phone: str | None,
    role: str,
    login: str | None,
) -> None:
    """Ajoute un contact à un partenaire (ou met à jour celui qui a cette adresse)."""
    from casework.partners.directory import add_contact, find_partner
    from casework.partners.reading import ContactEntry

    app = context.app
    actor = acting_person(app, login)
    contact = ContactEntry(0, email, name, phone, role)
    with app.db.transaction() as conn:
        partner = find_partner(conn, key)
        _id, new = add_contact(conn, partner, contact, app.clock.now(), actor)
    verb = "ajouté à" if new else "mis à jour chez"
    role_said = CONTACT_ROLE[contact.role]
    click.echo(f"Contact {email} ({role_said}) {verb} {printable(partner.name)}.")


@partners.command("deactivate", epilog=EXAMPLES)
@click.argument("key", metavar="PARTENAIRE")
@as_option("Qui le désactive")
@click.pass_obj
def deactivate(context: Context, key: str, login: str | None) -> None:
    """Ne plus adresser de fiches à ce partenaire : il n'est plus proposé et `refer` le
    refuse. Ses fiches en cours continuent (relances comprises)."""
    _set_active(context, key, login, active=False)


@partners.command("reactivate")
@click.argument("key", metavar="PARTENAIRE")
@as_option("Qui le réactive")
@click.pass_obj
def reactivate(context: Context, key: str, login: str | None) -> None:
    """Adresser de nouveau des fiches à un partenaire désactivé."""
    _set_active(context, key, login, active=True)


def _set_active(context: Context, key: str, login: str | None, active: bool) -> None:
    from casework.partners.directory import find_partner, open_sheets, set_active

    app = context.app
    actor = acting_person(app, login)
    with app.db.transaction() as conn:
        partner = find_partner(conn, key)
        name = printable(partner.name)
        if partner.active == active:
            click.echo(f"{name} est déjà {'actif' if active else 'désactivé'}.")
            return
        set_active(conn, partner, active, actor, app.clock.now())
        sheets = open_sheets(conn, partner.id, _final_sheet_states(context))
    if active:
        click.echo(f"{name} est de nouveau proposé et reçoit des fiches.")
        return
    click.echo(f"{name} est désactivé : il n'est plus proposé et ne reçoit plus de fiches.")
    if sheets:
        click.echo(
            f"Ses {_count(sheets, 'fiche en cours', 'fiches en cours')} continuent, relances "
            "comprises."
            if sheets > 1
            else "Sa fiche en cours continue, relances comprises."
        )


@partners.command("reachable", epilog=EXAMPLES)
@click.argument("email", metavar="COURRIEL", type=Parsed("courriel", parse_email))
@as_option("Qui le signale")
@click.pass_obj
def reachable(context: Context, email: str, login: str | None) -> None:
    """Une adresse marquée injoignable (un courriel revenu en erreur) l'est de nouveau :
    elle reçoit les fiches et relances. Une vraie réponse de sa part le fait aussi."""
    from casework.partners.directory import mark_reachable

    app = context.app
    actor = acting_person(app, login)
    with app.db.transaction() as conn:
        contacts, flagged = mark_reachable(conn, email, actor, app.clock.now())
    if not contacts:
        raise click.ClickException(f"Aucun contact de partenaire n'a l'adresse {email}.")
    if not flagged:
        click.echo(f"{email} n'était pas marquée injoignable.")
    else:
        click.echo(f"{email} est de nouveau joignable.")


@click.command("propose")
@click.argument("case_id", type=int)
@click.option("--need", type=NEED, required=True, help="Le besoin (ex. logement, santé).")
@click.option("--limit", type=int, default=10, show_default=True, help="Propositions au plus.")
@click.pass_obj
def propose(context: Context, case_id: int, need: str, limit: int) -> None:
    """Les partenaires à qui orienter ce jeune pour ce besoin, le plus indiqué d'abord : son
    CFA, puis ceux qui interviennent dans sa commune, dans son département, les autres ; un
    partenaire sans contact joignable vient en dernier."""
    from casework.partners.proposals import propose_partners

    with context.app.db.read() as conn:
        proposals = propose_partners(conn, case_id, need)
    label = NEED_CATEGORY[need]
    if not proposals:
        raise click.ClickException(
            f"Aucun partenaire actif ne traite ce besoin ({label}) : voir casework partners import."
        )
    click.echo(f"Dossier {case_id}, besoin : {label}.")
    for rank, p in enumerate(proposals[:limit], start=1):
        click.echo(f"  {rank}. n° {p.partner_id} {_named(p.name, p.kind)} — {p.why}")
    if len(proposals) > limit:
        click.echo(f"  … et {_count(len(proposals) - limit, 'autre')} (--limit)")
    first = proposals[0].partner_id
    click.echo(
        f"Orienter : casework case fire {case_id} refer -d partner_id={first} "
        f"-d need_category={need} -d description=… -d consent=oui"
        " (un autre partenaire : ajouter -d reason=…)"
    )


def _final_sheet_states(context: Context) -> set[str]:
    definition = context.app.workflows.latest("liaison").definition
    return {s.name for s in definition.states.values() if s.final}


def _named(name: str, kind: str) -> str:
    return printable(described.named(name, kind))


_needs, _territory, _deadlines = described.needs, described.territory, described.deadlines
_count = described.count
