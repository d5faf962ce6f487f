"""Numbers and dates as a French reader reads them, and the typed cells a report's tables hold.

A cell keeps its value (a count, a proportion, an interval) so that the XLSX holds numbers a
spreadsheet can compute with, and says how it reads in French ("12,5 %", "1 234", "[8,1 % ;
30,2 %]", "1er mars 2026") for the HTML and the PDF.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from casework.labels import MONTHS

# A narrow no-break space groups thousands and precedes "%" (French typography).
NNBSP = "\u202f"
MISSING = "–"


def integer(value: int) -> str:
    """1234567 → "1 234 567"."""
    return f"{value:,}".replace(",", NNBSP)


def number(value: float | None, digits: int = 1) -> str:
    """2.345 → "2,3"; None or NaN → "–"."""
    if value is None or math.isnan(value):
        return MISSING
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    text = f"{value:,.{digits}f}"
    return text.replace(",", NNBSP).replace(".", ",")


def percent(value: float | None, digits: int = 1) -> str:
    """0.125 → "12,5 %"."""
    if value is None or math.isnan(value):
        return MISSING
    return f"{number(value * 100, digits)}{NNBSP}%"


def long_date(day: date) -> str:
    """1 March 2026 → "1er mars 2026"."""
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS[day.month - 1]} {day.year}"


def p_value(value: float | None) -> str:
    """A test's p-value as an evaluator reads it: "0,032", "< 0,001"."""
    if value is None or math.isnan(value):
        return MISSING
    if value < 0.001:
        return f"<{NNBSP}0,001"
    return number(value, 3)


@dataclass(frozen=True)
class Pct:
    """A proportion (0–1), shown as a percentage."""

    value: float | None
    digits: int = 1

    def text(self) -> str:
        return percent(self.value, self.digits)


@dataclass(frozen=True)
class Num:
    """A measured quantity (a mean, a ratio, a number of days), shown with `digits` decimals."""

    value: float | None
    digits: int = 1

    def text(self) -> str:
        return number(self.value, self.digits)


@dataclass(frozen=True)
class PValue:
    value: float | None

    def text(self) -> str:
        return p_value(self.value)


@dataclass(frozen=True)
class Interval:
    """A 95 % confidence interval, of proportions (`pct`) or of plain numbers."""

    low: float | None
    high: float | None
    pct: bool = True
    digits: int = 1

    def text(self) -> str:
        show = percent if self.pct else number
        if self.low is None or self.high is None:
            return MISSING
        return f"[{show(self.low, self.digits)} ; {show(self.high, self.digits)}]"


Cell = str | int | Pct | Num | PValue | Interval | None


def cell_text(cell: Cell) -> str:
    """How a cell reads in French, in the HTML and the PDF."""
    if cell is None:
        return MISSING
    if isinstance(cell, bool):  # never shown as True/False
        return "oui" if cell else "non"
    if isinstance(cell, int):
        return integer(cell)
    if isinstance(cell, str):
        return cell
    return cell.text()


def cell_value(cell: Cell) -> tuple[object, str | None]:
    """What a spreadsheet cell holds, and its number format: numbers stay numbers (a
    proportion as a fraction formatted as a percentage); an interval, which is two numbers in
    one cell, is its French text."""
    if cell is None or isinstance(cell, str):
        return cell, None
    if isinstance(cell, int):
        return cell, "#,##0"
    if isinstance(cell, Pct):
        return _finite(cell.value), "0." + "0" * cell.digits + "%" if cell.digits else "0%"
    if isinstance(cell, Num):
        return _finite(cell.value), "0." + "0" * cell.digits if cell.digits else "0"
    if isinstance(cell, PValue):
        return _finite(cell.value), "0.000"
    return cell.text(), None


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else value
