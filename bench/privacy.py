"""The retention purge on a national cohort: `casework privacy purge` on N cases (1,000,000).

The cohort is bench/report.py's (plain SQL inserts, not timed), with, besides, one sent mail a
case, one received mail every fifth case, and a tenth of the people due: their case closed long
ago (2020), their mails sent and received then. The set-up is kept as it is (a SQLite file, or a
PostgreSQL database) and each run measures on a copy of it, so `--reuse` measures again without
setting up.

Timed, each in a fresh process (peak RSS is that process's): the **baseline**, bench/report.py's
(one aggregate pass over the cohort's cases joined to their people); the daily run when nothing is
due (every duration a century); the purge of the due tenth (the default durations), while another
process does one short write transaction every 20 ms (a link click: one case's row updated), its
waits compared with the same writer's alone before; then a second purge, which must find nothing.

    .venv/bin/python bench/privacy.py                                  # SQLite
    .venv/bin/python bench/privacy.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/privacy.py --database sqlite:////tmp/p.sqlite3 --reuse  # no set-up
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
import dataclasses
import importlib.util
import multiprocessing as mp
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text, update
from sqlalchemy.engine import make_url

from casework.app import build_app
from casework.clock import FixedClock
from casework.models.tables import CASES, INBOUND, OUTBOX
from casework.privacy.purge import CHUNK, purge
from casework.settings import PrivacySettings

# bench/report.py's cohort, baseline and helpers, by its path: this folder is off the import path.
_spec = importlib.util.spec_from_file_location("bench_report", Path(_HERE) / "report.py")
assert _spec is not None
assert _spec.loader is not None
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

NOW = report.NOW
LONG_AGO = datetime(2020, 1, 15, 9, tzinfo=UTC)  # before every default duration's cutoff
RECENT = NOW - timedelta(days=10)
NOTHING_DUE = PrivacySettings(
    **{f"{c}_months": 1200 for c in ("identity", "notes", "inbound", "outbox", "intake")},
    audit_months=1200,
    access_log_months=1200,
)
WRITER_GAP = 0.020  # seconds between the writer's transactions


def is_due(i: int) -> bool:
    """A tenth of the people: half in the test group (contacts, events, sheets), half control."""
    return i % 20 in (3, 10)


def prepare(url: str, n_cases: int) -> None:
    """bench/report.py's cohort, then the mails and the due tenth (plain SQL, not timed)."""
    report.prepare(url, n_cases)
    started = time.perf_counter()
    app = build_app(report.settings_for(url), FixedClock(NOW))
    for first in range(1, n_cases + 1, report.CHUNK):
        ids = range(first, min(first + report.CHUNK, n_cases + 1))
        with app.db.transaction() as conn:
            conn.execute(insert(OUTBOX), [_sent(i) for i in ids])
            conn.execute(insert(INBOUND), [_received(i) for i in ids if i % 5 == 0])
            due = [i for i in ids if is_due(i)]
            if due:
                conn.execute(
                    update(CASES)
                    .where(CASES.c.id.in_(due))
                    .values(state="closed", state_since=LONG_AGO, updated_at=LONG_AGO)
                )
    with app.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    app.close()
    print(f"  mails and the due tenth in {time.perf_counter() - started:.0f} s", flush=True)


def _sent(i: int) -> dict[str, Any]:
    at = LONG_AGO if is_due(i) else RECENT
    return {
        "case_id": i,
        "template": "case/monthly_checkin",
        "recipient_role": "beneficiary",
        "recipients": [f"jeune{i}@exemple.fr"],
        "context": {"first_name": "Camille", "case_id": i},
        "subject": "Votre point mensuel",
        "message": f"Bonjour Camille,\n\nVotre référente vous appellera ({i}).\n",
        "status": "sent",
        "attempts": 1,
        "next_attempt_at": at,
        "created_at": at,
        "sent_at": at,
    }


def _received(i: int) -> dict[str, Any]:
    return {
        "received_at": LONG_AGO if is_due(i) else RECENT,
        "source": "imap:INBOX",
        "sender": f"jeune{i}@exemple.fr",
        "subject": "Re: Votre point mensuel",
        "raw": f"From: jeune{i}@exemple.fr\r\nSubject: Re\r\n\r\nMerci, a bientot.\r\n".encode(),
        "text": "Merci, à bientôt.",
        "kind": "answer",
        "status": "recorded",
        "case_id": i,
    }


