"""What the evaluation captures: assessments (through a link and `case fire`), each contact's
phase of the counsellor's work, and migration 0019's back-fill — on both databases."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.database import Database
from casework.demo.mailcatcher import MailCatcher
from casework.errors import InvalidTransitionData, TransitionRefused
from casework.migrate import downgrade, upgrade
from casework.models import Case
from casework.models.tables import ASSESSMENTS, CONTACT_LOGS
from casework.notify.sender import MailSender
from casework.settings import DatabaseSettings
from tests.factories import add_case, add_user, events, row
from tests.integration.test_action_links import client_for, links_of, post

PERSON, TIMER = Actor.person("referente"), Actor.timer()
CONTACT = {"channel": "phone", "duration_min": 20}
ASSESS = {"situation": "other_employer", "diploma": "obtained", "satisfaction": 5}
A_YEAR_AGO = date(2025, 8, 1)  # the tests' clock is on 1 September 2026


def assessments(app: App) -> list[tuple[int, str, str, str, int | None]]:
    with app.db.read() as conn:
        return [
            tuple(r)  # type: ignore[misc]
            for r in conn.execute(
                select(
                    ASSESSMENTS.c.case_id,
                    ASSESSMENTS.c.moment,
                    ASSESSMENTS.c.situation,
                    ASSESSMENTS.c.diploma,
                    ASSESSMENTS.c.satisfaction,
                ).order_by(ASSESSMENTS.c.id)
            )
        ]


# -- phases --------------------------------------------------------------------------------------


def test_each_contact_is_stored_with_its_state_and_phase(app: App) -> None:
    """Time per phase is a GROUP BY: the phase comes from the file's `phases:`."""
    by_state = {
        "consent_asked": 15,
        "consent_reminded": 10,
        "follow_up": 30,
        "monitoring": 20,
        "rupture": 40,
        "reorientation": 25,
    }
    for state, minutes in by_state.items():
        case_id = add_case(app, state=state, cycle=2)
        app.engine.fire_case(
            case_id, "record_contact", PERSON, channel="phone", duration_min=minutes
        )
    with app.db.read() as conn:
        states = dict(conn.execute(select(CONTACT_LOGS.c.state, CONTACT_LOGS.c.phase)).all())
        per_phase = dict(
            conn.execute(
                select(CONTACT_LOGS.c.phase, func.sum(CONTACT_LOGS.c.duration_min)).group_by(
                    CONTACT_LOGS.c.phase
                )
            ).all()
        )
    assert states == {
        "consent_asked": "consent",
        "consent_reminded": "consent",
        "follow_up": "follow_up",
        "monitoring": "follow_up",
        "rupture": "rupture",
        "reorientation": "rupture",
    }
    assert per_phase == {"consent": 25, "follow_up": 50, "rupture": 65}
    phases = app.workflows.latest("case").definition.phases
    assert {p: d.label for p, d in phases.items()}["consent"] == "Consentement"


def test_a_programme_has_its_own_phases(app: App) -> None:
    case_id = add_case(app, state="dropped_out", workflow="pre_apprenticeship")
    app.engine.fire_case(case_id, "record_contact", PERSON, **CONTACT)
    with app.db.read() as conn:
        assert conn.execute(select(CONTACT_LOGS.c.state, CONTACT_LOGS.c.phase)).one() == (
            "dropped_out",
            "rupture",
        )


def test_a_control_case_gets_no_contact_even_while_identified(app: App) -> None:
    case_id = add_case(app, group="control", referent=None)
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "record_contact", PERSON, **CONTACT)
    assert "groupe témoin" in refused.value.french()


