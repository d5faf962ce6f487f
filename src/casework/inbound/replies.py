"""What a reply does to a liaison sheet: the trigger it fires in the sheet's state, and the
transition's field its text fills. One table, read by the batch (`ingest.py`) and by a person
attaching a quarantined message (`review.py`), so both act alike.
"""

from __future__ import annotations

from casework.states.catalog import WorkflowSet

# What a reply does to a sheet, by the sheet's state.
REPLY_TRIGGERS = {"sent": "acknowledge", "overdue": "acknowledge", "acknowledged": "give_feedback"}


def reply_data(trigger: str, text: str) -> dict[str, str]:
    """The transition's field a reply's text fills: the acknowledgement's message, or the
    feedback."""
    return {"message": text} if trigger == "acknowledge" else {"feedback": text}


def sheet_state(workflows: WorkflowSet, state: str | None) -> str:
    """A sheet's state as people read it: « Close », not "closed"."""
    states = workflows.latest("liaison").definition.states
    return f"état « {states[state].label} »" if state in states else "fiche introuvable"
