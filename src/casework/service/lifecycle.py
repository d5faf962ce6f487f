"""The service's life cycle: APScheduler calls the sweep every interval; the database decides.

Two beats: the timer sweep, and (when mail is enabled) the mail round, which queues the day's
digests once they are due and sends what the outbox holds (`casework.notify.sender`).

APScheduler (3.x, in-memory job store) only provides the beat: every `sweep_interval_seconds`,
`tick()` drains the due timers, batch by batch. Nothing about timers lives in APScheduler, so a
restart loses nothing, and any number of processes can run against one PostgreSQL (the claim
uses SKIP LOCKED). The job never overlaps itself (`max_instances=1`), and a late beat is run
once, not once per missed interval (`coalesce`).

Stopping (SIGTERM or SIGINT): the current batch finishes and commits, no new batch starts.

Looking at it: a third job, the beat, runs every HEARTBEAT_SECONDS whatever the sweep is doing
(a catch-up after downtime can sweep for minutes): it writes the process's heartbeat row (real
time, its last sweep, the state of its mail readers), which `casework status` reads from another
process, and refreshes the counts `/health` shows at most every `service.health_refresh_seconds`.
`/health` itself reads only memory: on a large database, counting timers and mails for every
request of a supervisor was enough to slow the link pages down.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import insert, select, update

from casework.accounts.sessions import SessionRules, purge_sessions
from casework.app import App
from casework.clock import Clock, SystemClock, to_local
from casework.errors import describe_error
from casework.models.tables import HEARTBEATS
from casework.service.composition import compose
from casework.timers.sweep import SweepReport

log = logging.getLogger("casework.service")
HEARTBEAT_SECONDS = 5.0
# Ended staff sessions are deleted by the beat this often (seconds).
PURGE_EVERY = 3600.0
# How often the service looks whether today's privacy purge is to run (`privacy.daily`): a
# job of its own, as a purge may take minutes and the beat must keep the heartbeat going.
PRIVACY_EVERY = 300.0
# `casework status` calls a process whose heartbeat is older than this stopped (it was killed,
# or its machine went down: a process that stops cleanly says so itself).
STALE_AFTER = timedelta(seconds=60)


class Service:
    def __init__(
        self,
        app: App,
        interval: float | None = None,
        before_sweep: Callable[[datetime], None] | None = None,
        wall: Clock | None = None,
    ):
        self.app = app
        # Real time, for the heartbeat and the readers (the casework clock may be simulated).
        self.wall = wall or SystemClock()
        self.interval = interval or app.settings.timers.sweep_interval_seconds
        # Something to run at each beat before sweeping (the demo's simulated people).
        self.before_sweep = before_sweep
        self.stopping = threading.Event()
        self.heartbeat_id: int | None = None
        self.purged_at: float | None = None  # monotonic time of the last purge of sessions
        self.privacy_day: date | None = None  # the casework day this process last saw purged
        self.last_sweep_at: datetime | None = None  # on the casework clock
        self.last_success: float | None = None  # real time, for staleness
        self.last_report = SweepReport()
        self.last_error: str | None = None
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.last_mail: dict[str, int] = {}
        self.last_mail_error: str | None = None
        # What /health shows of the database, refreshed by the beat (never by a request).
        self.counts: dict[str, Any] = {}
        self.counts_at: float | None = None  # monotonic
        parts = compose(app, self.wall)
        self.mail, self.digests = parts.mail, parts.digests
        self.lmtp, self.imap, self.readers = parts.lmtp, parts.imap, parts.readers

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        now = self.wall.now()
        with self.app.db.transaction() as conn:
            self.heartbeat_id = conn.execute(
                insert(HEARTBEATS).returning(HEARTBEATS.c.id),
                {
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "started_at": now,
                    "last_seen_at": now,
                    "last_sweep": {},
                },
            ).scalar_one()
        self._every(HEARTBEAT_SECONDS, self.beat, "beat")
        self._every(self.interval, self.tick, "sweep")
        self._every(PRIVACY_EVERY, self.privacy_tick, "privacy")
        if self.mail is not None:
            self._every(self.app.settings.mail.send_interval_seconds, self.mail_tick, "mail")
        self.scheduler.start()
        if self.lmtp is not None:
            self.lmtp.start()
        if self.imap is not None:
            self.imap.start()
        log.info(
            "service started: sweeping every %.3gs (heartbeat %s, pid %s)",
            self.interval,
            self.heartbeat_id,
            os.getpid(),
        )

    def _every(self, seconds: float, job: Callable[[], None], name: str) -> None:
        """A beat: first at once; never overlapping itself; a late beat run once, not once per
        missed interval."""
        self.scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            id=name,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def stop(self) -> None:
        """Let the batch in progress finish and commit, start no other, then record the stop."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        log.info("service stopping: finishing the current batch")
        if self.lmtp is not None:
            self.lmtp.stop()  # no new mail taken in; the server keeps what it could not deliver
        if self.imap is not None:
            self.imap.stop()  # what was not flagged read is read again at the next start
        self.scheduler.shutdown(wait=True)
        with self.app.db.transaction() as conn:
            conn.execute(
                update(HEARTBEATS)
                .where(HEARTBEATS.c.id == self.heartbeat_id)
                .values(stopped_at=self.wall.now(), readers=self._readers())
            )
        log.info("service stopped")

    # -- the beat --------------------------------------------------------------------------------

    def tick(self) -> None:
        if self.stopping.is_set():
            return
        now = self.app.clock.now()
        try:
            if self.before_sweep is not None:
                self.before_sweep(now)
            report = self.app.sweeper.drain(now, self.stopping.is_set)
        except Exception as error:
            # Logged and shown by /health; the next beat tries again.
            self.last_error = describe_error(error)
            log.exception("sweep failed")
            return
        self.last_sweep_at, self.last_report, self.last_error = now, report, None
        self.last_success = time.monotonic()
        with self.app.db.transaction() as conn:
            conn.execute(
                update(HEARTBEATS)
                .where(HEARTBEATS.c.id == self.heartbeat_id)
                .values(
                    last_seen_at=self.wall.now(), last_sweep_at=now, last_sweep=report.summary()
                )
            )

    def mail_tick(self) -> None:
        if self.stopping.is_set():
            return
        try:
            self.digests.run(self.app.clock.now())
            report = self.mail.drain_sync(self.stopping.is_set)
        except Exception as error:
            self.last_mail_error = describe_error(error)
            log.exception("mail round failed")
            return
        self.last_mail = report.summary()
        self.last_mail_error = "; ".join(report.errors) or None

    def beat(self) -> None:
        """The heartbeat row (real time, the readers' state), and the counts /health shows when
        they are older than `service.health_refresh_seconds`. Runs beside the sweep."""
        # The heartbeat first, and apart: counts that fail must not make a live process look
        # stopped.
        try:
            with self.app.db.transaction() as conn:
                conn.execute(
                    update(HEARTBEATS)
                    .where(HEARTBEATS.c.id == self.heartbeat_id, HEARTBEATS.c.stopped_at.is_(None))
                    .values(last_seen_at=self.wall.now(), readers=self._readers())
                )
        except Exception as error:
            log.error("heartbeat failed: %s", describe_error(error))
        try:
            if self.purged_at is None or time.monotonic() - self.purged_at >= PURGE_EVERY:
                self.purge_sessions()
        except Exception as error:
            log.error("purging ended staff sessions failed: %s", describe_error(error))
        try:
            refresh = self.app.settings.service.health_refresh_seconds
            if self.counts_at is None or time.monotonic() - self.counts_at >= refresh:
                self.refresh_counts()
        except Exception as error:
            log.error("counting for /health failed: %s", describe_error(error))

    def privacy_tick(self) -> None:
        """Today's retention purge, once a day across every process (`privacy.daily`)."""
        from casework.privacy.daily import run_daily

        day = to_local(self.app.clock.now()).date()
        if self.stopping.is_set() or day == self.privacy_day:
            return
        try:
            run_daily(self.app, self.stopping.is_set)
        except Exception as error:
            # The chunks done stay done; the rest is still due at the next day's run.
            log.error("privacy purge failed: %s", describe_error(error))
        self.privacy_day = day

    def purge_sessions(self) -> None:
        """Delete the staff sessions that can never work again (`accounts.sessions`); several
        processes doing it at once delete the same rows, harmlessly."""
        rules = SessionRules.from_settings(self.app.settings.web)
        with self.app.db.transaction() as conn:
            gone = purge_sessions(conn, self.wall.now(), rules)
        self.purged_at = time.monotonic()
        if gone:
            log.info("deleted %d ended staff sessions", gone)

    def refresh_counts(self) -> None:
        """Timers and mail waiting, counted through the partial indexes of what is pending."""
        overdue = timedelta(seconds=self.app.settings.timers.overdue_after_seconds)
        with self.app.db.read() as conn:
            counts: dict[str, Any] = {
                "timers": self.app.engine.timers.counts(conn, self.app.clock.now(), overdue)
            }
            if self.mail is not None:
                counts["outbox"] = self.app.engine.outbox.waiting(conn, self.app.clock.now())
        self.counts, self.counts_at = counts, time.monotonic()

    # -- looking at it ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """For process supervisors: healthy while sweeps succeed at the expected pace and every
        mail reader works. Reads memory only (the beat keeps the counts)."""
        stale_after = max(10.0, 5 * self.interval)
        fresh = self.last_success is not None and time.monotonic() - self.last_success < stale_after
        readers = self._readers()
        healthy = (
            fresh and not self.stopping.is_set() and all(r["healthy"] for r in readers.values())
        )
        return {
            "status": "ok" if healthy else "unhealthy",
            "pid": os.getpid(),
            "last_sweep_at": self.last_sweep_at.isoformat() if self.last_sweep_at else None,
            "last_sweep": self.last_report.summary(),
            "last_error": self.last_error,
            "timers": self.counts.get("timers", {}),
            "counted_seconds_ago": (
                round(time.monotonic() - self.counts_at, 1) if self.counts_at else None
            ),
            "mail": self._mail_health(),
            "readers": readers,
        }

    def _readers(self) -> dict[str, Any]:
        return {name: state.summary() for name, state in self.readers.items()}

    def _mail_health(self) -> dict[str, Any]:
        if self.mail is None:
            return {"enabled": False}
        return {
            "enabled": True,
            "outbox": self.counts.get("outbox", {}),
            "last_round": self.last_mail,
            "last_error": self.last_mail_error,
        }


def heartbeats(app: App, limit: int = 20) -> list[Any]:
    stmt = select(HEARTBEATS).order_by(HEARTBEATS.c.last_seen_at.desc()).limit(limit)
    with app.db.read() as conn:
        return list(conn.execute(stmt).all())
