"""Outgoing mail against a real SMTP server (aiosmtpd on a loopback port): queueing in the
transition's transaction, rendering once, headers, retries, failures, notices."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, insert, select, update

from casework.actors import Actor
from casework.app import App
from casework.clock import FixedClock
from casework.demo.mailcatcher import MailCatcher
from casework.errors import InvalidTransitionData
from casework.models import Beneficiary, Case, MailStatus, OutboxMail
from casework.notify.links import split_address_token
from casework.notify.sender import MailSender
from tests.factories import add_case, add_contact, add_partner, add_sheet, add_user, row

OUTBOX = OutboxMail.__table__
SYSTEM = Actor.system()


def outbox(app: App) -> list:
    with app.db.read() as conn:
        return list(conn.execute(select(OUTBOX).order_by(OUTBOX.c.id)).all())


def consent_case(app: App) -> int:
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", SYSTEM)
    return case_id


def partner_with_contacts(app: App, *emails: str, manager: str | None = None) -> int:
    partner_id = add_partner(app)
    for email in emails:
        add_contact(app, partner_id, email)
    if manager:
        add_contact(app, partner_id, manager, role="manager", name="Anne Chef")
    return partner_id


# -- queueing -------------------------------------------------------------------------------------


def test_a_transition_queues_its_mail_in_its_own_transaction(app: App) -> None:
    case_id = consent_case(app)
    (mail,) = outbox(app)
    assert (mail.template, mail.recipient_role, mail.status) == (
        "case/consent_request",
        "counsellor",
        MailStatus.QUEUED,
    )
    assert (mail.case_id, mail.entity, mail.entity_id, mail.version) == (
        case_id,
        "case",
        case_id,
        2,
    )
    assert mail.context["links"] == ["give_consent", "decline"]
    assert mail.state_entry == 2
    assert mail.message is None  # rendered by the sender, once


def test_a_refused_or_failed_transition_queues_nothing(app: App) -> None:
    case_id = consent_case(app)
    with pytest.raises(InvalidTransitionData):
        app.engine.fire_case(case_id, "give_consent", Actor.person("referente"), given_by="nobody")
    assert len(outbox(app)) == 1  # only the consent request


def test_control_group_cases_are_never_mailed(app: App) -> None:
    case_id = add_case(app, group="control")
    app.engine.fire_case(case_id, "track_outcomes", SYSTEM)
    app.engine.fire_case(case_id, "rupture", Actor.importer("cma"), rupture_date="2026-10-01")
    assert outbox(app) == []


def test_a_batch_queues_one_mail_per_transition(app: App) -> None:
    ids = [add_case(app) for _ in range(5)]
    result = app.engine.fire_many("case", ids, "ask_consent", SYSTEM)
    assert len(result.applied) == 5
    assert sorted(m.entity_id for m in outbox(app)) == ids


# -- sending ---------------------------------------------------------------------------------------


def test_a_mail_is_rendered_once_with_the_expected_headers(
    mail_app: App, catcher: MailCatcher
) -> None:
    add_user(mail_app)
    consent_case(mail_app)
    report = MailSender(mail_app).drain_sync()
    assert report.sent == 1
    (caught,) = catcher.wait_for(1)
    message = caught.message
    (stored,) = outbox(mail_app)
    assert stored.status == MailStatus.SENT
    assert stored.attempts == 1
    # Sent: the body (personal data, links) is no longer kept; what identifies the mail is.
    assert stored.message is None
    assert stored.subject == "Consentement à recueillir : Léa MARTIN"
    assert message["Message-ID"] == stored.message_id
    assert stored.message_id.endswith("@plateforme.example>")
    assert caught.recipients == ["claire.martin@ml.example"]
    assert message["To"] == "Claire Martin <claire.martin@ml.example>"
    assert message["From"] == "Plateforme apprentissage <plateforme@plateforme.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert message["Content-Language"] == "fr"
    assert message["Reply-To"] is None  # counsellors' mails expect a click, not an answer
    assert parsedate_to_datetime(message["Date"]) == mail_app.clock.now()
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "Consentement à recueillir : Léa MARTIN"
    assert "https://casework.example/l/" in caught.part("plain")


def test_a_partner_mail_goes_to_each_contact_with_its_own_links_and_reply_address(
    mail_app: App, catcher: MailCatcher
) -> None:
    add_user(mail_app)
    partner_id = partner_with_contacts(mail_app, "a@partner.example", "b@partner.example")
    sheet_id = add_sheet(mail_app, partner_id=partner_id)
    mail_app.engine.fire_sheet(sheet_id, "send", Actor.person("referente"))
    MailSender(mail_app).drain_sync()
    caught = catcher.wait_for(2)
    assert sorted(c.recipients[0] for c in caught) == ["a@partner.example", "b@partner.example"]
    sender = MailSender(mail_app)
    replies = [c.message["Reply-To"] for c in caught]
    assert all(r.startswith("reply+") and r.endswith("@plateforme.example") for r in replies)
    mail_ids = {sender.signer.check_reply_token(r.split("+")[1].split("@")[0]) for r in replies}
    assert mail_ids == {m.id for m in outbox(mail_app)}
    bodies = [c.part("plain") for c in caught]
    assert bodies[0] != bodies[1]  # personal links
    assert {m.reply_token for m in outbox(mail_app)} == {
        r.split("+")[1].split("@")[0] for r in replies
    }


def test_each_mail_s_envelope_sender_is_its_own_verp_address(
    mail_app: App, catcher: MailCatcher
) -> None:
    """Bounces go to the envelope sender: `bounce+<token>@<domain>`, the token naming the mail
    and the one address it went to (seen by the real SMTP server)."""
    add_user(mail_app)
    partner_id = partner_with_contacts(mail_app, "a@partner.example", "b@partner.example")
    sheet_id = add_sheet(mail_app, partner_id=partner_id)
    mail_app.engine.fire_sheet(sheet_id, "send", Actor.person("referente"))
    sender = MailSender(mail_app)
    sender.drain_sync()
    by_recipient = {m.recipients[0]: m.id for m in outbox(mail_app)}
    for caught in catcher.wait_for(2):
        (recipient,) = caught.recipients
        local, _, domain = caught.sender.partition("@")
        assert domain == "plateforme.example"  # bounce_domain defaults to the reply domain
        assert local.startswith("bounce+")
        mail_id, mac = split_address_token(local.removeprefix("bounce+"))
        assert mail_id == by_recipient[recipient]
        assert sender.signer.bounce_recipient(mac, mail_id, [recipient]) == recipient
        other = next(a for a in by_recipient if a != recipient)
        assert sender.signer.bounce_recipient(mac, mail_id, [other]) is None  # bound to one
        assert sender.signer.check_reply_token(f"{mail_id}-{mac}") is None  # not a reply token
        assert caught.message["From"].endswith("<plateforme@plateforme.example>")


def test_a_value_with_cr_lf_never_reaches_a_header(mail_app: App, catcher: MailCatcher) -> None:
    add_user(mail_app)
    case_id = add_case(mail_app)
    with mail_app.db.transaction() as conn:
        conn.execute(
            update(Beneficiary)
            .where(Beneficiary.id == row(mail_app, Case, case_id).beneficiary_id)
            .values(birth_name="Martin\r\nBcc: intrus@evil.example", first_names="Léa\nX-Evil: 1")
        )
    mail_app.engine.fire_case(case_id, "ask_consent", SYSTEM)
    MailSender(mail_app).drain_sync()
    (caught,) = catcher.wait_for(1)
    message = caught.message
    assert message["Bcc"] is None
    assert message["X-Evil"] is None
    assert caught.recipients == ["claire.martin@ml.example"]
    assert "\n" not in message["Subject"]
    assert "\r" not in message["Subject"]
    assert "BCC: INTRUS@EVIL.EXAMPLE" in message["Subject"]


def test_a_temporary_refusal_is_retried_later_with_the_same_message_id(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    add_user(mail_app)
    consent_case(mail_app)
    catcher.refuse("claire.martin@ml.example", "451 4.7.1 Greylisted, try again later")
    # The backoff's jitter at its lowest: half the base delay (never at once).
    report = MailSender(mail_app, uniform=lambda low, _high: low).drain_sync()
    assert (report.sent, report.retried) == (0, 1)
    (mail,) = outbox(mail_app)
    assert mail.status == MailStatus.QUEUED
    assert mail.attempts == 1
    assert "451" in mail.last_error
    assert mail.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert MailSender(mail_app).drain_sync().claimed == 0  # not due yet
    clock.advance(timedelta(minutes=2))
    assert MailSender(mail_app).drain_sync().sent == 1
    (caught,) = catcher.wait_for(1)
    assert caught.message["Message-ID"] == mail.message_id
    assert outbox(mail_app)[0].attempts == 2


def test_too_many_temporary_refusals_fail_the_mail(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    add_user(mail_app)
    consent_case(mail_app)
    sender = MailSender(mail_app)
    catcher.refuse("claire.martin@ml.example", *["421 4.3.0 busy"] * sender.settings.max_attempts)
    for _ in range(sender.settings.max_attempts):
        sender.drain_sync()
        clock.advance(timedelta(days=1))
    mail = next(m for m in outbox(mail_app) if m.template == "case/consent_request")
    assert mail.status == MailStatus.FAILED
    assert mail.attempts == sender.settings.max_attempts


def test_a_permanent_refusal_fails_the_mail_and_tells_the_counsellor(
    mail_app: App, catcher: MailCatcher
) -> None:
    add_user(mail_app)
    partner_id = partner_with_contacts(mail_app, "gone@partner.example")
    sheet_id = add_sheet(mail_app, partner_id=partner_id)
    mail_app.engine.fire_sheet(sheet_id, "send", Actor.person("referente"))
    catcher.refuse("gone@partner.example", "550 5.1.1 No such user here")
    MailSender(mail_app).drain_sync()
    failed, notice = outbox(mail_app)
    assert failed.status == MailStatus.FAILED
    assert failed.last_error.startswith("550")
    assert notice.template == "system/mail_failed"
    assert notice.about_mail_id == failed.id
    assert notice.status == MailStatus.SENT
    (caught,) = catcher.wait_for(1)
    assert caught.recipients == ["claire.martin@ml.example"]
    assert caught.message["Subject"].startswith("Courriel non distribué : Fiche de liaison")
    assert "gone@partner.example" in caught.part("plain")
    assert "550 5.1.1" in caught.part("plain")


def test_a_mail_with_nobody_to_go_to_is_undeliverable_and_the_counsellor_is_told(
    mail_app: App, catcher: MailCatcher
) -> None:
    add_user(mail_app)
    sheet_id = add_sheet(mail_app, partner_id=add_partner(mail_app))  # a partner with no contact
    mail_app.engine.fire_sheet(sheet_id, "send", Actor.person("referente"))
    MailSender(mail_app).drain_sync()
    undeliverable, notice = outbox(mail_app)
    assert undeliverable.status == MailStatus.UNDELIVERABLE
    assert undeliverable.attempts == 0
    assert "aucune adresse" in undeliverable.last_error
    assert notice.status == MailStatus.SENT
    assert len(catcher.wait_for(1)) == 1


def test_a_notice_that_fails_has_no_notice_of_its_own(mail_app: App, catcher: MailCatcher) -> None:
    consent_case(mail_app)  # the referent has no user record: no address
    MailSender(mail_app).drain_sync()
    mails = outbox(mail_app)
    assert [m.status for m in mails] == [MailStatus.UNDELIVERABLE, MailStatus.UNDELIVERABLE]
    assert mails[1].about_mail_id == mails[0].id
    assert catcher.messages == type(catcher.messages)()


def test_an_unreachable_relay_keeps_every_mail_queued(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    add_user(mail_app)
    for _ in range(3):
        consent_case(mail_app)
    catcher.stop()
    report = MailSender(mail_app).drain_sync()
    assert report.sent == 0
    assert report.errors
    assert all(m.status == MailStatus.QUEUED for m in outbox(mail_app))
    assert all(m.next_attempt_at > clock.now() for m in outbox(mail_app))
    assert all(m.message is not None for m in outbox(mail_app))  # rendered, kept for later


def test_two_senders_at_once_send_each_mail_once(mail_app: App, catcher: MailCatcher) -> None:
    add_user(mail_app)
    ids = [add_case(mail_app) for _ in range(60)]
    mail_app.engine.fire_many("case", ids, "ask_consent", SYSTEM)
    senders = [MailSender(mail_app), MailSender(mail_app)]
    for s in senders:
        s.settings = dataclasses.replace(s.settings, batch_size=7)
    threads = [threading.Thread(target=s.drain_sync) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    caught = catcher.wait_for(60)
    ids_seen = [c.message["Message-ID"] for c in caught]
    assert len(ids_seen) == len(set(ids_seen)) == 60
    with mail_app.db.read() as conn:
        sent = conn.execute(
            select(func.count()).where(OUTBOX.c.status == MailStatus.SENT)
        ).scalar_one()
    assert sent == 60


def test_a_mail_that_cannot_be_rendered_fails_alone(mail_app: App, catcher: MailCatcher) -> None:
    add_user(mail_app)
    case_id = consent_case(mail_app)
    with mail_app.db.transaction() as conn:  # a template removed by an upgrade, say
        conn.execute(
            insert(OUTBOX),
            {
                "case_id": case_id,
                "entity": "case",
                "entity_id": case_id,
                "template": "case/gone",
                "recipient_role": "counsellor",
                "recipients": [],
                "context": {"links": []},
                "status": MailStatus.QUEUED,
                "attempts": 0,
                "next_attempt_at": mail_app.clock.now(),
                "created_at": mail_app.clock.now(),
            },
        )
    MailSender(mail_app).drain_sync()
    by_template = {m.template: m for m in outbox(mail_app)}
    assert by_template["case/consent_request"].status == MailStatus.SENT
    assert by_template["case/gone"].status == MailStatus.FAILED
    assert "rendu de case/gone impossible" in by_template["case/gone"].last_error
    assert by_template["system/mail_failed"].status == MailStatus.SENT
    assert len(catcher.wait_for(2)) == 2
