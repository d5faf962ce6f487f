"""The one clock every part of casework reads time from.

Nothing calls `datetime.now()` directly: the clock is built at the entry point and passed in, so
tests and simulations can move time. Times are aware datetimes in UTC; they are shown in
Europe/Paris only at the edge (`to_local`).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; for tests and simulations."""

    def __init__(self, start: datetime):
        self._now = ensure_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = ensure_utc(when)


class FastClock:
    """Time that runs `speed` times faster than real time from `start`: the demo shows months of
    follow-up in a minute. The service's sweep still runs every real second; each sweep simply
    sees more time having passed."""

    def __init__(self, start: datetime, speed: float):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = ensure_utc(start)
        self.speed = speed
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)


def ensure_utc(value: datetime) -> datetime:
    """Refuse naive datetimes: a naive time is a bug waiting for a daylight-saving change."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: casework only handles aware times")
    return value.astimezone(UTC)


def to_local(value: datetime, tz: ZoneInfo = PARIS) -> datetime:
    return ensure_utc(value).astimezone(tz)


def format_local(value: datetime | None, tz: ZoneInfo = PARIS) -> str:
    """The way people read a time: 'dd/mm/yyyy HH:MM' in Paris time."""
    if value is None:
        return "—"
    return to_local(value, tz).strftime("%d/%m/%Y %H:%M")
