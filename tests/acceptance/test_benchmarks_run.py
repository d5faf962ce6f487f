"""The benchmark scripts run (on tiny sizes): figures in docs/benchmarks.md must stay reproducible.

Speed is never asserted here; `bench/` measures it, as ratios within one run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_bench_transitions_runs() -> None:
    out = run("transitions.py", "--cases", "300")
    assert "300 cases" in out
    assert "ratio" in out
    assert "dispatch only" in out


def test_bench_timers_runs() -> None:
    out = run(
        "timers.py",
        "--cases",
        "2000",
        "--due",
        "500",
        "--steady-seconds",
        "1",
        "--steady-rate",
        "20",
    )
    assert "burst: 500 due timers among 2,000 cases" in out
    assert "0 left due" in out


def test_bench_outbox_runs() -> None:
    out = run("outbox.py", "--mails", "300")
    assert "render and send: 300 mails" in out
    assert "server received 300" in out
    assert "ratio casework/baseline" in out


def test_bench_inbound_runs() -> None:
    out = run("inbound.py", "--replies", "200")
    assert "ingest batched (50 per transaction, as IMAP): 200 messages" in out
    assert "ingest one by one (as LMTP): 200 messages" in out
    assert out.count("160 recorded") == 2
    assert "320 sheets acknowledged" in out
    assert "ratio ingest/baseline: batched" in out


def test_bench_bounce_corpus_prints_the_shares_by_source() -> None:
    out = run("bounce_corpus.py")
    assert "| all | 175 | 163 | 175/175 (100%), 53/163 | 175/175 (100%), 162/163 |" in out
    for source in ("flufl.bounce", "bounced", "bounce_email", "baunsu"):
        assert f"| {source} |" in out


def test_bench_match_runs_both_engines() -> None:
    out = run("match.py", "--sizes", "1500")
    assert "1,500 × 1,500  casework" in out
    assert "1,500 × 1,500  splink" in out
    assert "time casework/splink" in out


def test_bench_intake_read_runs_every_reader() -> None:
    out = run("intake_read.py", "--rows", "1500")
    assert "1,500 rows: CSV" in out
    assert out.count("1,504 rows") == 4  # the CSV's readers (the generator adds 4 bad rows)
    assert out.count("1,500 rows ") == 3  # the workbook's
    assert "calamine/openpyxl time" in out


@pytest.mark.postgres_only
def test_bench_chaos_runs(backend: str, postgres_server: str) -> None:
    out = run(
        "chaos.py",
        *("--kills", "2", "--cases", "60", "--days", "20", "--speed", "10"),
        *("--gaps", "0.2", "0.5", "--seed", "5", "--database", postgres_server),
    )
    assert "chaos: seed 5, 2 kills of 3 processes" in out
    assert "kills: 2 SIGKILLs of 3 processes" in out
    assert "invariants: all hold" in out


def test_bench_report_runs() -> None:
    out = run("report.py", "--cases", "400")
    assert "report: 400 cases, 7 tables, HTML + XLSX + PDF" in out
    assert "ratio report/baseline" in out


@pytest.mark.postgres_only
def test_bench_web_runs(backend: str, postgres_server: str) -> None:
    out = run(
        "web.py",
        *("--cases", "300", "--counsellors", "4", "--users", "4"),
        *("--warmup", "1", "--seconds", "3", "--alone", "1", "--think", "0.05"),
        *("--database", postgres_server),
    )
    assert "set up 300 cases, 4 counsellors" in out
    for database in ("SQLite", "PostgreSQL"):
        assert f"  {database}: " in out
    for page in ("static (/health)", "dashboard (/)", "case page (/dossiers/N)", "contact (POST)"):
        assert out.count(page) >= 2
    assert out.count(", 0 errors;") == 2
    assert "server RSS:" in out


def test_bench_quotes_runs() -> None:
    out = run("quotes.py")
    assert "real replies, by source" in out
    assert "casework" in out


def test_bench_export_runs() -> None:
    out = run("export.py", "--cases", "300")
    assert "baseline (the cases' page query alone)" in out
    assert "csv: 300 rows" in out
    assert "xlsx: 300 rows" in out
    assert "XlsxWriter constant memory" in out


def test_bench_privacy_runs() -> None:
    out = run("privacy.py", "--cases", "400", "--writer-seconds", "0.5")
    assert "| nothing due (the usual day) | 0 |" in out
    assert "| a tenth of the people due | 180 |" in out  # 40 people, cases, audits; 60 mails
    assert "| again right after | 0 |" in out
    assert "writer during the purge: " in out
    assert "second purge: 0 rows found" in out


@pytest.mark.postgres_only
def test_bench_privacy_runs_on_postgresql(backend: str, postgres_server: str) -> None:
    out = run(
        "privacy.py", "--cases", "400", "--writer-seconds", "0.5", "--database", postgres_server
    )
    assert "PostgreSQL" in out
    assert "| a tenth of the people due | 180 |" in out
    assert "second purge: 0 rows found" in out
