"""What each source's file must hold, and each value made sense of, or a problem said in French
with its file, line, column and value.

The columns are found by the source's profile (`profiles.py`): the header names it accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from casework.intake import levels
from casework.text_limits import KEY, LABEL, NAME, PLACE, TextKind, TextRefused, shown

# A spreadsheet's day 0 (serial numbers count days from it; 60 is the non-existent 29/02/1900).
SPREADSHEET_EPOCH = date(1899, 12, 30)
# ASCII digits only: `\d` would also take other scripts' digits, and codes are stored as given.
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$", re.ASCII)
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$", re.ASCII)
_SERIAL = re.compile(r"^\d{4,5}(?:[.,]0+)?$", re.ASCII)


class Invalid(ValueError):
    """A value that does not fit its field; the message is the reason, in French."""


@dataclass(frozen=True)
class Problem:
    """A bad value, or a bad file: where, what, why."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    reason: str
    # Of a problem that refuses the whole file: the reason in a few words, for the refusal.
    summary: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", ligne {self.line}"
        if self.column is not None:
            where += f", colonne « {self.column} »"
        value = f" : « {shown(self.value)} »" if self.value not in (None, "") else ""
        return f"{where}{value} — {self.reason}"


def parse_date(value: Any) -> date:
    """dd/mm/yyyy (or with - or .), yyyy-mm-dd, a workbook date, or a spreadsheet serial."""
    if isinstance(value, datetime):  # a date and time: its day (stored as a date)
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise Invalid("date illisible (une case à cocher)")
    if isinstance(value, int | float):
        return _serial(float(value))
    text = str(value).strip()
    if len(text) > 40:  # no date is this long: spare the patterns a 100,000-character cell
        raise Invalid("date illisible (trop longue)")
    try:
        if found := _DAY_FIRST.match(text):
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day)
        if found := _ISO.match(text):
            year, month, day = (int(g) for g in found.groups())
            return date(year, month, day)
    except ValueError:
        raise Invalid("cette date n'existe pas") from None
    if _SERIAL.match(text):
        return _serial(float(text.replace(",", ".")))
    raise Invalid(
        "date illisible (attendu jj/mm/aaaa, aaaa-mm-jj ou un numéro de série de tableur)"
    )


def _serial(number: float) -> date:
    if not 1 <= number < 2_958_466 or number != int(number):
        raise Invalid("numéro de série de date hors limites")
    return SPREADSHEET_EPOCH + timedelta(days=int(number))


def text_of(kind: TextKind) -> Callable[[Any], str]:
    """The parser of a kind of text (`casework.text_limits`): whitespace folded, its length and
    characters checked."""

    def parse(value: Any) -> str:
        try:
            text = kind.check(str(value))
        except TextRefused as refused:
            raise Invalid(str(refused)) from None
        if not text:
            raise Invalid("valeur vide")
        return text

    return parse


parse_key, parse_name, parse_place, parse_label = (text_of(k) for k in (KEY, NAME, PLACE, LABEL))


def _digits(value: Any) -> str:
    """A code as text: a workbook's number as the digits it shows (a postcode or a SIRET typed
    as a number), anything else as written."""
    if isinstance(value, float):
        if not value.is_integer():  # 1.5, and also infinity or not-a-number
            raise Invalid("nombre entier attendu")
        return str(int(value))
    return str(value).strip()


def parse_postcode(value: Any) -> str:
    text = _digits(value)
    text = text.replace(" ", "")
    if len(text) == 4 and text.isascii() and text.isdigit():
        text = "0" + text  # a spreadsheet dropped the leading zero of 01000…09999
    if not re.fullmatch(r"\d{5}|2[AB]\d{3}", text, re.IGNORECASE | re.ASCII):
        raise Invalid("code postal invalide (5 chiffres)")
    return text.upper()


# What files write for a sex they do not know: stored as unknown (None), never guessed.
_SEX_UNKNOWN = frozenset({"NR", "NC", "INCONNU", "NON RENSEIGNÉ", "NON RENSEIGNE",
                          "NON COMMUNIQUÉ", "NON COMMUNIQUE"})  # fmt: skip


