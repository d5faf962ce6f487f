"""Every allowed and every refused transition of the case workflow, on both backends.

The table below is the specification, written by hand: a transition added to case.yaml without
a line here fails `test_table_covers_every_allowed_transition`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from casework.actors import Actor
from casework.app import App
from casework.errors import InvalidTransitionData, TransitionRefused
from casework.models import Case, ContactLog, Contract, LiaisonSheet
from tests.factories import add_case, add_partner, add_user, events, row

PERSON, TIMER, IMPORT, SYSTEM = (
    Actor.person("referente"),
    Actor.timer(),
    Actor.importer("cma.csv"),
    Actor.system(),
)
RUPTURE = {"rupture_date": "2026-08-30", "initiative": "employer", "reason": "désaccord"}
CONTACT = {"channel": "phone", "duration_min": 20, "difficulties": "housing,mobility"}
REFER = {
    "partner_id": "PARTNER",
    "need_category": "housing",
    "description": "Logement",
    "consent": True,
}
EXIT = {"exit_kind": "training"}
REASSIGN = {"to": "SUCCESSOR", "reason": "congé"}
WITHDRAW = {"withdrawn_on": "2026-09-01", "reason": "ne souhaite plus être suivi"}
ASSESS = {"situation": "same_employer", "diploma": "pending", "satisfaction": 4}

# (state, group, cycle, trigger, actor, data, expected state)
ALLOWED: list[tuple[str, str, int, str, Actor, dict[str, Any], str]] = [
    ("identified", "test", 0, "ask_consent", SYSTEM, {}, "consent_asked"),
    ("identified", "control", 0, "track_outcomes", SYSTEM, {}, "outcome_tracking"),
    ("identified", "test", 0, "close", PERSON, {"reason": "identifié par erreur"}, "closed"),
    ("identified", "test", 0, "rupture", IMPORT, RUPTURE, "rupture"),
    ("identified", "test", 0, "record_contact", PERSON, CONTACT, "identified"),
    ("consent_asked", "test", 0, "record_contact", PERSON, CONTACT, "consent_asked"),
    ("consent_reminded", "test", 0, "record_contact", PERSON, CONTACT, "consent_reminded"),
    ("identified", "control", 0, "rupture", IMPORT, RUPTURE, "rupture_recorded"),
    ("consent_asked", "test", 0, "remind_consent", TIMER, {}, "consent_reminded"),
    ("consent_asked", "test", 0, "give_consent", PERSON, {"given_by": "apprentice"}, "consented"),
    ("consent_asked", "test", 0, "decline", PERSON, {"reason": "pas intéressé"}, "declined"),
    ("consent_asked", "test", 0, "close", PERSON, {"reason": "déménagé"}, "closed"),
    ("consent_asked", "test", 0, "rupture", IMPORT, RUPTURE, "rupture"),
    ("consent_reminded", "test", 0, "give_consent", PERSON, {"given_by": "both"}, "consented"),
    ("consent_reminded", "test", 0, "decline", PERSON, {}, "declined"),
    ("consent_reminded", "test", 0, "close", PERSON, {"reason": "injoignable"}, "closed"),
    ("consent_reminded", "test", 0, "rupture", PERSON, RUPTURE, "rupture"),
    ("consented", "test", 0, "start_follow_up", TIMER, {}, "follow_up"),
    ("consented", "test", 0, "record_contact", PERSON, CONTACT, "consented"),
    ("consented", "test", 0, "refer", PERSON, REFER, "consented"),
    ("consented", "test", 0, "contract_ended", TIMER, {}, "end_assessment"),
    ("consented", "test", 0, "rupture", IMPORT, RUPTURE, "rupture"),
    ("declined", "test", 0, "rupture", IMPORT, RUPTURE, "rupture_recorded"),
    ("declined", "test", 0, "contract_ended", TIMER, {}, "closed"),
    ("follow_up", "test", 1, "next_cycle", TIMER, {}, "follow_up"),
    ("follow_up", "test", 6, "next_cycle", TIMER, {}, "monitoring"),
    ("follow_up", "test", 3, "record_contact", PERSON, CONTACT, "follow_up"),
    ("follow_up", "test", 3, "refer", PERSON, REFER, "follow_up"),
    ("follow_up", "test", 3, "contract_ended", IMPORT, {}, "end_assessment"),
    ("follow_up", "test", 3, "rupture", PERSON, RUPTURE, "rupture"),
    ("monitoring", "test", 6, "one_year_assessment_due", TIMER, {}, "monitoring"),
    ("monitoring", "test", 6, "record_contact", PERSON, CONTACT, "monitoring"),
    ("monitoring", "test", 6, "refer", PERSON, REFER, "monitoring"),
    ("monitoring", "test", 6, "contract_ended", TIMER, {}, "end_assessment"),
    ("monitoring", "test", 6, "record_assessment", PERSON, ASSESS, "monitoring"),
    ("end_assessment", "test", 6, "record_assessment", PERSON, ASSESS, "closed"),
    ("end_assessment", "test", 6, "record_contact", PERSON, CONTACT, "end_assessment"),
    ("end_assessment", "test", 6, "assessment_lapsed", TIMER, {}, "closed"),
    ("monitoring", "test", 6, "rupture", IMPORT, RUPTURE, "rupture"),
    ("rupture", "test", 2, "start_reorientation", PERSON, {}, "reorientation"),
    ("rupture", "test", 2, "record_contact", PERSON, CONTACT, "rupture"),
    ("rupture", "test", 2, "refer", PERSON, REFER, "rupture"),
    ("rupture", "test", 2, "exit_without_solution", PERSON, {}, "exit_without_solution"),
    ("rupture", "test", 2, "lose_contact", PERSON, {}, "lost_contact"),
    ("reorientation", "test", 2, "positive_exit", PERSON, EXIT, "positive_exit"),
    ("reorientation", "test", 2, "record_contact", PERSON, CONTACT, "reorientation"),
    ("reorientation", "test", 2, "refer", PERSON, REFER, "reorientation"),
    ("reorientation", "test", 2, "exit_without_solution", PERSON, {}, "exit_without_solution"),
    ("reorientation", "test", 2, "lose_contact", PERSON, {}, "lost_contact"),
    ("outcome_tracking", "control", 0, "rupture", IMPORT, RUPTURE, "rupture_recorded"),
    ("outcome_tracking", "control", 0, "contract_ended", TIMER, {}, "closed"),
    # A handover, from every state but the final ones.
    ("identified", "test", 0, "reassign", PERSON, REASSIGN, "identified"),
    ("consent_asked", "test", 0, "reassign", PERSON, REASSIGN, "consent_asked"),
    ("consent_reminded", "test", 0, "reassign", PERSON, REASSIGN, "consent_reminded"),
    ("consented", "test", 0, "reassign", PERSON, REASSIGN, "consented"),
    ("declined", "test", 0, "reassign", PERSON, REASSIGN, "declined"),
    ("follow_up", "test", 3, "reassign", PERSON, REASSIGN, "follow_up"),
    ("monitoring", "test", 6, "reassign", PERSON, REASSIGN, "monitoring"),
    ("end_assessment", "test", 6, "reassign", PERSON, REASSIGN, "end_assessment"),
    ("rupture", "test", 2, "reassign", PERSON, REASSIGN, "rupture"),
    ("reorientation", "test", 2, "reassign", PERSON, REASSIGN, "reorientation"),
    ("outcome_tracking", "control", 0, "reassign", PERSON, REASSIGN, "outcome_tracking"),
    # Consent withdrawn, from every state the young person is followed in.
    ("consented", "test", 0, "withdraw_consent", PERSON, WITHDRAW, "consent_withdrawn"),
    ("follow_up", "test", 3, "withdraw_consent", PERSON, WITHDRAW, "consent_withdrawn"),
    ("monitoring", "test", 6, "withdraw_consent", PERSON, WITHDRAW, "consent_withdrawn"),
    ("end_assessment", "test", 6, "withdraw_consent", PERSON, WITHDRAW, "consent_withdrawn"),
    ("rupture", "test", 2, "withdraw_consent", PERSON, WITHDRAW, "consent_withdrawn"),
    ("reorientation", "test", 2, "withdraw_consent", PERSON, WITHDRAW, "consent_withdrawn"),
]


def _data(app: App, data: dict[str, Any]) -> dict[str, Any]:
    if data.get("partner_id") == "PARTNER":
        return {**data, "partner_id": add_partner(app, ("housing",))}
    if data.get("to") == "SUCCESSOR":
        add_user(app, login="paul", email="paul@ml.example")
        return {**data, "to": "paul"}
    return data


def test_table_covers_every_allowed_transition(app: App) -> None:
    definition = app.workflows.latest("case").definition
    declared = {(s, t.trigger) for t in definition.transitions for s in t.sources}
    tabled = {(state, trigger) for state, _g, _c, trigger, *_ in ALLOWED}
    assert tabled == declared


@pytest.mark.parametrize(
    ("state", "group", "cycle", "trigger", "actor", "data", "expected"),
    ALLOWED,
    ids=[f"{a[0]}-{a[3]}-{a[1]}-c{a[2]}" for a in ALLOWED],
)
def test_allowed_transition(
    app: App,
    state: str,
    group: str,
    cycle: int,
    trigger: str,
    actor: Actor,
    data: dict[str, Any],
    expected: str,
) -> None:
    # The one-year assessment needs a contract a year old.
    person = {"start": date(2025, 8, 1)} if trigger == "record_assessment" else {}
    case_id = add_case(app, group=group, state=state, cycle=cycle, **person)
    before = row(app, Case, case_id)
    done = app.engine.fire_case(case_id, trigger, actor, **_data(app, data))
    after = row(app, Case, case_id)
    assert (done.source, done.dest, done.version) == (state, expected, before.version + 1)
    assert after.state == expected
    assert after.version == before.version + 1
    last = [e for e in events(app) if e.entity == "case" and e.entity_id == case_id][-1]
    assert (last.trigger, last.from_state, last.to_state) == (trigger, state, expected)
    assert (last.actor_kind, last.actor) == (actor.kind.value, actor.id)
    assert last.case_id == case_id
    if expected != state:
        assert after.state_since == app.clock.now()


@pytest.mark.parametrize(
    "state",
    [
        "identified",
        "consent_asked",
        "consent_reminded",
        "consented",
        "declined",
        "follow_up",
        "monitoring",
        "rupture",
        "reorientation",
        "positive_exit",
        "exit_without_solution",
        "lost_contact",
        "outcome_tracking",
        "rupture_recorded",
        "end_assessment",
        "closed",
        "consent_withdrawn",
    ],
)
def test_every_other_trigger_is_refused(app: App, state: str) -> None:
    definition = app.workflows.latest("case").definition
    assert state in definition.states
    allowed = {t.trigger for t in definition.transitions_from(state)}
    # What a refusal offers a person: only the actions a person may do.
    offered = {t.trigger for t in definition.transitions_from(state) if "person" in t.by}
    case_id = add_case(app, state=state, cycle=2)
    before_events = len(events(app))
    for trigger in sorted(set(definition.triggers) - allowed):
        with pytest.raises(TransitionRefused) as refused:
            app.engine.fire_case(case_id, trigger, PERSON)
        assert refused.value.reason == "state"
        assert set(refused.value.allowed) == offered
        assert refused.value.state == state
    assert row(app, Case, case_id).version == 1
    assert len(events(app)) == before_events


def test_unknown_trigger_is_refused_with_the_allowed_ones(app: App) -> None:
    case_id = add_case(app)
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "teleport", PERSON)
    allowed = ("ask_consent", "close", "reassign", "record_contact", "rupture", "track_outcomes")
    assert refused.value.allowed == allowed
    assert f"Actions possibles : {', '.join(allowed)}." in refused.value.french()


# -- guards -----------------------------------------------------------------------------------


def test_control_group_is_never_asked_for_consent(app: App) -> None:
    case_id = add_case(app, group="control")
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "ask_consent", SYSTEM)
    assert refused.value.reason == "guards"
    assert "groupe témoin" in refused.value.french()
    assert row(app, Case, case_id).state == "identified"


def test_test_group_is_not_tracked_as_control(app: App) -> None:
    case_id = add_case(app, group="test")
    with pytest.raises(TransitionRefused):
        app.engine.fire_case(case_id, "track_outcomes", SYSTEM)


def test_cycles_count_up_to_the_configured_number_then_monitoring(app: App) -> None:
    case_id = add_case(app, state="consented")
    app.engine.fire_case(case_id, "start_follow_up", TIMER)
    seen = [row(app, Case, case_id).cycle]
    for _ in range(5):
        app.engine.fire_case(case_id, "next_cycle", TIMER)
        seen.append(row(app, Case, case_id).cycle)
    assert seen == [1, 2, 3, 4, 5, 6]
    assert row(app, Case, case_id).state == "follow_up"
    app.engine.fire_case(case_id, "next_cycle", TIMER)
    assert row(app, Case, case_id).state == "monitoring"
    noted = [e.data.get("cycle") for e in events(app, "case", case_id) if e.trigger == "next_cycle"]
    assert noted == [2, 3, 4, 5, 6, None]


def test_a_minor_consents_only_with_the_guardian(app: App) -> None:
    case_id = add_case(app, state="consent_asked", birth_date=date(2010, 3, 4))
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "give_consent", PERSON, given_by="apprentice")
    assert "représentant légal" in refused.value.french()
    assert row(app, Case, case_id).state == "consent_asked"
    app.engine.fire_case(case_id, "give_consent", PERSON, given_by="both", guardian_agreed="oui")
    assert row(app, Case, case_id).state == "consented"


def test_an_adult_consents_alone(app: App) -> None:
    case_id = add_case(app, state="consent_asked", birth_date=date(2006, 1, 1))
    app.engine.fire_case(case_id, "give_consent", PERSON, given_by="apprentice")
    assert row(app, Case, case_id).state == "consented"


def test_a_value_for_a_field_that_does_not_apply_is_refused(app: App) -> None:
    """The guardian's agreement is asked for a minor only (`when: beneficiary.minor`): given for
    an adult, it is refused, naming the field and when it applies; nothing is written."""
    case_id = add_case(app, state="consent_asked", birth_date=date(2006, 1, 1))
    with pytest.raises(InvalidTransitionData) as refused:
        app.engine.fire_case(
            case_id, "give_consent", PERSON, given_by="both", guardian_agreed="oui"
        )
    assert refused.value.field == "guardian_agreed"
    assert refused.value.reason == "ce champ ne s'applique que si l'apprenti(e) est mineur(e)"
    assert (row(app, Case, case_id).state, events(app, "case", case_id)[-1].trigger) == (
        "consent_asked",
        None,
    )


def test_referral_goes_only_to_a_partner_handling_the_need(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=2)
    housing = add_partner(app, ("housing",))
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(
            case_id, "refer", PERSON, **{**REFER, "partner_id": housing, "need_category": "health"}
        )
    assert "charte" in refused.value.french()
    with pytest.raises(TransitionRefused) as unknown:
        app.engine.fire_case(case_id, "refer", PERSON, **{**REFER, "partner_id": 9999})
    assert "inconnu" in unknown.value.french()
    assert events(app, "liaison", 1) == []


def test_timer_only_and_person_only_transitions(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=2)
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "next_cycle", PERSON)
    assert refused.value.reason == "actor"
    assert "une personne" in refused.value.french()
    with pytest.raises(TransitionRefused):
        app.engine.fire_case(case_id, "record_contact", TIMER, **CONTACT)
    assert row(app, Case, case_id).version == 1


# -- handlers ---------------------------------------------------------------------------------


def test_record_contact_writes_the_contact_log(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=3)
    app.engine.fire_case(case_id, "record_contact", PERSON, **CONTACT, notes="Tout va bien.")
    with app.db.read() as conn:
        log = conn.execute(ContactLog.__table__.select()).one()
    assert (log.case_id, log.channel, log.duration_min) == (case_id, "phone", 20)
    assert log.difficulties == ["housing", "mobility"]
    assert (log.cycle, log.state, log.phase, log.author, log.at) == (
        3,
        "follow_up",
        "follow_up",
        "referente",
        app.clock.now(),
    )


def test_rupture_is_written_on_the_contract(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=3)
    app.engine.fire_case(case_id, "rupture", IMPORT, **RUPTURE)
    contract = row(app, Contract, row(app, Case, case_id).contract_id)
    assert contract.rupture_date == date(2026, 8, 30)
    assert (contract.rupture_initiative, contract.rupture_reason) == ("employer", "désaccord")


def test_refer_opens_a_draft_liaison_sheet_in_the_same_transaction(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=3)
    partner_id = add_partner(app, ("housing",))
    app.engine.fire_case(case_id, "refer", PERSON, **{**REFER, "partner_id": partner_id})
    with app.db.read() as conn:
        sheet = conn.execute(LiaisonSheet.__table__.select()).one()
    assert (sheet.case_id, sheet.partner_id, sheet.state, sheet.consent) == (
        case_id,
        partner_id,
        "draft",
        True,
    )
    created = events(app, "liaison", sheet.id)
    assert [(e.to_state, e.case_id) for e in created] == [("draft", case_id)]


@pytest.mark.parametrize(
    ("trigger", "data", "exit_kind"),
    [
        ("positive_exit", EXIT, "training"),
        ("exit_without_solution", {}, "without_solution"),
        ("lose_contact", {}, "lost_contact"),
    ],
)
def test_exits_record_their_kind(
    app: App, trigger: str, data: dict[str, Any], exit_kind: str
) -> None:
    case_id = add_case(app, state="reorientation")
    app.engine.fire_case(case_id, trigger, PERSON, **data)
    assert row(app, Case, case_id).exit_kind == exit_kind


# -- data given with a transition -------------------------------------------------------------


def test_a_value_not_among_the_choices_is_refused_with_their_labels(app: App) -> None:
    """What a form shows is the labels: the reason names them, never a Python list."""
    case_id = add_case(app, state="follow_up", cycle=1)
    with pytest.raises(InvalidTransitionData) as bad:
        app.engine.fire_case(
            case_id, "record_contact", PERSON, channel="phone", duration_min=5, difficulties="x"
        )
    assert bad.value.reason == (
        "« x » inconnu ; valeurs possibles : logement, argent et budget, santé, mobilité et "
        "transport, situation familiale, relations avec l'employeur, motivation, "
        "difficultés en formation, droits et démarches juridiques, autre"
    )


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"duration_min": 10}, "channel", "obligatoire"),
        # The command line types codes: the message gives them with their labels.
        (
            {"channel": "fax", "duration_min": 10},
            "channel",
            "valeurs possibles : phone (téléphone), sms (SMS), email (courriel)",
        ),
        ({"channel": "phone", "duration_min": "dix"}, "duration_min", "entier"),
        ({"channel": "phone", "duration_min": 900}, "duration_min", "au plus 600"),
        ({"channel": "phone", "duration_min": 5, "mood": "bon"}, "mood", "champ inconnu"),
        (
            {"channel": "phone", "duration_min": 5, "difficulties": "housing,dragons"},
            "difficulties",
            "« dragons » inconnu ; valeurs possibles : housing (logement)",
        ),
    ],
)
def test_bad_data_is_refused_before_anything_is_written(
    app: App, data: dict[str, Any], field: str, reason: str
) -> None:
    case_id = add_case(app, state="follow_up", cycle=1)
    with pytest.raises(InvalidTransitionData) as bad:
        app.engine.fire_case(case_id, "record_contact", PERSON, **data)
    assert bad.value.field == field
    assert reason in bad.value.french()
    assert row(app, Case, case_id).version == 1
