"""Every mail template, rendered from real transitions and received by a real SMTP server:
subject, both parts, links, reply address, escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from casework.actors import Actor
from casework.app import App
from casework.clock import PARIS, FixedClock
from casework.demo.mailcatcher import Caught, MailCatcher
from casework.models import LiaisonSheet
from casework.notify.digest import DigestMaker
from casework.notify.sender import MailSender
from tests.factories import add_case, add_contact, add_partner, add_sheet, add_user

TIMER, PERSON, PARTNER = Actor.timer(), Actor.person("referente"), Actor.partner("a@foyer.example")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


def by_subject(caught: list[Caught], start: str) -> list[Caught]:
    return [c for c in caught if str(c.message["Subject"]).startswith(start)]


def check_parts(mail: Caught, *phrases: str) -> None:
    plain, html = mail.part("plain"), mail.part("html")
    for phrase in phrases:
        assert phrase in plain, (phrase, plain)
    for text in (plain, html):
        assert "None" not in text
        assert "{{" not in text
        assert "{%" not in text
    assert html.startswith("<!DOCTYPE html>")
    assert "Ne transférez pas ce message" in plain


def test_every_template_renders_in_french_with_its_links(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    app = mail_app
    add_user(app)
    engine = app.engine
    # Case mails.
    asked = add_case(app)
    engine.fire_case(asked, "ask_consent", Actor.system())
    engine.fire_case(asked, "remind_consent", TIMER)
    followed = add_case(app, state="consented")
    engine.fire_case(followed, "start_follow_up", TIMER)
    broken = add_case(app, state="follow_up", cycle=2)
    engine.fire_case(broken, "rupture", PERSON, rupture_date="2026-10-05", initiative="employer")
    monitored = add_case(app, state="monitoring", cycle=6)
    engine.fire_case(monitored, "one_year_assessment_due", TIMER)
    engine.fire_case(monitored, "contract_ended", TIMER)
    # Liaison sheet mails.
    partner_id = add_partner(app, name="Foyer des jeunes travailleurs")
    add_contact(app, partner_id, "a@foyer.example")
    add_contact(app, partner_id, "chef@foyer.example", role="manager", name="Anne Chef")
    sheet = add_sheet(app, partner_id=partner_id)
    with app.db.transaction() as conn:  # a description is free text: it must be escaped
        conn.execute(
            update(LiaisonSheet)
            .where(LiaisonSheet.id == sheet)
            .values(description="Cherche un logement <b>près</b> du CFA & du travail.")
        )
    engine.fire_sheet(sheet, "send", PERSON)
    engine.fire_sheet(sheet, "remind", TIMER)
    engine.fire_sheet(sheet, "acknowledge", PARTNER)
    engine.fire_sheet(sheet, "remind", TIMER)
    engine.fire_sheet(sheet, "escalate", TIMER)
    engine.fire_sheet(sheet, "mark_overdue", TIMER)
    engine.fire_sheet(sheet, "give_feedback", PARTNER, feedback="Rendez-vous pris le 12 octobre.")
    MailSender(app).drain_sync()
    caught = list(catcher.wait_for(13))

    (consent,) = by_subject(caught, "Consentement à recueillir")
    check_parts(consent, "Bonjour Claire Martin", "Léa MARTIN (26 ans)", "cohorte 2026")
    check_parts(consent, "Consentement recueilli : https://", "Accompagnement refusé : https://")
    (reminder,) = by_subject(caught, "Relance : consentement")
    check_parts(reminder, "demandé depuis le 01/09/2026")
    (follow_up,) = by_subject(caught, "Point mensuel 1/6")
    check_parts(follow_up, "point mensuel n° 1 sur 6", "Enregistrer le contact", "Signaler")
    (rupture,) = by_subject(caught, "Rupture du contrat")
    check_parts(rupture, "rompu le 05/10/2026 (à l'initiative de l'employeur)", "réorientation")
    assessments = by_subject(caught, "Bilan à faire")
    assert len(assessments) == 2
    texts = sorted(a.part("plain") for a in assessments)
    assert "à un an du début du contrat" in texts[0] + texts[1]
    assert "de fin de contrat" in texts[0] + texts[1]
    for assessment in assessments:  # each links to the step that records it
        check_parts(assessment, "Enregistrer le bilan")

    (sheet_mail,) = by_subject(caught, "Fiche de liaison n° 1 : logement pour Léa MARTIN")
    assert sheet_mail.recipients == ["a@foyer.example"]
    assert sheet_mail.message["Reply-To"].startswith("reply+")
    check_parts(
        sheet_mail,
        "avec l'accord de l'intéressé(e)",
        "né(e) le 04/05/2000",
        "Besoin : logement",
        "Cherche un logement <b>près</b> du CFA & du travail.",  # plain text: as written
        "accuser réception au plus tard le 04/09/2026",  # 3 working days, Friday included
        "faire un retour au plus tard 10 jours ouvrés après votre accusé de réception",
        "Accuser réception : https://",
        "Faire un retour : https://",
    )
    assert "Cherche un logement &lt;b&gt;près&lt;/b&gt; du CFA &amp; du travail." in (
        sheet_mail.part("html")
    )
    first, second = sorted(by_subject(caught, "Relance : fiche"), key=lambda c: c.message["Date"])
    for mail in (first, second):
        assert mail.message["Reply-To"].startswith("reply+")
    assert "Accuser réception" in first.part("plain")
    # Each speaks of what was awaited when it was sent, though both were rendered later.
    check_parts(first, "l'accusé de réception était attendu au plus tard le 04/09/2026")
    check_parts(second, "le retour était attendu au plus tard le 15/09/2026")
    assert "pas encore de accusé de réception" not in first.part("plain")  # French, not template
    assert "Accuser réception" not in second.part("plain")  # acknowledged already
    (to_manager,) = by_subject(caught, "Fiche de liaison n° 1 sans réponse")
    assert to_manager.recipients == ["chef@foyer.example"]
    check_parts(to_manager, "malgré une relance", "Faire un retour : https://")
    check_parts(to_manager, "le retour était attendu au plus tard le 15/09/2026")
    (to_counsellor,) = by_subject(caught, "Escalade : fiche n° 1")
    check_parts(to_counsellor, "Le responsable du partenaire vient d'être prévenu")
    (overdue,) = by_subject(caught, "Fiche n° 1 en retard")
    check_parts(overdue, "a dépassé le délai de la charte")
    (feedback,) = by_subject(caught, "Retour du partenaire Foyer des jeunes travailleurs")
    check_parts(feedback, "Rendez-vous pris le 12 octobre.", "Clore la fiche : https://")
    assert len(caught) == 13

    # The digest, the next working day at 08:00 Paris.
    clock.set(clock.now().replace(hour=6) + timedelta(days=1))  # Wed 08:00 Paris
    assert DigestMaker(app).run(clock.now()) == 1
    MailSender(app).drain_sync()
    (digest,) = by_subject(catcher.wait_for(14), "Vos actions du 02/09/2026")
    check_parts(digest, "Consentement à recueillir : Léa MARTIN", "Point mensuel : Léa MARTIN")
    check_parts(digest, "Rupture à traiter", "Retour reçu d'un partenaire")
    check_parts(digest, "Bilan de fin de contrat : Léa MARTIN")
    # Two follow-ups: the sheet's case is in its monthly cycle too; and an assessment.
    assert digest.part("plain").count("https://casework.example/l/") == 6


def test_the_consent_reminder_says_when_consent_was_asked(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    add_user(mail_app)
    asked = add_case(mail_app)
    mail_app.engine.fire_case(asked, "ask_consent", Actor.system())
    clock.advance(timedelta(days=7))  # the reminder goes a week later: it says when, not today
    mail_app.engine.fire_case(asked, "remind_consent", TIMER)
    MailSender(mail_app).drain_sync()
    (reminder,) = by_subject(list(catcher.wait_for(2)), "Relance : consentement")
    check_parts(reminder, "demandé depuis le 01/09/2026")


def test_a_partners_own_deadlines_are_the_ones_its_mails_state_and_its_reminders_keep(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    """ADLJ 53's charter: 2 working days to acknowledge, 8 to report back. "2 working days"
    ends with the second working day after sending (Armistice Day skipped); the mail says
    that day, and the reminder comes the next working morning, not before, stating the same."""
    app = mail_app
    add_user(app)
    partner_id = add_partner(app, name="ADLJ 53", ack_days=2, feedback_days=8)
    add_contact(app, partner_id, "a@foyer.example")
    sheet = add_sheet(app, partner_id=partner_id)
    clock.set(paris(2026, 11, 10, 15, 0))  # Tuesday; Wednesday 11th is a public holiday
    app.engine.fire_sheet(sheet, "send", PERSON)
    MailSender(app).drain_sync()
    (sent,) = by_subject(catcher.wait_for(1), "Fiche de liaison n° 1")
    check_parts(
        sent,
        "accuser réception au plus tard le 13/11/2026",  # Thu 12, Fri 13
        "faire un retour au plus tard 8 jours ouvrés après votre accusé de réception",
    )
    # Friday evening: still within the deadline; Monday 09:00, the reminder.
    assert app.sweeper.sweep(paris(2026, 11, 13, 23, 59)).claimed == 0
    assert app.sweeper.sweep(paris(2026, 11, 16, 9, 0)).fired == {"remind": 1}
    clock.set(paris(2026, 11, 16, 9, 0))
    MailSender(app).drain_sync()
    (reminder,) = by_subject(catcher.wait_for(2), "Relance : fiche")
    check_parts(reminder, "l'accusé de réception était attendu au plus tard le 13/11/2026")
    # Acknowledged on Monday: 8 working days to report back, Tuesday 17 to Thursday 26.
    clock.set(paris(2026, 11, 16, 10, 0))
    app.engine.fire_sheet(sheet, "acknowledge", PARTNER)
    assert app.sweeper.sweep(paris(2026, 11, 26, 18, 0)).claimed == 0
    assert app.sweeper.sweep(paris(2026, 11, 27, 9, 0)).fired == {"remind": 1}
    clock.set(paris(2026, 11, 27, 9, 0))
    MailSender(app).drain_sync()
    second = by_subject(catcher.wait_for(3), "Relance : fiche")[-1]
    check_parts(second, "le retour était attendu au plus tard le 26/11/2026")
