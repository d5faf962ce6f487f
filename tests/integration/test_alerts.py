"""Alerts by mail: a known partner contact writing to the alert address about a followed
apprentice makes an alert on that case for its counsellor; anything less certain is quarantined."""

from __future__ import annotations

import dataclasses
from datetime import date
from email.utils import make_msgid

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.database import Database
from casework.demo.mailcatcher import MailCatcher
from casework.inbound.alerts import AlertError
from casework.inbound.ingest import Ingestor
from casework.inbound.review import Review
from casework.migrate import downgrade, upgrade
from casework.models import Alert, InboundStatus, OutboxMail
from casework.names import fold, name_key, word_runs
from casework.notify.sender import MailSender
from casework.settings import DatabaseSettings
from tests.factories import add_case, add_contact, add_partner, add_sheet, add_user, events

ALERT_ADDRESS = "alerte@plateforme.example"
CFA = "vie.scolaire@cfa-laval.example"
UAI = "0530999X"


def alert_mail(
    body: str,
    *,
    subject: str = "Absences répétées",
    sender: str = CFA,
    to: str = ALERT_ADDRESS,
    headers: str = "",
    message_id: str | None = None,
    vouched: bool = True,
) -> bytes:
    """An alert as our mail server hands it over: with its verdict on top (DMARC pass for the
    sender's domain) unless not `vouched`."""
    verdict = (
        f"Authentication-Results: mx.plateforme.example; dmarc=pass (p=reject) "
        f"header.from={sender.rsplit('@', 1)[-1]}\r\n"
        if vouched
        else ""
    )
    return (
        f"{verdict}From: Vie scolaire CFA <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id or make_msgid(domain='cfa-laval.example')}\r\n{headers}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}"
    ).encode()


def cfa(app: App, counsellor: bool = True) -> int:
    if counsellor:
        add_user(app)
    partner_id = add_partner(app, name="CFA de Laval", kind="training_centre", uai=UAI)
    add_contact(app, partner_id, CFA, name="Vie scolaire")
    return partner_id


def alerts(app: App) -> list:
    with app.db.read() as conn:
        return list(conn.execute(select(Alert.__table__).order_by(Alert.id)).all())


def outbox(app: App, template: str) -> list:
    table = OutboxMail.__table__
    with app.db.read() as conn:
        return list(conn.execute(select(table).where(table.c.template == template)).all())


def test_names_are_folded_the_same_way_on_both_sides() -> None:
    assert fold("Éloïse-Marie D'Argent") == "eloise marie dargent"
    assert name_key("Le Gall") == name_key("LE-GALL") == name_key("legall") == "legall"
    assert name_key("Lætitia Œuvray") == "laetitiaoeuvray"
    runs = word_runs("Bonjour, Jean-Pierre LE GALL est absent")
    assert {"jeanpierre", "legall", "jean", "gall"} <= runs


def test_a_cfa_alert_naming_an_apprentice_alerts_the_counsellor(
    mail_app: App, catcher: MailCatcher
) -> None:
    partner_id = cfa(mail_app)
    case_id = add_case(mail_app, state="follow_up", cycle=1)
    raw = alert_mail(
        "Bonjour,\r\n\r\nLéa MARTIN n'est pas venue au CFA depuis deux semaines.\r\n"
        "Pouvez-vous la contacter ?\r\n\r\n-- \r\nVie scolaire, CFA de Laval\r\n"
    )
    result = Ingestor(mail_app).ingest(raw, "lmtp", recipients=(ALERT_ADDRESS,))
    assert result.status == InboundStatus.RECORDED
    assert result.reason == f"alerte sur le dossier n° {case_id}"
    (alert,) = alerts(mail_app)
    assert (alert.case_id, alert.partner_id, alert.sender) == (case_id, partner_id, CFA)
    assert alert.identified_by == "automatic"
    assert alert.seen_at is None
    event = events(mail_app, "case", case_id)[-1]
    assert (event.trigger, event.actor_kind, event.actor) == ("partner_alert", "partner", CFA)
    assert event.data == {"alert_id": alert.id, "inbound_id": result.id}
    # The counsellor gets the alert by mail, with what the partner wrote (signature stripped).
    MailSender(mail_app).drain_sync()
    (caught,) = catcher.wait_for(1)
    assert caught.recipients == ["claire.martin@ml.example"]
    assert str(caught.message["Subject"]) == "Alerte au sujet de Léa MARTIN (CFA de Laval)"
    body = caught.part("plain")
    assert "n'est pas venue au CFA depuis deux semaines" in body
    assert "Vie scolaire, CFA de Laval" not in body
    assert f"casework alerts seen {alert.id}" in body


