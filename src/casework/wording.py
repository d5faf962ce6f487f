"""How casework says what the workflows hold (the command line, the demo's story), in French:
states and actions by their
labels (`label:` in workflows/*.yaml), who acted as people say it, and what a transition
recorded by its fields' labels and its values' labels — never a state code, an ISO date or a
Python list where a person reads. Codes stay only where a person types them: the ACTION and
CHAMP=VALEUR of `casework case fire`, which `case show` lists beside their labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casework.clock import format_local
from casework.labels import ASSIGNMENT_METHOD, GROUP, NEED_CATEGORY, labels_for
from casework.notify.render import paris_date
from casework.states.definition import FieldDef, WorkflowDef

ACTORS = {"timer": "minuteur", "system": "système"}
# Details an event records beside a transition's fields: a creation's, a handler's note, the
# events that are no transition (an alert, links revoked, a timer set aside).
NOTED = {
    "cohort": "cohorte",
    "group": "groupe",
    "assignment_method": "méthode",
    "draw": "répartition n°",
    "referent": "référent",
    "from": "ancien référent",  # a handover's
    "proposed": "partenaires proposés",  # a referral's, nearest first
    "rank": "rang du partenaire choisi",
    "partner_id": "partenaire",
    "need_category": "besoin",
    "cycle": "cycle",
    "alert_id": "alerte n°",
    "inbound_id": "courriel reçu n°",
    "attached_by": "rattachée par",
    "links": "liens n°",
    "scope": "portée",
    "reason": "motif",
    "timer": "minuteur n°",
    "due_at": "prévu le",
    "workflow": "workflow",  # a migration's (casework workflows migrate)
    "from_version": "de la version",
    "to_version": "à la version",
}
FACT_VALUES: Mapping[str, Mapping[str, str]] = {
    "group": GROUP,
    "assignment_method": ASSIGNMENT_METHOD,
    "need_category": NEED_CATEGORY,
    # Links revoked: whose ("user+case" when several were named).
    "scope": {"user": "utilisateur", "address": "adresse", "case": "dossier", "link": "lien"},
}
# What names partners by their numbers (a referral's field, its proposals, an alert's sender):
# said by their names when the caller read them (`recorded(..., partners=)`).
PARTNER_KEYS = frozenset({"partner_id", "proposed"})
# Events that record a fact rather than fire a transition, by their `trigger`.
EVENTS = {
    "revoke_links": "Liens révoqués",
    "partner_alert": "Alerte d'un partenaire",
    "migrate_workflow": "Passage à une autre version du workflow",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def actor(kind: str, who: str) -> str:
    """ "referente", "partenaire accueil@foyer.example", "import cma.csv", "minuteur"."""
    if kind in ACTORS:
        return ACTORS[kind]
    return {"partner": f"partenaire {who}", "import": f"import {who}"}.get(kind, who)


def state(definition: WorkflowDef | None, code: str | None) -> str:
    if code is None:
        return "—"
    found = definition.states.get(code) if definition is not None else None
    return found.label if found is not None and found.label else code


def action(definition: WorkflowDef | None, trigger: str | None) -> str:
    """A trigger by the label of its first labelled transition ("Enregistrer un contact")."""
    if trigger is None:
        return "Création"
    for t in definition.transitions if definition is not None else ():
        if t.trigger == trigger and t.label and t.label != trigger:
            return t.label
    return EVENTS.get(trigger, trigger)


def any_action(definitions: Iterable[WorkflowDef], trigger: str) -> str:
    """A trigger's label in the first workflow that has it (a sweep counts triggers of every
    workflow together)."""
    found = [d for d in definitions if trigger in d.triggers]
    return action(found[0] if found else None, trigger)


def fields_of(definition: WorkflowDef | None, trigger: str | None) -> dict[str, FieldDef]:
    if definition is None:
        return {}
    return {f.name: f for t in definition.transitions if t.trigger == trigger for f in t.fields}


def recorded(
    definition: WorkflowDef | None,
    trigger: str | None,
    data: Mapping[str, Any],
    partners: Mapping[int, str] | None = None,
) -> str:
    """What an event recorded: « Canal : téléphone ; Difficultés repérées : logement, argent »;
    partners by their names in `partners` (by number), else « n° 3 »."""
    fields = fields_of(definition, trigger)
    # In the order the workflow declares its fields, then the details': the same on both
    # databases (PostgreSQL's JSONB keeps its keys in an order of its own).
    known = list(dict.fromkeys([*fields, *NOTED]))
    order = [k for k in known if k in data] + sorted(k for k in data if k not in known)
    parts = []
    for key in order:
        value = data[key]
        if key == "outcome":  # a timer set aside: the line says so
            continue
        f = fields.get(key)
        name = f.label if f is not None and f.label else NOTED.get(key, key)
        colon = "" if name.endswith("n°") else " :"  # "alerte n° 3", "canal : téléphone"
        if key in PARTNER_KEYS:
            text = partner_text(value, partners or {})
        else:
            text = value_text(value, f, key)
        parts.append(f"{name}{colon} {text}")
    return " ; ".join(parts)


def partner_ids(data: Mapping[str, Any]) -> set[int]:
    """The partners an event's data names by number."""
    found: set[int] = set()
    for key in PARTNER_KEYS & set(data):
        values = data[key] if isinstance(data[key], list | tuple) else [data[key]]
        found |= {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
    return found


def partner_text(value: Any, partners: Mapping[int, str]) -> str:
    """ "ADLJ 53", "ADLJ 53, Habitat Jeunes Laval"; a partner not read: "n° 7"."""
    if isinstance(value, list | tuple):
        return ", ".join(partner_text(v, partners) for v in value) or "—"
    if value is None or value == "":
        return "—"
    return partners.get(value) or f"n° {value}"


def value_text(value: Any, f: FieldDef | None = None, key: str = "") -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v, f, key) for v in value) or "—"  # none, whatever its gender
    if value is None or value == "":
        return "—"
    if f is not None and f.choices:
        return labels_for(f.choices).get(str(value), str(value))
    if key in FACT_VALUES:
        return " et ".join(FACT_VALUES[key].get(part, part) for part in str(value).split("+"))
    if isinstance(value, str) and _ISO_DATE.match(value):
        return paris_date(value)
    if isinstance(value, str) and "T" in value[10:11]:
        try:
            return format_local(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


@dataclass(frozen=True)
class EventWords:
    """One audit event as people read it (`casework history`, the staff case page)."""

    who: str  # "referente", "minuteur", "partenaire accueil@foyer.example"
    what: str  # "dossier", "fiche 3"
    action: str  # "Enregistrer un contact"
    step: str  # " : Consentement à recueillir → Consentement recueilli", or ""
    data: str  # what it recorded, or ""


def event(
    e: Any,
    definitions: Mapping[str, WorkflowDef | None],
    versions: Mapping[str, list[WorkflowDef]],
    partners: Mapping[int, str],
) -> EventWords:
    """An `events` row in words: who, on what, which action, from which state to which, and
    what it recorded — labels, not codes. `definitions`: the case's and its sheets' workflows,
    by entity kind; `versions`: every version of each, by workflow name, for the events taken
    before a migration (said in the words of the newest version that has their states)."""
    definition = definitions.get(e.entity)
    known = versions.get(definition.name, []) if definition is not None else []

    def words_for(code: str | None) -> WorkflowDef | None:
        if definition is None or code is None or code in definition.states:
            return definition
        return next((d for d in known if code in d.states), definition)

    own = words_for(e.from_state)  # the version the transition was taken in
    said = action(own, e.trigger)
    if e.to_state is None and e.from_state is not None:  # a timer set aside: no state change
        said += " (minuteur écarté)"
    before = state(words_for(e.from_state), e.from_state)
    after = state(words_for(e.to_state), e.to_state)
    if e.from_state is None and e.to_state is not None:
        step = f" : {after}"
    elif e.to_state is None:  # a fact recorded beside the transitions (an alert, links revoked)
        step = ""
    elif e.from_state == e.to_state:
        step = f" ({after})"
    else:
        step = f" : {before} → {after}"
    return EventWords(
        who=actor(e.actor_kind, e.actor),
        what="dossier" if e.entity == "case" else f"fiche {e.entity_id}",
        action=said,
        step=step,
        data=recorded(own, e.trigger, e.data, partners) if e.data else "",
    )
