"""Retention: the purge (dry run, apply, idempotent, safe to interrupt), the events' redaction
permit, the daily job's claim, erasure on request, and the evaluation unchanged by a purge —
on both databases."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update

from casework.actors import Actor
from casework.app import App, build_app
from casework.cli import main
from casework.clock import FixedClock
from casework.database import Database
from casework.evaluation.export_files import export_cohort
from casework.evaluation.model import Scope
from casework.evaluation.report import build_report
from casework.migrate import downgrade, upgrade
from casework.models import Base
from casework.models.tables import CASES, CONTRACTS, EVENTS, OUTBOX, PEOPLE, PERMITS, PURGE_RUNS
from casework.privacy import anonymise
from casework.privacy.daily import run_daily
from casework.privacy.erasure import StillFollowed, erase
from casework.privacy.purge import count_due, purge, tasks
from casework.privacy.requests import PERSON as PERSON_ENTITY
from casework.privacy.retention import ANONYMOUS_NAME, policy
from casework.service.lifecycle import Service
from casework.settings import DatabaseSettings, PrivacySettings, Settings
from tests import factories
from tests.factories import add_case, add_user
from tests.integration.test_evaluation_export import KEY
from tests.privacy_world import Secrets, a_person_with_everything, found_anywhere
from tests.report_cohort import COHORT, Person, add_cohort, keyed_app

ZERO = PrivacySettings(0, 0, 0, 0, 0, 0, 0)
MONTHS = [f for f in dataclasses.fields(ZERO) if f.name.endswith("_months")]
LEA = Secrets("Quatremare", "Zéphyrine", "zephyrine@example.org", "0611223344")
NOE = Secrets("Bellegarde", "Noé", "noe.b@example.org", "0799887766")


def _app_on(settings: Settings, clock: FixedClock, privacy: PrivacySettings) -> App:
    return build_app(dataclasses.replace(settings, privacy=privacy), clock)


@pytest.fixture
def purging(settings: Settings, clock: FixedClock) -> Iterator[App]:
    """An app whose every retention duration is 0 months: everything ended is due."""
    app = _app_on(settings, clock, ZERO)
    try:
        yield app
    finally:
        app.close()


def a_world(app: App, clock: FixedClock) -> dict[str, int]:
    factories._cma_numbers = itertools.count(1000)  # the same numbers in the twin databases
    add_user(app)
    lea, lea_case = a_person_with_everything(app, clock, LEA, 1)
    noe, noe_case = a_person_with_everything(app, clock, NOE, 2)
    ongoing = add_case(app, birth_name="Encours", first_names="Alix", state="follow_up")
    for i in range(5):  # more ended cases, for several chunks
        case = add_case(app, birth_name=f"Clos{i}", first_names="Sam")
        with app.db.transaction() as conn:
            conn.execute(update(CASES).where(CASES.c.id == case).values(state="closed"))
    return {"lea": lea, "lea_case": lea_case, "noe": noe, "noe_case": noe_case, "open": ongoing}


def snapshot(app: App) -> dict[str, list[Any]]:
    """Every table's rows in key order (the runs compared share ids and clock), but the
    purges' own audit events (an interrupted run records none, its re-run fewer counts)."""
    with app.db.read() as conn:
        return {
            t.name: [
                tuple(r)
                for r in conn.execute(select(t).order_by(*t.primary_key.columns))
                if not (t.name == "events" and r.entity == "privacy")
            ]
            for t in Base.metadata.sorted_tables
        }


def test_the_policy_is_data_in_french() -> None:
    rows = policy()
    assert {r[1] for r in rows} >= {"beneficiaries", "events", "outbox", "inbound_mails"}
    assert all(len(r) == 5 and all(r) for r in rows)


