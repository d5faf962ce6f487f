"""A source's file read and checked: the good rows as values, every bad one with its problems.

Checks: each field by its type (`fields.py`), required fields present, a key once per file,
dates that make sense together (the contract ends after it starts, a rupture falls within it,
an age at the start within `[intake] min_age`–`max_age`, in completed years). A row without a
name, a first name or a birth date is kept as an incomplete record; the columns nothing is read
from are listed, never dropped unsaid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from casework.intake.fields import IDENTITY_FIELDS, KEYS, Invalid, Problem
from casework.intake.files import Table, read_table
from casework.intake.profile import Profile, column_letters
from casework.models.beneficiary import age_on
from casework.settings import IntakeSettings

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
    ignored: list[str] = field(default_factory=list)  # the columns not read, as people read them
    incomplete: int = 0  # records without a name, a first name or a birth date

    @property
    def refused_whole(self) -> str | None:
        """Why no row could be read at all (the columns), in a few words; None if they could."""
        said = [p.summary for p in self.problems if p.summary]
        return " ; ".join(dict.fromkeys(said)) if said else None


def check_file(path: Path, profile: Profile, limits: IntakeSettings | None = None) -> Checked:
    """The file read once, row by row: the good rows' values kept, the bad rows as they were.
    A file whose columns cannot be found is not read further (its `sha256` stays empty)."""
    limits = limits or IntakeSettings()
    with read_table(path, limits) as table:
        checked = Checked(profile.source, path, table.described(), "", table.header)
        where, missing = profile.locate(table.header, path.name)
        ignored = profile.ignored(table.header, where)
        checked.ignored = [f"« {table.header[i]} »" for i in ignored]
        if missing:
            checked.problems.extend(missing)
            return checked
        blank = _check_rows(checked, table, where, profile, limits)
        checked.ignored += [f"colonne {column_letters(i)} sans en-tête" for i in sorted(blank)]
        checked.sha256 = table.sha256
    return checked


def _check_rows(
    checked: Checked, table: Table, where: dict[str, int], profile: Profile, limits: IntakeSettings
) -> set[int]:
    """The rows checked into `checked`; returns the columns without a header that held a
    value somewhere (not read either: said, not dropped)."""
    name = table.path.name
    key = KEYS[profile.source]
    columns = [  # looked up once, not per cell
        (field, index, table.header[index], profile.fields[field]) for field, index in where.items()
    ]
    # The profile's values: constants, and defaults for the fields the file has no column for;
    # the defaults of the fields it has fill its empty cells.
    fixed = {f: v for f, v in profile.defaults.items() if f not in where} | profile.constants
    defaults = {f: v for f, v in profile.defaults.items() if f in where}
    used = set(where.values())
    unnamed = [i for i, h in enumerate(table.header) if i not in used and not str(h or "").strip()]
    blank: set[int] = set()
    # A national file repeats its trades, diplomas, training centres and communes thousands of
    # times: one string each, not one per row (a third of the memory a large file's rows take).
    same: dict[Any, Any] = {}
    first_line: dict[str, int] = {}
    for line, cells in table.rows:
        values: dict[str, Any] = dict(fixed)
        problems = []
        for field_name, index, column, spec in columns:
            raw = cells[index] if index < len(cells) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if field_name in defaults:
                    values[field_name] = defaults[field_name]
                    continue
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
        if unnamed:
            blank.update(i for i in unnamed if i < len(cells) and _filled(cells[i]))
        if profile.status_from_centre and not values.get("learner_status"):
            values["learner_status"] = profile.status_of_centre(
                values.get("training_centre_uai"), values.get("training_centre_name")
            )
        problems += _consistency(name, line, values, table.header, where, limits)
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
            if any(values.get(f) is None for f in IDENTITY_FIELDS):
                checked.incomplete += 1
    return blank


def _filled(cell: Any) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _consistency(
    file: str,
    line: int,
    values: dict[str, Any],
    header: list[str],
    where: dict[str, int],
    limits: IntakeSettings,
) -> list[Problem]:
    problems = []

    def problem(name: str, reason: str) -> None:
        value = values.get(name)
        shown = value.strftime("%d/%m/%Y") if isinstance(value, date) else None
        column = header[where[name]] if name in where else None  # None: the profile's value
        problems.append(Problem(file, line, column, shown, reason))

    start, end = values.get("start_date"), values.get("planned_end_date")
    rupture, born = values.get("rupture_date"), values.get("birth_date")
    if start and end and end <= start:
        problem("planned_end_date", "la fin prévue précède le début du contrat")
    if start and rupture and not start <= rupture <= (end or rupture):
        problem("rupture_date", "la rupture tombe hors du contrat")
    reference = start or values.get("registered_on")
    if born and reference:
        age = age_on(born, reference)  # in completed years, as people say their age
        if not limits.min_age <= age <= limits.max_age:
            when = "au début du contrat" if start else "à l'inscription"
            problem(
                "birth_date",
                f"âge invraisemblable : {age} ans {when} (attendu : de {limits.min_age} à "
                f"{limits.max_age} ans)",
            )
    return problems


def _shown(raw: Any) -> str:
    return raw.strftime("%d/%m/%Y") if isinstance(raw, date) else str(raw)


def write_rejected(checked: Checked, path: Path) -> None:
    """The rejected rows as they were, with why: the same bytes `casework intake rejects`
    writes again from the database."""
    from casework.intake.rejects import as_text, rejected_rows, write_csv

    write_csv(path, [as_text(h) for h in checked.header], rejected_rows(checked))