def test_the_migration_back_fills_state_and_phase(app: App, db_url: str) -> None:
    """Contacts recorded before 0019: the state from the old phase column, else from history."""
    followed = add_case(app, state="consent_asked")
    app.engine.fire_case(followed, "record_contact", PERSON, **CONTACT)  # before: no state
    reoriented = add_case(app, state="rupture")
    app.engine.fire_case(reoriented, "start_reorientation", PERSON)
    db = Database(DatabaseSettings(url=db_url))
    try:
        downgrade(db, "0018")
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT phase FROM contact_logs")).scalar() == (
                "consent_asked"
            )
            # A contact with no phase (say, written by hand): its state comes from history.
            conn.execute(
                text(
                    "INSERT INTO contact_logs (case_id, at, channel, duration_min, difficulties,"
                    " author, cycle, phase) SELECT :case, MAX(at), 'phone', 5, '[]', 'x', 0, NULL"
                    " FROM events WHERE case_id = :case"
                ),
                {"case": reoriented},
            )
        upgrade(db)
        with db.engine.connect() as conn:
            found = conn.execute(
                text("SELECT case_id, state, phase FROM contact_logs ORDER BY id")
            ).all()
    finally:
        db.engine.dispose()
    assert [tuple(r) for r in found] == [
        (followed, "consent_asked", "consent"),
        (reoriented, "reorientation", "rupture"),
    ]


# -- assessments ---------------------------------------------------------------------------------


def test_the_one_year_assessment_through_case_fire(app: App, db_url: str) -> None:
    add_user(app)
    case_id = add_case(app, state="monitoring", cycle=6, start=A_YEAR_AGO)
    args = ["--database", db_url, "case", "fire", str(case_id), "record_assessment"]
    data = ["-d", "situation=same_employer", "-d", "diploma=pending", "-d", "satisfaction=4"]
    data += ["-d", "comments=Très content de son employeur.", "--as", "referente"]
    done = CliRunner().invoke(main, [*args, *data])
    assert done.exit_code == 0, done.output
    assert assessments(app) == [(case_id, "one_year", "same_employer", "pending", 4)]
    assert row(app, Case, case_id).state == "monitoring"
    again = CliRunner().invoke(main, [*args, *data])
    assert again.exit_code == 1
    assert "le bilan à un an est déjà enregistré" in again.output
    assert len(assessments(app)) == 1


def test_the_one_year_assessment_waits_for_a_year_of_contract(app: App) -> None:
    case_id = add_case(app, state="monitoring", cycle=6, start=date(2026, 3, 2))
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "record_assessment", PERSON, **ASSESS)
    assert "à partir du 02/03/2027, un an après le début du contrat" in refused.value.french()
    assert assessments(app) == []


def test_a_satisfaction_outside_one_to_five_is_refused(app: App) -> None:
    case_id = add_case(app, state="end_assessment", cycle=6)
    with pytest.raises(InvalidTransitionData) as refused:
        app.engine.fire_case(case_id, "record_assessment", PERSON, **{**ASSESS, "satisfaction": 6})
    assert "« satisfaction » = 6 : au plus 5" in refused.value.french()
    assert assessments(app) == []


def test_the_contract_end_assessment_through_the_mails_link(
    mail_app: App, catcher: MailCatcher
) -> None:
    """The contract ends: the counsellor's mail links to the assessment, which closes the case."""
    add_user(mail_app)
    case_id = add_case(mail_app, state="monitoring", cycle=6)
    mail_app.engine.fire_case(case_id, "contract_ended", TIMER)
    assert row(mail_app, Case, case_id).state == "end_assessment"
    MailSender(mail_app).drain_sync()
    (caught,) = catcher.wait_for(1)
    assert "Le bilan de fin de contrat" in caught.part("plain")
    links = links_of(caught, mail_app)
    assert set(links) == {"record_assessment"}
    client = client_for(mail_app)
    page = client.get(links["record_assessment"])
    assert "en contrat chez un autre employeur" in page.text
    assert "résultat en attente" in page.text
    done = post(
        client,
        links["record_assessment"],
        situation="other_employer",
        diploma="obtained",
        satisfaction="5",
        comments="",
    )
    assert done.status_code == 200  # type: ignore[attr-defined]
    assert assessments(mail_app) == [(case_id, "contract_end", "other_employer", "obtained", 5)]
    assert row(mail_app, Case, case_id).state == "closed"
    last = events(mail_app, "case", case_id)[-1]
    assert (last.trigger, last.data["moment"]) == ("record_assessment", "contract_end")


def test_an_end_assessment_not_made_closes_the_case_after_three_months(app: App) -> None:
    case_id = add_case(app, state="monitoring", cycle=6)
    app.engine.fire_case(case_id, "contract_ended", TIMER)
    app.engine.fire_case(case_id, "assessment_lapsed", TIMER)
    assert row(app, Case, case_id).state == "closed"
    assert assessments(app) == []