def working_copy(url: str) -> str:
    """A fresh copy of the cohort to purge (the cohort itself stays as set up)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        copy = parsed.set(database=str(parsed.database) + ".work")
        report.fresh_database(copy.render_as_string())
        shutil.copyfile(str(parsed.database), str(copy.database))
    else:
        copy = parsed.set(database=f"{parsed.database}_work")
        _on_server(
            url,
            f'DROP DATABASE IF EXISTS "{copy.database}" WITH (FORCE)',
            f'CREATE DATABASE "{copy.database}" TEMPLATE "{parsed.database}"',
        )
    return copy.render_as_string(hide_password=False)


def drop_copy(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        report.fresh_database(url)  # its files removed
    else:
        _on_server(url, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _on_server(url: str, *statements: str) -> None:
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def _baseline(url: str, queue: Any) -> None:
    report._baseline(url, queue)


def _purge(url: str, nothing_due: bool, queue: Any) -> None:
    settings = report.settings_for(url)
    if nothing_due:
        settings = dataclasses.replace(settings, privacy=NOTHING_DUE)
    app = build_app(settings, FixedClock(NOW))
    started = time.monotonic()
    done = purge(app, NOW, apply=True, record_empty=False)
    ended = time.monotonic()
    app.close()
    queue.put(
        {
            "seconds": ended - started,
            "started": started,
            "ended": ended,
            "rows": done.total,
            "counts": {f"{code} {what}": n for (code, what), n in done.counts.items() if n},
            "rss": peak_rss_mb(),
        }
    )


def _writer(url: str, n_cases: int, ready: Any, stop: Any, queue: Any) -> None:
    """One short write transaction every 20 ms until `stop`: (started, waited) for each;
    `ready` once the first is done (the imports and the connection are not measured)."""
    app = build_app(report.settings_for(url), FixedClock(NOW))
    samples: list[tuple[float, float]] = []
    tick = time.monotonic()
    n = 0
    while not stop.is_set():
        n += 1
        started = time.monotonic()
        with app.db.transaction() as conn:
            conn.execute(
                update(CASES)
                .where(CASES.c.id == 1 + (n * 7919) % n_cases)
                .values(updated_at=NOW + timedelta(microseconds=n))
            )
        samples.append((started, time.monotonic() - started))
        ready.set()
        tick += WRITER_GAP
        time.sleep(max(0.0, tick - time.monotonic()))
    app.close()
    queue.put(samples)


def peak_rss_mb() -> float:
    return float(report.peak_rss_mb())


def measure(target: Any, *args: Any) -> dict[str, Any]:
    return report.measure(target, *args)  # type: ignore[no-any-return]


def with_writer(url: str, n_cases: int, seconds: float | None) -> tuple[list[float], Any]:
    """The writer's waits alone for `seconds`, or (None) during a purge, with the purge's
    figures."""
    spawn = mp.get_context("spawn")
    ready, stop, queue = spawn.Event(), spawn.Event(), spawn.Queue()
    writer = spawn.Process(target=_writer, args=(url, n_cases, ready, stop, queue))
    writer.start()
    ready.wait()
    begun = time.monotonic()
    done = None
    if seconds is None:
        done = measure(_purge, url, False)
    else:
        time.sleep(seconds)
    stop.set()
    samples = queue.get()
    writer.join()
    # Only the transactions begun during the purge (or after the first, alone).
    first, last = (done["started"], done["ended"]) if done else (begun, time.monotonic())
    samples = [s for s in samples if first <= s[0] <= last]
    return [waited for _started, waited in samples], done


def quantiles(waits: list[float]) -> str:
    if not waits:
        return "no transaction"
    ordered = sorted(waits)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"{len(ordered):,} transactions, p50 {statistics.median(ordered) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
    )


def postgres_url(given: str) -> str:
    """The database the bench may replace: `bench_privacy` beside the server's `postgres`."""
    parsed = make_url(given)
    if parsed.get_backend_name() == "postgresql" and parsed.database in (None, "", "postgres"):
        parsed = parsed.set(database="bench_privacy")
    return parsed.render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database", help="URL of a database the bench may replace")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure on the cohort a previous run left in --database (no set-up)",
    )
    parser.add_argument(
        "--writer-seconds", type=float, default=10.0, help="the writer alone, before the purge"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-privacy-"))
    url = postgres_url(args.database or f"sqlite:///{workdir / 'privacy.sqlite3'}")
    print(
        f"bench/privacy.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {report.machine(url)}",
        flush=True,
    )
    work = url
    try:
        if not args.reuse:
            prepare(url, args.cases)
        work = working_copy(url)
        base = measure(_baseline, work)
        idle = measure(_purge, work, True)
        alone, _ = with_writer(work, args.cases, args.writer_seconds)
        during, done = with_writer(work, args.cases, None)
        again = measure(_purge, work, False)
        b = base["seconds"]
        print(f"  {args.cases:,} cases, chunks of {CHUNK}; baseline: one aggregate pass over")
        print(f"  the cases joined to their people, {b:.2f} s, peak RSS {base['rss']:.0f} MB")
        print("  | run | rows | time | rows/s | time/baseline | peak RSS |")
        print("  | --- | ---: | ---: | ---: | ---: | ---: |")
        for name, run in (
            ("nothing due (the usual day)", idle),
            ("a tenth of the people due", done),
            ("again right after", again),
        ):
            rate = f"{run['rows'] / run['seconds']:,.0f}" if run["rows"] else "—"
            print(
                f"  | {name} | {run['rows']:,} | {run['seconds']:.2f} s | {rate} | "
                f"{run['seconds'] / b:.1f} | {run['rss']:.0f} MB |"
            )
        print("  purged: " + ", ".join(f"{k} {n:,}" for k, n in done["counts"].items()))
        print(f"  writer alone: {quantiles(alone)}")
        print(f"  writer during the purge: {quantiles(during)}")
        print(f"  second purge: {again['rows']:,} rows found", flush=True)
    finally:
        if work != url:
            drop_copy(work)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
