"""The service's daily purge: once per day of the casework clock, whatever the processes.

The claim is a row of `purge_runs` keyed by the day (Paris): the process whose INSERT commits
runs that day's purge; a second process (or the same one, later that day) hits the key and
does nothing. A crash mid-run leaves the claim without `finished_at`: the chunks committed are
done, the rest stays due and the next day's run finishes it (the purge is idempotent and each
chunk is whole or absent), so nothing is lost or done twice for want of a retry today.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from casework.actors import Actor
from casework.app import App
from casework.clock import to_local
from casework.models.tables import PURGE_RUNS
from casework.privacy.purge import PurgeReport, purge

log = logging.getLogger("casework.privacy")


def claim(app: App, day: date, now: datetime) -> bool:
    """True if this process is the one to purge on `day`."""
    try:
        with app.db.transaction() as conn:
            conn.execute(
                insert(PURGE_RUNS),
                {"day": day, "started_at": now, "host": socket.gethostname(), "pid": os.getpid()},
            )
    except IntegrityError:
        return False
    return True


def run_daily(app: App, should_stop: Callable[[], bool] = lambda: False) -> PurgeReport | None:
    """Today's purge if nobody ran it yet (None otherwise). Logs counts, never a name."""
    now = app.clock.now()
    day = to_local(now).date()
    if not claim(app, day, now):
        return None
    report = purge(
        app,
        now,
        apply=True,
        actor=Actor.system("purge"),
        should_stop=should_stop,
        record_empty=False,
    )
    counts = report.by_category()
    with app.db.transaction() as conn:
        conn.execute(
            update(PURGE_RUNS)
            .where(PURGE_RUNS.c.day == day)
            .values(finished_at=app.clock.now(), counts=counts)
        )
    log.info("daily privacy purge of %s: %s", day.isoformat(), counts)
    return report
