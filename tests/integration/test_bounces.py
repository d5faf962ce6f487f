"""Bounces as real mail servers send them: matched by our VERP address first (over the real
LMTP receiver), else by the mail they quote; only that very mail's recipient is ever flagged;
delays flag nobody; machine mail never answers a sheet."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from casework.app import App
from casework.demo.mailcatcher import Caught, MailCatcher
from casework.inbound.ingest import Ingestor
from casework.inbound.lmtp import LmtpReceiver
from casework.inbound.parsing import Incoming
from casework.models import InboundStatus, LiaisonSheet, MailStatus, OutboxMail, PartnerContact
from tests.factories import add_contact, add_partner, row
from tests.integration.test_ingest import PARTNER, reply, sent_sheet
from tests.integration.test_lmtp import client, lmtp  # noqa: F401 - the fixture
from tests.unit.test_bounce_corpus import CORPUS, MESSAGES

OTHER = "direction@foyer-voisin.example"  # another partner's contact


def flagged(app: App) -> set[str]:
    with app.db.read() as conn:
        return set(
            conn.execute(
                select(PartnerContact.email).where(PartnerContact.unreachable.is_(True))
            ).scalars()
        )


def sheet_mail(app: App) -> OutboxMail:
    with app.db.read() as conn:
        return conn.execute(
            select(OutboxMail.__table__).where(OutboxMail.template == "liaison/sheet")
        ).one()


def with_another_partner(app: App) -> None:
    """A second partner whose contact got a sheet of its own: a forged report may name it."""
    partner_id = add_partner(app, name="Foyer voisin")
    add_contact(app, partner_id, OTHER)


def dsn(
    original: Caught,
    *,
    final: str,
    original_recipient: str | None = None,
    action: str = "failed",
    status: str = "5.1.1",
    sender: str = "MAILER-DAEMON@mx.adlj53.example",
) -> bytes:
    """An RFC 3464 report about `original`, as Postfix writes one."""
    original_line = (
        f"Original-Recipient: rfc822;{original_recipient}\r\n" if original_recipient else ""
    )
    return (
        f"From: {sender}\r\nTo: plateforme@plateforme.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn2@mx.adlj53.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nUser unknown.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.adlj53.example\r\n\r\n"
        f"Final-Recipient: rfc822; {final}\r\n{original_line}"
        f"Action: {action}\r\nStatus: {status}\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original.message['Message-ID']}\r\n\r\n--B--\r\n"
    ).encode()


def test_a_forged_report_quoting_our_mail_for_another_partner_flags_nobody(
    mail_app: App, catcher: MailCatcher
) -> None:
    _sheet_id, original = sent_sheet(mail_app, catcher)
    with_another_partner(mail_app)
    result = Ingestor(mail_app).ingest(dsn(original, final=OTHER), "test")
    assert result.status == InboundStatus.QUARANTINED
    assert "aucune des adresses en échec n'a reçu ce courriel" in result.reason
    assert flagged(mail_app) == set()
    assert sheet_mail(mail_app).status == MailStatus.SENT


def test_a_forged_report_naming_both_flags_only_the_mail_s_recipient(
    mail_app: App, catcher: MailCatcher
) -> None:
    _sheet_id, original = sent_sheet(mail_app, catcher)
    with_another_partner(mail_app)
    raw = dsn(original, final=PARTNER).replace(
        b"Action: failed",
        f"Action: failed\r\nStatus: 5.1.1\r\n\r\nFinal-Recipient: rfc822; {OTHER}\r\n"
        "Action: failed".encode(),
    )
    result = Ingestor(mail_app).ingest(raw, "test")
    assert result.status == InboundStatus.RECORDED
    assert flagged(mail_app) == {PARTNER}


def test_the_original_recipient_is_flagged_not_the_alias_it_expanded_to(
    mail_app: App, catcher: MailCatcher
) -> None:
    _sheet_id, original = sent_sheet(mail_app, catcher)
    raw = dsn(original, final="s.martin@interne.adlj53.example", original_recipient=PARTNER)
    result = Ingestor(mail_app).ingest(raw, "test")
    assert result.status == InboundStatus.RECORDED, result.reason
    assert result.reason == PARTNER
    assert flagged(mail_app) == {PARTNER}
    assert sheet_mail(mail_app).status == MailStatus.BOUNCED


def test_a_delay_flags_nobody(mail_app: App, catcher: MailCatcher) -> None:
    _sheet_id, original = sent_sheet(mail_app, catcher)
    raw = dsn(original, final=PARTNER, action="delayed", status="4.4.1")
    result = Ingestor(mail_app).ingest(raw, "test")
    assert result.status == InboundStatus.IGNORED
    assert flagged(mail_app) == set()
    assert sheet_mail(mail_app).status == MailStatus.SENT


UNKNOWN_FORMAT = (
    "From: Systeme de messagerie <robot@relais.adlj53.example>\r\n"
    "To: {to}\r\nSubject: Votre message\r\nMessage-ID: <nf1@relais.adlj53.example>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Nous n'avons pas pu remettre votre message. Bien reçu, merci.\r\n"
)


def test_a_notice_in_no_known_format_to_our_verp_address_over_lmtp_flags_that_recipient(
    mail_app: App,
    catcher: MailCatcher,
    lmtp: tuple[LmtpReceiver, Ingestor],  # noqa: F811
) -> None:
    """The envelope sender the real SMTP server saw is where the bounce comes back; its
    RCPT TO alone says which mail failed for whom, whatever the notice says."""
    receiver, _ingestor = lmtp
    sheet_id, original = sent_sheet(mail_app, catcher)
    verp = original.sender
    assert verp.startswith("bounce+")
    raw = UNKNOWN_FORMAT.format(to="plateforme@plateforme.example").encode()
    with client(receiver) as server:
        assert server.sendmail("", [verp], raw) == {}
    assert flagged(mail_app) == {PARTNER}
    assert sheet_mail(mail_app).status == MailStatus.BOUNCED
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"  # "Bien reçu" is no answer


def test_a_verp_address_with_another_mail_s_token_or_a_broken_one_flags_nobody(
    mail_app: App, catcher: MailCatcher
) -> None:
    _sheet_id, original = sent_sheet(mail_app, catcher)
    local, _, domain = original.sender.partition("@")
    number, _, mac = local.removeprefix("bounce+").partition("-")
    forgeries = (
        f"bounce+{int(number) + 1}-{mac}@{domain}",
        f"bounce+{number}-{mac[:-2]}aa@{domain}",
    )
    for at, forged in enumerate(forgeries):
        raw = UNKNOWN_FORMAT.format(to=forged).replace("nf1", f"forged{at}").encode()
        result = Ingestor(mail_app).ingest(raw, "lmtp", (forged,))
        assert result.status == InboundStatus.QUARANTINED
    assert flagged(mail_app) == set()


@pytest.mark.parametrize(
    ("headers", "subject"),
    [
        ("Return-Path: <>\r\n", None),  # the null sender
        ("Sender: MAILER-DAEMON@mx.adlj53.example\r\n", None),
        ("Return-Path: <postmaster@adlj53.example>\r\n", None),
        ("X-Autorespond: vacation\r\n", None),
        ("Precedence: junk\r\n", None),
        ("", "Automatische Antwort: Fiche de liaison"),
        ("", "Respuesta automática: Fiche de liaison"),  # raw UTF-8, as SMTPUTF8 sends it
        ("", "Automatisch antwoord: Fiche de liaison"),
        ("", "Delivery Status Notification (Failure)"),
        ("", "Unzustellbar: Fiche de liaison"),
    ],
)
def test_machine_mail_never_acknowledges_a_sheet_whatever_it_contains(
    mail_app: App, catcher: MailCatcher, headers: str, subject: str | None
) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    raw = reply(original, "Bien reçu, nous recevons Léa jeudi.", headers=headers)
    if subject is not None:
        ours = f"Subject: RE: {original.message['Subject']}".encode()
        raw = raw.replace(ours, f"Subject: {subject}".encode())
    result = Ingestor(mail_app).ingest(raw, "test")
    assert result.status != InboundStatus.RECORDED, result
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"


def test_every_bounce_of_the_corpus_to_our_verp_address_names_its_mail_and_recipient(
    mail_app: App, catcher: MailCatcher
) -> None:
    """Each real notice, delivered to the VERP address of a sheet's mail and quoting that mail
    (In-Reply-To added): failures flag exactly that mail's recipient, delays nobody, reports
    and automatic replies nothing; none ever answers the sheet."""
    sheet_id, original = sent_sheet(mail_app, catcher)
    verp = original.sender
    batch = []
    for entry in MESSAGES:
        raw = (CORPUS / entry["file"]).read_bytes()
        headers = f"Delivered-To: {verp}\r\nIn-Reply-To: {original.message['Message-ID']}\r\n"
        batch.append(Incoming(headers.encode() + raw, "imap"))
    results = Ingestor(mail_app).ingest_many(batch)
    for entry, result in zip(MESSAGES, results, strict=True):
        if entry["kind"] in ("failed", "unnamed"):
            assert (result.status, result.reason) == (InboundStatus.RECORDED, PARTNER), entry
        elif entry["kind"] != "answer":
            assert result.status == InboundStatus.IGNORED, entry
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"
    assert flagged(mail_app) == {PARTNER}


def test_a_later_genuine_reply_clears_the_flag(mail_app: App, catcher: MailCatcher) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    Ingestor(mail_app).ingest(dsn(original, final=PARTNER), "test")
    assert flagged(mail_app) == {PARTNER}
    result = Ingestor(mail_app).ingest(reply(original, "Bien reçu."), "test")
    assert result.status == InboundStatus.RECORDED
    assert flagged(mail_app) == set()
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"


def test_a_null_sender_over_lmtp_never_answers(
    mail_app: App,
    catcher: MailCatcher,
    lmtp: tuple[LmtpReceiver, Ingestor],  # noqa: F811
) -> None:
    """The receiver adds the envelope's Return-Path, as a final delivery does (RFC 5321
    4.4): an automatic reply sent from the null sender, with the partner's From, is no answer."""
    receiver, _ingestor = lmtp
    sheet_id, original = sent_sheet(mail_app, catcher)
    with client(receiver) as server:
        assert (
            server.sendmail("", [str(original.message["Reply-To"])], reply(original, "Vu.")) == {}
        )
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"


def test_one_mailbox_for_replies_and_bounces_tells_them_apart_by_their_token(
    mail_app: App, catcher: MailCatcher
) -> None:
    """Over IMAP both may be `plateforme+<token>@` (bounce_local = reply_local): a reply to the
    reply address still answers, a notice to the VERP address is still a bounce."""
    mail = dataclasses.replace(mail_app.settings.mail, bounce_local="reply")
    mail_app.settings = dataclasses.replace(mail_app.settings, mail=mail)
    sheet_id, original = sent_sheet(mail_app, catcher)
    assert original.sender.startswith("reply+")
    assert original.sender != str(original.message["Reply-To"])
    answered = Ingestor(mail_app).ingest(reply(original, "Bien reçu."), "imap")
    assert answered.status == InboundStatus.RECORDED, answered.reason
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    notice = UNKNOWN_FORMAT.format(to=original.sender).encode()
    assert Ingestor(mail_app).ingest(notice, "imap").reason == PARTNER
    assert flagged(mail_app) == {PARTNER}
