"""Senders proven, never believed: `From:` alone acts on nothing. A reply counts through the
signed reply address sent to that very contact, or when our own mail server's verdict (its
topmost Authentication-Results, from a real DKIM signature it verified) vouches for the sender's
domain; an alert from an unproven sender is held for a person and never mailed on with its
links. Forgeries first: each of them acted before senders were checked."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from casework.actors import Actor
from casework.app import App, build_app
from casework.clock import FixedClock
from casework.demo.mailcatcher import MailCatcher
from casework.inbound.ingest import Ingestor
from casework.inbound.review import Review
from casework.models import Alert, InboundStatus, LiaisonSheet
from casework.notify.sender import MailSender
from casework.settings import Settings
from tests.factories import add_case, add_contact, row
from tests.integration.test_alerts import ALERT_ADDRESS, CFA, alert_mail, alerts, cfa
from tests.integration.test_ingest import PARTNER, reply, sent_sheet
from tests.mail_server import OurMailServer, Signer, new_key

PLAIN = "plateforme@plateforme.example"  # our plain address: no token in it
BODY = "Bien reçu, nous recevons Léa jeudi.\r\n"


@pytest.fixture(scope="module")
def partner_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, str]:
    return new_key(tmp_path_factory.mktemp("dkim"))


@pytest.fixture
def server(partner_key: tuple[bytes, str]) -> tuple[OurMailServer, Signer]:
    """Our mail server, with the partner's DKIM key published in its DNS."""
    key, public = partner_key
    signer = Signer("adlj53.example", key)
    ours = OurMailServer()
    ours.publish(signer, public)
    return ours, signer


def with_policy(settings: Settings, clock: FixedClock, policy: str) -> App:
    inbound = dataclasses.replace(settings.inbound, sender_policy=policy)
    return build_app(dataclasses.replace(settings, inbound=inbound), clock)


# -- forgeries ---------------------------------------------------------------------------------


def test_a_from_header_alone_never_acknowledges_a_sheet(
    mail_app: App, catcher: MailCatcher
) -> None:
    """The forgery: a partner contact's address in From:, our Message-ID in In-Reply-To."""
    sheet_id, original = sent_sheet(mail_app, catcher)
    forged = reply(original, "C'est bon pour nous.", to=PLAIN)
    result = Ingestor(mail_app).ingest(forged, "test")
    assert result.status == InboundStatus.QUARANTINED
    assert result.reason == (
        f"expéditeur {PARTNER} non authentifié : il ne répond pas par l'adresse de réponse "
        "signée qui lui a été envoyée, et notre serveur de courriel ne l'authentifie pas (ni "
        "DMARC, ni SPF ou DKIM alignés sur son domaine)"
    )
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"


def test_a_verdict_the_sender_wrote_below_our_servers_counts_for_nothing(
    mail_app: App, catcher: MailCatcher, server: tuple[OurMailServer, Signer]
) -> None:
    ours, _ = server
    sheet_id, original = sent_sheet(mail_app, catcher)
    claimed = (
        "Authentication-Results: mx.plateforme.example; dkim=pass header.d=adlj53.example; "
        "dmarc=pass header.from=adlj53.example\r\n"
    )
    forged = ours.receive(reply(original, "Vu.", to=PLAIN, headers=claimed))  # unsigned
    assert forged.count(b"Authentication-Results: mx.plateforme.example") == 2
    result = Ingestor(mail_app).ingest(forged, "test")
    assert result.status == InboundStatus.QUARANTINED, result.reason
    assert "non authentifié" in (result.reason or "")
    # Written by another server (the sender's own), a pass is not ours either.
    theirs = reply(original, "Vu.", to=PLAIN).replace(
        b"From:",
        b"Authentication-Results: mail.adlj53.example; dmarc=pass header.from=adlj53.example"
        b"\r\nFrom:",
        1,
    )
    assert Ingestor(mail_app).ingest(theirs, "test").status == InboundStatus.QUARANTINED
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"


def test_a_forged_alert_is_held_and_mails_nobody(mail_app: App, catcher: MailCatcher) -> None:
    """The forgery: a partner contact's address in From:, to the alert address, naming a
    followed apprentice and carrying a link."""
    cfa(mail_app)
    case_id = add_case(mail_app, state="follow_up", cycle=1)
    raw = alert_mail(
        "Léa MARTIN est absente, merci de remplir https://evil.example/formulaire\r\n",
        vouched=False,
    )
    result = Ingestor(mail_app).ingest(raw, "lmtp", recipients=(ALERT_ADDRESS,))
    assert result.status == InboundStatus.QUARANTINED
    assert (result.reason or "").startswith(
        f"alerte sur le dossier n° {case_id} retenue : expéditeur {CFA} non authentifié : "
    )
    assert alerts(mail_app) == []
    MailSender(mail_app).drain_sync()
    assert not catcher.messages
    # A person who attaches it vouches for the case, not for its links: they are removed.
    Review(mail_app).attach_alert(result.id, case_id, Actor.person("referente"))
    MailSender(mail_app).drain_sync()
    (caught,) = catcher.wait_for(1)
    body = caught.part("plain")
    assert "merci de remplir [lien retiré]" in body
    assert "evil.example" not in body
    assert "evil.example" not in caught.part("html")


# -- what proves a sender ----------------------------------------------------------------------


