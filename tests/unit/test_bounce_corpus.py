"""The bounce corpus (`tests/data/mail/bounces/`, real notices from open-source mail projects):
no bounce, report or automatic reply is ever a person's answer, no ordinary mail a bounce, and
the failed address is right for every notice whose content names one a reader can find.
(Through the VERP address, every one of them names its address: tests/integration/
test_bounces.py.)"""

from __future__ import annotations

import email
import email.policy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from casework.inbound.classify import Kind, classify

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail" / "bounces"
with open(CORPUS / "manifest.toml", "rb") as _manifest:
    MESSAGES: list[dict[str, Any]] = tomllib.load(_manifest)["message"]
MACHINE = {"failed", "delayed", "unnamed", "report", "auto-reply"}


def read(entry: dict[str, Any]) -> Any:
    raw = (CORPUS / entry["file"]).read_bytes()
    return classify(email.message_from_bytes(raw, policy=email.policy.compat32))


def test_the_corpus_is_whole() -> None:
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*") if p.name != "LICENSE"}
    assert files == {m["file"] for m in MESSAGES}
    assert len(MESSAGES) >= 170
    assert {m["file"].split("/")[0] for m in MESSAGES} == {
        "flufl.bounce",
        "bounced",
        "bounce_email",
        "baunsu",
    }


@pytest.mark.parametrize("entry", MESSAGES, ids=[m["file"] for m in MESSAGES])
def test_each_message(entry: dict[str, Any]) -> None:
    found = read(entry)
    kind, expected = entry["kind"], set(entry["addresses"])
    if kind not in MACHINE:
        assert found.kind != Kind.BOUNCE, found
        return
    assert found.kind != Kind.ANSWER, found  # never a person's answer
    if kind in ("report", "auto-reply"):
        assert found.kind == Kind.AUTO_REPLY, found
        return
    assert found.kind == Kind.BOUNCE, found
    assert found.bounce is not None
    if not expected or not entry.get("read", True):
        return  # a bounce still (never an answer); only its VERP address names the address
    if kind == "delayed":  # a warning: nothing failed
        assert (set(found.bounce.delayed), found.bounce.failed) == (expected, ())
    else:
        assert set(found.bounce.failed) == expected
        assert len(found.bounce.failed) == len(expected)  # deduplicated
