"""Durable timers: set and cancelled with transitions, fired once by the sweep, on both backends."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from casework.actors import Actor
from casework.app import App, build_app
from casework.clock import PARIS, FixedClock
from casework.engine.context import TransitionContext
from casework.handlers import registry
from casework.models import Case, ContactLog, Event, LiaisonSheet, Timer
from casework.resources import default_workflows_dir
from casework.settings import PathsSettings, Settings
from casework.timers.sweep import Sweeper
from tests.factories import add_case, add_partner, add_sheet, events, row

PERSON = Actor.person("referente")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


def timers(app: App, entity: str = "case", entity_id: int | None = None) -> list[Any]:
    stmt = select(Timer.__table__).where(Timer.entity == entity).order_by(Timer.id)
    if entity_id is not None:
        stmt = stmt.where(Timer.entity_id == entity_id)
    with app.db.read() as conn:
        return list(conn.execute(stmt).all())


def pending(app: App, entity: str = "case", entity_id: int | None = None) -> list[Any]:
    return [t for t in timers(app, entity, entity_id) if t.status == "pending"]


# -- set and cancelled by transitions -------------------------------------------------------------


def test_entering_a_state_sets_its_timers_in_the_same_transaction(app: App) -> None:
    case_id = add_case(app)
    done = app.engine.fire_case(case_id, "ask_consent", Actor.system())  # Tue 1 Sep 2026, 10:00
    (timer,) = pending(app, "case", case_id)
    assert (timer.trigger, timer.state, timer.misfire) == (
        "remind_consent",
        "consent_asked",
        "fire",
    )
    assert timer.due_at == paris(2026, 9, 8, 9, 0)  # 5 working days, at 09:00 in Paris
    assert timer.run_after == timer.due_at
    assert timer.set_version == done.version
    (setter,) = [e for e in events(app, "case", case_id) if e.version == timer.set_version]
    assert setter.trigger == "ask_consent"


def test_leaving_a_state_cancels_its_timers(app: App) -> None:
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    app.engine.fire_case(case_id, "give_consent", PERSON, given_by="apprentice")
    states = [(t.trigger, t.status) for t in timers(app, "case", case_id)]
    assert states == [("remind_consent", "cancelled"), ("start_follow_up", "pending")]
    assert timers(app, "case", case_id)[0].closed_at == app.clock.now()


def test_internal_transitions_keep_the_timers(app: App) -> None:
    case_id = add_case(app, state="consented")
    app.engine.fire_case(case_id, "start_follow_up", PERSON)
    before = pending(app, "case", case_id)
    app.engine.fire_case(case_id, "record_contact", PERSON, channel="phone", duration_min=10)
    assert pending(app, "case", case_id) == before


def test_timers_counted_from_contract_dates(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=6)
    app.sweeper.engine.fire_many("case", [case_id], "next_cycle", Actor.timer())
    by_trigger = {t.trigger: t for t in pending(app, "case", case_id)}
    # The factory's contract starts on 1 September 2026 and ends on 1 September 2028.
    assert by_trigger["one_year_assessment_due"].due_at == paris(2027, 9, 1, 9, 0)
    assert by_trigger["contract_ended"].due_at == paris(2028, 9, 1, 9, 0)


def test_liaison_deadlines_count_working_days(app: App, clock: FixedClock) -> None:
    clock.set(paris(2026, 11, 9, 15, 0))  # Monday before Armistice Day (Wednesday 11th)
    sheet_id = add_sheet(app)
    app.engine.fire_sheet(sheet_id, "send", PERSON)
    due = {t.trigger: t.due_at for t in pending(app, "liaison", sheet_id)}
    assert due == {
        # 3 working days: Tue, Thu, Fri (the charter's deadline, Friday included); the reminder
        # the next working morning.
        "remind": paris(2026, 11, 16, 9, 0),
        "escalate": paris(2026, 11, 18, 9, 0),
        "mark_overdue": paris(2026, 11, 24, 9, 0),
    }


def test_a_partner_with_its_own_deadlines_gets_them_on_its_sheets(
    app: App, clock: FixedClock
) -> None:
    """A partner that signed the charter with other deadlines (2 working days to acknowledge,
    5 to report back): its sheets' reminders come the working morning after its deadline,
    escalation and overdue mark as many working days after it as the workflow says; other
    partners keep the workflow's."""
    own = add_partner(app, ack_days=2, feedback_days=5)
    clock.set(paris(2026, 11, 9, 15, 0))  # Monday before Armistice Day (Wednesday 11th)
    sheet_id = add_sheet(app, partner_id=own)
    usual_id = add_sheet(app)
    app.engine.fire_sheet(sheet_id, "send", PERSON)
    app.engine.fire_sheet(usual_id, "send", PERSON)
    due = {t.trigger: t.due_at for t in pending(app, "liaison", sheet_id)}
    assert due == {
        "remind": paris(2026, 11, 13, 9, 0),  # 2 working days: Tue 10, Thu 12; then Friday
        "escalate": paris(2026, 11, 17, 9, 0),  # 2 + 3
        "mark_overdue": paris(2026, 11, 23, 9, 0),  # 2 + 7
    }
    usual = {t.trigger: t.due_at for t in pending(app, "liaison", usual_id)}
    assert usual["remind"] == paris(2026, 11, 16, 9, 0)  # the workflow's 3, then Monday
    clock.set(paris(2026, 12, 23, 11, 0))  # Wednesday before Christmas
    app.engine.fire_sheet(sheet_id, "acknowledge", Actor.partner("accueil@adlj53.example"))
    due = {t.trigger: t.due_at for t in pending(app, "liaison", sheet_id)}
    assert due == {
        "remind": paris(2027, 1, 4, 9, 0),  # 5 working days: 24, 28, 29, 30, 31; not 1st
        "escalate": paris(2027, 1, 8, 9, 0),  # 5 + 5, New Year's Day skipped
        "mark_overdue": paris(2027, 1, 15, 9, 0),  # 5 + 10
    }


