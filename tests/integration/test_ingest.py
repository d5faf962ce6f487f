"""Taking in replies: matched to their sheet only by our own signed address or Message-ID, and
only from the right people; automatic mail and bounces handled; once only."""

from __future__ import annotations

from email.utils import make_msgid

from sqlalchemy import select

from casework.actors import Actor
from casework.app import App
from casework.demo.mailcatcher import Caught, MailCatcher
from casework.inbound.ingest import Ingestor
from casework.models import (
    InboundMail,
    InboundStatus,
    LiaisonSheet,
    MailStatus,
    OutboxMail,
    PartnerContact,
)
from casework.notify.sender import MailSender
from tests.factories import add_contact, add_partner, add_sheet, add_user, events, row

PARTNER = "accueil@adlj53.example"


def sent_sheet(app: App, catcher: MailCatcher) -> tuple[int, Caught]:
    add_user(app)
    partner_id = add_partner(app)
    add_contact(app, partner_id, PARTNER, name="Sophie Martin")
    sheet_id = add_sheet(app, partner_id=partner_id)
    app.engine.fire_sheet(sheet_id, "send", Actor.person("referente"))
    MailSender(app).drain_sync()
    (caught,) = catcher.wait_for(1)
    return sheet_id, caught


def reply(
    original: Caught,
    body: str,
    *,
    sender: str = PARTNER,
    to: str | None = None,
    headers: str = "",
    message_id: str | None = None,
    vouched: bool = False,
) -> bytes:
    """A reply as a mail client writes it: to the Reply-To, citing the original; `vouched`:
    as our mail server hands it over after checking its sender's domain (DMARC pass)."""
    to = to or str(original.message["Reply-To"])
    verdict = (
        "Authentication-Results: mx.plateforme.example; dmarc=pass (p=quarantine) "
        f"header.from={sender.rsplit('@', 1)[1]}\r\n"
        if vouched
        else ""
    )
    return (
        f"{verdict}From: Sophie Martin <{sender}>\r\n"
        f"To: {to}\r\n"
        f"Subject: RE: {original.message['Subject']}\r\n"
        f"Message-ID: {message_id or make_msgid(domain='adlj53.example')}\r\n"
        f"In-Reply-To: {original.message['Message-ID']}\r\n"
        f"{headers}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}"
    ).encode()


OUTLOOK_BODY = (
    "Bonjour,\r\n\r\nBien reçu, nous recevons Léa jeudi.\r\n\r\nSophie Martin\r\n\r\n"
    "De : Plateforme apprentissage <plateforme@plateforme.example>\r\n"
    "Envoyé : mardi 1 septembre 2026 10:00\r\nÀ : accueil@adlj53.example\r\n"
    "Objet : Fiche de liaison\r\n\r\nBonjour, …\r\n"
)


def inbound(app: App) -> list:
    with app.db.read() as conn:
        return list(conn.execute(select(InboundMail.__table__).order_by(InboundMail.id)).all())


def test_an_outlook_reply_acknowledges_the_sheet_with_the_text_stripped(
    mail_app: App, catcher: MailCatcher
) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    result = Ingestor(mail_app).ingest(reply(original, OUTLOOK_BODY), "test")
    assert result.status == InboundStatus.RECORDED, result.reason
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    last = events(mail_app, "liaison", sheet_id)[-1]
    assert (last.trigger, last.actor_kind, last.actor) == ("acknowledge", "partner", PARTNER)
    text = "Bonjour,\n\nBien reçu, nous recevons Léa jeudi.\n\nSophie Martin"
    assert last.data["message"] == text
    (stored,) = inbound(mail_app)
    assert stored.text == text
    assert b"De : Plateforme" in stored.raw  # the raw message is kept


def test_a_gmail_reply_matched_by_references_gives_feedback(
    mail_app: App, catcher: MailCatcher
) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    mail_app.engine.fire_sheet(sheet_id, "acknowledge", Actor.partner(PARTNER))
    body = (
        "Logement trouvé au foyer, entrée le 3 novembre.\r\n\r\n"
        "Le mar. 1 sept. 2026 à 10:00, Plateforme apprentissage <plateforme@plateforme.example> "
        "a écrit :\r\n> Bonjour,\r\n"
    )
    # Sent to the platform's plain address: only In-Reply-To says which mail it answers, and
    # only our mail server's verdict that the sender is who From: says lets it act.
    raw = reply(original, body, to="plateforme@plateforme.example", vouched=True)
    result = Ingestor(mail_app).ingest(raw, "test")
    assert result.status == InboundStatus.RECORDED, result.reason
    sheet = row(mail_app, LiaisonSheet, sheet_id)
    assert sheet.state == "feedback_received"
    assert sheet.feedback == "Logement trouvé au foyer, entrée le 3 novembre."


