"""The bounce corpus read by the classifier: shares recognised and addresses right, by source.

`tests/data/mail/bounces/` holds real notices published by open-source mail projects, each
with what it is and the failed addresses it names (`manifest.toml`). For each source:

- *recognised*: machine mail (a bounce, a delay, a report, an automatic reply) not taken for a
  person's answer, and the two ordinary mails not taken for a bounce;
- *address right*: for a notice that names failed addresses, exactly those (deduplicated, the
  address mailed rather than an alias it expanded to); for a delay, the delayed addresses and no
  failure.

Both are from the message's content alone, as a notice reaches us without its envelope; a notice
sent to a mail's VERP address (`bounce+<token>@`) is matched by it first, whatever it says.
Columns: the hand-written reading alone (`library=False`), then with flufl.bounce's detectors
for the formats that are not RFC 3464. Run against an older checkout (`PYTHONPATH=…/src`) it
prints that checkout's figures (its `classify` has no `library` switch: one column).

    .venv/bin/python bench/bounce_corpus.py
"""

# ruff: noqa: E402 - the import path is mended before the imports below

from __future__ import annotations

import os
import sys

# bench/transitions.py has the name of the `transitions` library: keep this folder off the
# import path, as bench/inbound.py does.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import email
import email.policy
import inspect
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

from casework.inbound.classify import Kind, classify

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "mail" / "bounces"
MACHINE = {"failed", "delayed", "unnamed", "report", "auto-reply"}


def entries() -> list[dict[str, Any]]:
    with open(CORPUS / "manifest.toml", "rb") as manifest:
        return tomllib.load(manifest)["message"]


def judged(entry: dict[str, Any], **options: Any) -> tuple[bool, bool | None]:
    """(recognised, address right — None when the notice names no address)."""
    raw = (CORPUS / entry["file"]).read_bytes()
    found = classify(email.message_from_bytes(raw, policy=email.policy.compat32), **options)
    kind, expected = entry["kind"], set(entry["addresses"])
    if kind not in MACHINE:
        return found.kind != Kind.BOUNCE, None
    recognised = found.kind != Kind.ANSWER
    if not expected:
        return recognised, None
    bounce = found.bounce
    if bounce is None:
        return recognised, False
    failed = {a.lower() for a in bounce.failed}
    delayed = {a.lower() for a in bounce.delayed}
    if kind == "delayed":
        return recognised, delayed == expected and not failed
    return recognised, failed == expected


def shares(**options: Any) -> dict[str, list[int]]:
    """By source: [messages, recognised, naming an address, address right]."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in entries():
        recognised, right = judged(entry, **options)
        for source in (entry["file"].split("/")[0], "all"):
            row = table[source]
            row[0] += 1
            row[1] += recognised
            if right is not None:
                row[2] += 1
                row[3] += right
    return dict(table)


def main() -> None:
    columns = {"content alone": {}}
    if "library" in inspect.signature(classify).parameters:
        columns = {"hand-written only": {"library": False}, "with flufl.bounce": {"library": True}}
    results = {name: shares(**options) for name, options in columns.items()}
    header = " | ".join(f"{name}: recognised, address right" for name in columns)
    print(f"| source | messages | naming an address | {header} |")
    print("| --- | ---: | ---: |" + " ---: |" * len(columns))
    sources = sorted(next(iter(results.values())), key=lambda s: (s == "all", s))
    for source in sources:
        first = next(iter(results.values()))[source]
        cells = []
        for table in results.values():
            total, recognised, naming, right = table[source]
            cells.append(f"{recognised}/{total} ({recognised / total:.0%}), {right}/{naming}")
        print(f"| {source} | {first[0]} | {first[2]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
