"""An XLSX workbook read as a stream of rows, trusting nothing it says about itself.

- *Its zip*: the parts may unpack to `[intake] max_unpacked_bytes` all together, by the sizes
  the zip's directory declares; Python's `zipfile` never unpacks a part past its declared
  size (and then fails on its checksum), so a part that lies cannot be a bomb.
- *Its `<dimension ref>` tag* is ignored (`reset_dimensions`): openpyxl's read-only mode
  otherwise stops at the tag's last row (a tag saying A1:C1 silently gives one row of six) and
  pads every row to its width and every missing row up to its end (a 5 KB file claiming
  A1:XFD1048576 is seventeen billion empty cells: an hour of CPU).
- *Its rows* are read as they come, each up to one column past `max_columns` (a cell far to the
  right is never padded to), and a row numbered past `max_rows` stops the reading.

Why openpyxl and not python-calamine, measured by `bench/intake_read.py` (see docs/benchmarks.md):
calamine reads a whole sheet into memory before handing over a row, sized by the cells'
positions — a 5 KB workbook with one cell at XFD1048576 makes it allocate 512 GB and abort
the process, which no `except` can catch — and it offers no streaming. openpyxl's read-only
mode streams, so the caps above hold before anything large is built.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from casework.intake.files import (
    Rows,
    Table,
    UnreadableFile,
    too_many_columns,
    too_many_rows,
    unreadable,
)
from casework.settings import IntakeSettings
from casework.text_limits import french_number, shown


def read_xlsx(path: Path, limits: IntakeSettings) -> Table:
    from openpyxl import load_workbook  # only for workbooks

    try:
        data = path.read_bytes()  # at most max_file_bytes (checked); openpyxl needs to seek
    except OSError as error:
        raise unreadable(path, error) from None
    sha256 = hashlib.sha256(data).hexdigest()
    _check_zip(path, data, limits)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a damaged zip, or not a workbook: any parser error
        raise _unreadable(path, error) from None
    try:
        if not workbook.worksheets:
            raise UnreadableFile(f"{path} : le classeur n'a aucune feuille")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # never trust the file's own idea of its size
        # One column past the cap: a value there means too many; further right, never read.
        lines = sheet.iter_rows(max_col=limits.max_columns + 1, values_only=True)
        first = _parsed(path, lambda: next(lines, None))
        if first is None:
            raise UnreadableFile(f"{path} : la première feuille est vide")
        if first[limits.max_columns] is not None:
            raise too_many_columns(path, 1, limits)
        header = [str(h).strip() if h is not None else "" for h in first[: limits.max_columns]]
        while header and not header[-1]:
            header.pop()
    except BaseException:
        workbook.close()
        raise

    rows = _rows(path, lines, len(header), limits)
    return Table(path, header, rows, None, None, lambda: sha256, workbook.close)


def _rows(path: Path, lines: Any, width: int, limits: IntakeSettings) -> Rows:
    line = 1
    while (cells := _parsed(path, lambda: next(lines, None))) is not None:
        line += 1
        if line - 1 > limits.max_rows:
            raise too_many_rows(path, limits)
        if cells.count(None) == len(cells):  # an empty row, or one of a gap's: at C speed
            continue
        if cells[limits.max_columns] is not None:
            raise too_many_columns(path, line, limits)
        values = [_cell(c) for c in cells[:width]]
        if any(v not in (None, "") for v in values):
            yield line, values


def _parsed(path: Path, read: Any) -> Any:
    try:
        return read()
    except Exception as error:  # whatever the XML holds, the parser's error is "unreadable"
        raise _unreadable(path, error) from None


def _check_zip(path: Path, data: bytes, limits: IntakeSettings) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(part.file_size for part in archive.infolist())
    except Exception as error:  # not a zip at all
        raise _unreadable(path, error) from None
    if unpacked > limits.max_unpacked_bytes:
        raise UnreadableFile(
            f"{path} : classeur XLSX refusé : il se décompresse en {french_number(unpacked)} "
            f"octets (au plus {french_number(limits.max_unpacked_bytes)}, réglage [intake] "
            "max_unpacked_bytes)"
        )


def _unreadable(path: Path, error: Exception) -> UnreadableFile:
    return UnreadableFile(
        f"{path} : classeur XLSX illisible ({type(error).__name__}: {shown(str(error), 80)})"
    )


def _cell(value: Any) -> Any:
    """A workbook cell as `fields.py` takes it: dates as dates, numbers as numbers, the rest as
    text (a time, a duration, an error code)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date | int | float) or value is None:
        return value
    return str(value)
