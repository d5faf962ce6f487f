"""What a report is once computed: its scope, its tables, and what it says about itself.

Plain data: the outputs (HTML, PDF, XLSX) only lay it out, so that the three say the same
figures, and a test reads the figures without parsing any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from casework.evaluation.format import Cell


@dataclass(frozen=True)
class Scope:
    """Which cases a report counts: a cohort's (the signing season they were identified in),
    optionally those whose contract started in one calendar year, as of a cut-off date.

    Everything dated after the cut-off is left out (a rupture, a contact, a sheet's answer), and
    so is a case whose contract had not started by then: the same data and the same cut-off
    give the same report."""

    cohort: int
    cutoff: date
    year: int | None = None


@dataclass
class Block:
    """One grid of a table: a header row, then rows whose first cell is the row's label."""

    columns: list[str]
    rows: list[list[Cell]]
    caption: str | None = None


@dataclass
class Table:
    number: int
    title: str
    # What each figure means, for a reader who has not seen the code: one paragraph each.
    definitions: list[str]
    blocks: list[Block] = field(default_factory=list)
    # What a reader should know to read it right (a test's result, what was left out).
    notes: list[str] = field(default_factory=list)
    # An inline SVG plot, and what it shows.
    figure: str | None = None
    figure_caption: str | None = None
    # Said instead of the blocks when there is nothing to count.
    empty: str | None = None

    @property
    def sheet_name(self) -> str:
        """The XLSX sheet's name (at most 31 characters, no []:*?/\\)."""
        return f"{self.number}. {self.title}"[:31].translate(str.maketrans("[]:*?/\\", "()-----"))


@dataclass
class Report:
    scope: Scope
    tables: list[Table]
    # Reproducibility: when and by what it was computed, from which settings.
    generated_at: datetime
    software: str
    settings_used: list[tuple[str, str]]
    population: int
