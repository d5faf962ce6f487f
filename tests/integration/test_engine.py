"""The engine's promises: one transaction per call, conflicts detected, nothing half-written."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from casework.actors import Actor
from casework.app import App, build_app
from casework.clock import FixedClock
from casework.engine.context import TransitionContext
from casework.errors import VersionConflict
from casework.handlers import registry
from casework.models import Base, Case, ContactLog, Event
from casework.resources import default_workflows_dir
from casework.settings import PathsSettings, Settings
from tests.factories import add_case, events, row

PERSON = Actor.person("referente")
CONTACT = {"channel": "phone", "duration_min": 20}


def count(app: App, model: type) -> int:
    with app.db.read() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


# -- version counter ----------------------------------------------------------------------------


def test_a_stale_expected_version_is_a_conflict_and_the_other_change_stands(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=1)
    seen = row(app, Case, case_id).version  # a person opens the case...
    app.engine.fire_case(case_id, "record_contact", PERSON, **CONTACT)  # ...someone else acts
    with pytest.raises(VersionConflict) as conflict:
        app.engine.fire_case(case_id, "rupture", PERSON, seen, rupture_date="2026-08-30")
    assert (conflict.value.expected, conflict.value.actual) == (seen, seen + 1)
    assert "modifié entre-temps" in conflict.value.french()
    after = row(app, Case, case_id)
    assert (after.state, after.version) == ("follow_up", seen + 1)
    assert [e.trigger for e in events(app, "case", case_id)] == [None, "record_contact"]


def test_the_current_expected_version_is_accepted(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=1)
    app.engine.fire_case(case_id, "record_contact", PERSON, 1, **CONTACT)
    app.engine.fire_case(case_id, "record_contact", PERSON, 2, **CONTACT)
    assert row(app, Case, case_id).version == 3


def _wait_for_lock_waiter(app: App, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.db.read() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the second writer never waited for the row lock")


def test_two_writers_at_once_lose_nothing(app: App, backend: str) -> None:
    """Writer A has changed the case but not committed; writer B starts meanwhile.

    PostgreSQL: B read the old version, its UPDATE waits for A's row lock, then matches no row:
    VersionConflict, B writes nothing. SQLite: B's BEGIN IMMEDIATE waits for A to commit, then B
    reads the new version and applies on top. Either way A's change is kept and B is never lost
    silently.
    """
    case_id = add_case(app, state="follow_up", cycle=1)
    outcome: list[object] = []

    def writer_b() -> None:
        try:
            outcome.append(
                app.engine.fire_case(case_id, "record_contact", Actor.person("b"), **CONTACT)
            )
        except VersionConflict as conflict:
            outcome.append(conflict)

    with app.db.transaction() as conn_a:
        app.engine.fire_case(case_id, "record_contact", Actor.person("a"), conn=conn_a, **CONTACT)
        b = threading.Thread(target=writer_b)
        b.start()
        if backend == "postgresql":
            _wait_for_lock_waiter(app)
        else:
            time.sleep(0.3)  # B is blocked in BEGIN IMMEDIATE; nothing to observe from outside
        assert not outcome, "B must wait for A"
    b.join(timeout=30)
    actors = [e.actor for e in events(app, "case", case_id) if e.trigger == "record_contact"]
    if backend == "postgresql":
        assert isinstance(outcome[0], VersionConflict)
        assert (outcome[0].expected, outcome[0].actual) == (1, 2)
        assert actors == ["a"]
        assert row(app, Case, case_id).version == 2
    else:
        assert outcome[0].version == 3  # type: ignore[union-attr]
        assert actors == ["a", "b"]
    assert count(app, ContactLog) == len(actors)


# -- atomicity ------------------------------------------------------------------------------------


class Boom(Exception):
    pass


@pytest.fixture
def fragile_app(settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[App]:
    """The bundled workflows plus two transitions whose handlers fail, early or late."""
    workflows = tmp_path / "workflows"
    shutil.copytree(default_workflows_dir(), workflows)
    with (workflows / "case.yaml").open("a", encoding="utf-8") as fh:
        fh.write(
            "  - trigger: explode\n"
            "    source: follow_up\n"
            "    dest: monitoring\n"
            "    handlers: [advance_cycle, log_contact, explode]\n"
            "    fields: {channel: {type: text}, duration_min: {type: int}}\n"
            "  - trigger: explode_late\n"
            "    source: follow_up\n"
            "    dest: monitoring\n"
            "    handlers: [advance_cycle, bad_contact_row]\n"
        )
    handlers = registry.copy()

    def explode(ctx: TransitionContext) -> None:
        if ctx.row.id % 2:  # odd cases only, to test batches
            raise Boom(ctx.row.id)

    def bad_contact_row(ctx: TransitionContext) -> None:
        values = {
            "case_id": ctx.row.id,
            "at": ctx.now,
            "channel": "phone",
            "duration_min": -1,
            "difficulties": [],
            "author": "x",
        }  # violates a CHECK
        ctx.defer(lambda conn: conn.execute(insert(ContactLog), values))

    handlers.handler(explode)
    handlers.handler(bad_contact_row)
    settings = Settings(database=settings.database, paths=PathsSettings(workflows=workflows))
    application = build_app(settings, clock, handlers)
    yield application
    application.close()


def test_a_failing_handler_leaves_no_state_change_and_no_event(fragile_app: App) -> None:
    app = fragile_app
    case_id = add_case(app, state="follow_up", cycle=1)
    assert case_id % 2 == 1
    before = events(app)
    with pytest.raises(Boom):
        app.engine.fire_case(case_id, "explode", PERSON, **CONTACT)
    after = row(app, Case, case_id)
    assert (after.state, after.cycle, after.version) == ("follow_up", 1, 1)
    assert events(app) == before
    assert count(app, ContactLog) == 0


def test_a_failing_deferred_write_rolls_back_the_state_and_the_event(fragile_app: App) -> None:
    app = fragile_app
    case_id = add_case(app, state="follow_up", cycle=1)
    before = events(app)
    with pytest.raises(DBAPIError):
        app.engine.fire_case(case_id, "explode_late", PERSON)
    after = row(app, Case, case_id)
    assert (after.state, after.cycle, after.version) == ("follow_up", 1, 1)
    assert events(app) == before


def test_a_failing_row_fails_the_whole_batch(fragile_app: App) -> None:
    app = fragile_app
    ids = [add_case(app, state="follow_up", cycle=1) for _ in range(4)]
    before = events(app)
    with pytest.raises(Boom):
        app.engine.fire_many("case", ids, "explode", PERSON, CONTACT)
    assert {row(app, Case, i).state for i in ids} == {"follow_up"}
    assert events(app) == before


def test_isolate_sets_failing_rows_aside_and_applies_the_others(fragile_app: App) -> None:
    app = fragile_app
    ids = [add_case(app, state="follow_up", cycle=1) for _ in range(4)]
    result = app.engine.fire_many("case", ids, "explode", PERSON, CONTACT, isolate=True)
    odd = [i for i in ids if i % 2]
    assert [failed_id for failed_id, _ in result.failed] == odd
    assert sorted(d.entity_id for d in result.applied) == [i for i in ids if not i % 2]
    assert {i: row(app, Case, i).state for i in ids} == {
        i: "follow_up" if i % 2 else "monitoring" for i in ids
    }
    assert count(app, ContactLog) == 2  # only the applied rows' deferred writes ran


def test_a_transition_joins_the_callers_transaction(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=1)

    def callers_work() -> None:
        with app.db.transaction() as conn:
            app.engine.fire_case(case_id, "record_contact", PERSON, conn=conn, **CONTACT)
            raise Boom("the caller's own work failed after the transition")

    with pytest.raises(Boom):
        callers_work()
    assert row(app, Case, case_id).version == 1
    assert count(app, ContactLog) == 0


# -- batches ---------------------------------------------------------------------------------


def test_fire_many_applies_refuses_and_reports_missing(app: App) -> None:
    tests = [add_case(app, group="test") for _ in range(3)]
    controls = [add_case(app, group="control") for _ in range(2)]
    result = app.engine.fire_many(
        "case", [*tests, *controls, 999_999], "ask_consent", Actor.system()
    )
    assert sorted(d.entity_id for d in result.applied) == tests
    assert sorted(r.entity_id for r in result.refused) == controls
    assert {r.reason for r in result.refused} == {"guards"}
    assert result.missing == [999_999]
    assert [row(app, Case, i).state for i in tests] == ["consent_asked"] * 3
    assert [row(app, Case, i).version for i in controls] == [1, 1]
    assert len([e for e in events(app) if e.trigger == "ask_consent"]) == 3


def test_fire_many_handles_more_rows_than_one_chunk(app: App) -> None:
    from casework.engine import engine as engine_module

    ids = [add_case(app, state="follow_up", cycle=1) for _ in range(7)]
    chunk, engine_module.CHUNK = engine_module.CHUNK, 3
    try:
        result = app.engine.fire_many("case", ids, "next_cycle", Actor.timer())
    finally:
        engine_module.CHUNK = chunk
    assert len(result.applied) == 7
    with app.db.read() as conn:
        cycles = conn.execute(select(Case.cycle).where(Case.id.in_(ids))).scalars().all()
    assert set(cycles) == {2}


def test_fire_many_refuses_on_actor_and_state(app: App) -> None:
    case_id = add_case(app, state="follow_up", cycle=1)
    closed = add_case(app, state="closed")
    result = app.engine.fire_many("case", [case_id, closed], "next_cycle", PERSON)
    assert {(r.entity_id, r.reason) for r in result.refused} == {
        (case_id, "actor"),
        (closed, "state"),
    }
    assert result.applied == []


# -- rules the database itself enforces -----------------------------------------------------------


def test_events_are_append_only(app: App) -> None:
    add_case(app)
    with pytest.raises(DBAPIError, match="append-only"), app.db.transaction() as conn:
        conn.execute(update(Event).values(actor="someone else"))
    with pytest.raises(DBAPIError, match="append-only"), app.db.transaction() as conn:
        conn.execute(Event.__table__.delete())
    assert count(app, Event) == 1


def test_a_case_group_is_written_once(app: App) -> None:
    case_id = add_case(app, group="test")
    with pytest.raises(DBAPIError, match="written once"), app.db.transaction() as conn:
        conn.execute(update(Case).where(Case.id == case_id).values(group="control"))
    with app.db.transaction() as conn:  # writing the same value is not a change
        conn.execute(update(Case).where(Case.id == case_id).values(group="test"))
    assert row(app, Case, case_id).group == "test"


def test_an_event_cannot_be_rewritten_by_replacing_it(app: App) -> None:
    """SQLite's INSERT OR REPLACE deletes the old row: its delete trigger must fire
    (recursive_triggers); PostgreSQL's upsert is an UPDATE."""
    case_id = add_case(app)
    (event,) = events(app, "case", case_id)
    replace = (
        "INSERT OR REPLACE INTO events SELECT * FROM events WHERE id = :id"
        if app.db.is_sqlite
        else "INSERT INTO events SELECT * FROM events WHERE id = :id "
        "ON CONFLICT (id) DO UPDATE SET actor = 'someone else'"
    )
    with pytest.raises(DBAPIError, match="append-only"), app.db.transaction() as conn:
        conn.execute(text(replace), {"id": event.id})
    assert events(app, "case", case_id)[0].actor == event.actor


