"""Files that lie about themselves or that a spreadsheet would run: workbooks whose dimension
tag or zip directory lies, files past the caps, duplicate headers, UTF-16, formulas."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from casework.csv_export import neutralised
from casework.intake.files import UnreadableFile, read_table
from casework.intake.profile import default_profile
from casework.intake.reading import Checked, check_file, write_rejected
from casework.intake.sample_files import ML_HEADER, caseload_rows, write_csv
from casework.intake.synthetic import generate
from casework.settings import IntakeSettings
from tests.hostile_files import (
    lying_about_its_size,
    padded,
    with_cell,
    with_dimension,
    workbook,
)

NNBSP = "\u202f"
ML = default_profile("ml")


def checked_csv(folder: Path, text: str) -> Checked:
    path = folder / "ml.csv"
    path.write_text(text, encoding="utf-8")
    return check_file(path, ML)


def rows_of(path: Path, limits: IntakeSettings | None = None) -> list[tuple[int, list]]:
    with read_table(path, limits) as table:
        return list(table.rows)


def test_a_dimension_tag_claiming_the_whole_sheet_costs_nothing(tmp_path: Path) -> None:
    """openpyxl trusted it: seventeen billion empty cells, an hour of CPU."""
    path = with_dimension(workbook(tmp_path / "ml.xlsx"), "A1:XFD1048576")
    rows = rows_of(path)
    assert [line for line, _ in rows] == [2, 3, 4, 5, 6, 7]
    assert all(len(cells) == len(ML_HEADER) for _, cells in rows)


def test_a_dimension_tag_too_small_still_gives_every_row(tmp_path: Path) -> None:
    """openpyxl trusted it: one row of six, silently."""
    path = with_dimension(workbook(tmp_path / "ml.xlsx"), "A1:C1")
    checked = check_file(path, ML)
    assert len(checked.records) + len(checked.rejected) == 6


def test_a_cell_far_away_is_never_padded_to(tmp_path: Path) -> None:
    """One cell at XFD1048576 (python-calamine allocates 512 GB for it and aborts)."""
    path = with_cell(workbook(tmp_path / "ml.xlsx"), "XFD1048576", 1048576)
    assert len(rows_of(path)) == 6  # a value past max_columns + 1 is never read
    far_right = with_cell(workbook(tmp_path / "b.xlsx"), "GS9", 9)  # column 201
    with pytest.raises(UnreadableFile, match="ligne 9 : plus de 200 colonnes"):
        rows_of(far_right)


def test_rows_past_the_cap_stop_the_reading_with_a_clear_error(tmp_path: Path) -> None:
    limits = replace(IntakeSettings(), max_rows=1000)
    path = with_cell(workbook(tmp_path / "ml.xlsx"), "A5000", 5000)
    with pytest.raises(
        UnreadableFile, match=f"plus de 1{NNBSP}000 lignes .réglage .intake. max_rows"
    ):
        rows_of(path, limits)
    csv_path = tmp_path / "long.csv"
    csv_path.write_text("Identifiant;Nom\n" + "ML-1;Dupont\n" * 1001, encoding="utf-8")
    with pytest.raises(UnreadableFile, match=f"plus de 1{NNBSP}000 lignes"):
        rows_of(csv_path, limits)
    assert len(rows_of(csv_path)) == 1001


def test_columns_past_the_cap_are_refused(tmp_path: Path) -> None:
    limits = replace(IntakeSettings(), max_columns=10)
    path = tmp_path / "wide.csv"
    path.write_text(";".join(f"c{i}" for i in range(11)) + "\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="ligne 1 : plus de 10 colonnes"):
        rows_of(path, limits)
    path.write_text("a;b\n1;2\n" + ";" * 11 + "x\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="ligne 3 : plus de 10 colonnes"):
        rows_of(path, limits)


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = workbook(tmp_path / "ml.xlsx")
    limits = replace(IntakeSettings(), max_file_bytes=1000)
    with pytest.raises(UnreadableFile, match=f"fichier trop gros .* au plus 1{NNBSP}000"):
        rows_of(path, limits)


def test_a_workbook_that_unpacks_too_large_is_refused(tmp_path: Path) -> None:
    path = padded(workbook(tmp_path / "ml.xlsx"), megabytes=3)
    assert path.stat().st_size < 100_000  # a thousandfold
    limits = replace(IntakeSettings(), max_unpacked_bytes=2_000_000)
    with pytest.raises(UnreadableFile, match=r"se décompresse en 3.*\(au plus 2.000.000"):
        rows_of(path, limits)


def test_a_zip_lying_about_a_parts_size_never_unpacks_past_it(tmp_path: Path) -> None:
    path = lying_about_its_size(padded(workbook(tmp_path / "ml.xlsx"), megabytes=3), 1000)
    with pytest.raises(UnreadableFile, match="classeur XLSX illisible"):
        rows_of(path)


def test_duplicate_headers_for_a_field_are_refused_not_the_first_taken(tmp_path: Path) -> None:
    text = "Identifiant;Nom;Prénom;Date de naissance;nom \nML-1;Dupont;Léa;01/02/2008;Durand\n"
    checked = checked_csv(tmp_path, text)
    assert checked.records == []
    assert [str(p) for p in checked.problems] == [
        "ml.csv, ligne 1 — colonnes en double pour nom de naissance : « Nom » (colonne B) et "
        "« nom » (colonne E)"
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_are_read(tmp_path: Path, encoding: str) -> None:
    """A spreadsheet's "Unicode text" export: UTF-16 with tabs (it read as missing columns)."""
    data = generate(3, seed=4)
    path = tmp_path / "ml.txt"
    write_csv(caseload_rows(data, 4, 2026), ML_HEADER, path, encoding, "\t")
    checked = check_file(path, ML)
    assert checked.problems == []
    assert len(checked.records) == 3
    assert (
        checked.described
        == f"CSV {encoding.removesuffix('-le').removesuffix('-be')}, séparateur tabulation"
    )
    assert {v["birth_name"] for _, v in checked.records} == {p.birth_name for p in data.ml}


