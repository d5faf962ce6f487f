"""The programme report on a national cohort: `casework report` on N cases (default 1,000,000).

The cohort is generated with plain SQL inserts (not timed): half test, half control, ages,
sexes, levels, statuses, diplomas and départements spread over their values, 15 % of contracts
broken at various durations, the test group's consent events, two contacts per followed case,
a few liaison sheets with their partners' answers and reminders, outcomes after ruptures, a
one-year assessment for one followed case in ten.

Timed, each in a fresh process (peak RSS is that process's): the **baseline**, one aggregate
pass over the cohort's cases joined to their contracts and people (what a single table's
GROUP BY costs at the least), then the whole report (seven tables, statistics, plots) written as
HTML, XLSX and PDF. The ratio report / baseline is the figure to compare between runs.

    .venv/bin/python bench/report.py                                  # SQLite
    .venv/bin/python bench/report.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/report.py --database sqlite:////tmp/r.sqlite3 --reuse  # again, no set-up
"""

# ruff: noqa: E402 - the import path is mended before the imports below

from __future__ import annotations

import os
import sys

# bench/transitions.py has the name of the `transitions` library: keep this folder off the
# import path, or `import transitions` would import it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import itertools
import multiprocessing as mp
import platform
import resource
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from casework.app import build_app
from casework.clock import FixedClock
from casework.evaluation.model import Scope
from casework.evaluation.outputs import write
from casework.evaluation.population import Population
from casework.evaluation.report import build_report
from casework.migrate import upgrade
from casework.models import (
    Assessment,
    Beneficiary,
    Case,
    ContactLog,
    Contract,
    Event,
    LiaisonSheet,
    Partner,
)
from casework.settings import MailSettings, Settings

CHUNK = 20_000
COHORT = 2026
CUTOFF = date(2027, 9, 30)
NOW = datetime(2027, 10, 1, 8, tzinfo=UTC)
DIPLOMAS = ["CAP Boulanger", "CAP Coiffure", "BP Boucher", "Bac pro MVA", "BTS MCO", None]
DEPARTEMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "974"]
NEEDS = ["housing", "money", "health", "mobility", "family"]
EXITS = ["new_contract_same_trade", "other_orientation", "training", "job"]
SITUATIONS = ["same_employer", "other_employer", "training_without_contract", "employed"]


