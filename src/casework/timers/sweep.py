"""The sweep: fire the timers whose time has come, through the engine.

A plain function of `now` (the service's scheduler only calls it). One batch is one
transaction: claim due timers, fire their triggers with `Engine.fire_many` on the same
connection, mark each timer fired, discarded or to retry, commit. Hence:

- exactly once: a timer is marked fired in the transaction of the transition it fires; if the
  process dies before the commit, both are rolled back and the timer is still pending for the
  next sweep (of this process or another); PostgreSQL's `SKIP LOCKED` keeps two processes off
  the same timer while it is in flight;
- in due order: timers are claimed earliest first, and a row with several due timers (after
  downtime) gets them one after the other, in due order, each seeing the previous one's result;
- once, not once per missed interval: a timer is a row, fired once; the next one is set when its
  state is entered again, counted from then;
- one broken timer never blocks the others: a guard or handler that raises sets that timer aside
  (retried with backoff, then parked as failed); if the database refuses the batch as a whole,
  its timers are taken again one by one, each in its own transaction.
"""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert

from casework.actors import Actor
from casework.clock import format_local
from casework.engine import Engine
from casework.errors import TransitionRefused
from casework.models import TimerStatus
from casework.models.tables import EVENTS
from casework.retry import Backoff
from casework.settings import TimerSettings
from casework.timers.store import TimerStore

log = logging.getLogger("casework.sweep")
TIMER_ACTOR = Actor.timer("timer")


# How the log says what a sweep did (`SweepReport.told`).
LOGGED = {
    "fired": "fired",
    "discarded": "discarded",
    "retried": "to retry",
    "failed": "parked as failed",
}


