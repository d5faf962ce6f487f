"""The staff pages' own small forms (the quarantine's, the directories'), apart from workflow
actions (`casework.web.action_forms`): their values read and checked as every outside text is
(`casework.text_limits`), a value that does not fit refused for its field in French, and what
went wrong kept to be shown beside the form that was posted (`Problem`), with what was typed.

Nothing here writes: a page reads its form with these, then calls the same functions as the
command line, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from casework.text_limits import TextKind, TextRefused

PER_PAGE = 20


class FieldRefused(Exception):
    """A posted value that does not fit its field: `reason` in French, shown under it."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


@dataclass
class Problem:
    """What went wrong with the form posted (`form`: its id in the page), shown beside it."""

    form: str
    values: dict[str, str] = field(default_factory=dict)  # what was typed, shown again
    errors: dict[str, str] = field(default_factory=dict)  # by field name
    refusal: str | None = None  # why nothing was written, a sentence

    @classmethod
    def of(cls, form_id: str, form: Any, error: Exception) -> Problem:
        """The form again: a field's refusal under its field, anything else above the form."""
        values = {k: str(v) for k, v in form.items() if k != "csrf" and isinstance(v, str)}
        if isinstance(error, FieldRefused):
            return cls(form_id, values, errors={error.name: error.reason})
        return cls(form_id, values, refusal=sentence(french(error)))


def text(form: Any, name: str, kind: TextKind, required: bool = True) -> str | None:
    """The field `name` as `kind` keeps it; None when left empty and not required."""
    given = form.get(name, "")
    if not isinstance(given, str):  # a file where a text was expected
        raise FieldRefused(name, "une valeur texte est attendue")
    try:
        kept = kind.check(given)
    except TextRefused as refused:
        raise FieldRefused(name, str(refused)) from None
    if not kept:
        if required:
            raise FieldRefused(name, "à remplir")
        return None
    return kept


def number(form: Any, name: str) -> int:
    """A record's number (a sheet's, a case's) typed in the field `name`."""
    found = given_number(str(form.get(name, "")).strip())
    if found is None:
        raise FieldRefused(name, "un numéro est attendu (des chiffres seulement)")
    return found


def given_number(value: Any) -> int | None:
    """A number given in a form or an address; None for anything else."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def french(error: Exception) -> str:
    """A refusal as people read it: its words for the staff pages when it has some (no
    command to type there: `staff.StaffRefused.on_page`), a CaseworkError's French, else its
    text."""
    on_page = getattr(error, "on_page", None)
    if isinstance(on_page, str):
        return on_page
    said = getattr(error, "french", None)
    return said() if callable(said) else str(error)


def sentence(said: str) -> str:
    """A capital first, a full stop last: a refusal shown as a sentence."""
    said = said.strip()
    if not said:
        return said
    said = said[:1].upper() + said[1:]
    return said if said[-1] in ".!?" else said + "."
