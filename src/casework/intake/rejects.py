"""The rows an import left out (--skip-invalid): kept with the import, in its transaction, and
written as a CSV beside the file; `casework intake rejects` reads them back at any time.

Why in the database: the `.rejets.csv` was written after the commit — a full disk, a closed
terminal, a folder one may not write to, and the rows were gone, while importing the file again
only said "déjà importé". Now the file is a copy: the same bytes come out of the command.

Each cell is kept as text (a workbook's dates as dd/mm/yyyy), its control characters written
as escapes (`\\x00`: PostgreSQL stores no NUL, and a NUL is often why the row was left out) and
cut at `MAX_CELL` characters (a 100,000-character commune is its own reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from casework.chunks import chunks
from casework.csv_export import SafeWriter
from casework.errors import CaseworkError
from casework.models.tables import FILES, REJECTS
from casework.text_limits import shown

if TYPE_CHECKING:
    from casework.intake.reading import Checked

MAX_CELL = 1_000
CHUNK = 500
Rejected = tuple[int, list[str], list[str]]  # line, cells as text, reasons


class RejectsError(CaseworkError):
    """An import that cannot be found (said in French)."""


def rejected_rows(checked: Checked) -> Iterator[Rejected]:
    """The rejected rows as they are stored and written: cells as text, reasons in French."""
    for line, cells, problems in checked.rejected:
        reasons = [f"{p.column} : {p.reason}" if p.column else p.reason for p in problems]
        yield line, [as_text(c) for c in cells], reasons


def store(conn: Connection, file_id: int, checked: Checked) -> None:
    """In the import's transaction: its rows commit with it, or not at all."""
    rows = [
        {"file_id": file_id, "line": line, "cells": cells, "reasons": reasons}
        for line, cells, reasons in rejected_rows(checked)
    ]
    for part in chunks(rows, CHUNK):
        conn.execute(insert(REJECTS), part)


def write_csv(path: Path, header: list[str], rows: Iterable[Rejected]) -> None:
    """The header (as text: `as_text`) and the rejected rows, with a first column for their line
    and a last one saying why: UTF-8 with its byte-order mark and `;`, so that a spreadsheet
    opens it as it is; no cell runs as a formula (`csv_export`)."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = SafeWriter(out, delimiter=";")
        writer.writerow(["Ligne", *header, "Erreurs"])
        for line, cells, reasons in rows:
            writer.writerow([line, *cells, " ; ".join(reasons)])


def find(conn: Connection, ref: str) -> Any:
    """An import by its number, or by its file's name (the latest import of that name)."""
    query = select(FILES)
    if ref.strip().isdigit():
        query = query.where(FILES.c.id == int(ref))
    else:
        query = query.where(FILES.c.name == ref.strip()).order_by(FILES.c.id.desc()).limit(1)
    found = conn.execute(query).first()
    if found is None:
        raise RejectsError(
            f"Aucun import « {shown(ref)} » (un numéro d'import, ou le nom du fichier importé)."
        )
    return found


def load(conn: Connection, file_id: int) -> list[Rejected]:
    return [
        (row.line, list(row.cells), list(row.reasons))
        for row in conn.execute(
            select(REJECTS.c.line, REJECTS.c.cells, REJECTS.c.reasons)
            .where(REJECTS.c.file_id == file_id)
            .order_by(REJECTS.c.line)
        )
    ]


def as_text(value: Any) -> str:
    """A cell as kept: text, a date as dd/mm/yyyy, escaped and cut (see above)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return shown(value, MAX_CELL, one_line=False)
