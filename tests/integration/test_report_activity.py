"""Tables 4 to 6 of the report: after a rupture, the follow-up's activity, the partners — every
count of a small cohort made by hand, and the time to a positive exit against lifelines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from lifelines import KaplanMeierFitter
from sqlalchemy import insert, update

from casework.app import App
from casework.evaluation.format import Num, Pct
from casework.evaluation.model import Scope
from casework.evaluation.report import build_report
from casework.models import ContactLog, Event, LiaisonSheet
from tests.factories import add_partner, add_sheet
from tests.integration.test_report import block, row, table
from tests.report_cohort import COHORT, Person, add_cohort

CUTOFF = date(2027, 6, 30)
RUPTURE = date(2026, 11, 2)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def after(days: int) -> datetime:
    return at(RUPTURE + timedelta(days=days))


def event(case_id: int, trigger: str, when: datetime, entity: str = "case", entity_id: int = 0):
    return {
        "case_id": case_id,
        "entity": entity,
        "entity_id": entity_id or case_id,
        "version": 2,
        "trigger": trigger,
        "actor_kind": "person",
        "actor": "referente",
        "at": when,
        "data": {},
    }


def test_table_4_situations_after_a_rupture_and_time_to_a_positive_exit(app: App) -> None:
    add_cohort(
        app,
        [
            Person(
                "test",
                rupture=RUPTURE,
                state="positive_exit",
                exit_kind="job",
                state_since=after(45),
            ),
            Person(
                "test",
                rupture=RUPTURE,
                state="positive_exit",
                exit_kind="training",
                state_since=after(100),
            ),
            Person("test", rupture=RUPTURE, state="lost_contact", state_since=after(60)),
            Person("test", rupture=RUPTURE, state="reorientation", state_since=after(5)),
            # A positive exit after the cut-off is not known yet: still in progress.
            Person(
                "test",
                rupture=RUPTURE,
                state="positive_exit",
                exit_kind="job",
                state_since=at(date(2027, 8, 1)),
            ),
            Person("control", rupture=RUPTURE),
            Person("test"),
        ],
    )
    report = build_report(app, Scope(COHORT, CUTOFF))
    after_rupture = table(report, 4)
    situations = block(after_rupture, "Situation des jeunes après une rupture")
    assert row(situations, "ruptures")[1:4:2] == [5, 1]
    assert row(situations, "en cours (rupture ou réorientation)")[1:3] == [2, Pct(2 / 5)]
    assert row(situations, "sortie positive : emploi")[1] == 1
    assert row(situations, "sortie positive : formation")[1] == 1
    assert row(situations, "perdu de vue")[1] == 1
    assert row(situations, "sans accompagnement (groupe témoin)")[3] == 1
    censored = (CUTOFF - RUPTURE).days
    fitter = KaplanMeierFitter().fit([45, 100, 60, censored, censored], [1, 1, 0, 0, 0])
    exits = block(
        after_rupture, "Délai de la rupture à une sortie positive (groupe test, Kaplan–Meier)"
    )
    three_months = row(exits, "3 mois")[1].value
    expected = 1 - float(fitter.survival_function_at_times(3 * 30.4375).iloc[0])
    assert three_months == pytest.approx(expected)
    assert after_rupture.figure is not None


def test_table_5_consent_contacts_difficulties_and_referrals(app: App) -> None:
    first, second, third = add_cohort(app, [Person("test"), Person("test"), Person("control")])
    contacts = [
        (first, 1, 30, ["housing", "money"], at(date(2026, 10, 5))),
        (first, 1, 15, ["housing"], at(date(2026, 10, 20))),
        (first, 2, 20, [], at(date(2026, 11, 5))),
        (first, 2, 99, ["health"], at(date(2027, 7, 5))),  # after the cut-off
    ]
    with app.db.transaction() as conn:
        conn.execute(
            insert(Event),
            [
                event(first, "ask_consent", at(date(2026, 9, 2))),
                event(first, "give_consent", at(date(2026, 9, 5))),
                event(second, "ask_consent", at(date(2026, 9, 2))),
                event(second, "decline", at(date(2026, 9, 6))),
            ],
        )
        conn.execute(
            insert(ContactLog),
            [
                {
                    "case_id": case,
                    "at": when,
                    "channel": "phone",
                    "duration_min": minutes,
                    "difficulties": found,
                    "author": "referente",
                    "cycle": cycle,
                    "phase": "follow_up",
                }
                for case, cycle, minutes, found, when in contacts
            ],
        )
    add_sheet(app, case_id=first)  # a draft, never sent: not a need referred
    sent = add_sheet(app, case_id=first)
    with app.db.transaction() as conn:
        conn.execute(
            update(LiaisonSheet)
            .where(LiaisonSheet.id == sent)
            .values(sent_at=at(date(2026, 10, 6)))
        )
    activity = table(build_report(app, Scope(COHORT, CUTOFF)), 5)
    consent = block(activity, "Consentement")
    assert row(consent, "consentement demandé")[1] == 2
    assert row(consent, "consentement recueilli")[1:3] == [1, Pct(0.5)]
    assert row(consent, "accompagnement refusé")[1:3] == [1, Pct(0.5)]
    assert row(consent, "sans réponse à la date d'arrêt")[1] == 0
    made = block(activity, "Contacts avec les jeunes")
    assert row(made, "contacts")[1] == 3
    assert row(made, "minutes par dossier accompagné (moyenne)")[1] == Num(65.0, 0)
    cycles = block(activity, "Contacts par cycle mensuel")
    assert [r[:3] for r in cycles.rows] == [["cycle 1", 2, 1], ["cycle 2", 1, 1]]
    phases = block(activity, "Temps par phase")
    assert phases.rows[0][:3] == ["Suivi mensuel, veille et bilans", 3, 1]
    difficulties = block(activity, "Difficultés repérées lors des contacts")
    assert [r[:3] for r in difficulties.rows] == [["logement", 2, 1], ["argent et budget", 1, 1]]
    referred = block(activity, "Besoins orientés vers un partenaire (fiches de liaison envoyées)")
    assert [r[:3] for r in referred.rows] == [["logement", 1, 1]]
    assert third  # the control case is never counted here


def test_table_5_time_per_phase_groups_by_the_phases_the_workflow_declares(app: App) -> None:
    first, second = add_cohort(app, [Person("test"), Person("test")])
    contacts = [  # (case, phase, minutes)
        (first, "identification", 10),
        (first, "consent", 20),
        (second, "consent", 25),
        (first, "follow_up", 30),
        (second, "follow_up", 45),
        (second, "follow_up", 15),
        (second, "rupture", 60),
        (second, None, 5),  # a state in no phase
    ]
    with app.db.transaction() as conn:
        conn.execute(
            insert(ContactLog),
            [
                {
                    "case_id": case,
                    "at": at(date(2026, 10, 5)),
                    "channel": "phone",
                    "duration_min": minutes,
                    "difficulties": [],
                    "author": "referente",
                    "cycle": 1,
                    "phase": phase,
                }
                for case, phase, minutes in contacts
            ],
        )
    activity = table(build_report(app, Scope(COHORT, CUTOFF)), 5)
    total = sum(minutes for *_, minutes in contacts)
    assert block(activity, "Temps par phase").rows == [
        ["Identification", 1, 1, Num(10 / 60, 1), Pct(10 / total), Num(10.0, 0)],
        ["Consentement", 2, 2, Num(45 / 60, 1), Pct(45 / total), Num(22.5, 0)],
        ["Suivi mensuel, veille et bilans", 3, 2, Num(1.5, 1), Pct(90 / total), Num(30.0, 0)],
        ["Rupture et réorientation", 1, 1, Num(1.0, 1), Pct(60 / total), Num(60.0, 0)],
        ["hors phase", 1, 1, Num(5 / 60, 1), Pct(5 / total), Num(5.0, 0)],
    ]
    said = " ".join(activity.definitions)
    assert "« Identification », « Consentement », « Suivi mensuel, veille et bilans » et" in said


def test_table_6_working_days_against_the_charter(app: App) -> None:
    (case,) = add_cohort(app, [Person("test")])
    partner = add_partner(app, name="ADLJ 53")
    answered, silent = (
        add_sheet(app, case_id=case, partner_id=partner),
        add_sheet(app, case_id=case, partner_id=partner),
    )
    monday = datetime(2027, 3, 1, 9, tzinfo=UTC)
    with app.db.transaction() as conn:
        conn.execute(
            update(LiaisonSheet)
            .where(LiaisonSheet.id == answered)
            .values(
                sent_at=monday,
                acknowledged_at=monday + timedelta(days=3),  # Thursday: 3 days
                feedback_at=datetime(2027, 3, 22, 15, tzinfo=UTC),  # 12 working days after
            )
        )
        conn.execute(update(LiaisonSheet).where(LiaisonSheet.id == silent).values(sent_at=monday))
        conn.execute(
            insert(Event), [event(case, "remind", monday + timedelta(days=5), "liaison", silent)]
        )
    partners = table(build_report(app, Scope(COHORT, CUTOFF)), 6)
    times = block(partners, "Délais de réponse des partenaires")
    (adlj, everyone) = times.rows
    assert adlj[0] == "ADLJ 53 (logement des jeunes)"
    assert adlj[1:] == [2, 1, Num(3.0, 1), Pct(0.5), 1, Num(12.0, 1), Pct(0.0), 1, 0]
    assert everyone[0] == "Ensemble"
    assert everyone[1:] == adlj[1:]
    assert block(partners, "Fiches par partenaire et besoin").rows == [
        ["ADLJ 53 (logement des jeunes)", "logement", 2]
    ]
