"""The service's health as people read it, for `casework status` and the staff steering page:
the timers (pending, due, overdue, failed, the next ones), each service process that beat
(running or stopped, its last sweep, its mail readers) and the outbox (waiting, failed).

Each figure reads a partial index (pending and failed timers, waiting and failed mails) or the
heartbeats' few rows, whatever the size of the tables; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from casework import wording
from casework.app import App
from casework.clock import format_local
from casework.models.outbox import MailStatus
from casework.models.tables import OUTBOX
from casework.queries import definitions_of
from casework.service.lifecycle import STALE_AFTER, heartbeats
from casework.states.definition import WorkflowDef
from casework.text_hygiene import for_terminal

READER_NAMES = {"imap": "Lecture IMAP", "lmtp": "Réception LMTP"}


@dataclass
class Process:
    """One service process that beat."""

    host: str
    pid: int
    running: bool
    state: str  # « en marche », « arrêté le … »
    started: str
    last_sweep: str
    fired: int
    readers: list[str] = field(default_factory=list)  # a running one's, in words

    @property
    def line(self) -> str:
        return (
            f"Service {self.host}:{self.pid} ({self.state}) — démarré le {self.started}, "
            f"dernier balayage {self.last_sweep} ({self.fired} déclenché(s))"
        )


@dataclass
class ServiceStatus:
    timers: dict[str, int]  # pending, due, overdue, failed
    overdue_after: float  # seconds: a due timer not taken for longer is overdue
    upcoming: list[tuple[datetime, str]]  # the next timers: when, and what to which row
    processes: list[Process]
    mails: dict[str, int]  # queued, due, failed

    @property
    def running(self) -> bool:
        return any(p.running for p in self.processes)


def service_status(app: App, upcoming: int = 5) -> ServiceStatus:
    now = app.clock.now()
    overdue_after = app.settings.timers.overdue_after_seconds
    with app.db.read() as conn:
        timers = app.engine.timers.counts(conn, now, timedelta(seconds=overdue_after))
        next_ones = app.engine.timers.upcoming(conn, limit=upcoming)
        keys = ((t.entity, t.entity_id) for t in next_ones)
        definitions = definitions_of(conn, app.workflows, keys)
        mails = app.engine.outbox.waiting(conn, now)
        failed = OUTBOX.c.status == MailStatus.FAILED.value
        mails["failed"] = int(conn.execute(select(func.count()).where(failed)).scalar_one())
    wall = app.clock.now()  # heartbeats are in real time, whatever clock the service ran
    return ServiceStatus(
        timers,
        overdue_after,
        [(t.due_at, timer_text(definitions.get((t.entity, t.entity_id)), t)) for t in next_ones],
        [_process(b, wall) for b in heartbeats(app)],
        mails,
    )


def timer_text(definition: WorkflowDef | None, timer: Any) -> str:
    """ "dossier 12 : Relancer pour le consentement" — what a timer will do, to which row (in
    the words of the row's own workflow)."""
    what = "dossier" if timer.entity == "case" else "fiche"
    return f"{what} {timer.entity_id} : {wording.action(definition, timer.trigger)}"


def _process(beat: Any, wall: datetime) -> Process:
    running = beat.stopped_at is None and wall - beat.last_seen_at <= STALE_AFTER
    return Process(
        beat.host,
        beat.pid,
        running,
        _process_state(beat, wall),
        format_local(beat.started_at),
        format_local(beat.last_sweep_at),
        sum((beat.last_sweep or {}).get("fired", {}).values()),
        [reader_line(n, r) for n, r in sorted((beat.readers or {}).items())] if running else [],
    )


def _process_state(beat: Any, wall: datetime) -> str:
    if beat.stopped_at is not None:
        return f"arrêté le {format_local(beat.stopped_at)}"
    silent = wall - beat.last_seen_at
    if silent > STALE_AFTER:
        return f"arrêté ; dernier signe il y a {duration(silent)}"
    return "en marche"


def reader_line(name: str, reader: dict[str, Any]) -> str:
    """One mail reader of a running service, as `casework status` shows it."""
    label = READER_NAMES.get(name, name)
    taken = f"{reader.get('taken', 0)} courriel(s) reçu(s)"
    last = _parsed(reader.get("last_fetch_at"))
    seen = f", dernier passage le {format_local(last)}" if last else ""
    if not reader.get("running"):
        stopped = _parsed(reader.get("stopped_since"))
        return f"{label} : arrêtée depuis le {format_local(stopped)} ({taken}{seen})"
    failing = _parsed(reader.get("failing_since"))
    if failing is not None:
        error = for_terminal(reader.get("last_error"), keep_newlines=False)
        return f"{label} : en échec depuis le {format_local(failing)} ({error}){seen}"
    return f"{label} : en marche ({taken}{seen})"


def _parsed(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def duration(delta: timedelta) -> str:
    """'3 min', '2 h 05', '4 j' — how long ago, in French."""
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 86_400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{seconds // 86_400} j"
