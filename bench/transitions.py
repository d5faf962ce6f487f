"""Persisted transitions per second: the engine against raw SQL writing the same rows.

N cases go identified → consent asked → consented → follow-up (6 monthly cycles) → monitoring
→ end-of-contract assessment: 10 transitions each, applied with `Engine.fire_many` in batches
(one transaction per batch). The baseline, in the same run, writes the same rows in the same
batches with the DB-API directly, with `executemany`: the state UPDATE (with the version
check), the event INSERT, the cancellation of the timers of the state left, the INSERT of those
of the state entered and of the mails the transition queues in the outbox.
The ratio engine / raw SQL is the figure; absolute rates move with the machine's load.

Each measurement runs in a fresh process, so its peak memory (max RSS) is its own; running two
sizes shows whether memory grows with N.

    .venv/bin/python bench/transitions.py                      # SQLite, 10,000 and 100,000 cases
    .venv/bin/python bench/transitions.py --cases 20000 --database postgresql+psycopg://…/bench
"""

# ruff: noqa: E402 - the import path is mended before the imports below

from __future__ import annotations

import os
import sys

# This file has the name of the `transitions` library: keep its own folder off the import path,
# or `import transitions` would import this file.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import json
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

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from casework.actors import Actor
from casework.app import build_app
from casework.clock import FixedClock
from casework.migrate import upgrade
from casework.models import Beneficiary, Contract
from casework.settings import Settings

START = datetime(2026, 9, 1, 8, tzinfo=UTC)
# (trigger, actor, data given, data recorded in the event, state before, state after, cycle after)
STEPS: list[tuple[str, Actor, dict[str, Any], dict[str, Any], str, str, int | None]] = [
    ("ask_consent", Actor.system(), {}, {}, "identified", "consent_asked", None),
    (
        "give_consent",
        Actor.person("referente"),
        {"given_by": "both", "guardian_agreed": True},
        {"given_by": "both", "guardian_agreed": True},
        "consent_asked",
        "consented",
        None,
    ),
    ("start_follow_up", Actor.timer(), {}, {}, "consented", "follow_up", 1),
    *[
        ("next_cycle", Actor.timer(), {}, {"cycle": k}, "follow_up", "follow_up", k)
        for k in range(2, 7)
    ],
    ("next_cycle", Actor.timer(), {}, {}, "follow_up", "monitoring", None),
    ("contract_ended", Actor.timer(), {}, {}, "monitoring", "end_assessment", None),
]


def timers_entering(state: str, now: datetime) -> list[tuple[str, datetime]]:
    """(trigger, due) of the timers a case sets on entering `state` at `now`, as the engine
    computes them (the bench's contracts all start on 1 September 2026, end 31 August 2028)."""
    from casework.handlers import registry
    from casework.resources import default_templates_dir, default_workflows_dir
    from casework.states.catalog import load_workflows
    from casework.timers.calendar import Calendar

    workflows = load_workflows(default_workflows_dir(), registry, default_templates_dir())
    anchors = {
        "contract.start_date": date(2026, 9, 1),
        "contract.planned_end_date": date(2028, 8, 31),
    }
    calendar = Calendar()
    return [
        (t.trigger, calendar.due_at(t.delay, now, anchors.get(t.anchor) if t.anchor else None))
        for t in workflows.latest("case").definition.states[state].timers
    ]


def mails_of(trigger: str, source: str, dest: str) -> list[tuple[str, str, list[str]]]:
    """(template, recipient, links) of the mails the transition queues, as the engine does."""
    from casework.handlers import registry
    from casework.resources import default_templates_dir, default_workflows_dir
    from casework.states.catalog import load_workflows

    workflows = load_workflows(default_workflows_dir(), registry, default_templates_dir())
    definition = workflows.latest("case").definition
    taken = next(
        t
        for t in definition.transitions
        if t.trigger == trigger and source in t.sources and t.destination_from(source) == dest
    )
    return [(f"case/{m.template}", m.recipient, list(m.links)) for m in taken.mails]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# -- preparing the data (not timed) -------------------------------------------------------------


