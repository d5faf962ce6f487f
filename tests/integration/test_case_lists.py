"""`casework case list` by referent, by what is due and what is overdue, and `--summary` with
the same filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import update

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.clock import FixedClock
from casework.models import Case, LiaisonSheet
from casework.notify.digest import due_items
from casework.queries import CaseFilter, list_cases
from tests.factories import add_case, add_sheet, add_user

REFERENTE = Actor.person("referente")


def listed(db_url: str, *args: str) -> list[int]:
    result = CliRunner().invoke(main, ["--database", db_url, "case", "list", *args])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    if lines == ["Aucun dossier."]:
        return []
    return [int(line.split()[0]) for line in lines[1:]]


def summary(db_url: str, *args: str) -> list[tuple[str, ...]]:
    result = CliRunner().invoke(main, ["--database", db_url, "case", "list", "--summary", *args])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    if lines == ["Aucun dossier."]:
        return []
    assert lines[0].split() == ["Groupe", "État", "Dossiers"]
    assert lines[-1].split()[0] == "Total"
    # Columns two spaces apart: (group, state, count), by their labels.
    return [tuple(re.split(r"\s{2,}", line.strip())) for line in lines[1:-1]]


def season(app: App, clock: FixedClock) -> dict[str, int]:
    """Cases of two referents, each waiting (or not) for something."""
    add_user(app)  # referente
    add_user(app, login="paul", email="paul@ml.example")
    cases = {
        "consent": add_case(app, state="consent_asked"),
        "check_in": add_case(app, state="follow_up", cycle=1),
        "contacted": add_case(app, state="follow_up", cycle=1),
        "reminded": add_case(app, state="consent_reminded"),
        "feedback": add_case(app, state="monitoring", cycle=6),
        "pauls_rupture": add_case(app, state="rupture", referent="paul"),
        "pauls_overdue_sheet": add_case(app, state="monitoring", cycle=6, referent="paul"),
        "closed": add_case(app, state="closed"),
        "control": add_case(app, group="control", state="outcome_tracking"),
    }
    contact = {"channel": "phone", "duration_min": 10}
    app.engine.fire_case(cases["contacted"], "record_contact", REFERENTE, **contact)
    add_sheet(app, case_id=cases["feedback"], state="feedback_received")
    add_sheet(app, case_id=cases["pauls_overdue_sheet"], state="overdue")
    add_sheet(app, case_id=cases["contacted"], state="sent")  # at the partner, not late yet
    with app.db.transaction() as conn:
        conn.execute(update(Case).where(Case.id == cases["control"]).values(cohort=2025))
    return cases


def test_due_is_what_the_digest_lists_and_filters_by_referent(
    app: App, clock: FixedClock, db_url: str
) -> None:
    c = season(app, clock)
    hers = [c["consent"], c["check_in"], c["reminded"], c["feedback"]]
    assert listed(db_url, "--for", "referente", "--due") == sorted(hers)
    with app.db.read() as conn:
        assert sorted(
            {i["case_id"] for i in due_items(conn, "referente", app.workflows)}
        ) == sorted(hers)
    everyone = [*hers, c["pauls_rupture"], c["pauls_overdue_sheet"]]
    assert listed(db_url, "--due") == sorted(everyone)
    assert listed(db_url, "--for", "paul") == [c["pauls_rupture"], c["pauls_overdue_sheet"]]
    assert listed(db_url, "--for", "paul", "--due", "--state", "rupture") == [c["pauls_rupture"]]


def test_overdue_is_a_deadline_passed_with_nothing_done(
    app: App, clock: FixedClock, db_url: str
) -> None:
    c = season(app, clock)
    late = [c["reminded"], c["pauls_overdue_sheet"]]
    assert listed(db_url, "--overdue") == sorted(late)
    assert listed(db_url, "--overdue", "--for", "paul") == [c["pauls_overdue_sheet"]]
    # A sheet marked overdue at the partner, once it moves on, no longer is.
    with app.db.transaction() as conn:
        conn.execute(
            update(LiaisonSheet)
            .where(LiaisonSheet.case_id == c["pauls_overdue_sheet"])
            .values(state="feedback_received")
        )
    assert listed(db_url, "--overdue", "--for", "paul") == []


def test_a_timer_left_unfired_past_its_time_makes_a_case_overdue(
    app: App, clock: FixedClock
) -> None:
    """Read through the query, on the test's clock (the command line reads the real one)."""
    add_user(app)
    case_id = add_case(app, state="consented")
    app.engine.fire_case(case_id, "start_follow_up", REFERENTE)  # the next cycle in a month
    app.engine.fire_case(case_id, "record_contact", REFERENTE, channel="sms", duration_min=5)
    grace = timedelta(seconds=app.settings.timers.overdue_after_seconds)

    def overdue() -> list[int]:
        where = CaseFilter(overdue_before=clock.now() - grace, workflows=tuple(app.workflows))
        with app.db.read() as conn:
            return [r.id for r in list_cases(conn, where=where)]

    clock.advance(timedelta(days=29))
    assert overdue() == []  # not due yet (on 1 October, 09:00 in Paris)
    clock.set(datetime(2026, 10, 1, 7, 4, tzinfo=UTC))  # due 4 minutes ago: the service has time
    assert overdue() == []
    clock.advance(timedelta(days=1))
    assert overdue() == [case_id]  # a day late: the service is behind
    app.sweeper.drain(clock.now())  # the service catches up: the next cycle has begun
    assert overdue() == []


def test_the_summary_counts_with_the_same_filters(app: App, clock: FixedClock, db_url: str) -> None:
    season(app, clock)
    tracked = ("témoin", "Suivi des résultats (groupe témoin)", "1")
    assert summary(db_url, "--cohort", "2025") == [tracked]
    assert tracked not in summary(db_url, "--cohort", "2026")
    assert {g for g, *_ in summary(db_url, "--group", "test")} == {"test"}
    assert summary(db_url, "--for", "paul") == [
        ("test", "Veille jusqu'à la fin du contrat", "1"),
        ("test", "Rupture du contrat", "1"),
    ]
    assert summary(db_url, "--for", "paul", "--due", "--state", "closed") == []


def test_an_unknown_referent_is_said_so(app: App, db_url: str) -> None:
    result = CliRunner().invoke(main, ["--database", db_url, "case", "list", "--for", "persone"])
    assert result.exit_code == 1
    assert "Utilisateur « persone » inconnu : voir `casework users list`." in result.output
