"""A source's file read and checked: the good rows as values, every bad one with its problems.

Checks: each field by its type (`fields.py`), required fields present, a key once per file,
dates that make sense together (the contract ends after it starts, a rupture falls within it,
an apprentice between 14 and 30 at the start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from casework.intake.fields import KEYS, Invalid, Problem
from casework.intake.files import Table, read_table
from casework.intake.profile import Profile
from casework.settings import IntakeSettings

MIN_AGE, MAX_AGE = 14, 30
MISSING = "valeur obligatoire manquante"


@dataclass
class Checked:
    source: str
    file: Path
    described: str  # how the file was read ("CSV cp1252, séparateur point-virgule")
    sha256: str  # of the bytes read ("" when the file was refused before its rows)
    header: list[str]
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line, values)
    rejected: list[tuple[int, list[Any], list[Problem]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # of the file, and of every row


def check_file(path: Path, profile: Profile, limits: IntakeSettings | None = None) -> Checked:
    """The file read once, row by row: the good rows' values kept, the bad rows as they were.
    A file whose columns cannot be found is not read further (its `sha256` stays empty)."""
    with read_table(path, limits) as table:
        checked = Checked(profile.source, path, table.described(), "", table.header)
        where, missing = profile.locate(table.header, path.name)
        if missing:
            checked.problems.extend(missing)
            return checked
        _check_rows(checked, table, where, profile)
        checked.sha256 = table.sha256
    return checked


def _check_rows(checked: Checked, table: Table, where: dict[str, int], profile: Profile) -> None:
    name = table.path.name
    key = KEYS[profile.source]
    columns = [  # looked up once, not per cell
        (field, index, table.header[index], profile.fields[field]) for field, index in where.items()
    ]
    # A national file repeats its trades, diplomas, training centres and communes thousands of
    # times: one string each, not one per row (a third of the memory a large file's rows take).
    same: dict[Any, Any] = {}
    first_line: dict[str, int] = {}
    for line, cells in table.rows:
        values: dict[str, Any] = {}
        problems = []
        for field_name, index, column, spec in columns:
            raw = cells[index] if index < len(cells) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if spec.required:
                    problems.append(Problem(name, line, column, None, MISSING))
                values[field_name] = None
                continue
            try:
                value = spec.parse(raw)
            except Invalid as error:
                problems.append(Problem(name, line, column, _shown(raw), str(error)))
                continue
            values[field_name] = same.setdefault(value, value) if field_name != key else value
        problems += _consistency(name, line, values, table.header, where)
        if not problems and values[key] in first_line:
            column = table.header[where[key]]
            reason = f"identifiant en double (déjà ligne {first_line[values[key]]})"
            problems.append(Problem(name, line, column, str(values[key]), reason))
        if problems:
            checked.rejected.append((line, cells, problems))
            checked.problems.extend(problems)
        else:
            first_line[values[key]] = line
            checked.records.append((line, values))


def _consistency(
    file: str, line: int, values: dict[str, Any], header: list[str], where: dict[str, int]
) -> list[Problem]:
    problems = []

    def problem(name: str, reason: str) -> None:
        value = values.get(name)
        shown = value.strftime("%d/%m/%Y") if isinstance(value, date) else None
        problems.append(Problem(file, line, header[where[name]], shown, reason))

    start, end = values.get("start_date"), values.get("planned_end_date")
    rupture, born = values.get("rupture_date"), values.get("birth_date")
    if start and end and end <= start:
        problem("planned_end_date", "la fin prévue précède le début du contrat")
    if start and rupture and not start <= rupture <= (end or rupture):
        problem("rupture_date", "la rupture tombe hors du contrat")
    reference = start or values.get("registered_on")
    if born and reference:
        age = (reference - born).days / 365.25
        if not MIN_AGE <= age <= MAX_AGE:
            problem("birth_date", f"âge invraisemblable ({age:.0f} ans)")
    return problems


def _shown(raw: Any) -> str:
    return raw.strftime("%d/%m/%Y") if isinstance(raw, date) else str(raw)


def write_rejected(checked: Checked, path: Path) -> None:
    """The rejected rows as they were, with why: the same bytes `casework intake rejects`
    writes again from the database."""
    from casework.intake.rejects import as_text, rejected_rows, write_csv

    write_csv(path, [as_text(h) for h in checked.header], rejected_rows(checked))
