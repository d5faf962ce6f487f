"""The corpus of real replies (`tests/data/mail/replies/`, its README says where each comes from):
each message with the text its writer wrote, and how a stripper's output compares with it."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from casework.inbound.parsing import body_text

FOLDER = Path(__file__).resolve().parent / "data" / "mail" / "replies"


@dataclass(frozen=True)
class Reply:
    file: str
    source: str
    what: str
    text: str  # the body as casework reads it (the text part of an .eml; a .txt as it is)
    expected: str
    exact: bool  # whether casework's stripper is held to give exactly `expected`
    why: str | None


def replies() -> Iterator[Reply]:
    for entry in json.loads((FOLDER / "manifest.json").read_text(encoding="utf-8")):
        path = FOLDER / entry["file"]
        if path.suffix == ".eml":
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
            text = body_text(message)
        else:
            text = path.read_text(encoding="utf-8")
        yield Reply(
            entry["file"],
            entry["source"],
            entry["what"],
            text,
            entry["expected"],
            entry.get("exact", True),
            entry.get("why"),
        )


def lost(stripped: str, expected: str) -> list[str]:
    """The lines of what the person wrote that are missing from `stripped` (blank lines and
    spaces at the ends aside; a line kept inside a longer one is not lost)."""
    return [line for line in expected.splitlines() if line.strip() not in stripped]


def exact(stripped: str, expected: str) -> bool:
    return [line.rstrip() for line in stripped.strip().splitlines()] == [
        line.rstrip() for line in expected.strip().splitlines()
    ]


def shares(strip: Callable[[str], str]) -> dict[str, tuple[int, int, int]]:
    """By source: (messages, stripped exactly, nothing lost)."""
    found: dict[str, tuple[int, int, int]] = {}
    for reply in replies():
        out = strip(reply.text)
        n, ok, whole = found.get(reply.source, (0, 0, 0))
        found[reply.source] = (
            n + 1,
            ok + exact(out, reply.expected),
            whole + (not lost(out, reply.expected)),
        )
    return found
