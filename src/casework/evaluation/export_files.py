"""The evaluator's export written to a file (XLSX or CSV), and recorded in the audit log.

Guarantees:
- The file appears whole or not at all: rows go to a temporary file beside it, which takes the
  file's name only once the export is recorded (an `export` event: who, when, which cohort, how
  many rows, which format) — so no export exists that the audit log does not name, and a
  failure (a full disk, a refused key) leaves no half file behind.
- A workbook has the rows on "Dossiers" and the data dictionary on "Dictionnaire"; a CSV
  (`;`, UTF-8 with a BOM, as spreadsheets open it) has its dictionary beside it,
  `<name>.dictionary.csv`. Every CSV cell goes through `casework.csv_export` (no formula runs).
- Memory stays bounded: XlsxWriter's constant-memory workbook streams rows to disk (several
  times faster than openpyxl's write-only one, which was the export's bottleneck:
  docs/benchmarks.md), the CSV writer writes each row as it comes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter

from casework.actors import Actor
from casework.app import App
from casework.audit import record_event
from casework.csv_export import SafeWriter
from casework.evaluation.export import CohortExport, Column, ExportRefused, cut_off
from casework.french import os_error

FORMATS = (".xlsx", ".csv")
# A worksheet holds 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575


@dataclass(frozen=True)
class ExportReport:
    path: Path
    rows: int
    dictionary: Path | None  # the CSV's dictionary file (a workbook holds its own)


def dictionary_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.dictionary.csv")


def export_cohort(
    app: App,
    cohort: int,
    path: Path,
    actor: Actor,
    progress: Callable[[int], None] = lambda n: None,
    length: Callable[[int], None] = lambda n: None,
) -> ExportReport:
    """Write cohort `cohort`'s export to `path` (.xlsx or .csv) and record it.
    `length` is told how many rows will come (a progress bar's length), `progress` each page."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportRefused(f"« {path.name} » : le fichier doit finir par .xlsx ou .csv")
    now = app.clock.now()
    export = CohortExport(app, cohort, app.settings.evaluation.pseudonym_key, now)
    temporary = path.with_name(f".{path.name}.partiel")
    dictionary = dictionary_path(path) if suffix == ".csv" else None
    temporary_dictionary = path.with_name(f".{path.name}.dictionnaire.partiel")
    with app.db.read() as conn:
        total = export.count(conn)
        if total == 0:
            raise ExportRefused(f"la cohorte {cohort} n'a aucun dossier : rien n'est exporté")
        if suffix == ".xlsx" and total > XLSX_MAX_ROWS:
            raise ExportRefused(
                f"la cohorte {cohort} a plus de dossiers qu'une feuille de calcul n'a de lignes : "
                "exportez-la en CSV"
            )
        length(total)
        try:
            rows = export.rows(conn, progress)
            if suffix == ".xlsx":
                written = _write_xlsx(temporary, export.columns, rows, cut_off(now))
            else:
                written = _write_csv(temporary, export.columns, rows)
                _write_dictionary(temporary_dictionary, export.columns, cut_off(now))
        except OSError as error:
            _remove(temporary, temporary_dictionary)
            raise ExportRefused(f"« {path.name} » : {os_error(error, writing=True)}") from None
    try:
        # Recorded first, named after: an export the log does not name never appears.
        with app.db.transaction() as conn:
            record_event(
                conn,
                "export",
                cohort,
                "export",
                actor,
                now,
                {"cohort": cohort, "rows": written, "format": suffix[1:], "file": path.name},
            )
        if dictionary is not None:
            os.replace(temporary_dictionary, dictionary)
        os.replace(temporary, path)
    except OSError as error:
        raise ExportRefused(f"« {path.name} » : {os_error(error, writing=True)}") from None
    finally:
        _remove(temporary, temporary_dictionary)
    return ExportReport(path, written, dictionary)


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _dictionary_rows(columns: list[Column], day: date) -> list[list[str]]:
    rows = [["colonne", "description"]]
    rows += [[c.name, c.says] for c in columns]
    rows.append(["", f"Données arrêtées au {day:%d/%m/%Y} (date de l'export)."])
    return rows


def _write_xlsx(path: Path, columns: list[Column], rows: Any, day: date) -> int:
    """XlsxWriter in constant-memory mode: each row goes to disk as it comes (rows in order,
    one sheet at a time); no string is read as a formula, a link or a number."""
    book = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_date_format": "yyyy-mm-dd",
            "tmpdir": str(path.parent),
        },
    )
    try:
        cases = book.add_worksheet("Dossiers")
        cases.write_row(0, 0, [c.name for c in columns])
        written = 0
        for row in rows:
            written += 1
            cases.write_row(written, 0, row)
        dictionary = book.add_worksheet("Dictionnaire")
        for number, line in enumerate(_dictionary_rows(columns, day)):
            dictionary.write_row(number, 0, line)
    finally:
        book.close()
    return written


def _write_csv(path: Path, columns: list[Column], rows: Any) -> int:
    written = 0
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = SafeWriter(out)
        writer.writerow(c.name for c in columns)
        for row in rows:
            # A date's str() is its ISO form (2026-09-01): what statistics software reads.
            writer.writerow(row)
            written += 1
    return written


def _write_dictionary(path: Path, columns: list[Column], day: date) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        SafeWriter(out).writerows(_dictionary_rows(columns, day))
