"""The rights' copy for a person to read: the held rows (`privacy.export.Holdings`) in French,
section by section in the holdings map's order, each record's columns by their labels
(`privacy.document_labels`), coded values in words, the case's events as `casework history`
says them (`casework.wording`). A flat context for `templates/privacy/export.html.j2`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection, Row

from casework import wording
from casework.clock import format_local, to_local
from casework.evaluation.format import long_date
from casework.french import decimal, elide
from casework.intake.fields import FIELDS
from casework.models.beneficiary import display_name
from casework.notify.render import paris_date
from casework.partners.directory import partner_names
from casework.privacy.document_labels import (
    COLUMNS,
    REQUEST_DETAILS,
    REQUESTS,
    TABLE_VALUES,
    VALUES,
)
from casework.privacy.export import Holdings
from casework.privacy.requests import PERSON
from casework.queries import definitions_of
from casework.states.catalog import WorkflowSet
from casework.states.definition import WorkflowDef

# What imported rows hold, by field name: the intake's own labels.
_INTAKE_LABELS = {name: f.label for fields in FIELDS.values() for name, f in fields.items()}


@dataclass(frozen=True)
class Record:
    title: str
    fields: list[tuple[str, str]]


@dataclass(frozen=True)
class Section:
    label: str
    records: list[Record]


class _Words:
    """What the document needs beside the rows: partners' names and the rows' workflows."""

    def __init__(self, conn: Connection, workflows: WorkflowSet, holdings: Holdings):
        sheets = holdings.keys.sheets
        rows = [("case", i) for i in holdings.keys.cases] + [("liaison", i) for i in sheets]
        self.definitions = definitions_of(conn, workflows, rows)
        self.workflows = workflows
        partners = {r.partner_id for t in ("liaison_sheets", "alerts") for r in holdings.rows(t)}
        events = holdings.rows("events")
        partners |= set().union(set(), *(wording.partner_ids(e.data or {}) for e in events))
        self.partners = partner_names(conn, {p for p in partners if p is not None})

    def of(self, kind: str, entity_id: int | None) -> WorkflowDef | None:
        return self.definitions.get((kind, entity_id)) if entity_id is not None else None

    def action(self, trigger: str) -> str:
        return wording.any_action(list(self.definitions.values()), trigger)

    def versions(self) -> dict[str, list[WorkflowDef]]:
        names = {d.name for d in self.definitions.values()}
        return {name: self.workflows.versions(name) for name in names}


def sections(conn: Connection, workflows: WorkflowSet, holdings: Holdings) -> list[Section]:
    words = _Words(conn, workflows, holdings)
    found = []
    for holding, rows in holdings.tables:
        if holding.name == "events":
            records = [_event(e, words) for e in rows]
        else:
            records = [_record(holding.name, r, words) for r in rows]
        found.append(Section(holding.label, records))
    return found


def _record(table: str, row: Row[Any], words: _Words) -> Record:
    values = row._mapping
    fields = []
    for column, label in COLUMNS.get(table, {}).items():
        value = values.get(column)
        if column == "state":
            kind = "case" if table == "cases" else "liaison"
            text = wording.state(words.of(kind, values.get("id")), value)
        elif column == "partner_id":
            text = wording.partner_text(value, words.partners)
        elif column == "trigger":
            text = words.action(value)
        else:
            text = value_text(table, column, value)
        fields.append((label, text))
    return Record(f"n° {values.get('id')}", fields)


def _event(e: Row[Any], words: _Words) -> Record:
    """An audit event as `casework history` says it; the person's requests in their words."""
    if e.entity == PERSON:
        details = " ; ".join(
            f"{REQUEST_DETAILS.get(k, k)} : {value_text('events', k, v)}"
            for k, v in sorted((e.data or {}).items())
        )
        said = wording.EventWords(
            who=wording.actor(e.actor_kind, e.actor),
            what="personne",
            action=REQUESTS.get(e.trigger or "", e.trigger or ""),
            step="",
            data=details,
        )
    else:
        definitions = {"case": words.of("case", e.case_id)}
        definitions["liaison"] = words.of("liaison", e.entity_id) if e.entity == "liaison" else None
        said = wording.event(e, definitions, words.versions(), words.partners)
    fields = [
        ("Date", format_local(e.at)),
        ("Par", said.who),
        ("Sur", said.what),
        ("Action", f"{said.action}{said.step}"),
    ]
    if said.data:
        fields.append(("Détails", said.data))
    return Record(f"n° {e.id}", fields)


def value_text(table: str, column: str, value: Any) -> str:
    """A stored value as a person reads it: words for codes, French dates, no Python."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    words: Mapping[str, str] = TABLE_VALUES.get((table, column), VALUES.get(column, {}))
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        return format_local(value)
    if isinstance(value, date):
        return paris_date(value)
    if isinstance(value, float):
        return decimal(value, 2)
    if isinstance(value, list | tuple):
        return ", ".join(value_text(table, column, v) for v in value)
    if isinstance(value, dict):
        return " ; ".join(
            f"{_INTAKE_LABELS.get(k, k)} : {wording.value_text(v)}" for k, v in value.items()
        )
    if isinstance(value, bytes | memoryview):
        return f"{len(bytes(value))} octets"
    text = str(getattr(value, "value", value))
    return words.get(text, text)


def render_html(
    conn: Connection,
    workflows: WorkflowSet,
    holdings: Holdings,
    templates: Path,
    controller: str,
    dpo_contact: str,
) -> str:
    """The whole document, in French, from the rows read in `conn`'s transaction."""
    person = next(iter(holdings.rows("beneficiaries")), None)
    name = display_name(person.first_names, person.birth_name) if person is not None else ""
    number = holdings.keys.person_id
    local = to_local(holdings.made_at)
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("privacy/export.html.j2").render(
        title=f"Données personnelles {elide('de', name)}{name} (personne n° {number})"
        if name
        else f"Données personnelles de la personne n° {number}",
        facts=[
            ("Copie produite le", f"{long_date(local.date())} à {local:%H:%M}"),
            ("Responsable du traitement", controller or "non renseigné"),
            ("Pour exercer vos droits", dpo_contact or "non renseigné"),
            ("Dossiers", ", ".join(f"n° {c}" for c in holdings.keys.cases) or "aucun"),
        ],
        sections=sections(conn, workflows, holdings),
    )
