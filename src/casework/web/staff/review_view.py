"""What the Rapprochement page shows of a pair to review: both files' values side by side,
field by field, with how well each agrees and how much it weighed in the score, in French.

The agreement and the weight come from the explanation cross-matching stored with the pair
(`Pair.explain`: one line per field of `linkage.FIELDS`, in that order, then remarks); the
values from both imported rows. Nothing here reads more than the page's pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from casework.intake.linkage.model import FIELD_LABELS, FIELDS
from casework.intake.matching import shown_probability
from casework.notify.render import paris_date

# The data keys of an imported row that each compared field is read from.
VALUES = {
    "birth_name": ("birth_name",),
    "first_name": ("first_names",),
    "birth_date": ("birth_date",),
    "postcode": ("postcode", "commune"),
}
_WEIGHTED = re.compile(r"^(?P<said>.*) \((?P<weight>[+-]\d+,\d)\)$")
UNKNOWN = "non renseigné"


@dataclass(frozen=True)
class FieldRow:
    label: str  # "Nom de naissance"
    cma: str
    ml: str
    agreement: str  # "identique", "absent d'un côté"
    weight: str  # "+5,2", "−3,1", or "" when the line could not be read


@dataclass(frozen=True)
class PairView:
    cma_key: str
    ml_key: str
    probability: str  # "72,3 %"
    fields: list[FieldRow]
    remarks: list[str] = field(default_factory=list)  # swapped names, a missing identity…


def pair_view(proposal: Any, cma: dict[str, Any], ml: dict[str, Any]) -> PairView:
    """A proposal (`match_proposals` row) and both rows' data, as the page shows them."""
    lines = list(proposal.explanation or [])
    rows = []
    for index, name in enumerate(FIELDS):
        agreement, weight = _said(name, lines[index] if index < len(lines) else "")
        label = FIELD_LABELS[name]
        rows.append(
            FieldRow(
                label[:1].upper() + label[1:],
                _value(cma, name),
                _value(ml, name),
                agreement,
                weight,
            )
        )
    remarks = [line[:1].upper() + line[1:] + "." for line in lines[len(FIELDS) :]]
    return PairView(
        proposal.cma_key, proposal.ml_key, shown_probability(proposal.probability), rows, remarks
    )


def _said(name: str, line: str) -> tuple[str, str]:
    """ "nom de naissance : identique (+5,2)" → ("identique", "+5,2"); the weight with a true
    minus sign, as French typesets it."""
    prefix = f"{FIELD_LABELS[name]} : "
    rest = line[len(prefix) :] if line.startswith(prefix) else line
    found = _WEIGHTED.match(rest)
    if found is None:
        return rest, ""
    return found.group("said"), found.group("weight").replace("-", "−")


def _value(row: dict[str, Any], name: str) -> str:
    values = [str(row.get(key) or "").strip() for key in VALUES[name]]
    if name == "birth_date" and values[0]:
        values[0] = paris_date(values[0])  # stored as ISO by the import
    said = " ".join(v for v in values if v)
    return said or UNKNOWN