@dataclass
class SweepReport:
    claimed: int = 0
    fired: Counter[str] = field(default_factory=Counter)  # by trigger
    discarded: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    failed: int = 0
    isolated: bool = False  # the batch failed as a whole and was taken again timer by timer
    full: bool = False  # the batch was full: more timers may be waiting

    def add(self, other: SweepReport) -> None:
        self.claimed += other.claimed
        self.fired.update(other.fired)
        self.discarded.update(other.discarded)
        self.retried += other.retried
        self.failed += other.failed
        self.isolated = self.isolated or other.isolated

    def summary(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "fired": dict(self.fired),
            "discarded": dict(self.discarded),
            "retried": self.retried,
            "failed": self.failed,
        }

    def told(self, action: Callable[[str], str], words: Mapping[str, str]) -> str:
        """This report in words: `words` says fired, discarded, retried and failed, `action`
        names each trigger (the log's English and codes; `simulate`'s French and labels)."""

        def by(counter: Counter[str]) -> str:
            return ", ".join(f"{action(t)} ×{n}" for t, n in counter.most_common())

        parts = [f"{sum(self.fired.values())} {words['fired']} ({by(self.fired)})"]
        if self.discarded:
            parts.append(
                f"{sum(self.discarded.values())} {words['discarded']} ({by(self.discarded)})"
            )
        if self.retried:
            parts.append(f"{self.retried} {words['retried']}")
        if self.failed:
            parts.append(f"{self.failed} {words['failed']}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.told(str, LOGGED)


class Sweeper:
    def __init__(
        self,
        engine: Engine,
        settings: TimerSettings | None = None,
        uniform: Callable[[float, float], float] = random.uniform,
    ):
        self.engine = engine
        self.db = engine.db
        self.store: TimerStore = engine.timers
        self.settings = settings or TimerSettings()
        self.backoff = Backoff(
            self.settings.retry_base_seconds, self.settings.retry_max_seconds, uniform
        )

    # -- entry points ----------------------------------------------------------------------------

    def drain(self, now: datetime, should_stop: Callable[[], bool] = lambda: False) -> SweepReport:
        """Sweep batch after batch until nothing is due (or asked to stop between batches)."""
        total = SweepReport()
        while not should_stop():
            report = self.sweep(now)
            total.add(report)
            if not report.full:
                break
        return total

    def sweep(self, now: datetime, limit: int | None = None) -> SweepReport:
        """One batch, in one transaction."""
        limit = limit or self.settings.batch_size
        claimed: list[Any] = []
        try:
            with self.db.transaction() as conn:
                claimed = self.store.claim_due(conn, now, limit)
                report = self._process(conn, claimed, now)
        except Exception:
            if not claimed:
                raise
            log.exception(
                "sweep: a batch of %d timers failed; taking them one by one", len(claimed)
            )
            report = self._one_by_one([t.id for t in claimed], now)
        report.full = report.claimed >= limit
        if report.claimed:
            log.info("sweep at %s (Paris): %s", format_local(now), report)
        return report

    # -- a batch ---------------------------------------------------------------------------------

    def _process(self, conn: Connection, timers: list[Any], now: datetime) -> SweepReport:
        report = SweepReport(claimed=len(timers))
        waiting = list(timers)  # claimed in due order
        while waiting:
            # A wave takes each row's earliest timer; its other ones wait for the next wave, so
            # that they see the state the first one left (and may have been cancelled by it).
            wave, later, seen = [], [], set()
            for timer in waiting:
                key = (timer.entity, timer.entity_id)
                (later if key in seen else wave).append(timer)
                seen.add(key)
            self._fire_wave(conn, wave, now, report)
            if later:
                # Those the first wave's transitions cancelled (their state was left) are done.
                statuses = self.store.statuses(conn, [t.id for t in later])
                later = [t for t in later if statuses.get(t.id) == TimerStatus.PENDING]
            waiting = later
        return report

    def _fire_wave(
        self, conn: Connection, wave: list[Any], now: datetime, report: SweepReport
    ) -> None:
        # Later than the grace, a timer has misfired; `misfire: skip` ones are dropped.
        misfire_grace = timedelta(seconds=self.settings.misfire_grace_seconds)
        skipped = [t for t in wave if t.misfire == "skip" and now - t.due_at > misfire_grace]
        if skipped:
            self._discard(
                conn, skipped, now, "misfire: skipped after being due since too long", report
            )
        skipped_ids = {t.id for t in skipped}
        groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for timer in wave:
            if timer.id not in skipped_ids:
                groups[(timer.entity, timer.trigger)].append(timer)
        # Groups in the order of their earliest timer: the batch keeps to due order.
        for (entity, trigger), timers in groups.items():
            by_entity = {t.entity_id: t for t in timers}
            self.store.mark_fired(conn, [t.id for t in timers], now)
            result = self.engine.fire_many(
                entity,
                list(by_entity),
                trigger,
                TIMER_ACTOR,
                conn=conn,
                isolate=True,
                entered={t.entity_id: t.set_version for t in timers},
            )
            fired = [by_entity[done.entity_id] for done in result.applied]
            report.fired[trigger] += len(fired)
            for timer in fired:
                log.debug(
                    "timer %s: %s %s %s fired (due %s)",
                    timer.id,
                    entity,
                    timer.entity_id,
                    trigger,
                    timer.due_at.isoformat(),
                )
            refused = [(by_entity[r.entity_id], r) for r in result.refused]
            for timer, refusal in refused:
                self._discard(conn, [timer], now, _reason(refusal), report, refusal.state)
            gone = [by_entity[i] for i in result.missing]
            if gone:
                self._discard(conn, gone, now, "the row no longer exists", report)
            for entity_id, error in result.failed:
                self._retry(conn, by_entity[entity_id], now, error, report)

    def _discard(
        self,
        conn: Connection,
        timers: list[Any],
        now: datetime,
        reason: str,
        report: SweepReport,
        state: str | None = None,
    ) -> None:
        """Close timers that will not fire, with an event on their row saying why."""
        self.store.close(conn, [t.id for t in timers], TimerStatus.DISCARDED, now, reason)
        conn.execute(
            insert(EVENTS),
            [
                {
                    "case_id": t.case_id,
                    "entity": t.entity,
                    "entity_id": t.entity_id,
                    "version": None,
                    "trigger": t.trigger,
                    "from_state": state or t.state,
                    "to_state": None,
                    "actor_kind": TIMER_ACTOR.kind_value,
                    "actor": TIMER_ACTOR.id,
                    "at": now,
                    "data": {
                        "timer": t.id,
                        "outcome": "discarded",
                        "reason": reason,
                        "due_at": t.due_at.isoformat(),
                    },
                }
                for t in timers
            ],
        )
        for timer in timers:
            report.discarded[timer.trigger] += 1
            log.info(
                "timer %s: %s %s %s discarded: %s",
                timer.id,
                timer.entity,
                timer.entity_id,
                timer.trigger,
                reason,
            )

    def _retry(
        self,
        conn: Connection,
        timer: Any,
        now: datetime,
        error: BaseException,
        report: SweepReport,
    ) -> None:
        message = f"{type(error).__name__}: {error}"[:2000]
        parked = self.store.retry_later(
            conn, timer, now, message, self.settings.max_attempts, self.backoff
        )
        if parked:
            report.failed += 1
        else:
            report.retried += 1
        log.log(
            logging.ERROR if parked else logging.WARNING,
            "timer %s: %s %s %s failed (attempt %d), %s: %s",
            timer.id,
            timer.entity,
            timer.entity_id,
            timer.trigger,
            timer.attempts + 1,
            "parked as failed" if parked else "will retry",
            message,
        )

    # -- when the database refused a whole batch --------------------------------------------------

    def _one_by_one(self, ids: list[int], now: datetime) -> SweepReport:
        report = SweepReport(isolated=True)
        for timer_id in ids:
            claimed: list[Any] = []
            try:
                with self.db.transaction() as conn:
                    claimed = self.store.claim_due(conn, now, 1, only=timer_id)
                    report.add(self._process(conn, claimed, now))
            except Exception as error:
                if not claimed:
                    continue  # taken by another process meanwhile, or no longer due
                with self.db.transaction() as conn:
                    report.claimed += 1
                    self._retry(conn, claimed[0], now, error, report)
        return report


def _reason(refusal: TransitionRefused) -> str:
    """Why a timer was set aside, in French: `casework history` shows it."""
    what, moved = ("la fiche", "passée") if refusal.entity == "liaison" else ("le dossier", "passé")
    if refusal.reason == "stale":
        return f"{what} a changé d'état depuis que le minuteur a été posé"
    if refusal.reason == "state":
        return f"{what} est {moved} à l'état « {refusal.state_label} »"
    if refusal.reason == "guards":
        return "ses conditions ne sont pas remplies" + (
            f" : {refusal.detail}" if refusal.detail else ""
        )
    return f"refusé : {refusal.french()}"
