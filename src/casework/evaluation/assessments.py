"""Table 7: the assessments at one year and at the contract's end — the young person's
situation, the diploma, satisfaction — by group where known.

They are the case workflow's `record_assessment` transitions, whose fields the workflow file
declares (situation, diploma, satisfaction); read from their events' data. A workflow without
that step, or a cohort with none recorded yet, gives a table that says so.
"""

from __future__ import annotations

from casework.evaluation.extract import Key
from casework.evaluation.format import Cell, Pct
from casework.evaluation.model import Block, Table
from casework.labels import GROUP, labels_for
from casework.states.definition import WorkflowDef

TRIGGER = "record_assessment"
FIELDS = ("situation", "diploma", "satisfaction")
CAPTIONS = {
    "situation": "Situation",
    "diploma": "Diplôme obtenu",
    "satisfaction": "Satisfaction (1 à 5)",
}
GROUPS = ("test", "control")


def assessment_fields(workflow: WorkflowDef) -> list[str]:
    """The fields the workflow's assessment step declares, of those the table knows."""
    for transition in workflow.transitions:
        if transition.trigger == TRIGGER:
            declared = {f.name for f in transition.fields}
            return [name for name in FIELDS if name in declared]
    return []


def assessments_table(counts: dict[Key, int], fields: list[str], workflow: WorkflowDef) -> Table:
    """`counts`: (group, *fields' values) → assessments."""
    blocks = []
    for position, name in enumerate(fields, start=1):
        merged: dict[tuple[str, str], int] = {}
        for key, n in counts.items():
            value = key[position]
            shown = "non renseigné" if value is None else _label(workflow, name, str(value))
            merged[(str(key[0]), shown)] = merged.get((str(key[0]), shown), 0) + n
        totals = {g: sum(n for (grp, _), n in merged.items() if grp == g) for g in GROUPS}
        rows: list[list[Cell]] = []
        for value in sorted({v for _, v in merged}):
            row: list[Cell] = [value]
            for group in GROUPS:
                n = merged.get((group, value), 0)
                row += [n, Pct(n / totals[group] if totals[group] else None)]
            rows.append(row)
        columns = [CAPTIONS[name]]
        for group in GROUPS:
            columns += [f"Groupe {GROUP[group]}", "%"]
        blocks.append(Block(columns, rows, CAPTIONS[name]))
    return Table(
        7,
        "Bilans",
        [
            "Les bilans enregistrés à un an de contrat et en fin de contrat : la situation du "
            "jeune, le diplôme obtenu ou non, sa satisfaction (de 1 à 5). Les parts se lisent "
            "sur les bilans du groupe. Le groupe témoin n'a de bilan que si un fichier ultérieur "
            "en donne.",
        ],
        blocks,
        empty=None if counts else "Aucune évaluation enregistrée à la date d'arrêt.",
    )


def _label(workflow: WorkflowDef, name: str, value: str) -> str:
    for transition in workflow.transitions:
        for f in transition.fields if transition.trigger == TRIGGER else ():
            if f.name == name and value in f.choices:
                return labels_for(list(f.choices)).get(value, value)
    return value
