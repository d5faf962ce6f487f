"""The evaluator's export at scale: a cohort of N cases (default 1,000,000), each with two
events, two contacts and, one in ten, a liaison sheet and an assessment, exported to CSV and
(if it fits a worksheet) XLSX. Reported: rows per second and the peak memory of the process,
which must not grow with the cohort (the export reads pages of a thousand cases).

The data is set up with plain SQL (not timed); what is timed is `export_cohort`, as
`casework export` runs it.

    .venv/bin/python bench/export.py --cases 200000
    .venv/bin/python bench/export.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
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
import importlib.util
import itertools
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import openpyxl.xml
from sqlalchemy import insert

from casework.actors import Actor
from casework.app import build_app
from casework.clock import SystemClock
from casework.evaluation.export import CohortExport, _page
from casework.evaluation.export_files import XLSX_MAX_ROWS, _write_xlsx, export_cohort
from casework.migrate import upgrade
from casework.models import Assessment, Beneficiary, Case, ContactLog, Contract, Event
from casework.settings import EvaluationSettings, MailSettings, Settings

# bench/timers.py's fresh_database (an empty SQLite file or PostgreSQL database), by its path:
# this folder is kept off the import path (above).
_spec = importlib.util.spec_from_file_location("bench_timers", Path(_HERE) / "timers.py")
assert _spec is not None
assert _spec.loader is not None
_timers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_timers)
fresh_database = _timers.fresh_database

CHUNK = 20_000
KEY = "bench-pseudonym-key-0123456789abcdefghijkl"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(url: str, n: int) -> Any:
    fresh_database(url)
    settings = Settings(mail=MailSettings(enabled=False), evaluation=EvaluationSettings(KEY))
    app = build_app(settings.with_database(url), SystemClock())
    upgrade(app.db)
    now = datetime.now(UTC)
    for first in range(0, n, CHUNK):
        ids = range(first + 1, min(first + CHUNK, n) + 1)
        with app.db.transaction() as conn:
            conn.execute(insert(Beneficiary), [_person(i, now) for i in ids])
            conn.execute(insert(Contract), [_contract(i, now) for i in ids])
            conn.execute(insert(Case), [_case(i, now) for i in ids])
            conn.execute(insert(Event), [e for i in ids for e in _events(i, now)])
            conn.execute(insert(ContactLog), [c for i in ids for c in _contacts(i, now)])
            assessed = [i for i in ids if i % 10 == 0]
            if assessed:
                conn.execute(insert(Assessment), [_assessment(i, now) for i in assessed])
    return app


def _person(i: int, now: datetime) -> dict[str, Any]:
    born = date(2004, 1, 1) + timedelta(days=i % 3000)
    return {
        "id": i,
        "birth_name": f"N{i}",
        "first_names": "Camille",
        "birth_date": born,
        "sex": "FM"[i % 2],
        "departement": "53",
        "created_at": now,
        "updated_at": now,
    }


def _contract(i: int, now: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "beneficiary_id": i,
        "cma_number": f"B{i}",
        "employer_name": "Artisan",
        "start_date": date(2026, 9, 1),
        "planned_end_date": date(2028, 8, 31),
        "diploma_level": 3 + i % 3,
        "created_at": now,
        "updated_at": now,
    }


def _case(i: int, now: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "beneficiary_id": i,
        "contract_id": i,
        "cohort": 2026,
        "group": "test" if i % 2 else "control",
        "assignment_method": "parity",
        "workflow_name": "case",
        "workflow_version": 1,
        "state": "follow_up",
        "cycle": 1,
        "version": 3,
        "state_since": now,
        "created_at": now,
        "updated_at": now,
    }


def _events(i: int, now: datetime) -> list[dict[str, Any]]:
    base = {
        "case_id": i,
        "entity": "case",
        "entity_id": i,
        "actor_kind": "system",
        "actor": "bench",
        "data": {},
    }
    return [
        {
            **base,
            "version": 1,
            "trigger": None,
            "from_state": None,
            "to_state": "consent_asked",
            "at": now - timedelta(days=40),
        },
        {
            **base,
            "version": 2,
            "trigger": "give_consent",
            "from_state": "consent_asked",
            "to_state": "follow_up",
            "at": now - timedelta(days=30),
        },
    ]


def _contacts(i: int, now: datetime) -> list[dict[str, Any]]:
    base = {"case_id": i, "channel": "phone", "difficulties": [], "author": "bench", "cycle": 1}
    return [
        {
            **base,
            "at": now - timedelta(days=35),
            "duration_min": 15,
            "state": "consent_asked",
            "phase": "consent",
        },
        {
            **base,
            "at": now - timedelta(days=20),
            "duration_min": 30,
            "state": "follow_up",
            "phase": "follow_up",
        },
    ]


def _assessment(i: int, now: datetime) -> dict[str, Any]:
    return {
        "case_id": i,
        "moment": "one_year",
        "situation": "same_employer",
        "diploma": "pending",
        "satisfaction": 4,
        "author": "bench",
        "recorded_at": now,
    }


def _baseline(app: Any) -> tuple[float, int]:
    """The least an export costs: the cohort's cases read with the export's own page query (a
    thousand at a time, joined to their contracts and people), nothing counted or written."""
    started, last, n = time.perf_counter(), 0, 0
    with app.db.read() as conn:
        while page := conn.execute(_page(2026, last)).all():
            n += len(page)
            last = page[-1].id
    return time.perf_counter() - started, n


def _writers(app: Any, folder: Path, n: int) -> None:
    """The same n rows of the export (read once, kept in memory) written as a workbook by
    openpyxl's write-only workbook (with lxml if installed) and by XlsxWriter's constant-memory
    one: what chose the second."""
    export = CohortExport(app, 2026, KEY, datetime.now(UTC))
    with app.db.read() as conn:
        rows = list(itertools.islice(export.rows(conn), n))
    header = [c.name for c in export.columns]
    started = time.perf_counter()
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Dossiers")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(folder / "openpyxl.xlsx")
    with_openpyxl = time.perf_counter() - started
    started = time.perf_counter()
    _write_xlsx(folder / "xlsxwriter.xlsx", export.columns, iter(rows), date.today())
    with_xlsxwriter = time.perf_counter() - started
    print(
        f"  writers, {len(rows):,} rows already read: openpyxl write-only "
        f"(lxml {'on' if openpyxl.xml.LXML else 'off'}) {len(rows) / with_openpyxl:,.0f} rows/s, "
        f"XlsxWriter constant memory {len(rows) / with_xlsxwriter:,.0f} rows/s "
        f"(x{with_openpyxl / with_xlsxwriter:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        started = time.perf_counter()
        app = prepare(url, args.cases)
        print(
            f"prepared {args.cases:,} cases in {time.perf_counter() - started:.0f} s "
            f"({url.split(':')[0]}; load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} CPUs)"
        )
        before = peak_rss_mb()
        seconds, n = _baseline(app)
        print(f"baseline (the cases' page query alone): {n / seconds:,.0f} rows/s")
        formats = [".csv"] + ([".xlsx"] if args.cases <= XLSX_MAX_ROWS else [])
        for suffix in formats:
            started = time.perf_counter()
            report = export_cohort(app, 2026, Path(folder) / f"e{suffix}", Actor.system())
            took = time.perf_counter() - started
            size = report.path.stat().st_size / 1e6
            print(
                f"{suffix[1:]}: {report.rows:,} rows in {took:.1f} s "
                f"({report.rows / took:,.0f} rows/s, {took / seconds:.1f} baselines), "
                f"{size:.0f} MB; peak RSS {peak_rss_mb():.0f} MB (after set-up {before:.0f} MB)"
            )
        _writers(app, Path(folder), min(args.cases, 20_000))
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        app.close()


if __name__ == "__main__":
    main()
