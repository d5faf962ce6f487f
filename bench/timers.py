"""Timers at scale: a burst of due timers among a million cases, and lateness in steady state.

1. Burst: N cases (default 1,000,000), each with a pending timer; D of them (default 100,000)
   are due at once. The sweep fires them all, each through the engine with its transition, its
   event and its next timer (2,000 per transaction). Reported: timers per second, peak memory
   of the sweeping process. On PostgreSQL, with one and with two processes sweeping together.
2. Steady state: the service (APScheduler beat every second) runs while timers come due at a
   steady rate; reported: the p50/p99/max lateness of a fired timer (fired − due).

The data is set up with plain SQL (not timed); what is timed goes through the real sweep.

    .venv/bin/python bench/timers.py                                  # SQLite
    .venv/bin/python bench/timers.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
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
import multiprocessing as mp
import platform
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from casework.app import build_app
from casework.clock import SystemClock
from casework.migrate import upgrade
from casework.models import Beneficiary, Case, Contract, Timer
from casework.service.lifecycle import Service
from casework.settings import MailSettings, Settings

CHUNK = 50_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settings_for(url: str) -> Settings:
    # Timers only: the transitions they fire queue their mails (outbox rows, in the same
    # transactions, measured here), but no sender runs (bench/outbox.py measures sending).
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


def prepare(url: str, n_cases: int, n_due: int) -> None:
    """N cases on the case workflow: the first D in follow-up with their monthly timer due now,
    the others waiting for consent with their reminder due in five days."""
    fresh_database(url)
    app = build_app(settings_for(url), SystemClock())
    upgrade(app.db)
    now = datetime.now(UTC)
    started = time.perf_counter()
    for first in range(0, n_cases, CHUNK):
        ids = range(first + 1, min(first + CHUNK, n_cases) + 1)
        with app.db.transaction() as conn:
            conn.execute(
                insert(Beneficiary),
                [
                    {
                        "id": i,
                        "birth_name": f"N{i}",
                        "first_names": "Camille",
                        "birth_date": date(2004, 1, 1) + timedelta(days=i % 3000),
                        "sex": "F",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Contract),
                [
                    {
                        "id": i,
                        "beneficiary_id": i,
                        "cma_number": f"B{i}",
                        "employer_name": "Artisan",
                        "start_date": date(2026, 9, 1),
                        "planned_end_date": date(2028, 8, 31),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Case),
                [
                    {
                        "id": i,
                        "beneficiary_id": i,
                        "contract_id": i,
                        "cohort": 2026,
                        "group": "test",
                        "assignment_method": "parity",
                        "workflow_name": "case",
                        "workflow_version": 1,
                        "state": "follow_up" if i <= n_due else "consent_asked",
                        "cycle": 1 if i <= n_due else 0,
                        "version": 1,
                        "state_since": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Timer),
                [
                    {
                        "entity": "case",
                        "entity_id": i,
                        "case_id": i,
                        "state": "follow_up" if i <= n_due else "consent_asked",
                        "set_version": 1,
                        "trigger": "next_cycle" if i <= n_due else "remind_consent",
                        "due_at": now - timedelta(seconds=1)
                        if i <= n_due
                        else now + timedelta(days=5),
                        "run_after": now - timedelta(seconds=1)
                        if i <= n_due
                        else now + timedelta(days=5),
                        "misfire": "fire",
                        "status": "pending",
                        "attempts": 0,
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
    with app.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    app.close()
    print(
        f"  set up {n_cases:,} cases and timers in {time.perf_counter() - started:.0f} s",
        flush=True,
    )


# -- burst ---------------------------------------------------------------------------------------


def drain_all(url: str, batch: int, ready: Any, queue: Any) -> None:
    app = build_app(settings_for(url), SystemClock())
    app.sweeper.settings = type(app.sweeper.settings)(batch_size=batch)
    fired = 0
    ready.wait()  # every process set up: the clock starts for all at once
    started = time.perf_counter()
    while True:
        report = app.sweeper.drain(app.clock.now())
        fired += sum(report.fired.values())
        if report.claimed == 0:
            break
    queue.put(
        {"fired": fired, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}
    )
    app.close()


def burst(url: str, processes: int, batch: int) -> dict[str, float]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    ready = context.Barrier(processes)
    workers = [
        context.Process(target=drain_all, args=(url, batch, ready, queue)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    fired = sum(r["fired"] for r in results)
    # From the moment all processes start sweeping until the last one has nothing left.
    seconds = max(r["seconds"] for r in results)
    return {
        "fired": fired,
        "seconds": seconds,
        "per_s": fired / seconds,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
    }


# -- steady state ----------------------------------------------------------------------------------


def run_service(url: str, seconds: float, queue: Any) -> None:
    app = build_app(settings_for(url), SystemClock())
    service = Service(app, interval=1.0)
    service.start()
    time.sleep(seconds)
    service.stop()
    queue.put({"peak_rss_mb": peak_rss_mb()})
    app.close()


def steady(url: str, n_cases: int, rate: int, seconds: int) -> dict[str, float]:
    """Timers come due at `rate` per second for `seconds`, on cases waiting for consent."""
    app = build_app(settings_for(url), SystemClock())
    start = datetime.now(UTC) + timedelta(seconds=5)
    count = rate * seconds
    with app.db.transaction() as conn:
        conn.execute(
            insert(Timer),
            [
                {
                    "entity": "case",
                    "entity_id": n_cases - i,
                    "case_id": n_cases - i,
                    "state": "consent_asked",
                    "set_version": 1,
                    "trigger": "remind_consent",
                    "due_at": start + timedelta(seconds=i / rate),
                    "run_after": start + timedelta(seconds=i / rate),
                    "misfire": "fire",
                    "status": "pending",
                    "attempts": 0,
                    "created_at": datetime.now(UTC),
                }
                for i in range(count)
            ],
        )
    context = mp.get_context("spawn")
    queue = context.Queue()
    worker = context.Process(target=run_service, args=(url, seconds + 8, queue))
    worker.start()
    result = queue.get()
    worker.join()
    with app.db.read() as conn:
        rows = conn.execute(
            select(Timer.due_at, Timer.closed_at, Timer.status).where(
                Timer.due_at >= start, Timer.trigger == "remind_consent"
            )
        ).all()
        left = conn.execute(
            select(func.count()).where(Timer.status == "pending", Timer.due_at < datetime.now(UTC))
        ).scalar_one()
    app.close()
    late = sorted((r.closed_at - r.due_at).total_seconds() for r in rows if r.status == "fired")
    return {
        "timers": len(late),
        "left_due": left,
        "p50": statistics.median(late),
        "p99": late[int(0.99 * (len(late) - 1))],
        "max": late[-1],
        "peak_rss_mb": result["peak_rss_mb"],
    }


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
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--database", help="PostgreSQL URL of a database the bench may replace")
    parser.add_argument("--steady-rate", type=int, default=200, help="timers due per second")
    parser.add_argument("--steady-seconds", type=int, default=60)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    url = args.database or f"sqlite:///{workdir / 'timers.sqlite3'}"
    print(f"bench/timers.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine(url)}")
    try:
        runs = [1, 2] if args.database else [1]
        for processes in runs:
            prepare(url, args.cases, args.due)
            result = burst(url, processes, args.batch)
            print(
                f"  burst: {result['fired']:,} due timers among {args.cases:,} cases, "
                f"{processes} process(es): {result['seconds']:.1f} s, "
                f"{result['per_s']:,.0f} timers/s, peak RSS {result['peak_rss_mb']:.0f} MB",
                flush=True,
            )
        result = steady(url, args.cases, args.steady_rate, args.steady_seconds)
        print(
            f"  steady state: {result['timers']:,} timers due at {args.steady_rate}/s over "
            f"{args.steady_seconds} s, 1 s beat: lateness p50 {result['p50']:.2f} s, "
            f"p99 {result['p99']:.2f} s, max {result['max']:.2f} s; "
            f"{result['left_due']} left due; peak RSS {result['peak_rss_mb']:.0f} MB"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