def prepare(url: str, n: int) -> None:
    clock = FixedClock(START)
    app = build_app(Settings().with_database(url), clock)
    upgrade(app.db)
    now = clock.now()
    step = 10_000
    for first in range(0, n, step):
        count = min(step, n - first)
        with app.db.transaction() as conn:
            beneficiaries = (
                conn.execute(
                    insert(Beneficiary).returning(Beneficiary.id, sort_by_parameter_order=True),
                    [
                        {
                            "birth_name": f"Nom{i}",
                            "first_names": "Camille",
                            "birth_date": date(2009, 1, 1)
                            + timedelta(days=i % 2000),  # minors: a guardian agrees
                            "sex": "F" if i % 3 else "M",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in range(first, first + count)
                    ],
                )
                .scalars()
                .all()
            )
            contracts = (
                conn.execute(
                    insert(Contract).returning(Contract.id, sort_by_parameter_order=True),
                    [
                        {
                            "beneficiary_id": b,
                            "cma_number": f"B-{b}",
                            "employer_name": "Artisan",
                            "start_date": date(2026, 9, 1),
                            "planned_end_date": date(2028, 8, 31),
                            "created_at": now,
                            "updated_at": now,
                        }
                        for b in beneficiaries
                    ],
                )
                .scalars()
                .all()
            )
            app.engine.create_cases(
                conn,
                Actor.importer("bench"),
                [
                    {
                        "beneficiary_id": b,
                        "contract_id": c,
                        "cohort": 2026,
                        "group": "test",
                        "assignment_method": "parity",
                        "referent": "referente",
                    }
                    for b, c in zip(beneficiaries, contracts, strict=True)
                ],
            )
    with app.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")  # what a bulk import does next: fresh planner statistics
    app.close()


def create_empty_postgresql_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def copy_database(url: str, template_url: str) -> None:
    """Make `url` a copy of the prepared database at `template_url`."""
    source, target = make_url(template_url), make_url(url)
    if source.get_backend_name() == "sqlite":
        shutil.copyfile(source.database, target.database)  # type: ignore[arg-type]
        return
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}" TEMPLATE "{source.database}"'))
    admin.dispose()


# -- the two contenders (each in its own process) ------------------------------------------------


def run_engine(url: str, n: int, batch: int) -> dict[str, float]:
    clock = FixedClock(START)
    app = build_app(Settings().with_database(url), clock)
    ids = list(range(1, n + 1))
    applied = 0
    started = time.perf_counter()
    for trigger, actor, data, _recorded, _src, _dst, _cycle in STEPS:
        for first in range(0, n, batch):
            result = app.engine.fire_many("case", ids[first : first + batch], trigger, actor, data)
            if result.refused or result.failed or result.missing:
                raise SystemExit(f"{trigger}: {len(result.refused)} refused — the bench is wrong")
            applied += len(result.applied)
        clock.advance(timedelta(days=30))
    elapsed = time.perf_counter() - started
    app.close()
    return {"transitions": applied, "seconds": elapsed, "peak_rss_mb": peak_rss_mb()}