def test_a_dry_run_counts_and_changes_nothing_then_apply_then_nothing_is_due(
    purging: App, clock: FixedClock
) -> None:
    world = a_world(purging, clock)
    before = snapshot(purging)
    now = clock.now()
    dry = purge(purging, now, apply=False)
    assert snapshot(purging) == before
    due = dry.by_category()
    assert due["identity"] == 7  # every person whose cases all ended; not the one followed
    assert due["notes"] == due["audit"] == 7
    assert due["inbound"] == 2
    assert due["access_log"] == 2
    assert due["outbox"] == 4  # two mails, two expired links
    assert due["intake"] == 2 * 4  # two imported rows, one reject, one proposal each
    assert dry.french()[-1].startswith("Simulation : 37 lignes à traiter")
    done = purge(purging, now, apply=True, actor=Actor.person("referente"))
    # The person's imported rows and proposals go with their identity: only rejects are left.
    assert done.by_category() == {**due, "intake": 2}
    assert count_due(purging, now).total == 0
    again = purge(purging, now, apply=True)
    assert again.total == 0
    with purging.db.read() as conn:
        people = {r.id: r for r in conn.execute(select(PEOPLE))}
        logged = conn.execute(
            select(EVENTS.c.data).where(EVENTS.c.entity == "privacy").order_by(EVENTS.c.id)
        ).scalars()
        assert [d["identity"] for d in logged] == [7, 0]
        assert conn.execute(select(PERMITS)).all() == []  # no permit ever committed
    lea = people[world["lea"]]
    assert (lea.birth_name, lea.first_names, lea.birth_date, lea.birth_year) == (
        ANONYMOUS_NAME,
        "",
        None,
        2001,
    )
    assert (lea.sex, lea.departement) == ("F", "53")  # coded values kept
    assert people[world["open"]].birth_name == "Encours"  # still followed: untouched


def test_an_interrupted_purge_finishes_on_a_rerun_as_if_never_interrupted(
    settings: Settings, twin_url: str, clock: FixedClock
) -> None:
    twin_clock = FixedClock(clock.now())
    interrupted = _app_on(settings, clock, ZERO)
    whole = _app_on(settings.with_database(twin_url), twin_clock, ZERO)
    try:
        a_world(interrupted, clock)
        a_world(whole, twin_clock)
        now = clock.now()
        assert snapshot(interrupted) == snapshot(whole)

        def crash_after_first_chunk(n: int) -> None:
            raise RuntimeError("power cut")

        with pytest.raises(RuntimeError):
            purge(interrupted, now, apply=True, progress=crash_after_first_chunk, chunk=2)
        with interrupted.db.read() as conn:
            done = conn.execute(select(PEOPLE).where(PEOPLE.c.anonymised_at.is_not(None))).all()
            # The first chunk whole (two people, their contracts too), nothing else.
            assert len(done) == 2
            ages = conn.execute(
                select(CONTRACTS.c.age_at_start).where(
                    CONTRACTS.c.beneficiary_id.in_([p.id for p in done])
                )
            ).scalars()
            assert None not in list(ages)
        purge(interrupted, now, apply=True, chunk=2)
        purge(whole, now, apply=True, chunk=500)
        assert snapshot(interrupted) == snapshot(whole)
    finally:
        interrupted.close()
        whole.close()


def test_events_are_redacted_only_under_a_permit_and_only_their_data(purging: App) -> None:
    case_id = add_case(purging)
    with purging.db.read() as conn:
        event = conn.execute(select(EVENTS.c.id).where(EVENTS.c.case_id == case_id)).scalar()
    change_data = update(EVENTS).where(EVENTS.c.id == event).values(data={"x": 1})
    for refused in (
        change_data,
        delete(EVENTS).where(EVENTS.c.id == event),
    ):
        with pytest.raises(Exception, match="append-only"), purging.db.transaction() as conn:
            conn.execute(refused)
    for refused in (
        update(EVENTS).where(EVENTS.c.id == event).values(actor="someone"),
        delete(EVENTS).where(EVENTS.c.id == event),
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            purging.db.transaction() as conn,
            anonymise.redaction_permit(conn),
        ):
            conn.execute(refused)
    with purging.db.transaction() as conn, anonymise.redaction_permit(conn):
        conn.execute(change_data)
    with purging.db.read() as conn:
        assert conn.execute(select(EVENTS.c.data).where(EVENTS.c.id == event)).scalar() == {"x": 1}
        assert conn.execute(select(PERMITS)).all() == []


