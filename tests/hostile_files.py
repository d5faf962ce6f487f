"""Hostile files built in the tests: workbooks whose XML says what it should not."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

from casework.intake.sample_files import ML_HEADER, caseload_rows, write_xlsx
from casework.intake.synthetic import generate

SHEET = "xl/worksheets/sheet1.xml"


def workbook(path: Path, rows: int = 6, seed: int = 1) -> Path:
    """A Mission Locale workbook with `rows` young people (openpyxl writes no dimension tag)."""
    write_xlsx(caseload_rows(generate(rows, seed=seed), seed, 2026), ML_HEADER, path)
    return path


def edit_sheet(path: Path, edit: Callable[[str], str]) -> Path:
    """The workbook with its first sheet's XML changed by `edit`."""
    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in parts:
            if info.filename == SHEET:
                data = edit(data.decode()).encode()
            out.writestr(info, data, zipfile.ZIP_DEFLATED)
    return path


def with_dimension(path: Path, ref: str) -> Path:
    """The sheet claims to span `ref` (a `<dimension ref>` tag where the schema puts it)."""
    return edit_sheet(
        path, lambda xml: xml.replace("<sheetViews>", f'<dimension ref="{ref}"/><sheetViews>')
    )


def with_cell(path: Path, ref: str, row: int, text: str = "x") -> Path:
    """One more cell, at `ref`, in a row numbered `row`, after the others."""
    cell = f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c></row>'
    return edit_sheet(path, lambda xml: xml.replace("</sheetData>", f"{cell}</sheetData>"))


def padded(path: Path, megabytes: int) -> Path:
    """The sheet followed by `megabytes` of empty rows' XML: it compresses a thousandfold."""
    filler = '<row r="999999"/>' * (megabytes * 1_000_000 // 17)
    return edit_sheet(path, lambda xml: xml.replace("</sheetData>", f"{filler}</sheetData>"))


def lying_about_its_size(path: Path, declared: int) -> Path:
    """The zip says the sheet unpacks to `declared` bytes; it unpacks to more."""
    data = bytearray(path.read_bytes())
    name = SHEET.encode()
    # Where each kind of header keeps (its name's length, its name, its unpacked size).
    for signature, length_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22),
                                                   (b"PK\x01\x02", 28, 46, 24)):  # fmt: skip
        at = data.find(signature)
        while at != -1:
            length = struct.unpack_from("<H", data, at + length_at)[0]
            if data[at + name_at : at + name_at + length] == name:
                struct.pack_into("<I", data, at + size_at, declared)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path