@pytest.mark.parametrize(
    "text",
    [
        "Nous sommes inquiets pour MARTIN Léa (absences).",  # name first
        "Nous sommes inquiets pour lea martin.",  # no accents, no capitals
        "Inquiétude : Marie Martin ne vient plus.",  # a second first name
    ],
)
def test_the_apprentice_is_found_however_the_name_is_written(mail_app: App, text: str) -> None:
    cfa(mail_app)
    case_id = add_case(mail_app, state="follow_up", cycle=1)
    Ingestor(mail_app).ingest(alert_mail(text), "test")
    assert [a.case_id for a in alerts(mail_app)] == [case_id]


def test_compound_names_are_found(mail_app: App) -> None:
    cfa(mail_app)
    case_id = add_case(
        mail_app, state="follow_up", cycle=1, birth_name="Le Gall", first_names="Jean-Pierre"
    )
    add_case(mail_app, state="follow_up", cycle=1, birth_name="Gall", first_names="Pierre")
    Ingestor(mail_app).ingest(alert_mail("JEAN PIERRE LE-GALL a quitté l'entreprise."), "test")
    assert [a.case_id for a in alerts(mail_app)] == [case_id]


def test_an_alert_from_an_unknown_sender_is_quarantined(mail_app: App) -> None:
    cfa(mail_app)
    add_case(mail_app, state="follow_up", cycle=1)
    raw = alert_mail("Léa Martin est absente.", sender="quelquun@ailleurs.example")
    result = Ingestor(mail_app).ingest(raw, "test")
    assert result.status == InboundStatus.QUARANTINED
    assert result.reason == "alerte de quelquun@ailleurs.example : expéditeur inconnu"
    assert alerts(mail_app) == []
    assert outbox(mail_app, "case/partner_alert") == []


def test_an_alert_naming_nobody_followed_is_quarantined(mail_app: App) -> None:
    cfa(mail_app)
    add_case(mail_app, state="follow_up", cycle=1)
    result = Ingestor(mail_app).ingest(alert_mail("Un de vos jeunes est absent."), "test")
    assert result.status == InboundStatus.QUARANTINED
    assert result.reason == "alerte : aucun apprenti suivi n'est nommé"
    # A first name alone, or a birth name alone, is not enough.
    for partial in ("Léa est absente.", "M. Martin a appelé."):
        assert Ingestor(mail_app).ingest(alert_mail(partial), "test").reason == result.reason
    assert alerts(mail_app) == []


@pytest.mark.parametrize(("group", "state"), [("control", "outcome_tracking"), ("test", "closed")])
def test_control_group_and_closed_cases_never_get_alerts(
    mail_app: App, group: str, state: str
) -> None:
    cfa(mail_app)
    case_id = add_case(mail_app, group=group, state=state)
    result = Ingestor(mail_app).ingest(alert_mail("Léa Martin est absente."), "test")
    assert result.status == InboundStatus.QUARANTINED
    assert alerts(mail_app) == []
    # A person cannot force it either.
    with pytest.raises(AlertError, match=r"n'est (plus|pas) suivi"):
        Review(mail_app).attach_alert(result.id, case_id, Actor.person("referente"))
    assert alerts(mail_app) == []


