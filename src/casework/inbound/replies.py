"""What a reply does to a liaison sheet: the sheet's own workflow says it (its `replies:` —
the trigger fired in each state, the field the text fills). Read by the batch (`ingest.py`) and by
a person attaching a quarantined message (`review.py`), so both act alike.
"""

from __future__ import annotations

from typing import Any

from casework.states.catalog import WorkflowSet
from casework.states.definition import WorkflowDef


def sheet_workflow(workflows: WorkflowSet, row: Any) -> WorkflowDef:
    """The sheet's own workflow (`row`: its workflow_name and workflow_version), or the latest
    liaison workflow for a sheet not found."""
    if row is None:
        return workflows.latest("liaison").definition
    return workflows.definition(row.workflow_name, row.workflow_version)


def sheet_state(workflows: WorkflowSet, state: str | None) -> str:
    """A sheet's state as people read it: « Close », not "closed"."""
    states = workflows.latest("liaison").definition.states
    return f"état « {states[state].label} »" if state in states else "fiche introuvable"