def test_a_reply_from_an_unknown_sender_is_quarantined(mail_app: App, catcher: MailCatcher) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    result = Ingestor(mail_app).ingest(
        reply(original, "C'est fait.", sender="quelquun@ailleurs.example"), "test"
    )
    assert result.status == InboundStatus.QUARANTINED
    assert "quelquun@ailleurs.example" in result.reason
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"


def test_a_forged_token_and_a_subject_alone_match_nothing(
    mail_app: App, catcher: MailCatcher
) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    token = str(original.message["Reply-To"]).split("+")[1].split("@")[0]
    forged = f"reply+{token[:-3]}aaa@plateforme.example"
    raw = reply(original, "Vu.", to=forged).replace(b"In-Reply-To", b"X-Ignored")
    result = Ingestor(mail_app).ingest(raw, "test")
    assert result.status == InboundStatus.QUARANTINED
    assert "ne répond à aucun de nos courriels" in result.reason
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"


def test_an_out_of_office_is_kept_but_never_counts(mail_app: App, catcher: MailCatcher) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    raw = reply(
        original, "Je suis absente jusqu'au 2 novembre.", headers="Auto-Submitted: auto-replied\r\n"
    )
    result = Ingestor(mail_app).ingest(raw, "test")
    assert result.status == InboundStatus.IGNORED
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"
    assert len(catcher.messages) == 1  # nothing was sent back: no loops


def test_the_same_message_twice_is_one_record(mail_app: App, catcher: MailCatcher) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    raw = reply(original, "Bien reçu.", message_id="<once@adlj53.example>")
    first = Ingestor(mail_app).ingest(raw, "test")
    second = Ingestor(mail_app).ingest(raw, "test")
    assert second.duplicate
    assert second.id == first.id
    assert len(inbound(mail_app)) == 1
    assert [e.trigger for e in events(mail_app, "liaison", sheet_id)].count("acknowledge") == 1


def test_a_bounce_marks_the_mail_and_the_contact_and_tells_the_counsellor(
    mail_app: App, catcher: MailCatcher
) -> None:
    _sheet_id, original = sent_sheet(mail_app, catcher)
    report = (
        "From: MAILER-DAEMON@mx.adlj53.example\r\nTo: plateforme@plateforme.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.adlj53.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nUser unknown.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.adlj53.example\r\n\r\n"
        f"Final-Recipient: rfc822; {PARTNER}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original.message['Message-ID']}\r\n\r\n--B--\r\n"
    ).encode()
    result = Ingestor(mail_app).ingest(report, "test")
    assert result.status == InboundStatus.RECORDED
    with mail_app.db.read() as conn:
        mails = {m.template: m for m in conn.execute(select(OutboxMail.__table__)).all()}
        contact = conn.execute(
            select(PartnerContact.__table__).where(PartnerContact.email == PARTNER)
        ).one()
    assert mails["liaison/sheet"].status == MailStatus.BOUNCED
    assert contact.unreachable
    assert mails["system/mail_failed"].status == MailStatus.QUEUED  # the counsellor is told


def test_unreadable_and_empty_mail_is_kept_and_quarantined(
    mail_app: App, catcher: MailCatcher
) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    mail_app.engine.fire_sheet(sheet_id, "acknowledge", Actor.partner(PARTNER))
    empty = Ingestor(mail_app).ingest(reply(original, ""), "test")
    assert empty.status == InboundStatus.QUARANTINED
    assert "réponse vide" in empty.reason
    garbage = Ingestor(mail_app).ingest(b"\x00\xff\xfe not a mail at all", "test")
    assert garbage.status == InboundStatus.QUARANTINED
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    assert len(inbound(mail_app)) == 2


