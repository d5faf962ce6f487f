"""Chaos: three `casework serve` processes, a season of timers and mail, SIGKILLs at random.

The full run of issue 11 (the CI runs a short one: tests/integration/test_chaos.py). A demo
cohort goes through a season on PostgreSQL — consent asked and reminded, six monthly cycles,
liaison sheets with reminders and escalations, the counsellor's digests — on a fast clock shared
by three service processes, which are SIGKILLed one at a time at moments drawn from the seed and
restarted at once. Then it checks, from the database and what the SMTP relay received: no
transition lost or doubled, every timer due fired exactly once, every mail sent and received at
least once (a resend byte for byte the same, with its Message-ID), nothing stuck. What is run
and checked: tests/chaos/. Exit status 1 if any invariant fails.

    .venv/bin/python bench/chaos.py                       # 100 kills, a throwaway PostgreSQL
    .venv/bin/python bench/chaos.py --kills 100 --seed 7  # replay a seed
    .venv/bin/python bench/chaos.py --database postgresql+psycopg://postgres@127.0.0.1:5432/chaos
"""

# ruff: noqa: E402 - the import path is mended before the imports below

from __future__ import annotations

import os
import sys

# bench/transitions.py has the name of the `transitions` library: keep this folder off the
# import path; the driver lives in the repository's tests/ (one copy for CI and for this).
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse
import platform
import secrets
import shutil
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.chaos.driver import ChaosConfig, ChaosResult, figures, run_chaos
from tests.pg_cluster import Cluster

from casework.database import Database
from casework.migrate import upgrade
from casework.settings import DatabaseSettings


def fresh_database(url: str) -> str:
    """Drop and create the database `url` names (`postgres` itself: a `chaos` one beside it),
    migrated."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("bench/chaos.py runs on PostgreSQL (several processes, one database)")
    if parsed.database in (None, "", "postgres"):
        parsed = parsed.set(database="chaos")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        server = conn.exec_driver_sql("SHOW server_version").scalar_one()
    admin.dispose()
    db = Database(DatabaseSettings(url=parsed.render_as_string(hide_password=False)))
    upgrade(db)
    db.dispose()
    print(
        f"bench/chaos.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL {server}",
        flush=True,
    )
    return parsed.render_as_string(hide_password=False)


def listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def report(result: ChaosResult) -> None:
    f = figures(result)
    kills = result.kills
    recoveries = [k.recovery for k in kills if k.recovery is not None]
    fired = f["timers_fired_by_trigger"]
    print()
    print(f"seed {f['seed']}: {f['cases']['test']} test and {f['cases']['control']} control cases")
    print(
        f"  kills: {len(kills)} SIGKILLs of {result.config.processes} processes "
        f"({f['kills_aimed']} aimed), {f['kills_in_transaction']} inside a database transaction"
    )
    if recoveries:
        print(
            f"  recovery (kill to the replacement's first sweep): {len(recoveries)} measured, "
            f"min {min(recoveries):.1f} s, median {statistics.median(recoveries):.1f} s, "
            f"max {max(recoveries):.1f} s"
        )
    print(f"  transitions: {f['transitions']:,} ({listing(f['transitions_by_actor'])})")
    print(
        f"  timers: {f['timers']:,} set, {sum(fired.values()):,} fired "
        f"({listing(fired)}); "
        + ", ".join(f"{k} {v:,}" for k, v in f["timers_by_status"].items() if k != "fired")
    )
    print(
        f"  mails: {f['mails']:,} in the outbox ({listing(f['mails_by_status'])}), "
        f"{f['messages_received']:,} messages received: {f['mails_received_twice_or_more']:,} "
        f"mails received more than once ({f['extra_copies']:,} extra copies, "
        f"{f['extra_copies_first_sender_killed']:,} of them after their first sender was "
        "SIGKILLed; each byte for byte the first, same Message-ID)"
    )
    cycles = ", ".join(f"{n} cycle(s) {cases:,}" for n, cases in f["cases_by_cycles"].items())
    print(f"  cases that started the monthly follow-up, by cycles done: {cycles}")
    s = f["seconds"]
    print(
        f"  time: setup {s['setup']:.0f} s, season {s['season']:.0f} s, drain after it "
        f"{s['drain']:.1f} s, total {s['total']:.0f} s"
    )
    if result.violations:
        print(f"  INVARIANTS BROKEN ({len(result.violations)}):")
        for line in result.violations:
            print(f"    - {line}")
    else:
        print("  invariants: all hold (0 lost, 0 doubled, nothing stuck)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, help="default: a new one, printed (to replay)")
    parser.add_argument("--cases", type=int, default=2_000, help="about (the files give fewer)")
    parser.add_argument("--days", type=int, default=365, help="the season's days, at least")
    parser.add_argument("--speed", type=float, default=3.0, help="simulated days per second")
    parser.add_argument(
        "--gaps",
        type=float,
        nargs=2,
        default=(0.5, 2.5),
        metavar=("MIN", "MAX"),
        help="seconds from one kill to the next, drawn between these",
    )
    parser.add_argument("--database", help="PostgreSQL URL of a database the bench may replace")
    parser.add_argument("--keep", action="store_true", help="keep the services' logs")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else secrets.randbelow(10**6)
    config = ChaosConfig(
        cases=args.cases,
        kills=args.kills,
        seed=seed,
        season_days=args.days,
        speed=args.speed,
        gaps=(args.gaps[0], args.gaps[1]),
        drain_timeout=600,
    )
    workdir = Path(tempfile.mkdtemp(prefix="casework-chaos-"))
    cluster = None if args.database else Cluster()
    try:
        url = fresh_database(args.database or cluster.start())  # type: ignore[union-attr]
        result = run_chaos(url, config, workdir, echo=lambda line: print(line, flush=True))
        report(result)
    finally:
        if cluster is not None:
            cluster.stop()
        if args.keep:
            print(f"logs: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if result.violations else 0)


if __name__ == "__main__":
    main()