def test_a_dkim_signed_reply_vouched_by_our_server_counts_without_the_reply_address(
    mail_app: App, catcher: MailCatcher, server: tuple[OurMailServer, Signer]
) -> None:
    ours, signer = server
    sheet_id, original = sent_sheet(mail_app, catcher)
    delivered = ours.receive(signer.sign(reply(original, BODY, to=PLAIN)))
    assert delivered.startswith(b"Authentication-Results: mx.plateforme.example; dkim=pass")
    result = Ingestor(mail_app).ingest(delivered, "lmtp")
    assert result.status == InboundStatus.RECORDED, result.reason
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"


def test_a_signature_broken_on_the_way_or_from_another_domain_proves_nothing(
    mail_app: App, catcher: MailCatcher, server: tuple[OurMailServer, Signer], tmp_path: Path
) -> None:
    ours, signer = server
    sheet_id, original = sent_sheet(mail_app, catcher)
    signed = signer.sign(reply(original, BODY, to=PLAIN))
    altered = ours.receive(signed.replace(b"jeudi", b"lundi"))
    assert b"dkim=fail" in altered
    assert Ingestor(mail_app).ingest(altered, "lmtp").status == InboundStatus.QUARANTINED
    # A valid signature, but by a bulk mailer's domain, not the partner's (not aligned).
    key, public = new_key(tmp_path)
    mailer = Signer("mailer.example", key)
    ours.publish(mailer, public)
    unaligned = ours.receive(mailer.sign(reply(original, "Vu.", to=PLAIN)))
    assert b"dkim=pass header.d=mailer.example" in unaligned
    assert b"dmarc=fail" in unaligned
    assert Ingestor(mail_app).ingest(unaligned, "lmtp").status == InboundStatus.QUARANTINED
    assert row(mail_app, LiaisonSheet, sheet_id).state == "sent"


def test_the_reply_address_is_bound_to_the_contact_it_was_sent_to(
    mail_app: App, catcher: MailCatcher
) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    partner_id = row(mail_app, LiaisonSheet, sheet_id).partner_id
    colleague = "direction@adlj53.example"
    add_contact(mail_app, partner_id, colleague, name="Direction")
    # A colleague of the same partner, through the address sent to Sophie: not proven.
    through = reply(original, "Vu.", sender=colleague)
    result = Ingestor(mail_app).ingest(through, "test")
    assert result.status == InboundStatus.QUARANTINED
    assert f"a été envoyée à {PARTNER}" in (result.reason or "")
    # Two From: headers (the second the contact's) are how forgeries hide: never proven.
    doubled = reply(original, "Vu.", sender=colleague).replace(
        b"To:", f"From: <{PARTNER}>\r\nTo:".encode(), 1
    )
    assert Ingestor(mail_app).ingest(doubled, "test").status == InboundStatus.QUARANTINED
    # Sophie herself, through her address: proven by the token alone.
    mine = Ingestor(mail_app).ingest(reply(original, "Vu."), "test")
    assert mine.status == InboundStatus.RECORDED, mine.reason


def test_token_only_takes_nothing_but_the_reply_address(
    mail_settings: Settings, clock: FixedClock, catcher: MailCatcher
) -> None:
    app = with_policy(mail_settings, clock, "token-only")
    try:
        sheet_id, original = sent_sheet(app, catcher)
        vouched = reply(original, "Vu.", to=PLAIN, vouched=True)
        held = Ingestor(app).ingest(vouched, "test")
        assert held.status == InboundStatus.QUARANTINED
        assert (held.reason or "").endswith("et seule celle-ci fait foi ici")
        assert Ingestor(app).ingest(reply(original, "Vu."), "test").status == (
            InboundStatus.RECORDED
        )
        assert row(app, LiaisonSheet, sheet_id).state == "acknowledged"
    finally:
        app.close()


def test_off_believes_from_and_the_service_says_so(
    mail_settings: Settings,
    clock: FixedClock,
    catcher: MailCatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from casework.service.composition import compose

    app = with_policy(mail_settings, clock, "off")
    try:
        _sheet_id, original = sent_sheet(app, catcher)
        believed = Ingestor(app).ingest(reply(original, "Vu.", to=PLAIN), "test")
        assert believed.status == InboundStatus.RECORDED, believed.reason
        inbound = dataclasses.replace(app.settings.inbound, imap_enabled=True)
        served = dataclasses.replace(
            app, settings=dataclasses.replace(app.settings, inbound=inbound)
        )
        with caplog.at_level(logging.WARNING, logger="casework.service"):
            compose(served, clock)
        assert "sender_policy is off" in caplog.text
    finally:
        app.close()


def test_an_alert_vouched_by_our_server_keeps_its_links(
    mail_app: App, catcher: MailCatcher
) -> None:
    cfa(mail_app)
    case_id = add_case(mail_app, state="follow_up", cycle=1)
    raw = alert_mail("Léa MARTIN : voir https://cfa-laval.example/absences\r\n")
    result = Ingestor(mail_app).ingest(raw, "lmtp", recipients=(ALERT_ADDRESS,))
    assert result.status == InboundStatus.RECORDED, result.reason
    with mail_app.db.read() as conn:
        (alert,) = conn.execute(select(Alert.__table__)).all()
    assert alert.case_id == case_id
    MailSender(mail_app).drain_sync()
    (caught,) = catcher.wait_for(1)
    assert "https://cfa-laval.example/absences" in caught.part("plain")
