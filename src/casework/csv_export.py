"""Every CSV file the project writes goes through here: no cell can run as a formula.

A spreadsheet opening a CSV takes a cell starting with `=`, `+`, `-` or `@` as a formula (and
some take one starting with a tab or a carriage return the same way, once trimmed): a
`=HYPERLINK(…)` or `=cmd|…` that came in a partner's file would run on a counsellor's machine
when she opens the rejected rows. Such a cell is written with a leading `'`, which spreadsheets
show as text (OWASP's advice for CSV injection). The cost: a value that really starts with
one of them (a negative number) reads back with the quote.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> str:
    """A cell as written: text, with a `'` before what a spreadsheet would run."""
    if value is None:
        return ""
    if type(value) is int and value >= 0:  # most cells of an export: nothing to check
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """`csv.writer`'s `writerow`/`writerows`, every cell neutralised."""

    def __init__(self, out: TextIO, delimiter: str = ";"):
        self._writer = csv.writer(out, delimiter=delimiter)

    def writerow(self, cells: Iterable[Any]) -> None:
        self._writer.writerow([neutralised(c) for c in cells])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for cells in rows:
            self.writerow(cells)
