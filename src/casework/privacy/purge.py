"""The retention purge: every category's due rows (`retention`), done by chunks (`anonymise`).

Planned for a million cases: each task reads its due keys in key order, `PAGE` at a time, by
a read that takes no write lock, and does them `CHUNK` at a time, each chunk set-based in one
short transaction (the keys checked again inside it, by key: a chunk is done whole or not at
all, and only on rows still due). A page of many chunks, because finding due keys may cost a
scan whatever the LIMIT (ended cases are found by their state's index, then sorted by key):
read once per chunk, the purge cost the chunks due times that scan (bench/privacy.py).

Interrupted (a crash, a stop, an error), what was committed is done for good and the rest is
still due: a later run finishes the work, and the end state is the same as an uninterrupted
run's. Idempotent: what is done is no longer due (markers,
deletions), so a second run finds nothing.

Several runs at once (the service's daily purge and a command): each chunk is idempotent, so
two runs on the same rows write the same values twice, harmlessly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from casework.actors import Actor
from casework.app import App
from casework.audit import record_event
from casework.chunks import KEYS_PER_QUERY
from casework.privacy import anonymise, retention
from casework.privacy.retention import CATEGORIES, Category
from casework.text_limits import french_number

log = logging.getLogger("casework.privacy")
CHUNK = KEYS_PER_QUERY
PAGE = 100 * CHUNK  # due keys read at once (ints: a few MB at most)
# SQLite's one writer: after each chunk, the purge waits as long as the chunk held the lock (up
# to this), or it takes the lock again at once and starves the other writers, whose busy
# handler polls at growing intervals (up to 100 ms) rather than queueing.
MAX_PAUSE = 0.1


@dataclass(frozen=True)
class Task:
    """One kind of row of one category: what is due, and what to do to a chunk of it."""

    category: Category
    what: str  # the rows, in French (plural)
    due: Select[Any]
    apply: Callable[[Connection, Sequence[int]], int]


def tasks(app: App, now: datetime) -> list[Task]:
    settings, flows = app.settings.privacy, app.workflows

    def before(category: Category) -> datetime:
        return retention.cutoff(now, category.months(settings))

    keys = anonymise.free_text_keys(flows)
    c = retention
    return [
        Task(
            c.IDENTITY,
            "personnes",
            c.people_due(flows, before(c.IDENTITY)),
            lambda conn, ids: anonymise.anonymise_people(conn, ids, now),
        ),
        Task(
            c.NOTES,
            "dossiers",
            c.cases_due(flows, before(c.NOTES), "notes_purged_at"),
            lambda conn, ids: anonymise.purge_notes(conn, ids, now, keys),
        ),
        Task(
            c.INBOUND_MAIL,
            "courriels reçus",
            c.inbound_due(before(c.INBOUND_MAIL)),
            lambda conn, ids: anonymise.purge_inbound(conn, ids, now),
        ),
        Task(
            c.OUTBOX_MAIL,
            "courriels envoyés",
            c.outbox_due(before(c.OUTBOX_MAIL)),
            lambda conn, ids: anonymise.purge_outbox(conn, ids, now),
        ),
        Task(
            c.OUTBOX_MAIL,
            "liens d'action expirés",
            c.links_due(before(c.OUTBOX_MAIL)),
            anonymise.purge_links,
        ),
        Task(
            c.INTAKE,
            "lignes importées",
            c.records_due(before(c.INTAKE)),
            lambda conn, ids: anonymise.delete_rows(conn, "intake_records", ids),
        ),
        Task(
            c.INTAKE,
            "lignes rejetées",
            c.rejects_due(before(c.INTAKE)),
            lambda conn, ids: anonymise.delete_rows(conn, "intake_rejects", ids),
        ),
        Task(
            c.INTAKE,
            "rapprochements proposés",
            c.proposals_due(before(c.INTAKE)),
            lambda conn, ids: anonymise.delete_rows(conn, "match_proposals", ids),
        ),
        Task(
            c.AUDIT,
            "dossiers",
            c.cases_due(flows, before(c.AUDIT), "audit_purged_at"),
            lambda conn, ids: anonymise.purge_audit(conn, ids, now),
        ),
        Task(
            c.ACCESS,
            "consultations",
            c.access_due(before(c.ACCESS)),
            lambda conn, ids: anonymise.delete_rows(conn, "access_log", ids),
        ),
    ]


@dataclass
class PurgeReport:
    applied: bool
    # (category code, what) → rows due (dry run) or done (apply), in the tasks' order.
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_category(self) -> dict[str, int]:
        """Rows per category (its code): what the audit event and the logs carry."""
        found: dict[str, int] = {c.code: 0 for c in CATEGORIES}
        for (code, _what), n in self.counts.items():
            found[code] += n
        return found

    def french(self) -> list[str]:
        """One line per category, then what was done (or what --apply would do)."""
        lines = []
        for category in CATEGORIES:
            parts = [
                f"{what} : {french_number(n)}"
                for (code, what), n in self.counts.items()
                if code == category.code
            ]
            lines.append(f"{category.label} — {' ; '.join(parts)}.")
        n, s = french_number(self.total), "s" if self.total > 1 else ""
        if self.applied:
            lines.append(f"Purge faite : {n} ligne{s} traitée{s}, inscrite au journal.")
        elif self.total:
            lines.append(
                f"Simulation : {n} ligne{s} à traiter, rien n'a été modifié ; --apply pour purger."
            )
        else:
            lines.append("Rien n'est à purger.")
        return lines


def count_due(app: App, now: datetime) -> PurgeReport:
    """The dry run: how many rows each task would do now."""
    report = PurgeReport(applied=False)
    with app.db.read() as conn:
        for task in tasks(app, now):
            n = conn.execute(select(func.count()).select_from(task.due.subquery())).scalar_one()
            report.counts[(task.category.code, task.what)] = int(n)
    return report


def purge(
    app: App,
    now: datetime,
    apply: bool,
    actor: Actor | None = None,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    chunk: int = CHUNK,
    record_empty: bool = True,
    page: int = PAGE,
) -> PurgeReport:
    """Count what is due (`apply` False), or do it chunk by chunk and record one audit event
    (entity "privacy") with the counts. `progress` gets each chunk's size; `should_stop` is
    asked between chunks (the service stopping): a stopped run records what it did. The due
    keys are read `page` at a time, done `chunk` at a time.
    `record_empty` False: no event for a run that did nothing (the daily one)."""
    if not apply:
        return count_due(app, now)
    report = PurgeReport(applied=True)
    single_writer = app.db.engine.dialect.name == "sqlite"
    for task in tasks(app, now):
        key = (task.category.code, task.what)
        report.counts[key] = 0
        after: int | None = None
        keys = task.due.selected_columns[0]
        while not should_stop():
            # Finding the due keys is a scan (nothing due is the usual day: a pass over the
            # table): read without the write lock, which SQLite's one writer would otherwise
            # hold for the whole scan while link clicks, pages and the sweep wait.
            with app.db.read() as conn:
                due = task.due.limit(page)
                if after is not None:
                    due = due.where(keys > after)
                found = [int(i) for i in conn.execute(due).scalars()]
            for start in range(0, len(found), chunk):
                if start and should_stop():
                    break
                ids = found[start : start + chunk]
                # Doing it: the rows still due among those keys (found by key, cheap),
                # re-checked under the lock: a person who got a new case since the read is no
                # longer due.
                locked = time.monotonic()
                with app.db.transaction() as conn:
                    still = [int(i) for i in conn.execute(task.due.where(keys.in_(ids))).scalars()]
                    if still:
                        report.counts[key] += task.apply(conn, still)
                if single_writer:
                    time.sleep(min(time.monotonic() - locked, MAX_PAUSE))
                after = ids[-1]
                if progress is not None:
                    progress(len(ids))
            if len(found) < page:
                break  # the last page: what became due since waits for the next run
    if not report.total and not record_empty:
        return report  # the daily run that found nothing: its `purge_runs` row says so
    with app.db.transaction() as conn:
        record_event(
            conn, "privacy", 0, "purge", actor or Actor.system("purge"), now, report.by_category()
        )
    log.info("privacy purge: %s", report.by_category())  # counts only, never a name
    return report
