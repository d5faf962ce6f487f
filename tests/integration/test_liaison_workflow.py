"""Every allowed and every refused transition of the liaison-sheet workflow, on both backends."""

from __future__ import annotations

from typing import Any

import pytest

from casework.actors import Actor
from casework.app import App
from casework.errors import TransitionRefused
from casework.models import LiaisonSheet
from tests.factories import add_case, add_sheet, events, row

PERSON, PARTNER, TIMER = (
    Actor.person("referente"),
    Actor.partner("accueil@adlj53.example"),
    Actor.timer(),
)
FEEDBACK = {"feedback": "Jeune reçu le 3/09, demande de logement FJT déposée."}

# (state, trigger, actor, data, expected state)
ALLOWED: list[tuple[str, str, Actor, dict[str, Any], str]] = [
    ("draft", "send", PERSON, {}, "sent"),
    ("draft", "cancel", PERSON, {"reason": "le jeune a changé d'avis"}, "cancelled"),
    ("sent", "acknowledge", PARTNER, {}, "acknowledged"),
    ("sent", "give_feedback", PARTNER, FEEDBACK, "feedback_received"),
    ("sent", "remind", TIMER, {}, "sent"),
    ("sent", "escalate", TIMER, {}, "sent"),
    ("sent", "mark_overdue", TIMER, {}, "overdue"),
    ("sent", "cancel", PERSON, {"reason": "doublon"}, "cancelled"),
    ("acknowledged", "give_feedback", PERSON, FEEDBACK, "feedback_received"),
    ("acknowledged", "remind", TIMER, {}, "acknowledged"),
    ("acknowledged", "escalate", TIMER, {}, "acknowledged"),
    ("acknowledged", "mark_overdue", TIMER, {}, "overdue"),
    ("acknowledged", "cancel", PERSON, {"reason": "rupture"}, "cancelled"),
    ("overdue", "acknowledge", PERSON, {}, "acknowledged"),
    ("overdue", "give_feedback", PARTNER, FEEDBACK, "feedback_received"),
    ("overdue", "cancel", PERSON, {"reason": "autre partenaire"}, "cancelled"),
    ("feedback_received", "close", PERSON, {}, "closed"),
    # The young person withdraws their agreement (alone, or with their consent to the case).
    ("draft", "withdraw", PERSON, {}, "withdrawn"),
    ("sent", "withdraw", PERSON, {"reason": "ne veut plus"}, "withdrawn"),
    ("acknowledged", "withdraw", PERSON, {}, "withdrawn"),
    ("overdue", "withdraw", PERSON, {}, "withdrawn"),
    ("feedback_received", "withdraw", PERSON, {}, "withdrawn"),
]
STATES = [
    "draft",
    "sent",
    "acknowledged",
    "overdue",
    "feedback_received",
    "closed",
    "cancelled",
    "withdrawn",
]


def test_table_covers_every_allowed_transition(app: App) -> None:
    definition = app.workflows.latest("liaison").definition
    assert set(definition.states) == set(STATES)
    declared = {(s, t.trigger) for t in definition.transitions for s in t.sources}
    assert {(state, trigger) for state, trigger, *_ in ALLOWED} == declared


@pytest.mark.parametrize(
    ("state", "trigger", "actor", "data", "expected"),
    ALLOWED,
    ids=[f"{a[0]}-{a[1]}" for a in ALLOWED],
)
def test_allowed_transition(
    app: App, state: str, trigger: str, actor: Actor, data: dict[str, Any], expected: str
) -> None:
    sheet_id = add_sheet(app, state=state)
    done = app.engine.fire_sheet(sheet_id, trigger, actor, **data)
    sheet = row(app, LiaisonSheet, sheet_id)
    assert (done.source, done.dest, sheet.state, sheet.version) == (state, expected, expected, 2)
    last = events(app, "liaison", sheet_id)[-1]
    assert (last.trigger, last.from_state, last.to_state, last.actor) == (
        trigger,
        state,
        expected,
        actor.id,
    )
    assert last.case_id == sheet.case_id  # a sheet's events belong to its case's timeline


@pytest.mark.parametrize("state", STATES)
def test_every_other_trigger_is_refused(app: App, state: str) -> None:
    definition = app.workflows.latest("liaison").definition
    allowed = {t.trigger for t in definition.transitions_from(state)}
    offered = {t.trigger for t in definition.transitions_from(state) if "person" in t.by}
    sheet_id = add_sheet(app, state=state)
    before = len(events(app))
    for trigger in sorted(set(definition.triggers) - allowed):
        with pytest.raises(TransitionRefused) as refused:
            app.engine.fire_sheet(sheet_id, trigger, PERSON)
        assert refused.value.reason == "state"
        assert set(refused.value.allowed) == offered  # a person is offered a person's
    assert len(events(app)) == before
    assert row(app, LiaisonSheet, sheet_id).version == 1


def test_a_sheet_is_never_sent_without_the_young_persons_consent(app: App) -> None:
    add_case(app)  # so that the sheet's case and the sheet have different numbers
    sheet_id = add_sheet(app, consent=False)
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_sheet(sheet_id, "send", PERSON)
    assert "accord" in refused.value.french()
    # The refusal names the sheet, and the case it belongs to.
    sheet = row(app, LiaisonSheet, sheet_id)
    assert (refused.value.entity, refused.value.entity_id) == ("liaison", sheet_id)
    assert refused.value.case_id == sheet.case_id != sheet_id
    assert row(app, LiaisonSheet, sheet_id).state == "draft"


def test_dates_and_feedback_are_stamped(app: App) -> None:
    sheet_id = add_sheet(app)
    app.engine.fire_sheet(sheet_id, "send", PERSON)
    app.engine.fire_sheet(sheet_id, "acknowledge", PARTNER)
    app.engine.fire_sheet(sheet_id, "give_feedback", PARTNER, **FEEDBACK)
    app.engine.fire_sheet(sheet_id, "close", PERSON)
    sheet = row(app, LiaisonSheet, sheet_id)
    now = app.clock.now()
    assert (sheet.sent_at, sheet.acknowledged_at, sheet.feedback_at, sheet.closed_at) == (now,) * 4
    assert sheet.feedback == FEEDBACK["feedback"]


def test_partners_cannot_send_or_close_and_timers_cannot_answer(app: App) -> None:
    sheet_id = add_sheet(app)
    with pytest.raises(TransitionRefused):
        app.engine.fire_sheet(sheet_id, "send", PARTNER)
    app.engine.fire_sheet(sheet_id, "send", PERSON)
    with pytest.raises(TransitionRefused):
        app.engine.fire_sheet(sheet_id, "acknowledge", TIMER)
    with pytest.raises(TransitionRefused):
        app.engine.fire_sheet(sheet_id, "cancel", PARTNER, reason="non")