def test_the_quarantine_is_reviewed_from_the_command_line(
    mail_app: App, catcher: MailCatcher, db_url: str
) -> None:
    from click.testing import CliRunner

    from casework.cli import main

    sheet_id, original = sent_sheet(mail_app, catcher)
    stranger = reply(
        original, "Bien reçu, je suis la collègue de Sophie.", sender="collegue@adlj53.example"
    )
    kept = Ingestor(mail_app).ingest(stranger, "test")
    noise = Ingestor(mail_app).ingest(reply(original, "Vu.", sender="x@ailleurs.example"), "test")

    def run(*args: str) -> str:
        done = CliRunner().invoke(main, ["--database", db_url, *args], catch_exceptions=False)
        return done.output

    listed = run("inbound", "list")
    assert "collegue@adlj53.example" in listed
    assert "ni un contact du partenaire" in listed
    assert "Bien reçu, je suis la collègue de Sophie." in run("inbound", "show", str(kept.id))
    attached = run("inbound", "attach", str(kept.id), str(sheet_id), "--as", "referente")
    assert "accusé de réception enregistré" in attached
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    last = events(mail_app, "liaison", sheet_id)[-1]
    assert (last.actor_kind, last.actor) == ("person", "referente")
    assert last.data["message"] == "Bien reçu, je suis la collègue de Sophie."
    reject = ("inbound", "reject", str(noise.id), "--as", "referente", "--reason")
    assert "écarté" in run(*reject, "publicité")
    assert "n'est pas en quarantaine" in run(*reject, "x")
    assert "Aucun courriel en quarantaine." in run("inbound", "list")
    assert "x@ailleurs.example" in run("inbound", "list", "--status", "rejected")


def test_attachments_are_kept_up_to_the_size_limit(mail_app: App, catcher: MailCatcher) -> None:
    import base64

    from casework.models import InboundAttachment

    sheet_id, original = sent_sheet(mail_app, catcher)
    small, large = b"%PDF-1.4 attestation", b"x" * 12_000_000
    raw = (
        f"From: Sophie Martin <{PARTNER}>\r\nTo: {original.message['Reply-To']}\r\n"
        "Subject: RE: fiche\r\nMessage-ID: <files@adlj53.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
        "--M\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCi-joint l'attestation.\r\n"
        "--M\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="attestation.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.b64encode(small).decode()}\r\n"
        "--M\r\nContent-Type: application/octet-stream\r\n"
        'Content-Disposition: attachment; filename="video.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.encodebytes(large).decode()}\r\n--M--\r\n"
    ).encode()
    result = Ingestor(mail_app).ingest(raw, "test")
    assert result.status == InboundStatus.RECORDED
    assert events(mail_app, "liaison", sheet_id)[-1].data["message"] == "Ci-joint l'attestation."
    with mail_app.db.read() as conn:
        files = conn.execute(
            select(InboundAttachment.__table__).order_by(InboundAttachment.id)
        ).all()
    assert [(f.filename, f.content_type, f.size) for f in files] == [
        ("attestation.pdf", "application/pdf", len(small)),
        ("video.bin", "application/octet-stream", len(large)),
    ]
    assert files[0].data == small
    assert files[1].data is None  # over the limit: its name and size only


def test_the_counsellor_may_answer_for_a_partner_while_still_active(
    mail_app: App, catcher: MailCatcher
) -> None:
    from sqlalchemy import update

    from casework.models import User

    sheet_id, original = sent_sheet(mail_app, catcher)
    counsellor = "claire.martin@ml.example"  # add_user's address
    with mail_app.db.transaction() as conn:
        conn.execute(update(User).where(User.login == "referente").values(active=False))
    left = Ingestor(mail_app).ingest(reply(original, "Vu avec eux.", sender=counsellor), "test")
    assert left.status == InboundStatus.QUARANTINED
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"
    with mail_app.db.transaction() as conn:
        conn.execute(update(User).where(User.login == "referente").values(active=True))
    # The reply address was the partner's: the counsellor's own domain vouched by our server.
    answer = reply(original, "Vu avec eux.", sender=counsellor, vouched=True)
    back = Ingestor(mail_app).ingest(answer, "test")
    assert back.status == InboundStatus.RECORDED, back.reason
    last = events(mail_app, "liaison", sheet_id)[-1]
    assert (last.actor_kind, last.actor) == ("person", "referente")


def test_the_quarantine_is_printed_without_escape_sequences(
    mail_app: App, catcher: MailCatcher, db_url: str
) -> None:
    from click.testing import CliRunner

    from casework.cli import main

    _sheet_id, original = sent_sheet(mail_app, catcher)
    hostile = reply(original, "Vu.", sender="x@ailleurs.example").replace(
        b"Subject: ", b"Subject: =?utf-8?q?=1B]0;pwned=07=1B[2J=C2=9B1A?= ", 1
    )
    kept = Ingestor(mail_app).ingest(hostile, "test")
    assert "\x1b]0;pwned" in inbound(mail_app)[-1].subject  # stored as it came
    for args in (("inbound", "list"), ("inbound", "show", str(kept.id)), ("mail", "list")):
        output = CliRunner().invoke(main, ["--database", db_url, *args], color=True).output
        for bad in ("\x1b", "\x9b", "\x07"):
            assert bad not in output, (args, output)