def parse_sex(value: Any) -> str | None:
    text = str(value).strip().upper()
    found = {"F": "F", "FEMME": "F", "FÉMININ": "F", "FEMININ": "F", "MME": "F", "MADAME": "F",
             "MLLE": "F", "M": "M", "H": "M", "HOMME": "M", "MASCULIN": "M", "M.": "M", "MR": "M",
             "MONSIEUR": "M"}.get(text)  # fmt: skip
    if found is None and text not in _SEX_UNKNOWN:
        raise Invalid("sexe illisible (F ou M ; vide ou « NR » s'il est inconnu)")
    return found


def parse_siret(value: Any) -> str:
    text = re.sub(r"\s", "", _digits(value))
    if not re.fullmatch(r"\d{14}", text, re.ASCII):
        raise Invalid("SIRET invalide (14 chiffres)")
    return text


def parse_uai(value: Any) -> str:
    text = str(value).strip().upper()
    if not re.fullmatch(r"\d{7}[A-Z]", text, re.ASCII):
        raise Invalid("code UAI invalide (7 chiffres et une lettre)")
    return text


def parse_level(value: Any) -> int:
    """Today's level (3 to 7), from either nomenclature or a diploma's name."""
    found = levels.level(_digits(value))
    if found is None:
        raise Invalid(
            f"niveau de diplôme inconnu (3 à 7, ou V à I : {levels.CORRESPONDENCE} ; ou le nom "
            "du diplôme)"
        )
    return found


def parse_status(value: Any) -> str:
    found = levels.status(str(value))
    if found is None:
        raise Invalid("statut inconnu (apprenti ou étudiant)")
    return found


def parse_training_year(value: Any) -> int:
    found = levels.training_year(_digits(value))
    if found is None:
        most = levels.MAX_TRAINING_YEAR
        raise Invalid(f"année de formation illisible (1 à {most}, « 1re année »)")
    return found


@dataclass(frozen=True)
class Field:
    """`required`: a case cannot be made without it (the row's key, the contract's dates): the
    column must be there and every row must give it, unless the profile gives a default.
    `identity`: what cross-matching compares a person on; a row without it is imported all the
    same, as an incomplete record, matched on what it has."""

    name: str
    label: str  # for people, in French
    parse: Callable[[Any], Any]
    required: bool = False
    identity: bool = False


def _fields(*fields: Field) -> dict[str, Field]:
    return {f.name: f for f in fields}


# Of a person; the sex may be unknown (stored as unknown, never guessed from a first name).
IDENTITY = (
    Field("birth_name", "nom de naissance", parse_name, identity=True),
    Field("first_names", "prénoms", parse_name, identity=True),
    Field("birth_date", "date de naissance", parse_date, identity=True),
    Field("sex", "sexe", parse_sex),
    Field("postcode", "code postal", parse_postcode),
    Field("commune", "commune", parse_place),
)
IDENTITY_FIELDS = tuple(f.name for f in IDENTITY if f.identity)


# What each source's file holds. The first field is the source's own key for a row.
FIELDS = {
    "cma": _fields(
        Field("contract_number", "numéro de contrat", parse_key, True),
        *IDENTITY,
        Field("employer_name", "employeur", parse_label),
        Field("employer_siret", "SIRET de l'employeur", parse_siret),
        Field("employer_trade", "métier", parse_label),
        Field("training_centre_name", "CFA", parse_label),
        Field("training_centre_uai", "UAI du CFA", parse_uai),
        Field("diploma", "diplôme préparé", parse_label),
        Field("diploma_level", "niveau", parse_level),
        Field("training_year", "année de formation", parse_training_year),
        Field("learner_status", "statut", parse_status),
        Field("start_date", "date de début du contrat", parse_date, True),
        Field("planned_end_date", "date de fin prévue", parse_date, True),
        Field("rupture_date", "date de rupture", parse_date),
    ),
    "ml": _fields(
        Field("ml_id", "identifiant Mission Locale", parse_key, True),
        *IDENTITY,
        Field("registered_on", "date d'inscription", parse_date),
    ),
}
KEYS = {source: next(iter(fields)) for source, fields in FIELDS.items()}