def peak_rss_mb() -> float:
    """This process's own peak: VmHWM, which starts afresh at exec (ru_maxrss would carry the
    parent's peak over into a spawned child, the set-up's included)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settings_for(url: str) -> Settings:
    return Settings(mail=MailSettings(enabled=False)).with_database(url)


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(parsed.database) + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def _case_rows(i: int, partners: int) -> dict[str, list[dict[str, Any]]]:
    """The rows of case i (deterministic: the same N gives the same cohort)."""
    group = "test" if i % 2 else "control"
    start = date(2026, 7, 1) + timedelta(days=i % 180)
    broken = i % 20 < 3  # 15 %
    rupture = start + timedelta(days=15 + (i * 7) % 400) if broken else None
    followed = group == "test" and i % 10 != 1  # most of the test group consents
    rows: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in ("people", "contracts", "cases", "events", "contacts", "sheets", "assessments")
    }
    rows["people"].append(
        {
            "id": i,
            "birth_name": f"N{i}",
            "first_names": "Camille",
            "birth_date": date(1996, 1, 1) + timedelta(days=(i * 37) % 5000),
            "sex": (None, "F", "M")[i % 3]
            if i % 50 == 0
            else ("F", "M")[i % 2 == 0 and i % 3 == 0],
            "departement": DEPARTEMENTS[i % len(DEPARTEMENTS)],
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    rows["contracts"].append(
        {
            "id": i,
            "beneficiary_id": i,
            "cma_number": f"B{i}",
            "start_date": start,
            "planned_end_date": start + timedelta(days=730),
            "rupture_date": rupture,
            "diploma": DIPLOMAS[i % len(DIPLOMAS)],
            "diploma_level": (3, 4, 5, None)[i % 4],
            "learner_status": ("apprentice", "apprentice", "student", None)[i % 4],
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    state, exit_kind = ("outcome_tracking" if group == "control" else "follow_up"), None
    if broken:
        state = "rupture_recorded" if group == "control" else "positive_exit"
        if group == "test" and i % 3 == 0:
            state = "reorientation"
        exit_kind = EXITS[i % 4] if state == "positive_exit" else None
    since = datetime.combine(rupture or start, datetime.min.time(), UTC) + timedelta(days=40)
    rows["cases"].append(
        {
            "id": i,
            "beneficiary_id": i,
            "contract_id": i,
            "cohort": COHORT,
            "group": group,
            "assignment_method": "parity",
            "workflow_name": "case",
            "workflow_version": 1,
            "state": state,
            "cycle": 2,
            "version": 5,
            "state_since": since,
            "exit_kind": exit_kind,
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    if group == "test":
        at = datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=10)
        triggers = ["ask_consent", "give_consent" if followed else "decline"]
        for n, trigger in enumerate(triggers):
            rows["events"].append(
                {
                    "case_id": i,
                    "entity": "case",
                    "entity_id": i,
                    "version": n + 2,
                    "trigger": trigger,
                    "actor_kind": "person",
                    "actor": "referente",
                    "at": at + timedelta(days=n),
                    "data": {},
                }
            )
    if followed:
        for cycle in (1, 2):
            rows["contacts"].append(
                {
                    "case_id": i,
                    "at": datetime.combine(start, datetime.min.time(), UTC)
                    + timedelta(days=30 * cycle),
                    "channel": "phone",
                    "duration_min": 10 + i % 30,
                    "difficulties": [NEEDS[(i + cycle) % 5]] if i % 4 == 0 else [],
                    "author": "referente",
                    "cycle": cycle,
                    "phase": "follow_up",
                }
            )
    if followed and i % 10 == 5:  # one in ten followed cases assessed at one year
        rows["assessments"].append(
            {
                "case_id": i,
                "moment": "one_year",
                "situation": SITUATIONS[i % len(SITUATIONS)],
                "diploma": ("pending", "obtained", "not_obtained")[i % 3],
                "satisfaction": (None, 1, 2, 3, 4, 5)[i % 6],
                "author": "referente",
                "recorded_at": datetime.combine(start, datetime.min.time(), UTC)
                + timedelta(days=366),
            }
        )
    if followed and i % 40 == 3:
        sent = datetime.combine(start, datetime.min.time(), UTC) + timedelta(days=35, hours=9)
        rows["sheets"].append(
            {
                "id": i,
                "case_id": i,
                "partner_id": 1 + i % partners,
                "need_category": NEEDS[i % 5],
                "description": "besoin",
                "consent": True,
                "state": "closed",
                "workflow_name": "liaison",
                "workflow_version": 1,
                "version": 4,
                "state_since": sent,
                "sent_at": sent,
                "acknowledged_at": sent + timedelta(days=i % 9),
                "feedback_at": sent + timedelta(days=10 + i % 20),
                "created_at": sent,
                "updated_at": sent,
            }
        )
        if i % 3 == 0:
            rows["events"].append(
                {
                    "case_id": i,
                    "entity": "liaison",
                    "entity_id": i,
                    "version": 3,
                    "trigger": "remind",
                    "actor_kind": "timer",
                    "actor": "timer",
                    "at": sent + timedelta(days=5),
                    "data": {},
                }
            )
    return rows


def prepare(url: str, n_cases: int) -> None:
    fresh_database(url)
    app = build_app(settings_for(url), FixedClock(NOW))
    upgrade(app.db)
    started = time.perf_counter()
    partners = 12
    with app.db.transaction() as conn:
        conn.execute(
            insert(Partner),
            [
                {
                    "id": p,
                    "name": f"Partenaire {p}",
                    "kind": "housing",
                    "need_categories": NEEDS,
                    "created_at": NOW,
                }
                for p in range(1, partners + 1)
            ],
        )
    tables = {
        "people": Beneficiary,
        "contracts": Contract,
        "cases": Case,
        "events": Event,
        "contacts": ContactLog,
        "sheets": LiaisonSheet,
        "assessments": Assessment,
    }
    for first in range(1, n_cases + 1, CHUNK):
        batch: dict[str, list[dict[str, Any]]] = {k: [] for k in tables}
        for i in range(first, min(first + CHUNK, n_cases + 1)):
            for key, found in _case_rows(i, partners).items():
                batch[key].extend(found)
        with app.db.transaction() as conn:
            for key, model in tables.items():
                if batch[key]:
                    conn.execute(insert(model), batch[key])
    with app.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    app.close()
    print(f"  set up {n_cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)


def _baseline(url: str, queue: Any) -> None:
    app = build_app(settings_for(url), FixedClock(NOW))
    started = time.perf_counter()
    with app.db.read() as conn:
        population = Population(Scope(COHORT, CUTOFF), conn.dialect.name)
        conn.execute(
            select(Case.__table__.c.group, func.count())
            .select_from(population.joined)
            .where(population.where)
            .group_by(Case.__table__.c.group)
        ).all()
    queue.put({"seconds": time.perf_counter() - started, "rss": peak_rss_mb()})


def _report(url: str, folder: str, queue: Any) -> None:
    app = build_app(settings_for(url), FixedClock(NOW))
    started = time.perf_counter()
    marks = [started]
    report = build_report(app, Scope(COHORT, CUTOFF), lambda: marks.append(time.perf_counter()))
    computed = time.perf_counter() - started
    steps = [after - before for before, after in itertools.pairwise(marks)]
    for fmt in ("html", "xlsx", "pdf"):
        write(report, fmt, app.settings.paths.templates, Path(folder))
    queue.put(
        {
            "seconds": time.perf_counter() - started,
            "computed": computed,
            "rss": peak_rss_mb(),
            "population": report.population,
            "steps": steps,
        }
    )


def measure(target: Any, *args: Any) -> dict[str, float]:
    queue: Any = mp.get_context("spawn").Queue()
    process = mp.get_context("spawn").Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def machine(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        server = f"SQLite {sqlite3.sqlite_version}"
    else:
        engine = create_engine(parsed.set(database="postgres"))
        with engine.connect() as conn:
            server = "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar_one()
        engine.dispose()
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {server}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database", help="URL of a database the bench may replace")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure on the cohort a previous run left in --database (no set-up)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    url = args.database or f"sqlite:///{workdir / 'report.sqlite3'}"
    print(f"bench/report.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine(url)}")
    try:
        if not args.reuse:
            prepare(url, args.cases)
        base = measure(_baseline, url)
        done = measure(_report, url, str(workdir / "out"))
        print(
            f"  report: {done['population']:,} cases, 7 tables, HTML + XLSX + PDF: "
            f"{done['seconds']:.1f} s (tables {done['computed']:.1f} s), "
            f"peak RSS {done['rss']:.0f} MB; baseline (one GROUP BY over the cohort): "
            f"{base['seconds']:.2f} s, peak RSS {base['rss']:.0f} MB; "
            f"ratio report/baseline {done['seconds'] / base['seconds']:.1f}",
            flush=True,
        )
        each = ", ".join(f"{n} {s:.1f} s" for n, s in enumerate(done["steps"], start=1))
        print(f"  tables: {each}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
