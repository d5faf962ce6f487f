"""Quote strippers compared on the corpus of real replies (tests/data/mail/replies/): casework's
own (`casework.inbound.quotes`) and the libraries that do the same, whichever are installed —
mail-parser-reply (multi-language), email-reply-parser (Zapier's), talon (Mailgun's; it needs
scikit-learn and friends, so it is measured from a separate virtual environment). For each,
by source: the replies stripped exactly, and those where nothing the writer wrote was lost.

    .venv/bin/python bench/quotes.py
    /tmp/talon-venv/bin/python bench/quotes.py     # with talon installed there (PYTHONPATH=src)
"""

# ruff: noqa: E402 - the import path is mended before the imports below

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, str(Path(_HERE).parent))  # for `tests.reply_corpus`

from tests.reply_corpus import replies, shares

from casework.inbound.quotes import strip_quotes

# mail-parser-reply reads only the languages it is given; these are all it has that partners
# may write in (no Portuguese).
LANGUAGES = ["en", "fr", "de", "es", "it", "nl", "pl", "cs", "da", "sv"]


def strippers() -> dict[str, Callable[[str], str]]:
    found: dict[str, Callable[[str], str]] = {"casework": strip_quotes}
    try:
        from mailparser_reply import EmailReplyParser as Multi

        parser = Multi(languages=LANGUAGES)
        found["mail-parser-reply"] = parser.parse_reply
    except ImportError:
        pass
    try:
        from email_reply_parser import EmailReplyParser as Zapier

        found["email-reply-parser"] = Zapier.parse_reply
    except ImportError:
        pass
    try:
        from talon import quotations

        found["talon"] = quotations.extract_from_plain
    except ImportError:
        pass
    return found


def main() -> None:
    count = sum(1 for _ in replies())
    print(f"{count} real replies, by source: stripped exactly / nothing lost")
    for name, strip in strippers().items():
        started = time.perf_counter()
        found = shares(lambda text, s=strip: s(text) or "")
        took = time.perf_counter() - started
        total = [sum(v[i] for v in found.values()) for i in range(3)]
        parts = ", ".join(f"{src} {ok}/{n} / {whole}/{n}" for src, (n, ok, whole) in found.items())
        print(
            f"{name:20} all {total[1]}/{total[0]} / {total[2]}/{total[0]}  ({parts}); "
            f"{took * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
