"""A CSV export read as a stream of rows, its encoding and separator detected.

Two passes over the bytes, neither holding the file:
1. *sniff*: the byte-order mark, or UTF-16 without one (every other byte a NUL), else whether
   the whole file is UTF-8 (a text that decodes as UTF-8 is taken as UTF-8, else it is
   Windows-1252, what French spreadsheets save as "CSV"); a byte Windows-1252 leaves undefined
   is said with its line; and the SHA-256.
2. *parse*: the text decoded as it is read, rows handed over one by one, the SHA-256 again: a
   file that changed between the two passes is refused (the fingerprint kept is of the bytes
   the rows came from).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TypeVar

from casework.intake.files import (
    Rows,
    Table,
    UnreadableFile,
    too_many_columns,
    too_many_rows,
    unreadable,
)
from casework.settings import IntakeSettings
from casework.text_limits import french_number

SEPARATORS = (";", ",", "\t")
CHUNK = 1 << 20
BOMS = (  # UTF-32's marks first: UTF-16 LE's is the start of UTF-32 LE's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# The five bytes Windows-1252 does not define: in a file that is not UTF-8, unreadable.
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
T = TypeVar("T")
_NAMES = {"utf-8-sig": "utf-8 avec BOM", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}


def detect_separator(header_line: str) -> str:
    """The separator the header line uses most (`;` when none appears: a one-column file)."""
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ";"


def detect_encoding(head: bytes) -> str | None:
    """The encoding a file's first bytes say: a byte-order mark, or UTF-16 without one (ASCII
    text in UTF-16 has a NUL every other byte). None: UTF-8 or Windows-1252, by the whole file."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    pairs = head[: len(head) // 2 * 2][:4096]
    if len(pairs) >= 4:
        even, odd = pairs[0::2].count(0), pairs[1::2].count(0)
        half = len(pairs) // 4  # at least half the characters
        if odd >= half and even == 0:
            return "utf-16-le"
        if even >= half and odd == 0:
            return "utf-16-be"
    return None


def read_csv(path: Path, limits: IntakeSettings) -> Table:
    try:
        encoding, sha256 = _sniff(path)
        file = path.open("rb")
    except OSError as error:
        raise unreadable(path, error) from None
    try:
        hashing = _Hashing(file)
        text = io.TextIOWrapper(io.BufferedReader(hashing, CHUNK), encoding, newline="")
        first = _decoded(path, text.readline)
        if not first.strip():
            raise UnreadableFile(f"{path} : le fichier est vide (pas de ligne d'en-têtes)")
        separator = detect_separator(first)
        reader = csv.reader(itertools.chain([first], text), delimiter=separator)
        header = [h.strip() for h in _next(path, reader)]
        if len(header) > limits.max_columns:
            raise too_many_columns(path, 1, limits)
    except BaseException:
        file.close()
        raise

    def rows() -> Rows:
        yield from _rows(path, reader, limits)
        if hashing.hexdigest() != sha256:
            raise UnreadableFile(f"{path} : le fichier a changé pendant sa lecture")

    def digest() -> str:
        if not hashing.done:
            raise RuntimeError("the SHA-256 is known once every row has been read")
        return sha256

    named = _NAMES.get(encoding, encoding)
    return Table(path, header, rows(), named, separator, digest, file.close)


def _rows(path: Path, reader: Iterator[list[str]], limits: IntakeSettings) -> Rows:
    cells = _next(path, reader, None)
    while cells is not None:
        line = reader.line_num  # type: ignore[attr-defined]
        if line - 1 > limits.max_rows:
            raise too_many_rows(path, limits)
        if len(cells) > limits.max_columns:
            raise too_many_columns(path, line, limits)
        if any(c.strip() for c in cells):
            yield line, cells  # type: ignore[misc]
        cells = _next(path, reader, None)


_END = object()


def _next(path: Path, reader: Iterator[list[str]], default: object = _END) -> list[str]:
    """The next record, or `default` at the end; a malformed file said in French."""
    try:
        return _decoded(path, lambda: next(reader))
    except StopIteration:
        if default is _END:
            raise UnreadableFile(f"{path} : le fichier est vide") from None
        return default  # type: ignore[return-value]
    except csv.Error as error:
        line = reader.line_num  # type: ignore[attr-defined]
        said = str(error)
        if "field larger than field limit" in said:
            said = f"une cellule dépasse {french_number(csv.field_size_limit())} caractères"
        raise UnreadableFile(f"{path}, ligne {line} : CSV mal formé ({said})") from None


def _decoded(path: Path, read: Callable[[], T]) -> T:
    try:
        return read()
    except UnicodeDecodeError as error:  # UTF-16 cut in the middle of a character
        raise UnreadableFile(f"{path} : encodage illisible ({error.reason})") from None


def _sniff(path: Path) -> tuple[str, str]:
    """The file's encoding and SHA-256, in one pass that keeps no more than a chunk."""
    sha = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, encoding = True, None
    lines, undefined = 1, None  # the first byte Windows-1252 leaves undefined: its line
    with path.open("rb") as file:
        first = True
        while chunk := file.read(CHUNK):
            sha.update(chunk)
            if first:
                encoding, first = detect_encoding(chunk), False
            if encoding is not None:
                continue
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
            if undefined is None and (found := _CP1252_UNDEFINED.search(chunk)):
                undefined = (lines + chunk.count(b"\n", 0, found.start()), found.group()[0])
            lines += chunk.count(b"\n")
    if encoding is None and is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:  # the file ends in the middle of a character
            is_utf8 = False
    if encoding is None:
        encoding = "utf-8" if is_utf8 else "cp1252"
    if encoding == "cp1252" and undefined is not None:
        line, byte = undefined
        raise UnreadableFile(
            f"{path}, ligne {line} : encodage illisible (octet {byte:#x} : ni UTF-8 ni "
            "Windows-1252)"
        )
    return encoding, sha.hexdigest()


class _Hashing(io.RawIOBase):
    """A file read through: what was read is hashed, for the fingerprint of those very bytes."""

    def __init__(self, file: IO[bytes]):
        self.file, self.sha, self.done = file, hashlib.sha256(), False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        data = self.file.read(len(buffer))
        if not data:
            self.done = True
        buffer[: len(data)] = data
        self.sha.update(data)
        return len(data)

    def hexdigest(self) -> str:
        return self.sha.hexdigest()