def test_the_daily_purge_runs_once_a_day_whatever_the_processes(
    purging: App, clock: FixedClock
) -> None:
    a_world(purging, clock)
    first = run_daily(purging)
    assert first is not None
    assert first.by_category()["identity"] == 7
    assert run_daily(purging) is None  # another process, the same day: nothing
    clock.advance(timedelta(days=1))
    tomorrow = run_daily(purging)
    assert tomorrow is not None
    assert tomorrow.total == 0


def test_the_cli_dry_run_then_apply(purging: App, clock: FixedClock) -> None:
    a_world(purging, clock)
    runner = CliRunner()
    # The command's clock is the real one, after the test clock's: with 0 months, all is due.
    env = {f"CASEWORK_PRIVACY_{f.name.upper()}": "0" for f in MONTHS}
    base = ["--database", purging.settings.database.url, "privacy", "purge"]
    dry = runner.invoke(main, base, env=env)
    assert dry.exit_code == 0, dry.output
    assert "Identité et coordonnées" in dry.output
    assert "personnes : 7" in dry.output
    assert "rien n'a été modifié" in dry.output
    applied = runner.invoke(main, [*base, "--apply", "--as", "referente"], env=env)
    assert applied.exit_code == 0, applied.output
    assert "Purge faite" in applied.output
    again = runner.invoke(main, base, env=env)
    assert "Rien n'est à purger." in again.output


def test_erasure_leaves_the_person_nowhere_and_others_untouched(
    app: App, clock: FixedClock
) -> None:
    world = a_world(app, clock)
    assert found_anywhere(app, LEA.all())  # the test finds what is there
    erase(app, world["lea"], "Demande écrite", Actor.person("referente"), clock.now())
    assert found_anywhere(app, LEA.all()) == []
    assert {f.split(":")[1].strip() for f in found_anywhere(app, NOE.all())} == set(NOE.all())
    with app.db.read() as conn:
        request = conn.execute(
            select(EVENTS.c.data).where(
                EVENTS.c.entity == PERSON_ENTITY,
                EVENTS.c.entity_id == world["lea"],
                EVENTS.c.trigger == "erasure",
            )
        ).scalar_one()
        kept = conn.execute(
            select(CASES.c.group, CASES.c.state).where(CASES.c.id == world["lea_case"])
        ).one()
    assert request["reason"] == "Demande écrite"
    assert "17.3.d" in request["kept"]
    assert tuple(kept) == ("test", "exit_without_solution")


def test_erasure_is_refused_while_a_case_is_followed_and_writes_nothing(
    app: App, clock: FixedClock
) -> None:
    world = a_world(app, clock)
    with app.db.read() as conn:
        person = conn.execute(
            select(CASES.c.beneficiary_id).where(CASES.c.id == world["open"])
        ).scalar_one()
    before = snapshot(app)
    with pytest.raises(StillFollowed) as refused:
        erase(app, person, "Demande", Actor.person("referente"), clock.now())
    assert "enregistrez d'abord l'action « " in refused.value.french()
    assert snapshot(app) == before
    result = CliRunner().invoke(
        main,
        [
            "--database",
            app.settings.database.url,
            "privacy",
            "erase",
            "--case",
            str(world["open"]),
            "--reason",
            "Demande",
            "--as",
            "referente",
            "--yes",
        ],
    )
    assert result.exit_code == 1
    assert "est encore en cours" in result.output
    assert snapshot(app) == before


