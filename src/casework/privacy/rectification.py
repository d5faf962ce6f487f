"""Rectification (GDPR art. 16): a young person's identity and contact details corrected.

Before this, nothing edited them once a case was made (the intake creates the person from the
files, and a later import updates its own rows only). Each field is checked as the intake checks
it (`casework.intake.fields`, the partners' directory for phones and addresses); every value
given is checked before anything is written, and the change is one transaction with its event
(`privacy.requests`), which names the fields changed, never a value, old or new.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from casework.actors import Actor
from casework.errors import CaseworkError
from casework.intake.fields import (
    Invalid,
    parse_date,
    parse_name,
    parse_place,
    parse_postcode,
    parse_sex,
    text_of,
)
from casework.models.tables import PEOPLE
from casework.names import name_key
from casework.partners.vocabulary import parse_email, parse_phone
from casework.privacy.requests import Request, record_request
from casework.territory import departement_of
from casework.text_limits import TextKind, shown

# A street address (column of 200) and a guardian's full name (column of 200).
_ADDRESS_LINE = TextKind("adresse", 200)
_FULL_NAME = TextKind("nom", 200, names=True)


@dataclass(frozen=True)
class Field:
    column: str
    label: str  # in French, for messages
    parse: Callable[[Any], Any]
    required: bool = False  # may not be emptied


# By the name people type (`--set telephone=…`), in the order messages list them.
FIELDS: Mapping[str, Field] = {
    "nom": Field("birth_name", "nom de naissance", parse_name, required=True),
    "prenoms": Field("first_names", "prénoms", parse_name, required=True),
    "date_naissance": Field("birth_date", "date de naissance", parse_date, required=True),
    "sexe": Field("sex", "sexe", parse_sex),
    "telephone": Field("phone", "téléphone", parse_phone),
    "courriel": Field("email", "courriel", parse_email),
    "adresse": Field("address_line", "adresse", text_of(_ADDRESS_LINE)),
    "code_postal": Field("postcode", "code postal", parse_postcode),
    "commune": Field("commune", "commune", parse_place),
    "responsable_nom": Field("guardian_name", "nom du représentant légal", text_of(_FULL_NAME)),
    "responsable_telephone": Field(
        "guardian_phone", "téléphone du représentant légal", parse_phone
    ),
    "responsable_courriel": Field("guardian_email", "courriel du représentant légal", parse_email),
}


class RectificationRefused(CaseworkError):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)

    def french(self) -> str:
        return self.reason


def checked(values: Mapping[str, str]) -> dict[str, Any]:
    """The new values by field name (French), each checked; an empty value clears an optional
    field. Every problem is said at once, in French."""
    problems, found = [], {}
    for name, value in values.items():
        field = FIELDS.get(name)
        if field is None:
            problems.append(f"champ inconnu « {shown(name)} » (champs : {', '.join(FIELDS)})")
            continue
        if not value.strip():
            if field.required:
                problems.append(f"{name} : le {field.label} ne peut pas être vide")
            found[name] = None
            continue
        try:
            found[name] = field.parse(value)
        except Invalid as invalid:
            problems.append(f"{name} : « {shown(value)} » — {invalid}")
    if problems:
        raise RectificationRefused("Rien n'est changé : " + " ; ".join(problems) + ".")
    return found


def rectify(
    conn: Connection,
    person_id: int,
    values: Mapping[str, Any],
    by: Actor,
    now: datetime,
    reason: str,
) -> list[str]:
    """The person's row updated with the checked `values`; the fields that changed, by their
    French names (none: nothing written, no event)."""
    columns = [FIELDS[name].column for name in values]
    current = conn.execute(
        select(*(PEOPLE.c[c] for c in columns)).where(PEOPLE.c.id == person_id).with_for_update()
    ).one()
    changed = {
        name: value
        for name, value in values.items()
        if current._mapping[FIELDS[name].column] != value
    }
    if not changed:
        return []
    row = {FIELDS[name].column: value for name, value in changed.items()}
    if "birth_name" in row:  # what names in mails are found by
        row["name_key"] = name_key(row["birth_name"])
    if "postcode" in row:  # a manager's scope follows where the person lives
        row["departement"] = departement_of(row["postcode"])
    conn.execute(update(PEOPLE).where(PEOPLE.c.id == person_id).values(**row, updated_at=now))
    names = [name for name in FIELDS if name in changed]
    record_request(conn, person_id, Request.RECTIFICATION, by, now, fields=names, reason=reason)
    return names