# -- the sweep ---------------------------------------------------------------------------------


def test_the_sweep_fires_due_timers_once_and_leaves_the_others(app: App, clock: FixedClock) -> None:
    early, late = add_case(app), add_case(app)
    app.engine.fire_case(early, "ask_consent", Actor.system())
    clock.advance(timedelta(days=3))
    app.engine.fire_case(late, "ask_consent", Actor.system())
    clock.set(paris(2026, 9, 8, 9, 0))  # the first reminder is due, the second is not
    report = app.sweeper.sweep(clock.now())
    assert report.fired == {"remind_consent": 1}
    assert row(app, Case, early).state == "consent_reminded"
    assert row(app, Case, late).state == "consent_asked"
    (fired,) = [t for t in timers(app) if t.status == "fired"]
    assert (fired.entity_id, fired.closed_at) == (early, clock.now())
    last = events(app, "case", early)[-1]
    assert (last.trigger, last.actor_kind, last.actor) == ("remind_consent", "timer", "timer")
    assert app.sweeper.sweep(clock.now()).claimed == 0  # nothing fires twice


def test_a_cycle_fires_and_sets_the_next_one(app: App, clock: FixedClock) -> None:
    case_id = add_case(app, state="consented")
    app.engine.fire_case(case_id, "start_follow_up", PERSON)
    (first,) = pending(app, "case", case_id)
    clock.set(first.due_at)
    app.sweeper.drain(clock.now())
    case = row(app, Case, case_id)
    assert (case.state, case.cycle) == ("follow_up", 2)
    (following,) = pending(app, "case", case_id)
    assert following.due_at == paris(2026, 11, 1, 9, 0)  # one month after 1 October, 09:00


def test_catch_up_after_a_week_of_downtime_fires_each_timer_once_in_due_order(
    app: App, clock: FixedClock
) -> None:
    sheet_id = add_sheet(app)
    app.engine.fire_sheet(sheet_id, "send", PERSON)  # Tuesday 1 September
    case_id = add_case(app, state="consented")
    app.engine.fire_case(case_id, "start_follow_up", PERSON)
    clock.advance(timedelta(days=95))  # the service was down for three months
    report = app.sweeper.drain(clock.now())
    sheet_triggers = [e.trigger for e in events(app, "liaison", sheet_id)][-3:]
    assert sheet_triggers == ["remind", "escalate", "mark_overdue"]
    assert row(app, LiaisonSheet, sheet_id).state == "overdue"
    # The monthly cycle fired once, not once per missed month; the next counts from now.
    assert row(app, Case, case_id).cycle == 2
    (next_cycle,) = pending(app, "case", case_id)
    assert next_cycle.due_at > clock.now()
    assert report.fired == {"remind": 1, "escalate": 1, "mark_overdue": 1, "next_cycle": 1}
    assert app.sweeper.drain(clock.now()).claimed == 0


def test_a_timer_whose_row_moved_on_is_discarded_with_an_event(app: App) -> None:
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    with app.db.transaction() as conn:  # moved on by hand, outside the engine
        conn.execute(update(Case).where(Case.id == case_id).values(state="closed"))
    app.clock.advance(timedelta(days=10))  # type: ignore[attr-defined]
    report = app.sweeper.sweep(app.clock.now())
    assert report.discarded == {"remind_consent": 1}
    (timer,) = timers(app, "case", case_id)
    assert timer.status == "discarded"
    assert "le dossier est passé à l'état « Clos »" in timer.last_error
    last = events(app, "case", case_id)[-1]
    assert (last.trigger, last.from_state, last.to_state, last.version) == (
        "remind_consent",
        "closed",
        None,
        None,
    )
    assert last.data["outcome"] == "discarded"