def test_namesakes_are_told_apart_by_the_partner_or_the_birth_date_or_quarantined(
    mail_app: App,
) -> None:
    partner_id = cfa(mail_app)
    first = add_case(mail_app, state="follow_up", cycle=1, birth_date=date(2007, 3, 12))
    second = add_case(mail_app, state="follow_up", cycle=1, birth_date=date(2008, 11, 2))
    ingestor = Ingestor(mail_app)
    both = ingestor.ingest(alert_mail("Léa Martin est absente."), "test")
    assert both.status == InboundStatus.QUARANTINED
    assert both.reason == (
        f"alerte : plusieurs apprentis possibles (dossiers n° {first}, n° {second})"
    )
    # The birth date in the mail tells which one.
    dated = ingestor.ingest(alert_mail("Léa Martin (née le 02/11/2008) est absente."), "test")
    assert dated.status == InboundStatus.RECORDED
    assert alerts(mail_app)[-1].case_id == second
    # The partner's own apprentice (a sheet went to it) is the one it writes about.
    add_sheet(mail_app, partner_id=partner_id, case_id=first)
    linked = ingestor.ingest(alert_mail("Léa Martin est absente."), "test")
    assert linked.status == InboundStatus.RECORDED
    assert alerts(mail_app)[-1].case_id == first


def test_the_training_centre_of_the_apprentice_is_preferred(mail_app: App) -> None:
    cfa(mail_app)
    add_case(mail_app, state="follow_up", cycle=1)
    trained_here = add_case(mail_app, state="follow_up", cycle=1, training_centre_uai=UAI)
    Ingestor(mail_app).ingest(alert_mail("Léa Martin est absente."), "test")
    assert [a.case_id for a in alerts(mail_app)] == [trained_here]


def test_the_same_alert_twice_is_one_alert(mail_app: App) -> None:
    cfa(mail_app)
    add_case(mail_app, state="follow_up", cycle=1)
    raw = alert_mail("Léa Martin est absente.", message_id="<once@cfa-laval.example>")
    first = Ingestor(mail_app).ingest(raw, "lmtp", recipients=(ALERT_ADDRESS,))
    again = Ingestor(mail_app).ingest(raw, "imap:INBOX", imap=(1, 7))
    assert again.duplicate
    assert again.id == first.id
    assert len(alerts(mail_app)) == 1
    assert len(outbox(mail_app, "case/partner_alert")) == 1


def test_an_out_of_office_to_the_alert_address_is_ignored(mail_app: App) -> None:
    cfa(mail_app)
    add_case(mail_app, state="follow_up", cycle=1)
    raw = alert_mail(
        "Je suis absente, Léa Martin sera suivie par ma collègue.",
        subject="Réponse automatique : absence",
        headers="Auto-Submitted: auto-replied\r\n",
    )
    assert Ingestor(mail_app).ingest(raw, "test").status == InboundStatus.IGNORED
    assert alerts(mail_app) == []


def test_the_envelope_recipient_is_enough(mail_app: App) -> None:
    """Sent in blind copy: the headers do not say it, the LMTP envelope does."""
    cfa(mail_app)
    case_id = add_case(mail_app, state="follow_up", cycle=1)
    raw = alert_mail("Léa Martin est absente.", to="equipe@cfa-laval.example")
    Ingestor(mail_app).ingest(raw, "lmtp", recipients=(ALERT_ADDRESS.upper(),))
    assert [a.case_id for a in alerts(mail_app)] == [case_id]
    # Without it, the mail is neither an alert nor a reply: quarantined.
    other = alert_mail("Léa Martin est absente.", to="equipe@cfa-laval.example")
    assert Ingestor(mail_app).ingest(other, "test").status == InboundStatus.QUARANTINED


