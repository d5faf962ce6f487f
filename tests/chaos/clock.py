"""The chaos run's clock: a season in seconds, one time line for every process.

`casework serve --fast-clock` starts its clock at `--start` whenever a process starts, so a
service restarted after a kill would go back in time while the others run on. Here every
process, and the driver playing the people, reads the same `SeasonClock`, anchored on the wall
clock (`time.time()`, shared by the processes of one machine): a restarted process rejoins the
others' time.

The driver decides when the season starts and when it ends, by writing two files the clocks
read (a file holding a wall-clock time):

- it starts once every process is up, so that slow starts on a loaded machine do not eat its
  first weeks (until then the clock waits at the start);
- it ends once the kills are done (however long a loaded machine made them take) and the
  season has lasted its days. From then on time runs at its real pace, so that the run can be
  "done": running on fast, the next months' timers would keep coming due; at real pace nothing
  new comes due while the driver waits for the last work (the end is at 03:00, Paris time:
  timers land at 09:00, digests after 08:00). It must not stop either: a mail's lease is
  counted on this clock (a few real seconds of the fast season), and the end comes late enough
  after the last kill for the leases it left to have run out.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from casework.clock import ensure_utc

ENV = "CHAOS_CLOCK"


class SeasonClock:
    """`start` until the season starts, `speed` simulated seconds per real second until it
    ends, then real time."""

    def __init__(self, start: datetime, speed: float, folder: Path):
        self.start, self.speed, self.folder = ensure_utc(start), speed, folder
        self._started: float | None = None
        self._fast_until: float | None = None

    def _read(self, name: str) -> float | None:
        path = self.folder / name
        return float(path.read_text()) if path.exists() else None

    def _write(self, name: str, wall: float) -> None:
        partial = self.folder / f"{name}.partial"  # renamed: never read half written
        partial.write_text(repr(wall))
        partial.replace(self.folder / name)

    @property
    def started(self) -> float | None:
        """The wall-clock time the season started at (None before)."""
        if self._started is None:
            self._started = self._read("season-started-at")
        return self._started

    @property
    def fast_until(self) -> float | None:
        """The wall-clock time the season ends at (None until the driver has said)."""
        if self._fast_until is None:
            self._fast_until = self._read("season-ends-at")
        return self._fast_until

    @property
    def end(self) -> datetime | None:
        if self.started is None or self.fast_until is None:
            return None
        return self.start + timedelta(seconds=(self.fast_until - self.started) * self.speed)

    def now(self) -> datetime:
        started, wall = self.started, time.time()
        if started is None:
            return self.start
        fast_until = self.fast_until
        if fast_until is None or wall <= fast_until:
            return self.start + timedelta(seconds=max(0.0, wall - started) * self.speed)
        return self.start + timedelta(
            seconds=(fast_until - started) * self.speed + wall - fast_until
        )

    def begin(self) -> None:
        """The season starts now."""
        self._write("season-started-at", time.time())

    def finish(self, end: datetime) -> None:
        """The season ends at `end` (the clocks must read it before: at least a second ahead)."""
        started = self.started
        assert started is not None, "the season has not started"
        wall = started + (ensure_utc(end) - self.start).total_seconds() / self.speed
        if wall < time.time() + 1.0:
            raise ValueError(f"the season cannot end at {end}: too soon")
        self._write("season-ends-at", wall)

    def to_env(self) -> str:
        return json.dumps(
            {"start": self.start.isoformat(), "speed": self.speed, "folder": str(self.folder)}
        )

    @classmethod
    def from_env(cls) -> SeasonClock:
        given = json.loads(os.environ[ENV])
        return cls(
            datetime.fromisoformat(given["start"]), float(given["speed"]), Path(given["folder"])
        )