# -- failures ------------------------------------------------------------------------------------


@pytest.fixture
def fragile_app(settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[App]:
    """The bundled workflows, where the consent reminder fails for odd cases (in Python for
    `remind_consent`, in the database for a `reminded` state entered by `remind_late`), and a
    state whose timer is skipped when it misfires."""
    workflows = tmp_path / "workflows"
    shutil.copytree(default_workflows_dir(), workflows)
    text = (workflows / "case.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    source: consent_asked\n    dest: consent_reminded\n    by: [timer]\n",
        "    source: consent_asked\n    dest: consent_reminded\n    by: [timer]\n"
        "    handlers: [fail_for_odd_cases, bad_row_for_case_3]\n",
    )
    text = text.replace(
        "  consent_reminded:\n    label: Consentement à recueillir (relancé)\n",
        "  consent_reminded:\n    label: Consentement à recueillir (relancé)\n"
        "    timers:\n      - fire: close_quietly\n        after: {hours: 1}\n"
        "        misfire: skip\n",
    )
    text += (
        "  - trigger: close_quietly\n    source: consent_reminded\n    dest: closed\n"
        "    by: [timer]\n"
    )
    (workflows / "case.yaml").write_text(text, encoding="utf-8")
    handlers = registry.copy()
    failing: set[int] = set()

    def fail_for_odd_cases(ctx: TransitionContext) -> None:
        if ctx.row.id in failing:
            raise RuntimeError(f"the handler broke on case {ctx.row.id}")

    def bad_row_for_case_3(ctx: TransitionContext) -> None:
        if ctx.row.id == 3:
            values = {
                "case_id": 3,
                "at": ctx.now,
                "channel": "phone",
                "duration_min": -5,
                "difficulties": [],
                "author": "x",
            }  # violates a CHECK: the database refuses
            ctx.defer(lambda conn: conn.execute(insert(ContactLog), values))

    handlers.handler(fail_for_odd_cases)
    handlers.handler(bad_row_for_case_3)
    application = build_app(
        Settings(database=settings.database, paths=PathsSettings(workflows=workflows)),
        clock,
        handlers,
    )
    application.failing = failing  # type: ignore[attr-defined]
    yield application
    application.close()


def test_a_failing_timer_is_retried_with_backoff_then_parked(fragile_app: App) -> None:
    app, clock = fragile_app, fragile_app.clock
    good, bad = add_case(app), add_case(app)
    app.failing.add(bad)  # type: ignore[attr-defined]
    app.engine.fire_many("case", [good, bad], "ask_consent", Actor.system())
    clock.advance(timedelta(days=8))  # type: ignore[attr-defined]
    # The backoff's jitter at its highest: the whole base delay (`timers.retry_base_seconds`).
    sweeper = Sweeper(app.engine, app.settings.timers, uniform=lambda _low, high: high)
    report = sweeper.sweep(clock.now())
    assert report.fired == {"remind_consent": 1}
    assert report.retried == 1
    assert row(app, Case, good).state == "consent_reminded"
    assert row(app, Case, bad).state == "consent_asked"
    (timer,) = pending(app, "case", bad)
    assert timer.attempts == 1
    assert "the handler broke on case" in timer.last_error
    assert timer.run_after - clock.now() == timedelta(seconds=60)
    for _ in range(10):
        clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        app.sweeper.drain(clock.now())
    (parked,) = [t for t in timers(app, "case", bad) if t.trigger == "remind_consent"]
    assert (parked.status, parked.attempts) == ("failed", 5)
    with app.db.read() as conn:
        assert [t.id for t in app.engine.timers.failed(conn)] == [parked.id]


def test_a_batch_the_database_refuses_is_taken_timer_by_timer(fragile_app: App) -> None:
    app, clock = fragile_app, fragile_app.clock
    ids = [add_case(app) for _ in range(4)]
    assert 3 in ids
    app.engine.fire_many("case", ids, "ask_consent", Actor.system())
    clock.advance(timedelta(days=8))  # type: ignore[attr-defined]
    report = app.sweeper.sweep(clock.now())
    assert report.isolated
    assert report.fired == {"remind_consent": 3}
    assert report.retried == 1
    assert {i: row(app, Case, i).state for i in ids} == {
        i: "consent_asked" if i == 3 else "consent_reminded" for i in ids
    }


def test_a_misfired_timer_marked_skip_is_discarded(fragile_app: App) -> None:
    app, clock = fragile_app, fragile_app.clock
    on_time, late = add_case(app), add_case(app)
    app.engine.fire_many("case", [on_time, late], "ask_consent", Actor.system())
    clock.advance(timedelta(days=8))  # type: ignore[attr-defined]
    app.sweeper.sweep(clock.now())  # both reminded; each sets close_quietly in one hour
    clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    with app.db.transaction() as conn:  # the late one's timer was due long ago
        conn.execute(
            update(Timer)
            .where(Timer.entity_id == late, Timer.status == "pending")
            .values(due_at=clock.now() - timedelta(days=3))
        )
    report = app.sweeper.sweep(clock.now())
    assert report.fired == {"close_quietly": 1}
    assert report.discarded == {"close_quietly": 1}
    assert row(app, Case, on_time).state == "closed"
    assert row(app, Case, late).state == "consent_reminded"
    assert "misfire" in events(app, "case", late)[-1].data["reason"]


def test_due_times_survive_the_round_trip_across_daylight_saving(
    app: App, clock: FixedClock
) -> None:
    clock.set(paris(2026, 10, 22, 17, 0))  # Thursday, summer time
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    (timer,) = pending(app, "case", case_id)
    assert timer.due_at == datetime(2026, 10, 29, 8, 0, tzinfo=UTC)  # 09:00, winter time
    assert timer.due_at.astimezone(PARIS).hour == 9
    assert date(2026, 10, 29) == timer.due_at.astimezone(PARIS).date()


def test_events_count_each_fired_timer_exactly_once(app: App, clock: FixedClock) -> None:
    ids = [add_case(app) for _ in range(30)]
    app.engine.fire_many("case", ids, "ask_consent", Actor.system())
    clock.advance(timedelta(days=8))
    app.sweeper.settings = type(app.sweeper.settings)(batch_size=7)
    report = app.sweeper.drain(clock.now())
    assert report.fired == {"remind_consent": 30}
    with app.db.read() as conn:
        reminders = (
            conn.execute(select(Event.entity_id).where(Event.trigger == "remind_consent"))
            .scalars()
            .all()
        )
    assert sorted(reminders) == sorted(ids)


def test_a_week_of_downtime_fires_what_came_due_once_and_leaves_the_rest(
    app: App, clock: FixedClock
) -> None:
    clock.set(paris(2026, 11, 2, 10, 0))  # Monday
    sheet_id = add_sheet(app)
    app.engine.fire_sheet(sheet_id, "send", PERSON)
    clock.set(paris(2026, 11, 12, 14, 0))  # the service was down from Monday 2 to Thursday 12
    report = app.sweeper.drain(clock.now())
    # Due meanwhile: the reminder (Thu 5), the escalation (Tue 10); not yet: overdue (Tue 17,
    # ten working days without Armistice Day).
    assert report.fired == {"remind": 1, "escalate": 1}
    assert [e.trigger for e in events(app, "liaison", sheet_id)][-2:] == ["remind", "escalate"]
    (still,) = pending(app, "liaison", sheet_id)
    assert (still.trigger, still.due_at) == ("mark_overdue", paris(2026, 11, 17, 9, 0))
    assert app.sweeper.drain(clock.now()).claimed == 0


def test_a_timer_whose_row_entered_its_state_again_is_stale(app: App, clock: FixedClock) -> None:
    """The race a second process can cause: the row left the state and came back while this
    timer, claimed elsewhere, escaped cancellation. Same state, same trigger allowed: still it
    must not fire, for it belongs to the earlier stay."""
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    with app.db.transaction() as conn:  # re-entered consent_asked at version 4, timer kept
        conn.execute(update(Case).where(Case.id == case_id).values(version=4, entered_version=4))
    clock.advance(timedelta(days=10))
    report = app.sweeper.sweep(clock.now())
    assert report.discarded == {"remind_consent": 1}
    assert row(app, Case, case_id).state == "consent_asked"
    (timer,) = timers(app, "case", case_id)
    assert "a changé d'état depuis que le minuteur a été posé" in timer.last_error


def test_entering_a_state_again_moves_the_entry_version(app: App) -> None:
    case_id = add_case(app, state="consented")
    app.engine.fire_case(case_id, "start_follow_up", PERSON)
    app.engine.fire_case(case_id, "record_contact", PERSON, channel="phone", duration_min=5)
    case = row(app, Case, case_id)
    assert (case.version, case.entered_version) == (3, 2)  # internal: no new entry
    app.engine.fire_many("case", [case_id], "next_cycle", Actor.timer())
    case = row(app, Case, case_id)
    assert (case.version, case.entered_version) == (4, 4)  # reflexive: a new entry
    (timer,) = pending(app, "case", case_id)
    assert timer.set_version == 4