def run_raw(url: str, n: int, batch: int) -> dict[str, float]:
    """The same UPDATEs and INSERTs, straight through the DB-API, no engine."""
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        conn: Any = sqlite3.connect(parsed.database, isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        ph = "?"
    else:
        import psycopg

        conn = psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
        )
        ph = "%s"
    cursor = conn.cursor()
    # Timestamps as SQLAlchemy stores them: text on SQLite, timestamptz on PostgreSQL.
    ts = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda t: t)
    update_sql = (
        f"UPDATE cases SET state={ph}, version=version+1, entered_version=version+1, "
        f"updated_at={ph}, state_since={ph}, cycle=COALESCE({ph}, cycle) "
        f"WHERE id={ph} AND version={ph}"
    )
    insert_sql = (
        "INSERT INTO events (case_id, entity, entity_id, version, trigger, from_state, to_state, "
        f"actor_kind, actor, at, data) VALUES ({', '.join([ph] * 11)})"
    )
    # Leaving a state cancels its timers, entering one sets them: the engine writes these too.
    # One statement per batch, as the engine does (row by row, PostgreSQL would plan it from
    # statistics taken before the table filled up, and scan it).
    cancel_sql = (
        f"UPDATE timers SET status='cancelled', closed_at={ph} "
        "WHERE entity='case' AND entity_id IN ({ids}) AND status='pending'"
    )
    timer_sql = (
        "INSERT INTO timers (entity, entity_id, case_id, state, set_version, trigger, due_at, "
        f"run_after, misfire, status, attempts, created_at) VALUES ({', '.join([ph] * 12)})"
    )
    # The transition's mails, queued in the outbox in its transaction.
    mail_sql = (
        "INSERT INTO outbox (case_id, entity, entity_id, version, state_entry, template, "
        "recipient_role, recipients, context, status, attempts, next_attempt_at, created_at) "
        f"VALUES ({', '.join([ph] * 13)})"
    )
    # What each step sets and queues, worked out before the clock starts (it reads the YAML).
    planned, now = [], START
    for trigger, _actor, _data, _recorded, src, dst, _cycle in STEPS:
        planned.append((timers_entering(dst, now), mails_of(trigger, src, dst)))
        now += timedelta(days=30)
    now = START
    applied = 0
    started = time.perf_counter()
    for version, (trigger, actor, _data, recorded, src, dst, cycle) in enumerate(STEPS, start=1):
        step_timers, step_mails = planned[version - 1]
        payload, stamp, kind = json.dumps(recorded), ts(now), actor.kind.value
        stamps = (stamp, stamp)
        timers = [(t, ts(due)) for t, due in step_timers]
        mails = [
            (
                template,
                recipient,
                json.dumps(
                    {
                        "trigger": trigger,
                        "data": recorded,
                        "links": links,
                        "reply": False,
                    }
                ),
            )
            for template, recipient, links in step_mails
        ]
        for first in range(1, n + 1, batch):
            ids = range(first, min(first + batch, n + 1))
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(update_sql, [(dst, stamp, stamp, cycle, i, version) for i in ids])
            cursor.executemany(
                insert_sql,
                [
                    (i, "case", i, version + 1, trigger, src, dst, kind, actor.id, stamp, payload)
                    for i in ids
                ],
            )
            cursor.execute(cancel_sql.format(ids=",".join(map(str, ids))), (stamp,))
            cursor.executemany(
                timer_sql,
                [
                    ("case", i, i, dst, version + 1, t, due, due, "fire", "pending", 0, stamp)
                    for i in ids
                    for t, due in timers
                ],
            )
            if mails:
                cursor.executemany(
                    mail_sql,
                    [
                        (
                            i,
                            "case",
                            i,
                            version + 1,
                            version + 1,
                            t,
                            r,
                            "[]",
                            c,
                            "queued",
                            0,
                            *stamps,
                        )
                        for i in ids
                        for t, r, c in mails
                    ],
                )
            if sqlite:
                cursor.execute("COMMIT")
            else:
                conn.commit()
            applied += len(ids)
        now += timedelta(days=30)
    elapsed = time.perf_counter() - started
    conn.close()
    return {"transitions": applied, "seconds": elapsed, "peak_rss_mb": peak_rss_mb()}


def run_dispatch(_url: str, n: int, _batch: int) -> dict[str, float]:
    """The same transitions through the same machines in memory, no database: the ceiling the
    engine's rate can approach (it adds reading the rows and writing them back)."""
    from casework.engine.context import TransitionContext
    from casework.engine.entities import CASE
    from casework.handlers import registry
    from casework.resources import default_templates_dir, default_workflows_dir
    from casework.states.catalog import load_workflows

    machine = load_workflows(default_workflows_dir(), registry, default_templates_dir()).latest(
        "case"
    )
    blank = dict.fromkeys(CASE.row_type._fields)  # type: ignore[attr-defined]
    rows = [
        CASE.row_type(
            **{
                **blank,
                "id": i,
                "group": "test",
                "cycle": 0,
                "state": "identified",
                "referent": "referente",
                "beneficiary_birth_date": date(2009, 1, 1),
            }
        )
        for i in range(n)
    ]
    applied = 0
    started = time.perf_counter()
    for trigger, actor, data, _recorded, _src, _dst, _cycle in STEPS:
        for index, row in enumerate(rows):
            ctx = TransitionContext(
                None,  # type: ignore[arg-type]
                CASE,
                row,
                trigger,
                actor,
                data,
                START,
                machine,
                None,  # type: ignore[arg-type]
            )
            dest = machine.run(row.state, trigger, ctx)
            rows[index] = row._replace(state=dest, **ctx.changes)
            applied += 1
    elapsed = time.perf_counter() - started
    return {"transitions": applied, "seconds": elapsed, "peak_rss_mb": peak_rss_mb()}


