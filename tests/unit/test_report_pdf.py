"""The report as PDF (WeasyPrint over Pango): a report with a table and a plot is drawn, and its
numbers are written in French."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from casework.evaluation.format import Interval, Num, Pct, cell_text, long_date
from casework.evaluation.model import Block, Report, Scope, Table
from casework.evaluation.outputs import render_html, write
from casework.evaluation.plots import survival_plot
from casework.evaluation.survival import Durations, fit
from casework.resources import default_templates_dir


def small_report() -> Report:
    curve = fit("Groupe test", Durations({(30, 1): 2, (200, 0): 8}))
    assert curve is not None
    table = Table(
        3,
        "Délai avant la rupture",
        ["Une définition."],
        [Block(["Groupe", "Dossiers", "Taux"], [["Groupe test", 1234, Pct(0.125)]], "Un bloc")],
        figure=survival_plot([curve], "Mois", "Contrats non rompus"),
        figure_caption="Courbe.",
    )
    return Report(
        Scope(2026, date(2027, 6, 30)),
        [table],
        datetime(2027, 7, 1, 8, tzinfo=UTC),
        "casework test",
        [("cohorte", "2026")],
        10,
    )


def test_the_pdf_is_drawn_from_the_html(tmp_path: Path) -> None:
    path = write(small_report(), "pdf", default_templates_dir(), tmp_path)
    assert path.name == "rapport-cohorte-2026-2027-06-30.pdf"
    assert path.read_bytes()[:5] == b"%PDF-"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_numbers_and_dates_read_as_french() -> None:
    assert cell_text(1234567) == "1\u202f234\u202f567"
    assert cell_text(Pct(0.125)) == "12,5\u202f%"
    assert cell_text(Num(12345.25, 1)) == "12\u202f345,2"
    assert cell_text(Interval(0.0524, 0.3604)) == "[5,2\u202f% ; 36,0\u202f%]"
    assert cell_text(None) == "–"
    assert long_date(date(2026, 3, 1)) == "1er mars 2026"
    assert long_date(date(2026, 8, 15)) == "15 août 2026"
    html = render_html(small_report(), default_templates_dir())
    assert "1\u202f234" in html
    assert "12,5\u202f%" in html
    assert "<svg" in html
    assert "Données arrêtées au 30 juin 2027 : 10 dossiers" in html
