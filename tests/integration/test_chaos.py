"""Chaos (issue 11), the CI season: three `casework serve` processes on one PostgreSQL, ~200
cases through consent, reminders, monthly cycles and liaison sheets on a fast clock, twenty
SIGKILLs at moments drawn from the seed; then nothing lost, nothing doubled, nothing stuck.

What is run and checked: tests/chaos/. The full run (100 kills, a bigger cohort, a year) is
`bench/chaos.py`; its figures are in docs/benchmarks.md. To replay a failure, run the same seed:
`.venv/bin/python bench/chaos.py --kills 20 --cases 200 --seed <seed>`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from casework.app import build_app
from casework.clock import FixedClock
from casework.models import Event, OutboxMail, Timer
from casework.settings import MailSettings, Settings
from tests.chaos.checks import check
from tests.chaos.driver import ChaosConfig, ChaosResult, figures, run_chaos
from tests.chaos.kills import PREFIX

pytestmark = pytest.mark.postgres_only

SEED = 11


def test_a_season_with_twenty_kills_loses_and_doubles_nothing(
    db_url: str, backend: str, tmp_path: Path
) -> None:
    config = ChaosConfig(cases=200, kills=20, seed=SEED, season_days=180, gaps=(0.2, 1.0))
    result = run_chaos(db_url, config, tmp_path)
    numbers = figures(result)
    print(json.dumps(numbers, indent=1, default=str))  # shown with -s, or when it fails
    assert result.violations == [], f"seed {SEED}: " + "\n".join(result.violations)
    assert len(result.kills) == 20
    # The season did happen (a run that fired nothing would pass every invariant): the
    # consent requests went out, consents started the monthly cycles, months went by.
    fired = numbers["timers_fired_by_trigger"]
    assert fired["start_follow_up"] > 0
    assert fired["next_cycle"] > 0
    assert numbers["mails_by_status"]["sent"] > result.groups["test"]
    assert_the_checks_would_see(db_url, result)


def assert_the_checks_would_see(db_url: str, result: ChaosResult) -> None:
    """A doubled transition, a lost timer, a lost mail and a stuck one, made by hand in the
    database the run left: the same checks must name each (a check that cannot fail proves
    nothing)."""
    assert result.ledger is not None
    assert result.checked_at is not None
    settings = Settings(mail=MailSettings(enabled=False)).with_database(db_url)
    app = build_app(settings, FixedClock(result.checked_at))
    events, timers, outbox = Event.__table__, Timer.__table__, OutboxMail.__table__
    try:
        with app.db.transaction() as conn:
            last = conn.execute(
                select(events).where(events.c.entity == "case").order_by(events.c.id.desc())
            ).first()
            assert last is not None
            doubled = {k: v for k, v in last._asdict().items() if k != "id"}
            conn.execute(insert(events).values(doubled))
            # A pending timer, else (a season that ran to its end) a cancelled one: marked
            # fired with no transition either way.
            pending = conn.execute(
                select(timers.c.id)
                .where(timers.c.status.in_(["pending", "cancelled"]))
                .order_by(timers.c.status.desc())
                .limit(1)
            ).scalar_one()
            conn.execute(update(timers).where(timers.c.id == pending).values(status="fired"))
            lost, stuck = conn.execute(
                select(outbox.c.id).where(outbox.c.status == "sent").limit(2)
            ).scalars()
            conn.execute(update(outbox).where(outbox.c.id == lost).values(message_id="<x@y>"))
            conn.execute(update(outbox).where(outbox.c.id == stuck).values(status="queued"))
        found = check(app, result.ledger, result.checked_at, result.killed, result.stopped, PREFIX)
    finally:
        app.close()
    seen = "\n".join(found.violations)
    for what in (
        "rows whose event versions are not 1..n",
        "timers marked fired with no transition",
        "mails marked sent that the relay never received",
        "messages received that are no sent mail",
        "mails not sent",
    ):
        assert what in seen, seen