def test_a_forwarded_mail_is_an_alert_with_its_text_shown(mail_app: App) -> None:
    cfa(mail_app)
    case_id = add_case(mail_app, state="follow_up", cycle=1)
    body = (
        "De : Formateur <formateur@cfa-laval.example>\r\nEnvoyé : lundi 5 octobre 2026\r\n"
        "À : vie.scolaire@cfa-laval.example\r\nObjet : Léa Martin\r\n\r\n"
        "Léa Martin n'était pas en cours cette semaine.\r\n"
    )
    result = Ingestor(mail_app).ingest(alert_mail(body, subject="TR: absences"), "test")
    assert result.status == InboundStatus.RECORDED
    assert [a.case_id for a in alerts(mail_app)] == [case_id]


def test_the_alert_address_can_be_turned_off(app: App) -> None:
    settings = dataclasses.replace(
        app.settings, inbound=dataclasses.replace(app.settings.inbound, alert_local="")
    )
    app = dataclasses.replace(app, settings=settings)
    cfa(app)
    add_case(app, state="follow_up", cycle=1)
    raw = alert_mail("Léa Martin est absente.", to=f"alerte@{app.settings.mail.domain}")
    assert Ingestor(app).ingest(raw, "test").status == InboundStatus.QUARANTINED
    assert alerts(app) == []


def test_a_person_attaches_a_quarantined_mail_as_an_alert_and_reads_it(
    mail_app: App, db_url: str
) -> None:
    cfa(mail_app)
    case_id = add_case(mail_app, state="follow_up", cycle=1)
    result = Ingestor(mail_app).ingest(alert_mail("Un de vos jeunes est absent."), "test")
    assert result.status == InboundStatus.QUARANTINED

    def run(*args: str) -> str:
        out = CliRunner().invoke(main, ["--database", db_url, *args], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        return out.output

    assert run("alerts", "list") == "Aucune alerte non lue.\n"
    said = run("inbound", "alert", str(result.id), str(case_id), "--as", "referente")
    (alert,) = alerts(mail_app)
    assert said == f"Courriel n° {result.id} : alerte n° {alert.id} sur le dossier n° {case_id}.\n"
    assert alert.identified_by == "person:referente"
    assert events(mail_app, "case", case_id)[-1].data["attached_by"] == "person:referente"
    listed = run("alerts", "list", "--for", "referente")
    assert f"dossier n° {case_id} (Léa MARTIN), référent : referente" in listed
    assert "Un de vos jeunes est absent." in listed
    assert run("alerts", "list", "--for", "quelquun") == "Aucune alerte non lue.\n"
    assert run("alerts", "seen", str(alert.id), "--as", "referente") == (
        f"Alerte n° {alert.id} marquée lue.\n"
    )
    assert run("alerts", "list") == "Aucune alerte non lue.\n"
    assert "lue par referente" in run("alerts", "list", "--all")
    # Twice is refused: it is no longer in quarantine.
    out = CliRunner().invoke(
        main,
        ["--database", db_url, "inbound", "alert", str(result.id), str(case_id)],
        env={"CASEWORK_AS": "referente"},
    )
    assert out.exit_code == 1
    assert "n'est pas en quarantaine" in out.output


def test_the_migration_gives_existing_people_their_name_key(db_url: str) -> None:
    """Upgrading a database that already holds people folds their names (in batches)."""
    db = Database(DatabaseSettings(url=db_url))
    try:
        with db.engine.begin() as conn:  # back to before the key, with someone in it
            conn.execute(text("DELETE FROM beneficiaries"))
        downgrade(db, "0004")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO beneficiaries (birth_name, first_names, birth_date, sex, "
                    "created_at, updated_at) VALUES ('Le Gall-Hervé', 'Zoé', '2008-01-02', 'F', "
                    "'2026-09-01 00:00:00+00:00', '2026-09-01 00:00:00+00:00')"
                )
            )
        upgrade(db)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name_key FROM beneficiaries")).scalar() == (
                "legallherve"
            )
    finally:
        db.engine.dispose()