def test_a_case_group_cannot_be_rewritten_by_replacing_or_deleting_the_case(app: App) -> None:
    case_id = add_case(app, group="test")
    columns = ", ".join(f'"{c.name}"' for c in Case.__table__.columns)
    values = ", ".join(
        "'control'" if c.name == "group" else f'"{c.name}"' for c in Case.__table__.columns
    )
    copy = f"INSERT INTO cases ({columns}) SELECT {values} FROM cases WHERE id = :id"
    bypasses = [
        copy.replace("INSERT", "INSERT OR REPLACE", 1)
        if app.db.is_sqlite
        else f"{copy} ON CONFLICT (id) DO UPDATE SET \"group\" = 'control'",
        "DELETE FROM cases WHERE id = :id",
    ]
    for bypass in bypasses:
        with pytest.raises(DBAPIError, match="written once"), app.db.transaction() as conn:
            conn.execute(text(bypass), {"id": case_id})
    assert row(app, Case, case_id).group == "test"


def test_the_migrations_build_exactly_the_models_schema(app: App) -> None:
    with app.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_naive_datetimes_are_refused(app: App) -> None:
    from datetime import datetime

    with pytest.raises(Exception, match="naive"), app.db.transaction() as conn:
        conn.execute(update(Case).values(updated_at=datetime(2026, 1, 1)))