def _child(target: str, url: str, n: int, batch: int, queue: Any) -> None:
    try:
        runs = {"engine": run_engine, "raw": run_raw, "dispatch": run_dispatch}
        queue.put(runs[target](url, n, batch))
    except BaseException as exc:
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def measure(target: str, url: str, n: int, batch: int) -> dict[str, float]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(target, url, n, batch, queue))
    process.start()
    result = queue.get()
    process.join()
    if "error" in result:
        raise SystemExit(f"{target} run failed: {result['error']}")
    return result  # type: ignore[no-any-return]


def machine(database: str | None) -> str:
    if database:
        engine = create_engine(make_url(database).set(database="postgres"))
        with engine.connect() as conn:
            server = "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar_one()
        engine.dispose()
    else:
        server = f"SQLite {sqlite3.sqlite_version}"
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {server}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="numbers of cases to run (default: 10000 100000)",
    )
    parser.add_argument("--batch", type=int, default=1_000, help="cases per transaction")
    parser.add_argument(
        "--database",
        help="PostgreSQL URL of a database the bench may replace "
        "(default: SQLite files in a temporary folder)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    rows = []
    where = machine(args.database)
    print(f"bench/transitions.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {where}")
    print(f"batch of {args.batch} cases per transaction, {len(STEPS)} transitions per case")
    try:
        for n in args.cases:
            if args.database:
                base = make_url(args.database)
                template = str(base.set(database=f"{base.database}_template"))
                create_empty_postgresql_database(template)
                engine_url = str(base.set(database=f"{base.database}_engine"))
                raw_url = str(base.set(database=f"{base.database}_raw"))
            else:
                template = f"sqlite:///{workdir / f'template-{n}.sqlite3'}"
                engine_url = f"sqlite:///{workdir / f'engine-{n}.sqlite3'}"
                raw_url = f"sqlite:///{workdir / f'raw-{n}.sqlite3'}"
            prepare(template, n)
            copy_database(engine_url, template)
            copy_database(raw_url, template)
            raw = measure("raw", raw_url, n, args.batch)
            engine = measure("engine", engine_url, n, args.batch)
            dispatch = measure("dispatch", engine_url, n, args.batch)
            row = {
                "cases": n,
                "transitions": engine["transitions"],
                "engine_per_s": engine["transitions"] / engine["seconds"],
                "raw_per_s": raw["transitions"] / raw["seconds"],
                "dispatch_per_s": dispatch["transitions"] / dispatch["seconds"],
                "engine_peak_rss_mb": engine["peak_rss_mb"],
                "raw_peak_rss_mb": raw["peak_rss_mb"],
            }
            row["ratio"] = row["engine_per_s"] / row["raw_per_s"]
            rows.append(row)
            print(
                f"{n:>9,} cases {row['transitions']:>11,} transitions | engine "
                f"{row['engine_per_s']:>9,.0f}/s | raw SQL {row['raw_per_s']:>9,.0f}/s | "
                f"ratio {row['ratio']:.2f} | dispatch only {row['dispatch_per_s']:>9,.0f}/s | "
                f"peak RSS engine {row['engine_peak_rss_mb']:.0f} MB, "
                f"raw {row['raw_peak_rss_mb']:.0f} MB",
                flush=True,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": where, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
