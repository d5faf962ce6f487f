"""Poison mail: messages built to break the database write (a NUL byte, undecodable header
bytes, an overlong sender, a NUL in a Message-ID or a file name). On both databases, each is
stored (its raw bytes whole) and handled; innocent messages of the same batch are unaffected."""

from __future__ import annotations

import pytest

from casework.app import App
from casework.demo.mailcatcher import Caught, MailCatcher
from casework.inbound.ingest import Ingestor
from casework.inbound.parsing import Incoming
from casework.models import InboundStatus, LiaisonSheet
from tests.factories import events, row
from tests.integration.test_ingest import PARTNER, inbound, reply
from tests.integration.test_ingest_batches import sent_sheets


def nul_reply(original: Caught) -> bytes:
    return reply(original, "Bien re\x00çu, nous\x00 recevons Léa jeudi.")


def raw_8bit_subject(original: Caught) -> bytes:
    """A subject in raw Latin-1 bytes, no RFC 2047: the parser keeps them as surrogates."""
    return reply(original, "Bien reçu.").replace(
        b"Subject: RE:", b"Subject: R\xe9ponse \xff\xfe RE:", 1
    )


def long_sender(original: Caught) -> bytes:
    return reply(original, "Bien reçu.", sender=("x" * 400) + "@adlj53.example")


def nul_message_id(original: Caught) -> bytes:
    return reply(original, "Bien reçu.", message_id="<abc\x00def@adlj53.example>")


def nul_attachment(original: Caught) -> bytes:
    boundary = "b1"
    return (
        f"From: Sophie Martin <{PARTNER}>\r\n"
        f"To: {original.message['Reply-To']}\r\n"
        f"Subject: RE: {original.message['Subject']}\r\n"
        f"In-Reply-To: {original.message['Message-ID']}\r\n"
        "Message-ID: <att@adlj53.example>\r\n"
        f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCi-joint.\r\n"
        f"--{boundary}\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="fiche\x00.pdf"\r\n\r\n%PDF-1.4\r\n'
        f"--{boundary}--\r\n"
    ).encode()


POISONS = {
    "nul_in_body": nul_reply,
    "raw_8bit_subject": raw_8bit_subject,
    "long_sender": long_sender,
    "nul_in_message_id": nul_message_id,
    "nul_in_attachment_name": nul_attachment,
}


@pytest.mark.parametrize("poison", list(POISONS))
def test_a_poison_message_is_stored_alone_and_the_batch_goes_on(
    mail_app: App, catcher: MailCatcher, poison: str
) -> None:
    (_a, to_a), (b, to_b) = sent_sheets(mail_app, catcher, 2)
    bad = POISONS[poison](to_a)
    good = reply(to_b, "Bien reçu pour ce jeune.")
    results = Ingestor(mail_app).ingest_many([Incoming(bad, "test"), Incoming(good, "test")])
    assert results[1].status == InboundStatus.RECORDED, results[1].reason
    assert row(mail_app, LiaisonSheet, b).state == "acknowledged"
    stored = {r.id: r for r in inbound(mail_app)}
    assert stored[results[0].id].raw == bad  # the raw message is kept, NUL and all
    for record in stored.values():
        for text in (record.text, record.subject, record.sender, record.reason):
            assert "\x00" not in (text or "")


def test_a_reply_with_a_nul_acknowledges_its_sheet_without_the_nul(
    mail_app: App, catcher: MailCatcher
) -> None:
    ((sheet_id, original),) = sent_sheets(mail_app, catcher, 1)
    result = Ingestor(mail_app).ingest(nul_reply(original), "test")
    assert result.status == InboundStatus.RECORDED, result.reason
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    assert events(mail_app, "liaison", sheet_id)[-1].data["message"] == (
        "Bien reçu, nous recevons Léa jeudi."
    )


def test_a_reply_with_control_characters_and_pages_of_text_still_acknowledges(
    mail_app: App, catcher: MailCatcher
) -> None:
    """What a partner wrote is taken as the transitions' free text takes it: control characters
    out, cut to its length; the raw message keeps everything."""
    ((sheet_id, original),) = sent_sheets(mail_app, catcher, 1)
    body = "Bien\x0c reçu\x1b[2J.\r\n" + "Détails. " * 4000
    result = Ingestor(mail_app).ingest(reply(original, body), "test")
    assert result.status == InboundStatus.RECORDED, result.reason
    message = events(mail_app, "liaison", sheet_id)[-1].data["message"]
    assert message.startswith("Bien reçu[2J.\nDétails.")
    assert len(message) == 20_000
    assert message.endswith("…")


def test_a_message_id_the_database_would_clean_is_recognised_the_second_time(
    mail_app: App, catcher: MailCatcher
) -> None:
    """Sent to two of our addresses, a message comes twice (two copies in the box, two LMTP
    deliveries): the second must be known, whatever its Message-ID holds."""
    (_a, to_a), (b, to_b) = sent_sheets(mail_app, catcher, 2)
    encoded = reply(to_a, "Bien reçu.").replace(
        b"Message-ID: <", b"Message-ID: =?utf-8?q?<a=00b@x>?= <old-", 1
    )
    poisons = [nul_message_id(to_a), encoded]
    ingestor = Ingestor(mail_app)
    for raw in poisons:
        first = ingestor.ingest(raw, "test")
        again = ingestor.ingest(raw, "test")  # a second batch
        assert again.duplicate
        assert again.id == first.id
        both = ingestor.ingest_many([Incoming(raw, "test"), Incoming(raw, "test")])  # one batch
        assert [r.duplicate for r in both] == [True, True]
    good = ingestor.ingest(reply(to_b, "Vu."), "test")
    assert good.status == InboundStatus.RECORDED
    assert row(mail_app, LiaisonSheet, b).state == "acknowledged"
