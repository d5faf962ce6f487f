"""Reading a spreadsheet export as rows of text: CSV (separator and encoding detected) or XLSX.

What people send: a CSV saved by a spreadsheet in Windows-1252 with `;`, a UTF-8 one with or
without its byte-order mark, separated by `,` or tabs; or the workbook itself. Every row comes
out as its line number (the one a spreadsheet shows: the header is line 1) and its cells by
header. Values stay as they are (text, or what the workbook typed: dates, numbers); `fields.py`
makes sense of them.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from casework.errors import CaseworkError

SEPARATORS = (";", ",", "\t")
SEPARATOR_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}


class UnreadableFile(CaseworkError):
    """The file cannot be read at all (said in French, with the file's name)."""


@dataclass(frozen=True)
class Table:
    """A file's header and rows, and how it was read."""

    path: Path
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (line, cells in header order)
    encoding: str | None  # None for a workbook
    separator: str | None
    sha256: str  # of the very bytes read: what makes an import of the same file a no-op

    def described(self) -> str:
        if self.encoding is None:
            return "classeur XLSX"
        return f"CSV {self.encoding}, séparateur {SEPARATOR_NAMES[self.separator or ';']}"


def read_table(path: Path) -> Table:
    """The file's header and rows, by its content (an XLSX is a zip: it starts with "PK"). The
    file is read once: its fingerprint is of the bytes the rows come from."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableFile(f"{path} : impossible de lire le fichier ({error.strerror})") from None
    sha256 = hashlib.sha256(data).hexdigest()
    if data.startswith(b"PK"):
        return _read_xlsx(path, data, sha256)
    return _read_csv(path, data, sha256)


def detect_encoding(data: bytes) -> str:
    """UTF-8 with its byte-order mark, UTF-8, or else Windows-1252 (what French spreadsheets
    save as "CSV"): a text that decodes as UTF-8 is taken as UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def detect_separator(header_line: str) -> str:
    """The separator the header line uses most (`;` when none appears: a one-column file)."""
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def _read_csv(path: Path, data: bytes, sha256: str) -> Table:
    encoding = detect_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:  # cp1252 leaves five bytes undefined
        raise UnreadableFile(
            f"{path} : encodage illisible (octet {error.object[error.start]:#x} "
            f"à la position {error.start})"
        ) from None
    if not text.strip():
        raise UnreadableFile(f"{path} : le fichier est vide")
    first_line = text.splitlines()[0]
    separator = detect_separator(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        header = [h.strip() for h in next(reader)]
        rows = []
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as error:
        raise UnreadableFile(f"{path}, ligne {reader.line_num} : CSV mal formé ({error})") from None
    return Table(path, header, rows, encoding.replace("-sig", " avec BOM"), separator, sha256)


def _read_xlsx(path: Path, data: bytes, sha256: str) -> Table:
    from openpyxl import load_workbook  # only for workbooks

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a damaged zip, or not a workbook
        raise UnreadableFile(f"{path} : classeur XLSX illisible ({error})") from None
    try:
        sheet = workbook.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        first = next(lines, None)
        if first is None:
            raise UnreadableFile(f"{path} : la première feuille est vide")
        header = [str(h).strip() if h is not None else "" for h in first]
        rows = []
        for number, cells in enumerate(lines, start=2):
            values = [_cell(c) for c in cells]
            if any(v not in (None, "") for v in values):
                rows.append((number, values))
    finally:
        workbook.close()
    return Table(path, header, rows, None, None, sha256)


def _cell(value: Any) -> Any:
    """A workbook cell as `fields.py` takes it: dates as dates, text stripped."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date | int | float) or value is None:
        return value
    return str(value)
