"""Property-based tests (hypothesis): whatever a file or a form holds, the field parsers and the
CSV/XLSX readers either work or raise the one error they document — never another exception,
never a hang (each example has a deadline far above what it takes).

Example counts stay moderate so that CI stays fast; hypothesis draws new ones on every run.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.csv_export import FORMULA_STARTS, neutralised
from casework.errors import InvalidTransitionData
from casework.intake.fields import FIELDS, Invalid
from casework.intake.files import UnreadableFile
from casework.intake.profile import default_profile
from casework.intake.reading import check_file
from casework.states.definition import FieldDef
from casework.states.fields import clean_fields
from casework.text_limits import KEY, LABEL, NAME, NOTE, PLACE, TextKind, TextRefused, shown
from tests.hostile_files import SHEET, workbook

FAST = settings(max_examples=200, deadline=5000, database=None)
FILES = settings(
    max_examples=60,
    deadline=10_000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PARSERS = sorted(
    {f.parse for fields in FIELDS.values() for f in fields.values()}, key=lambda p: repr(p)
)
# What a cell can hold: text of any kind, and what a workbook types.
CELLS = st.one_of(
    st.text(),
    st.text(alphabet="0123456789/-.: TAB", max_size=25),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
    st.booleans(),
)
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@FAST
@given(value=CELLS)
def test_every_field_parser_takes_any_cell_or_says_why(value: Any) -> None:
    for parse in PARSERS:
        try:
            parsed = parse(value)
        except Invalid as error:
            said = str(error)
            assert said
            continue
        assert isinstance(parsed, str | int | date)
        assert not isinstance(parsed, datetime)
        if isinstance(parsed, str):
            assert not _REFUSED.search(parsed)
            assert len(parsed) <= LABEL.max_length


@FAST
@given(text=st.text(), kind=st.sampled_from([KEY, NAME, PLACE, LABEL, NOTE]))
def test_a_checked_text_is_within_its_limits(text: str, kind: TextKind) -> None:
    try:
        kept = kind.check(text)
    except TextRefused as refused:
        said = str(refused)
        assert "\x00" not in said
        return
    assert len(kept) <= kind.max_length
    assert not _REFUSED.search(kept)
    if not kind.multiline:
        assert "\n" not in kept
        assert "\t" not in kept


@FAST
@given(value=st.one_of(st.text(), st.integers(), st.none()), limit=st.integers(1, 100))
def test_a_shown_value_is_short_and_printable(value: Any, limit: int) -> None:
    said = shown(value, limit)
    assert len(said) <= limit * 6 + 40  # an escape is at most six characters
    assert not _REFUSED.search(said)
    assert "\n" not in said


@FAST
@given(note=st.text(), reason=st.text(max_size=50))
def test_a_form_text_is_taken_or_refused_with_its_field(note: str, reason: str) -> None:
    fields = (FieldDef("note", "text", 1), FieldDef("reason", "text", 2, max_length=20))
    try:
        clean_fields("t", fields, {"note": note, "reason": reason})
    except InvalidTransitionData as bad:
        field, said = bad.field, bad.french()
        assert field in ("note", "reason")
        assert len(said) < 400


@FAST
@given(value=st.one_of(st.text(), st.integers(), st.none()))
def test_no_written_cell_starts_like_a_formula(value: Any) -> None:
    written = neutralised(value)
    assert not written.startswith(FORMULA_STARTS)
    assert written.removeprefix("'") == ("" if value is None else str(value)) or written == str(
        value
    )


def _checked_or_unreadable(path: Path, source: str = "ml") -> None:
    try:
        checked = check_file(path, default_profile(source))
    except UnreadableFile as error:
        said = str(error)
        assert said.startswith(str(path))
        return
    for problem in checked.problems:
        assert len(str(problem)) < 1000
    for _, values in checked.records:
        assert all(not isinstance(v, str) or not _REFUSED.search(v) for v in values.values())


@FILES
@given(data=st.binary(max_size=3000))
def test_any_bytes_as_a_csv(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        path.write_bytes(data)
        _checked_or_unreadable(path)


ML_HEADER = "Identifiant;Nom;Prénom;Date de naissance;Sexe;Code postal;Commune"


@FILES
@given(
    rows=st.lists(st.lists(st.text(max_size=30), max_size=9), max_size=15),
    separator=st.sampled_from([";", ",", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le"]),
)
def test_any_rows_in_any_encoding(rows: list[list[str]], separator: str, encoding: str) -> None:
    """Rows under a real header, so that the checks past the header are reached."""
    lines = [ML_HEADER.replace(";", separator)]
    lines += [separator.join(cells) for cells in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        path.write_bytes("\n".join(lines).encode(encoding, errors="replace"))
        _checked_or_unreadable(path)


_BASE: dict[str, bytes] = {}


def _workbook_parts() -> dict[str, bytes]:
    if not _BASE:
        with tempfile.TemporaryDirectory() as folder:
            path = workbook(Path(folder) / "ml.xlsx", rows=3)
            with zipfile.ZipFile(path) as source:
                _BASE.update({name: source.read(name) for name in source.namelist()})
    return _BASE


REFS = st.from_regex(r"\A[A-Z]{1,4}[0-9]{1,8}(:[A-Z]{1,4}[0-9]{1,8})?\Z")


@FILES
@given(
    dimension=REFS,
    cell=REFS,
    row=st.integers(-5, 99_999_999),
    cut=st.integers(0, 4000),
    noise=st.binary(max_size=40),
)
def test_any_workbook_its_xml_tampered_with(
    dimension: str, cell: str, row: int, cut: int, noise: bytes
) -> None:
    """A real workbook whose sheet claims any dimension, holds a cell anywhere in a row of any
    number, and has bytes of noise spliced in somewhere."""
    parts = dict(_workbook_parts())
    xml = parts[SHEET].decode()
    xml = xml.replace("<sheetViews>", f'<dimension ref="{dimension}"/><sheetViews>')
    xml = xml.replace(
        "</sheetData>",
        f'<row r="{row}"><c r="{cell}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    raw = xml.encode()
    parts[SHEET] = raw[:cut] + noise + raw[cut:] if noise else raw
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ml.xlsx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in parts.items():
                out.writestr(name, data)
        _checked_or_unreadable(path)


@FILES
@given(data=st.binary(max_size=2000))
def test_any_bytes_as_a_workbook(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ml.xlsx"
        path.write_bytes(b"PK\x03\x04" + data)
        _checked_or_unreadable(path)
