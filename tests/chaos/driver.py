"""The chaos run: service processes on one PostgreSQL, a season of timers and mail, SIGKILLs.

1. A demo cohort on a fresh, migrated database (world.py), at the season's start.
2. `processes` real `casework serve --no-web` processes (serve.py), timers and mail, sending to
   a relay in this process (so what was received survives the kills), all on one fast clock
   (clock.py); the demo's people act from a thread of this process all season.
3. `kills` SIGKILLs on the seed's schedule, each victim restarted at once (kills.py).
4. After the season, the run waits until nothing is due (no timer, no mail), then SIGTERM.
5. The invariants (checks.py).

The seed fixes the kills (moments, victims, aims) and the people's choices; what a kill
interrupts depends on timing, so a replay re-runs the same schedule, not the same interleaving.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from casework.app import App, build_app
from casework.clock import PARIS, FixedClock, to_local
from casework.demo import cohort_start
from casework.models import MailStatus, OutboxMail, Timer, TimerStatus
from casework.privacy.retention import CATEGORIES
from casework.settings import MailSettings, Settings
from tests.chaos.checks import Findings, check
from tests.chaos.clock import ENV, SeasonClock
from tests.chaos.kills import PREFIX, Kill, Killer, Slot
from tests.chaos.world import Ledger, People, prepare_cohort

ROOT = Path(__file__).resolve().parents[2]
LINK_KEYS = "chaos-link-key-0123456789abcdefghijkl"  # 32 bytes at least


@dataclass(frozen=True)
class ChaosConfig:
    cases: int = 200  # about: the generated files give a few less
    kills: int = 20
    seed: int = 11
    season_days: int = 240  # simulated: consent, monthly cycles, liaison sheets
    speed: float = 12.0  # simulated days per real second
    processes: int = 3
    cohort: int = 2026
    lease: float = 2.0  # a claimed mail's lease, in real seconds
    timer_batch: int = 100  # small batches: more transactions for a kill to land in
    mail_batch: int = 50
    sweep_interval: float = 0.2
    send_interval: float = 0.3
    gaps: tuple[float, float] = (0.2, 1.2)  # real seconds from one kill to the next
    # The share of kills aimed at a process inside a database transaction (see kills.py).
    aimed: float = 0.5
    aim_seconds: float = 1.0
    drain_timeout: float = 120.0


@dataclass
class ChaosResult:
    config: ChaosConfig
    groups: dict[str, int]
    kills: list[Kill]
    findings: Findings
    seconds: dict[str, float] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    errors_logged: list[str] = field(default_factory=list)
    # What the checks read besides the database, to check it again (tests/integration).
    ledger: Ledger | None = None
    killed: set[int] = field(default_factory=set)
    stopped: set[int] = field(default_factory=set)
    checked_at: datetime | None = None  # the season's time the checks ran at

    @property
    def violations(self) -> list[str]:
        return self.findings.violations


def service_env(config: ChaosConfig, clock: SeasonClock, smtp_port: int) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")},
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), path) if p),
        ENV: clock.to_env(),
        "CASEWORK_LOGGING_LEVEL": "WARNING",
        "CASEWORK_TIMERS_BATCH_SIZE": str(config.timer_batch),
        "CASEWORK_MAIL_ENABLED": "true",
        "CASEWORK_MAIL_SMTP_HOST": "127.0.0.1",
        "CASEWORK_MAIL_SMTP_PORT": str(smtp_port),
        "CASEWORK_MAIL_SMTP_SECURITY": "none",
        "CASEWORK_MAIL_RATE_PER_SECOND": "0",
        "CASEWORK_MAIL_BATCH_SIZE": str(config.mail_batch),
        # Counted on the season's clock: `lease` real seconds.
        "CASEWORK_MAIL_LEASE_SECONDS": str(config.lease * clock.speed),
        "CASEWORK_MAIL_SEND_INTERVAL_SECONDS": str(config.send_interval),
        "CASEWORK_MAIL_LINK_KEYS": LINK_KEYS,
        "CASEWORK_MAIL_DOMAIN": "plateforme.example",
        "CASEWORK_MAIL_FROM_ADDRESS": "plateforme@plateforme.example",
        # On a loaded machine the season runs years of its clock; the daily retention purge
        # (tested on its own, in test_privacy_purge) would then empty the sent mails'
        # recipients and the events' data these checks compare: kept beyond any season here.
        **{f"CASEWORK_PRIVACY_{category.code.upper()}_MONTHS": "1200" for category in CATEGORIES},
    }


def run_chaos(
    url: str, config: ChaosConfig, workdir: Path, echo: Callable[[str], None] = print
) -> ChaosResult:
    """Run the season on the migrated, empty PostgreSQL database at `url`."""
    echo(
        f"chaos: seed {config.seed}, {config.kills} kills of {config.processes} processes, "
        f"~{config.cases} cases, {config.season_days} days at least, at {config.speed:g} days/s"
    )
    began = time.monotonic()
    start = cohort_start(config.cohort)
    clock = SeasonClock(start, config.speed * 86_400, workdir)
    settings = Settings(mail=MailSettings(enabled=False, link_keys=LINK_KEYS)).with_database(url)
    slots: list[Slot] = []
    ledger = Ledger(lambda: [slot.pid for slot in slots if slot.process is not None]).start()
    app = build_app(settings, clock)
    env = service_env(config, clock, ledger.port)
    slots += [Slot(i, url, env, workdir, config.sweep_interval) for i in range(config.processes)]
    people: People | None = None
    try:
        # The services start on the empty database, their clock waiting at the season's start,
        # while the cohort comes in; the season starts once they are all up.
        for slot in slots:
            slot.spawn()
        setup = build_app(settings, FixedClock(start))
        try:
            groups = prepare_cohort(setup, config.cases, config.cohort, config.seed)
        finally:
            setup.close()
        echo(f"chaos: cohort of {groups['test']} test and {groups['control']} control cases")
        killer = Killer(app, clock, slots, echo)
        killer.wait_for_all(timeout=180)
        seconds = {"setup": time.monotonic() - began}
        clock.begin()
        people = People(app, clock, config.seed)
        people.start()
        kills = killer.run(config.seed, config.kills, config.gaps, config.aimed, config.aim_seconds)
        end = _season_end(clock, config)
        clock.finish(end)
        echo(f"chaos: the season ends on {to_local(end):%d/%m/%Y}")
        while clock.now() < end:
            time.sleep(0.1)
        seconds["season"] = time.monotonic() - began - seconds["setup"]
        people.stop()
        if people.error is not None:
            raise RuntimeError("the people's thread failed") from people.error
        drained = _drain(app, clock, config.drain_timeout)
        seconds["drain"] = drained if drained is not None else float("nan")
        stopped = {slot.pid for slot in slots}
        codes = [slot.stop() for slot in slots]
        checked_at, killed = clock.now(), {k.pid for k in kills}
        findings = check(app, ledger, checked_at, killed, stopped, PREFIX)
        if drained is None:
            findings.violations.append(
                f"work still due {config.drain_timeout:g} s after the season"
            )
        if codes != [0] * len(slots):
            findings.violations.append(f"services did not stop cleanly on SIGTERM: {codes}")
    finally:
        for slot in slots:
            if slot.process is not None and slot.process.poll() is None:
                slot.process.kill()
                slot.process.wait()
        if people is not None:
            people.stop()
        ledger.stop()
        app.close()
    seconds["total"] = time.monotonic() - began
    # Nothing in this season fails: an error a service logged is a finding (a sweep or a mail
    # round that failed), even when the work was done again afterwards.
    errors = [line for slot in slots for line in slot.errors_logged()]
    findings.expect("errors logged by the services", errors)
    actions = dict(people.actions) if people is not None else {}
    return ChaosResult(
        config,
        groups,
        kills,
        findings,
        seconds,
        actions,
        errors,
        ledger,
        killed,
        stopped,
        checked_at,
    )


def _season_end(clock: SeasonClock, config: ChaosConfig) -> datetime:
    """03:00 (Paris) on the first day after the season's days, and late enough after the last
    kill for the leases it left to run out (a lease and a second, in real time)."""
    margin = timedelta(seconds=(config.lease + 1) * clock.speed)
    earliest = max(clock.start + timedelta(days=config.season_days), clock.now() + margin)
    day = to_local(earliest).date() + timedelta(days=1)
    return datetime.combine(day, clock_time(3), tzinfo=PARIS).astimezone(UTC)


def _drain(app: App, clock: SeasonClock, timeout: float) -> float | None:
    """Seconds until no timer and no mail is due any more (None: not within `timeout`)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        with app.db.read() as conn:
            due = conn.execute(
                select(func.count()).where(
                    Timer.status == TimerStatus.PENDING, Timer.run_after <= clock.now()
                )
            ).scalar_one()
            queued = conn.execute(
                select(func.count()).where(OutboxMail.status == MailStatus.QUEUED)
            ).scalar_one()
        if not due and not queued:
            return time.monotonic() - began
        time.sleep(0.2)
    return None


def figures(result: ChaosResult) -> dict[str, Any]:
    """The run in numbers (for the bench's report and the README)."""
    recoveries = sorted(k.recovery for k in result.kills if k.recovery is not None)
    return {
        "seed": result.config.seed,
        "cases": result.groups,
        "kills": len(result.kills),
        "kills_aimed": sum(k.aimed for k in result.kills),
        "kills_in_transaction": sum(k.held == "in transaction" for k in result.kills),
        "recovery_s": {
            "measured": len(recoveries),
            "min": recoveries[0] if recoveries else None,
            "median": recoveries[len(recoveries) // 2] if recoveries else None,
            "max": recoveries[-1] if recoveries else None,
        },
        "seconds": {k: round(v, 1) for k, v in result.seconds.items()},
        **result.findings.figures,
        "people": result.people,
        "errors_logged": len(result.errors_logged),
        "violations": result.violations,
    }