def test_an_undefined_windows_1252_byte_is_said_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ml.csv"
    path.write_bytes(b"Identifiant;Nom\nML-1;L\xe9a\nML-2;Z\x81o\n")
    with pytest.raises(UnreadableFile, match=r"ligne 3 : encodage illisible \(octet 0x81"):
        rows_of(path)


def test_a_csv_is_streamed_not_read_whole(tmp_path: Path) -> None:
    """Rows come as they are read: the first one before the end of the file is reached."""
    path = tmp_path / "ml.csv"
    path.write_text("Identifiant;Nom\n" + "ML-1;Dupont\n" * 200_000, encoding="utf-8")
    with read_table(path) as table:
        assert next(table.rows) == (2, ["ML-1", "Dupont"])
        with pytest.raises(RuntimeError, match="once every row"):
            _ = table.sha256
        assert sum(1 for _ in table.rows) == 199_999
        assert len(table.sha256) == 64


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x";"y")', '\'=HYPERLINK("http://x";"y")'),
        ("+33 6 00", "'+33 6 00"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Dupont", "Dupont"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell: object, written: str) -> None:
    assert neutralised(cell) == written


def test_the_rejected_rows_file_runs_no_formula(tmp_path: Path) -> None:
    text = "Identifiant;Nom;Prénom;Date de naissance\nML-1;=1+1;@x;\"=cmd|' /C calc'!A0\"\n"
    checked = checked_csv(tmp_path, text)
    write_rejected(checked, tmp_path / "rejets.csv")
    with (tmp_path / "rejets.csv").open(encoding="utf-8-sig", newline="") as f:
        _header, row = list(csv.reader(f, delimiter=";"))
    assert row[:5] == ["2", "ML-1", "'=1+1", "'@x", "'=cmd|' /C calc'!A0"]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in row)
