"""Real replies from other projects' test data (tests/data/mail/replies/README.md): no text its
writer wrote is ever lost, and it is stripped exactly wherever the manifest expects it."""

from __future__ import annotations

import pytest

from casework.inbound.quotes import strip_quotes
from tests.reply_corpus import exact, lost, replies, shares

CORPUS = list(replies())


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 60
    assert {r.source for r in CORPUS} == {"talon", "mail-parser-reply", "email-reply-parser"}


@pytest.mark.parametrize("reply", CORPUS, ids=[r.file for r in CORPUS])
def test_no_reply_text_is_lost(reply) -> None:
    stripped = strip_quotes(reply.text)
    assert lost(stripped, reply.expected) == [], stripped
    if reply.exact:
        assert exact(stripped, reply.expected), stripped


def test_shares_by_source(capsys: pytest.CaptureFixture[str]) -> None:
    found = shares(strip_quotes)
    with capsys.disabled():
        for source, (n, ok, whole) in sorted(found.items()):
            print(f"\n{source}: {ok}/{n} stripped exactly, {whole}/{n} with nothing lost", end="")
    assert all(whole == n for n, _ok, whole in found.values())
