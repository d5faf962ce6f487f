"""A partner file read and checked: the partners it describes, or every problem in it.

Three forms, one meaning:
- a spreadsheet (CSV or XLSX, read as intake reads the organisations' files:
  `casework.intake.files`), **one row per contact**, the partner's columns repeated on each of
  its rows (or left empty after the first); a partner without contacts is one row without them;
- a TOML file: `[[partner]]` tables, each with its `[[partner.contact]]` tables
  (`toml_file.py`).

Every value is checked (`vocabulary.py`, `casework.text_limits`); every bad one is reported
with its file, line, column (or key), value and reason in French. Partners are told apart by
their name (compared without case, accents or punctuation): two rows of one name are one
partner, and must not contradict each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casework.intake.fields import Invalid, parse_siret, parse_uai, text_of
from casework.intake.files import read_table
from casework.intake.profile import column_letters
from casework.names import fold
from casework.partners.vocabulary import (
    parse_deadline,
    parse_email,
    parse_kind,
    parse_needs,
    parse_phone,
    parse_role,
    parse_territory,
)
from casework.settings import IntakeSettings
from casework.text_limits import LABEL, NAME, shown


@dataclass(frozen=True)
class Column:
    """A value of a partner (or of one of its contacts): its TOML key, its spreadsheet
    headers, how it is read."""

    key: str
    label: str  # for people, in French
    headers: tuple[str, ...]
    parse: Callable[[Any], Any]
    required: bool = False


PARTNER_COLUMNS = (
    Column("name", "nom du partenaire", ("Nom", "Partenaire", "Structure", "Nom du partenaire"),
           text_of(LABEL), True),
    Column("kind", "type", ("Type", "Type de partenaire", "Nature"), parse_kind, True),
    Column("needs", "besoins traités", ("Besoins", "Besoins traités", "Domaines"), parse_needs,
           True),
    Column("territory", "territoire", ("Territoire", "Zone", "Zone d'intervention",
                                       "Départements", "Communes"), parse_territory),
    Column("siret", "SIRET", ("SIRET", "N° SIRET"), parse_siret),
    Column("uai", "UAI", ("UAI", "Code UAI"), parse_uai),
    Column("ack_days", "délai d'accusé de réception", ("Délai accusé de réception",
                                                      "Délai AR", "Accusé de réception (jours)"),
           parse_deadline),
    Column("feedback_days", "délai de retour", ("Délai de retour", "Délai retour",
                                                "Retour (jours)"), parse_deadline),
)  # fmt: skip
# In a spreadsheet a contact's name is its own column; in TOML, `name` of a [[partner.contact]].
CONTACT_COLUMNS = (
    Column("name", "nom du contact", ("Contact", "Nom du contact", "Interlocuteur"),
           text_of(NAME)),
    Column("email", "courriel", ("Courriel", "E-mail", "Email", "Mail", "Adresse électronique"),
           parse_email, True),
    Column("phone", "téléphone", ("Téléphone", "Tél", "Tel"), parse_phone),
    Column("role", "rôle", ("Rôle", "Fonction"), parse_role),
)  # fmt: skip


# The values a TOML file may give as a list.
_LISTS = frozenset({"needs", "territory"})


@dataclass(frozen=True)
class BadValue:
    """A bad value, or a bad file: where (`place`: « colonne … » or « clé … »), what, why."""

    file: str
    line: int | None
    place: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file + (f", ligne {self.line}" if self.line is not None else "")
        where += f", {self.place}" if self.place else ""
        value = f" : « {shown(self.value)} »" if self.value not in (None, "") else ""
        return f"{where}{value} — {self.reason}"


@dataclass(frozen=True)
class Cell:
    value: Any
    line: int
    place: str  # 'colonne « Besoins »', 'clé « needs »'


@dataclass
class ContactEntry:
    line: int
    email: str
    name: str | None = None  # None: the partner's name
    phone: str | None = None
    role: str = "contact"


@dataclass
class PartnerEntry:
    line: int
    values: dict[str, Any]  # by PARTNER_COLUMNS key; "territory" split in two by `columns`
    contacts: list[ContactEntry] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.values["name"])

    def columns(self) -> dict[str, Any]:
        """The partners table's columns this entry gives (what the file leaves empty is not
        there: importing leaves it as recorded)."""
        values = self.values
        found = {"name": values["name"], "kind": values["kind"], "need_categories": values["needs"]}
        if "territory" in values:
            found["departements"], found["postcodes"] = values["territory"]
        for key in ("siret", "uai", "ack_days", "feedback_days"):
            if key in values:
                found[key] = values[key]
        return found


@dataclass
class PartnerFile:
    path: Path
    described: str
    entries: list[PartnerEntry] = field(default_factory=list)
    problems: list[BadValue] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # spreadsheet columns not used


def read_partners(path: Path, limits: IntakeSettings | None = None) -> PartnerFile:
    """The partners a file describes (by its name: `.toml`, else a spreadsheet)."""
    if path.suffix.lower() == ".toml":
        from casework.partners.toml_file import read_toml

        return read_toml(path, limits or IntakeSettings())
    return _read_table(path, limits)


class Merging:
    """Entries as records come (rows, or TOML tables): one per partner name, checked as they
    merge."""

    def __init__(self, found: PartnerFile):
        self.found = found
        self.by_name: dict[str, PartnerEntry] = {}
        self.cells: dict[str, dict[str, Cell]] = {}  # the first value given, by partner
        # Partners whose first row was refused (its problems said there): that row's line and
        # cells, so that their later rows are judged as what they are, continuations.
        self.refused: dict[str, tuple[int, dict[str, Cell]]] = {}
        self.emails: dict[tuple[str, str], int] = {}

    def problem(self, cell: Cell | None, reason: str, line: int | None = None) -> None:
        file = self.found.path.name
        if cell is None:
            self.found.problems.append(BadValue(file, line, None, None, reason))
        else:
            value = cell.value if isinstance(cell.value, str) else _text(cell.value)
            self.found.problems.append(BadValue(file, cell.line, cell.place, value, reason))

    def parsed(
        self,
        cells: dict[str, Cell],
        columns: tuple[Column, ...],
        line: int,
        required: bool = True,
    ) -> dict:
        """`cells` read by `columns` (a missing required value is a problem, unless not
        `required`), or {} if any is bad (its problems recorded)."""
        values: dict[str, Any] = {}
        good = True
        for column in columns:
            cell = cells.get(column.key)
            if cell is None or _empty(cell.value):
                if column.required and required:
                    self.problem(cell, f"valeur obligatoire manquante : {column.label}", line)
                    good = False
                continue
            try:
                values[column.key] = _value(column, cell)
            except Invalid as error:
                self.problem(cell, str(error))
                good = False
        return values if good else {}

    def partner(self, cells: dict[str, Cell], line: int) -> PartnerEntry | None:
        """The partner these cells describe, merged with an earlier mention of its name."""
        name_cell = cells.get("name")
        if name_cell is None or _empty(name_cell.value):
            self.problem(None, "valeur obligatoire manquante : nom du partenaire", line)
            return None
        key = fold(str(name_cell.value))
        entry = self.by_name.get(key)
        if entry is None and key in self.refused:
            self.after_refused(*self.refused[key], cells, line)
            return None
        if entry is None:
            values = self.parsed(cells, PARTNER_COLUMNS, line)
            if not values:
                self.refused[key] = (line, cells)
                return None
            entry = self.by_name[key] = PartnerEntry(line, values)
            self.cells[key] = cells
            self.found.entries.append(entry)
            return entry
        first = self.cells[key]
        given = {k: c for k, c in cells.items() if not _empty(c.value)}
        values = self.parsed({**first, **given}, PARTNER_COLUMNS, line)
        for column_key, cell in given.items():
            if column_key == "name":  # the same once folded: the first spelling is kept
                continue
            if values and values.get(column_key) != entry.values.get(column_key):
                self.problem(cell, _contradicts(entry.line))
        return entry

    def after_refused(
        self, first_line: int, first: dict[str, Cell], cells: dict[str, Cell], line: int
    ) -> None:
        """A later row of a partner whose first row was refused: a continuation, whose empty
        cells say nothing (no "valeur obligatoire manquante" for a type left empty as on any
        continuation row); what it gives is checked, and compared with the first row's good
        values."""
        given = {k: c for k, c in cells.items() if k != "name" and not _empty(c.value)}
        values = self.parsed(given, PARTNER_COLUMNS, line, required=False)
        columns = {c.key: c for c in PARTNER_COLUMNS}
        for column_key, value in values.items():
            earlier = first.get(column_key)
            if earlier is None or _empty(earlier.value):
                continue
            try:
                differs = _value(columns[column_key], earlier) != value
            except Invalid:
                continue  # said on the first row
            if differs:
                self.problem(given[column_key], _contradicts(first_line))

    def contact(self, entry: PartnerEntry | None, cells: dict[str, Cell], line: int) -> None:
        """A contact of `entry` (None: its partner is bad; the contact is checked all the
        same, so that every problem is said at once)."""
        values = self.parsed(cells, CONTACT_COLUMNS, line)
        if not values or entry is None:
            return
        email = values["email"]
        seen = self.emails.get((fold(entry.name), email))
        if seen is not None:
            self.problem(cells["email"], f"contact déjà donné ligne {seen} pour ce partenaire")
            return
        self.emails[(fold(entry.name), email)] = line
        entry.contacts.append(ContactEntry(line, **values))


def _read_table(path: Path, limits: IntakeSettings | None) -> PartnerFile:
    with read_table(path, limits) as table:
        found = PartnerFile(path, table.described())
        where = _locate(found, table.header)
        if found.problems:
            return found
        merging = Merging(found)
        for line, cells in table.rows:
            by_key: dict[str, dict[str, Cell]] = {"partner": {}, "contact": {}}
            for (group, key), index in where.items():
                value = cells[index] if index < len(cells) else None
                place = f"colonne « {table.header[index]} »"
                by_key[group][key] = Cell(value, line, place)
            if all(_empty(c) for c in cells):
                continue  # a blank row between partners
            entry = merging.partner(by_key["partner"], line)
            if any(not _empty(c.value) for c in by_key["contact"].values()):
                merging.contact(entry, by_key["contact"], line)
    return found


def _locate(found: PartnerFile, header: list[str]) -> dict[tuple[str, str], int]:
    """Where each value is: (group, key) → column index. A required column missing, or two
    columns for one value, are problems; columns used for nothing are listed."""
    folded = [fold(h) for h in header]
    where: dict[tuple[str, str], int] = {}
    file = found.path.name
    for group, columns in (("partner", PARTNER_COLUMNS), ("contact", CONTACT_COLUMNS)):
        for column in columns:
            names = {fold(h) for h in column.headers}
            indexes = [i for i, h in enumerate(folded) if h and h in names]
            if len(indexes) > 1:
                both = " et ".join(f"« {header[i]} » ({column_letters(i)})" for i in indexes)
                found.problems.append(
                    BadValue(
                        file, 1, None, None, f"colonnes en double pour {column.label} : {both}"
                    )
                )
            elif indexes:
                where[(group, column.key)] = indexes[0]
            elif column.required and group == "partner":
                accepted = ", ".join(f"« {h} »" for h in column.headers)
                reason = (
                    f"colonne obligatoire absente : {column.label} (en-têtes acceptés : {accepted})"
                )
                found.problems.append(BadValue(file, 1, None, None, reason))
    used = set(where.values())
    found.ignored = [h for i, h in enumerate(header) if i not in used and h.strip()]
    return where


def _contradicts(line: int) -> str:
    return f"contredit la ligne {line} pour ce partenaire"


def _value(column: Column, cell: Cell) -> Any:
    """`cell` read by `column`; raises Invalid, with the reason in French."""
    if isinstance(cell.value, dict) or (isinstance(cell.value, list) and column.key not in _LISTS):
        raise Invalid("une seule valeur attendue ici")
    return column.parse(cell.value)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _text(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
