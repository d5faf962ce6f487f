"""How long a text may be and which characters it may hold, by kind of text: declared once.

Every text that comes from outside — a cell of an organisation's file, a value typed in a web
form or given with `casework case fire -d` — is checked here before it goes anywhere near a
database. Without it SQLite stores anything and PostgreSQL fails later (a NUL is refused by
its text and JSONB types; a 100,000-character commune overflows its column), with a traceback
that prints the statement's parameters: names and birth dates.

- `NUL` is refused everywhere, and so are the other C0 and C1 control characters, DEL and lone
  surrogates (what a broken export or a pasted binary leaves); tab, line feed and carriage
  return are allowed (a single-line value folds them into spaces; a note keeps them).
- Names (people's, places') also refuse the invisible Unicode bidirectional controls, which can
  make a name display as another one.
- Lengths fit the columns the values end up in (`models/`): a test checks that every intake
  field fits its column.

Messages are French; a value is never echoed whole (`shown`): a refused text may be 100,000
characters long, or hold the very characters that garble a terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Control characters refused in every text: C0 but tab, LF, CR; DEL; C1; lone surrogates.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
# Unicode bidirectional controls (marks, embeddings, overrides, isolates).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_REFUSED = re.compile(f"[{_CONTROL}]")
_REFUSED_IN_NAMES = re.compile(f"[{_CONTROL}{_BIDI}]")
# What `shown` escapes: the refused characters, and tab/LF/CR (a one-line message stays one).
_ESCAPED = re.compile(f"[{_CONTROL}{_BIDI}\t\n\r]")
SHOWN_LENGTH = 60  # characters of a refused value a message shows


class TextRefused(ValueError):
    """A text too long or holding a character it may not: the message is the reason, in French
    (no value in it: callers say which value, shortened by `shown`)."""


@dataclass(frozen=True)
class TextKind:
    """A kind of text: its longest length and which characters it refuses."""

    label: str  # for people, in French
    max_length: int
    multiline: bool = False  # a note keeps its lines; other texts fold whitespace into spaces
    names: bool = False  # refuses bidirectional controls too

    def check(self, text: str) -> str:
        """`text` as kept (whitespace folded, unless a note), or TextRefused saying why."""
        refused = (_REFUSED_IN_NAMES if self.names else _REFUSED).search(text)
        if refused:
            raise TextRefused(_why(refused.group(), refused.start() + 1))
        kept = text.strip() if self.multiline else " ".join(text.split())
        if len(kept) > self.max_length:
            length, most = french_number(len(kept)), french_number(self.max_length)
            raise TextRefused(f"trop long ({length} caractères ; au plus {most})")
        return kept


# Identifiers: a contract number, a Mission Locale's id (columns of 40).
KEY = TextKind("identifiant", 40)
# People's names, first names (columns of 120 and 200).
NAME = TextKind("nom", 120, names=True)
# A commune (column of 120; the longest French one has 45 letters).
PLACE = TextKind("commune", 120, names=True)
# An employer, a trade, a training centre, a diploma (columns of 120 to 200).
LABEL = TextKind("libellé", 120)
# A person's login, as cases and the audit log name them (column of 120).
LOGIN = TextKind("identifiant", 120)
# An e-mail address (254: the longest a mail system takes).
ADDRESS = TextKind("adresse", 254)
# A short reason typed on a command line (why a link is revoked, a mail set aside).
REASON = TextKind("motif", 500)
# Free text: a note, a reason, a partner's reply (kept in JSON; a few printed pages).
NOTE = TextKind("texte libre", 20_000, multiline=True)


def fitted(kind: TextKind, text: str) -> str:
    """`text` made to fit `kind` rather than refused: its refused characters removed, cut to
    the kind's length with an ellipsis. For text casework must take whatever it holds — what a
    partner wrote in a mail, whose raw message is kept besides."""
    kept = (_REFUSED_IN_NAMES if kind.names else _REFUSED).sub("", text)
    kept = kept.strip() if kind.multiline else " ".join(kept.split())
    return kept if len(kept) <= kind.max_length else kept[: kind.max_length - 1] + "…"


def note_kind(max_length: int | None) -> TextKind:
    """Free text, with a workflow field's own `max_length` when it declares one."""
    if max_length is None or max_length == NOTE.max_length:
        return NOTE
    return TextKind(NOTE.label, max_length, multiline=True)


def shown(value: object, limit: int = SHOWN_LENGTH, one_line: bool = True) -> str:
    """A value as a message may show it: at most `limit` characters, control characters
    written as escapes (\\x00), so that a message stays short, printable and on one line
    (`one_line=False`: tab and line breaks kept, as a stored copy of a cell keeps them)."""
    text = value if isinstance(value, str) else str(value)
    cut = text[:limit]
    escape = _ESCAPED if one_line else _REFUSED
    cut = escape.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), cut)
    if len(text) > limit:
        cut += f"… ({french_number(len(text))} caractères)"
    return cut


def _why(character: str, position: int) -> str:
    if "\ud800" <= character <= "\udfff":  # from bytes that were not UTF-8 (a command line)
        what = "caractère invalide"
    elif _REFUSED.match(character):
        what = "caractère de contrôle interdit"
    else:
        what = "caractère de mise en forme bidirectionnelle interdit"
    return f"{what} (U+{ord(character):04X}, position {french_number(position)})"


def french_number(n: int) -> str:
    """A whole number as French writes it: 100 000 (a narrow no-break space for thousands)."""
    return f"{n:,}".replace(",", "\u202f")