def test_creation_is_an_event_too(app: App) -> None:
    case_id = add_case(app, group="control")
    (created,) = events(app, "case", case_id)
    assert (created.trigger, created.from_state, created.to_state) == (None, None, "identified")
    assert created.data == {
        "cohort": 2026,
        "group": "control",
        "assignment_method": "parity",
        "referent": "referente",  # who follows it, from the start (absent when nobody does)
    }
    assert (created.actor_kind, created.actor) == ("import", "tests")


def test_an_unknown_case_is_reported(app: App) -> None:
    from casework.errors import EntityNotFound

    with pytest.raises(EntityNotFound) as missing:
        app.engine.fire_case(424242, "ask_consent", PERSON)
    assert missing.value.french() == "Dossier 424242 introuvable."


def test_a_refused_write_names_no_value_in_its_error(app: App) -> None:
    """Errors reach logs, tracebacks, /health and failed timers: PostgreSQL's own messages
    quote the values it refuses ("Key (login)=(...) already exists"); they are kept out."""
    from tests.factories import add_user

    add_user(app, login="Léa MARTIN 2008-03-14")
    with pytest.raises(DBAPIError) as twice:
        add_user(app, login="Léa MARTIN 2008-03-14")
    errors = [twice.value]
    if app.db.is_postgresql:  # SQLite casts 'Dupont' to 0
        with pytest.raises(DBAPIError) as typed, app.db.transaction() as conn:
            conn.execute(update(Case).values(cycle=text("CAST(:v AS INTEGER)")), {"v": "Dupont"})
        errors.append(typed.value)
    for error in errors:
        assert "Léa" not in str(error)
        assert "Dupont" not in str(error)
        assert "Léa" not in str(error.orig)
