"""Consent withdrawn (`withdraw_consent`): from every followed state and no other; the open
sheets withdrawn and their partners told to stop; every queued mail, timer and link of the case
stopped; nothing more mailed about the young person, however far time runs; the case kept in
its group for the evaluation. On both backends."""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.clock import FixedClock
from casework.demo.mailcatcher import Caught, MailCatcher
from casework.errors import TransitionRefused
from casework.evaluation.model import Scope
from casework.evaluation.report import build_report
from casework.french import faults
from casework.models import ActionLink, Case, Event, LiaisonSheet, OutboxMail, Timer
from casework.notify.digest import DigestMaker
from casework.notify.links import LinkRequest, LinkSigner
from casework.notify.sender import MailSender
from casework.web.links import LinkPages
from tests.factories import add_case, add_contact, add_partner, add_sheet, add_user, events, row
from tests.integration.test_staff_case_pages import post_action, signed_in, text_of
from tests.report_cohort import COHORT, Person, add_cohort
from tests.staff import staff_user

PERSON, PARTNER, TIMER = (
    Actor.person("referente"),
    Actor.partner("accueil@adlj.example"),
    Actor.timer(),
)
TODAY = "2026-09-01"  # the tests' clock: Tuesday 1 September 2026
WITHDRAW = {"withdrawn_on": TODAY, "reason": "Ne souhaite plus être accompagnée"}
NAME = {"first_names": "Léna", "birth_name": "Quérard"}  # found in no other mail

FOLLOWED = {
    "case": ["consented", "follow_up", "monitoring", "end_assessment", "rupture", "reorientation"],
    "pre_apprenticeship": ["follow_up", "placement", "dropped_out"],
}


def outbox(app: App, case_id: int) -> list[Any]:
    with app.db.read() as conn:
        return list(
            conn.execute(
                select(OutboxMail.__table__)
                .where(OutboxMail.case_id == case_id)
                .order_by(OutboxMail.id)
            )
        )


def timers_of(app: App, case_id: int) -> list[Any]:
    with app.db.read() as conn:
        return list(
            conn.execute(select(Timer.__table__).where(Timer.case_id == case_id).order_by(Timer.id))
        )


def requests(app: App) -> list[Any]:
    """The privacy requests recorded on people (`privacy.requests`)."""
    return [e for e in events(app) if e.entity == "person"]


def about(mails: list[Caught], text: str) -> list[Caught]:
    return [m for m in mails if text in m.part("plain") or text in str(m.message["Subject"])]


# -- where it is allowed ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workflow", "state"),
    [(w, s) for w, states in FOLLOWED.items() for s in states],
)
def test_consent_can_be_withdrawn_from_every_followed_state(
    app: App, workflow: str, state: str
) -> None:
    case_id = add_case(app, state=state, cycle=2, workflow=workflow)
    done = app.engine.fire_case(case_id, "withdraw_consent", PERSON, **WITHDRAW)
    case = row(app, Case, case_id)
    assert (done.source, done.dest, case.state) == (state, "consent_withdrawn", "consent_withdrawn")
    assert case.group == "test"  # kept in its group: the evaluation counts it there
    last = events(app, "case", case_id)[-1]
    assert (last.trigger, last.actor, last.data) == ("withdraw_consent", "referente", WITHDRAW)
    (request,) = [e for e in requests(app) if e.trigger == "consent_withdrawal"]
    assert request.entity_id == case.beneficiary_id
    assert (request.actor, request.data["case"], request.data["withdrawn_on"]) == (
        "referente",
        case_id,
        TODAY,
    )


def test_every_followed_state_and_no_other_offers_it(app: App) -> None:
    for workflow, states in FOLLOWED.items():
        definition = app.workflows.latest(workflow).definition
        offering = {
            s
            for s in definition.states
            if any(t.trigger == "withdraw_consent" for t in definition.transitions_from(s))
        }
        assert offering == set(states), workflow
        assert definition.states["consent_withdrawn"].final


