"""A computed report written out: HTML (Jinja, plots inline as SVG), PDF (WeasyPrint, from that
same HTML, so the two never differ) and XLSX (openpyxl, one sheet per table, numbers kept as
numbers with a French-reading format).

Writing goes to a temporary file renamed into place: a report is whole or absent.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font

from casework.evaluation.format import cell_text, cell_value, integer, long_date
from casework.evaluation.model import Report
from casework.timers.calendar import PARIS

FORMATS = ("html", "pdf", "xlsx")


def title(report: Report) -> str:
    year = "" if report.scope.year is None else f", entrées {report.scope.year}"
    return f"Rapport d'évaluation — cohorte {report.scope.cohort}{year}"


def subtitle(report: Report) -> str:
    cases = "dossier" if report.population < 2 else "dossiers"
    return (
        f"Données arrêtées au {long_date(report.scope.cutoff)} : {integer(report.population)} "
        f"{cases}, groupe test et groupe témoin."
    )


def _made(report: Report) -> str:
    local = report.generated_at.astimezone(PARIS)
    return f"{long_date(local.date())} à {local:%H:%M}"


def render_html(report: Report, templates: Path) -> str:
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = cell_text
    return env.get_template("report/report.html.j2").render(
        title=title(report),
        subtitle=subtitle(report),
        tables=report.tables,
        facts=[
            ("Date d'arrêt des données", long_date(report.scope.cutoff)),
            ("Dossiers comptés", integer(report.population)),
            ("Produit le", _made(report)),
        ],
        reproducible=(
            f"Produit par {report.software}. Les mêmes données, la même date d'arrêt et les "
            "mêmes réglages redonnent les mêmes chiffres : tout ce qui est daté après la date "
            "d'arrêt est laissé de côté."
        ),
        settings_used=report.settings_used,
    )


def write_html(report: Report, templates: Path, path: Path) -> None:
    with _replacing(path) as temporary:
        temporary.write_text(render_html(report, templates), encoding="utf-8")


def write_pdf(report: Report, templates: Path, path: Path) -> None:
    html = render_html(report, templates)
    with _replacing(path) as temporary:
        print_pdf(html, temporary)


def print_pdf(html: str, target: Path) -> None:
    """`html` printed to `target` by WeasyPrint (the report, people's copies of their data)."""
    from weasyprint import HTML  # imported here: Pango is loaded only for a PDF

    # WeasyPrint's CSS checker warns about every SVG presentation property in matplotlib's
    # inline styles (its SVG renderer applies them all the same): noise, not news.
    css_log = logging.getLogger("weasyprint")
    level = css_log.level
    css_log.setLevel(logging.ERROR)
    try:
        HTML(string=html).write_pdf(target)
    finally:
        css_log.setLevel(level)


def write_xlsx(report: Report, path: Path) -> None:
    workbook = Workbook(write_only=True)
    about = workbook.create_sheet("Rapport")
    about.append([title(report)])
    about.append([subtitle(report)])
    about.append([])
    for name, value in [("Produit le", _made(report)), ("Logiciel", report.software)]:
        about.append([name, value])
    for name, value in report.settings_used:
        about.append([name, value])
    bold = Font(bold=True)
    for table in report.tables:
        sheet = workbook.create_sheet(table.sheet_name)
        sheet.append([f"Tableau {table.number} : {table.title}"])
        for paragraph in table.definitions:
            sheet.append([paragraph])
        if table.empty:
            sheet.append([])
            sheet.append([table.empty])
        for block in [] if table.empty else table.blocks:
            sheet.append([])
            if block.caption:
                sheet.append([block.caption])
            sheet.append(block.columns)
            for row in block.rows:
                sheet.append(
                    [
                        _xlsx_cell(sheet, cell, bold if i == 0 else None)
                        for i, cell in enumerate(row)
                    ]
                )
        for note in [] if table.empty else table.notes:
            sheet.append([])
            sheet.append([note])
    with _replacing(path) as temporary:
        workbook.save(temporary)


def _xlsx_cell(sheet: object, cell: object, font: Font | None) -> object:
    from openpyxl.cell import WriteOnlyCell

    value, number_format = cell_value(cell)  # type: ignore[arg-type]
    out = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]
    if number_format:
        out.number_format = number_format
    if font is not None:
        out.font = font
    return out


def write(report: Report, fmt: str, templates: Path, folder: Path) -> Path:
    """The report in `fmt`, in `folder` (made if missing), named after its scope."""
    folder.mkdir(parents=True, exist_ok=True)
    year = "" if report.scope.year is None else f"-{report.scope.year}"
    path = folder / f"rapport-cohorte-{report.scope.cohort}{year}-{report.scope.cutoff}.{fmt}"
    if fmt == "html":
        write_html(report, templates, path)
    elif fmt == "pdf":
        write_pdf(report, templates, path)
    else:
        write_xlsx(report, path)
    return path


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    handle, name = tempfile.mkstemp(prefix=".", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def tables_text(report: Report) -> Iterator[str]:
    """Every text a report shows, for the proofreader (tests)."""
    yield title(report)
    yield subtitle(report)
    for table in report.tables:
        yield table.title
        yield from table.definitions
        yield from table.notes
        if table.empty:
            yield table.empty
        for block in table.blocks:
            yield from block.columns
            if block.caption:
                yield block.caption
            for row in block.rows:
                yield from (cell_text(c) for c in row)