def test_the_cli_erases_by_case_number(app: App, clock: FixedClock) -> None:
    world = a_world(app, clock)
    result = CliRunner().invoke(
        main,
        [
            "--database",
            app.settings.database.url,
            "privacy",
            "erase",
            "--case",
            str(world["noe_case"]),
            "--reason",
            "Demande par courriel",
            "--as",
            "referente",
            "--yes",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"Données de la personne n° {world['noe']} effacées" in result.output
    assert "17.3.d" in result.output
    assert found_anywhere(app, NOE.all()) == []
    with app.db.read() as conn:
        rows = conn.execute(select(OUTBOX.c.case_id, OUTBOX.c.recipients)).all()
    mails = {r.case_id: r.recipients for r in rows}
    assert mails == {world["lea_case"]: [LEA.email], world["noe_case"]: []}


def final_cohort() -> list[Person]:
    """Every case ended (so everyone's identity is due), with ages on both sides of their
    birthdays, both sexes and an unknown one, ruptures and exits."""
    people = []
    for i in range(12):
        birth = (date(2008, 3, 1), date(2008, 10, 15), date(2004, 9, 2), date(1999, 12, 31))[i % 4]
        rupture = date(2026, 9, 1) + timedelta(days=30 * (i + 1)) if i % 3 == 0 else None
        people.append(
            Person(
                "test" if i % 2 else "control",
                birth=birth,
                sex=("F", "M", None)[i % 3],
                level=3 + i % 3,
                rupture=rupture,
                state="exit_without_solution" if rupture else "closed",
                exit_kind="without_solution" if rupture else None,
            )
        )
    return people


def test_the_report_and_the_export_are_the_same_after_everything_is_purged(
    settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    zero = dataclasses.replace(settings, privacy=ZERO)
    with keyed_app(zero, clock, KEY) as app:
        add_user(app, login="evaluatrice", role="evaluator")
        add_cohort(app, final_cohort())
        scope = Scope(COHORT, date(2027, 6, 30))
        before = build_report(app, scope)
        export_cohort(app, COHORT, tmp_path / "before.csv", Actor.person("evaluatrice"))
        done = purge(app, clock.now(), apply=True)
        assert done.by_category()["identity"] == 12
        with app.db.read() as conn:
            assert conn.execute(select(PEOPLE.c.birth_date).distinct()).scalars().all() == [None]
        after = build_report(app, scope)
        export_cohort(app, COHORT, tmp_path / "after.csv", Actor.person("evaluatrice"))
    assert after.population == before.population == 12
    assert after.tables == before.tables
    assert (tmp_path / "after.csv").read_text() == (tmp_path / "before.csv").read_text()


def test_an_anonymised_case_still_shows(purging: App, clock: FixedClock) -> None:
    world = a_world(purging, clock)
    purge(purging, clock.now(), apply=True)
    result = CliRunner().invoke(
        main,
        [
            "--database",
            purging.settings.database.url,
            "case",
            "show",
            str(world["lea_case"]),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "PERSONNE ANONYMISÉE" in result.output
    assert "Né(e) en 2001" in result.output


def test_the_migration_goes_down_and_up_again(purging: App, clock: FixedClock, db_url: str) -> None:
    """Down to 0020: an anonymised person gets the 1st of January of their year back as a birth
    date (required again), the triggers are the old ones; up again: as before."""
    world = a_world(purging, clock)
    purge(purging, clock.now(), apply=True)
    purging.close()
    db = Database(DatabaseSettings(url=db_url))
    try:
        downgrade(db, "0020")
        with db.engine.begin() as conn:
            born = conn.execute(
                text("SELECT birth_date FROM beneficiaries WHERE id = :id"), {"id": world["lea"]}
            ).scalar()
            assert str(born) == "2001-01-01"
        with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
            conn.execute(text("UPDATE events SET data = '{}'"))
        upgrade(db)
        with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
            conn.execute(text("UPDATE events SET data = '{}'"))
    finally:
        db.engine.dispose()


def test_the_service_purges_once_a_day_and_logs_no_name(
    purging: App, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    world = a_world(purging, clock)
    first, second = Service(purging), Service(purging)  # two processes, one database
    with caplog.at_level(logging.INFO, logger="casework.privacy"):
        first.privacy_tick()
        second.privacy_tick()
    with purging.db.read() as conn:
        anonymised = conn.execute(
            select(PEOPLE.c.anonymised_at).where(PEOPLE.c.id == world["lea"])
        ).scalar()
        runs = conn.execute(select(PURGE_RUNS.c.day, PURGE_RUNS.c.finished_at)).all()
        purges = conn.execute(select(EVENTS.c.id).where(EVENTS.c.entity == "privacy")).all()
    assert anonymised is not None
    assert len(runs) == 1
    assert runs[0].finished_at is not None
    assert len(purges) == 1  # the second process found the day taken
    logged = caplog.text
    assert "identity" in logged
    assert not [s for s in (*LEA.all(), *NOE.all()) if s in logged]


def test_a_row_no_longer_due_when_its_chunk_is_done_is_left_alone(
    purging: App, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys of a chunk are read without the write lock; a person whose case was reopened
    between that read and the chunk's transaction (a new contract, a mistaken closure undone)
    is no longer due when the chunk is done, and keeps their name and their notes."""
    world = a_world(purging, clock)
    read = purging.db.read
    reads = itertools.count(1)

    @contextmanager
    def read_then_reopen() -> Iterator[Any]:
        with read() as conn:
            yield conn
        if next(reads) == 1:  # the first chunk's keys are read, not yet done
            with purging.db.transaction() as conn:
                conn.execute(
                    update(CASES).where(CASES.c.id == world["lea_case"]).values(state="follow_up")
                )

    monkeypatch.setattr(purging.db, "read", read_then_reopen)
    done = purge(purging, clock.now(), apply=True)
    with purging.db.read() as conn:
        lea = conn.execute(select(PEOPLE).where(PEOPLE.c.id == world["lea"])).one()
        noe = conn.execute(select(PEOPLE).where(PEOPLE.c.id == world["noe"])).one()
        lea_case = conn.execute(select(CASES).where(CASES.c.id == world["lea_case"])).one()
    assert (lea.birth_name, lea.anonymised_at) == (LEA.name, None)
    assert lea_case.notes_purged_at is None
    assert noe.anonymised_at is not None  # the rest of the chunk was done
    assert done.counts[("identity", "personnes")] >= 1


def test_due_keys_are_read_by_pages_of_many_chunks(
    purging: App, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding due keys can cost a scan whatever the LIMIT (ended cases by their state's index,
    sorted by key): read once per chunk, the purge cost the chunks times that scan. Each
    task now reads its keys once a page: one read for a page not full (here every task), and
    every due row is still done, a chunk at a time."""
    a_world(purging, clock)
    read = purging.db.read
    reads = itertools.count()

    @contextmanager
    def counted() -> Iterator[Any]:
        next(reads)
        with read() as conn:
            yield conn

    monkeypatch.setattr(purging.db, "read", counted)
    chunks: list[int] = []
    done = purge(purging, clock.now(), apply=True, chunk=2, progress=chunks.append)
    n_tasks = len(tasks(purging, clock.now()))
    assert next(reads) == n_tasks
    assert max(chunks) == 2
    assert len(chunks) > n_tasks
    assert count_due(purging, clock.now()).total == 0
    assert done.total == sum(chunks)


def test_pages_smaller_than_what_is_due_end_as_one_page_does(
    settings: Settings, twin_url: str, clock: FixedClock
) -> None:
    """Each full page is done, then the next is read after its last key, until one comes back
    short: the same end state as a purge whose first page holds everything."""
    twin_clock = FixedClock(clock.now())
    paged = _app_on(settings, clock, ZERO)
    whole = _app_on(settings.with_database(twin_url), twin_clock, ZERO)
    try:
        a_world(paged, clock)
        a_world(whole, twin_clock)
        by_pages = purge(paged, clock.now(), apply=True, chunk=2, page=3)
        at_once = purge(whole, twin_clock.now(), apply=True)
        assert by_pages.counts == at_once.counts
        assert snapshot(paged) == snapshot(whole)
        assert count_due(paged, clock.now()).total == 0
    finally:
        paged.close()
        whole.close()