@pytest.mark.parametrize(
    ("workflow", "state", "label"),
    [
        ("case", "identified", "Identifié"),
        ("case", "consent_asked", "Consentement à recueillir"),
        ("case", "consent_reminded", "Consentement à recueillir (relancé)"),
        ("case", "declined", "Accompagnement refusé"),
        ("case", "outcome_tracking", "Suivi des résultats (groupe témoin)"),
        ("case", "closed", "Clos"),
        ("case", "positive_exit", "Sortie positive"),
        ("case", "rupture_recorded", "Rupture constatée (sans accompagnement)"),
        ("case", "consent_withdrawn", "Consentement retiré"),
        ("pre_apprenticeship", "consent_asked", "Accord à recueillir"),
        ("pre_apprenticeship", "apprenticeship_signed", "Contrat d'apprentissage signé"),
        ("pre_apprenticeship", "consent_withdrawn", "Accord retiré"),
    ],
)
def test_before_consent_and_in_final_states_it_is_refused_in_french(
    app: App, workflow: str, state: str, label: str
) -> None:
    case_id = add_case(app, state=state, workflow=workflow)
    before = len(events(app))
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "withdraw_consent", PERSON, **WITHDRAW)
    assert refused.value.reason == "state"
    assert (
        f"L'action « withdraw_consent » n'est pas possible depuis cet état "
        f"(dossier {case_id}, état « {label} »)"
    ) in refused.value.french()
    assert row(app, Case, case_id).state == state
    assert len(events(app)) == before


def test_a_date_ahead_is_refused_and_writes_nothing(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=2)
    sheet = add_sheet(app, case_id=case_id, state="sent")
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "withdraw_consent", PERSON, withdrawn_on="2026-09-02")
    assert "la date du retrait (02/09/2026) est dans le futur" in refused.value.french()
    assert row(app, LiaisonSheet, sheet).state == "sent"
    assert requests(app) == []


def test_a_sheet_can_be_withdrawn_alone(app: App) -> None:
    """The young person may withdraw their agreement to one referral only."""
    sheet = add_sheet(app, state="acknowledged")
    done = app.engine.fire_sheet(sheet, "withdraw", PERSON, reason="ne veut plus de ce foyer")
    assert (done.dest, row(app, LiaisonSheet, sheet).state) == ("withdrawn", "withdrawn")
    (mail,) = [m for m in outbox(app, done.case_id) if m.entity == "liaison"]
    assert (mail.template, mail.recipient_role) == ("liaison/withdrawn", "partner")
    draft = add_sheet(app)
    app.engine.fire_sheet(draft, "withdraw", PERSON)
    # A draft never reached its partner: nobody is told about it.
    assert [m for m in outbox(app, row(app, LiaisonSheet, draft).case_id)] == []


# -- what it stops ------------------------------------------------------------------------------


