"""Reading the organisations' files: time and peak memory, CSV and XLSX, against baselines.

A signing season is generated (`casework.intake.synthetic`, seed fixed): the chamber's CSV
(Windows-1252, `;`, ~200 bytes a row: 250,000 rows make ~50 MB) and the Mission Locale's
workbook with as many rows. Each measurement runs in a fresh process of its own, so that its
peak RSS is its own; ratios are between figures of the same run.

- CSV: `csv floor` is the bare `csv` module streaming the file, nothing kept (the least any
  reader can cost); `csv whole` reads it the way intake did before streaming (the file's bytes,
  its text, a list of rows); `read_table` is intake's streaming reader; `check_file` reads and
  checks every field, keeping the good rows' values (what an import holds before writing).
- XLSX: openpyxl's read-only mode (what intake uses, dimension tag ignored) against
  python-calamine (Rust), both handing over every row's values.

    .venv/bin/python bench/intake_read.py                  # 250,000 rows (~50 MB of CSV)
    .venv/bin/python bench/intake_read.py --rows 1000000   # a national file
"""

# ruff: noqa: E402 - the import path is mended before the imports below

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import csv
import io
import json
import platform
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SEED = 2026
MEASURES = {
    "idle": "python, casework, openpyxl, calamine imported",
    "csv floor": "bare csv module, streamed, nothing kept",
    "csv whole": "as before: bytes + text + list of rows",
    "read_table csv": "intake's streaming reader",
    "check_file csv": "read + every field checked, good rows kept",
    "openpyxl": "XLSX, openpyxl read-only (intake)",
    "calamine": "XLSX, python-calamine",
    "check_file xlsx": "read + every field checked, good rows kept",
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, folder: Path) -> dict[str, Any]:
    """In a child process: one way of reading, its rows counted."""
    import openpyxl  # noqa: F401 - imported before the clock starts, in every process alike
    import python_calamine  # noqa: F401

    from casework.intake.files import read_table
    from casework.intake.profile import default_profile
    from casework.intake.reading import check_file

    cma, ml = folder / "contrats_cma.csv", folder / "jeunes_ml.xlsx"
    started = time.perf_counter()
    rows = 0
    if name == "csv floor":
        with cma.open(encoding="cp1252", newline="") as f:
            rows = sum(1 for _ in csv.reader(f, delimiter=";")) - 1
    elif name == "csv whole":
        text = cma.read_bytes().decode("cp1252")
        rows = len(list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))) - 1
    elif name in ("read_table csv", "openpyxl"):
        with read_table(cma if name == "read_table csv" else ml) as table:
            rows = sum(1 for _ in table.rows)
    elif name in ("check_file csv", "check_file xlsx"):
        source, path = ("cma", cma) if name == "check_file csv" else ("ml", ml)
        checked = check_file(path, default_profile(source))
        rows = len(checked.records) + len(checked.rejected)
    elif name == "calamine":
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_path(str(ml))
        rows = sum(1 for _ in workbook.get_sheet_by_index(0).iter_rows()) - 1
    return {"name": name, "rows": rows, "seconds": time.perf_counter() - started,
            "peak_rss_mb": peak_rss_mb()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=250_000, help="rows in each file")
    parser.add_argument("--one", nargs=2, metavar=("MEASURE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.one[0] == "generate":
            from casework.intake.sample_files import write_sample_files

            write_sample_files(Path(args.one[1]), args.rows, seed=SEED)
        else:
            print(json.dumps(measure(args.one[0], Path(args.one[1]))))
        return
    print(
        f"bench/intake_read.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="casework-intake-") as name:
        folder = Path(name)
        # Generated in a process of its own: a child's peak RSS starts from its parent's.
        here = [sys.executable, os.path.abspath(__file__), "--rows", str(args.rows), "--one"]
        subprocess.run([*here, "generate", name], check=True)
        csv_mb = (folder / "contrats_cma.csv").stat().st_size / 1e6
        xlsx_mb = (folder / "jeunes_ml.xlsx").stat().st_size / 1e6
        print(f"  {args.rows:,} rows: CSV {csv_mb:.1f} MB, XLSX {xlsx_mb:.1f} MB", flush=True)
        figures = {}
        for measure_name, said in MEASURES.items():
            done = subprocess.run(
                [*here, measure_name, name],
                check=True,
                capture_output=True,
                text=True,
            )
            f = figures[measure_name] = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"  {measure_name:<16} {f['rows']:>10,} rows  {f['seconds']:7.2f} s  "
                f"peak RSS {f['peak_rss_mb']:6.0f} MB   ({said})",
                flush=True,
            )

    def ratio(a: str, b: str, what: str = "seconds") -> str:
        return f"{figures[a][what] / figures[b][what]:.2f}"

    print(
        f"  ratios: read_table/csv floor time {ratio('read_table csv', 'csv floor')}, "
        f"peak RSS {ratio('read_table csv', 'csv floor', 'peak_rss_mb')}; "
        f"read_table/csv whole peak RSS {ratio('read_table csv', 'csv whole', 'peak_rss_mb')}; "
        f"calamine/openpyxl time {ratio('calamine', 'openpyxl')}, "
        f"peak RSS {ratio('calamine', 'openpyxl', 'peak_rss_mb')}"
    )


if __name__ == "__main__":
    main()
