"""Reading a spreadsheet export as rows of text: CSV (separator and encoding detected) or XLSX.

What people send: a CSV saved by a spreadsheet in Windows-1252 with `;`, a UTF-8 one with or
without its byte-order mark, a UTF-16 "Unicode text" export, separated by `,` or tabs; or the
workbook itself. Every row comes out as its line number (the one a spreadsheet shows: the
header is line 1) and its cells by header. Values stay as they are (text, or what the workbook
typed: dates, numbers); `fields.py` makes sense of them.

Rows are streamed, never the whole file as one string or list (`csv_file.py`, `xlsx_file.py`),
and nothing in the file is trusted to size the work: a file larger than `[intake]
max_file_bytes`, with more rows than `max_rows` or more columns than `max_columns` is refused
with a French message as soon as it is seen, before the rest is read.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casework.errors import CaseworkError
from casework.french import os_error
from casework.settings import IntakeSettings
from casework.text_limits import french_number

SEPARATOR_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
Rows = Generator[tuple[int, list[Any]], None, None]  # (line, cells in header order)


class UnreadableFile(CaseworkError):
    """The file cannot be read at all (said in French, with the file's name)."""


def unreadable(path: Path, error: OSError) -> UnreadableFile:
    """A file a person named that the system would not open or read, said in French: every
    reader of a named file (intake, partners, the evaluator's table) says it this way."""
    return UnreadableFile(f"{path} : impossible de lire le fichier ({os_error(error)})")


@dataclass
class Table:
    """A file's header, its rows as they are read (once), and how it was read; `with` it, so
    that the file is closed however the reading ends."""

    path: Path
    header: list[str]
    rows: Rows
    encoding: str | None  # None for a workbook
    separator: str | None
    digest: Callable[[], str]  # the SHA-256 of the bytes read, once every row has been read
    close: Callable[[], None]  # the file, whether its rows were all read or not

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def sha256(self) -> str:
        """Of the very bytes the rows came from: what makes an import of the same file a no-op."""
        return self.digest()

    def described(self) -> str:
        if self.encoding is None:
            return "classeur XLSX"
        return f"CSV {self.encoding}, séparateur {SEPARATOR_NAMES[self.separator or ';']}"


def read_table(path: Path, limits: IntakeSettings | None = None) -> Table:
    """The file's header and rows, by its content (an XLSX is a zip: it starts with "PK")."""
    from casework.intake.csv_file import read_csv
    from casework.intake.xlsx_file import read_xlsx

    limits = limits or IntakeSettings()
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            head = file.read(4)
    except OSError as error:
        raise unreadable(path, error) from None
    if size > limits.max_file_bytes:
        raise too_large(path, size, limits)
    if head.startswith(b"PK"):
        return read_xlsx(path, limits)
    return read_csv(path, limits)


def too_large(path: Path, size: int, limits: IntakeSettings) -> UnreadableFile:
    return UnreadableFile(
        f"{path} : fichier trop gros ({french_number(size)} octets ; au plus "
        f"{french_number(limits.max_file_bytes)}, réglage [intake] max_file_bytes)"
    )


def too_many_rows(path: Path, limits: IntakeSettings) -> UnreadableFile:
    return UnreadableFile(
        f"{path} : plus de {french_number(limits.max_rows)} lignes (réglage [intake] max_rows) ; "
        "rien n'est lu au-delà"
    )


def too_many_columns(path: Path, line: int, limits: IntakeSettings) -> UnreadableFile:
    return UnreadableFile(
        f"{path}, ligne {line} : plus de {french_number(limits.max_columns)} colonnes (réglage "
        "[intake] max_columns)"
    )
