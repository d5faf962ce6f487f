"""The service processes of the chaos run, and the kills: when, whom, and the recovery after.

The schedule comes from the seed: for each kill, a delay after the previous one, a victim and
whether the kill is aimed. A kill is a SIGKILL: no batch finished, no commit, no mark of what
was sent, no stop recorded. The victim is restarted at once, as a supervisor would, and has
recovered when its replacement has recorded a completed sweep.

Victims are processes that are up: the drawn one, or if it is still starting (a replacement
importing its modules: seconds on a loaded machine) the next one up, or if none is, the first
to come up; killing a process before it has connected tests little. An aimed kill waits (up to
`aim_seconds`) for the victim to be inside a database transaction (a sweep, a mail claim, a
mark), where a kill tests the most; otherwise chance lands mostly between two beats.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from casework.app import App
from casework.clock import to_local
from casework.models import ServiceHeartbeat
from tests.chaos.clock import SeasonClock

PREFIX = "chaos-"  # the services' application_name on PostgreSQL: chaos-<slot>-<generation>
_BUSY = {"active", "idle in transaction", "idle in transaction (aborted)"}


@dataclass
class Kill:
    number: int
    at: float  # real seconds since the season started
    day: str  # the season's date then
    slot: int
    pid: int
    aimed: bool  # waited for its victim to be inside a transaction
    held: str  # its connections then: "in transaction", "idle" or "none" (still starting)
    recovery: float | None = None  # seconds until its replacement completed a sweep
    killed_at: float = 0.0  # time.monotonic()


class Slot:
    """One service position: its process, replaced after each kill."""

    def __init__(self, number: int, url: str, env: dict[str, str], workdir: Path, interval: float):
        self.number, self.url, self.env, self.workdir = number, url, env, workdir
        self.interval = interval
        self.generation = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.number}-{self.generation}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def spawn(self) -> int:
        self.generation += 1
        url = make_url(self.url).update_query_dict({"application_name": self.name})
        log = self.workdir / f"{self.name}.log"
        self.logs.append(log)
        database = url.render_as_string(hide_password=False)
        command = [sys.executable, "-m", "tests.chaos.serve", "--database", database, "serve"]
        # --fast-clock makes the command build a fast clock, which serve.py swaps for the season's.
        command += ["--no-web", "--fast-clock", "1", "--sweep-interval", str(self.interval)]
        with log.open("wb") as out:
            # cwd: no casework.toml from the developer's folder.
            self.process = subprocess.Popen(
                command, env=self.env, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=out
            )
        return self.process.pid

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM: the batch in progress finishes, the stop is recorded."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()  # -9: not a clean stop

    def errors_logged(self) -> list[str]:
        lines = []
        for log in self.logs:
            found = log.read_text(errors="replace") if log.exists() else ""
            lines += [f"{log.name}: {line}" for line in found.splitlines() if " ERROR " in line]
        return lines


class Killer:
    def __init__(
        self,
        app: App,
        clock: SeasonClock,
        slots: list[Slot],
        echo: Callable[[str], None],
    ):
        self.app, self.clock, self.slots, self.echo = app, clock, slots, echo
        self.up: set[int] = set()  # pids that have completed a sweep
        # pid -> the kill it replaces (None: a first process); until it has completed a sweep
        self.starting: dict[int, Kill | None] = {slot.pid: None for slot in slots}

    def wait_for_all(self, timeout: float) -> None:
        """Until every process is up (has completed a sweep)."""
        deadline = time.monotonic() + timeout
        while len(self.up) < len(self.slots):
            if time.monotonic() > deadline:
                said = "".join(
                    f"\n--- {log.name}:\n" + log.read_text(errors="replace")[-1500:]
                    for slot in self.slots
                    for log in slot.logs[-1:]
                    if log.exists()
                )
                raise RuntimeError(f"the services did not start in {timeout:g} s{said}")
            self.poll()
            time.sleep(0.1)

    def run(
        self,
        seed: int,
        kills: int,
        gaps: tuple[float, float],
        aimed: float,
        aim_seconds: float,
        patience: float = 60.0,
    ) -> list[Kill]:
        """`kills` kills, each a random delay within `gaps` after the previous one."""
        rng = random.Random(seed)
        delays = [rng.uniform(*gaps) for _ in range(kills)]
        victims = [rng.randrange(len(self.slots)) for _ in range(kills)]
        aims = [rng.random() < aimed for _ in range(kills)]
        done = []
        for number, (delay, victim, aim) in enumerate(zip(delays, victims, aims, strict=True)):
            self.wait_until(time.time() + delay)
            # Every process still starting (a loaded machine): wait for one to be up.
            give_up = time.monotonic() + patience
            while not self.up and time.monotonic() < give_up:
                self.poll()
                time.sleep(0.05)
            done.append(self.kill(number + 1, victim, aim_seconds if aim else 0.0, aim))
        deadline = time.monotonic() + patience
        while any(self.starting.values()) and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.05)
        return done

    def wait_until(self, wall: float) -> None:
        while time.time() < wall:
            self.poll()
            time.sleep(max(0.0, min(0.05, wall - time.time())))

    def kill(self, number: int, drawn: int, aim_seconds: float, aimed: bool) -> Kill:
        self.poll()
        order = [self.slots[(drawn + i) % len(self.slots)] for i in range(len(self.slots))]
        slot = next((s for s in order if s.pid in self.up), order[0])
        held = self.held(slot.name)
        aim_until = time.monotonic() + aim_seconds
        while held != "in transaction" and time.monotonic() < aim_until:
            time.sleep(0.005)
            held = self.held(slot.name)
        pid = slot.pid
        killed_at = time.monotonic()
        slot.kill()
        self.up.discard(pid)
        self.starting.pop(pid, None)  # killed before it recovered: nothing to measure
        kill = Kill(
            number,
            round(time.time() - (self.clock.started or 0.0), 2),
            f"{to_local(self.clock.now()):%d/%m/%Y}",
            slot.number,
            pid,
            aimed,
            held,
            killed_at=killed_at,
        )
        self.starting[slot.spawn()] = kill
        tag = "aimed, " if aimed else ""
        self.echo(
            f"kill {number:>3}: {kill.at:7.2f} s ({kill.day}), process {slot.number} "
            f"(pid {pid}, {tag}{held}) -> pid {slot.pid}"
        )
        return kill

    def held(self, name: str) -> str:
        """What the process's database connections are doing."""
        with self.app.db.read() as conn:
            states = set(
                conn.execute(
                    text("SELECT state FROM pg_stat_activity WHERE application_name = :n"),
                    {"n": name},
                ).scalars()
            )
        if not states:
            return "none"
        return "in transaction" if states & _BUSY else "idle"

    def poll(self) -> None:
        """Processes that have completed a sweep since they started are up."""
        if not self.starting:
            return
        with self.app.db.read() as conn:
            swept = set(
                conn.execute(
                    select(ServiceHeartbeat.pid).where(
                        ServiceHeartbeat.pid.in_(list(self.starting)),
                        ServiceHeartbeat.last_sweep_at.is_not(None),
                    )
                ).scalars()
            )
        for pid in swept:
            kill = self.starting.pop(pid)
            self.up.add(pid)
            if kill is not None:
                kill.recovery = round(time.monotonic() - kill.killed_at, 2)
