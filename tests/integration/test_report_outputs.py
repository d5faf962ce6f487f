"""`casework report` from the command line: the files it writes (HTML, XLSX), its refusals, its
French; and the report of a season imported from files, matched, assigned, with ruptures
arriving in a later file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.evaluation.model import Scope
from casework.evaluation.outputs import tables_text
from casework.evaluation.report import build_report
from casework.french import faults
from casework.intake import matching
from casework.intake.importer import Importer
from casework.intake.sample_files import CMA_HEADER, caseload_rows, contract_rows, write_csv
from casework.intake.synthetic import generate
from casework.models import Case
from tests.factories import assign
from tests.integration.test_report import known_cohort
from tests.report_cohort import COHORT, add_cohort

ME = Actor.person("referente")


def run(db_url: str, *args: str) -> object:
    return CliRunner().invoke(main, ["--database", db_url, "report", *args], catch_exceptions=False)


def test_the_command_writes_the_report_as_html_and_as_xlsx(
    app: App, db_url: str, tmp_path: Path
) -> None:
    add_cohort(app, known_cohort())
    common = ["--cohort", str(COHORT), "--cutoff", "2027-06-30", "--out", str(tmp_path)]
    done = run(db_url, *common, "--format", "html")
    assert done.exit_code == 0, done.output
    html_file = tmp_path / "rapport-cohorte-2026-2027-06-30.html"
    assert f"Rapport écrit : {html_file} (41 dossiers, données arrêtées au 30/06/2027)." in (
        done.output
    )
    html = html_file.read_text(encoding="utf-8")
    assert "Données arrêtées au 30 juin 2027 : 41 dossiers" in html
    assert html.count("<h2>Tableau ") == 7
    assert "<svg" in html
    assert "Aucun bilan enregistré à la date d&#39;arrêt." in html
    assert "15,0\u202f%" in html  # 3 ruptures out of 20 in the test group
    done = run(db_url, *common, "--format", "xlsx")
    assert done.exit_code == 0, done.output
    book = load_workbook(tmp_path / "rapport-cohorte-2026-2027-06-30.xlsx")
    assert book.sheetnames[0] == "Rapport"
    assert len(book.sheetnames) == 8
    sheet = book["2. Ruptures de contrat"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    test_row = next(r for r in rows if r[0] == "Test, toutes années")
    assert test_row[1:4] == [20, 3, 0.15]
    percent = next(c for r in sheet.iter_rows() for c in r if c.value == 0.15)
    assert percent.number_format == "0.0%"


def test_a_date_that_is_not_one_is_refused_in_french(db_url: str, tmp_path: Path) -> None:
    done = CliRunner().invoke(
        main,
        [
            "--database",
            db_url,
            "report",
            "--cohort",
            "2026",
            "--cutoff",
            "30/06/2027",
            "--out",
            str(tmp_path),
        ],
    )
    assert done.exit_code == 2
    assert "« 30/06/2027 » n'est pas une date (AAAA-MM-JJ)." in done.output


def test_what_the_report_says_reads_as_french(app: App) -> None:
    add_cohort(app, known_cohort())
    report = build_report(app, Scope(COHORT, date(2027, 6, 30)))
    found = [f"{text!r}: {fault}" for text in tables_text(report) for fault in faults(text)]
    assert found == []


def test_a_season_from_files_gives_the_expected_table_2(app: App, tmp_path: Path) -> None:
    data = generate(60, seed=4, cohort=COHORT)
    cma_rows = contract_rows(data, 4, COHORT, bad_rows=False)
    first, ml = tmp_path / "septembre.csv", tmp_path / "ml.csv"
    write_csv(cma_rows, CMA_HEADER, first, "cp1252", ";")
    ml_rows = caseload_rows(data, 4, COHORT)
    write_csv(ml_rows, list(ml_rows[0]), ml, "utf-8", ",")
    Importer(app).run(first, "cma", actor=ME, skip_invalid=True)
    Importer(app).run(ml, "ml", actor=ME, skip_invalid=True)
    matching.match(app, COHORT)
    assign(app, COHORT, "parity", actor=ME)
    with app.db.read() as conn:
        sizes = dict(conn.execute(select(Case.group, func.count()).group_by(Case.group)).all())
    # A later file says two test contracts and one control contract broke.
    from tests.integration.test_intake import groups_by_contract

    groups = groups_by_contract(app)
    broken = [k for k in sorted(groups) if groups[k] == "test"][:2]
    broken += [k for k in sorted(groups) if groups[k] == "control"][:1]
    for row in cma_rows:
        if row["N° contrat"] in broken:
            start = row["Date de début"]  # dd/mm/yyyy: broken on the 28th, or on its first day
            row["Date de rupture"] = start if start[:2] > "28" else "28" + start[2:]
    later = tmp_path / "janvier.csv"
    write_csv(cma_rows, CMA_HEADER, later, "cp1252", ";")
    Importer(app).run(later, "cma", actor=ME)

    report = build_report(app, Scope(COHORT, date(2027, 12, 31)))
    (ruptures,) = (t for t in report.tables if t.number == 2)
    rows = {r[0]: r[1:3] for r in ruptures.blocks[0].rows}
    assert rows["Test, toutes années"] == [sizes["test"], 2]
    assert rows["Témoin, toutes années"] == [sizes["control"], 1]
