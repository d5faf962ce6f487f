"""A transition's fields as an HTML form, and a posted form as the engine's data: one way for
every page that fires a transition (the pages behind mail links, the staff case page), so that
a field asks, shows and reads the same everywhere. The engine's own field check validates;
nothing here decides what a value may be.

Also what a person may do on a row now: the transitions a person may fire from its state, each
with the fields that apply to it (no guardian's agreement for an adult), as `casework case show`
lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casework.labels import labels_for
from casework.states.definition import FieldDef, TransitionDef, WorkflowDef
from casework.states.machine import WorkflowMachine


@dataclass(frozen=True)
class OpenAction:
    """A trigger a person may fire now, with the fields its form shows."""

    trigger: str
    label: str
    fields: tuple[FieldDef, ...]


def person_actions(
    definition: WorkflowDef, machine: WorkflowMachine, row: Any, now: datetime
) -> list[OpenAction]:
    """What a person may fire on `row` from its state, in the workflow file's order (a trigger
    declared twice, for two destinations, once: its first declaration's label and fields)."""
    found: dict[str, TransitionDef] = {}
    for t in definition.transitions_from(row.state):
        if "person" in t.by:
            found.setdefault(t.trigger, t)
    return [
        OpenAction(
            t.trigger,
            t.label or t.trigger,
            tuple(f for f in t.fields if machine.applies(f, row, now)),
        )
        for t in found.values()
    ]


def field_view(f: FieldDef) -> dict[str, Any]:
    """What a form's template needs of a field (its choices as (code, label))."""
    labels = labels_for(f.choices)
    return {
        "name": f.name,
        "type": f.type,
        "label": f.label or f.name,
        "required": f.required,
        "choices": list(labels.items()),
        "min": f.minimum,
        "max": f.maximum,
    }


def typed(form: Any) -> dict[str, Any]:
    """What the person typed, to fill the form again (a multichoice as its list)."""
    return {k: form.getlist(k) if len(form.getlist(k)) > 1 else form.get(k) for k in form}


def form_data(fields: tuple[FieldDef, ...], form: Any) -> dict[str, Any]:
    """Form values for the engine: an unticked box is False, a multichoice is a list; the
    engine's field check does the rest (and names the field in French when it fails)."""
    data: dict[str, Any] = {}
    for f in fields:
        if f.type == "bool":
            data[f.name] = f.name in form
        elif f.type == "multichoice":
            data[f.name] = list(form.getlist(f.name))
        elif f.name in form:
            data[f.name] = form.get(f.name)
    return data
