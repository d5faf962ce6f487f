"""A copy of everything held about one young person (GDPR art. 15 and 20), as files.

The JSON file is the complete, machine-readable copy: every row of every table of the holdings
map (`casework.privacy.holdings`), every column as stored, times and dates in ISO 8601, the raw
mails as the text their bytes decode to, attachments in base64. The HTML document
(`privacy.document`) is the same rows for a person to read, in French; the PDF is that HTML
printed by WeasyPrint, so the two never differ.

Files hold personal data: written to a temporary file in the target folder, readable by its
owner only (0600), then renamed into place: a copy is whole or absent.
"""

from __future__ import annotations

import base64
import enum
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row

from casework.privacy.holdings import Holding, Keys, held, keys_of

FORMATS = ("json", "html", "pdf")
# Bytes that are a text: a mail as received (its own charsets inside); other bytes are files.
TEXT_BYTES = frozenset({("inbound_mails", "raw")})
FILE_MODE = 0o600


@dataclass(frozen=True)
class Holdings:
    """A person's rows, read in one transaction: what every format is written from."""

    keys: Keys
    tables: list[tuple[Holding, list[Row[Any]]]]
    made_at: datetime

    def rows(self, table: str) -> list[Row[Any]]:
        return next((rows for h, rows in self.tables if h.name == table), [])


def read_holdings(conn: Connection, person_id: int, now: datetime) -> Holdings:
    keys = keys_of(conn, person_id)
    return Holdings(keys=keys, tables=list(held(conn, keys)), made_at=now)


def stored(table: str, column: str, value: Any) -> Any:
    """A column's value as the JSON copy holds it."""
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        if (table, column) in TEXT_BYTES:
            return raw.decode("utf-8", errors="replace")
        return base64.b64encode(raw).decode("ascii")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def as_json(holdings: Holdings, controller: str, dpo_contact: str) -> dict[str, Any]:
    return {
        "personne": holdings.keys.person_id,
        "produit_le": holdings.made_at.isoformat(),
        "responsable_du_traitement": controller,
        "contact_dpo": dpo_contact,
        "encodage": {
            "dates": "ISO 8601, heures en UTC",
            "inbound_mails.raw": "le message tel que reçu, décodé en UTF-8",
            "inbound_attachments.data": "le fichier en base64",
        },
        "tables": [
            {
                "table": holding.name,
                "libelle": holding.label,
                "lignes": [
                    {k: stored(holding.name, k, v) for k, v in row._mapping.items()} for row in rows
                ],
            }
            for holding, rows in holdings.tables
        ],
    }


def write_json(document: dict[str, Any], path: Path) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)
    with private_file(path) as temporary:
        temporary.write_text(text + "\n", encoding="utf-8")


def write_html(html: str, path: Path) -> None:
    with private_file(path) as temporary:
        temporary.write_text(html, encoding="utf-8")


def write_pdf(html: str, path: Path) -> None:
    from casework.evaluation.outputs import print_pdf  # its imports: for a PDF only

    with private_file(path) as temporary:
        print_pdf(html, temporary)


@contextmanager
def private_file(path: Path) -> Iterator[Path]:
    """A temporary file beside `path`, mode 0600, renamed to `path` when the block ends well."""
    handle, name = tempfile.mkstemp(prefix=".", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        os.chmod(temporary, FILE_MODE)  # mkstemp's already; said, not assumed
        yield temporary
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def file_names(person_id: int, day: date, formats: tuple[str, ...]) -> dict[str, str]:
    """One name per format: "donnees-personne-12-2026-09-01.json"."""
    return {fmt: f"donnees-personne-{person_id}-{day.isoformat()}.{fmt}" for fmt in formats}