def test_after_a_withdrawal_only_the_partners_stop_mails_ever_leave(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    app, engine = mail_app, mail_app.engine
    add_user(app)
    partners = {}
    for name, address in (("a", "accueil@adlj.example"), ("b", "contact@ml53.example")):
        partners[name] = add_partner(app, ("housing",), name=f"Partenaire {name}")
        add_contact(app, partners[name], address, name=f"Contact {name}")
        add_contact(app, partners[name], f"chef@{address.split('@')[1]}", role="manager")
    partners["c"] = add_partner(app, ("housing",), name="Partenaire c")
    add_contact(app, partners["c"], "accueil@cfa.example")

    case_id = add_case(app, state="consented", **NAME)
    engine.fire_case(case_id, "start_follow_up", TIMER)  # the monthly cycle's timer is set
    acknowledged = add_sheet(app, case_id=case_id, partner_id=partners["a"])
    engine.fire_sheet(acknowledged, "send", PERSON)
    MailSender(app).drain_sync()  # the partner has the sheet (and its links)
    engine.fire_sheet(acknowledged, "acknowledge", PARTNER)  # the feedback's timers are set
    # Still queued when consent is withdrawn: the next cycle's mail, another sheet's.
    engine.fire_case(case_id, "next_cycle", TIMER)
    queued_sheet = add_sheet(app, case_id=case_id, partner_id=partners["b"])
    engine.fire_sheet(queued_sheet, "send", PERSON)
    draft = add_sheet(app, case_id=case_id, partner_id=partners["c"])
    closed = add_sheet(app, case_id=case_id, partner_id=partners["c"], state="closed")
    # Another young person's follow-up goes on as before.
    other = add_case(app, state="consented", first_names="Anaïs", birth_name="Orain")
    engine.fire_case(other, "start_follow_up", TIMER)
    before = len(catcher.wait_for(2))
    assert len(about(list(catcher.messages), "Léna")) == 2  # the cycle's mail and the sheet
    working = [m for m in outbox(app, case_id) if m.status == "queued"]
    assert {m.template for m in working} == {"case/follow_up_due", "liaison/sheet"}
    assert any(t.status == "pending" for t in timers_of(app, case_id))
    signer = LinkSigner.from_settings(app.settings.mail)
    request = LinkRequest("case", case_id, case_id, "record_contact", 3, "x@ml.example", "person")
    with app.db.transaction() as conn:
        (token,) = signer.create(conn, [request], clock.now())

    engine.fire_case(case_id, "withdraw_consent", PERSON, **WITHDRAW)

    sheets = {s: row(app, LiaisonSheet, s).state for s in (acknowledged, queued_sheet, draft)}
    assert sheets == dict.fromkeys(sheets, "withdrawn")
    assert row(app, LiaisonSheet, closed).state == "closed"
    mails = outbox(app, case_id)
    assert {(m.template, m.entity_id) for m in mails if m.status == "queued"} == {
        ("liaison/withdrawn", acknowledged),
        ("liaison/withdrawn", queued_sheet),
    }
    cancelled = [m for m in mails if m.status == "cancelled"]
    assert {m.template for m in cancelled} == {"case/follow_up_due", "liaison/sheet"}
    assert all(m.message is None for m in cancelled)
    assert [t for t in timers_of(app, case_id) if t.status == "pending"] == []
    with app.db.read() as conn:
        links = list(
            conn.execute(select(ActionLink.__table__).where(ActionLink.case_id == case_id))
        )
    assert links
    assert all(link.revoked_at is not None for link in links if link.used_at is None)
    page = TestClient(
        Starlette(routes=LinkPages(app).routes()), base_url="https://casework.example"
    )
    refused = page.get(f"/l/{token}")
    assert refused.status_code == 410
    assert "Lien révoqué" in html.unescape(refused.text)
    (request,) = [e for e in requests(app) if e.trigger == "consent_withdrawal"]
    assert request.data["sheets"] == sorted([acknowledged, queued_sheet, draft])
    assert (request.data["mails_cancelled"], request.data["links_revoked"]) == (2, len(links))

    # Two years go by, a day at a time for two months then a week at a time: timers swept,
    # digests made, mail sent.
    fired_before = {e.id for e in events(app) if e.actor_kind == "timer"}
    for day in range(60 + 95):
        clock.advance(timedelta(days=1 if day < 60 else 7))
        app.sweeper.drain(clock.now())
        DigestMaker(app).run(clock.now())
        MailSender(app).drain_sync()
    after = list(catcher.messages)[before:]
    stops = about(after, "Léna")
    assert sorted(m.recipients[0] for m in stops) == [
        "accueil@adlj.example",
        "contact@ml53.example",
    ]
    for mail in stops:
        assert str(mail.message["Subject"]).startswith("Fiche de liaison n° ")
        assert "annulée : consentement retiré" in str(mail.message["Subject"])
    # The other case's mails went on (its cycles, the digest).
    assert about(after, "Anaïs")
    timer_events = [e for e in events(app) if e.actor_kind == "timer" and e.id not in fired_before]
    assert timer_events
    assert all(e.case_id != case_id for e in timer_events)
    assert all(m.status != "queued" for m in outbox(app, case_id))
    assert row(app, Case, case_id).state == "consent_withdrawn"


def test_the_stop_mail_reads_as_french_and_says_no_more_than_the_referral(
    mail_app: App, catcher: MailCatcher
) -> None:
    app = mail_app
    add_user(app)
    partner = add_partner(app, ("housing",), name="ADLJ 53 — logement des jeunes")
    add_contact(app, partner, "accueil@adlj.example", name="Inès Aubry")
    case_id = add_case(
        app, state="follow_up", cycle=2, first_names="Anaïs Élodie", birth_name="Orain"
    )
    sheet = add_sheet(app, case_id=case_id, partner_id=partner)
    app.engine.fire_sheet(sheet, "send", PERSON)
    MailSender(app).drain_sync()
    app.engine.fire_case(case_id, "withdraw_consent", PERSON, **WITHDRAW)
    MailSender(app).drain_sync()
    mail = catcher.wait_for(2)[-1]
    subject, plain = str(mail.message["Subject"]), mail.part("plain")
    text = "\n".join((subject, plain, mail.part("html")))
    assert subject == f"Fiche de liaison n° {sheet} annulée : consentement retiré"
    assert (
        f"La fiche de liaison n° {sheet} que nous vous avons adressée le 01/09/2026 pour "
        "Anaïs ORAIN est annulée : l'intéressé(e) a retiré son consentement"
    ) in plain
    assert "mettre fin à toute action engagée" in plain
    assert "au-delà de ce que la loi vous impose" in plain
    assert faults(plain) == []
    assert faults(subject) == []
    # Nothing about the person but what names the referral: no birth date, phone, need, reason.
    for detail in ("04/05/2000", "Cherche un logement", "logement", "accompagnée", "https://"):
        assert detail not in text, detail
    assert mail.message["Reply-To"] is None  # nothing to answer


# -- what it keeps -------------------------------------------------------------------------------


def test_the_report_counts_a_withdrawn_case_in_its_group(app: App) -> None:
    """Intention to treat: a test-group case whose consent was withdrawn stays in the test
    group's figures, rupture included; the report does not stumble on the new state."""
    people = [Person("test") for _ in range(4)] + [Person("control") for _ in range(4)]
    people[0] = Person("test", rupture=date(2026, 10, 15))
    ids = add_cohort(app, people)
    scope = Scope(COHORT, date(2027, 6, 30))
    before = build_report(app, scope)
    app.engine.fire_case(ids[1], "withdraw_consent", PERSON, **WITHDRAW)
    app.engine.fire_case(ids[0], "withdraw_consent", PERSON, **WITHDRAW)
    after = build_report(app, scope)
    assert [t.blocks for t in after.tables if t.number in (1, 2)] == [
        t.blocks for t in before.tables if t.number in (1, 2)
    ]


def test_the_command_line_fires_it_and_the_history_says_so(app: App, db_url: str) -> None:
    add_user(app)
    case_id = add_case(app, state="monitoring", cycle=6)
    run = CliRunner().invoke(
        main,
        [
            "--database",
            db_url,
            "case",
            "fire",
            str(case_id),
            "withdraw_consent",
            "-d",
            "withdrawn_on=01/09/2026",
            "--as",
            "referente",
        ],
        catch_exceptions=False,
    )
    assert run.exit_code == 0, run.output
    assert (
        f"Dossier {case_id} : Retrait du consentement — Veille jusqu'à la fin du contrat → "
        "Consentement retiré."
    ) in run.output
    history = CliRunner().invoke(main, ["--database", db_url, "history", str(case_id)])
    assert history.exit_code == 0, history.output
    assert "Retrait du consentement" in history.output
    assert "Date du retrait : 01/09/2026" in history.output
    with app.db.read() as conn:
        state = conn.execute(select(Case.state).where(Case.id == case_id)).scalar_one()
        recorded = conn.execute(
            select(Event.trigger).where(Event.entity == "person").order_by(Event.id)
        ).all()
    assert state == "consent_withdrawn"
    assert [r.trigger for r in recorded] == ["consent_withdrawal"]


def test_the_case_page_offers_it_like_any_other_action(app: App) -> None:
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    client = signed_in(app, "claire")
    page = client.get(f"/dossiers/{case_id}")
    assert 'id="action-withdraw_consent"' in page.text
    assert (
        '<label for="action-withdraw_consent-withdrawn_on">Date du retrait *</label>' in page.text
    )
    sent = post_action(
        client, case_id, page, "action-withdraw_consent", withdrawn_on="2026-09-01", reason=""
    )
    assert sent.status_code == 303, text_of(sent)
    after = client.get(sent.headers["location"])
    assert "Consentement retiré" in text_of(after)
    assert 'id="action-' not in after.text  # a final state: nothing more to do
    assert row(app, Case, case_id).state == "consent_withdrawn"


def test_a_mail_the_relay_took_as_consent_was_withdrawn_is_recorded_sent(app: App) -> None:
    """The race the withdrawal cannot prevent (a sender handing the mail to the relay at that
    very moment): the record must say the mail left, not that it was cancelled."""
    from casework.notify.outbox import Outbox
    from casework.privacy.withdrawal import cancel_queued_mails

    case_id = add_case(app, state="consented", **NAME)
    app.engine.fire_case(case_id, "start_follow_up", TIMER)
    (mail,) = [m for m in outbox(app, case_id) if m.status == "queued"]
    now = app.clock.now()
    with app.db.transaction() as conn:  # the withdrawal's, while the relay takes the mail
        assert cancel_queued_mails(conn, case_id, now) == 1
    with app.db.transaction() as conn:  # the sender's, once the relay said yes
        Outbox.mark_sent(conn, [mail.id], now)
    (after,) = outbox(app, case_id)
    assert (after.status, after.sent_at is not None) == ("sent", True)
