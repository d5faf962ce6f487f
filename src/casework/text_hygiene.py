"""Text from outside made safe for where it goes: the database and the terminal.

*The database.* PostgreSQL refuses NUL in a text value and `\\u0000` in JSONB, and neither
database driver can encode a lone surrogate (what Python's parsers leave for undecodable bytes,
e.g. raw 8-bit mail headers). One such character used to fail a whole transaction, and an IMAP
batch with it, again at every retry. `install(engine)` cleans every text parameter of every
statement on its way to the driver (`before_cursor_execute`), whatever path wrote it (ORM, Core,
the engine's set-based SQL and its PostgreSQL arrays), and `json_dumps` cleans JSON documents:
NUL is removed, a lone surrogate becomes U+FFFD. SQLite would store a NUL; it is cleaned there
too, so both databases hold the same text. Raw bytes (the stored original of a mail) are kept
as they are. Input that a person typed or a file gave is refused with a clear error before it
gets here (see intake's and the transitions' field checks); this is the last line, not the
validation.

*The terminal.* A name or a mail subject can carry ESC sequences (move the cursor, clear the
screen, set the window title, OSC 8 links) or other control characters that fake lines of
output. `for_terminal` removes them before the command line prints text from the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, event

# What no database column can hold: NUL, and surrogates (only ever lone in a Python str).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` without NUL, its lone surrogates replaced by U+FFFD. The usual case (nothing to
    clean) costs a character search."""
    if text.isascii():  # O(1) in CPython: no surrogate can be there
        return text.replace("\x00", "") if "\x00" in text else text
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda found: "" if found.group() == "\x00" else "\ufffd", text)


def _unstorable(text: str) -> bool:
    return "\x00" in text or (not text.isascii() and _UNSTORABLE.search(text) is not None)


def _needs_cleaning(value: Any) -> bool:
    """Whether any text in `value` (a value, or rows of values, nested lists for PostgreSQL
    arrays) needs cleaning. Level by level, in one loop without a call per value, and one
    search over the level's texts joined: this runs on every statement, the engine's batches
    of thousands of values included."""
    level = [value]
    while level:
        texts: list[str] = []
        deeper: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is str:
                texts.append(item)
            elif kind is tuple or kind is list:
                deeper.extend(item)
            elif kind is dict:
                deeper.extend(item.values())
        if texts and _unstorable("".join(texts)):
            return True
        level = deeper
    return False


def _cleaned(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return storable(value)
    if kind is list or kind is tuple:
        return kind(_cleaned(v) for v in value)
    if kind is dict:
        return {k: _cleaned(v) for k, v in value.items()}
    return value


def clean_parameters(parameters: Any) -> Any:
    """A statement's parameters (one set, a list of sets for executemany, or one flat set for a
    multi-row VALUES), rebuilt only where a text needs cleaning (rare)."""
    return _cleaned(parameters) if _needs_cleaning(parameters) else parameters


def json_dumps(value: Any) -> str:
    """JSON for a JSON/JSONB column. `json.dumps` escapes NUL as \\u0000 and a lone surrogate as
    \\udXXX, which PostgreSQL's JSONB refuses: then the document is cleaned and dumped again
    (astral characters are escaped as surrogate pairs too, which only costs the second pass)."""
    text = json.dumps(value)
    if "\\u0000" in text or "\\ud" in text:
        text = json.dumps(_cleaned_json(value))
    return text


def _cleaned_json(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, Mapping):
        return {storable(str(k)): _cleaned_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned_json(v) for v in value]
    return value


def install(engine: Engine) -> None:
    """Clean every statement's text parameters on `engine` before the driver sees them."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _clean(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> tuple[str, Any]:
        # `_many` cannot be trusted for the shape: SQLAlchemy's insertmanyvalues passes one
        # flat set of parameters with it set.
        return statement, clean_parameters(parameters)


# -- the terminal --------------------------------------------------------------------------------

# ESC sequences in their 7-bit and 8-bit forms (CSI … final byte; OSC, DCS, SOS, PM, APC up
# to BEL or ST, or to the next escape — an unterminated one eats only up to there, and at most
# 512 characters, not the rest of the text; two-character escapes), then any other C0 control
# but tab and line feed, DEL, C1 controls, the line and paragraph separators, and the
# bidirectional marks and overrides that can reorder what is shown.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,512}(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b.?"  # any other escape
)
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


# What JSON printed for a terminal escapes beyond json.dumps' own (C0, quote, backslash).
_JSON_ESCAPES = {
    c: f"\\u{c:04x}"
    for c in (
        *range(0x7F, 0xA0),
        0x061C,
        0x200E,
        0x200F,
        0x2028,
        0x2029,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
}


def json_for_terminal(value: Any) -> str:
    """One JSON document on one line, readable (accents kept) and inert in a terminal: DEL, C1
    controls (an 8-bit CSI) and bidirectional controls escaped as \\uXXXX, still valid JSON."""
    return json.dumps(value, ensure_ascii=False, default=str).translate(_JSON_ESCAPES)


def for_terminal(text: str | None, keep_newlines: bool = True) -> str:
    """`text` as it may be printed: escape sequences and control characters removed (a CR would
    let a value overwrite its own line); line feeds kept unless `keep_newlines` is False."""
    if not text:
        return ""
    if text.isprintable():
        return text
    text = _CONTROLS.sub("", _ESCAPES.sub("", text.replace("\r\n", "\n")))
    return text if keep_newlines else " ".join(text.split("\n"))
