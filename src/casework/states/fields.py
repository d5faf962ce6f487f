"""Check and convert the values given with a transition against the fields it declares.

Values come typed (from Python) or as text (from the command line or a web form); the result
is typed: int, bool, date, str, or a list of str. Messages are French: people read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from casework.errors import InvalidTransitionData
from casework.labels import labels_for
from casework.states.definition import FieldDef
from casework.text_limits import TextRefused, note_kind, shown

_TRUE = {"true", "1", "oui", "yes", "on", "o", "y"}
_FALSE = {"false", "0", "non", "no", "off", "n"}


def clean_fields(
    trigger: str, fields: tuple[FieldDef, ...], data: Mapping[str, Any]
) -> dict[str, Any]:
    """Typed values for the declared fields. A field with a condition (`when:`) is required
    only where it applies: `check_applying` says so, row by row."""
    declared = {f.name: f for f in fields}
    unknown = sorted(set(data) - set(declared))
    if unknown:
        expected = ", ".join(declared) or "aucun"
        raise InvalidTransitionData(
            trigger, unknown[0], data[unknown[0]], f"champ inconnu (attendus : {expected})"
        )
    cleaned: dict[str, Any] = {}
    for f in fields:
        value = data.get(f.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.required and f.when is None:
                raise InvalidTransitionData(trigger, f.name, value, "valeur obligatoire")
            continue
        cleaned[f.name] = _convert(trigger, f, value)
    return cleaned


def check_applying(
    trigger: str,
    fields: tuple[FieldDef, ...],
    cleaned: Mapping[str, Any],
    applies: Callable[[FieldDef], bool],
    says: Callable[[str], str],
) -> None:
    """Refuse a value given for a field that does not apply to this row (`says(when)` tells
    when it would, in French), and require a required one that does.

    Refused rather than dropped: a guardian's agreement given for an adult means the person
    acting sees the case otherwise than it is recorded, and dropping it would keep silent about
    what they typed. The link page never sends it: it does not show the field."""
    for f in fields:
        if f.when is None:
            continue
        given = f.name in cleaned
        if applies(f):
            if f.required and not given:
                raise InvalidTransitionData(trigger, f.name, None, "valeur obligatoire")
        elif given:
            reason = f"ce champ ne s'applique que si {says(f.when)}"
            raise InvalidTransitionData(trigger, f.name, cleaned[f.name], reason)


def _convert(trigger: str, f: FieldDef, value: Any) -> Any:
    def bad(reason: str) -> InvalidTransitionData:
        return InvalidTransitionData(trigger, f.name, value, reason)

    def not_a_choice(reason: str) -> InvalidTransitionData:
        # A form shows labels ("téléphone"); the command line types codes ("phone"): the
        # error keeps both, and each edge says what its reader knows.
        labels = labels_for(f.choices)
        possible = f"{reason}valeurs possibles : {', '.join(labels.values())}"
        return InvalidTransitionData(trigger, f.name, value, possible, tuple(labels.items()))

    if f.type == "text":
        if not isinstance(value, str):
            raise bad("texte attendu")
        try:  # free text: its length (the field's own `max_length`, or the default) and
            return note_kind(f.max_length).check(value)  # characters (no NUL, no control)
        except TextRefused as refused:
            raise bad(str(refused)) from None
    if f.type == "int":
        if isinstance(value, bool):
            raise bad("nombre entier attendu")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise bad("nombre entier attendu") from None
        if f.minimum is not None and number < f.minimum:
            raise bad(f"au moins {f.minimum}")
        if f.maximum is not None and number > f.maximum:
            raise bad(f"au plus {f.maximum}")
        return number
    if f.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad("oui ou non attendu")
    if f.type == "date":
        return _date(value, bad)
    if f.type == "choice":
        if value not in f.choices:
            raise not_a_choice("")
        return value
    if f.type == "multichoice":
        items = value.split(",") if isinstance(value, str) else list(value)
        items = [str(i).strip() for i in items if str(i).strip()]
        wrong = [i for i in items if i not in f.choices]
        if wrong:
            raise not_a_choice(f"« {shown(wrong[0])} » inconnu ; ")
        return list(dict.fromkeys(items))
    raise bad(f"type {f.type!r} non géré")


def _date(value: Any, bad: Any) -> date:
    if isinstance(value, datetime):
        raise bad("date attendue, pas une date et heure")
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise bad("date attendue (jj/mm/aaaa ou aaaa-mm-jj)")


def to_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Event data as JSON: dates become ISO strings."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}
