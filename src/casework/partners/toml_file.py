"""A partner file in TOML: `[[partner]]` tables, each with its `[[partner.contact]]` tables.

```toml
[[partner]]
name = "ADLJ 53 — logement des jeunes"
kind = "logement"                 # Mission Locale, logement, CFA, service social, autre
needs = ["logement"]
territory = ["53", "72000"]       # départements and postcodes
siret = "12345678900011"          # optional, and so are uai, ack_days, feedback_days
ack_days = 2                      # its own deadlines, in working days (else the workflow's)

[[partner.contact]]
name = "Sophie Martin"
email = "accueil@adlj53.example"
phone = "02 43 00 00 00"
role = "contact"                  # or "responsable"
```

Python's `tomllib` gives no line numbers: problems are placed by finding each table's header
and each key's line in the text (a value written as an inline table is placed on its table's
line).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from casework.intake.files import UnreadableFile, too_large, unreadable
from casework.partners.reading import (
    CONTACT_COLUMNS,
    PARTNER_COLUMNS,
    BadValue,
    Cell,
    Merging,
    PartnerFile,
)
from casework.settings import IntakeSettings

_PARTNER_TABLE = re.compile(r"^\s*\[\[\s*partner\s*\]\]")
_CONTACT_TABLE = re.compile(r"^\s*\[\[\s*partner\s*\.\s*contact\s*\]\]")
_WHERE = re.compile(r"at line (\d+), column (\d+)")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
_PARTNER_KEYS = {c.key for c in PARTNER_COLUMNS} | {"contact"}
_CONTACT_KEYS = {c.key for c in CONTACT_COLUMNS}


def read_toml(path: Path, limits: IntakeSettings) -> PartnerFile:
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise too_large(path, size, limits)
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise unreadable(path, error) from None
    except UnicodeDecodeError:
        raise UnreadableFile(f"{path} : un fichier TOML s'écrit en UTF-8") from None
    found = PartnerFile(path, "TOML")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # Its message is English and ends with where: "Invalid value (at line 3, column 8)".
        where = _WHERE.search(str(error))
        line, column = (int(where.group(1)), where.group(2)) if where else (None, "?")
        found.problems.append(_bad(found, line, f"syntaxe TOML invalide (colonne {column})"))
        return found
    lines = _Lines(text)
    for key in data:
        if key != "partner":
            found.problems.append(
                _bad(found, lines.top(key), f"clé inconnue « {key} » (attendu : [[partner]])")
            )
    partners = data.get("partner", [])
    if not isinstance(partners, list) or not all(isinstance(p, dict) for p in partners):
        found.problems.append(
            _bad(
                found, lines.top("partner"), "« partner » doit être une suite de tables [[partner]]"
            )
        )
        return found
    merging = Merging(found)
    for index, table in enumerate(partners):
        line = lines.partner(index)
        cells = _cells(found, lines, table, _PARTNER_KEYS, index, None)
        entry = merging.partner(cells, line)
        contacts = table.get("contact", [])
        if not isinstance(contacts, list) or not all(isinstance(c, dict) for c in contacts):
            found.problems.append(
                _bad(found, line, "« contact » doit être une suite de tables [[partner.contact]]")
            )
            continue
        for number, contact in enumerate(contacts):
            contact_cells = _cells(found, lines, contact, _CONTACT_KEYS, index, number)
            merging.contact(entry, contact_cells, lines.contact(index, number))
    return found


def _cells(
    found: PartnerFile,
    lines: _Lines,
    table: dict[str, Any],
    allowed: set[str],
    partner: int,
    contact: int | None,
) -> dict[str, Cell]:
    cells = {}
    for key, value in table.items():
        line = lines.key(partner, contact, key)
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            found.problems.append(_bad(found, line, f"clé inconnue « {key} » (attendu : {known})"))
        elif key != "contact":
            cells[key] = Cell(value, line, f"clé « {key} »")
    return cells


def _bad(found: PartnerFile, line: int | None, reason: str) -> BadValue:
    return BadValue(found.path.name, line, None, None, reason)


class _Lines:
    """Where each table and key is written: the n-th [[partner]], its m-th [[partner.contact]],
    and the keys under each."""

    def __init__(self, text: str):
        self.partners: list[int] = []
        self.contacts: dict[tuple[int, int], int] = {}
        self.keys: dict[tuple[int | None, int | None, str], int] = {}
        partner: int | None = None
        contact: int | None = None
        counts: dict[int, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if _CONTACT_TABLE.match(line) and partner is not None:
                contact = counts.get(partner, 0)
                counts[partner] = contact + 1
                self.contacts[(partner, contact)] = number
            elif _PARTNER_TABLE.match(line):
                partner, contact = len(self.partners), None
                self.partners.append(number)
            elif line.lstrip().startswith("["):
                partner, contact = None, None  # another table: its keys are not ours
            elif found := _KEY.match(line):
                self.keys.setdefault((partner, contact, found.group(1)), number)

    def top(self, key: str) -> int | None:
        return self.keys.get((None, None, key))

    def partner(self, index: int) -> int:
        return self.partners[index] if index < len(self.partners) else 1

    def contact(self, partner: int, index: int) -> int:
        return self.contacts.get((partner, index), self.partner(partner))

    def key(self, partner: int, contact: int | None, key: str) -> int:
        found = self.keys.get((partner, contact, key))
        if found is not None:
            return found
        return self.partner(partner) if contact is None else self.contact(partner, contact)
